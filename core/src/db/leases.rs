//! At most one node works on a domain's certificate at a time: a lease row
//! per domain (table `acme_order_leases`, whatever issues the certificate),
//! taken with one atomic upsert.
//!
//! A lease is free when there is no row or its `expires_at` has passed, so
//! the lease of a node that died lapses after its TTL. The holder takes it
//! again to extend it while it works, and releases it when done.

use std::time::Duration;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::host::HostName;
use crate::on_pool;

/// Takes (or, for its current holder, extends) the lease on `domain` until
/// `now + ttl`. Returns whether `holder` holds it now: `false` while another
/// holder's lease is unexpired. One statement, so of two nodes racing for a
/// free lease exactly one wins.
pub async fn try_lease(
    db: &Db,
    domain: &HostName,
    holder: &str,
    ttl: Duration,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.0.saturating_add(ttl);
    let sql = "INSERT INTO acme_order_leases (domain, holder, expires_at) VALUES ($1, $2, $3) \
               ON CONFLICT (domain) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
               WHERE acme_order_leases.expires_at <= $4 OR acme_order_leases.holder = excluded.holder";
    let taken = on_pool!(db, |pool| sqlx::query(sql)
        .bind(domain)
        .bind(holder)
        .bind(expires_at)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(taken == 1)
}

/// Gives up `holder`'s lease on `domain`. Returns whether it held one (a
/// lease that lapsed and was taken over is not touched).
pub async fn release(db: &Db, domain: &HostName, holder: &str) -> Result<bool, DbError> {
    let sql = "DELETE FROM acme_order_leases WHERE domain = $1 AND holder = $2";
    let released = on_pool!(db, |pool| sqlx::query(sql)
        .bind(domain)
        .bind(holder)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(released == 1)
}
