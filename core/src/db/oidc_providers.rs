//! The OpenID providers of a tenant. The client secret is stored sealed
//! under the master key (by the caller), never in the clear.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{ClientId, OidcProviderId, TenantId};
use crate::master_key::Sealed;
use crate::oidc::OidcPreset;
use crate::on_pool;
use crate::user_type::UserType;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OidcProvider {
    pub id: OidcProviderId,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub preset: OidcPreset,
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret_encrypted: Vec<u8>,
    pub client_secret_nonce: Vec<u8>,
    /// Who signs in with it: client users or staff.
    pub user_type: UserType,
    /// Accept an address the provider does not say it verified.
    pub trust_unverified_email: bool,
    /// Create an account for a verified address nobody has yet.
    pub create_users: bool,
    /// The company such new client users join.
    pub default_client_id: Option<ClientId>,
    pub enabled: bool,
    pub created_at: i64,
}

impl OidcProvider {
    pub fn sealed_secret(&self) -> Sealed {
        Sealed {
            ciphertext: self.client_secret_encrypted.clone(),
            nonce: self.client_secret_nonce.clone(),
        }
    }

    /// The associated data its secret is sealed with.
    pub fn secret_aad(tenant: TenantId, id: OidcProviderId) -> Vec<u8> {
        format!("oidc-client-secret:{tenant}:{id}").into_bytes()
    }
}

/// A provider to add.
#[derive(Debug, Clone)]
pub struct NewProvider<'a> {
    pub id: OidcProviderId,
    pub tenant: TenantId,
    pub display_name: &'a str,
    pub preset: OidcPreset,
    pub issuer_url: &'a str,
    pub client_id: &'a str,
    pub secret: &'a Sealed,
    pub user_type: UserType,
    pub trust_unverified_email: bool,
    pub create_users: bool,
    pub default_client: Option<ClientId>,
}

const COLUMNS: &str = "id, tenant_id, display_name, preset, issuer_url, client_id, client_secret_encrypted, \
                       client_secret_nonce, user_type, trust_unverified_email, create_users, default_client_id, \
                       enabled, created_at";

pub async fn create(db: &Db, new: &NewProvider<'_>) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO oidc_providers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, TRUE, $13)"
    );
    on_pool!(db, |pool| sqlx::query(&sql)
        .bind(new.id)
        .bind(new.tenant)
        .bind(new.display_name)
        .bind(new.preset)
        .bind(new.issuer_url)
        .bind(new.client_id)
        .bind(&new.secret.ciphertext)
        .bind(&new.secret.nonce)
        .bind(new.user_type)
        .bind(new.trust_unverified_email)
        .bind(new.create_users)
        .bind(new.default_client)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The tenant's providers, by name.
pub async fn list(db: &Db, tenant: TenantId) -> Result<Vec<OidcProvider>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM oidc_providers WHERE tenant_id = $1 ORDER BY lower(display_name)");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}

/// The enabled providers for `user_type` (the sign-in page's buttons).
pub async fn enabled_for(
    db: &Db,
    tenant: TenantId,
    user_type: UserType,
) -> Result<Vec<OidcProvider>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oidc_providers WHERE tenant_id = $1 AND user_type = $2 AND enabled = TRUE \
         ORDER BY lower(display_name)"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(user_type)
        .fetch_all(pool)
        .await)?)
}

pub async fn get(db: &Db, tenant: TenantId, id: OidcProviderId) -> Result<Option<OidcProvider>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_providers WHERE tenant_id = $1 AND id = $2");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Turns a provider on or off; `false` when the tenant has no such provider.
pub async fn set_enabled(
    db: &Db,
    tenant: TenantId,
    id: OidcProviderId,
    enabled: bool,
) -> Result<bool, DbError> {
    let changed = on_pool!(db, |pool| sqlx::query(
        "UPDATE oidc_providers SET enabled = $3 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(id)
    .bind(enabled)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

pub async fn delete(db: &Db, tenant: TenantId, id: OidcProviderId) -> Result<bool, DbError> {
    let changed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM oidc_providers WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}
