//! Talking to an edge the way browsers do, for the tests that run `porta
//! up` (tests/edge.rs, tests/hardening.rs): TLS with a rustls client that
//! trusts only porta's local CA, HTTP/1.1 by hand (so every header is the
//! test's to choose), the bound sign-in handoff step by step, and the rows
//! another porta process would write, written straight into its database.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::store::NewCertificate;
use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{tenants, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;
use porta_core::ott::OttToken;
use porta_core::slug::TenantSlug;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::UnixTime;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::{
    demo_user, forms, session_from_set_cookie, DemoUser, Ports, Reply, Session, Store, DEMO_CUSTOM_DOMAIN,
};

/// The demo tenant's canonical host.
pub const CANONICAL: &str = "acme.portal.localhost";
/// Upper bound of any single network step.
pub const WAIT: Duration = Duration::from_secs(30);
/// Where signed-in clients land by default.
pub const DASHBOARD: &str = "/client-portal/dashboard";
pub const EXCHANGE_PATH: &str = "/api/client-portal/domain-session";
pub const HANDOFF_START: &str = "/auth/client-portal/handoff/start";

// ---------------------------------------------------------------------------
// HTTP/1.1 by hand

/// Position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body, decoded; `None` while it is incomplete.
pub fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size = std::str::from_utf8(&data[..line_end]).expect("ASCII chunk size");
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("chunk size {size:?}"));
        data = &data[line_end + 2..];
        if size == 0 {
            // No trailers (an empty line) or trailers ending with one.
            return (data.starts_with(b"\r\n") || find(data, b"\r\n\r\n").is_some()).then_some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The response in `buf`, once it is complete (`eof`: the peer closed).
pub fn parse_response(buf: &[u8], eof: bool) -> Option<Reply> {
    let head_end = find(buf, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..head_end]).expect("ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut words = status_line.splitn(3, ' ');
    let version = words.next().unwrap_or_default();
    assert!(version.starts_with("HTTP/1."), "not an HTTP/1 response: {head}");
    let status: u16 = words
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("bad header line {line:?}"));
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"),
            HeaderValue::from_str(value.trim()).expect("header value"),
        );
    }
    let rest = &buf[head_end + 4..];
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_str().unwrap_or_default().eq_ignore_ascii_case("chunked"));
    let length = headers.get("content-length").map(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .expect("Content-Length")
    });
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        if rest.len() < length {
            return None;
        }
        rest[..length].to_vec()
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Reply {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    })
}

/// Reads one whole response from `stream`.
pub async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // A peer that closes without close_notify.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return parse_response(&buf, true).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("incomplete response: {:?}", String::from_utf8_lossy(&buf)),
                )
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(reply) = parse_response(&buf, false) {
            return Ok(reply);
        }
    }
}

/// An HTTP/1.1 request; `host: None` sends no Host header.
pub fn http_request(
    method: &str,
    target: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if let Some(host) = host {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `application/x-www-form-urlencoded`.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

// ---------------------------------------------------------------------------
// The edge's TLS listener

/// What the edge served as the leaf certificate of a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub der: Vec<u8>,
    pub serial: String,
    /// The DNS names of the subjectAltName extension, sorted.
    pub sans: Vec<String>,
}

pub fn parse_leaf(der: &[u8]) -> Leaf {
    let (_, cert) = X509Certificate::from_der(der).expect("X.509 leaf");
    let mut sans: Vec<String> = cert
        .subject_alternative_name()
        .expect("well-formed subjectAltName")
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|name| match name {
                    GeneralName::DNSName(dns) => (*dns).to_owned(),
                    other => panic!("unexpected subjectAltName entry {other:?}"),
                })
                .collect()
        })
        .unwrap_or_default();
    sans.sort();
    Leaf {
        der: der.to_vec(),
        serial: cert.raw_serial_as_string(),
        sans,
    }
}

