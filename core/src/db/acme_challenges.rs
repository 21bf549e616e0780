//! Pending ACME challenges, kept in the database so that any edge node can
//! answer the CA, whichever node placed the order: HTTP-01 by token on port
//! 80 ([`http01`]), TLS-ALPN-01 by server name on port 443 ([`tls_alpn01`]).

use super::{Db, DbError};
use crate::challenge_kind::ChallengeKind;
use crate::clock::UnixMillis;
use crate::host::HostName;
use crate::on_pool;

/// Stores (or replaces) a challenge's key authorization, answerable until
/// `expires_at`.
pub async fn put(
    db: &Db,
    token: &str,
    domain: &HostName,
    kind: ChallengeKind,
    key_authorization: &str,
    now: UnixMillis,
    expires_at: UnixMillis,
) -> Result<(), DbError> {
    let sql = "INSERT INTO acme_challenges (token, domain, challenge_type, key_authorization, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (token) DO UPDATE SET domain = $2, challenge_type = $3, key_authorization = $4, \
               created_at = $5, expires_at = $6";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(token)
        .bind(domain)
        .bind(kind)
        .bind(key_authorization)
        .bind(now.0)
        .bind(expires_at.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The key authorization of an unexpired HTTP-01 challenge for `domain`.
pub async fn http01(
    db: &Db,
    token: &str,
    domain: &HostName,
    now: UnixMillis,
) -> Result<Option<String>, DbError> {
    let sql = "SELECT key_authorization FROM acme_challenges \
               WHERE token = $1 AND domain = $2 AND challenge_type = $3 AND expires_at > $4";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(token)
        .bind(domain)
        .bind(ChallengeKind::Http01)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// The key authorization of the unexpired TLS-ALPN-01 challenge for
/// `domain` (the newest, if an order left several): what the edge answers
/// an `acme-tls/1` handshake for that server name with.
pub async fn tls_alpn01(db: &Db, domain: &HostName, now: UnixMillis) -> Result<Option<String>, DbError> {
    let sql = "SELECT key_authorization FROM acme_challenges \
               WHERE domain = $1 AND challenge_type = $2 AND expires_at > $3 \
               ORDER BY created_at DESC LIMIT 1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(domain)
        .bind(ChallengeKind::TlsAlpn01)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// Removes a challenge once the order is done.
pub async fn remove(db: &Db, token: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM acme_challenges WHERE token = $1";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(token)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}
