//! Work each portal node does besides answering requests: sending the
//! outbox ([`crate::mail::worker`]), hearing of other nodes' changes to
//! what it caches ([`porta_core::change_feed`]) and deleting what has served its
//! purpose (used or expired one-time tokens and reset links, throttle
//! windows that ended, mail sent a week ago). Every node runs both; the
//! outbox is claimed row by row and deleting twice is harmless.

use std::sync::Arc;
use std::time::Duration;

use porta_core::change_feed::{ChangeFeed, ChangeSink};

use porta_core::clock::UnixMillis;
use porta_core::db::{otts, outbox, password_resets, throttle, Db, DbError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::mail::{worker, Transport};
use crate::state::AppState;

/// How often the pruning runs.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long used tokens and ended windows are kept (for the audit trail
/// they are not needed: the audit log has its own rows).
const KEEP_TOKENS_MILLIS: i64 = 24 * 3600 * 1000;
const KEEP_SENT_MAIL_MILLIS: i64 = 7 * 24 * 3600 * 1000;

/// Deletes what has expired; returns the rows removed per kind.
pub async fn prune_once(db: &Db, now: UnixMillis) -> Result<[(&'static str, u64); 4], DbError> {
    let tokens_before = UnixMillis(now.0 - KEEP_TOKENS_MILLIS);
    Ok([
        ("otts", otts::prune(db, None, tokens_before, false).await?),
        (
            "password_resets",
            password_resets::prune(db, tokens_before).await?,
        ),
        ("throttle_counters", throttle::prune(db, tokens_before).await?),
        (
            "sent_mail",
            outbox::prune_sent(db, UnixMillis(now.0 - KEEP_SENT_MAIL_MILLIS)).await?,
        ),
    ])
}

async fn prune_loop(db: Db, mut stop: watch::Receiver<bool>) {
    loop {
        match prune_once(&db, UnixMillis::now()).await {
            Ok(counts) => {
                for (kind, rows) in counts.into_iter().filter(|(_, rows)| *rows > 0) {
                    tracing::debug!(kind, rows, "pruned");
                }
            }
            Err(e) => tracing::warn!(error = %e, "pruning failed; will try again"),
        }
        tokio::select! {
            () = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Forgets cached hosts, tenants, branding and ticket catalogues as nodes
/// change them.
fn change_feed(state: &AppState, mut stop: watch::Receiver<bool>) -> impl std::future::Future<Output = ()> {
    let sinks: Vec<Arc<dyn ChangeSink>> = vec![
        Arc::new(state.hosts.clone()),
        Arc::new(state.branding.clone()),
        Arc::new(state.catalog.clone()),
    ];
    let feed = ChangeFeed::new(state.db.clone(), sinks);
    async move {
        feed.run(async move {
            let _ = stop.changed().await;
        })
        .await;
    }
}

/// The background tasks of one node; they end when `stop` changes.
pub fn spawn(state: &AppState, transport: Transport, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mail = &state.config.mail;
    vec![
        tokio::spawn(worker::run(
            state.db.clone(),
            transport,
            mail.from.clone(),
            mail.poll_interval,
            state.mail_wake.clone(),
            stop.clone(),
        )),
        tokio::spawn(prune_loop(state.db.clone(), stop.clone())),
        tokio::spawn(change_feed(state, stop)),
    ]
}
