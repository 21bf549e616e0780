//! Tenants: one MSP each, identified in hosts by a unique slug.

use sqlx::FromRow;

use super::{catalog, roles, Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::TenantId;
use crate::on_pool;
use crate::on_tx;
use crate::slug::TenantSlug;

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
