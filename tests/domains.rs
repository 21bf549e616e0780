//! Custom domains end to end, against the real `porta` binary, a real ACME
//! CA (Debian's pebble on 127.0.0.1) and an authoritative test zone
//! (hickory on 127.0.0.1) that both porta and pebble resolve with.
//!
//! The zone serves `test.`: the tenant's canonical host lives in it
//! (`PORTA_CANONICAL_BASE=portal.test`, so the demo tenant's is
//! `acme.portal.test`, A 127.0.0.1), and so do the custom domains
//! (`shop.example.test`). Pebble validates against the edge under test:
//! HTTP-01 on the edge's plain-HTTP port, TLS-ALPN-01 on its TLS port; a
//! challenge kind a test does not want used is pointed at a closed port, so
//! the test passes only through the path it names.
//!
//! Staff use the JSON API on the canonical host (plain HTTP to the portal,
//! as the edge forwards it); operators use the CLI. Every test that touches
//! storage runs on SQLite and PostgreSQL; the two-node test needs
//! PostgreSQL.

mod common;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    demo_user, forms, free_port, metric_sample, run_command, Outcome, Porta, Ports, Store, SESSION_COOKIE,
};
use porta_certs::store::CertificateInfo;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditRow};
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{tenants, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;
use porta_core::slug::TenantSlug;
use porta_testkit::dns::TestZone;
use porta_testkit::pebble::{Pebble, PebbleOptions};
use porta_testkit::{both_backends, Backend, TestDb};
use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

both_backends! {
    http01_from_registration_to_a_trusted_certificate => http01_story;
    tls_alpn01_through_the_edge_pre_tls_hook => tls_alpn01_story;
    cert_renew_replaces_the_served_certificate => renewal;
    ca_outage_keeps_the_old_certificate_and_backs_off => ca_outage;
    trusted_internal_domain_is_served_until_disabled => trusted_internal;
    failed_order_is_retried_from_the_dns_step => failed_order_retried;
    a_name_two_tenants_registered_goes_to_the_one_that_proves_it => contested_name;
}

/// Two edge processes on one PostgreSQL database (SQLite is one node only).
mod two_edges_one_database {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = porta_testkit::TestDb::new(porta_testkit::Backend::Postgres).await;
        super::two_edges(db).await;
    }
}

const DOMAIN: &str = "shop.example.test";
/// What CA rate limits (and porta's order budget and audit rows) count by.
const REGISTERED: &str = "example.test";
const CANONICAL_BASE: &str = "portal.test";
/// The demo tenant's canonical host: the CNAME target staff are told.
const CANONICAL: &str = "acme.portal.test";
const API: &str = "/api/msp/portal-domain";
/// Bound on a domain going from an aligned CNAME to `active`.
const ACTIVATION: Duration = Duration::from_secs(90);
/// Bound on anything that takes a few worker ticks or cache lifetimes.
const SHORT: Duration = Duration::from_secs(30);
/// Bound on one network exchange of the test itself.
const EXCHANGE: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// The world: zone, pebble, porta's store and environment

/// Which edge listeners pebble validates against; the other is a closed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validation {
    /// HTTP-01 only (pebble's TLS-ALPN-01 port is closed).
    Http01,
    /// TLS-ALPN-01 only (pebble's HTTP-01 port is closed), and porta is told
    /// to use only `tls-alpn-01`.
    TlsAlpn01,
    /// Both, on the edge's two listeners.
    Both,
}

struct World {
    zone: TestZone,
    pebble: Pebble,
    store: Store,
    /// Every `PORTA_*` variable the test sets on porta (servers and CLI).
    env: Vec<(String, String)>,
}

impl World {
    async fn new(db: &TestDb, validation: Validation) -> World {
        let store = Store::new(db);
        let http_port = match validation {
            Validation::TlsAlpn01 => free_port(),
            _ => store.ports.edge_http,
        };
        let tls_port = match validation {
            Validation::Http01 => free_port(),
            _ => store.ports.edge_https,
        };
        let order = match validation {
            Validation::TlsAlpn01 => "tls-alpn-01",
            _ => "http-01,tls-alpn-01",
        };
        World::with(store, http_port, tls_port, order).await
    }

    /// Pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on
    /// `tls_port` of 127.0.0.1; porta told to use `challenge_order`.
    async fn with(store: Store, http_port: u16, tls_port: u16, challenge_order: &str) -> World {
        let zone = TestZone::start("test.").await;
        zone.set_a(CANONICAL, Ipv4Addr::LOCALHOST).await;
        let pebble = Pebble::start(PebbleOptions {
            http_port,
            tls_port,
            dns: zone.addr(),
            eab: false,
        })
        .await;
        let env = [
            ("PORTA_CANONICAL_BASE", CANONICAL_BASE.to_owned()),
            ("PORTA_ACME_DIRECTORY", pebble.directory_url()),
            ("PORTA_ACME_ROOT_CA", pebble.ca_pem_path().display().to_string()),
            ("PORTA_ACME_CONTACT", "ops@example.test".to_owned()),
            ("PORTA_ACME_CHALLENGE_ORDER", challenge_order.to_owned()),
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
        World {
            zone,
            pebble,
            store,
            env,
        }
    }

    /// The environment, with `extra` after it (so it wins).
    fn env_with<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra);
        env
    }

    /// `porta up` (portal, edge, lifecycle worker).
    fn up(&self) -> Porta {
        self.up_with(&[])
    }

    fn up_with(&self, extra: &[(&str, &str)]) -> Porta {
        self.store.start("up", &self.env_with(extra))
    }

    /// `porta ARGS` (one-shot, same configuration as the servers).
    async fn cli(&self, args: &[&str]) -> Outcome {
        let mut cmd = self.store.command(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        run_command(cmd, None).await
    }

    /// `porta domain show DOMAIN --json`.
    async fn domain_show(&self, domain: &str) -> Map<String, Value> {
        self.cli(&["domain", "show", domain, "--json"]).await.json()
    }

    /// The MSP staff admin of the demo tenant, signed in on the canonical
    /// host of `porta`'s portal.
    async fn staff(&self, porta: &Porta) -> Staff {
        Staff::sign_in(porta.addr, self.store.ports.edge_https, &self.store.demo_json()).await
    }

    /// A client trusting only the root pebble issues under (right now:
    /// pebble makes a new one at every launch).
    async fn pebble_trust(&self) -> Arc<ClientConfig> {
        client_config(&self.pebble.issuing_roots_pem().await)
    }

    /// A client trusting only porta's local CA.
    fn local_ca_trust(&self) -> Arc<ClientConfig> {
        let path = self.store.data_dir().join("local-ca").join("root.pem");
        let pem =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        client_config(&pem)
    }
}

// ---------------------------------------------------------------------------
// Staff: the JSON API and the page on the canonical host

struct Staff {
    http: reqwest::Client,
    origin: String,
    /// What the staff's browser sends as `Origin`: the canonical host on
    /// the edge's HTTPS port.
    browser_origin: String,
    cookie: String,
}

