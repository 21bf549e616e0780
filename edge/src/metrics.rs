//! Prometheus metrics of the edge, served as text on their own listener.

use std::sync::OnceLock;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use prometheus::{Encoder, IntCounterVec, Opts, Registry, TextEncoder};

/// Every metric the edge records.
pub struct EdgeMetrics {
    pub registry: Registry,
    /// `host_kind`: canonical | custom | unknown | none; `status`: the code.
    pub requests: IntCounterVec,
    /// `result`: sni_known | sni_unknown | no_sni | malformed | timeout | lookup_error.
    pub client_hellos: IntCounterVec,
    /// `result`: hit | miss_loaded | miss_unknown | error.
    pub cert_cache: IntCounterVec,
    /// `outcome`: success | ott_required | host_missing | domain_not_found |
    /// domain_inactive | dns_mismatch | invalid_or_expired | rate_limited | error.
    pub ott_exchanges: IntCounterVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("metric definitions are valid");
    registry
        .register(Box::new(counter.clone()))
        .expect("each metric is registered once");
    counter
}

impl EdgeMetrics {
    fn new() -> Self {
        let registry = Registry::new();
        Self {
            requests: counter(
                &registry,
                "porta_edge_requests_total",
                "HTTP requests answered by the edge, by host kind and status",
                &["host_kind", "status"],
            ),
            client_hellos: counter(
                &registry,
                "porta_edge_tls_client_hellos_total",
                "TLS ClientHellos seen before the handshake, by outcome (unknown SNI fails the handshake)",
                &["result"],
            ),
            cert_cache: counter(
                &registry,
                "porta_edge_cert_cache_total",
                "Certificate cache lookups by result",
                &["result"],
            ),
            ott_exchanges: counter(
                &registry,
                "porta_edge_ott_exchanges_total",
                "One-time-token exchanges by outcome",
                &["outcome"],
            ),
            registry,
        }
    }

    /// The process-wide metrics (one edge per process).
    pub fn global() -> &'static EdgeMetrics {
        static METRICS: OnceLock<EdgeMetrics> = OnceLock::new();
        METRICS.get_or_init(EdgeMetrics::new)
    }

    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// `GET /metrics` on the metrics listener.
pub struct MetricsApp;

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, _session: &mut ServerSession) -> Response<Vec<u8>> {
        let body = EdgeMetrics::global().render();
        Response::builder()
            .status(200)
            .header("content-type", "text/plain; version=0.0.4")
            .header("content-length", body.len())
            .body(body)
            .unwrap_or_default()
    }
}
