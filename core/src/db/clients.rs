//! Client companies: a tenant's customers, whose users sign in to the portal.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{ClientId, TenantId};
use crate::on_pool;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Client {
    pub id: ClientId,
    pub tenant_id: TenantId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("client name must be 1-200 characters")]
pub struct InvalidClientName;

fn checked_name(name: &str) -> Result<&str, InvalidClientName> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(InvalidClientName);
    }
    Ok(name)
}

/// Creates a client company; names are unique per tenant, ignoring case.
pub async fn create(db: &Db, tenant: TenantId, name: &str) -> Result<Client, DbError> {
    let name = checked_name(name).map_err(|e| DbError::Invalid(e.to_string()))?;
    let client = Client {
        id: ClientId::generate(),
        tenant_id: tenant,
        name: name.to_owned(),
        created_at: UnixMillis::now().0,
    };
    let sql = "INSERT INTO clients (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(client.id)
        .bind(client.tenant_id)
        .bind(&client.name)
        .bind(client.created_at)
        .execute(pool)
        .await
        .map(|_| ()))
    .map_err(DbError::conflict_as("client name"))?;
    Ok(client)
}

/// The tenant's client with this name (case-insensitive).
pub async fn find_by_name(db: &Db, tenant: TenantId, name: &str) -> Result<Option<Client>, DbError> {
    let sql = "SELECT id, tenant_id, name, created_at FROM clients \
               WHERE tenant_id = $1 AND lower(name) = lower($2)";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(name.trim())
        .fetch_optional(pool)
        .await)?)
}

pub async fn list(db: &Db, tenant: TenantId) -> Result<Vec<Client>, DbError> {
    let sql = "SELECT id, tenant_id, name, created_at FROM clients WHERE tenant_id = $1 ORDER BY name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}
