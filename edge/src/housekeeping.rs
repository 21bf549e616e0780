//! Housekeeping as a Pingora background service: once a minute, one-time
//! tokens consumed or expired more than ten minutes ago, and sign-in
//! counters whose windows no limit reads any more, are deleted. Any number
//! of edge nodes may run it; each delete is idempotent. (`porta domain
//! sessions prune` stays for operators.)

use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use porta_core::clock::UnixMillis;
use porta_core::db::{otts, throttle, Db, DbError};

/// How often the sweep runs.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// How long spent tokens are kept for the audit trail.
pub const TOKEN_RETENTION: Duration = Duration::from_secs(600);

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub tokens: u64,
    pub counters: u64,
}

fn before(now: UnixMillis, age: Duration) -> UnixMillis {
    now.plus_seconds(-i64::try_from(age.as_secs()).unwrap_or(i64::MAX))
}

/// One sweep at `now`. Counters are kept for twice `longest_window` (the
/// longest window a limit counts in, the sign-in failure window): a limit
/// reads the current window and the one before.
pub async fn sweep(db: &Db, longest_window: Duration, now: UnixMillis) -> Result<Swept, DbError> {
    let tokens = otts::prune(db, None, before(now, TOKEN_RETENTION), false).await?;
    let counters = throttle::prune(db, before(now, longest_window.saturating_mul(2))).await?;
    Ok(Swept { tokens, counters })
}

pub struct Housekeeping {
    pub db: Db,
    pub longest_window: Duration,
}

#[async_trait]
impl BackgroundService for Housekeeping {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = ticker.tick() => {
                    match sweep(&self.db, self.longest_window, UnixMillis::now()).await {
                        Ok(swept) if swept != Swept::default() => {
                            tracing::debug!(tokens = swept.tokens, counters = swept.counters, "housekeeping");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                    }
                }
            }
        }
    }
}
