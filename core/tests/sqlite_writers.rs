//! Write transactions on the embedded database queue in this process (one
//! turn per file) instead of sleeping in SQLite's busy handler: they all
//! commit under concurrency, a transaction dropped without a commit gives
//! the turn on, and a turn that does not come within the pool's acquire
//! timeout is the same "database away" error as an exhausted pool.

use std::time::Duration;

use porta_core::db::{Db, DbError, DbTx, PoolSettings};
use porta_core::on_tx;

async fn open(dir: &tempfile::TempDir, acquire_timeout: Duration) -> Db {
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let settings = PoolSettings {
        acquire_timeout,
        ..PoolSettings::with_max_connections(8)
    };
    let db = Db::connect_with(&url, settings).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    insert(&mut tx, "CREATE TABLE IF NOT EXISTS marks (n INTEGER NOT NULL)").await;
    tx.commit().await.unwrap();
    db
}

async fn insert(tx: &mut DbTx, sql: &str) {
    on_tx!(tx, |t| sqlx::query(sql).execute(&mut **t).await.map(|_| ())).unwrap();
}

async fn marks(db: &Db) -> i64 {
    let Db::Sqlite(pool) = db else { unreachable!() };
    sqlx::query_scalar("SELECT COUNT(*) FROM marks")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_write_transactions_all_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, Duration::from_secs(30)).await;
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                insert(&mut tx, "INSERT INTO marks (n) VALUES (1)").await;
                tokio::task::yield_now().await;
                insert(&mut tx, "INSERT INTO marks (n) VALUES (2)").await;
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(marks(&db).await, 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_gives_the_turn_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, Duration::from_secs(30)).await;
    let mut first = db.begin().await.unwrap();
    insert(&mut first, "INSERT INTO marks (n) VALUES (1)").await;
    let second = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            insert(&mut tx, "INSERT INTO marks (n) VALUES (2)").await;
            tx.commit().await.unwrap();
        }
    });
    tokio::task::yield_now().await;
    assert!(!second.is_finished(), "the second writer waits for its turn");
    drop(first);
    second.await.unwrap();
    assert_eq!(
        marks(&db).await,
        1,
        "the first transaction was rolled back, the second committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_does_not_come_is_the_database_away() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, Duration::from_millis(300)).await;
    let held = db.begin().await.unwrap();
    let waited = db.begin().await;
    let Err(e) = waited else {
        panic!("a second write transaction began while the first held the turn")
    };
    assert!(matches!(e, DbError::Sqlx(sqlx::Error::PoolTimedOut)), "{e}");
    assert!(e.is_unavailable(), "answered 503 like an exhausted pool");
    held.commit().await.unwrap();
    let mut next = db.begin().await.unwrap();
    insert(&mut next, "INSERT INTO marks (n) VALUES (3)").await;
    next.commit().await.unwrap();
    assert_eq!(marks(&db).await, 1);
}
