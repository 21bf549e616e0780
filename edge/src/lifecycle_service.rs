//! The custom-domain lifecycle worker as a Pingora background service: a
//! tick every `domains.check_interval_seconds` until shutdown, its orders
//! counted, new certificates evicted from this node's cache at once, and the
//! gauges of domains by status and certificate expiry refreshed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use porta_certs::lifecycle::DomainWorker;
use porta_certs::resolver::CertResolver;
use porta_certs::expiry;
use porta_core::clock::UnixMillis;
use porta_core::db::{portal_domains, Db};
use porta_core::domain_status::DomainStatus;

use crate::metrics::EdgeMetrics;

pub struct LifecycleService {
    pub worker: Arc<DomainWorker>,
    pub resolver: Arc<CertResolver>,
    pub db: Db,
    pub interval: Duration,
}

impl LifecycleService {
    async fn tick(&self) {
        let metrics = EdgeMetrics::global();
        match self.worker.tick(UnixMillis::now()).await {
            Ok(report) => {
                for outcome in report.orders {
                    metrics
                        .certificate_orders
                        .with_label_values(&[outcome.as_str()])
                        .inc();
                }
                for domain in report.new_certificates {
                    self.resolver.invalidate(&domain);
                }
            }
            Err(e) => tracing::warn!(error = %e, "custom-domain lifecycle tick failed"),
        }
        if let Err(e) = self.refresh_gauges().await {
            tracing::warn!(error = %e, "refreshing certificate gauges failed");
        }
    }

    /// The gauges from two aggregate statements: counts by status, and the
    /// expiry of each registered domain's and wildcard's current
    /// certificate. (Listing every domain and every stored certificate
    /// each tick cost a 100 000-row read every 5 s per node.)
    async fn refresh_gauges(&self) -> Result<(), porta_core::db::DbError> {
        let metrics = EdgeMetrics::global();
        let counts = portal_domains::count_by_status(&self.db).await?;
        for status in DomainStatus::ALL {
            let count = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            metrics.domains.with_label_values(&[status.as_str()]).set(count);
        }
        let now = UnixMillis::now();
        // One series per custom domain and per wildcard (the canonical
        // hosts'), not per stored certificate.
        metrics.certificate_expiry_days.reset();
        for (domain, not_after) in expiry::watched(&self.db).await? {
            let days = (not_after.0 - now.0) as f64 / 86_400_000.0;
            metrics
                .certificate_expiry_days
                .with_label_values(&[&domain])
                .set(days);
        }
        Ok(())
    }
}

#[async_trait]
impl BackgroundService for LifecycleService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = ticker.tick() => self.tick().await,
            }
        }
    }
}

/// Without the pre-TLS hook (`edge.client_hello_hook = false`): loads the
/// names whose handshake found no cached certificate, for their next
/// connection.
pub struct MissLoader {
    pub resolver: Arc<CertResolver>,
    pub misses: parking_lot::Mutex<Option<tokio::sync::mpsc::Receiver<String>>>,
}

#[async_trait]
impl BackgroundService for MissLoader {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Some(mut misses) = self.misses.lock().take() else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                name = misses.recv() => match name {
                    Some(name) => {
                        self.resolver.ensure_loaded(&name).await;
                    }
                    None => return,
                },
            }
        }
    }
}
