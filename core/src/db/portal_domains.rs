//! Custom ("vanity") domains of tenants. A domain name is globally unique,
//! so finding a domain by name is how a request's host is tied to a tenant;
//! every other query is scoped by tenant.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::domain_status::DomainStatus;
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
use crate::issuer::Issuer;
use crate::on_pool;

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
}

const COLUMNS: &str = "id, tenant_id, domain, status, status_message, expected_cname, observed_cname, \
                       issuer, trust_dns, attempts, next_retry_at, last_checked_at, activated_at, \
                       created_at, updated_at";

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

/// Registers a domain. A domain already registered (by any tenant) is
/// [`DbError::Conflict`].
pub async fn create(db: &Db, new: &NewPortalDomain<'_>, now: UnixMillis) -> Result<PortalDomain, DbError> {
    let id = PortalDomainId::generate();
    let activated_at = (new.status == DomainStatus::Active).then_some(now.0);
    // Pending domains are due for their first check at once.
    let pending = matches!(
        new.status,
        DomainStatus::PendingDns | DomainStatus::PendingCertificate
    );
    let next_retry_at = pending.then_some(now.0);
    let sql = format!(
        "INSERT INTO portal_domains ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 0, $11, NULL, $9, $10, $10) RETURNING {COLUMNS}"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
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
        .fetch_one(pool)
        .await)
    .map_err(DbError::conflict_as("portal domain"))
}

/// The registered domain called `domain`, whatever its tenant or status.
pub async fn find_by_name(db: &Db, domain: &HostName) -> Result<Option<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains WHERE domain = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(domain)
        .fetch_optional(pool)
        .await)?)
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
    let sql = "UPDATE portal_domains SET status = $3, status_message = $4, updated_at = $5, \
               activated_at = CASE WHEN $3 = 'active' THEN COALESCE(activated_at, $5) ELSE activated_at END \
               WHERE tenant_id = $1 AND id = $2";
    let affected = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(status)
        .bind(message)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if affected == 0 {
        return Err(DbError::NotFound("portal domain"));
    }
    Ok(())
}

/// Every registered domain of every tenant, by name: for operators and for
/// the background work that issues certificates.
pub async fn list_all(db: &Db) -> Result<Vec<PortalDomain>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM portal_domains ORDER BY domain");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
}

/// Removes the tenant's domain; returns whether it existed.
pub async fn remove(db: &Db, tenant: TenantId, id: PortalDomainId) -> Result<bool, DbError> {
    let sql = "DELETE FROM portal_domains WHERE tenant_id = $1 AND id = $2";
    let affected = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(affected > 0)
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
               WHERE tenant_id = $1 AND id = $2 AND status <> 'disabled'";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(result.status)
        .bind(result.message)
        .bind(result.observed)
        .bind(result.attempts)
        .bind(result.next_retry_at.map(|t| t.0))
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
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
