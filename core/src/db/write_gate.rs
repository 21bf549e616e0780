//! One SQLite write transaction at a time per database file in this
//! process, queued in order.
//!
//! SQLite has one write lock per file. A `BEGIN IMMEDIATE` that finds it
//! taken does not queue: SQLite's busy handler sleeps (1, 2, 5, 10 … ms) and
//! tries again, so under concurrent writes the lock sits free while the
//! waiters sleep, and a transaction that takes a fraction of a millisecond
//! costs the next writer a millisecond or more. Write transactions of this
//! process wait on an async mutex per file instead and begin the moment the
//! previous one has ended. Other processes on the same file (the CLI, a
//! second node) still meet SQLite's busy timeout.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use sqlx::SqlitePool;
use tokio::sync::OwnedMutexGuard;

/// Held from before `BEGIN IMMEDIATE` until the transaction has ended.
pub(super) type WriteTurn = OwnedMutexGuard<()>;

type Gates = HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>;

static GATES: LazyLock<Mutex<Gates>> = LazyLock::new(Mutex::default);

/// Waits for this process's turn to write to `pool`'s file, at most the
/// pool's acquire timeout (then `PoolTimedOut`, answered like a pool that
/// has no connection to give).
pub(super) async fn turn(pool: &SqlitePool) -> Result<WriteTurn, sqlx::Error> {
    let file = pool.connect_options().get_filename().to_owned();
    let gate = GATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(file)
        .or_default()
        .clone();
    tokio::time::timeout(pool.options().get_acquire_timeout(), gate.lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)
}
