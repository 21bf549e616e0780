//! Client companies: a tenant's customers, whose users sign in to the portal.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{BoardId, ClientId, PriorityId, TenantId};
use crate::on_pool;
use crate::ticket::NotificationKind;

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

/// A client company as its Admin edits it, with its portal defaults.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClientProfile {
    pub id: ClientId,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub website: String,
    pub industry: String,
    pub default_board_id: Option<BoardId>,
    pub default_priority_id: Option<PriorityId>,
    /// Comma-separated [`NotificationKind`]s on for new users.
    pub default_notifications: String,
    /// The company's default language (empty: none chosen).
    pub default_locale: String,
    pub created_at: i64,
}

impl ClientProfile {
    /// The notification kinds on by default for the company's new users
    /// (unknown words are ignored).
    pub fn default_kinds(&self) -> Vec<NotificationKind> {
        self.default_notifications
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .collect()
    }
}

/// The company's own details.
#[derive(Debug, Clone)]
pub struct ProfileUpdate<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub website: &'a str,
    pub industry: &'a str,
}

pub async fn profile(db: &Db, tenant: TenantId, id: ClientId) -> Result<Option<ClientProfile>, DbError> {
    let sql = "SELECT id, name, address, phone, website, industry, default_board_id, default_priority_id, \
               default_notifications, default_locale, created_at FROM clients WHERE tenant_id = $1 AND id = $2";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Changes the company's details; a name another company of the tenant
/// has is [`DbError::Conflict`].
pub async fn update_profile(
    db: &Db,
    tenant: TenantId,
    id: ClientId,
    update: &ProfileUpdate<'_>,
) -> Result<(), DbError> {
    let name = checked_name(update.name).map_err(|e| DbError::Invalid(e.to_string()))?;
    let sql = "UPDATE clients SET name = $3, address = $4, phone = $5, website = $6, industry = $7, updated_at = $8 \
               WHERE tenant_id = $1 AND id = $2";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(name)
        .bind(update.address)
        .bind(update.phone)
        .bind(update.website)
        .bind(update.industry)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(DbError::conflict_as("client name"))?;
    if changed == 0 {
        return Err(DbError::NotFound("client"));
    }
    Ok(())
}

/// The company's defaults for new tickets and new users. The board and
/// priority must be the tenant's (the caller checks against the catalog).
pub async fn update_settings(
    db: &Db,
    tenant: TenantId,
    id: ClientId,
    default_board: Option<BoardId>,
    default_priority: Option<PriorityId>,
    notifications_on: &[NotificationKind],
) -> Result<(), DbError> {
    let kinds: Vec<&str> = notifications_on.iter().map(|k| k.as_str()).collect();
    let sql =
        "UPDATE clients SET default_board_id = $3, default_priority_id = $4, default_notifications = $5, \
               updated_at = $6 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(default_board)
        .bind(default_priority)
        .bind(kinds.join(","))
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The company's default language (`None`: its users get the tenant's).
pub async fn set_default_locale(
    db: &Db,
    tenant: TenantId,
    id: ClientId,
    locale: Option<crate::locale::Locale>,
) -> Result<(), DbError> {
    let sql = "UPDATE clients SET default_locale = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(locale.map_or("", |l| l.tag()))
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A company in the staff's list.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClientSummary {
    pub id: ClientId,
    pub name: String,
    pub industry: String,
    pub users: i64,
    pub open_tickets: i64,
}

/// The tenant's companies with their user and open-ticket counts.
pub async fn summaries(db: &Db, tenant: TenantId) -> Result<Vec<ClientSummary>, DbError> {
    let sql = "SELECT c.id, c.name, c.industry, \
               (SELECT COUNT(*) FROM users u WHERE u.tenant_id = c.tenant_id AND u.client_id = c.id AND u.disabled = FALSE) AS users, \
               (SELECT COUNT(*) FROM tickets t JOIN ticket_statuses s ON s.tenant_id = t.tenant_id AND s.id = t.status_id \
                WHERE t.tenant_id = c.tenant_id AND t.client_id = c.id AND s.is_closed = FALSE) AS open_tickets \
               FROM clients c WHERE c.tenant_id = $1 ORDER BY c.name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}
