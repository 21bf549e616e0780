//! `porta domain ...` (also `porta portal-domain ...`): what operators use
//! to see and steer custom domains, and to prune the one-time tokens of the
//! sign-in handoff to them.

use anyhow::anyhow;
use porta_certs::store;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::{self, NewPortalDomain, PortalDomain};
use porta_core::db::{otts, tenants, Db, DbError};
use porta_core::domain_name::DomainName;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;
use serde_json::{json, Value};

use super::admin::tenant_by_slug;
use super::output::{days_left, next_renewal, output, time};
use crate::cli::{DomainCommand, SessionsCommand};

/// The registration of the domain `raw`: the tenant's when `tenant` (a
/// slug) is given; else the one that holds the name, or the only one.
pub(super) async fn find_domain(db: &Db, raw: &str, tenant: Option<&str>) -> anyhow::Result<PortalDomain> {
    let host = HostName::parse(raw).map_err(|e| anyhow!("{raw:?}: {e}"))?;
    if let Some(slug) = tenant {
        let tenant = tenant_by_slug(db, slug).await?;
        return portal_domains::find_for_tenant(db, tenant.id, &host)
            .await?
            .ok_or_else(|| anyhow!("tenant {} has not registered {host}", tenant.slug));
    }
    let mut all = portal_domains::list_by_name(db, &host).await?;
    match all.first() {
        None => Err(anyhow!(
            "no custom domain {host} is registered (see `porta domain list`)"
        )),
        Some(first) if first.verified_at.is_some() || all.len() == 1 => Ok(all.swap_remove(0)),
        Some(_) => {
            let mut slugs = Vec::new();
            for d in &all {
                slugs.push(tenants::get(db, d.tenant_id).await?.slug.to_string());
            }
            Err(anyhow!(
                "{host} is registered by {} tenants and none has proven control yet ({}): say which with --tenant",
                all.len(),
                slugs.join(", ")
            ))
        }
    }
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
        "txt_record": {
            "name": portal_domains::txt_record_name(&d.domain),
            "value": d.verification_token,
        },
        "verified": d.verified_at.is_some(),
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
        DomainCommand::List { json } => list(db, now, json).await?,
        DomainCommand::Show { domain, tenant, json } => {
            show(db, &domain, tenant.as_deref(), now, json).await?
        }
        DomainCommand::Add {
            tenant,
            domain,
            issuer,
            trust_dns,
            json,
        } => {
            let issuer = issuer.map_or_else(|| Issuer::default_for(config), Issuer::from);
            add(db, config, &tenant, &domain, issuer, trust_dns, json, now).await?;
        }
        DomainCommand::Retry { domain, tenant } => {
            let d = find_domain(db, &domain, tenant.as_deref()).await?;
            portal_domains::schedule_check(db, d.tenant_id, d.id, now, now)
                .await
                .map_err(|_| anyhow!("{} is disabled; add it again to use it", d.domain))?;
            audit_operator(db, &d, "portal_domain.retry").await?;
            println!("{} will be checked again now", d.domain);
        }
        DomainCommand::Disable { domain, tenant } => {
            let d = find_domain(db, &domain, tenant.as_deref()).await?;
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
        DomainCommand::Remove { domain, tenant } => {
            let d = find_domain(db, &domain, tenant.as_deref()).await?;
            portal_domains::remove(db, d.tenant_id, d.id).await?;
            audit_operator(db, &d, "portal_domain.remove").await?;
            println!("{} removed", d.domain);
        }
        DomainCommand::Sessions(cmd) => sessions(db, cmd).await?,
    }
    Ok(())
}

async fn list(db: &Db, now: UnixMillis, json: bool) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for d in &portal_domains::list_all(db).await? {
        rows.push(domain_json(db, d, now).await?);
    }
    if json {
        println!("{}", Value::Array(rows));
        return Ok(());
    }
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
    Ok(())
}

async fn show(
    db: &Db,
    domain: &str,
    tenant: Option<&str>,
    now: UnixMillis,
    json: bool,
) -> anyhow::Result<()> {
    let d = find_domain(db, domain, tenant).await?;
    let v = domain_json(db, &d, now).await?;
    if json {
        println!("{v}");
        return Ok(());
    }
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
    println!(
        "or TXT          {} \"{}\"",
        portal_domains::txt_record_name(&d.domain),
        d.verification_token
    );
    let verified = if d.verified_at.is_some() { "yes" } else { "no" };
    println!("proven          {verified}");
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
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn add(
    db: &Db,
    config: &Config,
    tenant: &str,
    domain: &str,
    issuer: Issuer,
    trust_dns: bool,
    json: bool,
    now: UnixMillis,
) -> anyhow::Result<()> {
    let tenant = tenant_by_slug(db, tenant).await?;
    let name = DomainName::parse(domain).map_err(|e| anyhow!("{domain:?}: {e}"))?;
    name.check_against_base(&config.canonical_base)
        .map_err(|e| anyhow!("{domain:?}: {e}"))?;
    if let Some(holder) = portal_domains::holder(db, name.as_host()).await? {
        if holder.tenant_id != tenant.id {
            let owner = tenants::get(db, holder.tenant_id).await?;
            anyhow::bail!("{name} is in use: tenant {} has proven control of it", owner.slug);
        }
    }
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
        DbError::Conflict(_) => anyhow!("{name} is already registered for tenant {}", tenant.slug),
        other => other.into(),
    })?;
    let action = if trust_dns {
        "portal_domain.register_trusted_dns"
    } else {
        "portal_domain.register"
    };
    audit_operator(db, &d, action).await?;
    let v = domain_json(db, &d, now).await?;
    output(
        json,
        v,
        format!(
            "registered {name} for tenant {} (issuer {issuer}); CNAME {name} -> {canonical}",
            tenant.slug
        ),
    );
    Ok(())
}

/// `porta domain sessions prune`: deletes (or counts) the one-time tokens
/// consumed or expired more than `--minutes` ago.
async fn sessions(db: &Db, cmd: SessionsCommand) -> anyhow::Result<()> {
    let SessionsCommand::Prune {
        tenant,
        minutes,
        dry_run,
        json,
    } = cmd;
    let tenant = match tenant {
        None => None,
        Some(raw) => Some(match raw.parse::<TenantId>() {
            Ok(id) => tenants::get(db, id)
                .await
                .map_err(|_| anyhow!("no tenant with id {raw}"))?,
            Err(_) => tenant_by_slug(db, &raw).await?,
        }),
    };
    let cutoff = UnixMillis::now().plus_seconds(-i64::from(minutes) * 60);
    let count = otts::prune(db, tenant.as_ref().map(|t| t.id), cutoff, dry_run).await?;
    let scope = tenant
        .as_ref()
        .map_or_else(|| "all tenants".to_owned(), |t| format!("tenant {}", t.slug));
    let verb = if dry_run { "would delete" } else { "deleted" };
    output(
        json,
        json!({
            "dry_run": dry_run,
            "tenant": tenant.as_ref().map(|t| t.slug.as_str()),
            "minutes": minutes,
            "count": count,
        }),
        format!("{verb} {count} one-time token(s) consumed or expired more than {minutes} minute(s) ago ({scope})"),
    );
    Ok(())
}
