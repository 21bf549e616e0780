//! Custom ("vanity") domains of tenants.
//!
//! A name may be registered by several tenants at once, but only one
//! registration can *hold* it: the first to prove control (a CNAME to its
//! own canonical host, or the TXT record `_porta-challenge.<domain>` with its
//! [`PortalDomain::verification_token`]) claims it ([`claim`]), and from
//! then on the name is that tenant's ([`holder`]); the other registrations
//! are failed with the reason ([`fail_rivals`]). A registration that has not
//! proven control reserves nothing. Only a holding registration can be
//! `active`, so routing a host to a tenant stays unambiguous. Lookups by
//! name are how a request's host is tied to a tenant; every other query is
//! scoped by tenant.

use sqlx::FromRow;

use super::{changes, Db, DbError, DbTx};
use crate::change_feed::Change;
use crate::clock::UnixMillis;
use crate::domain_status::DomainStatus;
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
use crate::issuer::Issuer;
use crate::{on_pool, on_tx};

/// Announces, in `tx`, that the registration of `domain` by `tenant`
/// changed: nodes forget their routes for it.
async fn announce(
    tx: &mut DbTx,
    tenant: TenantId,
    domain: &HostName,
    now: UnixMillis,
) -> Result<(), DbError> {
    let change = Change::Domain {
        tenant,
        domain: domain.clone(),
    };
    changes::record(tx, &change, now).await
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PortalDomain {
    pub id: PortalDomainId,
    pub tenant_id: TenantId,
    pub domain: HostName,
    pub status: DomainStatus,
    pub status_message: String,
    /// The tenant's canonical host: what the domain's CNAME must point at.
    pub expected_cname: String,
    /// What DNS answered at the last check (JSON list), if checked.
    pub observed_cname: Option<String>,
    /// Where its certificates come from.
    pub issuer: Issuer,
    pub trust_dns: bool,
    pub attempts: i32,
    pub next_retry_at: Option<i64>,
    pub last_checked_at: Option<i64>,
    pub activated_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When this registration proved control of the name (and so holds
    /// it); `None` while it has not.
    pub verified_at: Option<i64>,
    /// This registration's proof for the TXT record
    /// `_porta-challenge.<domain>` (32 hex digits): shown to staff, not a
    /// secret.
    pub verification_token: String,
}

/// The name of the TXT record that proves control of `domain`.
pub fn txt_record_name(domain: &HostName) -> String {
    format!("_porta-challenge.{domain}")
}

const COLUMNS: &str = "id, tenant_id, domain, status, status_message, expected_cname, observed_cname, \
                       issuer, trust_dns, attempts, next_retry_at, last_checked_at, activated_at, \
                       created_at, updated_at, verified_at, verification_token";

/// A fresh TXT token: 16 random bytes in hex.
fn new_verification_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What registering a domain records.
#[derive(Debug, Clone)]
pub struct NewPortalDomain<'a> {
    pub tenant: TenantId,
    pub domain: &'a HostName,
    pub status: DomainStatus,
    pub status_message: &'a str,
    pub expected_cname: &'a HostName,
    pub issuer: Issuer,
    pub trust_dns: bool,
}

/// Registers a domain. A registration that starts past the DNS step
/// (`pending_certificate` or `active`: an operator's or the demo's) holds
/// the name at once. [`DbError::Conflict`] when the tenant has already
/// registered the name, or when it would hold a name another registration
/// holds; registering a name others merely have pending is fine.
pub async fn create(db: &Db, new: &NewPortalDomain<'_>, now: UnixMillis) -> Result<PortalDomain, DbError> {
    let id = PortalDomainId::generate();
    let activated_at = (new.status == DomainStatus::Active).then_some(now.0);
    let verified_at = matches!(
        new.status,
        DomainStatus::Active | DomainStatus::PendingCertificate
    )
    .then_some(now.0);
    // Pending domains are due for their first check at once.
    let pending = matches!(
        new.status,
        DomainStatus::PendingDns | DomainStatus::PendingCertificate
    );
    let next_retry_at = pending.then_some(now.0);
    let sql = format!(
        "INSERT INTO portal_domains ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 0, $11, NULL, $9, $10, $10, $12, $13) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let created: PortalDomain = on_tx!(&mut tx, |t| sqlx::query_as(&sql)
        .bind(id)
        .bind(new.tenant)
        .bind(new.domain)
        .bind(new.status)
        .bind(new.status_message)
        .bind(new.expected_cname.as_str())
        .bind(new.issuer)
        .bind(new.trust_dns)
        .bind(activated_at)
        .bind(now.0)
        .bind(next_retry_at)
        .bind(verified_at)
        .bind(new_verification_token())
        .fetch_one(&mut **t)
        .await)
    .map_err(DbError::conflict_as("portal domain"))?;
    announce(&mut tx, new.tenant, new.domain, now).await?;
    tx.commit().await?;
    Ok(created)
}

/// The registration of `domain` that speaks for the name: the one that
/// holds it, else the earliest registered (whatever its tenant or status).
pub async fn find_by_name(db: &Db, domain: &HostName) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM portal_domains WHERE domain = $1 \
         ORDER BY CASE WHEN verified_at IS NULL THEN 1 ELSE 0 END, created_at, id LIMIT 1"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(domain)
        .fetch_optional(pool)
        .await)?)
}