impl Staff {
    /// Signs the demo's staff admin in on the canonical host of the portal
    /// at `portal` (reached as the edge reaches it), as the sign-in page
    /// posts its form: the page's CSRF cookie and token, the Origin of the
    /// site browsers see on `https_port`.
    async fn sign_in(portal: SocketAddr, https_port: u16, demo: &Value) -> Staff {
        let admin = demo_user(demo, "internal");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(EXCHANGE)
            .build()
            .expect("HTTP client");
        let origin = format!("http://{portal}");
        let browser_origin = format!("https://{CANONICAL}:{https_port}");
        let page = http
            .get(format!("{origin}/auth/msp/signin"))
            .header("x-forwarded-host", CANONICAL)
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .expect("the staff sign-in page");
        let set_cookies: Vec<String> = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let csrf_cookie = forms::cookie_pair(&set_cookies, forms::CSRF_COOKIE)
            .unwrap_or_else(|| panic!("the staff sign-in page sets no CSRF cookie: {set_cookies:?}"));
        let html = page.text().await.expect("sign-in page body");
        let token = forms::csrf_field(&html).expect("a CSRF field on the staff sign-in page");
        let response = http
            .post(format!("{origin}/auth/msp/signin"))
            .header("x-forwarded-host", CANONICAL)
            .header("x-forwarded-proto", "https")
            .header("origin", &browser_origin)
            .header("cookie", &csrf_cookie)
            .form(&[
                ("email", admin.email.as_str()),
                ("password", admin.password.as_str()),
                (forms::CSRF_FIELD, token.as_str()),
            ])
            .send()
            .await
            .expect("staff sign-in request");
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 303, "staff sign-in: {body}");
        let cookie = cookie.unwrap_or_else(|| panic!("staff sign-in set no session cookie: {body}"));
        Staff {
            http,
            origin,
            browser_origin,
            cookie,
        }
    }

    /// A request as the staff's browser sends it (a state-changing one with
    /// the site's Origin, as the settings page's script would).
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method.clone(), format!("{}{path}", self.origin))
            .header("x-forwarded-host", CANONICAL)
            .header("x-forwarded-proto", "https")
            .header("cookie", &self.cookie);
        if method == Method::GET || method == Method::HEAD {
            request
        } else {
            request.header("origin", &self.browser_origin)
        }
    }

    /// A call of the staff API: status and JSON body (`null` when empty).
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("API body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
        };
        (status, json)
    }

    /// `GET /api/msp/portal-domain` → its `domain` (asserting 200).
    async fn domain(&self) -> Value {
        let (status, body) = self.api(Method::GET, API, None).await;
        assert_eq!(status, 200, "GET {API}: {body}");
        body["domain"].clone()
    }

    /// Replaces the demo domain with `domain` (DELETE, then POST), asserting
    /// the registration's answer.
    async fn register(&self, domain: &str) -> Value {
        let (status, body) = self.api(Method::DELETE, API, None).await;
        assert_eq!(status, 204, "DELETE {API} (the demo domain): {body}");
        let (status, body) = self
            .api(Method::POST, API, Some(json!({ "domain": domain })))
            .await;
        assert_eq!(status, 201, "POST {API}: {body}");
        let d = body["domain"].clone();
        assert_eq!(d["name"], domain, "{d}");
        assert_eq!(d["status"], "pending_dns", "{d}");
        assert_eq!(d["issuer"], "acme", "an ACME CA is configured: {d}");
        assert_eq!(d["trust_dns"], false, "{d}");
        assert_eq!(
            d["cname"],
            json!({ "name": domain, "type": "CNAME", "target": CANONICAL }),
            "{d}"
        );
        assert_eq!(d["observed"], Value::Null, "not checked yet: {d}");
        assert_eq!(d["attempts"], 0, "{d}");
        // The other proof of control, and none yet.
        assert_eq!(d["txt"]["name"], format!("_porta-challenge.{domain}"), "{d}");
        assert_eq!(d["txt"]["type"], "TXT", "{d}");
        assert_eq!(d["verified"], false, "{d}");
        d
    }

    /// The settings page, as HTML.
    async fn page(&self) -> String {
        let response = self
            .request(Method::GET, "/msp/settings/portal-domain")
            .send()
            .await
            .expect("GET the portal-domain page");
        assert_eq!(response.status().as_u16(), 200, "the portal-domain page");
        response.text().await.expect("page body")
    }
}

/// Waits (bounded) until the staff API shows `domain` as `active`; panics
/// at once if it lands in `failed`.
async fn wait_active(staff: &Staff) -> Value {
    eventually("the domain becomes active", ACTIVATION, move || async move {
        let d = staff.domain().await;
        match d["status"].as_str() {
            Some("active") => Ok(d),
            Some("failed") => panic!("the domain failed instead of becoming active: {d}"),
            _ => Err(d.to_string()),
        }
    })
    .await
}

/// The serial in `Certificate issued (serial X)`.
#[track_caller]
fn issued_serial(domain: &Value) -> String {
    let message = domain["status_message"].as_str().expect("status_message");
    message
        .strip_prefix("Certificate issued (serial ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a `Certificate issued` message: {message:?}"))
        .to_owned()
}

// ---------------------------------------------------------------------------
// TLS and HTTPS to the edge

/// A TLS client trusting exactly the certificates of `roots_pem`.
fn client_config(roots_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(der.expect("PEM root")).expect("a usable root");
    }
    assert!(!roots.is_empty(), "no root certificate in {roots_pem:?}");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// What the edge served as the leaf of a verified handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    /// Lower-case hex without leading zero bytes (as porta stores it).
    serial: String,
    /// DNS names of the subjectAltName, sorted.
    sans: Vec<String>,
}

fn parse_leaf(der: &[u8]) -> Leaf {
    let (_, cert) = X509Certificate::from_der(der).expect("X.509 leaf");
    let raw = cert.raw_serial();
    let first = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    let serial = raw[first..].iter().map(|b| format!("{b:02x}")).collect();
    let mut sans: Vec<String> = cert
        .subject_alternative_name()
        .expect("well-formed subjectAltName")
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    sans.sort();
    Leaf { serial, sans }
}

/// A TLS connection to 127.0.0.1:`port` with SNI `name`, verified by
/// `config` (for `name`).
async fn connect(
    port: u16,
    name: &str,
    config: Arc<ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let handshake = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
        let server_name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
        TlsConnector::from(config)
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with SNI {name} on port {port}: {e}"))
    };
    tokio::time::timeout(EXCHANGE, handshake)
        .await
        .map_err(|_| format!("TLS handshake with SNI {name} took over {EXCHANGE:?}"))?
}

/// The leaf the edge on `port` serves for SNI `name`, when it verifies
/// against `config`'s roots for that name.
async fn served_leaf(port: u16, name: &str, config: Arc<ClientConfig>) -> Result<Leaf, String> {
    let tls = connect(port, name, config).await?;
    let (_, connection) = tls.get_ref();
    let certs = connection.peer_certificates().ok_or("no server certificate")?;
    Ok(parse_leaf(certs[0].as_ref()))
}

