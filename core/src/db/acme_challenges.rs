//! Pending ACME challenges, kept in the database so that any edge node can
//! answer the CA, whichever node placed the order.

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::host::HostName;
use crate::on_pool;

/// `http-01` or `tls-alpn-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeType {
    Http01,
    TlsAlpn01,
}

impl ChallengeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeType::Http01 => "http-01",
            ChallengeType::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

/// Stores (or replaces) a challenge's key authorization.
pub async fn put(
    db: &Db,
    token: &str,
    domain: &HostName,
    kind: ChallengeType,
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
        .bind(kind.as_str())
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
               WHERE token = $1 AND domain = $2 AND challenge_type = 'http-01' AND expires_at > $3";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(token)
        .bind(domain)
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