/// The leaf (first certificate) of a PEM chain.
pub fn leaf_of_pem(chain_pem: &str) -> Leaf {
    let der = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .expect("a certificate in the chain")
        .expect("PEM certificate");
    parse_leaf(der.as_ref())
}

pub fn tls_config(root: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(root.clone()).expect("local CA root certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Accepts any server certificate (signatures are still checked): to tell
/// "the edge sent no certificate" apart from "it sent one we distrust".
#[derive(Debug)]
pub struct AcceptAnyCertificate(pub Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client config that accepts any certificate, with or without SNI.
pub fn trusting_tls_config(sni: bool) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.enable_sni = sni;
    Arc::new(config)
}

/// A client of one porta's edge: TLS trusting only its local CA, and
/// HTTP/1.1 by hand. Each request is one new connection.
#[derive(Clone)]
pub struct EdgeClient {
    pub https_port: u16,
    pub http_port: u16,
    pub with_sni: Arc<ClientConfig>,
    /// The loopback address connections come from (`None`: the system's
    /// choice, 127.0.0.1): the edge sees it as the client's IP.
    pub source: Option<IpAddr>,
}

impl EdgeClient {
    pub fn new(store: &Store) -> EdgeClient {
        let path = store.data_dir().join("local-ca").join("root.pem");
        let root = CertificateDer::from_pem_file(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        EdgeClient {
            https_port: store.ports.edge_https,
            http_port: store.ports.edge_http,
            with_sni: tls_config(&root),
            source: None,
        }
    }

    /// A client of the edge listening on `ports` (another node's), with
    /// `store`'s trust.
    pub fn on_ports(store: &Store, ports: Ports) -> EdgeClient {
        EdgeClient {
            https_port: ports.edge_https,
            http_port: ports.edge_http,
            ..EdgeClient::new(store)
        }
    }

    /// The same client, connecting from `ip` (any 127.0.0.0/8 address: the
    /// whole block is the loopback interface), as another client would.
    pub fn from(&self, ip: [u8; 4]) -> EdgeClient {
        EdgeClient {
            source: Some(IpAddr::from(ip)),
            ..self.clone()
        }
    }

    /// A TCP connection to the edge's `port` from [`EdgeClient::source`].
    pub async fn tcp(&self, port: u16) -> io::Result<TcpStream> {
        let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match self.source {
            None => TcpStream::connect(target).await,
            Some(ip) => {
                let socket = TcpSocket::new_v4()?;
                socket.bind(std::net::SocketAddr::new(ip, 0))?;
                socket.connect(target).await
            }
        }
    }

    /// `host:port`, as browsers send it in `Host`.
    pub fn authority(&self, host: &str) -> String {
        format!("{host}:{}", self.https_port)
    }

    pub fn origin(&self, host: &str) -> String {
        format!("https://{host}:{}", self.https_port)
    }

    pub async fn connect_with(
        &self,
        config: Arc<ClientConfig>,
        name: &str,
    ) -> io::Result<TlsStream<TcpStream>> {
        let handshake = async {
            let tcp = self.tcp(self.https_port).await?;
            let server_name = ServerName::try_from(name.to_owned())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            TlsConnector::from(config).connect(server_name, tcp).await
        };
        tokio::time::timeout(WAIT, handshake)
            .await
            .unwrap_or_else(|_| panic!("TLS handshake for {name} did not finish within {WAIT:?}"))
    }

    /// A TLS connection with SNI `name`, verified against the local CA.
    pub async fn handshake(&self, name: &str) -> io::Result<TlsStream<TcpStream>> {
        self.connect_with(self.with_sni.clone(), name).await
    }

    /// A TLS connection with SNI `name` (or none) that accepts whatever
    /// certificate the edge sends: it fails only when the edge sends none.
    pub async fn handshake_accepting_any(&self, name: &str, sni: bool) -> io::Result<TlsStream<TcpStream>> {
        self.connect_with(trusting_tls_config(sni), name).await
    }

    /// The leaf the edge serves for SNI `name` (the handshake must succeed).
    pub async fn leaf(&self, name: &str) -> Leaf {
        let tls = self
            .handshake(name)
            .await
            .unwrap_or_else(|e| panic!("TLS handshake with SNI {name} failed: {e}"));
        let (_, connection) = tls.get_ref();
        let certs = connection.peer_certificates().expect("server certificates");
        parse_leaf(certs[0].as_ref())
    }

    /// Sends `request` on a new TLS connection with SNI `sni`.
    pub async fn send(&self, sni: &str, request: &[u8]) -> Reply {
        let mut tls = self
            .handshake(sni)
            .await
            .unwrap_or_else(|e| panic!("TLS handshake with SNI {sni} failed: {e}"));
        let exchange = async {
            tls.write_all(request).await?;
            tls.flush().await?;
            read_reply(&mut tls).await
        };
        tokio::time::timeout(WAIT, exchange)
            .await
            .unwrap_or_else(|_| panic!("no response from the edge within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("HTTPS request with SNI {sni}: {e}"))
    }

    /// `GET path` on `host` (SNI and Host alike) with extra headers.
    pub async fn get_with(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let request = http_request("GET", path, Some(&self.authority(host)), headers, b"");
        self.send(host, &request).await
    }

    /// `GET path` on `host`, with the session cookie when given.
    pub async fn get(&self, host: &str, path: &str, session: Option<&Session>) -> Reply {
        match session {
            Some(s) => self.get_with(host, path, &[("Cookie", &s.cookie_header())]).await,
            None => self.get_with(host, path, &[]).await,
        }
    }

    /// `POST path` on `host` with a form body and extra headers, exactly as
    /// given (no Origin or CSRF token unless `headers` and `form` have them).
    pub async fn post_form(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        let body = form_body(form);
        let request = http_request("POST", path, Some(&self.authority(host)), &all, body.as_bytes());
        self.send(host, &request).await
    }

    /// Posts `form` to `path` on `host` as the page at `token_page` would
    /// for `session`: the host's Origin, the session cookie and that page's
    /// CSRF token.
    pub async fn submit(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
        session: &Session,
        token_page: &str,
    ) -> Reply {
        let page = self.get(host, token_page, Some(session)).await;
        let token = forms::csrf_field(&page.body)
            .unwrap_or_else(|| panic!("no CSRF field on {token_page}: {page:?}"));
        let mut fields = form.to_vec();
        fields.push((forms::CSRF_FIELD, &token));
        let cookie = session.cookie_header();
        let origin = self.origin(host);
        self.post_form(host, path, &fields, &[("Cookie", &cookie), ("Origin", &origin)])
            .await
    }

    /// What the sign-in page at `page` (path and query) on the canonical
    /// host gives an anonymous visitor: its CSRF cookie and token.
    pub async fn signin_csrf(&self, page: &str) -> forms::Csrf {
        let reply = self.get(CANONICAL, page, None).await;
        assert_eq!(reply.status, 200, "the sign-in page {page}: {reply:?}");
        let cookie = forms::cookie_pair(&reply.set_cookies(), forms::CSRF_COOKIE)
            .unwrap_or_else(|| panic!("{page} sets no CSRF cookie: {reply:?}"));
        let token = forms::csrf_field(&reply.body).unwrap_or_else(|| panic!("no CSRF field on {page}"));
        forms::Csrf { cookie, token }
    }

    /// `GET /auth/client-portal/handoff/start?next=…` on the custom domain
    /// `host`, as a browser without a session there is sent: asserts the
    /// 303 to the tenant's canonical sign-in with `next` and the binding,
    /// and the nonce cookie (host-only `__Host-`, Secure, HttpOnly, Lax);
    /// returns the nonce and where the browser goes.
    pub async fn handoff_start(&self, host: &str, next: Option<&str>) -> (Nonce, String) {
        let path = match next {
            Some(next) => format!("{HANDOFF_START}?{}", form_body(&[("next", next)])),
            None => HANDOFF_START.to_owned(),
        };
        let reply = self.get(host, &path, None).await;
        assert_eq!(reply.status, 303, "handoff start on {host}: {reply:?}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer", "{reply:?}");
        let location = reply.location().to_owned();
        let binding = forms::query_param(&location, "handoff")
            .unwrap_or_else(|| panic!("no handoff binding in {location}"));
        assert!(forms::is_binding_param(&binding), "{location}");
        let set_cookies = reply.set_cookies();
        assert_eq!(set_cookies.len(), 1, "{reply:?}");
        let attributes: Vec<&str> = set_cookies[0].split("; ").skip(1).collect();
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(attributes.contains(&attribute), "{attribute}: {set_cookies:?}");
        }
        assert!(
            !attributes.iter().any(|a| a.starts_with("Domain")),
            "host-only: {set_cookies:?}"
        );
        let cookie = forms::cookie_pair(&set_cookies, forms::NONCE_COOKIE)
            .unwrap_or_else(|| panic!("no nonce cookie: {reply:?}"));
        (Nonce { cookie, binding }, location)
    }

    /// Posts the client sign-in form on the canonical host as its page
    /// would (the page's CSRF cookie and token, the canonical Origin), with
    /// `next` and the handoff `binding` when given and extra headers.
    pub async fn sign_in_raw(
        &self,
        user: &DemoUser,
        next: Option<&str>,
        headers: &[(&str, &str)],
        binding: Option<&str>,
    ) -> Reply {
        let csrf = self.signin_csrf("/auth/client-portal/signin").await;
        let mut form = vec![
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            (forms::CSRF_FIELD, csrf.token.as_str()),
        ];
        if let Some(next) = next {
            form.push(("next", next));
        }
        if let Some(binding) = binding {
            form.push(("handoff", binding));
        }
        let origin = self.origin(CANONICAL);
        let mut all = vec![("Cookie", csrf.cookie.as_str()), ("Origin", origin.as_str())];
        all.extend_from_slice(headers);
        self.post_form(CANONICAL, "/auth/client-portal/signin", &form, &all)
            .await
    }

    /// Signs the demo client in the way a browser does from the custom
    /// domain: its handoff start (the nonce), then the canonical sign-in
    /// with the binding. Asserts the answer: 303 to exactly
    /// `https://<custom domain>:<port>/auth/client-portal/handoff?ott=<43 chars>&next=<next>`,
    /// not cacheable, and one canonical session cookie with exactly the
    /// documented attributes.
    pub async fn sign_in(&self, user: &DemoUser, next: Option<&str>) -> Handoff {
        let (nonce, _) = self.handoff_start(DEMO_CUSTOM_DOMAIN, next).await;
        let reply = self.sign_in_raw(user, next, &[], Some(&nonce.binding)).await;
        self.handoff_from(&reply, nonce)
    }

    #[track_caller]
    pub fn handoff_from(&self, reply: &Reply, nonce: Nonce) -> Handoff {
        assert_eq!(reply.status, 303, "sign-in: {reply:?}");
        assert_eq!(reply.header("cache-control"), "no-store");
        let cookies = reply.set_cookies();
        assert_eq!(cookies.len(), 1, "one Set-Cookie: {reply:?}");
        let canonical = session_from_set_cookie(&cookies[0]);
        let location = reply.location().to_owned();
        let (ott, next) = self.handoff_target(&location);
        Handoff {
            canonical,
            ott,
            next,
            location,
            nonce,
        }
    }

    /// `POST /api/client-portal/domain-session` on `host` with `body`, as the
    /// handoff page's script sends it: JSON, the host's own Origin, and the
    /// browser's nonce cookie when it has one.
    pub async fn exchange_body(&self, host: &str, body: &str, nonce: Option<&Nonce>) -> Reply {
        let origin = self.origin(host);
        let mut headers = vec![("Content-Type", "application/json"), ("Origin", origin.as_str())];
        if let Some(nonce) = nonce {
            headers.push(("Cookie", nonce.cookie.as_str()));
        }
        self.exchange_with(host, body, &headers).await
    }

    /// The exchange with exactly `headers`.
    pub async fn exchange_with(&self, host: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let request = http_request(
            "POST",
            EXCHANGE_PATH,
            Some(&self.authority(host)),
            headers,
            body.as_bytes(),
        );
        self.send(host, &request).await
    }

    /// Exchanges the token `ott` on `host` from a browser holding `nonce`.
    pub async fn exchange_token(&self, host: &str, ott: &str, nonce: Option<&Nonce>) -> Reply {
        self.exchange_body(host, &json!({ "ott": ott }).to_string(), nonce)
            .await
    }

    /// Exchanges the handoff's token on `host` from the browser that signed
    /// in (its nonce cookie).
    pub async fn exchange(&self, host: &str, handoff: &Handoff) -> Reply {
        self.exchange_token(host, &handoff.ott, Some(&handoff.nonce))
            .await
    }

    /// Exchanges the handoff's token on `host`, asserting success with
    /// exactly the documented cookies (the session; the spent nonce
    /// removed); returns the new session and `redirectTo`.
    pub async fn exchange_ok(&self, host: &str, handoff: &Handoff) -> (Session, String) {
        let reply = self.exchange(host, handoff).await;
        assert_exchanged(&reply, host)
    }

    /// The token and `next` of a handoff URL, asserting its exact shape:
    /// `https://<custom domain>:<port>/auth/client-portal/handoff?ott=<43 chars>&next=<next>`.
    #[track_caller]
    pub fn handoff_target(&self, location: &str) -> (String, String) {
        let prefix = format!("{}/auth/client-portal/handoff?", self.origin(DEMO_CUSTOM_DOMAIN));
        let query = location
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected a handoff to {prefix}..., got {location}"));
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ott", "next"], "handoff query: {location}");
        let ott = pairs[0].1.clone();
        assert_eq!(ott.len(), 43, "32 bytes in base64url: {location}");
        assert!(
            ott.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "base64url token: {location}"
        );
        // The token needs no escaping, so the URL carries it verbatim.
        assert!(query.starts_with(&format!("ott={ott}&next=")), "{location}");
        (ott, pairs[1].1.clone())
    }
}

/// A browser's handoff nonce on the custom domain, from its handoff start.
#[derive(Debug, Clone)]
pub struct Nonce {
    /// `__Host-porta.handoff=<nonce>`, as the browser sends it back.
    pub cookie: String,
    /// What the canonical sign-in was sent as `handoff=` (the nonce's hash).
    pub binding: String,
}

/// A sign-in on the canonical host, on its way to the custom domain.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// The canonical host's session.
    pub canonical: Session,
    pub ott: String,
    /// `next` of the handoff URL, decoded.
    pub next: String,
    pub location: String,
    /// The nonce of the browser that signed in.
    pub nonce: Nonce,
}

impl Handoff {
    /// The handoff URL's path and query (on the custom domain).
    pub fn path(&self) -> &str {
        let at = self.location.find("/auth/").expect("handoff path");
        &self.location[at..]
    }
}

/// Asserts a successful exchange on `host`: 200 JSON, not cacheable, the
/// host-only session cookie with exactly the documented attributes and the
/// nonce cookie removed; returns the session and `redirectTo`.
#[track_caller]
pub fn assert_exchanged(reply: &Reply, host: &str) -> (Session, String) {
    assert_eq!(reply.status, 200, "exchange on {host}: {reply:?}");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.header("cache-control"), "no-store");
    let cookies = reply.set_cookies();
    assert_eq!(cookies.len(), 2, "the session and the spent nonce: {reply:?}");
    // Exactly `; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=86400`:
    // no Domain attribute, so the cookie stays on this host.
    let session = session_from_set_cookie(&cookies[0]);
    let cleared = &cookies[1];
    assert!(
        cleared.starts_with(&format!("{}=;", forms::NONCE_COOKIE)) && cleared.contains("Max-Age=0"),
        "the nonce is removed: {cookies:?}"
    );
    let body: Value = serde_json::from_str(&reply.body).expect("JSON body");
    let object = body.as_object().expect("JSON object");
    assert_eq!(object.len(), 1, "only redirectTo: {body}");
    let redirect = body["redirectTo"].as_str().expect("redirectTo").to_owned();
    (session, redirect)
}

/// Asserts an exchange failed with exactly `status` and `{"error": code}`,
/// and set no cookie.
#[track_caller]
pub fn assert_exchange_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "expected {status} {code}: {reply:?}");
    assert_eq!(reply.header("content-type"), "application/json", "{reply:?}");
    assert_eq!(reply.header("cache-control"), "no-store", "{reply:?}");
    let body: Value =
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("JSON body ({e}): {reply:?}"));
    assert_eq!(body, json!({ "error": code }), "{reply:?}");
    assert!(
        reply.set_cookies().is_empty(),
        "a refused exchange set a cookie: {reply:?}"
    );
}

