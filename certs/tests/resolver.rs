//! The resolver in real handshakes: a rustls server using it and a
//! tokio-rustls client trusting the local CA, over an in-memory pipe.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::resolver::{CertResolver, LoadOutcome, ResolverSettings};
use porta_certs::store::{self, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::db::Db;
use porta_core::issuer::Issuer;
use porta_testkit::{both_backends, TestDb};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DAY: Duration = Duration::from_secs(24 * 3600);

struct Fixture {
    _dir: tempfile::TempDir,
    ca: LocalCa,
    master: MasterKey,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(&dir.path().join("local-ca")).unwrap();
        Fixture {
            _dir: dir,
            ca,
            master: MasterKey::generate(),
        }
    }

    /// Issues a certificate for `names` and stores it for `domain`; returns
    /// the leaf.
    async fn store(&self, db: &Db, domain: &str, names: &[&str]) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let issued = self.ca.issue(&names, 30 * DAY).unwrap();
        store::insert(
            db,
            &self.master,
            &NewCertificate {
                tenant: None,
                domain,
                issuer: Issuer::Internal.into(),
                chain_pem: &issued.chain_pem,
                key_pem: &issued.key_pem,
            },
            UnixMillis::now(),
        )
        .await
        .unwrap();
        use rustls::pki_types::pem::PemObject;
        CertificateDer::pem_slice_iter(issued.chain_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap()
    }

    fn resolver(&self, db: &Db, settings: ResolverSettings) -> Arc<CertResolver> {
        Arc::new(CertResolver::new(db.clone(), self.master.clone(), settings))
    }

    /// Connects with SNI `server_name` (no SNI for an IP address); returns
    /// the leaf the server presented.
    async fn handshake(
        &self,
        resolver: &Arc<CertResolver>,
        server_name: &str,
    ) -> Result<CertificateDer<'static>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.root_der().clone()).unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = TlsAcceptor::from(Arc::new(server));
        let server_task = tokio::spawn(async move { acceptor.accept(server_io).await.map(|_| ()) });
        let name = ServerName::try_from(server_name.to_owned()).unwrap();
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            TlsConnector::from(Arc::new(client)).connect(name, client_io),
        )
        .await
        .expect("handshake finished");
        let server_result = server_task.await.unwrap();
        match connected {
            Ok(stream) => {
                server_result.map_err(|e| e.to_string())?;
                let (_, connection) = stream.get_ref();
                Ok(connection.peer_certificates().unwrap()[0].clone().into_owned())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Retries `ensure_loaded` + a handshake until the server presents `want`.
async fn eventually_serves(
    fx: &Fixture,
    resolver: &Arc<CertResolver>,
    name: &str,
    want: &CertificateDer<'static>,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        resolver.ensure_loaded(name).await;
        if fx.handshake(resolver, name).await.as_ref() == Ok(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never served the new certificate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_backends! {
    serves_the_loaded_certificate => serves_the_loaded_certificate_body;
    unknown_names_and_missing_sni_fail => unknown_names_and_missing_sni_fail_body;
    negative_entries_expire => negative_entries_expire_body;
    replaced_certificates_are_served_after_the_ttl => replaced_certificates_are_served_after_the_ttl_body;
    invalidation_takes_effect_at_once => invalidation_takes_effect_at_once_body;
    concurrent_misses_share_one_query => concurrent_misses_share_one_query_body;
    undecryptable_keys_are_errors => undecryptable_keys_are_errors_body;
}

async fn serves_the_loaded_certificate_body(t: TestDb) {
    let fx = Fixture::new();
    let leaf = fx
        .store(&t.db, "a.portal.localhost", &["a.portal.localhost"])
        .await;
    fx.store(&t.db, "*.portal.localhost", &["*.portal.localhost"])
        .await;
    let resolver = fx.resolver(&t.db, ResolverSettings::default());

    // Before the pre-TLS hook has loaded it, the cache knows nothing.
    assert!(fx.handshake(&resolver, "a.portal.localhost").await.is_err());

    assert_eq!(
        resolver.ensure_loaded("a.portal.localhost").await,
        LoadOutcome::Loaded
    );
    let served = fx.handshake(&resolver, "a.portal.localhost").await.unwrap();
    assert_eq!(served, leaf);
    assert_eq!(common::dns_names(&served), vec!["a.portal.localhost"]);
    assert_eq!(
        resolver.ensure_loaded("A.Portal.Localhost").await,
        LoadOutcome::Hit
    );

    // Another name under the wildcard gets the wildcard certificate.
    assert_eq!(
        resolver.ensure_loaded("b.portal.localhost").await,
        LoadOutcome::Loaded
    );
    let served = fx.handshake(&resolver, "b.portal.localhost").await.unwrap();
    assert_eq!(common::dns_names(&served), vec!["*.portal.localhost"]);

    let stats = resolver.stats();
    assert_eq!((stats.hits, stats.misses, stats.db_lookups), (1, 2, 2));
}

async fn unknown_names_and_missing_sni_fail_body(t: TestDb) {
    let fx = Fixture::new();
    fx.store(&t.db, "a.portal.localhost", &["a.portal.localhost"])
        .await;
    let resolver = fx.resolver(&t.db, ResolverSettings::default());
    assert_eq!(
        resolver.ensure_loaded("a.portal.localhost").await,
        LoadOutcome::Loaded
    );

    assert_eq!(
        resolver.ensure_loaded("unknown.example.com").await,
        LoadOutcome::Unknown
    );
    assert!(fx.handshake(&resolver, "unknown.example.com").await.is_err());
    // An IP address as the server name: the client sends no SNI.
    assert!(fx.handshake(&resolver, "127.0.0.1").await.is_err());
    // Not a host name at all: no query.
    let before = resolver.stats().db_lookups;
    assert_eq!(resolver.ensure_loaded("bad_name!").await, LoadOutcome::Unknown);
    assert_eq!(resolver.stats().db_lookups, before);
    // The known name still works.
    assert!(fx.handshake(&resolver, "a.portal.localhost").await.is_ok());
}

async fn negative_entries_expire_body(t: TestDb) {
    let fx = Fixture::new();
    let negative_ttl = Duration::from_millis(500);
    let resolver = fx.resolver(
        &t.db,
        ResolverSettings {
            positive_ttl: Duration::from_secs(3600),
            negative_ttl,
            max_entries: 100,
        },
    );
    let name = "late.portal.localhost";
    let cached_at = Instant::now();
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Unknown);
    assert_eq!(resolver.stats().db_lookups, 1);

    let leaf = fx.store(&t.db, name, &[name]).await;
    let outcome = resolver.ensure_loaded(name).await;
    if cached_at.elapsed() < negative_ttl {
        // Still remembered as unknown: no second query.
        assert_eq!(outcome, LoadOutcome::Unknown);
        assert_eq!(resolver.stats().db_lookups, 1);
        assert_eq!(resolver.stats().negative_hits, 1);
    }
    eventually_serves(&fx, &resolver, name, &leaf).await;
}

async fn replaced_certificates_are_served_after_the_ttl_body(t: TestDb) {
    let fx = Fixture::new();
    let positive_ttl = Duration::from_millis(300);
    let resolver = fx.resolver(
        &t.db,
        ResolverSettings {
            positive_ttl,
            negative_ttl: Duration::from_millis(100),
            max_entries: 100,
        },
    );
    let name = "renew.portal.localhost";
    let first = fx.store(&t.db, name, &[name]).await;
    let loaded_at = Instant::now();
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Loaded);
    assert_eq!(fx.handshake(&resolver, name).await.unwrap(), first);

    let second = fx.store(&t.db, name, &[name]).await;
    assert_ne!(first, second);
    let served = fx.handshake(&resolver, name).await.unwrap();
    if loaded_at.elapsed() < positive_ttl {
        assert_eq!(served, first, "the cached certificate is served until the TTL");
    }
    eventually_serves(&fx, &resolver, name, &second).await;
}

async fn invalidation_takes_effect_at_once_body(t: TestDb) {
    let fx = Fixture::new();
    let resolver = fx.resolver(
        &t.db,
        ResolverSettings {
            positive_ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(3600),
            max_entries: 100,
        },
    );
    let name = "inv.portal.localhost";
    let first = fx.store(&t.db, name, &[name]).await;
    resolver.ensure_loaded(name).await;
    let second = fx.store(&t.db, name, &[name]).await;
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Hit);
    assert_eq!(fx.handshake(&resolver, name).await.unwrap(), first);

    resolver.invalidate("INV.portal.localhost");
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Loaded);
    assert_eq!(fx.handshake(&resolver, name).await.unwrap(), second);

    // Invalidating a wildcard forgets the names it covers.
    let under = "x.wild.portal.localhost";
    assert_eq!(resolver.ensure_loaded(under).await, LoadOutcome::Unknown);
    let wild = fx
        .store(&t.db, "*.wild.portal.localhost", &["*.wild.portal.localhost"])
        .await;
    assert_eq!(resolver.ensure_loaded(under).await, LoadOutcome::Unknown);
    resolver.invalidate("*.wild.portal.localhost");
    assert_eq!(resolver.ensure_loaded(under).await, LoadOutcome::Loaded);
    assert_eq!(fx.handshake(&resolver, under).await.unwrap(), wild);

    // Forgetting everything keeps what a hook just confirmed: a handshake
    // between its hook and rustls's `resolve` still gets its certificate.
    resolver.invalidate_all();
    assert!(resolver.cached(name).is_none());
    assert_eq!(fx.handshake(&resolver, name).await.unwrap(), second);
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Loaded);
}

