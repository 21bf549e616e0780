//! TLS pieces around Pingora's rustls listener.
//!
//! - [`ClientHelloLoader`] runs after accept and before the handshake: it
//!   reads the ClientHello, and if its server name is not in the certificate
//!   cache, awaits the database load, so a certificate stored by another
//!   process is served on its very first connection. An unknown or missing
//!   name ends the connection without a handshake. Names that are not
//!   cached cost a query each, so each client IP gets only so many of them
//!   a minute (`edge.unknown_sni_per_ip_per_minute`); beyond that they are
//!   refused without one.
//!   A ClientHello offering ALPN `acme-tls/1` is an ACME CA validating a
//!   TLS-ALPN-01 challenge: it is answered here with the challenge
//!   certificate and then closed.
//! - [`ServerNameRecorder`] attaches the negotiated SNI name to the
//!   connection so that each request can be checked against it (421 when
//!   the Host differs).

use std::any::Any;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::listeners::{PreTlsProcess, TlsAccept};
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::tls::TlsRef;
use pingora::protocols::GetSocketDigest;
use pingora::{Error, ErrorType, Result};
use porta_certs::acme::tls_alpn01::{self, ACME_TLS_ALPN};
use porta_certs::resolver::{CertResolver, LoadOutcome};
use porta_core::clock::UnixMillis;
use porta_core::db::Db;
use porta_core::host::HostName;
use porta_core::rate_limit::IpRateLimiter;
use tokio::io::AsyncReadExt;

use crate::metrics::EdgeMetrics;

/// The SNI name of a TLS connection, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNameTag(pub String);

/// Records the SNI name in the connection's digest after the handshake.
pub struct ServerNameRecorder;

#[async_trait]
impl TlsAccept for ServerNameRecorder {
    async fn handshake_complete_callback(&self, tls: &TlsRef) -> Option<Arc<dyn Any + Send + Sync>> {
        EdgeMetrics::global().handshakes_completed.inc();
        let name = tls.server_name()?.to_ascii_lowercase();
        Some(Arc::new(ServerNameTag(name)))
    }
}

/// ClientHellos larger than this are refused (real ones are a few hundred
/// bytes; post-quantum key shares make them ~2 KB).
const MAX_CLIENT_HELLO: usize = 16 * 1024;
const CLIENT_HELLO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ClientHelloLoader {
    pub resolver: Arc<CertResolver>,
    pub db: Db,
    /// Server names not in the cache, per client IP: each may cost a
    /// database query (`edge.unknown_sni_per_ip_per_minute`).
    pub misses: IpRateLimiter,
}

/// The client's address, when the stream knows it.
fn peer_ip(stream: &L4Stream) -> Option<IpAddr> {
    let digest = stream.get_socket_digest()?;
    digest.peer_addr()?.as_inet().map(|a| a.ip())
}

enum Hello {
    ServerName(String),
    /// A TLS-ALPN-01 validation from an ACME CA (ALPN `acme-tls/1`).
    AcmeChallenge(String),
    NoServerName,
    Malformed,
}

/// Reads until rustls has a whole ClientHello; returns what it said and the
/// bytes read (to be put back for the real handshake).
async fn read_client_hello(stream: &mut L4Stream) -> std::io::Result<(Hello, Vec<u8>)> {
    let mut acceptor = rustls::server::Acceptor::default();
    let mut seen = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok((Hello::Malformed, seen));
        }
        seen.extend_from_slice(&chunk[..n]);
        let mut reader: &[u8] = &chunk[..n];
        while !reader.is_empty() {
            match acceptor.read_tls(&mut reader) {
                Ok(0) | Err(_) => return Ok((Hello::Malformed, seen)),
                Ok(_) => {}
            }
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                let hello = accepted.client_hello();
                let acme = hello
                    .alpn()
                    .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
                let outcome = match hello.server_name() {
                    Some(name) if acme => Hello::AcmeChallenge(name.to_ascii_lowercase()),
                    Some(name) => Hello::ServerName(name.to_ascii_lowercase()),
                    None => Hello::NoServerName,
                };
                return Ok((outcome, seen));
            }
            Ok(None) if seen.len() < MAX_CLIENT_HELLO => continue,
            _ => return Ok((Hello::Malformed, seen)),
        }
    }
}

