//! Porta's edge: the Pingora server in front of the portal core.
//!
//! It owns TLS termination for every tenant host (certificates chosen per
//! SNI from the database through a cache, see [`tls`]), the plain-HTTP
//! listener (ACME HTTP-01, redirect to HTTPS), host -> tenant routing
//! (`porta_core::host_cache`, passed to the portal as a signed request
//! context), the one-time-token handoff (`handoff`, [`exchange`], the page in
//! [`pages`]), proxying to the portal upstreams ([`proxy`]), the deadlines
//! for reading requests ([`deadline`]), the background sweep of spent
//! tokens and old counters ([`housekeeping`]), the change feed that keeps
//! its caches current with other nodes ([`change_service`]), the
//! health-checked upstreams ([`upstreams`]), draining on shutdown
//! ([`drain`]) and the metrics listener ([`metrics`]).
//!
//! [`EdgeListeners::inherit`] instead receives the listening sockets of a
//! running edge (a zero-downtime upgrade, see [`listeners`]).
//!
//! [`EdgeListeners::bind`] binds the three listeners (HTTPS, plain HTTP,
//! metrics) and [`build_with_listeners`] prepares a server on them, so the
//! bound addresses are known before it runs ([`EdgeServer::addresses`];
//! tests start it on port 0), as `porta_portal::build` does; [`build`] does
//! both. [`EdgeServer::run`] blocks, serving, until its [`EdgeSignal`]
//! says stop (or hand the sockets over) and the requests in flight are
//! done. Pingora runs its own runtimes, so callers run it on a thread of
//! its own. How the sockets reach Pingora is in [`listeners`].

pub mod change_service;
pub mod deadline;
pub mod drain;
pub mod exchange;
pub mod h2_limits;
mod handoff;
pub mod housekeeping;
pub mod lifecycle_service;
pub mod listeners;
pub mod metrics;
pub mod pages;
pub mod proxy;
pub mod state;
pub mod tls;
pub mod upstreams;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig, ALPN};
use pingora::server::configuration::ServerConf;
use pingora::server::{ExecutionPhase, RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
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

use crate::change_service::ChangeService;
use crate::deadline::{DeadlineApp, ReadDeadlines};
use crate::drain::Drain;
use crate::housekeeping::Housekeeping;
use crate::lifecycle_service::{LifecycleService, MissLoader};
use crate::listeners::{BoundListener, PreBound};
use crate::metrics::MetricsApp;
use crate::proxy::EdgeProxy;
use crate::state::EdgeState;
use crate::tls::{ClientHelloLoader, ServerNameRecorder};
use crate::upstreams::Upstreams;

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// A listener address cannot be bound (taken, or not this machine's).
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        key: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Db(#[from] porta_core::db::DbError),
    #[error("TLS settings: {0}")]
    Tls(String),
    #[error("DNS resolver: {0}")]
    Dns(String),
    /// `porta edge --upgrade` received no sockets from a running edge.
    #[error("cannot take over the running edge's sockets: {0}")]
    Inherit(listeners::InheritError),
    #[error("upstreams: {0}")]
    Upstreams(std::io::Error),
}

/// Where an edge listens (the addresses actually bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeAddresses {
    pub https: SocketAddr,
    pub http: SocketAddr,
    pub metrics: SocketAddr,
}

/// The edge's sockets, bound and not yet served.
#[derive(Debug)]
pub struct EdgeListeners {
    https: BoundListener,
    http: BoundListener,
    metrics: BoundListener,
}

impl EdgeListeners {
    /// Binds `edge.https_listen`, `edge.http_listen` and `metrics.listen`
    /// (port 0 picks a free port). A taken address is an error at once,
    /// naming its key: Pingora itself would retry for half a minute and
    /// then panic on its own thread.
    pub fn bind(config: &Config) -> Result<EdgeListeners, EdgeError> {
        let bind = |key: &'static str, addr: SocketAddr| {
            BoundListener::bind(addr).map_err(|source| EdgeError::Bind { key, addr, source })
        };
        Ok(EdgeListeners {
            https: bind("edge.https_listen", config.edge.https_listen)?,
            http: bind("edge.http_listen", config.edge.http_listen)?,
            metrics: bind("metrics.listen", config.metrics_listen)?,
        })
    }

    /// Receives the sockets of the running edge that listens on the same
    /// `edge.https_listen`, `edge.http_listen` and `metrics.listen` (fixed
    /// ports), over `edge.upgrade_socket`: it sends them when it gets
    /// SIGQUIT. Blocks, some 6 s at most.
    pub fn inherit(config: &Config) -> Result<EdgeListeners, EdgeError> {
        let path = config.edge.shutdown.upgrade_socket(&config.data_dir);
        let wanted = [
            ("edge.https_listen", config.edge.https_listen),
            ("edge.http_listen", config.edge.http_listen),
            ("metrics.listen", config.metrics_listen),
        ];
        let mut sockets = listeners::inherit(&path, &wanted)
            .map_err(EdgeError::Inherit)?
            .into_iter();
        let mut next = || sockets.next().expect("one socket per wanted address");
        Ok(EdgeListeners {
            https: next(),
            http: next(),
            metrics: next(),
        })
    }

    pub fn addresses(&self) -> EdgeAddresses {
        EdgeAddresses {
            https: self.https.addr(),
            http: self.http.addr(),
            metrics: self.metrics.addr(),
        }
    }
}

