//! A real ACME server for tests: Debian's `pebble` (Let's Encrypt's test CA)
//! run as a child process on 127.0.0.1.
//!
//! [`Pebble::start`] generates a CA and a leaf for `127.0.0.1`/`localhost`
//! (pebble's own HTTPS listener needs one and the package ships none),
//! writes pebble's configuration into a temporary directory, launches
//! `/usr/bin/pebble` in its own process group with its validation delays
//! off, and waits until the ACME directory answers. Pebble validates
//! HTTP-01 on `http_port` and TLS-ALPN-01 on `tls_port` of whatever the test
//! zone at `dns` resolves the domain to. The process is killed when the
//! [`Pebble`] is dropped; [`Pebble::stop`] and [`Pebble::restart`] take it
//! down and bring it back on the same ports (with an empty state and a new
//! issuing root, as pebble keeps everything in memory).
//!
//! ```ignore
//! let zone = TestZone::start("example.test").await;
//! zone.set_a("shop.example.test", Ipv4Addr::LOCALHOST).await;
//! let http = TcpListener::bind("127.0.0.1:0").await?; // the HTTP-01 responder
//! let pebble = Pebble::start(PebbleOptions {
//!     http_port: http.local_addr()?.port(),
//!     tls_port: 5001,
//!     dns: zone.addr(),
//!     eab: false,
//! })
//! .await;
//! // an ACME client on pebble.directory_url(), trusting pebble.ca_pem_path()
//! ```

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where Debian's `pebble` package installs the server.
pub const PEBBLE_BIN: &str = "/usr/bin/pebble";
/// How long [`Pebble::start`] waits for the directory to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on one HTTPS request to pebble (connect, send, read).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh ports are picked (bind to port 0, release, hand to pebble); when
/// another process grabs one in between, pebble exits and is started again.
const START_ATTEMPTS: usize = 3;

/// What [`Pebble::start`] needs from the test.
#[derive(Debug, Clone, Copy)]
pub struct PebbleOptions {
    /// Where pebble sends HTTP-01 validation requests (on the address the
    /// domain resolves to): the edge's plain-HTTP port.
    pub http_port: u16,
    /// Where pebble connects for TLS-ALPN-01: the edge's TLS port.
    pub tls_port: u16,
    /// The DNS server pebble resolves domains with (a [`TestZone`]).
    ///
    /// [`TestZone`]: crate::dns::TestZone
    pub dns: SocketAddr,
    /// Require external account binding; the key is [`Pebble::eab`].
    pub eab: bool,
}

/// A running pebble; see the module documentation.
pub struct Pebble {
    options: PebbleOptions,
    dir: tempfile::TempDir,
    config_path: PathBuf,
    ca_pem_path: PathBuf,
    log_path: PathBuf,
    tls: TlsConnector,
    listen: SocketAddr,
    management: SocketAddr,
    eab: Option<(String, String)>,
    child: Option<Child>,
}

