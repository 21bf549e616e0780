//! The ACME client against a real CA: Debian's pebble on 127.0.0.1,
//! resolving the test domain through a hickory zone to 127.0.0.1, where the
//! test answers the challenges the way the edge does (from the database).
//! Every test that touches the database runs on SQLite and PostgreSQL.

use std::error::Error;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use porta_certs::acme::{tls_alpn01, AcmeClient, AcmeError, AcmeSettings, ProblemType, ACME_TLS_ALPN};
use porta_certs::master_key::MasterKey;
use porta_certs::store;
use porta_core::challenge_kind::ChallengeKind;
use porta_core::clock::UnixMillis;
use porta_core::db::{acme_challenges, Db};
use porta_core::host::HostName;
use porta_core::issuer::{CertificateSource, Issuer};
use porta_core::on_pool;
use porta_core::secret::Secret;
use porta_testkit::dns::TestZone;
use porta_testkit::pebble::{Pebble, PebbleOptions};
use porta_testkit::{both_backends, TestDb};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const DOMAIN: &str = "shop.example.test";

both_backends! {
    http01_issuance_stores_a_certificate_and_reuses_the_account => http01_issuance_body;
    tls_alpn01_issuance => tls_alpn01_issuance_body;
    falls_back_to_tls_alpn01_when_http01_fails => fallback_body;
    a_failed_challenge_is_reported_and_cleaned_up => failed_challenge_body;
    concurrent_connects_store_one_account => concurrent_connects_body;
    account_credentials_are_sealed => sealed_credentials_body;
    external_account_binding => eab_body;
    unreachable_ca => unreachable_ca_body;
    stopped_ca_is_unreachable_during_issue => stopped_ca_body;
    rate_limits_carry_retry_after => rate_limited_body;
}

// ---------------------------------------------------------------------------
// The environment: zone, pebble, and the edge's two challenge responders.

/// Counts what the responders answered, so a test knows which challenge
/// kind the CA actually used.
#[derive(Default)]
struct Hits {
    http01: AtomicUsize,
    tls_alpn01: AtomicUsize,
}

struct Env {
    _zone: TestZone,
    pebble: Pebble,
    hits: Arc<Hits>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Which responders run; a kind without one has its port closed, so the CA
/// is refused.
struct Responders {
    http01: bool,
    tls_alpn01: bool,
}

async fn env(db: &Db, responders: Responders) -> Env {
    let zone = TestZone::start("example.test").await;
    zone.set_a(DOMAIN, Ipv4Addr::LOCALHOST).await;
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    let tls_port = tls.local_addr().unwrap().port();
    let hits = Arc::new(Hits::default());
    let mut tasks = Vec::new();
    if responders.http01 {
        tasks.push(tokio::spawn(serve(http, db.clone(), hits.clone(), answer_http01)));
    }
    if responders.tls_alpn01 {
        tasks.push(tokio::spawn(serve(
            tls,
            db.clone(),
            hits.clone(),
            answer_tls_alpn01,
        )));
    }
    let pebble = Pebble::start(PebbleOptions {
        http_port,
        tls_port,
        dns: zone.addr(),
        eab: false,
    })
    .await;
    Env {
        _zone: zone,
        pebble,
        hits,
        tasks,
    }
}

impl Env {
    fn settings(&self, order: &[ChallengeKind]) -> AcmeSettings {
        settings_for(&self.pebble, order)
    }
}

fn settings_for(pebble: &Pebble, order: &[ChallengeKind]) -> AcmeSettings {
    let mut settings = AcmeSettings::new(pebble.directory_url());
    settings.contact = Some("ops@example.test".to_owned());
    settings.root_ca_pem = Some(pebble.ca_pem_path().to_owned());
    settings.challenge_order = order.to_vec();
    settings.order_timeout = Duration::from_secs(20);
    settings
}

type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
/// One responder connection: what the edge does with a connection on port
/// 80 or 443 of a domain under validation.
type Answer = fn(TcpStream, Db, Arc<Hits>) -> BoxFuture;

async fn serve(listener: TcpListener, db: Db, hits: Arc<Hits>, answer: Answer) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream, db.clone(), hits.clone()));
    }
}