/// Asserts one of the edge's own branded HTML pages with `status` and `title`.
#[track_caller]
pub fn assert_branded(reply: &Reply, status: u16, title: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        "text/html; charset=utf-8",
        "{reply:?}"
    );
    assert!(
        reply.body.contains(&format!("<title>{title}</title>"))
            && reply.body.contains(&format!("<h1>{title}</h1>")),
        "expected the branded page {title:?}: {reply:?}"
    );
    assert!(
        reply.body.contains(&format!("data-status=\"{status}\"")),
        "{reply:?}"
    );
}

/// The `<title>` of an HTML page.
pub fn title(reply: &Reply) -> &str {
    let start = reply.body.find("<title>").map(|i| i + "<title>".len());
    let end = reply.body.find("</title>");
    match (start, end) {
        (Some(start), Some(end)) if start <= end => &reply.body[start..end],
        _ => panic!("no <title>: {reply:?}"),
    }
}

// ---------------------------------------------------------------------------
// Storage written as another process would

/// The demo tenant's id.
pub async fn tenant_id(db: &Db, slug: &str) -> TenantId {
    let slug = TenantSlug::parse(slug).expect("slug");
    tenants::find_by_slug(db, &slug)
        .await
        .expect("tenant lookup")
        .unwrap_or_else(|| panic!("no tenant {slug:?}"))
        .id
}

