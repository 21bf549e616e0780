//! The change feed as a Pingora background service: the certificate cache
//! and the host cache forget what other nodes changed
//! ([`porta_core::change_feed`]), and the metrics count what it delivered.

use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use porta_core::change_feed::{Change, ChangeFeed, ChangeSink, FlushReason, SinkFuture};
use porta_core::db::Db;

use crate::metrics::EdgeMetrics;

pub struct ChangeService {
    feed: ChangeFeed,
}

impl ChangeService {
    /// The feed for `sinks` (the caches to keep current), counted in the
    /// metrics; build it with the caches, before the edge serves.
    pub fn new(db: Db, mut sinks: Vec<Arc<dyn ChangeSink>>) -> ChangeService {
        sinks.push(Arc::new(Counted));
        ChangeService {
            feed: ChangeFeed::new(db, sinks),
        }
    }
}

/// Counts the feed's deliveries in [`EdgeMetrics`].
struct Counted;

impl ChangeSink for Counted {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        EdgeMetrics::global()
            .change_feed_changes
            .with_label_values(&[change.kind()])
            .inc();
        Box::pin(std::future::ready(()))
    }

    fn flush_all(&self, reason: FlushReason) {
        let metrics = EdgeMetrics::global();
        metrics
            .change_feed_flushes
            .with_label_values(&[reason.as_str()])
            .inc();
        if reason == FlushReason::Reconnect {
            metrics.change_feed_reconnects.inc();
        }
    }
}

#[async_trait]
impl BackgroundService for ChangeService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        self.feed
            .run(async move {
                let _ = shutdown.changed().await;
            })
            .await;
    }
}