/// The edge's port-80 answer: `/.well-known/acme-challenge/<token>` from
/// `acme_challenges`, 404 otherwise.
fn answer_http01(mut stream: TcpStream, db: Db, hits: Arc<Hits>) -> BoxFuture {
    Box::pin(async move {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let host = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("host")))
            .and_then(|(_, v)| HostName::from_host_header(v.trim()).ok());
        let answer = match (path.strip_prefix("/.well-known/acme-challenge/"), host) {
            (Some(token), Some(host)) => acme_challenges::http01(&db, token, &host, UnixMillis::now())
                .await
                .unwrap(),
            _ => None,
        };
        let (status, body) = match answer {
            Some(key_authorization) => {
                hits.http01.fetch_add(1, Ordering::SeqCst);
                ("200 OK", key_authorization)
            }
            None => ("404 Not Found", String::new()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
}

/// The edge's `acme-tls/1` answer: read the ClientHello, load the key
/// authorization stored for its SNI, complete the handshake with the
/// challenge certificate.
fn answer_tls_alpn01(stream: TcpStream, db: Db, hits: Arc<Hits>) -> BoxFuture {
    Box::pin(async move {
        let result: Result<(), Box<dyn Error + Send + Sync>> = async {
            let start =
                tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
            let hello = start.client_hello();
            let sni = hello.server_name().ok_or("no SNI")?.to_owned();
            let offers_acme = hello
                .alpn()
                .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
            if !offers_acme {
                return Err("the ClientHello does not offer acme-tls/1".into());
            }
            let domain = HostName::parse(&sni)?;
            let key_authorization = tls_alpn01::key_authorization(&db, &domain, UnixMillis::now())
                .await?
                .ok_or("no TLS-ALPN-01 challenge stored")?;
            let config = tls_alpn01::server_config(&domain, &key_authorization)?;
            let mut tls = start.into_stream(config).await?;
            hits.tls_alpn01.fetch_add(1, Ordering::SeqCst);
            let _ = tls.shutdown().await;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            eprintln!("TLS-ALPN-01 responder: {e}");
        }
    })
}

// ---------------------------------------------------------------------------
// Assertions.

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(&sql)
        .fetch_one(pool)
        .await)
    .unwrap()
}

