//! Invitations to join a client company: created by its Admin (or staff)
//! with the roles the newcomer will have. The mailed, single-use setup
//! link is added by the account-security work; until then an invitation
//! is a record the Admin sees and can revoke.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::email::EmailAddress;
use crate::ids::{ClientId, InvitationId, RoleId, TenantId, UserId};
use crate::on_pool;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invitation {
    pub id: InvitationId,
    pub email: EmailAddress,
    pub display_name: String,
    /// Comma-separated role ids.
    pub role_ids: String,
    pub invited_by_name: String,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Invitation {
    pub fn roles(&self) -> Vec<RoleId> {
        self.role_ids.split(',').filter_map(|r| r.parse().ok()).collect()
    }

    pub fn is_open(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }
}

/// Invites `email` to the company; an open invitation for the same address
/// is [`DbError::Conflict`].
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    email: &EmailAddress,
    display_name: &str,
    roles: &[RoleId],
    invited_by: UserId,
    now: UnixMillis,
) -> Result<InvitationId, DbError> {
    let open: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND client_id = $2 AND lower(email) = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL"
    )
    .bind(tenant)
    .bind(client)
    .bind(email)
    .fetch_one(pool)
    .await)?;
    if open > 0 {
        return Err(DbError::Conflict("open invitation for this address"));
    }
    let id = InvitationId::generate();
    let role_ids: Vec<String> = roles.iter().map(ToString::to_string).collect();
    let sql = "INSERT INTO invitations (id, tenant_id, client_id, email, display_name, role_ids, invited_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(client)
        .bind(email)
        .bind(display_name)
        .bind(role_ids.join(","))
        .bind(invited_by)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// The company's invitations, newest first.
pub async fn of_client(db: &Db, tenant: TenantId, client: ClientId) -> Result<Vec<Invitation>, DbError> {
    let sql =
        "SELECT i.id, i.email, i.display_name, i.role_ids, u.display_name AS invited_by_name, i.created_at, \
               i.accepted_at, i.revoked_at FROM invitations i \
               JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.invited_by \
               WHERE i.tenant_id = $1 AND i.client_id = $2 ORDER BY i.created_at DESC";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(client)
        .fetch_all(pool)
        .await)?)
}

/// Revokes an open invitation of the company; `false` if there is none.
pub async fn revoke(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    id: InvitationId,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let sql = "UPDATE invitations SET revoked_at = $4 WHERE tenant_id = $1 AND client_id = $2 AND id = $3 \
               AND accepted_at IS NULL AND revoked_at IS NULL";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(client)
        .bind(id)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}