/// An edge ready to run, its listeners bound.
pub struct EdgeServer {
    server: Server,
    addresses: EdgeAddresses,
    /// `edge.shutdown_grace_period_seconds`.
    grace: Duration,
    drain: Arc<Drain>,
}

/// Binds the listeners of `config` ([`EdgeListeners::bind`]) and builds the
/// edge on them ([`build_with_listeners`]).
pub fn build(
    config: Arc<Config>,
    keys: SessionKeys,
    master: MasterKey,
    local_ca: Option<LocalCa>,
) -> Result<EdgeServer, EdgeError> {
    let listeners = EdgeListeners::bind(&config)?;
    build_with_listeners(config, listeners, keys, master, local_ca)
}

/// Builds the edge on `listeners`: its own (lazily connecting) database
/// pool, certificate cache, the proxy service on the HTTPS and plain-HTTP
/// sockets, the lifecycle worker and the metrics service. Nothing is
/// served until [`EdgeServer::run`] (connections wait in the sockets'
/// backlog). `local_ca` issues certificates for domains whose issuer is
/// `internal`. The listen addresses of `config` are not used.
pub fn build_with_listeners(
    config: Arc<Config>,
    listeners: EdgeListeners,
    keys: SessionKeys,
    master: MasterKey,
    local_ca: Option<LocalCa>,
) -> Result<EdgeServer, EdgeError> {
    let addresses = listeners.addresses();
    let EdgeListeners {
        https,
        http,
        metrics: metrics_socket,
    } = listeners;
    let db = Db::connect_lazy_with(&config.database_url(), config.database.pool())?;
    let resolver = Arc::new(CertResolver::new(
        db.clone(),
        master.clone(),
        ResolverSettings {
            positive_ttl: config.edge.cert_cache_ttl,
            negative_ttl: config.edge.negative_cache_ttl,
            max_entries: config.edge.cert_cache_max_entries,
        },
    ));
    let dns = CnameVerifier::new(&config.dns_nameservers).map_err(|e| EdgeError::Dns(e.to_string()))?;
    let worker = Arc::new(
        DomainWorker::from_config(&config, db.clone(), master.clone(), local_ca)
            .map_err(|e| EdgeError::Dns(e.to_string()))?,
    );
    let db_for_hello = db.clone();
    let lifecycle_db = db.clone();
    let housekeeping_db = db.clone();
    let hosts = HostCache::new(
        db.clone(),
        config.canonical_base.clone(),
        config.edge.host_cache_ttl,
    );
    let changes = ChangeService::new(db.clone(), vec![resolver.clone(), Arc::new(hosts.clone())]);
    let state = Arc::new(EdgeState {
        hosts,
        context: ContextSigner::new(&keys),
        exchange_limiter: IpRateLimiter::per_minute(config.edge.ott_exchanges_per_ip_per_minute),
        hsts: config.edge.hsts.map(|h| h.header_value()),
        config: config.clone(),
        db,
        keys,
        resolver: resolver.clone(),
        dns,
    });

    let grace = config.edge.shutdown.grace_period;
    let mut server = Server::new_with_opt_and_conf(
        None,
        ServerConf {
            threads: config.edge.threads,
            work_stealing: config.edge.work_stealing,
            upstream_keepalive_pool_size: config.edge.upstream_keepalive_pool_size,
            // Pingora sleeps this long after it stopped accepting, then
            // drops what is left; the edge's own drain ([`drain::Drain::wait`])
            // ends the process when nothing is in flight, at the latest
            // after `grace`: Pingora must not drop requests before that.
            // (A backstop well past it, so that it is the drain that ends.)
            grace_period_seconds: Some(2 * grace.as_secs() + drain::LINGER.as_secs() + 5),
            graceful_shutdown_timeout_seconds: Some(1),
            upgrade_sock: config
                .edge
                .shutdown
                .upgrade_socket(&config.data_dir)
                .to_string_lossy()
                .into_owned(),
            ..ServerConf::default()
        },
    );
    server.bootstrap();

    let (upstreams, health_checks) =
        Upstreams::new(&config.edge.upstreams, &config.edge.upstream).map_err(EdgeError::Upstreams)?;
    server.add_service(health_checks);
    let drain = Drain::new();
    let mut proxy_app = pingora::proxy::http_proxy(
        &server.configuration,
        EdgeProxy {
            state,
            upstreams,
            drain: drain.clone(),
        },
    );
    proxy_app.h2_options = Some(h2_limits::h2_options(&config.edge));
    let deadlines = ReadDeadlines {
        head: config.edge.header_read_timeout,
        body: config.edge.body_read_timeout,
    };
    let mut proxy = Service::new(
        "porta-edge".to_owned(),
        DeadlineApp::new(proxy_app, deadlines, drain.clone()),
    );
    proxy.add_tcp(&http.key());
    let mut tls = TlsSettings::with_callbacks(Box::new(ServerNameRecorder))
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
    tls.set_cert_resolver(resolver.clone());
    tls.set_alpn(ALPN::H2H1);
    let buffers = L4BufferSettings::new(config.edge.read_buffer_bytes, config.edge.write_buffer_bytes);
    proxy
        .endpoints()
        .add_listener(ListenerConfig::tcp(https.key()).tls(tls).l4_buffer(buffers));
    if config.edge.client_hello_hook {
        proxy
            .endpoints()
            .set_pre_tls_callback(Arc::new(ClientHelloLoader {
                resolver: resolver.clone(),
                db: db_for_hello,
                misses: IpRateLimiter::per_minute(config.edge.unknown_sni_per_ip_per_minute),
            }));
    } else if let Some(misses) = resolver.queue_misses(1024) {
        server.add_service(pingora::services::background::background_service(
            "porta-certificate-misses",
            MissLoader {
                resolver: resolver.clone(),
                misses: parking_lot::Mutex::new(Some(misses)),
            },
        ));
    }
    server.add_service(PreBound::new(proxy, vec![http, https]));

    server.add_service(pingora::services::background::background_service(
        "porta-domain-lifecycle",
        LifecycleService {
            worker,
            resolver,
            db: lifecycle_db,
            interval: config.domains.check_interval,
        },
    ));

    server.add_service(pingora::services::background::background_service(
        "porta-housekeeping",
        Housekeeping {
            db: housekeeping_db,
            longest_window: config.signin.failure_window.max(Duration::from_secs(60)),
        },
    ));

    server.add_service(pingora::services::background::background_service(
        "porta-change-feed",
        changes,
    ));

    let mut metrics = Service::new("porta-metrics".to_owned(), MetricsApp);
    metrics.add_tcp(&metrics_socket.key());
    server.add_service(PreBound::new(metrics, vec![metrics_socket]));
    Ok(EdgeServer {
        server,
        addresses,
        grace,
        drain,
    })
}

