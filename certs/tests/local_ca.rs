//! The local CA: its files, what it issues, and the policy that keeps its
//! certificates stored and renewed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use porta_certs::local_ca::{LocalCa, LocalCaError, ROOT_CERT_FILE, ROOT_KEY_FILE};
use porta_certs::master_key::MasterKey;
use porta_certs::policy::{self, LocalTarget};
use porta_certs::store;
use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::tenants;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::{CertificateSource, Issuer};
use porta_core::slug::TenantSlug;
use porta_testkit::{both_backends, TestDb};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::RootCertStore;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn chain(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn verifier(root: &CertificateDer<'static>) -> Arc<WebPkiServerVerifier> {
    let mut roots = RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap()
}

#[test]
fn files_are_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("data/local-ca");
    let first = LocalCa::load_or_create(&ca_dir).unwrap();
    let cert_path = ca_dir.join(ROOT_CERT_FILE);
    let key_path = ca_dir.join(ROOT_KEY_FILE);
    let root_pem = std::fs::read_to_string(&cert_path).unwrap();
    let root_key = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(first.root_pem(), root_pem);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the two files: no temporaries left behind.
    let mut entries: Vec<String> = std::fs::read_dir(&ca_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(entries, vec![ROOT_KEY_FILE, ROOT_CERT_FILE]);

    let second = LocalCa::load_or_create(&ca_dir).unwrap();
    assert_eq!(second.root_pem(), first.root_pem());
    assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), root_pem);
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), root_key);

    // The reloaded CA issues certificates that chain to the same root.
    let issued = second.issue(&names(&["a.portal.localhost"]), DAY).unwrap();
    let leaf = chain(&issued.chain_pem).remove(0);
    verifier(first.root_der())
        .verify_server_cert(
            &leaf,
            &[],
            &ServerName::try_from("a.portal.localhost").unwrap(),
            &[],
            UnixTime::now(),
        )
        .unwrap();
}

#[test]
fn the_root_is_a_p256_ca_for_ten_years() {
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(dir.path()).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(ca.root_der()).unwrap();
    assert!(root.is_ca());
    let cn = root
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(cn.starts_with("Porta Local CA ("), "{cn}");
    let usage = root.key_usage().unwrap().unwrap().value;
    assert!(usage.key_cert_sign());
    let years =
        (root.validity().not_after.timestamp() - root.validity().not_before.timestamp()) / (365 * 24 * 3600);
    assert_eq!(years, 10);
    assert_eq!(
        root.public_key()
            .algorithm
            .parameters
            .as_ref()
            .unwrap()
            .as_oid()
            .unwrap()
            .to_id_string(),
        "1.2.840.10045.3.1.7",
        "P-256"
    );
}

#[test]
fn concurrent_creation_yields_one_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("local-ca");
    let roots: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| LocalCa::load_or_create(&ca_dir).unwrap().root_pem().to_owned()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(roots.iter().all(|r| r == &roots[0]));
    assert_eq!(
        std::fs::read_to_string(ca_dir.join(ROOT_CERT_FILE)).unwrap(),
        roots[0]
    );
}

#[test]
fn corrupt_or_incomplete_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    LocalCa::load_or_create(dir.path()).unwrap();
    let cert_path = dir.path().join(ROOT_CERT_FILE);
    let key_path = dir.path().join(ROOT_KEY_FILE);
    let good_cert = std::fs::read_to_string(&cert_path).unwrap();
    let good_key = std::fs::read_to_string(&key_path).unwrap();

    std::fs::write(&key_path, "garbage").unwrap();
    let err = LocalCa::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, LocalCaError::Corrupt { path, .. } if path == &key_path),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&key_path).unwrap(),
        "garbage",
        "not replaced"
    );
    std::fs::write(&key_path, &good_key).unwrap();

    std::fs::write(
        &cert_path,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = LocalCa::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, LocalCaError::Corrupt { path, .. } if path == &cert_path),
        "{err}"
    );

    // A root that belongs to another key.
    let other = tempfile::tempdir().unwrap();
    let other_ca = LocalCa::load_or_create(other.path()).unwrap();
    std::fs::write(&cert_path, other_ca.root_pem()).unwrap();
    let err = LocalCa::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, LocalCaError::Corrupt { .. }), "{err}");
    std::fs::write(&cert_path, &good_cert).unwrap();
    LocalCa::load_or_create(dir.path()).unwrap();

    std::fs::remove_file(&key_path).unwrap();
    let err = LocalCa::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, LocalCaError::Incomplete { .. }), "{err}");
    assert!(err.to_string().contains(ROOT_KEY_FILE));
}