fn domain() -> HostName {
    HostName::parse(DOMAIN).unwrap()
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate stored for DOMAIN chains to pebble's issuing root and is
/// valid for DOMAIN (and not for another name, nor against another root).
async fn assert_stored_certificate_is_pebbles(db: &Db, master: &MasterKey, pebble: &Pebble) {
    let stored = store::current_for(db, DOMAIN, UnixMillis::now())
        .await
        .unwrap()
        .expect("a current certificate for the domain");
    assert_eq!(stored.info.issuer, CertificateSource::Issued(Issuer::Acme));
    stored
        .certified_key(master)
        .expect("the stored key opens and matches");

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(stored.chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(chain.len() >= 2, "leaf and intermediate");
    let verify = |roots: RootCertStore, name: &str| {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), ring())
            .build()
            .unwrap()
            .verify_server_cert(
                &chain[0],
                &chain[1..],
                &ServerName::try_from(name.to_owned()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    };
    let mut pebble_root = RootCertStore::empty();
    pebble_root
        .add(CertificateDer::from_pem_slice(pebble.issuing_roots_pem().await.as_bytes()).unwrap())
        .unwrap();
    verify(pebble_root.clone(), DOMAIN)
        .expect("the leaf chains to pebble's issuing root and covers the domain");
    assert!(
        verify(pebble_root, "other.example.test").is_err(),
        "the leaf covers only the domain"
    );

    let stranger = rcgen::CertificateParams::new(vec!["stranger.test".to_owned()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let mut other_root = RootCertStore::empty();
    other_root.add(stranger.der().clone()).unwrap();
    assert!(
        verify(other_root, DOMAIN).is_err(),
        "the verification is not vacuous"
    );
}

// ---------------------------------------------------------------------------
// Issuance.

async fn http01_issuance_body(t: TestDb) {
    let env = env(
        &t.db,
        Responders {
            http01: true,
            tls_alpn01: false,
        },
    )
    .await;
    let master = MasterKey::generate();
    let settings = env.settings(&[ChallengeKind::Http01]);

    let started = Instant::now();
    let client = AcmeClient::connect(&t.db, &master, settings.clone())
        .await
        .unwrap();
    let connected = started.elapsed();
    let info = client.issue(&domain(), None, UnixMillis::now()).await.unwrap();
    eprintln!(
        "[{:?}] pebble HTTP-01: account {connected:?}, issuance {:?}",
        t.backend,
        started.elapsed() - connected
    );

    assert_eq!(info.domain, DOMAIN);
    assert_eq!(info.issuer.as_str(), "acme");
    assert!(
        env.hits.http01.load(Ordering::SeqCst) >= 1,
        "the CA fetched the HTTP-01 answer"
    );
    assert_stored_certificate_is_pebbles(&t.db, &master, &env.pebble).await;
    assert_eq!(
        count(&t.db, "acme_challenges").await,
        0,
        "challenges are removed after issuance"
    );
    assert_eq!(count(&t.db, "acme_accounts").await, 1);

    // Another node (or a restart) loads the stored account instead of
    // creating one, and it works.
    let again = AcmeClient::connect(&t.db, &master, settings).await.unwrap();
    assert_eq!(again.account_id(), client.account_id());
    assert_eq!(count(&t.db, "acme_accounts").await, 1, "no second account");
    let renewed = again.issue(&domain(), None, UnixMillis::now()).await.unwrap();
    assert_ne!(renewed.serial, info.serial);
    assert_eq!(count(&t.db, "acme_challenges").await, 0);
}

async fn tls_alpn01_issuance_body(t: TestDb) {
    let env = env(
        &t.db,
        Responders {
            http01: false,
            tls_alpn01: true,
        },
    )
    .await;
    let master = MasterKey::generate();
    let client = AcmeClient::connect(&t.db, &master, env.settings(&[ChallengeKind::TlsAlpn01]))
        .await
        .unwrap();
    let started = Instant::now();
    client.issue(&domain(), None, UnixMillis::now()).await.unwrap();
    eprintln!(
        "[{:?}] pebble TLS-ALPN-01 issuance: {:?}",
        t.backend,
        started.elapsed()
    );

    assert!(
        env.hits.tls_alpn01.load(Ordering::SeqCst) >= 1,
        "the CA completed an acme-tls/1 handshake"
    );
    assert_eq!(env.hits.http01.load(Ordering::SeqCst), 0);
    assert_stored_certificate_is_pebbles(&t.db, &master, &env.pebble).await;
    assert_eq!(count(&t.db, "acme_challenges").await, 0);
}

async fn fallback_body(t: TestDb) {
    let env = env(
        &t.db,
        Responders {
            http01: false,
            tls_alpn01: true,
        },
    )
    .await;
    let master = MasterKey::generate();
    let client = AcmeClient::connect(
        &t.db,
        &master,
        env.settings(&[ChallengeKind::Http01, ChallengeKind::TlsAlpn01]),
    )
    .await
    .unwrap();
    let started = Instant::now();
    client.issue(&domain(), None, UnixMillis::now()).await.unwrap();
    eprintln!(
        "[{:?}] pebble HTTP-01 failure then TLS-ALPN-01: {:?}",
        t.backend,
        started.elapsed()
    );

    assert!(
        env.hits.tls_alpn01.load(Ordering::SeqCst) >= 1,
        "issued through TLS-ALPN-01"
    );
    assert_stored_certificate_is_pebbles(&t.db, &master, &env.pebble).await;
    assert_eq!(count(&t.db, "acme_challenges").await, 0);
}

async fn failed_challenge_body(t: TestDb) {
    // Nothing answers either kind.
    let env = env(
        &t.db,
        Responders {
            http01: false,
            tls_alpn01: false,
        },
    )
    .await;
    let master = MasterKey::generate();
    let client = AcmeClient::connect(&t.db, &master, env.settings(&[ChallengeKind::Http01]))
        .await
        .unwrap();
    let err = client
        .issue(&domain(), None, UnixMillis::now())
        .await
        .unwrap_err();
    match &err {
        AcmeError::ChallengeFailed {
            kind: ChallengeKind::Http01,
            detail,
        } => assert!(!detail.is_empty()),
        other => panic!("expected a failed HTTP-01 challenge, got {other:?}"),
    }
    assert_eq!(count(&t.db, "acme_challenges").await, 0, "removed on failure too");
    assert_eq!(count(&t.db, "certificates").await, 0);

    // With both kinds, the error names the last kind tried.
    let client = AcmeClient::connect(
        &t.db,
        &master,
        env.settings(&[ChallengeKind::Http01, ChallengeKind::TlsAlpn01]),
    )
    .await
    .unwrap();
    let err = client
        .issue(&domain(), None, UnixMillis::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AcmeError::ChallengeFailed {
                kind: ChallengeKind::TlsAlpn01,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&t.db, "acme_challenges").await, 0);
}

// ---------------------------------------------------------------------------
// Account.

async fn concurrent_connects_body(t: TestDb) {
    let env = env(
        &t.db,
        Responders {
            http01: false,
            tls_alpn01: false,
        },
    )
    .await;
    let master = MasterKey::generate();
    let settings = env.settings(&[ChallengeKind::Http01]);
    let (a, b) = tokio::join!(
        AcmeClient::connect(&t.db, &master, settings.clone()),
        AcmeClient::connect(&t.db, &master, settings.clone()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.account_id(),
        b.account_id(),
        "both nodes use the stored account"
    );
    assert_eq!(count(&t.db, "acme_accounts").await, 1);
}

async fn sealed_credentials_body(t: TestDb) {
    let env = env(
        &t.db,
        Responders {
            http01: false,
            tls_alpn01: false,
        },
    )
    .await;
    let master = MasterKey::generate();
    let settings = env.settings(&[ChallengeKind::Http01]);
    let client = AcmeClient::connect(&t.db, &master, settings.clone())
        .await
        .unwrap();

    let (id, url, contact, sealed, nonce): (String, String, Option<String>, Vec<u8>, Vec<u8>) =
        on_pool!(&t.db, |pool| sqlx::query_as(
            "SELECT id, directory_url, contact, credentials_encrypted, credentials_nonce FROM acme_accounts"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
    assert_eq!(id, client.account_id());
    assert_eq!(url, env.pebble.directory_url());
    assert_eq!(contact.as_deref(), Some("mailto:ops@example.test"));

    let json = master
        .open(&sealed, &nonce, url.as_bytes())
        .expect("sealed with the master key");
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let key_b64 = json["key_pkcs8"]
        .as_str()
        .expect("the credentials hold the account key");
    let key_der = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(key_b64)
            .unwrap()
    };
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&sealed, key_b64.as_bytes()), "no base64 key in the row");
    assert!(
        !contains(&sealed, &key_der[key_der.len() - 32..]),
        "no raw key bytes in the row"
    );
    assert!(!contains(&sealed, b"key_pkcs8"), "the row is not plain JSON");

    assert!(MasterKey::generate()
        .open(&sealed, &nonce, url.as_bytes())
        .is_err());
    assert!(
        master.open(&sealed, &nonce, b"https://other.test/dir").is_err(),
        "bound to its directory"
    );
    let err = AcmeClient::connect(&t.db, &MasterKey::generate(), settings)
        .await
        .unwrap_err();
    assert!(matches!(err, AcmeError::Credentials(_)), "{err:?}");
    assert_eq!(count(&t.db, "acme_accounts").await, 1);
}

async fn eab_body(t: TestDb) {
    let zone = TestZone::start("example.test").await;
    let pebble = Pebble::start(PebbleOptions {
        http_port: 1,
        tls_port: 1,
        dns: zone.addr(),
        eab: true,
    })
    .await;
    let master = MasterKey::generate();
    let mut settings = settings_for(&pebble, &[ChallengeKind::Http01]);

    let err = AcmeClient::connect(&t.db, &master, settings.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AcmeError::Rejected { problem: Some(ProblemType::ExternalAccountRequired), ref detail }
                if detail.contains("externalAccountRequired")
        ),
        "{err:?}"
    );
    assert_eq!(count(&t.db, "acme_accounts").await, 0);

    let (kid, key) = pebble.eab().unwrap();
    settings.eab = Some((kid.clone(), Secret::new("c29tZSBvdGhlciBrZXk")));
    let err = AcmeClient::connect(&t.db, &master, settings.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AcmeError::Rejected { .. }),
        "a wrong HMAC key is refused: {err:?}"
    );

    settings.eab = Some((kid, Secret::new(key)));
    let created = AcmeClient::connect(&t.db, &master, settings.clone())
        .await
        .unwrap();
    assert_eq!(count(&t.db, "acme_accounts").await, 1);

    // The stored account is loaded, not created again: without the EAB key
    // a new account would be refused.
    settings.eab = None;
    let loaded = AcmeClient::connect(&t.db, &master, settings).await.unwrap();
    assert_eq!(loaded.account_id(), created.account_id());
    assert_eq!(count(&t.db, "acme_accounts").await, 1);
}

// ---------------------------------------------------------------------------
// Failures a scheduler backs off from.

async fn unreachable_ca_body(t: TestDb) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let settings = AcmeSettings::new(format!("https://127.0.0.1:{port}/dir"));
    let started = Instant::now();
    let err = AcmeClient::connect(&t.db, &MasterKey::generate(), settings)
        .await
        .unwrap_err();
    assert!(matches!(err, AcmeError::Unreachable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fails fast: {:?}",
        started.elapsed()
    );
    assert_eq!(count(&t.db, "acme_accounts").await, 0);
}

async fn stopped_ca_body(t: TestDb) {
    let mut env = env(
        &t.db,
        Responders {
            http01: true,
            tls_alpn01: false,
        },
    )
    .await;
    let master = MasterKey::generate();
    let client = AcmeClient::connect(&t.db, &master, env.settings(&[ChallengeKind::Http01]))
        .await
        .unwrap();
    env.pebble.stop();
    let err = client
        .issue(&domain(), None, UnixMillis::now())
        .await
        .unwrap_err();
    assert!(matches!(err, AcmeError::Unreachable(_)), "{err:?}");
    assert_eq!(count(&t.db, "acme_challenges").await, 0);

    // Back on the same address, pebble has forgotten the account: a refusal,
    // not an outage.
    env.pebble.restart().await;
    let err = client
        .issue(&domain(), None, UnixMillis::now())
        .await
        .unwrap_err();
    assert!(matches!(err, AcmeError::Rejected { .. }), "{err:?}");
    // Recognised by its problem type: what makes the lifecycle forget the
    // account and create a new one.
    assert!(err.is_unknown_account(), "{err:?}");
}

/// A CA that answers every new account with 429, `rateLimited` and
/// `Retry-After: 120` (pebble enforces no rate limits).
async fn rate_limited_body(t: TestDb) {
    let ca = FakeCa::start().await;
    let mut settings = AcmeSettings::new(ca.directory_url());
    settings.root_ca_pem = Some(ca.root_path());
    let err = AcmeClient::connect(&t.db, &MasterKey::generate(), settings)
        .await
        .unwrap_err();
    match err {
        AcmeError::RateLimited { retry_after, detail } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert!(detail.contains("too many new accounts"), "{detail}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(count(&t.db, "acme_accounts").await, 0);
}

struct FakeCa {
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl Drop for FakeCa {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeCa {
    async fn start() -> FakeCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("root.pem"), cert.pem()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = fake_ca_exchange(tls, addr).await;
                    }
                });
            }
        });
        FakeCa { addr, dir, task }
    }

    fn directory_url(&self) -> String {
        format!("https://{}/dir", self.addr)
    }

    fn root_path(&self) -> std::path::PathBuf {
        self.dir.path().join("root.pem")
    }
}

async fn fake_ca_exchange(
    mut tls: tokio_rustls::server::TlsStream<TcpStream>,
    addr: std::net::SocketAddr,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let base = format!("https://{addr}");
    let (status, extra, body) = match (method, path) {
        ("GET", "/dir") => (
            "200 OK",
            "Content-Type: application/json\r\n".to_owned(),
            format!(r#"{{"newNonce":"{base}/nonce","newAccount":"{base}/account","newOrder":"{base}/order"}}"#),
        ),
        ("HEAD", "/nonce") => ("200 OK", "Replay-Nonce: bm9uY2U\r\n".to_owned(), String::new()),
        ("POST", "/account") => (
            "429 Too Many Requests",
            "Content-Type: application/problem+json\r\nRetry-After: 120\r\nReplay-Nonce: bm9uY2U\r\n".to_owned(),
            r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new accounts","status":429}"#
                .to_owned(),
        ),
        _ => ("404 Not Found", String::new(), String::new()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        if method == "HEAD" { "" } else { body.as_str() }
    );
    tls.write_all(response.as_bytes()).await?;
    tls.shutdown().await
}
