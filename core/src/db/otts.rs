//! Stored one-time tokens: issue (reusing a live one), consume (once,
//! atomically, with the browser's binding and a live issuing session),
//! invalidate with their session, prune.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{PortalDomainId, SessionId, TenantId, UserId};
use crate::next_path::NextPath;
use crate::on_pool;
use crate::ott::{BindingHash, OttHash, OttPurpose, OttToken, SessionSnapshot};
use crate::session_token::DerivedKey;
use crate::user_type::UserType;

/// How many live tokens one session may have at once; issuing another
/// retires the oldest.
pub const MAX_LIVE_PER_SESSION: i64 = 5;

/// What issuing a token records.
#[derive(Debug, Clone)]
pub struct NewOtt<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub domain: PortalDomainId,
    /// The canonical-host session that asks for the handoff.
    pub session: SessionId,
    /// The hash of the browser's handoff nonce.
    pub binding: &'a BindingHash,
    pub snapshot: &'a SessionSnapshot,
    pub next: &'a NextPath,
    pub expires_at: UnixMillis,
}

/// A token that has just been consumed by this caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedOtt {
    pub tenant: TenantId,
    pub user: UserId,
    /// The user's type now (the snapshot holds it as it was at issue).
    pub user_type: UserType,
    pub domain: PortalDomainId,
    pub snapshot: SessionSnapshot,
    pub next_path: String,
}

#[derive(FromRow)]
struct ConsumedRow {
    tenant_id: TenantId,
    user_id: UserId,
    user_type: UserType,
    portal_domain_id: PortalDomainId,
    session_snapshot: String,
    next_path: String,
}

/// Issues the token for `new` (only its hash is stored). The token is
/// derived from the session, domain, binding and `next` under `key`, so
/// asking again while it is live returns the same token and adds no row;
/// when that token was used or has expired, a fresh random one is issued.
/// At most [`MAX_LIVE_PER_SESSION`] stay live per session.
pub async fn issue(
    db: &Db,
    key: &DerivedKey,
    new: &NewOtt<'_>,
    now: UnixMillis,
) -> Result<OttToken, DbError> {
    Ok(issue_fresh(db, key, new, now).await?.0)
}

/// [`issue`], also saying whether a new row was written (`false`: the
/// live token of the same purpose was returned).
pub async fn issue_fresh(
    db: &Db,
    key: &DerivedKey,
    new: &NewOtt<'_>,
    now: UnixMillis,
) -> Result<(OttToken, bool), DbError> {
    let derived = OttToken::derive(
        key,
        &OttPurpose {
            session: new.session,
            domain: new.domain,
            binding: new.binding,
            next: new.next.as_str(),
        },
    );
    let token = match insert(db, &derived, new, now).await? {
        Inserted::New => derived,
        Inserted::AlreadyLive => return Ok((derived, false)),
        Inserted::Dead => {
            let fresh = OttToken::generate();
            insert(db, &fresh, new, now).await?;
            fresh
        }
    };
    retire_beyond_cap(db, new.tenant, new.session, now).await?;
    Ok((token, true))
}

enum Inserted {
    New,
    AlreadyLive,
    Dead,
}

async fn insert(db: &Db, token: &OttToken, new: &NewOtt<'_>, now: UnixMillis) -> Result<Inserted, DbError> {
    let snapshot = serde_json::to_string(new.snapshot)
        .map_err(|e| DbError::Invalid(format!("session snapshot: {e}")))?;
    let sql = "INSERT INTO portal_domain_otts (token_hash, tenant_id, user_id, portal_domain_id, \
               session_snapshot, next_path, created_at, expires_at, consumed_at, binding_hash, issuing_session_id) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10) \
               ON CONFLICT (token_hash) DO NOTHING";
    let hash = token.hash().0.to_vec();
    let inserted = on_pool!(db, |pool| sqlx::query(sql)
        .bind(&hash)
        .bind(new.tenant)
        .bind(new.user)
        .bind(new.domain)
        .bind(&snapshot)
        .bind(new.next.as_str())
        .bind(now.0)
        .bind(new.expires_at.0)
        .bind(new.binding.0.to_vec())
        .bind(new.session)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(Inserted::New);
    }
    let sql = "SELECT COUNT(*) FROM portal_domain_otts \
               WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > $2";
    let live: i64 = on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(&hash)
        .bind(now.0)
        .fetch_one(pool)
        .await)?;
    Ok(if live > 0 {
        Inserted::AlreadyLive
    } else {
        Inserted::Dead
    })
}