#[test]
fn issued_leaves_verify_for_their_names_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(dir.path()).unwrap();
    let issued = ca
        .issue(&names(&["a.portal.localhost", "*.w.portal.localhost"]), 30 * DAY)
        .unwrap();
    assert!(!format!("{issued:?}").contains("PRIVATE KEY"));
    let certs = chain(&issued.chain_pem);
    assert_eq!(certs.len(), 2, "leaf and root");
    assert_eq!(&certs[1], ca.root_der());
    let leaf = &certs[0];
    let verifier = verifier(ca.root_der());
    let verify = |name: &str| {
        verifier.verify_server_cert(
            leaf,
            &certs[1..],
            &ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            UnixTime::now(),
        )
    };
    verify("a.portal.localhost").unwrap();
    verify("x.w.portal.localhost").unwrap();
    assert!(verify("b.portal.localhost").is_err());
    assert!(verify("w.portal.localhost").is_err());
    assert!(verify("y.x.w.portal.localhost").is_err());

    // Another CA's root does not vouch for it.
    let other = tempfile::tempdir().unwrap();
    let other_ca = LocalCa::load_or_create(other.path()).unwrap();
    assert!(self::verifier(other_ca.root_der())
        .verify_server_cert(
            leaf,
            &[],
            &ServerName::try_from("a.portal.localhost").unwrap(),
            &[],
            UnixTime::now(),
        )
        .is_err());

    // Serials are random; the leaf is for servers.
    let again = ca.issue(&names(&["a.portal.localhost"]), 30 * DAY).unwrap();
    let (_, one) = x509_parser::parse_x509_certificate(leaf).unwrap();
    let again_der = chain(&again.chain_pem).remove(0);
    let (_, two) = x509_parser::parse_x509_certificate(&again_der).unwrap();
    assert_ne!(one.raw_serial(), two.raw_serial());
    assert!(one.extended_key_usage().unwrap().unwrap().value.server_auth);
    assert!(!one.is_ca());

    assert!(matches!(ca.issue(&[], DAY), Err(LocalCaError::NoNames)));
    assert!(matches!(
        ca.issue(&names(&["not a name"]), DAY),
        Err(LocalCaError::InvalidName(_))
    ));
}

both_backends! {
    ensure_local_issues_only_when_due => ensure_local_issues_only_when_due_body;
    ensure_local_certificates_covers_the_canonical_hosts_and_internal_domains => local_certificates_body;
}

async fn ensure_local_issues_only_when_due_body(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(dir.path()).unwrap();
    let master = MasterKey::generate();
    let domain = "dev.portal.localhost";
    let now = UnixMillis::now();
    let target = LocalTarget {
        tenant: None,
        domain: domain.to_owned(),
        names: vec![domain.to_owned()],
    };
    let ensure = |at: UnixMillis| policy::ensure_local(&t.db, &ca, &master, &target, at);

    assert!(ensure(now).await.unwrap(), "no certificate yet");
    assert!(!ensure(now).await.unwrap(), "a fresh one exists");
    let rows = store::list(&t.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].issuer, CertificateSource::Issued(Issuer::Internal));
    let not_after = rows[0].not_after;
    // The policy's rule: renewed once a third of the lifetime is left.
    let renew_at = policy::renewal_at(&rows[0]);
    let lifetime = rows[0].not_after.0 - rows[0].not_before.0;
    assert_eq!(renew_at.0, not_after.0 - lifetime / 3);

    // Just outside the renewal window: nothing to do.
    let before_window = UnixMillis(renew_at.0 - 60_000);
    assert!(!ensure(before_window).await.unwrap());
    // Inside it: renewed.
    let in_window = UnixMillis(renew_at.0 + 60_000);
    assert!(ensure(in_window).await.unwrap());
    assert!(!ensure(in_window).await.unwrap());

    let rows = store::list(&t.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    let current = store::current_for(&t.db, domain, in_window)
        .await
        .unwrap()
        .unwrap();
    assert!(current.info.not_after > not_after);
    assert_eq!(current.info.replaced_at, None);
    current.certified_key(&master).unwrap();

    // Expired altogether: issued again.
    let later = UnixMillis(current.info.not_after.0 + 1);
    assert!(ensure(later).await.unwrap());
}

/// What `porta up` stores: the canonical wildcard (naming the base too)
/// and the active custom domains whose issuer is `internal`, each once.
async fn local_certificates_body(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(dir.path()).unwrap();
    let master = MasterKey::generate();
    let base = HostName::parse("portal.localhost").unwrap();
    let tenant = tenants::create(&t.db, &TenantSlug::parse("acme").unwrap(), "Acme")
        .await
        .unwrap();
    let now = UnixMillis::now();
    for (name, status, issuer) in [
        ("own.example.test", DomainStatus::Active, Issuer::Internal),
        ("public.example.test", DomainStatus::Active, Issuer::Acme),
        ("later.example.test", DomainStatus::PendingDns, Issuer::Internal),
    ] {
        portal_domains::create(
            &t.db,
            &NewPortalDomain {
                tenant: tenant.id,
                domain: &HostName::parse(name).unwrap(),
                status,
                status_message: "",
                expected_cname: &HostName::parse("acme.portal.localhost").unwrap(),
                issuer,
                trust_dns: true,
            },
            now,
        )
        .await
        .unwrap();
    }

    let issued = policy::ensure_local_certificates(&t.db, &ca, &master, &base, now)
        .await
        .unwrap();
    assert_eq!(issued, ["*.portal.localhost", "own.example.test"]);
    let wildcard = store::current_for(&t.db, "*.portal.localhost", now)
        .await
        .unwrap()
        .unwrap();
    let leaf = chain(&wildcard.chain_pem).remove(0);
    assert_eq!(
        common::dns_names(&leaf),
        ["*.portal.localhost", "portal.localhost"]
    );
    let own = store::current_for(&t.db, "own.example.test", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.info.tenant_id, Some(tenant.id));
    assert_eq!(own.info.issuer, CertificateSource::Issued(Issuer::Internal));
    // Nothing is due a moment later.
    let again = policy::ensure_local_certificates(&t.db, &ca, &master, &base, now.plus_seconds(60))
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(store::list(&t.db).await.unwrap().len(), 2);
}