/// Completes a TLS-ALPN-01 handshake with the challenge certificate for
/// `name` (from the database, so any node answers whichever placed the
/// order). Without a pending challenge the handshake just fails.
async fn answer_tls_alpn01(db: &Db, stream: &mut L4Stream, name: &str) {
    let Ok(host) = HostName::parse(name) else { return };
    let key_authorization = match tls_alpn01::key_authorization(db, &host, UnixMillis::now()).await {
        Ok(Some(key_authorization)) => key_authorization,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "TLS-ALPN-01 challenge lookup failed");
            return;
        }
    };
    let config = match tls_alpn01::server_config(&host, &key_authorization) {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!(error = %e, "TLS-ALPN-01 certificate failed");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    match tokio::time::timeout(CLIENT_HELLO_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(mut tls)) => {
            use tokio::io::AsyncWriteExt;
            let _ = tls.shutdown().await;
            tracing::info!(domain = %host, "answered a TLS-ALPN-01 challenge");
        }
        _ => tracing::info!(domain = %host, "TLS-ALPN-01 handshake did not complete"),
    }
}

fn refuse(reason: &'static str) -> Box<Error> {
    Error::explain(ErrorType::HandshakeError, reason)
}

#[async_trait]
impl PreTlsProcess for ClientHelloLoader {
    async fn process(&self, stream: &mut L4Stream) -> Result<()> {
        let metrics = EdgeMetrics::global();
        let read = tokio::time::timeout(CLIENT_HELLO_TIMEOUT, read_client_hello(stream)).await;
        let (hello, bytes) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(_)) => {
                metrics.client_hellos.with_label_values(&["malformed"]).inc();
                return Err(refuse("connection failed before the ClientHello"));
            }
            Err(_) => {
                metrics.client_hellos.with_label_values(&["timeout"]).inc();
                return Err(refuse("no ClientHello in time"));
            }
        };
        stream.rewind(&bytes);
        let name = match hello {
            Hello::ServerName(name) => name,
            Hello::AcmeChallenge(name) => {
                answer_tls_alpn01(&self.db, stream, &name).await;
                // The connection was for the CA only: Pingora must not go on.
                return Err(refuse("TLS-ALPN-01 challenge answered"));
            }
            Hello::NoServerName => {
                metrics.client_hellos.with_label_values(&["no_sni"]).inc();
                return Err(refuse("ClientHello without a server name"));
            }
            Hello::Malformed => {
                metrics.client_hellos.with_label_values(&["malformed"]).inc();
                return Err(refuse("malformed ClientHello"));
            }
        };
        if HostName::parse(&name).is_err() {
            metrics.client_hellos.with_label_values(&["sni_unknown"]).inc();
            return Err(refuse("server name is not a host name"));
        }
        let peer = peer_ip(stream);
        let may_query = || match peer {
            Some(ip) => self.misses.allow(ip, UnixMillis::now()),
            None => true,
        };
        match self.resolver.ensure_loaded_if(&name, may_query).await {
            LoadOutcome::Hit => {
                // The hot path: the two labelled counters looked up once.
                static HIT: std::sync::OnceLock<(prometheus::IntCounter, prometheus::IntCounter)> =
                    std::sync::OnceLock::new();
                let (hit, known) = HIT.get_or_init(|| {
                    (
                        metrics.cert_cache.with_label_values(&["hit"]),
                        metrics.client_hellos.with_label_values(&["sni_known"]),
                    )
                });
                hit.inc();
                known.inc();
                Ok(())
            }
            LoadOutcome::Stale => {
                metrics.cert_cache.with_label_values(&["stale"]).inc();
                metrics.client_hellos.with_label_values(&["sni_known"]).inc();
                Ok(())
            }
            LoadOutcome::Loaded => {
                metrics.cert_cache.with_label_values(&["miss_loaded"]).inc();
                metrics.client_hellos.with_label_values(&["sni_known"]).inc();
                Ok(())
            }
            LoadOutcome::Unknown => {
                metrics.cert_cache.with_label_values(&["miss_unknown"]).inc();
                metrics.client_hellos.with_label_values(&["sni_unknown"]).inc();
                Err(refuse("no certificate for this server name"))
            }
            LoadOutcome::Refused => {
                metrics.cert_cache.with_label_values(&["miss_refused"]).inc();
                metrics.client_hellos.with_label_values(&["sni_refused"]).inc();
                Err(refuse("too many unknown server names from this address"))
            }
            LoadOutcome::Error => {
                metrics.cert_cache.with_label_values(&["error"]).inc();
                metrics.client_hellos.with_label_values(&["lookup_error"]).inc();
                Err(refuse("certificate lookup failed"))
            }
        }
    }
}