/// Creates a second tenant through the CLI; returns its id.
pub async fn create_tenant(store: &Store, db: &Db, slug: &str, name: &str) -> TenantId {
    let out = store
        .run(
            &["tenant", "create", "--slug", slug, "--name", name, "--json"],
            None,
        )
        .await;
    let created = out.json();
    assert_eq!(created["slug"], slug, "{created:?}");
    tenant_id(db, slug).await
}

/// Registers `domain` for `tenant` with `status`, as staff or an operator
/// would, after storing a certificate for it (whose leaf is returned).
///
/// Porta's lifecycle worker must not move the domain while a test looks at
/// it: the certificate comes first (an active domain without one would get
/// one from the worker), and a pending domain is registered disabled and
/// then moved to its status, which leaves it without a retry time, so the
/// worker never finds it due (it would otherwise check DNS and issue at
/// once).
pub async fn add_domain(
    store: &Store,
    db: &Db,
    tenant: TenantId,
    domain: &str,
    status: DomainStatus,
) -> Leaf {
    let leaf = store_certificate(store, db, Some(tenant), domain).await;
    let name = HostName::parse(domain).expect("domain");
    let expected = HostName::parse(CANONICAL).expect("canonical host");
    let pending = matches!(
        status,
        DomainStatus::PendingDns | DomainStatus::PendingCertificate
    );
    let created = portal_domains::create(
        db,
        &NewPortalDomain {
            tenant,
            domain: &name,
            status: if pending { DomainStatus::Disabled } else { status },
            status_message: "registered by the edge tests",
            expected_cname: &expected,
            issuer: Issuer::Internal,
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("register {domain}: {e}"));
    if pending {
        portal_domains::set_status(
            db,
            tenant,
            created.id,
            status,
            "set by the edge tests",
            UnixMillis::now(),
        )
        .await
        .unwrap_or_else(|e| panic!("move {domain} to {status}: {e}"));
    }
    let stored = portal_domains::find_by_name(db, &name)
        .await
        .expect("find the domain")
        .expect("the domain");
    assert_eq!(stored.status, status);
    assert_eq!(
        stored.next_retry_at, None,
        "{domain} would be due for the lifecycle worker"
    );
    leaf
}

/// Issues a certificate for `domain` from porta's local CA and stores it
/// with porta's master key (replacing the domain's current one); returns
/// its leaf.
pub async fn store_certificate(store: &Store, db: &Db, tenant: Option<TenantId>, domain: &str) -> Leaf {
    let ca = LocalCa::load_or_create(&store.data_dir().join("local-ca")).expect("porta's local CA");
    let master = MasterKey::load_or_create(&store.data_dir().join("master.key")).expect("porta's master key");
    let issued = ca
        .issue(&[domain.to_owned()], Duration::from_secs(30 * 24 * 3600))
        .expect("issue a certificate");
    porta_certs::store::insert(
        db,
        &master,
        &NewCertificate {
            tenant,
            domain,
            issuer: Issuer::Internal.into(),
            chain_pem: &issued.chain_pem,
            key_pem: &issued.key_pem,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("store a certificate for {domain}: {e}"));
    leaf_of_pem(&issued.chain_pem)
}

/// Rows in `portal_domain_otts`.
pub async fn ott_rows(db: &Db) -> i64 {
    let sql = "SELECT COUNT(*) FROM portal_domain_otts";
    let count = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    };
    count.expect("count one-time tokens")
}

/// Whether the token `ott` is stored unconsumed (`None`: not stored).
pub async fn ott_unconsumed(db: &Db, ott: &str) -> Option<bool> {
    let hash = OttToken::parse(ott).expect("token").hash().0.to_vec();
    let row: Result<Option<Option<i64>>, sqlx::Error> = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT consumed_at FROM portal_domain_otts WHERE token_hash = ?1")
                .bind(hash)
                .fetch_optional(pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT consumed_at FROM portal_domain_otts WHERE token_hash = $1")
                .bind(hash)
                .fetch_optional(pool)
                .await
        }
    };
    row.expect("read a one-time token")
        .map(|consumed| consumed.is_none())
}