/// The status and `Location` of `GET path` over HTTPS on `host` (SNI and
/// Host alike).
async fn https_get(
    port: u16,
    host: &str,
    path: &str,
    config: Arc<ClientConfig>,
) -> Result<(u16, Option<String>), String> {
    let mut tls = connect(port, host, config).await?;
    let exchange = async {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "the edge closed before the end of the head: {:?}",
                    String::from_utf8_lossy(&head)
                ));
            }
            head.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line: {head:?}"))?;
        let location = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
        Ok((status, location))
    };
    tokio::time::timeout(EXCHANGE, exchange)
        .await
        .map_err(|_| format!("no answer to GET {path} on {host} within {EXCHANGE:?}"))?
}

/// Asserts that the edge routes `host` to the demo tenant's portal: its
/// sign-in page there starts the handoff, whose start sends browsers to the
/// tenant's canonical host.
async fn assert_routed_to_tenant(port: u16, host: &str, config: Arc<ClientConfig>) {
    let (status, location) = https_get(port, host, "/auth/client-portal/signin", config.clone())
        .await
        .unwrap_or_else(|e| panic!("GET the sign-in page on {host}: {e}"));
    let start = "/auth/client-portal/handoff/start?next=%2Fclient-portal%2Fdashboard";
    assert!(
        status == 303 && location.as_deref() == Some(start),
        "{host} is routed to the portal (303 to {start}): {status} {location:?}"
    );
    let (status, location) = https_get(port, host, start, config)
        .await
        .unwrap_or_else(|e| panic!("GET the handoff start on {host}: {e}"));
    let canonical_signin = format!("https://{CANONICAL}:{port}/auth/client-portal/signin?");
    assert!(
        status == 303
            && location
                .as_deref()
                .is_some_and(|l| l.starts_with(&canonical_signin)),
        "{host} is routed to the tenant (303 to {canonical_signin}...): {status} {location:?}"
    );
}

// ---------------------------------------------------------------------------
// Metrics and storage

/// `porta_certificate_orders_total{outcome="issued"}` of a node (0 if none).
async fn issued_orders(porta: &Porta) -> f64 {
    metric_sample(
        &porta.metrics().await,
        r#"porta_certificate_orders_total{outcome="issued"}"#,
    )
    .unwrap_or(0.0)
}

async fn demo_tenant(db: &Db) -> TenantId {
    let slug = TenantSlug::parse("acme").expect("slug");
    tenants::find_by_slug(db, &slug)
        .await
        .expect("find the demo tenant")
        .expect("the demo tenant exists")
        .id
}

/// The tenant's audit rows, oldest first.
async fn audit_rows(db: &Db, tenant: TenantId) -> Vec<AuditRow> {
    let mut rows = audit::recent(db, tenant, 1000).await.expect("audit rows");
    rows.reverse();
    rows
}

/// `(outcome, from, to, message)` of the `portal_domain.status` rows about
/// `domain`, oldest first.
async fn status_changes(db: &Db, tenant: TenantId, domain: &str) -> Vec<(String, String, String, String)> {
    audit_rows(db, tenant)
        .await
        .into_iter()
        .filter(|r| r.action == "portal_domain.status" && r.subject.as_deref() == Some(domain))
        .map(|r| {
            let detail: Value =
                serde_json::from_str(r.detail.as_deref().unwrap_or("null")).expect("detail JSON");
            let text = |k: &str| detail[k].as_str().unwrap_or_default().to_owned();
            (r.outcome.clone(), text("from"), text("to"), text("message"))
        })
        .collect()
}

/// `certificate.order` rows for `registered` (any tenant, ever).
async fn order_rows(db: &Db, registered: &str) -> i64 {
    audit::count_since(db, "certificate.order", registered, UnixMillis(0))
        .await
        .expect("count certificate.order rows")
}

/// Asserts exactly `expected` `certificate.order` rows for `registered`
/// (orders of `domain`, the only domain under it), with the evidence when
/// not: every order row and certificate row with their times.
async fn assert_orders(db: &Db, registered: &str, domain: &str, expected: i64) {
    let count = order_rows(db, registered).await;
    if count == expected {
        return;
    }
    let tenant = demo_tenant(db).await;
    let orders: Vec<String> = audit_rows(db, tenant)
        .await
        .into_iter()
        .filter(|r| r.action == "certificate.order" && r.subject.as_deref() == Some(registered))
        .map(|r| format!("{} {} {}", r.created_at, r.outcome, r.detail.unwrap_or_default()))
        .collect();
    let certs: Vec<String> = certificates(db, domain)
        .await
        .into_iter()
        .map(|c| {
            format!(
                "serial {} not_before {} created_at {} replaced_at {:?}",
                c.serial, c.not_before.0, c.created_at.0, c.replaced_at
            )
        })
        .collect();
    let changes = status_changes(db, tenant, domain).await;
    panic!(
        "{count} ACME orders for {domain}, expected {expected}\norders:\n  {}\ncertificates:\n  {}\nstatus changes: {changes:?}",
        orders.join("\n  "),
        certs.join("\n  ")
    );
}

/// Every stored certificate of `domain`, oldest first.
async fn certificates(db: &Db, domain: &str) -> Vec<CertificateInfo> {
    let mut rows: Vec<CertificateInfo> = porta_certs::store::list(db)
        .await
        .expect("list certificates")
        .into_iter()
        .filter(|c| c.domain == domain)
        .collect();
    rows.sort_by_key(|c| c.created_at.0);
    rows
}

/// Polls `probe` until it returns `Ok`, at most `timeout`; panics with the
/// last `Err` (a description of what it saw).
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

// ---------------------------------------------------------------------------
// 1 and 2. The whole story

