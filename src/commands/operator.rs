//! `porta domain ...` and `porta cert ...`: what operators use to see and
//! steer custom domains and certificates. Tables for people, `--json` for
//! scripts.

use anyhow::{anyhow, bail, Context};
use porta_certs::lifecycle::DomainWorker;
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::policy;
use porta_certs::store::{self, CertificateInfo, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::{self, NewPortalDomain, PortalDomain};
use porta_core::db::{tenants, Db, DbError};
use porta_core::domain_name::DomainName;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::{CertificateSource, Issuer};
use serde_json::{json, Value};

use super::admin::{output, tenant_by_slug};
use crate::cli::{CertCommand, DomainCommand, IssuerArg};

const DAY_MS: f64 = 86_400_000.0;

fn days_left(info: &CertificateInfo, now: UnixMillis) -> i64 {
    ((info.not_after.0 - now.0) as f64 / DAY_MS).floor() as i64
}

/// When the lifecycle worker renews ([`policy::renewal_at`]).
fn next_renewal(info: &CertificateInfo) -> i64 {
    policy::renewal_at(info).0
}

fn cert_json(info: &CertificateInfo, now: UnixMillis) -> Value {
    json!({
        "id": info.id.to_string(),
        "domain": info.domain,
        "issuer": info.issuer,
        "serial": info.serial,
        "not_before": info.not_before.0,
        "not_after": info.not_after.0,
        "days_left": days_left(info, now),
        "next_renewal": next_renewal(info),
        "replaced": info.replaced_at.is_some(),
    })
}

async fn find_domain(db: &Db, raw: &str) -> anyhow::Result<PortalDomain> {
    let host = HostName::parse(raw).map_err(|e| anyhow!("{raw:?}: {e}"))?;
    portal_domains::find_by_name(db, &host)
        .await?
        .ok_or_else(|| anyhow!("no custom domain {host} is registered (see `porta domain list`)"))
}

async fn domain_json(db: &Db, d: &PortalDomain, now: UnixMillis) -> anyhow::Result<Value> {
    let tenant = tenants::get(db, d.tenant_id).await?;
    let cert = store::current_for(db, d.domain.as_str(), now).await?;
    let observed: Option<Value> = d
        .observed_cname
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok());
    Ok(json!({
        "domain": d.domain.as_str(),
        "tenant": tenant.slug.as_str(),
        "status": d.status.as_str(),
        "status_message": d.status_message,
        "issuer": d.issuer,
        "trust_dns": d.trust_dns,
        "expected_cname": d.expected_cname,
        "observed": observed,
        "attempts": d.attempts,
        "next_retry_at": d.next_retry_at,
        "certificate": cert.map(|c| json!({
            "serial": c.info.serial,
            "issuer": c.info.issuer,
            "not_after": c.info.not_after.0,
            "days_left": days_left(&c.info, now),
            "next_renewal": next_renewal(&c.info),
        })),
    }))
}

fn time(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| millis.to_string())
}

async fn audit_operator(db: &Db, d: &PortalDomain, action: &str) -> anyhow::Result<()> {
    let event = AuditEvent {
        tenant: Some(d.tenant_id),
        actor: None,
        action,
        outcome: "success",
        subject: Some(d.domain.as_str()),
        ip: None,
        user_agent: None,
        detail: Some(json!({ "by": "operator" })),
    };
    audit::record(db, &event, UnixMillis::now()).await?;
    Ok(())
}

