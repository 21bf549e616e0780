//! What the certificate-expiry gauge watches: for each registered custom
//! domain and each wildcard, when its newest current certificate expires.
//! Read in one statement that visits only those names' index entries, so a
//! store of 100 000 imported certificates costs the gauge nothing more than
//! the names operators registered.

use porta_core::clock::UnixMillis;
use porta_core::db::{Db, DbError};

/// Registered domains first, then wildcards: the wildcard range differs per
/// backend only in how it reaches the `certificates (domain, not_after)`
/// index (SQLite compares bytes; PostgreSQL's `LIKE` with a prefix does).
const SQLITE: &str = "SELECT c.domain, MAX(c.not_after) FROM certificates c \
    WHERE c.replaced_at IS NULL AND (c.domain IN (SELECT domain FROM portal_domains) \
    OR (c.domain >= '*.' AND c.domain < '*/')) GROUP BY c.domain";
const POSTGRES: &str = "SELECT c.domain, MAX(c.not_after) FROM certificates c \
    WHERE c.replaced_at IS NULL AND (c.domain IN (SELECT domain FROM portal_domains) \
    OR c.domain LIKE '*.%') GROUP BY c.domain";

/// Each watched name and the expiry of its newest current certificate.
pub async fn watched(db: &Db) -> Result<Vec<(String, UnixMillis)>, DbError> {
    let rows: Vec<(String, i64)> = match db {
        Db::Sqlite(pool) => sqlx::query_as(SQLITE).fetch_all(pool).await?,
        Db::Postgres(pool) => sqlx::query_as(POSTGRES).fetch_all(pool).await?,
    };
    Ok(rows.into_iter().map(|(d, at)| (d, UnixMillis(at))).collect())
}
