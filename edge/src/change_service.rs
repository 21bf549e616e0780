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
    pub db: Db,
    /// The caches to keep current.
    pub sinks: Vec<Arc<dyn ChangeSink>>,
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
        let mut sinks = self.sinks.clone();
        sinks.push(Arc::new(Counted));
        ChangeFeed::new(self.db.clone(), sinks)
            .run(async move {
                let _ = shutdown.changed().await;
            })
            .await;
    }
}
