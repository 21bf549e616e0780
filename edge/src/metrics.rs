//! Prometheus metrics of the edge, served as text on their own listener.

use std::sync::OnceLock;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, GaugeVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Every metric the edge records.
pub struct EdgeMetrics {
    pub registry: Registry,
    /// `host_kind`: canonical | custom | unknown | none; `status`: the code.
    pub requests: IntCounterVec,
    /// `result`: sni_known | sni_unknown | sni_refused (over the client's
    /// misses) | no_sni | malformed | timeout | lookup_error.
    pub client_hellos: IntCounterVec,
    /// TLS handshakes that completed (each `sni_known` ClientHello that
    /// does not end here failed in the handshake itself: protocol or cipher
    /// mismatch, client abort).
    pub handshakes_completed: IntCounter,
    /// `result`: hit | miss_loaded | miss_unknown | miss_refused | error.
    pub cert_cache: IntCounterVec,
    // `porta_edge_cert_db_lookups_total` ([`CertDbLookups`]) is read from
    // the resolver when the metrics are gathered.
    /// `outcome`: success | rate_limited | json_required | host_missing |
    /// origin_mismatch | ott_required | domain_not_found | domain_inactive |
    /// dns_mismatch | invalid_or_expired | error.
    pub ott_exchanges: IntCounterVec,
    /// `outcome`: issued | rate_limited | unreachable | challenge_failed |
    /// rejected | budget_exhausted | error.
    pub certificate_orders: IntCounterVec,
    /// Custom domains by `status`.
    pub domains: IntGaugeVec,
    /// Days until each current certificate expires, by `domain`.
    pub certificate_expiry_days: GaugeVec,
    /// Changes the change feed delivered, by `kind`: certificate | domain |
    /// tenant.
    pub change_feed_changes: IntCounterVec,
    /// Every cache of the edge dropped, by `reason`: start | reconnect |
    /// unreadable.
    pub change_feed_flushes: IntCounterVec,
    /// Times the PostgreSQL listener was connected again after losing its
    /// connection.
    pub change_feed_reconnects: IntCounter,
    _db_lookups: CertDbLookups,
}

/// `porta_edge_cert_db_lookups_total`: certificate lookups that reached the
/// database (one per name missing from the certificate cache, shared by
/// concurrent handshakes for it), as the resolver counts them
/// ([`porta_certs::resolver::db_lookups_total`]). What a flood of unknown
/// server names costs the database.
#[derive(Clone)]
struct CertDbLookups {
    desc: Desc,
}

impl CertDbLookups {
    const NAME: &'static str = "porta_edge_cert_db_lookups_total";
    const HELP: &'static str = "Certificate lookups that queried the database (cache misses)";

    fn new() -> Self {
        let desc = Desc::new(
            Self::NAME.to_owned(),
            Self::HELP.to_owned(),
            Vec::new(),
            Default::default(),
        )
        .expect("metric definitions are valid");
        CertDbLookups { desc }
    }
}

impl Collector for CertDbLookups {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let counter = IntCounter::new(Self::NAME, Self::HELP).expect("metric definitions are valid");
        counter.inc_by(porta_certs::resolver::db_lookups_total());
        counter.collect()
    }
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        registry,
        IntCounterVec::new(Opts::new(name, help), labels).expect("metric definitions are valid"),
    )
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
            handshakes_completed: register(
                &registry,
                IntCounter::new(
                    "porta_edge_tls_handshakes_completed_total",
                    "TLS handshakes that completed",
                )
                .expect("metric definitions are valid"),
            ),
            cert_cache: counter(
                &registry,
                "porta_edge_cert_cache_total",
                "Certificate cache lookups by result",
                &["result"],
            ),
            _db_lookups: register(&registry, CertDbLookups::new()),
            ott_exchanges: counter(
                &registry,
                "porta_edge_ott_exchanges_total",
                "One-time-token exchanges by outcome",
                &["outcome"],
            ),
            certificate_orders: counter(
                &registry,
                "porta_certificate_orders_total",
                "Certificate orders (ACME or local CA) by outcome",
                &["outcome"],
            ),
            domains: register(
                &registry,
                IntGaugeVec::new(
                    Opts::new("porta_domains", "Custom domains by status"),
                    &["status"],
                )
                .expect("metric definitions are valid"),
            ),
            certificate_expiry_days: register(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "porta_certificate_expiry_days",
                        "Days until the current certificate of a domain expires",
                    ),
                    &["domain"],
                )
                .expect("metric definitions are valid"),
            ),
            change_feed_changes: counter(
                &registry,
                "porta_change_feed_changes_total",
                "Changes made by any node that the change feed delivered to this edge, by kind",
                &["kind"],
            ),
            change_feed_flushes: counter(
                &registry,
                "porta_change_feed_flushes_total",
                "Times every cache of this edge was dropped, by reason",
                &["reason"],
            ),
            change_feed_reconnects: register(
                &registry,
                IntCounter::new(
                    "porta_change_feed_reconnects_total",
                    "Times the change feed's PostgreSQL listener connected again after losing its connection",
                )
                .expect("metric definitions are valid"),
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
