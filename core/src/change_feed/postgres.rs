//! The feed on PostgreSQL: `LISTEN porta_changes` on a connection of its
//! own, and a flush of every sink after each (re)connection.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::{Change, ChangeFeed, FlushReason};
use crate::db::changes::CHANNEL;

/// The first wait after a failed connection attempt, doubled up to
/// [`MAX_BACKOFF`]. A connection that was lost is retried at once.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

pub(super) async fn run(feed: &ChangeFeed, pool: &PgPool) {
    let mut backoff = FIRST_BACKOFF;
    let mut connected_before = false;
    loop {
        let mut listener = match listen(pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "change feed cannot listen");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = FIRST_BACKOFF;
        // Listening now: what was cached meanwhile may have missed a change.
        if connected_before {
            tracing::info!("change feed listening again");
            feed.flush(FlushReason::Reconnect);
        } else {
            feed.replay_since_start().await;
        }
        connected_before = true;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    feed.dispatch_read(Change::parse_payload(notification.payload()))
                        .await;
                }
                Ok(None) => {
                    tracing::warn!("change feed lost its connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change feed lost its connection; reconnecting");
                    break;
                }
            }
        }
    }
}