impl std::fmt::Debug for Pebble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pebble")
            .field("directory_url", &self.directory_url())
            .field("management", &self.management)
            .field("dir", &self.dir.path())
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl Pebble {
    /// Starts pebble and waits until its directory answers. Panics with a
    /// clear message when `/usr/bin/pebble` is missing (tests that need a
    /// real CA must not pass silently without one) or when it does not come
    /// up (the message includes pebble's log).
    pub async fn start(options: PebbleOptions) -> Pebble {
        assert!(
            Path::new(PEBBLE_BIN).exists(),
            "{PEBBLE_BIN} is missing: install Debian's `pebble` package \
             (`apt-get install pebble`; scripts/test does this)"
        );
        let dir = tempfile::tempdir().expect("temp dir for pebble");
        let (ca_pem, cert_pem, key_pem) = listener_certificate();
        let ca_pem_path = dir.path().join("ca.pem");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&ca_pem_path, &ca_pem).expect("write pebble's CA");
        std::fs::write(&cert_path, cert_pem).expect("write pebble's certificate");
        std::fs::write(&key_path, key_pem).expect("write pebble's key");

        let eab = options.eab.then(|| {
            // 64 characters of [0-9a-f]: valid unpadded base64url, 48 bytes.
            let key = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            ("porta-test-kid".to_owned(), key)
        });

        let mut pebble = Pebble {
            options,
            config_path: dir.path().join("pebble-config.json"),
            log_path: dir.path().join("pebble.log"),
            ca_pem_path,
            tls: tls_connector(&ca_pem),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            management: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            eab,
            child: None,
            dir,
        };
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            pebble.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            pebble.management = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            pebble.write_config(&cert_path, &key_path);
            match pebble.launch().await {
                Ok(()) => return pebble,
                Err(e) => last_error = e,
            }
        }
        panic!("pebble did not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// The ACME directory, `https://127.0.0.1:PORT/dir`.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.listen)
    }

    /// The CA that signed pebble's HTTPS listener (PEM): what an ACME client
    /// must trust to talk to this pebble.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// The EAB key id and HMAC key (unpadded base64url) pebble accepts when
    /// started with `eab: true`.
    pub fn eab(&self) -> Option<(String, String)> {
        self.eab.clone()
    }

    /// The options pebble was started with.
    pub fn options(&self) -> PebbleOptions {
        self.options
    }

    /// The root that signs the certificates pebble issues, as PEM (from
    /// `/roots/0` of the management interface). Pebble makes a new one at
    /// every launch.
    pub async fn issuing_roots_pem(&self) -> String {
        let (status, body) = self
            .get(self.management, "/roots/0")
            .await
            .unwrap_or_else(|e| panic!("GET /roots/0 from pebble: {e}\n{}", self.log_tail()));
        assert_eq!(status, 200, "GET /roots/0 from pebble answered {status}");
        String::from_utf8(body).expect("pebble's root is PEM text")
    }

    /// Whether the process is running (not stopped, not exited).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills pebble; its ports then refuse connections. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts pebble again on the same ports (after [`Pebble::stop`], or to
    /// reset it): the directory URL stays, the accounts, orders and issuing
    /// root are new.
    pub async fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.launch().await {
                Ok(()) => return,
                // The old process's ports may linger for a moment.
                Err(e) if Instant::now() >= deadline => panic!("pebble did not restart: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The last lines of pebble's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(40);
        format!("--- pebble log (last lines) ---\n{}", lines[start..].join("\n"))
    }

    fn write_config(&self, cert_path: &Path, key_path: &Path) {
        let mut config = serde_json::json!({
            "pebble": {
                "listenAddress": self.listen.to_string(),
                "managementListenAddress": self.management.to_string(),
                "certificate": cert_path,
                "privateKey": key_path,
                "httpPort": self.options.http_port,
                "tlsPort": self.options.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": self.options.eab,
            }
        });
        if let Some((kid, key)) = &self.eab {
            config["pebble"]["externalAccountMACKeys"] = serde_json::json!({ kid: key });
        }
        std::fs::write(
            &self.config_path,
            serde_json::to_vec_pretty(&config).expect("pebble config serializes"),
        )
        .expect("write pebble's config");
    }

    /// Spawns pebble and waits for its directory; on failure the process is
    /// gone and the error carries its log.
    async fn launch(&mut self) -> Result<(), String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("open {}: {e}", self.log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(PEBBLE_BIN)
            .arg("-config")
            .arg(&self.config_path)
            .arg("-dnsserver")
            .arg(self.options.dns.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            // Every order gets fresh authorizations: a test that expects a
            // challenge always sees one.
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn {PEBBLE_BIN}: {e}"))?;
        self.child = Some(child);

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                self.stop();
                return Err(format!("pebble exited during startup\n{}", self.log_tail()));
            }
            if let Ok((200, _)) = self.get(self.listen, "/dir").await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "pebble's directory did not answer within {START_TIMEOUT:?}\n{}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET path` over HTTPS as HTTP/1.0 (so the body ends with the
    /// connection: no chunked encoding to undo). Returns status and body.
    async fn get(&self, addr: SocketAddr, path: &str) -> Result<(u16, Vec<u8>), String> {
        let exchange = async {
            let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
            let mut tls = self.tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
            let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: porta-testkit\r\n\r\n");
            tls.write_all(request.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut response = Vec::new();
            match tls.read_to_end(&mut response).await {
                Ok(_) => {}
                // A peer that closes without close_notify: what arrived is
                // the whole response.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(e.to_string()),
            }
            parse_response(&response)
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer from {addr} within {REQUEST_TIMEOUT:?}"))?
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Splits an HTTP/1.x response into status and body.
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete HTTP response")?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| "HTTP head is not UTF-8")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    Ok((status, response[end + 4..].to_vec()))
}

/// A client trusting only `ca_pem`.
fn tls_connector(ca_pem: &str) -> TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("our CA is PEM");
    roots.add(ca).expect("our CA is a valid root");
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A CA and, signed by it, a leaf for `127.0.0.1` and `localhost`: the CA
/// PEM, the leaf PEM and the leaf's PKCS#8 key PEM.
fn listener_certificate() -> (String, String, String) {
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate a key");
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Porta test CA for pebble's listener");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).expect("self-sign the CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).expect("valid name");
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf_params.distinguished_name = DistinguishedName::new();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate a key");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("sign the leaf");
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port on 127.0.0.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response() {
        let (status, body) = parse_response(b"HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\nhello").unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, b"hello");
        assert!(parse_response(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
