//! Stored one-time tokens: issue, consume (once, atomically), prune.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{PortalDomainId, TenantId, UserId};
use crate::next_path::NextPath;
use crate::on_pool;
use crate::ott::{OttHash, OttToken, SessionSnapshot};

/// What issuing a token records.
#[derive(Debug, Clone)]
pub struct NewOtt<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub domain: PortalDomainId,
    pub snapshot: &'a SessionSnapshot,
    pub next: &'a NextPath,
    pub expires_at: UnixMillis,
}

/// A token that has just been consumed by this caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedOtt {
    pub tenant: TenantId,
    pub user: UserId,
    pub domain: PortalDomainId,
    pub snapshot: SessionSnapshot,
    pub next_path: String,
}

#[derive(FromRow)]
struct ConsumedRow {
    tenant_id: TenantId,
    user_id: UserId,
    portal_domain_id: PortalDomainId,
    session_snapshot: String,
    next_path: String,
}

/// Issues a token; only its hash is stored.
pub async fn issue(db: &Db, new: &NewOtt<'_>, now: UnixMillis) -> Result<OttToken, DbError> {
    let token = OttToken::generate();
    let snapshot = serde_json::to_string(new.snapshot)
        .map_err(|e| DbError::Invalid(format!("session snapshot: {e}")))?;
    let sql = "INSERT INTO portal_domain_otts (token_hash, tenant_id, user_id, portal_domain_id, \
               session_snapshot, next_path, created_at, expires_at, consumed_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(token.hash().0.to_vec())
        .bind(new.tenant)
        .bind(new.user)
        .bind(new.domain)
        .bind(&snapshot)
        .bind(new.next.as_str())
        .bind(now.0)
        .bind(new.expires_at.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(token)
}

/// Consumes the token with `hash` if it is unconsumed, unexpired and was
/// issued for `domain` of `tenant`. One statement: of any number of
/// concurrent callers, on any node, exactly one gets `Some`.
pub async fn consume(
    db: &Db,
    hash: &OttHash,
    tenant: TenantId,
    domain: PortalDomainId,
    now: UnixMillis,
) -> Result<Option<ConsumedOtt>, DbError> {
    let sql = "UPDATE portal_domain_otts SET consumed_at = $2 \
               WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > $2 \
               AND tenant_id = $3 AND portal_domain_id = $4 \
               RETURNING tenant_id, user_id, portal_domain_id, session_snapshot, next_path";
    let row: Option<ConsumedRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(hash.0.to_vec())
        .bind(now.0)
        .bind(tenant)
        .bind(domain)
        .fetch_optional(pool)
        .await)?;
    let Some(row) = row else { return Ok(None) };
    let snapshot = serde_json::from_str(&row.session_snapshot)
        .map_err(|e| DbError::Invalid(format!("stored session snapshot: {e}")))?;
    Ok(Some(ConsumedOtt {
        tenant: row.tenant_id,
        user: row.user_id,
        domain: row.portal_domain_id,
        snapshot,
        next_path: row.next_path,
    }))
}

/// Tokens consumed or expired before `cutoff` (of one tenant, or all):
/// counted when `dry_run`, deleted otherwise. Returns how many.
pub async fn prune(
    db: &Db,
    tenant: Option<TenantId>,
    cutoff: UnixMillis,
    dry_run: bool,
) -> Result<u64, DbError> {
    let filter = "(consumed_at IS NOT NULL AND consumed_at < $1 OR consumed_at IS NULL AND expires_at < $1) \
                  AND ($2 IS NULL OR tenant_id = $2)";
    if dry_run {
        let sql = format!("SELECT COUNT(*) FROM portal_domain_otts WHERE {filter}");
        let count: i64 = on_pool!(db, |pool| sqlx::query_scalar(&sql)
            .bind(cutoff.0)
            .bind(tenant)
            .fetch_one(pool)
            .await)?;
        return Ok(u64::try_from(count).unwrap_or(0));
    }
    let sql = format!("DELETE FROM portal_domain_otts WHERE {filter}");
    Ok(on_pool!(db, |pool| sqlx::query(&sql)
        .bind(cutoff.0)
        .bind(tenant)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
