//! How every node hears of changes other nodes made to what it caches
//! (certificates, custom domains, tenants), within about a second.
//!
//! Each change is written as a row of `changes` in the transaction of the
//! change ([`crate::db::changes`]). A [`ChangeFeed`] runs in every process
//! that caches (the edge, the portal) and hands each change to its
//! [`ChangeSink`]s, which forget exactly the entries the change names:
//! - on PostgreSQL it `LISTEN`s on `porta_changes`, which the writing
//!   transaction `NOTIFY`s at commit ([`postgres`]). Notifications sent
//!   while the listener's connection is down are lost, so after every
//!   reconnection the sinks drop everything ([`FlushReason::Reconnect`]);
//!   a lost connection is retried at once, then with a backoff up to 5 s;
//! - on SQLite (one machine, possibly several processes) it polls for rows
//!   above the last id it saw every [`SQLITE_POLL_INTERVAL`] ([`sqlite`]):
//!   one indexed query that usually returns nothing.
//!
//! The caches fill from the moment the process serves, possibly before the
//! feed listens: so once it does, the feed first hands over every change
//! recorded since it was created (less [`START_MARGIN`], for the clocks of
//! other nodes and transactions still open), instead of dropping what the
//! caches hold.
//!
//! The caches keep their TTLs as the bound for anything the feed cannot
//! deliver (a node partitioned from the database keeps serving what it has).
//! The feed also deletes rows older than [`RETENTION`].

mod change;
mod postgres;
mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use change::{Change, InvalidChange};

use crate::clock::UnixMillis;
use crate::db::{changes, Db};

/// How often a SQLite node looks for new changes.
pub const SQLITE_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long change rows are kept.
pub const RETENTION: Duration = Duration::from_secs(3600);
/// How far before its creation the feed replays changes once it listens.
pub const START_MARGIN: Duration = Duration::from_secs(5);
/// The most changes replayed at start; with more, the sinks are flushed.
const START_REPLAY_LIMIT: i64 = 10_000;
/// How often old rows are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Why a sink was told to drop everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushReason {
    /// The feed could not replay the changes since it was created (too
    /// many, or unreadable): anything cached may be stale.
    Start,
    /// The PostgreSQL listener is connected again after losing its
    /// connection: notifications in between were lost.
    Reconnect,
    /// A change could not be read (a row or payload this version does not
    /// understand).
    Unreadable,
}

impl FlushReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FlushReason::Start => "start",
            FlushReason::Reconnect => "reconnect",
            FlushReason::Unreadable => "unreadable",
        }
    }
}

/// What [`ChangeSink::apply`] returns.
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A cache (or a counter) that hears of changes.
pub trait ChangeSink: Send + Sync {
    /// Forgets what `change` names.
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a>;
    /// Forgets everything.
    fn flush_all(&self, reason: FlushReason);
}

/// Hands changes to sinks; see the module documentation.
pub struct ChangeFeed {
    db: Db,
    sinks: Vec<Arc<dyn ChangeSink>>,
    /// From when changes are replayed once the feed listens.
    replay_from: UnixMillis,
}

impl ChangeFeed {
    /// A feed for `sinks`; create it before the caches it serves are used.
    pub fn new(db: Db, sinks: Vec<Arc<dyn ChangeSink>>) -> ChangeFeed {
        let margin = i64::try_from(START_MARGIN.as_secs()).unwrap_or(0);
        ChangeFeed {
            db,
            sinks,
            replay_from: UnixMillis::now().plus_seconds(-margin),
        }
    }

    /// Hands over what was recorded since [`ChangeFeed::new`] (listening
    /// already, so nothing falls between); flushes when it cannot.
    async fn replay_since_start(&self) {
        match changes::recorded_since(&self.db, self.replay_from, START_REPLAY_LIMIT).await {
            Ok(rows) if (rows.len() as i64) < START_REPLAY_LIMIT => {
                for row in rows {
                    self.dispatch_read(row.change).await;
                }
            }
            Ok(_) => self.flush(FlushReason::Start),
            Err(e) => {
                tracing::warn!(error = %e, "change feed cannot replay recent changes; forgetting every cached entry");
                self.flush(FlushReason::Start);
            }
        }
    }

    /// Listens (or polls) until `shutdown` resolves.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let listen = async {
            match &self.db {
                Db::Postgres(pool) => postgres::run(self, pool).await,
                Db::Sqlite(_) => sqlite::run(self, &self.db).await,
            }
        };
        tokio::select! {
            () = shutdown => {}
            () = listen => {}
            () = self.prune_forever() => {}
        }
    }

    async fn dispatch(&self, change: &Change) {
        tracing::debug!(%change, "change heard");
        for sink in &self.sinks {
            sink.apply(change).await;
        }
    }

    /// A change as it arrived: applied, or everything flushed when it cannot
    /// be read.
    async fn dispatch_read(&self, change: Result<Change, InvalidChange>) {
        match change {
            Ok(change) => self.dispatch(&change).await,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable change; forgetting every cached entry");
                self.flush(FlushReason::Unreadable);
            }
        }
    }

    fn flush(&self, reason: FlushReason) {
        tracing::debug!(reason = reason.as_str(), "change feed flushes every cache");
        for sink in &self.sinks {
            sink.flush_all(reason);
        }
    }

    async fn prune_forever(&self) {
        loop {
            tokio::time::sleep(PRUNE_EVERY).await;
            let before = UnixMillis::now().plus_seconds(-(RETENTION.as_secs() as i64));
            match changes::prune(&self.db, before).await {
                Ok(rows) if rows > 0 => tracing::debug!(rows, "old changes pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning changes failed; will try again"),
            }
        }
    }
}
