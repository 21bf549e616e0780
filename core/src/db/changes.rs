//! The `changes` table: one row per change that other nodes may have
//! cached ([`Change`]), written in the transaction of the change itself, so
//! a change is announced exactly when it commits. On PostgreSQL the same
//! transaction sends `NOTIFY porta_changes` (delivered at commit, never for
//! a rollback); SQLite nodes poll the rows by id. See
//! [`crate::change_feed`] for who listens.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::change_feed::{Change, InvalidChange};
use crate::clock::UnixMillis;
use crate::ids::TenantId;
use crate::{on_pool, on_tx};

/// The PostgreSQL channel changes are announced on.
pub const CHANNEL: &str = "porta_changes";

/// Records `change` in `tx` (and on PostgreSQL announces it at commit).
pub async fn record(tx: &mut DbTx, change: &Change, now: UnixMillis) -> Result<(), DbError> {
    let tenant = change.tenant().map(|t| t.to_string());
    let insert = "INSERT INTO changes (kind, tenant_id, subject, created_at) VALUES ($1, $2, $3, $4)";
    on_tx!(&mut *tx, |t| sqlx::query(insert)
        .bind(change.kind())
        .bind(&tenant)
        .bind(change.subject())
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    if let DbTx::Postgres(t) = tx {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(change.payload())
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Records a [`Change::Tenant`] for `tenant` in `tx`, its slug read in the
/// same statement (a tenant that does not exist records nothing).
pub async fn record_tenant(tx: &mut DbTx, tenant: TenantId, now: UnixMillis) -> Result<(), DbError> {
    match tx {
        DbTx::Sqlite(t) => {
            sqlx::query(
                "INSERT INTO changes (kind, tenant_id, subject, created_at) \
                 SELECT 'tenant', id, slug, $2 FROM tenants WHERE id = $1",
            )
            .bind(tenant)
            .bind(now.0)
            .execute(&mut **t)
            .await?;
        }
        DbTx::Postgres(t) => {
            sqlx::query(
                "WITH c AS (INSERT INTO changes (kind, tenant_id, subject, created_at) \
                 SELECT 'tenant', id, slug, $2 FROM tenants WHERE id = $1 RETURNING tenant_id, subject) \
                 SELECT pg_notify($3, 'tenant ' || tenant_id || ' ' || subject) FROM c",
            )
            .bind(tenant)
            .bind(now.0)
            .bind(CHANNEL)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

#[derive(FromRow)]
struct Row {
    id: i64,
    kind: String,
    tenant_id: Option<String>,
    subject: String,
}

/// A recorded change: its id and what it says (or why it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    pub change: Result<Change, InvalidChange>,
}

/// The highest id recorded so far (0 for none).
pub async fn latest_id(db: &Db) -> Result<i64, DbError> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM changes";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await)?)
}

/// Up to `limit` changes with ids above `after`, oldest first. (On SQLite,
/// whose writers take turns, ids appear in commit order.)
pub async fn since(db: &Db, after: i64, limit: i64) -> Result<Vec<Recorded>, DbError> {
    let sql = "SELECT id, kind, tenant_id, subject FROM changes WHERE id > $1 ORDER BY id LIMIT $2";
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    Ok(recorded(rows))
}

/// The highest id recorded before `at` (0 for none).
pub async fn last_id_before(db: &Db, at: UnixMillis) -> Result<i64, DbError> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM changes WHERE created_at < $1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(at.0)
        .fetch_one(pool)
        .await)?)
}

/// Up to `limit` changes recorded at or after `from`, by id.
pub async fn recorded_since(db: &Db, from: UnixMillis, limit: i64) -> Result<Vec<Recorded>, DbError> {
    let sql = "SELECT id, kind, tenant_id, subject FROM changes WHERE created_at >= $1 ORDER BY id LIMIT $2";
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(from.0)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    Ok(recorded(rows))
}

fn recorded(rows: Vec<Row>) -> Vec<Recorded> {
    rows.into_iter()
        .map(|r| Recorded {
            id: r.id,
            change: Change::from_parts(&r.kind, r.tenant_id.as_deref(), &r.subject),
        })
        .collect()
}

/// Deletes changes recorded before `before`; returns how many.
pub async fn prune(db: &Db, before: UnixMillis) -> Result<u64, DbError> {
    let sql = "DELETE FROM changes WHERE created_at < $1";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(before.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
