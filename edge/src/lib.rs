//! Porta's edge: the Pingora server in front of the portal core.
//!
//! It owns TLS termination for every tenant host (certificates chosen per
//! SNI from the database through a cache, see [`tls`]), the plain-HTTP
//! listener (ACME HTTP-01, redirect to HTTPS), host -> tenant routing
//! (`porta_core::host_cache`, passed to the portal as a signed request
//! context), the one-time-token handoff ([`exchange`], the page in
//! [`pages`]), proxying to the portal upstreams ([`proxy`]) and the metrics
//! listener ([`metrics`]).
//!
//! [`build`] prepares a server from configuration; [`EdgeServer::run`]
//! blocks, serving, until its shutdown signal fires. Pingora runs its own
//! runtimes, so callers run it on a thread of its own.

pub mod exchange;
pub mod lifecycle_service;
pub mod metrics;
pub mod pages;
pub mod proxy;
pub mod state;
pub mod tls;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::ALPN;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::listening::Service;
use porta_certs::dns::CnameVerifier;
use porta_certs::lifecycle::DomainWorker;
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::resolver::{CertResolver, ResolverSettings};
use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::host_cache::HostCache;
use porta_core::rate_limit::IpRateLimiter;
use porta_core::request_context::ContextSigner;
use porta_core::session_token::SessionKeys;

use crate::lifecycle_service::LifecycleService;
use crate::metrics::MetricsApp;
use crate::proxy::EdgeProxy;
use crate::state::EdgeState;
use crate::tls::{ClientHelloLoader, ServerNameRecorder};

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("database: {0}")]
    Db(#[from] porta_core::db::DbError),
    #[error("TLS settings: {0}")]
    Tls(String),
    #[error("DNS resolver: {0}")]
    Dns(String),
}

/// An edge ready to run.
pub struct EdgeServer {
    server: Server,
}

/// Builds the edge: its own (lazily connecting) database pool, certificate
/// cache, listeners, the lifecycle worker and the metrics service. Nothing
/// is bound until [`EdgeServer::run`]. `local_ca` issues certificates for
/// domains whose issuer is `internal`.
pub fn build(
    config: Arc<Config>,
    keys: SessionKeys,
    master: MasterKey,
    local_ca: Option<LocalCa>,
) -> Result<EdgeServer, EdgeError> {
    let db = Db::connect_lazy(&config.database_url(), config.database.max_connections)?;
    let resolver = Arc::new(CertResolver::new(
        db.clone(),
        master.clone(),
        ResolverSettings {
            positive_ttl: config.edge.cert_cache_ttl,
            negative_ttl: config.edge.negative_cache_ttl,
            max_entries: 100_000,
        },
    ));
    let dns = CnameVerifier::new(&config.dns_nameservers).map_err(|e| EdgeError::Dns(e.to_string()))?;
    let worker = Arc::new(
        DomainWorker::from_config(&config, db.clone(), master.clone(), local_ca)
            .map_err(|e| EdgeError::Dns(e.to_string()))?,
    );
    let db_for_hello = db.clone();
    let lifecycle_db = db.clone();
    let state = Arc::new(EdgeState {
        hosts: HostCache::new(
            db.clone(),
            config.canonical_base.clone(),
            config.edge.host_cache_ttl,
        ),
        context: ContextSigner::new(&keys),
        exchange_limiter: IpRateLimiter::per_minute(config.edge.ott_exchanges_per_ip_per_minute),
        config: config.clone(),
        db,
        keys,
        resolver: resolver.clone(),
        dns,
    });

    let mut server = Server::new_with_opt_and_conf(
        None,
        ServerConf {
            threads: 2,
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(2),
            ..ServerConf::default()
        },
    );
    server.bootstrap();

    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        EdgeProxy {
            state,
            next_upstream: AtomicUsize::new(0),
        },
        "porta-edge",
    );
    proxy.add_tcp(&config.edge.http_listen.to_string());
    let mut tls = TlsSettings::with_callbacks(Box::new(ServerNameRecorder))
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
    tls.set_cert_resolver(resolver.clone());
    tls.set_alpn(ALPN::H2H1);
    proxy.add_tls_with_settings(&config.edge.https_listen.to_string(), None, tls);
    proxy
        .endpoints()
        .set_pre_tls_callback(Arc::new(ClientHelloLoader {
            resolver: resolver.clone(),
            db: db_for_hello,
        }));
    server.add_service(proxy);

    server.add_service(pingora::services::background::background_service(
        "porta-domain-lifecycle",
        LifecycleService {
            worker,
            resolver,
            db: lifecycle_db,
            interval: config.domains.check_interval,
        },
    ));

    let mut metrics = Service::new("porta-metrics".to_owned(), MetricsApp);
    metrics.add_tcp(&config.metrics_listen.to_string());
    server.add_service(metrics);
    Ok(EdgeServer { server })
}

/// Stops the edge when the watched value becomes true.
struct WatchShutdown(tokio::sync::watch::Receiver<bool>);

#[async_trait]
impl ShutdownSignalWatch for WatchShutdown {
    async fn recv(&self) -> ShutdownSignal {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|stop| *stop).await;
        ShutdownSignal::GracefulTerminate
    }
}

impl EdgeServer {
    /// Serves until `shutdown` turns true (or its sender is dropped). Blocks.
    pub fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        self.server.run(RunArgs {
            shutdown_signal: Box::new(WatchShutdown(shutdown)),
        });
    }
}
