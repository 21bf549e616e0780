//! The feed on SQLite: a poll for change rows above the last id seen.
//! SQLite's writers take turns, so ids appear in commit order and a poll
//! never skips a row that commits later with a lower id.

use super::{ChangeFeed, SQLITE_POLL_INTERVAL};
use crate::db::{changes, Db};

/// Rows read per query; a full batch is followed by another at once.
const BATCH: i64 = 500;

pub(super) async fn run(feed: &ChangeFeed, db: &Db) {
    // Every change since the feed was created is polled like a new one.
    let mut last = loop {
        match changes::last_id_before(db, feed.replay_from).await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "change feed cannot read changes; will try again");
                tokio::time::sleep(SQLITE_POLL_INTERVAL).await;
            }
        }
    };
    let mut ticker = tokio::time::interval(SQLITE_POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        ticker.tick().await;
        loop {
            match changes::since(db, last, BATCH).await {
                Ok(rows) => {
                    if failing {
                        tracing::info!("change feed reads changes again");
                        failing = false;
                    }
                    let full = rows.len() as i64 == BATCH;
                    for row in rows {
                        last = row.id;
                        feed.dispatch_read(row.change).await;
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    // The rows stay: the next poll that works catches up.
                    if !failing {
                        tracing::warn!(error = %e, "change feed cannot read changes; will try again");
                    }
                    failing = true;
                    break;
                }
            }
        }
    }
}
