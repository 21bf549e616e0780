//! Users: MSP staff (`internal`) and client users (`client`). An email is
//! unique per tenant and user type, ignoring case; lookups always name the
//! tenant and the user type.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::email::EmailAddress;
use crate::ids::{ClientId, TenantId, UserId};
use crate::user_type::UserType;
use crate::{on_pool, on_tx};

/// What a new user needs. `client` must be set exactly for client users.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant: TenantId,
    pub user_type: UserType,
    pub email: EmailAddress,
    pub display_name: String,
    pub client: Option<ClientId>,
    pub password_hash: String,
}

/// What sign-in needs to know about a user.
#[derive(Debug, Clone, FromRow)]
pub struct Credentials {
    pub id: UserId,
    pub password_hash: String,
    pub disabled: bool,
}

/// A user as pages show them, with their client company's name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UserProfile {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub user_type: UserType,
    pub email: EmailAddress,
    pub display_name: String,
    pub client_id: Option<ClientId>,
    pub client_name: Option<String>,
    pub disabled: bool,
    pub last_signin_at: Option<i64>,
    pub phone: String,
    /// An IANA time zone name (`Europe/Paris`); `UTC` until chosen.
    pub time_zone: String,
    /// A language tag (`fr`), empty for "as the company or tenant says".
    pub locale: String,
}

fn checked_display_name(name: &str) -> Result<String, DbError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DbError::Invalid("name must be 1-200 characters".to_owned()));
    }
    Ok(name.to_owned())
}

/// Creates a user. A duplicate (tenant, user type, email) is
/// [`DbError::Conflict`]; a client user without a client, or an internal
/// user with one, is [`DbError::Invalid`].
pub async fn create(db: &Db, new: &NewUser) -> Result<UserId, DbError> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, new).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`create`] inside a transaction (with what else makes the account).
pub async fn create_in(tx: &mut DbTx, new: &NewUser) -> Result<UserId, DbError> {
    if (new.user_type == UserType::Client) != new.client.is_some() {
        return Err(DbError::Invalid(
            "client users belong to exactly one client company; internal users to none".to_owned(),
        ));
    }
    let display_name = checked_display_name(&new.display_name)?;
    let id = UserId::generate();
    let now = UnixMillis::now().0;
    let sql = "INSERT INTO users (id, tenant_id, user_type, email, display_name, client_id, \
               password_hash, disabled, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $8)";
    on_tx!(&mut *tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(new.tenant)
        .bind(new.user_type)
        .bind(&new.email)
        .bind(&display_name)
        .bind(new.client)
        .bind(&new.password_hash)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ()))
    .map_err(DbError::conflict_as("user with this email"))?;
    Ok(id)
}

/// The credentials of the tenant's user of `user_type` with `email`.
pub async fn find_credentials(
    db: &Db,
    tenant: TenantId,
    email: &EmailAddress,
    user_type: UserType,
) -> Result<Option<Credentials>, DbError> {
    let sql = "SELECT id, password_hash, disabled FROM users \
               WHERE tenant_id = $1 AND user_type = $2 AND lower(email) = $3";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user_type)
        .bind(email)
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's user `id`, with their client company's name.
const PROFILE: &str = "SELECT u.id, u.tenant_id, u.user_type, u.email, u.display_name, u.client_id, \
                       c.name AS client_name, u.disabled, u.last_signin_at, u.phone, u.time_zone, u.locale \
                       FROM users u LEFT JOIN clients c ON c.tenant_id = u.tenant_id AND c.id = u.client_id \
                       WHERE u.tenant_id = $1 AND u.id = $2";

