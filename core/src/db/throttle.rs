//! Counters for limits that hold across nodes (sign-in attempts per IP,
//! failures per account and per account and IP, ...).
//!
//! Each key counts hits per fixed window of `window` length; [`estimate`]
//! reads it as a sliding window: the current window's hits plus the share
//! of the previous window's that still falls inside the last `window`
//! (the approach of Cloudflare's and nginx's rate limiters), so a burst at
//! a window boundary cannot double the limit. One upsert per hit, one
//! indexed read per check.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::on_pool;

/// What a counter counts, e.g. `signin.ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(pub &'static str);

fn window_start(now: UnixMillis, window_millis: i64) -> i64 {
    now.0.div_euclid(window_millis) * window_millis
}

/// Records one hit of `key`; returns the sliding estimate including it.
pub async fn hit(
    db: &Db,
    scope: Scope,
    key: &str,
    window_seconds: i64,
    now: UnixMillis,
) -> Result<i64, DbError> {
    let window = window_seconds.max(1) * 1000;
    let sql = "INSERT INTO throttle_counters (scope, key, window_start, hits) VALUES ($1, $2, $3, 1) \
               ON CONFLICT (scope, key, window_start) DO UPDATE SET hits = throttle_counters.hits + 1";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(scope.0)
        .bind(key)
        .bind(window_start(now, window))
        .execute(pool)
        .await
        .map(|_| ()))?;
    estimate(db, scope, key, window_seconds, now).await
}

#[derive(FromRow)]
struct Row {
    window_start: i64,
    hits: i64,
}

/// The sliding-window count of `key` at `now`.
pub async fn estimate(
    db: &Db,
    scope: Scope,
    key: &str,
    window_seconds: i64,
    now: UnixMillis,
) -> Result<i64, DbError> {
    let window = window_seconds.max(1) * 1000;
    let current = window_start(now, window);
    let sql = "SELECT window_start, hits FROM throttle_counters \
               WHERE scope = $1 AND key = $2 AND window_start >= $3";
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(scope.0)
        .bind(key)
        .bind(current - window)
        .fetch_all(pool)
        .await)?;
    let (mut now_hits, mut before) = (0i64, 0i64);
    for row in rows {
        if row.window_start == current {
            now_hits += row.hits;
        } else {
            before += row.hits;
        }
    }
    // The previous window's hits, weighted by how much of it is still
    // within the last `window`.
    let elapsed = now.0 - current;
    let weighted = before * (window - elapsed) / window;
    Ok(now_hits + weighted)
}

/// Forgets `key` (after a successful sign-in, say).
pub async fn clear(db: &Db, scope: Scope, key: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM throttle_counters WHERE scope = $1 AND key = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(scope.0)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Deletes counters whose windows ended before `before`; returns how many.
pub async fn prune(db: &Db, before: UnixMillis) -> Result<u64, DbError> {
    let sql = "DELETE FROM throttle_counters WHERE window_start < $1";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(before.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned() {
        assert_eq!(window_start(UnixMillis(125_000), 60_000), 120_000);
        assert_eq!(window_start(UnixMillis(120_000), 60_000), 120_000);
        assert_eq!(window_start(UnixMillis(-1), 60_000), -60_000);
    }
}