/// Every registration of `domain`, the holder first, then by age.
pub async fn list_by_name(db: &Db, domain: &HostName) -> Result<Vec<PortalDomain>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM portal_domains WHERE domain = $1 \
         ORDER BY CASE WHEN verified_at IS NULL THEN 1 ELSE 0 END, created_at, id"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(domain)
        .fetch_all(pool)
        .await)?)
}

/// The registration that holds `domain` (has proven control), if any.
pub async fn holder(db: &Db, domain: &HostName) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains WHERE domain = $1 AND verified_at IS NOT NULL");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(domain)
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's registration with `id`.
pub async fn get(db: &Db, tenant: TenantId, id: PortalDomainId) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains WHERE tenant_id = $1 AND id = $2");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's registration of `domain`, if it has one.
pub async fn find_for_tenant(
    db: &Db,
    tenant: TenantId,
    domain: &HostName,
) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains WHERE tenant_id = $1 AND domain = $2");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(domain)
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's registration `id` has proven control of its name: it claims
/// the name unless another registration holds it already. One statement,
/// and the unique index on held names settles a race between nodes: of
/// several claims of one name exactly one returns `true`. Claiming again a
/// name this registration holds returns `true`.
pub async fn claim(db: &Db, tenant: TenantId, id: PortalDomainId, now: UnixMillis) -> Result<bool, DbError> {
    let sql = "UPDATE portal_domains SET verified_at = COALESCE(verified_at, $3), updated_at = $3 \
               WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS (\
                   SELECT 1 FROM portal_domains other WHERE other.domain = portal_domains.domain \
                   AND other.id <> portal_domains.id AND other.verified_at IS NOT NULL) \
               RETURNING domain";
    let mut tx = db.begin().await?;
    let claimed: Result<Option<HostName>, sqlx::Error> = on_tx!(&mut tx, |t| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(id)
        .bind(now.0)
        .fetch_optional(&mut **t)
        .await);
    match claimed {
        Ok(Some(domain)) => {
            announce(&mut tx, tenant, &domain, now).await?;
            tx.commit().await?;
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Fails every registration of the name `holder` holds that is not
/// `holder` (and not disabled), with `message` and no retry time; returns
/// them as they were, for their audit rows.
pub async fn fail_rivals(
    db: &Db,
    holder: &PortalDomain,
    message: &str,
    now: UnixMillis,
) -> Result<Vec<PortalDomain>, DbError> {
    let rivals: Vec<PortalDomain> = list_by_name(db, &holder.domain)
        .await?
        .into_iter()
        .filter(|d| d.id != holder.id && d.status != DomainStatus::Disabled)
        .collect();
    let sql = "UPDATE portal_domains SET status = 'failed', status_message = $3, next_retry_at = NULL, \
               updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND verified_at IS NULL";
    let mut tx = db.begin().await?;
    for rival in &rivals {
        on_tx!(&mut tx, |t| sqlx::query(sql)
            .bind(rival.tenant_id)
            .bind(rival.id)
            .bind(message)
            .bind(now.0)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        announce(&mut tx, rival.tenant_id, &rival.domain, now).await?;
    }
    tx.commit().await?;
    Ok(rivals)
}

/// The tenant's active custom domain (the oldest, if several).
pub async fn active_for_tenant(db: &Db, tenant: TenantId) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM portal_domains WHERE tenant_id = $1 AND status = 'active' \
         ORDER BY activated_at, created_at LIMIT 1"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's domains, by name.
pub async fn list_for_tenant(db: &Db, tenant: TenantId) -> Result<Vec<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains WHERE tenant_id = $1 ORDER BY domain");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}

/// Moves the tenant's domain to `status` with a message for staff.
pub async fn set_status(
    db: &Db,
    tenant: TenantId,
    id: PortalDomainId,
    status: DomainStatus,
    message: &str,
    now: UnixMillis,
) -> Result<(), DbError> {
    // Only a registration that holds its name can be active.
    let sql = "UPDATE portal_domains SET status = $3, status_message = $4, updated_at = $5, \
               activated_at = CASE WHEN $3 = 'active' THEN COALESCE(activated_at, $5) ELSE activated_at END, \
               verified_at = CASE WHEN $3 = 'active' THEN COALESCE(verified_at, $5) ELSE verified_at END \
               WHERE tenant_id = $1 AND id = $2 RETURNING domain";
    let mut tx = db.begin().await?;
    let domain: Option<HostName> = on_tx!(&mut tx, |t| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(id)
        .bind(status)
        .bind(message)
        .bind(now.0)
        .fetch_optional(&mut **t)
        .await)
    .map_err(DbError::conflict_as("held portal domain"))?;
    let domain = domain.ok_or(DbError::NotFound("portal domain"))?;
    announce(&mut tx, tenant, &domain, now).await?;
    tx.commit().await
}

/// Every registration of every tenant, by name (the holder of a name
/// first): for operators and for the background work that issues
/// certificates.
pub async fn list_all(db: &Db) -> Result<Vec<PortalDomain>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM portal_domains \
         ORDER BY domain, CASE WHEN verified_at IS NULL THEN 1 ELSE 0 END, created_at, id"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
}

/// Removes the tenant's domain; returns whether it existed.
pub async fn remove(db: &Db, tenant: TenantId, id: PortalDomainId) -> Result<bool, DbError> {
    let sql = "DELETE FROM portal_domains WHERE tenant_id = $1 AND id = $2 RETURNING domain";
    let mut tx = db.begin().await?;
    let domain: Option<HostName> = on_tx!(&mut tx, |t| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
    let Some(domain) = domain else {
        return Ok(false);
    };
    announce(&mut tx, tenant, &domain, UnixMillis::now()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Asks the lifecycle worker to look at the domain at `at` (now, for a
/// staff "retry"), resetting a `failed` domain to the step it failed in.
pub async fn schedule_check(
    db: &Db,
    tenant: TenantId,
    id: PortalDomainId,
    at: UnixMillis,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE portal_domains SET next_retry_at = $3, updated_at = $4, \
               status = CASE WHEN status = 'failed' THEN 'pending_dns' ELSE status END \
               WHERE tenant_id = $1 AND id = $2 AND status <> 'disabled'";
    let affected = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(at.0)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if affected == 0 {
        return Err(DbError::NotFound("portal domain"));
    }
    Ok(())
}

/// What one check of a domain found, written together so staff see a
/// consistent picture.
#[derive(Debug, Clone)]
pub struct CheckResult<'a> {
    pub status: DomainStatus,
    pub message: &'a str,
    /// JSON list of what DNS answered, when DNS was asked.
    pub observed: Option<&'a str>,
    pub attempts: i32,
    pub next_retry_at: Option<UnixMillis>,
}

/// Writes a worker's finding, unless staff disabled the domain meanwhile.
pub async fn record_check(
    db: &Db,
    tenant: TenantId,
    id: PortalDomainId,
    result: &CheckResult<'_>,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE portal_domains SET status = $3, status_message = $4, \
               observed_cname = COALESCE($5, observed_cname), attempts = $6, next_retry_at = $7, \
               last_checked_at = $8, updated_at = $8, \
               activated_at = CASE WHEN $3 = 'active' THEN COALESCE(activated_at, $8) ELSE activated_at END \
               WHERE tenant_id = $1 AND id = $2 AND status <> 'disabled' RETURNING domain";
    let mut tx = db.begin().await?;
    let domain: Option<HostName> = on_tx!(&mut tx, |t| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(id)
        .bind(result.status)
        .bind(result.message)
        .bind(result.observed)
        .bind(result.attempts)
        .bind(result.next_retry_at.map(|t| t.0))
        .bind(now.0)
        .fetch_optional(&mut **t)
        .await)?;
    if let Some(domain) = domain {
        announce(&mut tx, tenant, &domain, now).await?;
    }
    tx.commit().await
}

/// Domains whose next check is due: pending ones (DNS or certificate) and
/// failed ones with a retry time, whose `next_retry_at` has come, oldest
/// first. (A domain that gave up has no retry time: staff retry it.)
pub async fn due(db: &Db, now: UnixMillis, limit: i64) -> Result<Vec<PortalDomain>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM portal_domains \
         WHERE status IN ('pending_dns', 'pending_certificate', 'failed') AND next_retry_at IS NOT NULL \
         AND next_retry_at <= $1 ORDER BY next_retry_at LIMIT $2"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(now.0)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// How many custom domains are in each status (statuses with none left out).
pub async fn count_by_status(db: &Db) -> Result<Vec<(DomainStatus, i64)>, DbError> {
    let sql = "SELECT status, COUNT(*) FROM portal_domains GROUP BY status";
    let rows: Vec<(String, i64)> = on_pool!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|(status, n)| {
            let status = status
                .parse::<DomainStatus>()
                .map_err(|_| DbError::Invalid(format!("stored domain status {status:?}")))?;
            Ok((status, n))
        })
        .collect()
}
