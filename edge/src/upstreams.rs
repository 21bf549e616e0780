//! The portal upstreams and their health: Pingora's [`LoadBalancer`] with
//! round robin and an [`HttpHealthCheck`] probing each upstream's
//! `GET /healthz` every `edge.health_check_interval_ms`. An upstream whose
//! probe fails `edge.health_check_failures` times in a row gets no requests
//! until one probe succeeds again; when no upstream is healthy every one
//! gets requests (the portal's `/healthz` fails while the database is down,
//! and a guess beats a certain 502).
//! With a single upstream nothing is probed: there is nothing to choose.
//!
//! The balancer is also the background service that runs the probes
//! ([`Upstreams::new`] returns both); `porta_edge_upstreams_healthy` and
//! `porta_edge_upstream_healthy{upstream}` follow each change.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::lb::health_check::{HealthObserve, HttpHealthCheck};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::services::background::{background_service, GenBackgroundService};
use porta_core::config::UpstreamPolicy;

use crate::metrics::EdgeMetrics;

/// The upstreams of one edge, shared by the proxy's requests.
pub struct Upstreams {
    balancer: Arc<LoadBalancer<RoundRobin>>,
    all: Vec<SocketAddr>,
    /// Round robin over every upstream when none is healthy.
    next: AtomicUsize,
}

fn inet(backend: &Backend) -> Option<SocketAddr> {
    match &backend.addr {
        PingoraAddr::Inet(addr) => Some(*addr),
        _ => None,
    }
}

/// Keeps the health gauges current and logs each change.
struct HealthGauges;

#[async_trait]
impl HealthObserve for HealthGauges {
    async fn observe(&self, target: &Backend, healthy: bool) {
        let metrics = EdgeMetrics::global();
        let name = target.addr.to_string();
        metrics
            .upstream_healthy
            .with_label_values(&[&name])
            .set(i64::from(healthy));
        if healthy {
            metrics.upstreams_healthy.inc();
            tracing::info!(upstream = %name, "upstream answers its health check again: back in rotation");
        } else {
            metrics.upstreams_healthy.dec();
            tracing::error!(upstream = %name, "upstream fails its health check: taken out of rotation");
        }
    }
}

impl Upstreams {
    /// The upstreams `addrs` (at least one), and the service that probes
    /// them (add it to the server).
    pub fn new(
        addrs: &[SocketAddr],
        policy: &UpstreamPolicy,
    ) -> std::io::Result<(Upstreams, GenBackgroundService<LoadBalancer<RoundRobin>>)> {
        let mut balancer = LoadBalancer::<RoundRobin>::try_from_iter(addrs.iter().copied())?;
        // With one upstream there is nothing to choose: no probes (they
        // would only say that the database is down, as the portal does).
        if addrs.len() > 1 {
            Self::probe(&mut balancer, policy);
        }
        let metrics = EdgeMetrics::global();
        metrics.upstreams_healthy.set(addrs.len() as i64);
        for addr in addrs {
            metrics
                .upstream_healthy
                .with_label_values(&[&addr.to_string()])
                .set(1);
        }
        let service = background_service("porta-upstream-health", balancer);
        let upstreams = Upstreams {
            balancer: service.task(),
            all: addrs.to_vec(),
            next: AtomicUsize::new(0),
        };
        Ok((upstreams, service))
    }

    /// Probes `GET /healthz` of each upstream of `balancer` as `policy` says.
    fn probe(balancer: &mut LoadBalancer<RoundRobin>, policy: &UpstreamPolicy) {
        let mut check = HttpHealthCheck::new("porta-edge-health-check", false);
        check
            .req
            .set_uri(http::Uri::from_static(porta_core::paths::HEALTHZ));
        check.consecutive_failure = policy.health_check_failures as usize;
        check.consecutive_success = 1;
        check.peer_template.options.connection_timeout = Some(policy.connect_timeout);
        // A probe must not outlast the next one.
        let probe_timeout = policy
            .health_check_interval
            .clamp(Duration::from_millis(100), Duration::from_secs(5));
        check.peer_template.options.read_timeout = Some(probe_timeout);
        check.peer_template.options.total_connection_timeout = Some(policy.connect_timeout + probe_timeout);
        check.health_changed_callback = Some(Box::new(HealthGauges));
        balancer.set_health_check(Box::new(check));
        balancer.health_check_frequency = Some(policy.health_check_interval);
        // One slow upstream must not delay the others' probes.
        balancer.parallel_health_check = true;
    }

    /// The upstream for a request's next attempt, none of `tried`: the next
    /// healthy one in turn; else (none healthy, or every healthy one tried)
    /// the next one at all not tried yet; else any.
    pub fn pick(&self, tried: &[SocketAddr]) -> SocketAddr {
        let n = self.all.len();
        let healthy = self.balancer.select_with(b"", n, |backend, healthy| {
            healthy && inet(backend).is_some_and(|addr| !tried.contains(&addr))
        });
        if let Some(addr) = healthy.as_ref().and_then(inet) {
            return addr;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| self.all[(start + k) % n])
            .find(|addr| !tried.contains(addr))
            .unwrap_or(self.all[start % n])
    }

    /// How many upstreams there are.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}