/// What the running edge is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeSignal {
    Serve,
    /// Stop accepting, drain, end (SIGTERM).
    Stop,
    /// Send the listening sockets to the new edge waiting on
    /// `edge.upgrade_socket`, then drain and end (SIGQUIT).
    HandOver,
}

/// Tells Pingora what the watched [`EdgeSignal`] says (a dropped sender:
/// stop).
struct WatchShutdown(tokio::sync::watch::Receiver<EdgeSignal>, Arc<Drain>);

#[async_trait]
impl ShutdownSignalWatch for WatchShutdown {
    async fn recv(&self) -> ShutdownSignal {
        let mut rx = self.0.clone();
        let signal = rx
            .wait_for(|s| *s != EdgeSignal::Serve)
            .await
            .map_or(EdgeSignal::Stop, |s| *s);
        self.1.start(signal == EdgeSignal::HandOver);
        match signal {
            EdgeSignal::HandOver => {
                tracing::info!("handing the listening sockets over to the new edge, then draining");
                ShutdownSignal::GracefulUpgrade
            }
            _ => {
                tracing::info!("stopping: no new connections, draining the requests in flight");
                ShutdownSignal::GracefulTerminate
            }
        }
    }
}

impl EdgeServer {
    /// The addresses the edge listens on.
    pub fn addresses(&self) -> EdgeAddresses {
        self.addresses
    }

    /// Serves until `signal` says stop or hand over (or its sender is
    /// dropped: stop), then returns once the edge stopped accepting and
    /// no request is in flight, at the latest after the grace period.
    /// Blocks. Pingora's own threads may outlive the return (they sleep
    /// out its grace period): the caller ends the process.
    pub fn run(self, signal: tokio::sync::watch::Receiver<EdgeSignal>) {
        let EdgeServer {
            server, grace, drain, ..
        } = self;
        let watch = WatchShutdown(signal, drain.clone());
        let mut phases = server.watch_execution_phase();
        let pingora = std::thread::Builder::new().name("pingora".into()).spawn(move || {
            server.run(RunArgs {
                shutdown_signal: Box::new(watch),
            })
        });
        if let Err(e) = pingora {
            tracing::error!("cannot start the edge's server thread: {e}");
            return;
        }
        loop {
            match phases.blocking_recv() {
                // Accepting has stopped (after the hand-over, if any).
                Ok(ExecutionPhase::ShutdownStarted) => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                // The server ended (or panicked) on its own.
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
        let left = drain.wait(grace);
        if left > 0 {
            tracing::warn!(
                requests = left,
                "grace period over: exiting with requests still in flight"
            );
        } else {
            tracing::info!("drained: no request in flight");
        }
    }
}