/// Retires (marks used) the session's live tokens beyond the newest
/// [`MAX_LIVE_PER_SESSION`].
async fn retire_beyond_cap(
    db: &Db,
    tenant: TenantId,
    session: SessionId,
    now: UnixMillis,
) -> Result<u64, DbError> {
    let sql = "UPDATE portal_domain_otts SET consumed_at = $3 \
               WHERE tenant_id = $1 AND issuing_session_id = $2 AND consumed_at IS NULL \
               AND token_hash NOT IN (SELECT token_hash FROM portal_domain_otts \
                   WHERE tenant_id = $1 AND issuing_session_id = $2 AND consumed_at IS NULL AND expires_at > $3 \
                   ORDER BY created_at DESC LIMIT $4)";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(session)
        .bind(now.0)
        .bind(MAX_LIVE_PER_SESSION)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// How many of the session's tokens are live (for tests and metrics).
pub async fn live_for_session(
    db: &Db,
    tenant: TenantId,
    session: SessionId,
    now: UnixMillis,
) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM portal_domain_otts \
               WHERE tenant_id = $1 AND issuing_session_id = $2 AND consumed_at IS NULL AND expires_at > $3";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(session)
        .bind(now.0)
        .fetch_one(pool)
        .await)?)
}

/// What makes the token with `$1` spendable at `$2` on domain `$4` of
/// tenant `$3` by the browser with binding `$5`: unconsumed, unexpired, and
/// its issuing session and user still live. The condition of an `UPDATE
/// portal_domain_otts`, shared by [`consume`] and the exchange
/// ([`super::ott_exchange`]).
///
/// The issuing session and the token's user (the session's, as issued)
/// are two lookups by their keys, each from the token's own row. Joined to
/// each other (sessions JOIN users), or with the session's user_id
/// compared, PostgreSQL's generic plan without fresh statistics walked
/// every session of the user (`sessions_tenant_user`): 25 000 rows an
/// exchange in the benchmark.
pub(super) const CONSUMABLE: &str = "token_hash = $1 AND consumed_at IS NULL AND expires_at > $2 \
    AND tenant_id = $3 AND portal_domain_id = $4 AND binding_hash = $5 \
    AND EXISTS (SELECT 1 FROM sessions s \
        WHERE s.tenant_id = portal_domain_otts.tenant_id AND s.id = portal_domain_otts.issuing_session_id \
        AND s.revoked_at IS NULL AND s.expires_at > $2) \
    AND EXISTS (SELECT 1 FROM users u \
        WHERE u.tenant_id = portal_domain_otts.tenant_id AND u.id = portal_domain_otts.user_id \
        AND u.disabled = FALSE)";

/// Consumes the token with `hash` if it is unconsumed, unexpired, was
/// issued for `domain` of `tenant` and for the browser with `binding`, and
/// the session that issued it is still live (not revoked, not expired, its
/// user not disabled). One statement: of any number of concurrent callers,
/// on any node, exactly one gets `Some`, and a caller whose binding does
/// not match changes nothing. (The exchange spends tokens through
/// [`super::ott_exchange::exchange`], which creates the session in the same
/// write.)
pub async fn consume(
    db: &Db,
    hash: &OttHash,
    binding: &BindingHash,
    tenant: TenantId,
    domain: PortalDomainId,
    now: UnixMillis,
) -> Result<Option<ConsumedOtt>, DbError> {
    // Returns the user's type now (the user's row is read twice, in the
    // condition and here, both by its unique key: SQLite's RETURNING cannot
    // name an `UPDATE ... FROM` table).
    let sql = format!(
        "UPDATE portal_domain_otts SET consumed_at = $2 WHERE {CONSUMABLE} \
         RETURNING tenant_id, user_id, portal_domain_id, session_snapshot, next_path, \
         (SELECT u.user_type FROM users u WHERE u.tenant_id = portal_domain_otts.tenant_id \
             AND u.id = portal_domain_otts.user_id) AS user_type"
    );
    let row: Option<ConsumedRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(hash.0.to_vec())
        .bind(now.0)
        .bind(tenant)
        .bind(domain)
        .bind(binding.0.to_vec())
        .fetch_optional(pool)
        .await)?;
    let Some(row) = row else { return Ok(None) };
    let snapshot = serde_json::from_str(&row.session_snapshot)
        .map_err(|e| DbError::Invalid(format!("stored session snapshot: {e}")))?;
    Ok(Some(ConsumedOtt {
        tenant: row.tenant_id,
        user: row.user_id,
        user_type: row.user_type,
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