pub async fn domain(db: &Db, config: &Config, cmd: DomainCommand) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    match cmd {
        DomainCommand::List { json } => {
            let all = portal_domains::list_all(db).await?;
            let mut rows = Vec::new();
            for d in &all {
                rows.push(domain_json(db, d, now).await?);
            }
            if json {
                println!("{}", Value::Array(rows));
            } else {
                println!(
                    "{:<40} {:<16} {:<20} {:<9} CERTIFICATE",
                    "DOMAIN", "TENANT", "STATUS", "ISSUER"
                );
                for r in rows {
                    let cert = r["certificate"]["days_left"]
                        .as_i64()
                        .map_or_else(|| "-".to_owned(), |d| format!("{d} days left"));
                    println!(
                        "{:<40} {:<16} {:<20} {:<9} {cert}",
                        r["domain"].as_str().unwrap_or_default(),
                        r["tenant"].as_str().unwrap_or_default(),
                        r["status"].as_str().unwrap_or_default(),
                        r["issuer"].as_str().unwrap_or_default(),
                    );
                }
            }
        }
        DomainCommand::Show { domain, json } => {
            let d = find_domain(db, &domain).await?;
            let v = domain_json(db, &d, now).await?;
            if json {
                println!("{v}");
            } else {
                println!("domain          {}", d.domain);
                println!("tenant          {}", v["tenant"].as_str().unwrap_or_default());
                println!("status          {}", d.status);
                println!("reason          {}", d.status_message);
                println!("CNAME expected  {} -> {}", d.domain, d.expected_cname);
                let observed = v["observed"]
                    .as_array()
                    .map(|o| o.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "));
                println!(
                    "CNAME observed  {}",
                    observed.unwrap_or_else(|| "not checked yet".to_owned())
                );
                println!("attempts        {}", d.attempts);
                if let Some(at) = d.next_retry_at {
                    println!("next check      {}", time(at));
                }
                match store::current_for(db, d.domain.as_str(), now).await? {
                    Some(c) => {
                        println!("certificate     {} serial {}", c.info.issuer, c.info.serial);
                        println!(
                            "not after       {} ({} days left)",
                            time(c.info.not_after.0),
                            days_left(&c.info, now)
                        );
                        println!("next renewal    {}", time(next_renewal(&c.info)));
                    }
                    None => println!("certificate     none"),
                }
            }
        }
        DomainCommand::Add {
            tenant,
            domain,
            issuer,
            trust_dns,
            json,
        } => {
            let tenant = tenant_by_slug(db, &tenant).await?;
            let name = DomainName::parse(&domain).map_err(|e| anyhow!("{domain:?}: {e}"))?;
            name.check_against_base(&config.canonical_base)
                .map_err(|e| anyhow!("{domain:?}: {e}"))?;
            let issuer = match issuer {
                Some(IssuerArg::Acme) => Issuer::Acme,
                Some(IssuerArg::Internal) => Issuer::Internal,
                None => Issuer::default_for(config),
            };
            let canonical = HostName::tenant_host(&tenant.slug, &config.canonical_base);
            let message = if trust_dns {
                "Registered by an operator with DNS trusted on submit; the DNS check is skipped"
            } else {
                "Waiting for the CNAME record to point at the portal"
            };
            let d = portal_domains::create(
                db,
                &NewPortalDomain {
                    tenant: tenant.id,
                    domain: name.as_host(),
                    status: DomainStatus::PendingDns,
                    status_message: message,
                    expected_cname: &canonical,
                    issuer,
                    trust_dns,
                },
                now,
            )
            .await
            .map_err(|e| match e {
                DbError::Conflict(_) => anyhow!("{name} is already registered"),
                other => other.into(),
            })?;
            audit_operator(
                db,
                &d,
                if trust_dns {
                    "portal_domain.register_trusted_dns"
                } else {
                    "portal_domain.register"
                },
            )
            .await?;
            let v = domain_json(db, &d, now).await?;
            output(
                json,
                v,
                format!(
                    "registered {name} for tenant {} (issuer {issuer}); CNAME {name} -> {canonical}",
                    tenant.slug
                ),
            );
        }
        DomainCommand::Retry { domain } => {
            let d = find_domain(db, &domain).await?;
            portal_domains::schedule_check(db, d.tenant_id, d.id, now, now)
                .await
                .map_err(|_| anyhow!("{} is disabled; add it again to use it", d.domain))?;
            audit_operator(db, &d, "portal_domain.retry").await?;
            println!("{} will be checked again now", d.domain);
        }
        DomainCommand::Disable { domain } => {
            let d = find_domain(db, &domain).await?;
            portal_domains::set_status(
                db,
                d.tenant_id,
                d.id,
                DomainStatus::Disabled,
                "Disabled by an operator",
                now,
            )
            .await?;
            audit_operator(db, &d, "portal_domain.disable").await?;
            println!("{} disabled", d.domain);
        }
        DomainCommand::Remove { domain } => {
            let d = find_domain(db, &domain).await?;
            portal_domains::remove(db, d.tenant_id, d.id).await?;
            audit_operator(db, &d, "portal_domain.remove").await?;
            println!("{} removed", d.domain);
        }
    }
    Ok(())
}

pub async fn cert(db: &Db, config: &Config, cmd: CertCommand) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    match cmd {
        CertCommand::List { json } => {
            let all = store::list(db).await?;
            if json {
                println!(
                    "{}",
                    Value::Array(all.iter().map(|c| cert_json(c, now)).collect())
                );
            } else {
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
            }
        }
        CertCommand::Show { domain, json } => {
            let current = store::for_server_name(db, domain.trim(), now)
                .await?
                .ok_or_else(|| anyhow!("no valid certificate is stored for {domain}"))?;
            let v = cert_json(&current.info, now);
            if json {
                println!("{v}");
            } else {
                println!("domain        {}", current.info.domain);
                println!("issuer        {}", current.info.issuer);
                println!("serial        {}", current.info.serial);
                println!("not before    {}", time(current.info.not_before.0));
                println!(
                    "not after     {} ({} days left)",
                    time(current.info.not_after.0),
                    days_left(&current.info, now)
                );
                println!("next renewal  {}", time(next_renewal(&current.info)));
            }
        }
        CertCommand::Renew { domain, json } => {
            let d = find_domain(db, &domain).await?;
            if d.status == DomainStatus::Disabled {
                bail!("{} is disabled", d.domain);
            }
            let master = MasterKey::from_config(config)?;
            let ca_dir = config.data_dir.join("local-ca");
            let local_ca = if ca_dir.join("root.pem").exists() {
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
            let after = find_domain(db, &domain).await?;
            if report.new_certificates.is_empty() {
                bail!("renewal of {} failed: {}", d.domain, after.status_message);
            }
            let current = store::current_for(db, d.domain.as_str(), UnixMillis::now())
                .await?
                .context("the new certificate is not stored")?;
            output(
                json,
                json!({ "domain": d.domain.as_str(), "serial": current.info.serial, "not_after": current.info.not_after.0 }),
                format!(
                    "renewed {}: serial {}, valid until {} (edges serve it within edge.cert_cache_ttl_seconds)",
                    d.domain,
                    current.info.serial,
                    time(current.info.not_after.0)
                ),
            );
        }
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
