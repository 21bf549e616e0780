//! Invitations to join a client company, created by its Admin or by staff
//! with the roles the newcomer will have. Each carries a mailed setup link:
//! a [`LinkToken`] of which only the hash is stored, expiring, single use
//! (accepted by one atomic statement, in the transaction that creates the
//! account). Resending replaces the token; revoking kills it.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::email::EmailAddress;
use crate::ids::{ClientId, InvitationId, RoleId, TenantId, UserId};
use crate::token::LinkToken;
use crate::{on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invitation {
    pub id: InvitationId,
    pub client_id: ClientId,
    pub email: EmailAddress,
    pub display_name: String,
    /// Comma-separated role ids.
    pub role_ids: String,
    pub invited_by_name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
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

    /// Open, but its link has expired (it can be resent).
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        self.is_open() && self.expires_at.is_some_and(|e| e <= now.0)
    }
}

/// What a new invitation says.
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub tenant: TenantId,
    pub client: ClientId,
    pub email: &'a EmailAddress,
    pub display_name: &'a str,
    pub roles: &'a [RoleId],
    pub invited_by: UserId,
    pub ttl_seconds: i64,
}

const SELECT: &str = "SELECT i.id, i.client_id, i.email, i.display_name, i.role_ids, \
                      u.display_name AS invited_by_name, i.created_at, i.expires_at, i.accepted_at, i.revoked_at \
                      FROM invitations i JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.invited_by";

/// Invites `email` to the company, inside `tx` (with the mail carrying the
/// link); an open invitation for the same address is [`DbError::Conflict`].
pub async fn create(
    tx: &mut DbTx,
    new: &NewInvitation<'_>,
    now: UnixMillis,
) -> Result<(InvitationId, LinkToken), DbError> {
    let open: i64 = on_tx!(&mut *tx, |t| sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND client_id = $2 AND lower(email) = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL"
    )
    .bind(new.tenant)
    .bind(new.client)
    .bind(new.email)
    .fetch_one(&mut **t)
    .await)?;
    if open > 0 {
        return Err(DbError::Conflict("open invitation for this address"));
    }
    let id = InvitationId::generate();
    let token = LinkToken::generate();
    let role_ids: Vec<String> = new.roles.iter().map(ToString::to_string).collect();
    let sql =
        "INSERT INTO invitations (id, tenant_id, client_id, email, display_name, role_ids, invited_by, \
               created_at, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    on_tx!(&mut *tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(new.tenant)
        .bind(new.client)
        .bind(new.email)
        .bind(new.display_name)
        .bind(role_ids.join(","))
        .bind(new.invited_by)
        .bind(now.0)
        .bind(token.hash().to_vec())
        .bind(now.plus_seconds(new.ttl_seconds).0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    Ok((id, token))
}

/// A new link for an open invitation of the company (the old one stops
/// working), inside `tx`; `None` when there is no such open invitation.
pub async fn renew(
    tx: &mut DbTx,
    tenant: TenantId,
    client: ClientId,
    id: InvitationId,
    ttl_seconds: i64,
    now: UnixMillis,
) -> Result<Option<(Invitation, LinkToken)>, DbError> {
    let token = LinkToken::generate();
    let sql = "UPDATE invitations SET token_hash = $4, expires_at = $5 \
               WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL";
    let changed = on_tx!(&mut *tx, |t| sqlx::query(sql)
        .bind(tenant)
        .bind(client)
        .bind(id)
        .bind(token.hash().to_vec())
        .bind(now.plus_seconds(ttl_seconds).0)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    if changed != 1 {
        return Ok(None);
    }
    let sql = format!("{SELECT} WHERE i.tenant_id = $1 AND i.id = $2");
    let invitation: Invitation = on_tx!(&mut *tx, |t| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut **t)
        .await)?;
    Ok(Some((invitation, token)))
}

/// The company's invitations, newest first.
pub async fn of_client(db: &Db, tenant: TenantId, client: ClientId) -> Result<Vec<Invitation>, DbError> {
    let sql = format!("{SELECT} WHERE i.tenant_id = $1 AND i.client_id = $2 ORDER BY i.created_at DESC");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(client)
        .fetch_all(pool)
        .await)?)
}

/// The tenant's open invitations with a live link `token`.
pub async fn find_live(
    db: &Db,
    tenant: TenantId,
    token: &LinkToken,
    now: UnixMillis,
) -> Result<Option<Invitation>, DbError> {
    let sql = format!(
        "{SELECT} WHERE i.tenant_id = $1 AND i.token_hash = $2 AND i.accepted_at IS NULL \
         AND i.revoked_at IS NULL AND i.expires_at > $3"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(token.hash().to_vec())
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// Uses the link up for `user` (created in the same `tx`); of concurrent
/// callers exactly one gets the invitation's id.
pub async fn accept(
    tx: &mut DbTx,
    tenant: TenantId,
    token: &LinkToken,
    user: UserId,
    now: UnixMillis,
) -> Result<Option<InvitationId>, DbError> {
    let sql = "UPDATE invitations SET accepted_at = $3, accepted_user_id = $4 \
               WHERE tenant_id = $1 AND token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL \
               AND expires_at > $3 RETURNING id";
    Ok(on_tx!(&mut *tx, |t| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(token.hash().to_vec())
        .bind(now.0)
        .bind(user)
        .fetch_optional(&mut **t)
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
    let sql = "UPDATE invitations SET revoked_at = $4, token_hash = NULL \
               WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL";
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