/// Tests 1 and 2: staff register `shop.example.test` through the API; with
/// no CNAME in the zone it waits in `pending_dns`, shows what DNS answers
/// and is re-checked later each time; once the CNAME is there it goes
/// through `pending_certificate` to `active` with a certificate from
/// pebble, validated through the edge by the one challenge kind
/// `validation` leaves open; a client trusting only pebble's issuing root
/// gets that certificate for the name from the edge; the request is routed
/// to the tenant; the page, the audit log and the metrics say so.
async fn story(db: TestDb, validation: Validation) {
    let world = World::new(&db, validation).await;
    // An A record and no CNAME yet: what an MSP has before following the
    // instructions.
    world.zone.set_a(DOMAIN, Ipv4Addr::LOCALHOST).await;
    let porta = world.up();
    let staff = world.staff(&porta).await;
    staff.register(DOMAIN).await;

    // Not aligned: it stays pending_dns, says what DNS answers, and is
    // checked again later, each time a little later than the last.
    let waiting = |d: &Value| {
        assert_eq!(d["status"], "pending_dns", "no CNAME yet: {d}");
        assert_eq!(
            d["observed"],
            json!([format!("{DOMAIN} A 127.0.0.1")]),
            "observed: {d}"
        );
        let attempts = d["attempts"].as_i64().expect("attempts");
        assert_eq!(
            d["status_message"],
            format!(
                "Waiting for a CNAME record from {DOMAIN} to {CANONICAL}: DNS answers {DOMAIN} A 127.0.0.1. \
                 Checked {attempts} time(s)."
            ),
            "{d}"
        );
        let next = d["next_check_at"].as_i64().expect("a next check");
        let last = d["last_checked_at"].as_i64().expect("checked");
        assert!(next > last, "the next check is after the last: {d}");
        (attempts, next, next - last)
    };
    let s = &staff;
    let mut checks: Vec<Value> = Vec::new();
    for n in 0..3 {
        let after = checks.last().map_or(0, |d| d["attempts"].as_i64().unwrap_or(0));
        let d = eventually(&format!("DNS check {}", n + 1), SHORT, move || async move {
            let d = s.domain().await;
            if d["attempts"].as_i64().unwrap_or(0) > after {
                Ok(d)
            } else {
                Err(d.to_string())
            }
        })
        .await;
        checks.push(d);
    }
    let seen: Vec<(i64, i64, i64)> = checks.iter().map(waiting).collect();
    assert!(
        seen.windows(2).all(|w| w[1].1 > w[0].1),
        "next_check_at moves on: {seen:?}"
    );
    if seen[0].0 == 1 && seen[2].0 >= 3 {
        // From a first retry of 1 s, doubling (±20 %) up to 4 s: the wait
        // after the third check is longer than after the first.
        assert!(
            seen[2].2 > seen[0].2,
            "the wait between checks grows (attempts, next_check_at, wait in ms): {seen:?}"
        );
    }

    // The CNAME appears: pending_certificate, then active.
    world.zone.set_cname(DOMAIN, CANONICAL).await;
    let active = wait_active(&staff).await;
    let serial = issued_serial(&active);
    assert_eq!(active["attempts"], 0, "{active}");
    assert_eq!(active["next_check_at"], Value::Null, "{active}");
    assert!(active["activated_at"].as_i64().is_some(), "{active}");
    assert_eq!(
        active["observed"],
        json!([format!("{DOMAIN} CNAME {CANONICAL}")]),
        "what DNS answered when it aligned: {active}"
    );

    // A client trusting only pebble's issuing root: the edge serves the
    // certificate for the name (verified), the one the record names.
    let trust = world.pebble_trust().await;
    let port = world.store.ports.edge_https;
    let t = trust.clone();
    let leaf = eventually("the edge serves the certificate", SHORT, move || {
        let t = t.clone();
        async move { served_leaf(port, DOMAIN, t).await }
    })
    .await;
    assert_eq!(leaf.sans, [DOMAIN]);
    assert_eq!(leaf.serial, serial, "the served certificate is the one issued");
    // ... and not one from porta's local CA.
    let local = served_leaf(port, DOMAIN, world.local_ca_trust()).await;
    assert!(local.is_err(), "the local CA must not vouch for it: {local:?}");
    // The edge routes the name to the tenant now.
    assert_routed_to_tenant(port, DOMAIN, trust).await;

    // The staff page shows it active.
    let page = staff.page().await;
    assert!(
        page.contains(r#"<dd id="domain-status">active</dd>"#),
        "the page shows the domain active:\n{page}"
    );

    // An order that was still under way (a second one, say) lands in the
    // audit log and the certificates within a few ticks.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Audit: the registration, then exactly the two status changes, each
    // with its reason; one ACME order for the registered domain; one
    // certificate row, the served one.
    let pool = world.store.connect_db().await;
    let tenant = demo_tenant(&pool).await;
    let actions: Vec<(String, String)> = audit_rows(&pool, tenant)
        .await
        .into_iter()
        .filter(|r| r.subject.as_deref() == Some(DOMAIN))
        .map(|r| (r.action, r.outcome))
        .collect();
    assert_eq!(
        actions,
        [
            ("portal_domain.register".to_owned(), "success".to_owned()),
            (
                "portal_domain.status".to_owned(),
                "pending_certificate".to_owned()
            ),
            ("portal_domain.status".to_owned(), "active".to_owned()),
        ],
        "audit rows about {DOMAIN}"
    );
    assert_eq!(
        status_changes(&pool, tenant, DOMAIN).await,
        [
            (
                "pending_certificate".to_owned(),
                "pending_dns".to_owned(),
                "pending_certificate".to_owned(),
                format!("CNAME verified: {DOMAIN} points at {CANONICAL}"),
            ),
            (
                "active".to_owned(),
                "pending_certificate".to_owned(),
                "active".to_owned(),
                format!("Certificate issued (serial {serial})"),
            ),
        ]
    );
    assert_orders(&pool, REGISTERED, DOMAIN, 1).await;
    let certs = certificates(&pool, DOMAIN).await;
    assert_eq!(certs.len(), 1, "one certificate row: {certs:?}");
    assert_eq!(certs[0].serial, serial);
    assert_eq!(certs[0].issuer.as_str(), "acme");
    assert_eq!(certs[0].replaced_at, None);

    // Metrics: one issued order, the domain counted active, its expiry.
    let p = &porta;
    eventually("the metrics", SHORT, move || async move {
        let text = p.metrics().await;
        let issued = metric_sample::<f64>(&text, r#"porta_certificate_orders_total{outcome="issued"}"#);
        let active = metric_sample::<f64>(&text, r#"porta_domains{status="active"}"#);
        let pending = metric_sample::<f64>(&text, r#"porta_domains{status="pending_dns"}"#);
        let expiry = metric_sample::<f64>(
            &text,
            &format!(r#"porta_certificate_expiry_days{{domain="{DOMAIN}"}}"#),
        );
        match (issued, active, pending, expiry) {
            (Some(i), Some(a), Some(p), Some(e)) if i == 1.0 && a == 1.0 && p == 0.0 && e > 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// Test 1: HTTP-01, answered on the edge's plain-HTTP listener.
async fn http01_story(db: TestDb) {
    story(db, Validation::Http01).await;
}

/// Test 2: TLS-ALPN-01 only, answered by the edge's pre-TLS hook on its
/// TLS listener (pebble's HTTP-01 port is closed).
async fn tls_alpn01_story(db: TestDb) {
    story(db, Validation::TlsAlpn01).await;
}

/// Registers `DOMAIN` (its CNAME already in place) and waits until it is
/// active and the edge serves its certificate (verified with `trust`).
async fn activate(world: &World, staff: &Staff, trust: Arc<ClientConfig>) -> Leaf {
    world.zone.set_cname(DOMAIN, CANONICAL).await;
    staff.register(DOMAIN).await;
    let active = wait_active(staff).await;
    let serial = issued_serial(&active);
    let port = world.store.ports.edge_https;
    let leaf = eventually("the edge serves the certificate", SHORT, move || {
        let t = trust.clone();
        async move { served_leaf(port, DOMAIN, t).await }
    })
    .await;
    assert_eq!(leaf.serial, serial);
    // Exactly one order, also after the ticks that follow activation.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pool = world.store.connect_db().await;
    assert_orders(&pool, REGISTERED, DOMAIN, 1).await;
    leaf
}

// ---------------------------------------------------------------------------
// 3. Renewal

/// `porta cert renew` orders a new certificate at once and prints its
/// serial; the edge serves it within the cache lifetime and never the old
/// one afterwards; the old row is marked replaced.
async fn renewal(db: TestDb) {
    let world = World::new(&db, Validation::Both).await;
    let porta = world.up();
    let staff = world.staff(&porta).await;
    let trust = world.pebble_trust().await;
    let old = activate(&world, &staff, trust.clone()).await;

    let renewed = world.cli(&["cert", "renew", DOMAIN, "--json"]).await.json();
    let mut keys: Vec<&str> = renewed.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["domain", "not_after", "serial"], "{renewed:?}");
    assert_eq!(renewed["domain"], DOMAIN);
    let new_serial = renewed["serial"].as_str().expect("serial").to_owned();
    assert_ne!(new_serial, old.serial, "a new certificate");

    let port = world.store.ports.edge_https;
    let t = trust.clone();
    let expected = new_serial.clone();
    eventually("the edge serves the renewed certificate", SHORT, move || {
        let t = t.clone();
        let expected = expected.clone();
        async move {
            let leaf = served_leaf(port, DOMAIN, t).await?;
            if leaf.serial == expected {
                Ok(())
            } else {
                Err(format!("serial {}", leaf.serial))
            }
        }
    })
    .await;
    // From then on, only the new one (over more than a cache lifetime).
    for _ in 0..12 {
        let leaf = served_leaf(port, DOMAIN, trust.clone())
            .await
            .expect("TLS to the renewed domain");
        assert_eq!(leaf.serial, new_serial, "the old certificate came back");
        assert_eq!(leaf.sans, [DOMAIN]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let pool = world.store.connect_db().await;
    // The first order and the renewal.
    assert_orders(&pool, REGISTERED, DOMAIN, 2).await;
    let certs = certificates(&pool, DOMAIN).await;
    assert_eq!(certs.len(), 2, "{certs:?}");
    assert_eq!(certs[0].serial, old.serial);
    assert!(
        certs[0].replaced_at.is_some(),
        "the old row is replaced: {certs:?}"
    );
    assert_eq!(certs[1].serial, new_serial);
    assert_eq!(certs[1].replaced_at, None);

    let shown = world.domain_show(DOMAIN).await;
    assert_eq!(shown["status"], "active", "{shown:?}");
    assert_eq!(shown["certificate"]["serial"], new_serial.as_str(), "{shown:?}");
    let cert = world.cli(&["cert", "show", DOMAIN, "--json"]).await.json();
    assert_eq!(cert["serial"], new_serial.as_str(), "{cert:?}");
}

// ---------------------------------------------------------------------------
// 4. The CA is down

/// A TCP relay from a port of 127.0.0.1 to pebble's ACME listener: porta
/// talks to pebble through it, so the CA can go away (connections refused,
/// open ones cut) and come back on the same address with its state intact
/// (pebble builds its URLs from the request's Host, so they name the relay).
struct CaRelay {
    port: u16,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CaRelay {
    async fn start(target: SocketAddr) -> CaRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the CA relay");
        let port = listener.local_addr().expect("relay address").port();
        let mut relay = CaRelay {
            port,
            target,
            task: None,
        };
        relay.serve(listener);
        relay
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropped (aborted) with the accept loop: open connections die too.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// The CA's directory through the relay.
    fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// Refuses new connections and cuts open ones.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    async fn resume(&mut self) {
        let deadline = Instant::now() + EXCHANGE;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() >= deadline => panic!("rebind the CA relay: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        self.serve(listener);
    }
}

impl Drop for CaRelay {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Asserts one failed `porta cert renew` while the domain has `old`: exit
/// code 1, nothing on stdout, an error naming the reason (`why`), and
/// returns `domain show --json` after it.
async fn renew_fails(world: &World, old: &Leaf, why: &str) -> Map<String, Value> {
    let failed = world.cli(&["cert", "renew", DOMAIN, "--json"]).await;
    renewal_failed(world, &failed, old, why).await
}

/// [`renew_fails`] for a renewal that already ran.
async fn renewal_failed(world: &World, failed: &Outcome, old: &Leaf, why: &str) -> Map<String, Value> {
    assert_eq!(failed.status.code(), Some(1), "the renewal must fail: {failed:?}");
    assert_eq!(failed.stdout, "", "{failed:?}");
    let message = failed.stderr.lines().last().unwrap_or_default();
    assert!(
        message.starts_with(&format!("error: renewal of {DOMAIN} failed: Renewal failed: "))
            && message.contains(why),
        "the error says the renewal failed and why ({why}): {failed:?}"
    );
    let shown = world.domain_show(DOMAIN).await;
    assert_eq!(
        shown["status"], "active",
        "a failed renewal keeps it active: {shown:?}"
    );
    let status_message = shown["status_message"].as_str().expect("status_message");
    assert!(
        status_message.starts_with("Renewal failed: ")
            && status_message.contains(why)
            && status_message.ends_with("The current certificate is still served."),
        "{status_message}"
    );
    assert_eq!(
        shown["certificate"]["serial"],
        old.serial.as_str(),
        "the stored certificate is still the old one: {shown:?}"
    );
    assert!(
        shown["next_retry_at"].as_i64().is_some(),
        "a next retry after a failure: {shown:?}"
    );
    shown
}

/// Asserts, past a certificate-cache lifetime, that the edge still serves
/// `old` (verified with `trust`).
async fn still_served(world: &World, old: &Leaf, trust: &Arc<ClientConfig>) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for _ in 0..3 {
        let leaf = served_leaf(world.store.ports.edge_https, DOMAIN, trust.clone())
            .await
            .expect("the old certificate is still served");
        assert_eq!(leaf.serial, old.serial, "the edge serves the old certificate");
    }
}

/// Asserts that the edge serves `serial` within the cache lifetime (verified
/// with `trust`) and nothing else afterwards.
async fn served_from_now_on(world: &World, serial: &str, trust: &Arc<ClientConfig>) {
    let port = world.store.ports.edge_https;
    let t = trust.clone();
    let expected = serial.to_owned();
    eventually("the edge serves the new certificate", SHORT, move || {
        let t = t.clone();
        let expected = expected.clone();
        async move {
            let leaf = served_leaf(port, DOMAIN, t).await?;
            if leaf.serial == expected {
                Ok(())
            } else {
                Err(format!("serial {}", leaf.serial))
            }
        }
    })
    .await;
    for _ in 0..12 {
        let leaf = served_leaf(port, DOMAIN, trust.clone())
            .await
            .expect("TLS to the renewed domain");
        assert_eq!(leaf.serial, serial, "the old certificate came back");
        assert_eq!(leaf.sans, [DOMAIN]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With the CA unreachable, `cert renew` fails; the domain stays active
/// with "renewal failed" and the reason in its status, its attempts grow and
/// its next retry moves later, and the edge keeps serving the old
/// certificate. The CA back (same pebble, same account): the next renewal
/// succeeds, is served, and clears the failure.
///
/// Then pebble itself is restarted, which loses every account and makes a
/// new root: the stored account no longer exists. Porta either renews
/// anyway or fails naming `accountDoesNotExist` (and the next renewal, with
/// a new account, succeeds); in both cases the domain
/// stays active and keeps a certificate the edge serves.
async fn ca_outage(db: TestDb) {
    let mut world = World::new(&db, Validation::Both).await;
    let pebble_addr: SocketAddr = world
        .pebble
        .directory_url()
        .trim_start_matches("https://")
        .trim_end_matches("/dir")
        .parse()
        .expect("pebble's address");
    let mut relay = CaRelay::start(pebble_addr).await;
    for (name, value) in &mut world.env {
        if name == "PORTA_ACME_DIRECTORY" {
            *value = relay.directory_url();
        }
    }
    let porta = world.up();
    let staff = world.staff(&porta).await;
    let trust = world.pebble_trust().await;
    let old = activate(&world, &staff, trust.clone()).await;

    // The CA goes away.
    relay.stop().await;
    let first = renew_fails(&world, &old, "unreachable").await;
    assert_eq!(first["attempts"], 1, "{first:?}");
    let second = renew_fails(&world, &old, "unreachable").await;
    assert_eq!(second["attempts"], 2, "{second:?}");
    assert!(
        second["next_retry_at"].as_i64() > first["next_retry_at"].as_i64(),
        "the next retry moves later: {first:?} then {second:?}"
    );
    still_served(&world, &old, &trust).await;
    let api = staff.domain().await;
    assert_eq!(api["status"], "active", "{api}");
    assert_eq!(
        api["status_message"], second["status_message"],
        "staff see the failed renewal"
    );

    // The CA is back.
    relay.resume().await;
    let renewed = world.cli(&["cert", "renew", DOMAIN, "--json"]).await.json();
    let serial = renewed["serial"].as_str().expect("serial").to_owned();
    assert_ne!(serial, old.serial);
    served_from_now_on(&world, &serial, &trust).await;
    let shown = world.domain_show(DOMAIN).await;
    assert_eq!(shown["status"], "active", "{shown:?}");
    assert_eq!(
        shown["status_message"],
        format!("Certificate issued (serial {serial})"),
        "{shown:?}"
    );
    assert_eq!(shown["attempts"], 0, "a success resets the attempts: {shown:?}");
    assert_eq!(shown["next_retry_at"], Value::Null, "{shown:?}");
    let current = Leaf {
        serial,
        sans: vec![DOMAIN.to_owned()],
    };

    // Pebble restarted: no accounts, a new issuing root.
    world.pebble.restart().await;
    let new_trust = world.pebble_trust().await;
    let after_restart = world.cli(&["cert", "renew", DOMAIN, "--json"]).await;
    if after_restart.status.success() {
        let renewed = after_restart.json();
        let serial = renewed["serial"].as_str().expect("serial").to_owned();
        served_from_now_on(&world, &serial, &new_trust).await;
    } else {
        let shown = renewal_failed(&world, &after_restart, &current, "accountDoesNotExist").await;
        assert_eq!(shown["attempts"], 1, "{shown:?}");
        still_served(&world, &current, &trust).await;
        // The forgotten account was dropped: the next renewal creates a new
        // one and succeeds.
        let again = world.cli(&["cert", "renew", DOMAIN, "--json"]).await;
        assert!(
            again.status.success(),
            "renewal after the CA forgot the account: {again:?}"
        );
        let serial = again.json()["serial"].as_str().expect("serial").to_owned();
        served_from_now_on(&world, &serial, &new_trust).await;
    }
}

// ---------------------------------------------------------------------------
// 5. Trusted on submit, local CA, disabled

const SHOP2: &str = "shop2.example.test";

/// `porta domain add --trust-dns --issuer internal`: the DNS step is skipped
/// (and said so), the domain becomes active with a local-CA certificate the
/// edge serves and routes; `domain show --json` has exactly the documented
/// fields; `domain disable` stops the routing (404) within the host cache
/// lifetime.
async fn trusted_internal(db: TestDb) {
    let world = World::new(&db, Validation::Both).await;
    let _porta = world.up();
    // No record of SHOP2 in the zone at all: DNS is not consulted.
    world
        .cli(&[
            "domain",
            "add",
            "--tenant",
            "acme",
            SHOP2,
            "--trust-dns",
            "--issuer",
            "internal",
        ])
        .await
        .success();

    let w = &world;
    let shown = eventually("the trusted domain becomes active", SHORT, move || async move {
        let shown = w.domain_show(SHOP2).await;
        match shown["status"].as_str() {
            Some("active") => Ok(shown),
            Some("failed") => panic!("the trusted domain failed: {shown:?}"),
            _ => Err(format!("{shown:?}")),
        }
    })
    .await;
    let mut keys: Vec<&str> = shown.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attempts",
            "certificate",
            "domain",
            "expected_cname",
            "issuer",
            "next_retry_at",
            "observed",
            "status",
            "status_message",
            "tenant",
            "trust_dns",
            "txt_record",
            "verified",
        ],
        "{shown:?}"
    );
    assert_eq!(
        shown["verified"], true,
        "trusted on submit and claimed: {shown:?}"
    );
    assert_eq!(shown["txt_record"]["name"], format!("_porta-challenge.{SHOP2}"));
    assert_eq!(shown["domain"], SHOP2);
    assert_eq!(shown["tenant"], "acme");
    assert_eq!(shown["issuer"], "internal");
    assert_eq!(shown["trust_dns"], true);
    assert_eq!(shown["expected_cname"], CANONICAL);
    assert_eq!(shown["observed"], Value::Null, "DNS was never asked: {shown:?}");
    assert_eq!(shown["attempts"], 0);
    assert_eq!(shown["next_retry_at"], Value::Null);
    let cert = shown["certificate"].as_object().expect("a certificate");
    let mut cert_keys: Vec<&str> = cert.keys().map(String::as_str).collect();
    cert_keys.sort_unstable();
    assert_eq!(
        cert_keys,
        ["days_left", "issuer", "next_renewal", "not_after", "serial"],
        "{cert:?}"
    );
    assert_eq!(cert["issuer"], "internal");
    let days_left = cert["days_left"].as_i64().expect("days_left");
    assert!(
        (80..=90).contains(&days_left),
        "a 90-day local-CA certificate: {cert:?}"
    );
    let serial = cert["serial"].as_str().expect("serial").to_owned();
    assert_eq!(
        shown["status_message"],
        format!("Certificate issued (serial {serial})"),
        "{shown:?}"
    );

    // The skipped DNS step is on record, with the reason.
    let pool = world.store.connect_db().await;
    let tenant = demo_tenant(&pool).await;
    let changes = status_changes(&pool, tenant, SHOP2).await;
    let tos: Vec<&str> = changes.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(tos, ["pending_certificate", "active"], "{changes:?}");
    assert_eq!(
        changes[0].3, "DNS check skipped: trusted on submit by an operator",
        "{changes:?}"
    );
    assert_eq!(
        order_rows(&pool, REGISTERED).await,
        0,
        "no ACME order for an internal domain"
    );
    let certs = certificates(&pool, SHOP2).await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0].issuer.as_str(), "internal");

    // Served with a certificate from the local CA, and routed.
    let port = world.store.ports.edge_https;
    let trust = world.local_ca_trust();
    let leaf = served_leaf(port, SHOP2, trust.clone())
        .await
        .expect("TLS to the trusted domain");
    assert_eq!(leaf.sans, [SHOP2]);
    assert_eq!(leaf.serial, serial);
    assert_routed_to_tenant(port, SHOP2, trust.clone()).await;

    // Disabled: no longer routed, within the host cache lifetime.
    world.cli(&["domain", "disable", SHOP2]).await.success();
    let t = trust.clone();
    eventually("the disabled domain is no longer routed", SHORT, move || {
        let t = t.clone();
        async move {
            match https_get(port, SHOP2, "/auth/client-portal/signin", t).await {
                Ok((404, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let shown = world.domain_show(SHOP2).await;
    assert_eq!(shown["status"], "disabled", "{shown:?}");

    // The operator's actions are audited, the trust on submit by name.
    let actions: Vec<(String, String)> = audit_rows(&pool, tenant)
        .await
        .into_iter()
        .filter(|r| r.subject.as_deref() == Some(SHOP2) && r.action != "portal_domain.status")
        .map(|r| (r.action, r.outcome))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "portal_domain.register_trusted_dns".to_owned(),
                "success".to_owned()
            ),
            ("portal_domain.disable".to_owned(), "success".to_owned()),
        ]
    );
}

// ---------------------------------------------------------------------------
// 7. A failed order is retried on its own

/// The CNAME is right but the canonical host has no address, so pebble
/// cannot reach the edge: both challenges fail and the domain lands in
/// `failed` with the reason and a next retry. Once the address exists, the
/// worker retries by itself (from the DNS step) and the domain becomes
/// active, without staff pressing "retry".
async fn failed_order_retried(db: TestDb) {
    let world = World::new(&db, Validation::Both).await;
    world.zone.remove(CANONICAL).await;
    world.zone.set_cname(DOMAIN, CANONICAL).await;
    let porta = world.up();
    let staff = world.staff(&porta).await;
    staff.register(DOMAIN).await;

    let s = &staff;
    let failed = eventually("the order fails", ACTIVATION, move || async move {
        let d = s.domain().await;
        match d["status"].as_str() {
            Some("failed") => Ok(d),
            Some("active") => panic!("issued although the CA cannot reach the edge: {d}"),
            _ => Err(d.to_string()),
        }
    })
    .await;
    let message = failed["status_message"].as_str().expect("status_message");
    assert!(
        message.starts_with("Certificate not issued: ") && message.contains("challenge failed"),
        "the reason: {failed}"
    );
    let next = failed["next_check_at"].as_i64().expect("a next retry");
    let last = failed["last_checked_at"].as_i64().expect("checked");
    assert!(next > last, "the retry is scheduled after the failure: {failed}");
    assert_eq!(failed["attempts"], 1, "{failed}");

    // The address appears; nobody presses retry.
    world.zone.set_a(CANONICAL, Ipv4Addr::LOCALHOST).await;
    let active = eventually(
        "the failed domain is retried by the worker and becomes active",
        SHORT,
        move || async move {
            let d = s.domain().await;
            match d["status"].as_str() {
                Some("active") => Ok(d),
                _ => Err(d.to_string()),
            }
        },
    )
    .await;
    let serial = issued_serial(&active);
    let pool = world.store.connect_db().await;
    let tenant = demo_tenant(&pool).await;
    let tos: Vec<String> = status_changes(&pool, tenant, DOMAIN)
        .await
        .into_iter()
        .map(|c| c.2)
        .collect();
    // Failed, then the DNS step again (straight to pending_certificate, or
    // through pending_dns), then active.
    assert!(
        tos.len() >= 4
            && tos[..2] == ["pending_certificate", "failed"]
            && ["pending_dns", "pending_certificate"].contains(&tos[2].as_str())
            && tos[tos.len() - 2..] == ["pending_certificate", "active"]
            && !tos[2..].iter().any(|t| t == "failed"),
        "failed, retried from the DNS step, active: {tos:?}"
    );
    let trust = world.pebble_trust().await;
    let port = world.store.ports.edge_https;
    let leaf = eventually("the edge serves the certificate", SHORT, move || {
        let t = trust.clone();
        async move { served_leaf(port, DOMAIN, t).await }
    })
    .await;
    assert_eq!(leaf.serial, serial);
}

// ---------------------------------------------------------------------------
// 6. Two edges, one PostgreSQL

/// Node A (`porta up`) and node B (`porta edge`) share the database and
/// data directory; pebble validates HTTP-01 on node B only.
///
/// First, node B's worker sleeps (its only tick is at start-up): node A
/// orders, and the order is validated through node B, which answers from
/// the database; both nodes then serve the certificate. Then node B is
/// restarted with a worker ticking every second like A's, six more
/// domains are registered at once and both workers race for them: each
/// domain gets exactly one order, one certificate and one pass through
/// each status.
async fn two_edges(db: TestDb) {
    assert_eq!(db.backend, Backend::Postgres);
    let store = Store::new(&db);
    let b_ports = Ports {
        portal: store.ports.portal,
        ..Ports::fresh()
    };
    let world = World::with(store, b_ports.edge_http, free_port(), "http-01").await;
    let a = world.up();
    let b_env_sleeping = world.env_with(&[("PORTA_DOMAINS_CHECK_INTERVAL_SECONDS", "3600")]);
    let b = world.store.start_edge_node(b_ports, &b_env_sleeping);
    let staff = world.staff(&a).await;
    let trust = world.pebble_trust().await;
    let plain_200 = r#"porta_edge_requests_total{host_kind="none",status="200"}"#;
    let b_plain_before = metric_sample(&b.metrics().await, plain_200).unwrap_or(0.0);
    let a_plain_before = metric_sample(&a.metrics().await, plain_200).unwrap_or(0.0);

    // Node A's order, validated through node B.
    let leaf_a = activate(&world, &staff, trust.clone()).await;
    assert_eq!(issued_orders(&a).await, 1.0, "node A placed the order");
    assert_eq!(issued_orders(&b).await, 0.0, "node B placed none");
    let b_plain_after = metric_sample(&b.metrics().await, plain_200).unwrap_or(0.0);
    let a_plain_after = metric_sample(&a.metrics().await, plain_200).unwrap_or(0.0);
    assert!(
        b_plain_after > b_plain_before,
        "node B answered the HTTP-01 challenge ({b_plain_before} -> {b_plain_after})"
    );
    assert_eq!(
        a_plain_after, a_plain_before,
        "pebble never reached node A's port 80"
    );
    let leaf_b = served_leaf(b_ports.edge_https, DOMAIN, trust.clone())
        .await
        .expect("node B serves the certificate node A obtained");
    assert_eq!(leaf_b, leaf_a);
    let pool = world.store.connect_db().await;
    assert_orders(&pool, REGISTERED, DOMAIN, 1).await;
    assert_eq!(certificates(&pool, DOMAIN).await.len(), 1);

    // Both workers awake, racing for six new domains.
    assert!(b.stop().success(), "node B stops cleanly");
    let b = world.store.start_edge_node(b_ports, &world.env_with(&[]));
    let racing = [
        ("shop.alpha.test", "alpha.test"),
        ("shop.beta.test", "beta.test"),
        ("shop.gamma.test", "gamma.test"),
        ("shop.delta.test", "delta.test"),
        ("shop.epsilon.test", "epsilon.test"),
        ("shop.zeta.test", "zeta.test"),
    ];
    for (name, _) in racing {
        world.zone.set_cname(name, CANONICAL).await;
    }
    let tenant = demo_tenant(&pool).await;
    let expected_cname = HostName::parse(CANONICAL).expect("host");
    for (name, _) in racing {
        let domain = HostName::parse(name).expect("host");
        portal_domains::create(
            &pool,
            &NewPortalDomain {
                tenant,
                domain: &domain,
                status: DomainStatus::PendingDns,
                status_message: "Waiting for the CNAME record to point at the portal",
                expected_cname: &expected_cname,
                issuer: Issuer::Acme,
                trust_dns: false,
            },
            UnixMillis::now(),
        )
        .await
        .expect("register a racing domain");
    }
    let p = &pool;
    eventually(
        "the racing domains become active",
        ACTIVATION,
        move || async move {
            let all = portal_domains::list_all(p).await.expect("domains");
            let states: Vec<(String, DomainStatus)> = all
                .iter()
                .filter(|d| racing.iter().any(|(n, _)| d.domain.as_str() == *n))
                .map(|d| (d.domain.to_string(), d.status))
                .collect();
            if states.iter().any(|(_, s)| *s == DomainStatus::Failed) {
                panic!("a racing domain failed: {all:?}");
            }
            if states.len() == racing.len() && states.iter().all(|(_, s)| *s == DomainStatus::Active) {
                Ok(())
            } else {
                Err(format!("{states:?}"))
            }
        },
    )
    .await;
    // Let any duplicate that was under way finish before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (name, registered) in racing {
        assert_orders(&pool, registered, name, 1).await;
        let certs = certificates(&pool, name).await;
        assert_eq!(certs.len(), 1, "one certificate for {name}: {certs:?}");
        let tos: Vec<String> = status_changes(&pool, tenant, name)
            .await
            .into_iter()
            .map(|c| c.2)
            .collect();
        assert_eq!(tos, ["pending_certificate", "active"], "status changes of {name}");
        let leaf = served_leaf(b_ports.edge_https, name, trust.clone())
            .await
            .unwrap_or_else(|e| panic!("node B serves {name}: {e}"));
        assert_eq!(leaf.serial, certs[0].serial);
    }
    let issued_a = issued_orders(&a).await;
    let issued_b = issued_orders(&b).await;
    assert_eq!(
        issued_a + issued_b,
        1.0 + racing.len() as f64,
        "one issued order per domain across both nodes (A: {issued_a}, B: {issued_b})"
    );
}

// ---------------------------------------------------------------------------
// 8. A name two tenants registered

const SHARED: &str = "shared.example.test";

/// No squatting: acme and beta both register `shared.example.test` (a
/// pending registration reserves nothing, so both may), and
/// `porta domain show` asks which one is meant. Its CNAME is pointed at
/// beta's canonical host: beta's registration gets it (active, with a
/// local-CA certificate, routed to beta through the edge); acme's is
/// failed, saying another organisation verified it; `domain show` now
/// means beta's, and a third tenant cannot even register the name. With
/// the real binary and CLI, no ACME CA (the local CA issues).
async fn contested_name(db: TestDb) {
    let zone = TestZone::start("test.").await;
    let store = Store::new(&db);
    let env: Vec<(String, String)> = [
        ("PORTA_CANONICAL_BASE", CANONICAL_BASE.to_owned()),
        ("PORTA_DNS_NAMESERVERS", zone.addr().to_string()),
        ("PORTA_DOMAINS_CHECK_INTERVAL_SECONDS", "1".to_owned()),
        ("PORTA_EDGE_CERT_CACHE_TTL_SECONDS", "1".to_owned()),
        ("PORTA_EDGE_NEGATIVE_CACHE_TTL_SECONDS", "1".to_owned()),
        ("PORTA_EDGE_HOST_CACHE_TTL_SECONDS", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let _porta = store.start("up", &env_refs);
    let cli = |args: Vec<&str>| {
        let mut cmd = store.command(&args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        run_command(cmd, None)
    };
    cli(vec!["tenant", "create", "--slug", "beta", "--name", "Beta IT"])
        .await
        .success();
    for tenant in ["acme", "beta"] {
        cli(vec!["domain", "add", "--tenant", tenant, SHARED])
            .await
            .success();
    }
    let ambiguous = cli(vec!["domain", "show", SHARED]).await;
    let message = ambiguous.failure(1);
    assert!(
        message.contains("registered by 2 tenants")
            && message.contains("acme, beta")
            && message.contains("--tenant"),
        "{message}"
    );

    zone.set_cname(SHARED, &format!("beta.{CANONICAL_BASE}.")).await;
    let show = |tenant: &'static str| {
        let cli = &cli;
        async move {
            cli(vec!["domain", "show", SHARED, "--tenant", tenant, "--json"])
                .await
                .json()
        }
    };
    let beta = eventually("beta's registration becomes active", SHORT, || async {
        let beta = show("beta").await;
        match beta["status"].as_str() {
            Some("active") => Ok(beta),
            _ => Err(format!("{beta:?}")),
        }
    })
    .await;
    assert_eq!(beta["verified"], true, "{beta:?}");
    let acme = show("acme").await;
    assert_eq!(acme["status"], "failed", "{acme:?}");
    assert_eq!(acme["verified"], false, "{acme:?}");
    assert_eq!(acme["next_retry_at"], Value::Null, "{acme:?}");
    assert_eq!(
        acme["status_message"],
        format!(
            "Verified by another organisation: {SHARED} was proven to belong to another tenant's portal first. \
             Remove it here, or point its DNS at this portal and retry."
        )
    );
    assert_ne!(acme["txt_record"]["value"], beta["txt_record"]["value"]);
    let holder = cli(vec!["domain", "show", SHARED, "--json"]).await.json();
    assert_eq!(holder["tenant"], "beta", "{holder:?}");

    // Served and routed for beta.
    let port = store.ports.edge_https;
    let root = store.data_dir().join("local-ca").join("root.pem");
    let trust = client_config(&std::fs::read_to_string(&root).expect("the local CA root"));
    let start = "/auth/client-portal/handoff/start";
    let t = trust.clone();
    let (status, location) = eventually("the edge routes the name to beta", SHORT, move || {
        let t = t.clone();
        async move {
            match https_get(port, SHARED, start, t).await {
                Ok((303, location)) => Ok((303, location)),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert_eq!(status, 303);
    let beta_signin = format!("https://beta.{CANONICAL_BASE}:{port}/auth/client-portal/signin?");
    assert!(
        location.as_deref().is_some_and(|l| l.starts_with(&beta_signin)),
        "{location:?}"
    );

    cli(vec!["tenant", "create", "--slug", "gamma", "--name", "Gamma IT"])
        .await
        .success();
    let refused = cli(vec!["domain", "add", "--tenant", "gamma", SHARED]).await;
    let message = refused.failure(1);
    assert!(
        message.contains("is in use") && message.contains("tenant beta"),
        "{message}"
    );
}
