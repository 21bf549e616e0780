//! A TLS client load: each request on a new TCP + TLS 1.3 connection (no
//! session resumption), the server name drawn at random from a list, the
//! request `GET <path>` with `Connection: close`, read to its end. Source
//! addresses rotate over 127.0.0.2-254, so the edge's per-IP limits and
//! the ephemeral port range do not decide the result. The server's chain
//! is not validated (self-signed names), its handshake signature is.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_rustls::TlsConnector;

#[derive(Debug, clap::Args)]
pub struct TlsArgs {
    #[arg(long)]
    addr: SocketAddr,
    /// Server names, one a line.
    #[arg(long)]
    names: PathBuf,
    /// Connections in flight.
    #[arg(long, default_value_t = 32)]
    conns: usize,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long, default_value = "/healthz")]
    path: String,
    /// Visit every name once, in order, instead of drawing for `seconds`.
    #[arg(long)]
    each_once: bool,
}

/// Accepts any chain; checks the handshake signature with the key in it.
#[derive(Debug)]
struct AnyChain(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn client_config() -> Arc<ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 is supported")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyChain(algorithms)))
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

static NEXT_SOURCE: AtomicUsize = AtomicUsize::new(0);

/// A socket bound to the next loopback source address.
fn socket() -> std::io::Result<TcpSocket> {
    let n = NEXT_SOURCE.fetch_add(1, Ordering::Relaxed);
    let last = 2 + (n % 253) as u8;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), 0)))?;
    socket.set_nodelay(true)?;
    Ok(socket)
}

pub fn connector() -> TlsConnector {
    TlsConnector::from(client_config())
}

/// One connection, one handshake, one request; the response's status.
async fn once(connector: &TlsConnector, addr: SocketAddr, name: &str, path: &str) -> anyhow::Result<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    exchange_once(connector, addr, name, request.as_bytes()).await
}

/// One connection, one handshake, `request` written; the response's status.
pub async fn exchange_once(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &str,
    request: &[u8],
) -> anyhow::Result<u16> {
    let tcp = socket()?.connect(addr).await?;
    let server_name = ServerName::try_from(name.to_owned())?;
    let mut tls = connector.connect(server_name, tcp).await?;
    tls.write_all(request).await?;
    let mut response = Vec::with_capacity(1024);
    // The edge closes without close_notify at times: what was read counts.
    let _ = tls.read_to_end(&mut response).await;
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .context("no HTTP status in the response")?;
    Ok(status)
}

/// A kept-alive HTTP/1.1 connection over TLS: requests one after another,
/// each response read to its `Content-Length`.
pub struct KeptAlive {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    buffer: Vec<u8>,
}

impl KeptAlive {
    pub async fn connect(connector: &TlsConnector, addr: SocketAddr, name: &str) -> anyhow::Result<KeptAlive> {
        let tcp = socket()?.connect(addr).await?;
        let tls = connector.connect(ServerName::try_from(name.to_owned())?, tcp).await?;
        Ok(KeptAlive {
            tls,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Writes `request` and reads its response; the status, and whether the
    /// server keeps the connection (no `Connection: close`).
    pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, bool)> {
        self.tls.write_all(request).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(i) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = self.tls.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the connection closed before a response head");
            self.buffer.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])?.to_ascii_lowercase();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).context("no HTTP status")?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .context("no Content-Length in the response")?;
        let keep = !head.lines().any(|l| l.starts_with("connection:") && l.contains("close"));
        while self.buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = self.tls.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the connection closed inside a response body");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
        Ok((status, keep))
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    micros: Vec<u32>,
}

pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

pub async fn run(args: TlsArgs) -> anyhow::Result<()> {
    let names: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&args.names)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    );
    anyhow::ensure!(!names.is_empty(), "no names in {}", args.names.display());
    let connector = connector();
    let path = Arc::new(args.path.clone());
    let cursor = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.conns {
        let (names, connector, path, cursor) =
            (names.clone(), connector.clone(), path.clone(), cursor.clone());
        let each_once = args.each_once;
        let addr = args.addr;
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let name = if each_once {
                    let i = cursor.fetch_add(1, Ordering::Relaxed);
                    match names.get(i) {
                        Some(name) => name,
                        None => break,
                    }
                } else {
                    if Instant::now() >= deadline {
                        break;
                    }
                    &names[rand::thread_rng().gen_range(0..names.len())]
                };
                let t = Instant::now();
                match once(&connector, addr, name, &path).await {
                    Ok(status) if status < 500 => {
                        tally.ok += 1;
                        tally
                            .micros
                            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    _ => tally.errors += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await?;
        all.ok += t.ok;
        all.errors += t.errors;
        all.micros.extend(t.micros);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.micros.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "requests": all.ok,
            "errors": all.errors,
            "seconds": seconds,
            "rps": all.ok as f64 / seconds,
            "p50_ms": percentile(&all.micros, 0.5),
            "p99_ms": percentile(&all.micros, 0.99),
        })
    );
    Ok(())
}

pub async fn first_handshake(addr: SocketAddr, name: &str, timeout_seconds: u64) -> anyhow::Result<()> {
    let connector = connector();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(timeout_seconds);
    loop {
        if once(&connector, addr, name, "/healthz").await.is_ok() {
            println!(
                "{}",
                serde_json::json!({ "ms": started.elapsed().as_secs_f64() * 1000.0 })
            );
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no handshake within {timeout_seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
