//! Tenants: one MSP each, identified in hosts by a unique slug.

use sqlx::FromRow;

use super::{catalog, changes, roles, Db, DbError};
use crate::clock::UnixMillis;
use crate::email::EmailAddress;
use crate::ids::TenantId;
use crate::on_pool;
use crate::on_tx;
use crate::slug::TenantSlug;
use crate::user_type::UserType;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub created_at: i64,
    /// Where replies to the tenant's mail go (its support address), if set.
    pub reply_to: String,
}

/// Creates a tenant with its default roles, in one transaction.
/// A taken slug is [`DbError::Conflict`].
pub async fn create(db: &Db, slug: &TenantSlug, name: &str) -> Result<Tenant, DbError> {
    let tenant = Tenant {
        id: TenantId::generate(),
        slug: slug.clone(),
        name: name.to_owned(),
        created_at: UnixMillis::now().0,
        reply_to: String::new(),
    };
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(tenant.id)
    .bind(&tenant.slug)
    .bind(&tenant.name)
    .bind(tenant.created_at)
    .execute(&mut **t)
    .await
    .map(|_| ()))
    .map_err(DbError::conflict_as("tenant slug"))?;
    roles::create_defaults(&mut tx, tenant.id).await?;
    catalog::create_defaults(&mut tx, tenant.id).await?;
    // Its canonical host may be cached as unknown.
    changes::record_tenant(&mut tx, tenant.id, UnixMillis::now()).await?;
    tx.commit().await?;
    Ok(tenant)
}

pub async fn find_by_slug(db: &Db, slug: &TenantSlug) -> Result<Option<Tenant>, DbError> {
    let sql = "SELECT id, slug, name, created_at, reply_to FROM tenants WHERE slug = $1";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(slug)
        .fetch_optional(pool)
        .await)?)
}

pub async fn get(db: &Db, id: TenantId) -> Result<Tenant, DbError> {
    let sql = "SELECT id, slug, name, created_at, reply_to FROM tenants WHERE id = $1";
    on_pool!(db, |pool| sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?
        .ok_or(DbError::NotFound("tenant"))
}

pub async fn list(db: &Db) -> Result<Vec<Tenant>, DbError> {
    let sql = "SELECT id, slug, name, created_at, reply_to FROM tenants ORDER BY slug";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?)
}

pub async fn count(db: &Db) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM tenants";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await)?)
}

/// How a tenant's people may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct SignInPolicy {
    /// Client users must use a second factor (they enrol at their next
    /// sign-in if they have none).
    pub require_2fa_clients: bool,
    pub require_2fa_staff: bool,
    /// Password sign-in stays available (turned off only when an OpenID
    /// provider serves that user type).
    pub password_signin_clients: bool,
    pub password_signin_staff: bool,
}

impl SignInPolicy {
    pub fn requires_2fa(&self, user_type: UserType) -> bool {
        match user_type {
            UserType::Client => self.require_2fa_clients,
            UserType::Internal => self.require_2fa_staff,
        }
    }

    pub fn allows_password(&self, user_type: UserType) -> bool {
        match user_type {
            UserType::Client => self.password_signin_clients,
            UserType::Internal => self.password_signin_staff,
        }
    }
}

pub async fn signin_policy(db: &Db, id: TenantId) -> Result<SignInPolicy, DbError> {
    let sql =
        "SELECT require_2fa_clients, require_2fa_staff, password_signin_clients, password_signin_staff \
               FROM tenants WHERE id = $1";
    on_pool!(db, |pool| sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?
        .ok_or(DbError::NotFound("tenant"))
}

pub async fn set_signin_policy(db: &Db, id: TenantId, policy: &SignInPolicy) -> Result<(), DbError> {
    let sql = "UPDATE tenants SET require_2fa_clients = $2, require_2fa_staff = $3, \
               password_signin_clients = $4, password_signin_staff = $5 WHERE id = $1";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(policy.require_2fa_clients)
        .bind(policy.require_2fa_staff)
        .bind(policy.password_signin_clients)
        .bind(policy.password_signin_staff)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    changes::record_tenant(&mut tx, id, UnixMillis::now()).await?;
    tx.commit().await
}

/// Sets where replies to the tenant's mail go (empty: nowhere special).
pub async fn set_reply_to(db: &Db, id: TenantId, reply_to: Option<&EmailAddress>) -> Result<(), DbError> {
    let value = reply_to.map(ToString::to_string).unwrap_or_default();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE tenants SET reply_to = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(&value)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    changes::record_tenant(&mut tx, id, UnixMillis::now()).await?;
    tx.commit().await
}
