//! A real ACME CA for tests outside tests/domains.rs: pebble on 127.0.0.1
//! resolving through an authoritative test zone (hickory), the `PORTA_*`
//! environment that points porta at both, and a [`ValidationGate`] in
//! front of the port pebble validates HTTP-01 on, so a test decides when
//! (and whether) a pending order's challenge reaches an edge.
//!
//! tests/domains.rs has its own, larger world (staff API, relays in front
//! of the CA); this one is what a fault test needs to hold an order open.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use porta_testkit::dns::TestZone;
use porta_testkit::pebble::{Pebble, PebbleOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;

use super::edge_client::{parse_leaf, Leaf};
use super::{free_port, Store};

/// The zone the test names live in.
pub const ZONE: &str = "test.";
/// `PORTA_CANONICAL_BASE`: the demo tenant's canonical host is
/// [`CANONICAL`], which custom domains CNAME to.
pub const CANONICAL_BASE: &str = "portal.test";
pub const CANONICAL: &str = "acme.portal.test";

/// Pebble, its DNS zone and the porta environment that uses them.
pub struct AcmeWorld {
    pub zone: TestZone,
    pub pebble: Pebble,
    /// Where pebble's HTTP-01 validations arrive.
    pub gate: ValidationGate,
    /// Every `PORTA_*` variable porta needs for this CA (servers and CLI).
    pub env: Vec<(String, String)>,
}

impl AcmeWorld {
    /// Pebble validating HTTP-01 through a closed [`ValidationGate`] only
    /// (its TLS-ALPN-01 port is a closed one, and porta is told to use
    /// `http-01`); a worker ticking every second; edge caches of 1 s.
    pub async fn start() -> AcmeWorld {
        let zone = TestZone::start(ZONE).await;
        zone.set_a(CANONICAL, Ipv4Addr::LOCALHOST).await;
        let gate = ValidationGate::start().await;
        let pebble = Pebble::start(PebbleOptions {
            http_port: gate.port,
            tls_port: free_port(),
            dns: zone.addr(),
            eab: false,
        })
        .await;
        let env = [
            ("PORTA_CANONICAL_BASE", CANONICAL_BASE.to_owned()),
            ("PORTA_ACME_DIRECTORY", pebble.directory_url()),
            ("PORTA_ACME_ROOT_CA", pebble.ca_pem_path().display().to_string()),
            ("PORTA_ACME_CONTACT", "ops@example.test".to_owned()),
            ("PORTA_ACME_CHALLENGE_ORDER", "http-01".to_owned()),
            ("PORTA_DNS_NAMESERVERS", zone.addr().to_string()),
            ("PORTA_DOMAINS_CHECK_INTERVAL_SECONDS", "1".to_owned()),
            ("PORTA_DOMAINS_FIRST_RETRY_SECONDS", "1".to_owned()),
            ("PORTA_DOMAINS_MAX_RETRY_SECONDS", "4".to_owned()),
            ("PORTA_EDGE_CERT_CACHE_TTL_SECONDS", "1".to_owned()),
            ("PORTA_EDGE_NEGATIVE_CACHE_TTL_SECONDS", "1".to_owned()),
            ("PORTA_EDGE_HOST_CACHE_TTL_SECONDS", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        AcmeWorld {
            zone,
            pebble,
            gate,
            env,
        }
    }

    /// The environment, with `extra` after it (so it wins).
    pub fn env_with<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra);
        env
    }

    /// `porta up` on `store` with this CA and `extra`.
    pub fn up(&self, store: &Store, extra: &[(&str, &str)]) -> super::Porta {
        store.start("up", &self.env_with(extra))
    }

    /// A TLS client trusting only the root pebble issues under.
    pub async fn pebble_trust(&self) -> Arc<ClientConfig> {
        let pem = self.pebble.issuing_roots_pem().await;
        let mut roots = RootCertStore::empty();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(der.expect("PEM root")).expect("a usable root");
        }
        assert!(!roots.is_empty(), "no root certificate in {pem:?}");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// The leaf the edge on 127.0.0.1:`port` serves for SNI `name`, verified by
/// `trust` for that name.
pub async fn served_leaf(port: u16, name: &str, trust: Arc<ClientConfig>) -> Result<Leaf, String> {
    let handshake = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
        let server_name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
        TlsConnector::from(trust)
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with SNI {name}: {e}"))
    };
    let tls = tokio::time::timeout(Duration::from_secs(15), handshake)
        .await
        .map_err(|_| format!("TLS handshake with SNI {name} took over 15 s"))??;
    let (_, connection) = tls.get_ref();
    let certs = connection.peer_certificates().ok_or("no server certificate")?;
    Ok(parse_leaf(certs[0].as_ref()))
}

/// What the gate does with a validation connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateMode {
    /// Accept it and never answer: the challenge stays `processing` at the
    /// CA (until pebble gives up on it), so its order stays pending.
    Hold,
    /// Relay it to this address (an edge's plain-HTTP listener).
    Forward(SocketAddr),
}

/// The port pebble validates HTTP-01 on. Closed (holding) at first; every
/// connection that arrives is counted, so a test can wait for "the CA is
/// validating an order now" instead of sleeping.
pub struct ValidationGate {
    pub port: u16,
    mode: watch::Sender<GateMode>,
    arrivals: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl ValidationGate {
    async fn start() -> ValidationGate {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the validation gate");
        let port = listener.local_addr().expect("gate address").port();
        let (mode, mode_rx) = watch::channel(GateMode::Hold);
        let (arrived, arrivals) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                arrived.send_modify(|n| *n += 1);
                let mut mode = mode_rx.clone();
                connections.spawn(async move {
                    // Held connections wait for the gate to open, then are
                    // dropped: the validation they carried belongs to an
                    // order nobody finishes.
                    if *mode.borrow_and_update() == GateMode::Hold {
                        let _ = mode.changed().await;
                        return;
                    }
                    let target = match *mode.borrow() {
                        GateMode::Forward(target) => target,
                        GateMode::Hold => return,
                    };
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        ValidationGate {
            port,
            mode,
            arrivals,
            task,
        }
    }

    /// Validation connections that arrived so far.
    pub fn arrivals(&self) -> u64 {
        *self.arrivals.borrow()
    }

    /// Waits (at most `timeout`) until more than `seen` validation
    /// connections have arrived; the count then.
    pub async fn wait_for_arrival_after(&self, seen: u64, timeout: Duration) -> u64 {
        let mut arrivals = self.arrivals.clone();
        tokio::time::timeout(timeout, arrivals.wait_for(|n| *n > seen))
            .await
            .unwrap_or_else(|_| panic!("no HTTP-01 validation reached the gate within {timeout:?}"))
            .map(|n| *n)
            .expect("the gate is running")
    }

    /// From now on relays validations to `target`; held ones are dropped.
    pub fn open(&self, target: SocketAddr) {
        self.mode.send_replace(GateMode::Forward(target));
    }
}

impl Drop for ValidationGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}