async fn concurrent_misses_share_one_query_body(t: TestDb) {
    let fx = Fixture::new();
    let known = "known.portal.localhost";
    fx.store(&t.db, known, &[known]).await;
    let resolver = fx.resolver(&t.db, ResolverSettings::default());

    // Whether the calls overlap is up to the scheduler (a lookup is one
    // quick query): a round in which they did not proves nothing, so it is
    // repeated, with a name that is not cached yet, until one does.
    for (kind, expected) in [("unknown", LoadOutcome::Unknown), ("known", LoadOutcome::Loaded)] {
        let mut overlapped = false;
        for round in 0..50 {
            let name = match expected {
                LoadOutcome::Loaded => {
                    resolver.invalidate(known);
                    known.to_owned()
                }
                _ => format!("random-{round}.portal.localhost"),
            };
            let before = resolver.stats();
            let barrier = Arc::new(tokio::sync::Barrier::new(32));
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let resolver = resolver.clone();
                    let barrier = barrier.clone();
                    let name = name.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        resolver.ensure_loaded(&name).await
                    })
                })
                .collect();
            for task in tasks {
                let outcome = task.await.unwrap();
                let acceptable = match expected {
                    LoadOutcome::Loaded => [LoadOutcome::Loaded, LoadOutcome::Hit],
                    other => [other, other],
                };
                assert!(acceptable.contains(&outcome), "{name}: {outcome:?}");
            }
            let after = resolver.stats();
            assert_eq!(after.db_lookups - before.db_lookups, 1, "{name}");
            if after.misses - before.misses > 1 {
                overlapped = true;
                break;
            }
        }
        assert!(
            overlapped,
            "the calls for the {kind} name never overlapped in 50 rounds"
        );
    }
}

async fn undecryptable_keys_are_errors_body(t: TestDb) {
    let fx = Fixture::new();
    let name = "a.portal.localhost";
    fx.store(&t.db, name, &[name]).await;
    let resolver = Arc::new(CertResolver::new(
        t.db.clone(),
        MasterKey::generate(),
        ResolverSettings::default(),
    ));
    assert_eq!(resolver.ensure_loaded(name).await, LoadOutcome::Error);
    assert_eq!(resolver.stats().errors, 1);
    assert!(fx.handshake(&resolver, name).await.is_err());
}