/// Moves the expiry of token `ott` into the past, as time would.
pub async fn expire_ott(db: &Db, ott: &str) {
    let hash = OttToken::parse(ott).expect("token").hash().0.to_vec();
    let past = UnixMillis::now().0 - 1_000;
    let updated = match db {
        Db::Sqlite(pool) => {
            sqlx::query("UPDATE portal_domain_otts SET expires_at = ?1 WHERE token_hash = ?2")
                .bind(past)
                .bind(hash)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        }
        Db::Postgres(pool) => {
            sqlx::query("UPDATE portal_domain_otts SET expires_at = $1 WHERE token_hash = $2")
                .bind(past)
                .bind(hash)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        }
    };
    assert_eq!(updated.expect("expire a token"), 1);
}

// ---------------------------------------------------------------------------
// Other helpers

/// The demo client user (Jane Doe).
pub fn jane(store: &Store) -> DemoUser {
    demo_user(&store.demo_json(), "client")
}

/// Per-IP limits count in fixed wall-clock minutes: when less than `needed`
/// is left of this one, waits for the next, so that a test's requests all
/// fall into one window.
pub async fn within_one_minute(needed: Duration) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let into = Duration::from_millis(u64::try_from(now.as_millis() % 60_000).expect("ms"));
    let left = Duration::from_secs(60) - into;
    if left < needed {
        tokio::time::sleep(left + Duration::from_millis(200)).await;
    }
}