pub async fn profile(db: &Db, tenant: TenantId, id: UserId) -> Result<Option<UserProfile>, DbError> {
    Ok(on_pool!(db, |pool| sqlx::query_as(PROFILE)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Notes a successful sign-in.
pub async fn record_signin(db: &Db, tenant: TenantId, id: UserId, at: UnixMillis) -> Result<(), DbError> {
    let sql = "UPDATE users SET last_signin_at = $3 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(at.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Makes `locale` the user's language when they have chosen none yet
/// (a choice made before signing in); a chosen one is kept.
pub async fn adopt_locale(
    db: &Db,
    tenant: TenantId,
    id: UserId,
    locale: crate::locale::Locale,
) -> Result<(), DbError> {
    let sql = "UPDATE users SET locale = $3 WHERE tenant_id = $1 AND id = $2 AND locale = ''";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(locale.tag())
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Disables or re-enables a user; a disabled user's sessions stop working.
pub async fn set_disabled(db: &Db, tenant: TenantId, id: UserId, disabled: bool) -> Result<(), DbError> {
    let sql = "UPDATE users SET disabled = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    let affected = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(disabled)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if affected == 0 {
        return Err(DbError::NotFound("user"));
    }
    Ok(())
}

/// Users of the tenant, by email.
pub async fn list(db: &Db, tenant: TenantId) -> Result<Vec<UserProfile>, DbError> {
    let sql = "SELECT u.id, u.tenant_id, u.user_type, u.email, u.display_name, u.client_id, \
               c.name AS client_name, u.disabled, u.last_signin_at, u.phone, u.time_zone, u.locale \
               FROM users u LEFT JOIN clients c ON c.tenant_id = u.tenant_id AND c.id = u.client_id \
               WHERE u.tenant_id = $1 ORDER BY u.email, u.user_type";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}

/// What users change about themselves on their profile page.
#[derive(Debug, Clone)]
pub struct OwnProfile<'a> {
    pub display_name: &'a str,
    pub phone: &'a str,
    pub time_zone: &'a str,
    pub locale: &'a str,
}

pub async fn update_own_profile(
    db: &Db,
    tenant: TenantId,
    id: UserId,
    update: &OwnProfile<'_>,
) -> Result<(), DbError> {
    let name = checked_display_name(update.display_name)?;
    let sql = "UPDATE users SET display_name = $3, phone = $4, time_zone = $5, locale = $6, updated_at = $7 \
               WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(&name)
        .bind(update.phone)
        .bind(update.time_zone)
        .bind(update.locale)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The stored password hash of the tenant's user `id`.
pub async fn password_hash(db: &Db, tenant: TenantId, id: UserId) -> Result<Option<String>, DbError> {
    let sql = "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

pub async fn set_password_hash(db: &Db, tenant: TenantId, id: UserId, hash: &str) -> Result<(), DbError> {
    let sql = "UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(hash)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A user of a client company, as its Admin manages them.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CompanyUser {
    pub id: UserId,
    pub email: EmailAddress,
    pub display_name: String,
    pub disabled: bool,
    pub last_signin_at: Option<i64>,
    /// Role names, comma-separated and sorted.
    pub roles: Option<String>,
    /// When they turned on two-factor authentication, if they did.
    pub two_factor_since: Option<i64>,
}

/// The users of one client company (never another company's or tenant's).
pub async fn of_client(db: &Db, tenant: TenantId, client: ClientId) -> Result<Vec<CompanyUser>, DbError> {
    let sql = "SELECT u.id, u.email, u.display_name, u.disabled, u.last_signin_at, u.totp_enabled_at AS two_factor_since, \
               (SELECT GROUP_CONCAT_ROLES FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id \
                WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id) AS roles \
               FROM users u WHERE u.tenant_id = $1 AND u.client_id = $2 AND u.user_type = 'client' \
               ORDER BY u.disabled, lower(u.display_name)";
    let sql = match db {
        Db::Sqlite(_) => sql.replace("GROUP_CONCAT_ROLES", "group_concat(r.name, ', ')"),
        Db::Postgres(_) => sql.replace("GROUP_CONCAT_ROLES", "string_agg(r.name, ', ' ORDER BY r.name)"),
    };
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(client)
        .fetch_all(pool)
        .await)?)
}

/// The tenant's active staff, by name (assignee choices).
pub async fn staff(db: &Db, tenant: TenantId) -> Result<Vec<UserProfile>, DbError> {
    let sql = "SELECT u.id, u.tenant_id, u.user_type, u.email, u.display_name, u.client_id, \
               NULL AS client_name, u.disabled, u.last_signin_at, u.phone, u.time_zone, u.locale \
               FROM users u WHERE u.tenant_id = $1 AND u.user_type = 'internal' AND u.disabled = FALSE \
               ORDER BY lower(u.display_name)";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}
