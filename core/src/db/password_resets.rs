//! Password reset tokens: one live per user (asking again replaces it),
//! expiring, consumed once by one atomic statement.

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{TenantId, UserId};
use crate::token::LinkToken;
use crate::{on_pool, on_tx};

/// Issues a token for `user`, inside `tx` (with the mail that carries it).
/// The user's earlier unused tokens stop working.
pub async fn issue(
    tx: &mut DbTx,
    tenant: TenantId,
    user: UserId,
    ttl_seconds: i64,
    now: UnixMillis,
) -> Result<LinkToken, DbError> {
    on_tx!(&mut *tx, |t| {
        sqlx::query(
        "UPDATE password_resets SET consumed_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND consumed_at IS NULL"
    )
    .bind(tenant)
    .bind(user)
    .bind(now.0)
    .execute(&mut **t)
    .await
    .map(|_| ())
    })?;
    let token = LinkToken::generate();
    on_tx!(&mut *tx, |t| sqlx::query(
        "INSERT INTO password_resets (token_hash, tenant_id, user_id, created_at, expires_at, consumed_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)"
    )
    .bind(token.hash().to_vec())
    .bind(tenant)
    .bind(user)
    .bind(now.0)
    .bind(now.plus_seconds(ttl_seconds).0)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    Ok(token)
}

/// The user a live token of `tenant` belongs to, without using it up.
pub async fn peek(
    db: &Db,
    tenant: TenantId,
    token: &LinkToken,
    now: UnixMillis,
) -> Result<Option<UserId>, DbError> {
    let sql = "SELECT user_id FROM password_resets \
               WHERE token_hash = $1 AND tenant_id = $2 AND consumed_at IS NULL AND expires_at > $3";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(token.hash().to_vec())
        .bind(tenant)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// Uses the token up; of any number of concurrent callers exactly one
/// gets the user.
pub async fn consume(
    db: &Db,
    tenant: TenantId,
    token: &LinkToken,
    now: UnixMillis,
) -> Result<Option<UserId>, DbError> {
    let sql = "UPDATE password_resets SET consumed_at = $3 \
               WHERE token_hash = $1 AND tenant_id = $2 AND consumed_at IS NULL AND expires_at > $3 \
               RETURNING user_id";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(token.hash().to_vec())
        .bind(tenant)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// Deletes tokens used or expired before `before`; returns how many.
pub async fn prune(db: &Db, before: UnixMillis) -> Result<u64, DbError> {
    let sql = "DELETE FROM password_resets WHERE expires_at < $1 OR consumed_at < $1";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(before.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
