//! `porta cert ...`: the stored certificates, ordering one now, importing
//! one.

use anyhow::{anyhow, bail, Context};
use porta_certs::lifecycle::DomainWorker;
use porta_certs::local_ca::{self, LocalCa};
use porta_certs::master_key::MasterKey;
use porta_certs::store::{self, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::domain_status::DomainStatus;
use porta_core::issuer::CertificateSource;
use serde_json::{json, Value};

use super::admin::tenant_by_slug;
use super::domain::find_domain;
use super::output::{cert_json, days_left, next_renewal, output, time};
use crate::cli::CertCommand;

pub async fn cert(db: &Db, config: &Config, cmd: CertCommand) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    match cmd {
        CertCommand::List { json } => list(db, now, json).await?,
        CertCommand::Show { domain, json } => {
            let current = store::for_server_name(db, domain.trim(), now)
                .await?
                .ok_or_else(|| anyhow!("no valid certificate is stored for {domain}"))?;
            let info = &current.info;
            if json {
                println!("{}", cert_json(info, now));
            } else {
                println!("domain        {}", info.domain);
                println!("issuer        {}", info.issuer);
                println!("serial        {}", info.serial);
                println!("not before    {}", time(info.not_before.0));
                println!(
                    "not after     {} ({} days left)",
                    time(info.not_after.0),
                    days_left(info, now)
                );
                println!("next renewal  {}", time(next_renewal(info)));
            }
        }
        CertCommand::Renew { domain, json } => renew(db, config, &domain, json, now).await?,
        CertCommand::Import {
            domain,
            chain,
            key,
            tenant,
            json,
        } => {
            let chain_pem = std::fs::read_to_string(&chain)
                .with_context(|| format!("cannot read {}", chain.display()))?;
            let key_pem =
                std::fs::read_to_string(&key).with_context(|| format!("cannot read {}", key.display()))?;
            let tenant = match tenant {
                Some(slug) => Some(tenant_by_slug(db, &slug).await?.id),
                None => None,
            };
            let master = MasterKey::from_config(config)?;
            let info = store::insert(
                db,
                &master,
                &NewCertificate {
                    tenant,
                    domain: domain.trim(),
                    issuer: CertificateSource::Imported,
                    chain_pem: &chain_pem,
                    key_pem: &key_pem,
                },
                now,
            )
            .await
            .map_err(|e| anyhow!("cannot import the certificate: {e}"))?;
            output(
                json,
                cert_json(&info, now),
                format!(
                    "imported a certificate for {} (serial {}, valid until {})",
                    info.domain,
                    info.serial,
                    time(info.not_after.0)
                ),
            );
        }
    }
    Ok(())
}

async fn list(db: &Db, now: UnixMillis, json: bool) -> anyhow::Result<()> {
    let all = store::list(db).await?;
    if json {
        println!(
            "{}",
            Value::Array(all.iter().map(|c| cert_json(c, now)).collect())
        );
        return Ok(());
    }
    println!(
        "{:<40} {:<9} {:<34} {:<22} STATE",
        "DOMAIN", "ISSUER", "SERIAL", "NOT AFTER"
    );
    for c in all {
        let state = if c.replaced_at.is_some() {
            "replaced"
        } else {
            "current"
        };
        println!(
            "{:<40} {:<9} {:<34} {:<22} {state}",
            c.domain,
            c.issuer.as_str(),
            c.serial,
            time(c.not_after.0)
        );
    }
    Ok(())
}

/// Orders a new certificate now, under the domain's lease, and says when
/// running edges serve it: the change feed tells them at once, and
/// `edge.cert_cache_ttl_seconds` bounds a node whose feed is disconnected.
async fn renew(db: &Db, config: &Config, domain: &str, json: bool, now: UnixMillis) -> anyhow::Result<()> {
    let d = find_domain(db, domain, None).await?;
    if d.status == DomainStatus::Disabled {
        bail!("{} is disabled", d.domain);
    }
    if d.verified_at.is_none() {
        bail!("no registration of {} has proven control of it yet", d.domain);
    }
    let master = MasterKey::from_config(config)?;
    let ca_dir = config.data_dir.join("local-ca");
    let local_ca = if ca_dir.join(local_ca::ROOT_CERT_FILE).exists() {
        Some(LocalCa::load_or_create(&ca_dir)?)
    } else {
        None
    };
    let worker = DomainWorker::from_config(config, db.clone(), master, local_ca)?;
    let (ran, report) = worker.force_renewal(&d, now).await?;
    if !ran {
        bail!(
            "another node is working on {} right now; try again in a minute",
            d.domain
        );
    }
    let after = find_domain(db, domain, None).await?;
    if report.new_certificates.is_empty() {
        bail!("renewal of {} failed: {}", d.domain, after.status_message);
    }
    let current = store::current_for(db, d.domain.as_str(), UnixMillis::now())
        .await?
        .context("the new certificate is not stored")?;
    let served = served_note(config);
    output(
        json,
        json!({ "domain": d.domain.as_str(), "serial": current.info.serial, "not_after": current.info.not_after.0 }),
        format!(
            "renewed {}: serial {}, valid until {}\n{served}",
            d.domain,
            current.info.serial,
            time(current.info.not_after.0)
        ),
    );
    if json {
        // stdout stays one JSON object; the operator still learns when.
        eprintln!("{served}");
    }
    Ok(())
}

/// When a running edge serves a renewed certificate.
fn served_note(config: &Config) -> String {
    format!(
        "Running edges serve the new certificate within 2 s (the change feed tells them); \
         an edge cut off from the database keeps its cached copy for up to {} s \
         (edge.cert_cache_ttl_seconds).",
        config.edge.cert_cache_ttl.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_configured_cache_ttl() {
        let config = Config::from_toml_with_env(
            "dev",
            porta_core::config::DEV_TOML,
            &["PORTA_EDGE_CERT_CACHE_TTL_SECONDS".to_owned()],
            |k| (k == "PORTA_EDGE_CERT_CACHE_TTL_SECONDS").then(|| "17".to_owned()),
        )
        .unwrap();
        let note = served_note(&config);
        assert!(
            note.contains("within 2 s") && note.contains("up to 17 s (edge.cert_cache_ttl_seconds)"),
            "{note}"
        );
    }
}
