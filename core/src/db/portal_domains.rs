//! Custom ("vanity") domains of tenants. A domain name is globally unique,
//! so finding a domain by name is how a request's host is tied to a tenant;
//! every other query is scoped by tenant.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::domain_status::DomainStatus;
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
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
    /// `acme` or `internal`.
    pub issuer: String,
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
    pub issuer: &'a str,
    pub trust_dns: bool,
}

/// Registers a domain. A domain already registered (by any tenant) is
/// [`DbError::Conflict`].
pub async fn create(db: &Db, new: &NewPortalDomain<'_>, now: UnixMillis) -> Result<PortalDomain, DbError> {
    let id = PortalDomainId::generate();
    let activated_at = (new.status == DomainStatus::Active).then_some(now.0);
    let sql = format!(
        "INSERT INTO portal_domains ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 0, NULL, NULL, $9, $10, $10) RETURNING {COLUMNS}"
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
