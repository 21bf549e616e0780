//! The lifecycle worker against a real DNS zone on 127.0.0.1 and the local
//! CA, on both backends: each transition, backoff, giving up, trust on
//! submit, renewal and the per-domain lease.

use std::net::Ipv4Addr;
use std::time::Duration;

use porta_certs::dns::CnameVerifier;
use porta_certs::lifecycle::{registered_domain, try_lease, DomainWorker, LifecycleSettings};
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::store;
use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain, PortalDomain};
use porta_core::db::{audit, tenants, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::{CertificateSource, Issuer};
use porta_core::slug::TenantSlug;
use porta_testkit::dns::TestZone;
use porta_testkit::{both_backends, TestDb};

struct Fixture {
    db: Db,
    zone: TestZone,
    worker: DomainWorker,
    _dir: tempfile::TempDir,
}

fn settings() -> LifecycleSettings {
    LifecycleSettings {
        first_retry: Duration::from_secs(60),
        max_retry: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(72 * 3600),
        weekly_order_budget: 40,
        lease_ttl: Duration::from_secs(600),
    }
}

async fn fixture(t: &TestDb) -> Fixture {
    let zone = TestZone::start("example.test.").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(&dir.path().join("ca")).unwrap();
    let dns = CnameVerifier::new(&[zone.addr()]).unwrap();
    let worker = DomainWorker::new(
        t.db.clone(),
        MasterKey::generate(),
        dns,
        Some(ca),
        None,
        settings(),
    );
    Fixture {
        db: t.db.clone(),
        zone,
        worker,
        _dir: dir,
    }
}

async fn register(db: &Db, name: &str, trust_dns: bool, issuer: Issuer, now: UnixMillis) -> PortalDomain {
    let tenant = match tenants::find_by_slug(db, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap()
    {
        Some(t) => t,
        None => tenants::create(db, &TenantSlug::parse("acme").unwrap(), "Acme")
            .await
            .unwrap(),
    };
    portal_domains::create(
        db,
        &NewPortalDomain {
            tenant: tenant.id,
            domain: &HostName::parse(name).unwrap(),
            status: DomainStatus::PendingDns,
            status_message: "",
            expected_cname: &HostName::parse("acme.portal.example.test").unwrap(),
            issuer,
            trust_dns,
        },
        now,
    )
    .await
    .unwrap()
}

async fn reload(db: &Db, d: &PortalDomain) -> PortalDomain {
    portal_domains::get(db, d.tenant_id, d.id).await.unwrap().unwrap()
}

async fn dns_then_certificate_then_active(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let d = register(&f.db, "shop.example.test", false, Issuer::Internal, now).await;
    f.zone
        .set_a("shop.example.test", Ipv4Addr::new(192, 0, 2, 7))
        .await;

    f.worker.tick(now).await.unwrap();
    let after = reload(&f.db, &d).await;
    assert_eq!(after.status, DomainStatus::PendingDns);
    assert_eq!(after.attempts, 1);
    assert_eq!(
        after.observed_cname.as_deref(),
        Some(r#"["shop.example.test A 192.0.2.7"]"#)
    );
    assert!(after
        .status_message
        .starts_with("Waiting for a CNAME record from shop.example.test to acme.portal.example.test"));
    let delay = after.next_retry_at.unwrap() - now.0;
    assert!(
        (48_000..=72_000).contains(&delay),
        "first retry after ~60 s ±20 %, was {delay} ms"
    );
    // Not due yet: nothing happens.
    f.worker.tick(now.plus_seconds(1)).await.unwrap();
    assert_eq!(reload(&f.db, &d).await.attempts, 1);
    // A second miss doubles the delay.
    let later = UnixMillis(after.next_retry_at.unwrap());
    f.worker.tick(later).await.unwrap();
    let again = reload(&f.db, &d).await;
    assert_eq!(again.attempts, 2);
    let delay = again.next_retry_at.unwrap() - later.0;
    assert!(
        (96_000..=144_000).contains(&delay),
        "second retry after ~120 s, was {delay} ms"
    );

    f.zone.remove("shop.example.test").await;
    f.zone
        .set_cname("shop.example.test", "acme.portal.example.test.")
        .await;
    let at = UnixMillis(again.next_retry_at.unwrap());
    f.worker.tick(at).await.unwrap();
    let aligned = reload(&f.db, &d).await;
    assert_eq!(aligned.status, DomainStatus::PendingCertificate);
    assert_eq!(
        aligned.status_message,
        "CNAME verified: shop.example.test points at acme.portal.example.test"
    );

    let report = f.worker.tick(at).await.unwrap();
    assert_eq!(report.orders, ["issued"]);
    assert_eq!(report.new_certificates, ["shop.example.test"]);
    let active = reload(&f.db, &d).await;
    assert_eq!(active.status, DomainStatus::Active);
    assert_eq!(active.activated_at, Some(at.0));
    let cert = store::current_for(&f.db, "shop.example.test", at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        active.status_message,
        format!("Certificate issued (serial {})", cert.info.serial)
    );
    assert_eq!(cert.info.issuer, CertificateSource::Issued(Issuer::Internal));

    let mut transitions: Vec<String> = audit::recent(&f.db, active.tenant_id, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "portal_domain.status")
        .map(|r| r.outcome)
        .collect();
    // Both were written at the same instant: compare sorted.
    transitions.sort();
    assert_eq!(transitions, ["active", "pending_certificate"]);
}

async fn gives_up_after_the_configured_period(t: TestDb) {
    let f = fixture(&t).await;
    let created = UnixMillis::now();
    let d = register(&f.db, "late.example.test", false, Issuer::Internal, created).await;
    let much_later = created.plus_seconds(73 * 3600);
    f.worker.tick(much_later).await.unwrap();
    let failed = reload(&f.db, &d).await;
    assert_eq!(failed.status, DomainStatus::Failed);
    assert_eq!(failed.next_retry_at, None, "no automatic retry after giving up");
    assert!(
        failed
            .status_message
            .starts_with("Gave up after 72 hours: DNS has no CNAME record for it yet."),
        "{}",
        failed.status_message
    );
    // Staff retry starts over from the DNS step.
    portal_domains::schedule_check(&f.db, d.tenant_id, d.id, much_later, much_later)
        .await
        .unwrap();
    assert_eq!(reload(&f.db, &d).await.status, DomainStatus::PendingDns);
}

async fn trusted_dns_skips_the_check(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let d = register(&f.db, "proxied.example.test", true, Issuer::Internal, now).await;
    f.worker.tick(now).await.unwrap();
    let after = reload(&f.db, &d).await;
    assert_eq!(after.status, DomainStatus::PendingCertificate);
    assert_eq!(
        after.status_message,
        "DNS check skipped: trusted on submit by an operator"
    );
    f.worker.tick(now).await.unwrap();
    assert_eq!(reload(&f.db, &d).await.status, DomainStatus::Active);
}

async fn acme_without_a_ca_fails_with_the_reason_and_backs_off(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let d = register(&f.db, "acme.example.test", true, Issuer::Acme, now).await;
    f.worker.tick(now).await.unwrap();
    let report = f.worker.tick(now).await.unwrap();
    assert_eq!(report.orders, ["error"]);
    let failed = reload(&f.db, &d).await;
    assert_eq!(failed.status, DomainStatus::Failed);
    assert_eq!(
        failed.status_message,
        "Certificate not issued: no ACME CA is configured (acme.directory_url)"
    );
    assert_eq!(failed.attempts, 1);
    assert!(failed.next_retry_at.unwrap() > now.0);
}

async fn renews_in_the_last_third_and_keeps_serving_the_old(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let d = register(&f.db, "renew.example.test", true, Issuer::Internal, now).await;
    f.worker.tick(now).await.unwrap();
    f.worker.tick(now).await.unwrap();
    let first = store::current_for(&f.db, "renew.example.test", now)
        .await
        .unwrap()
        .unwrap();
    // Two thirds of 90 days later: not yet. Past that: renewed.
    let before = now.plus_seconds(59 * 86_400);
    let report = f.worker.tick(before).await.unwrap();
    assert!(report.orders.is_empty());
    let after = now.plus_seconds(61 * 86_400);
    let report = f.worker.tick(after).await.unwrap();
    assert_eq!(report.orders, ["issued"]);
    let second = store::current_for(&f.db, "renew.example.test", after)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(first.info.serial, second.info.serial);
    assert_eq!(reload(&f.db, &d).await.status, DomainStatus::Active);
}

async fn a_leased_domain_is_left_alone(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let d = register(&f.db, "busy.example.test", true, Issuer::Internal, now).await;
    assert!(
        try_lease(&f.db, &d.domain, "another-node", Duration::from_secs(600), now)
            .await
            .unwrap()
    );
    f.worker.tick(now).await.unwrap();
    assert_eq!(
        reload(&f.db, &d).await.status,
        DomainStatus::PendingDns,
        "another node holds the lease"
    );
    // Once that lease lapses, this worker proceeds.
    f.worker.tick(now.plus_seconds(601)).await.unwrap();
    assert_eq!(reload(&f.db, &d).await.status, DomainStatus::PendingCertificate);
}

#[test]
fn backoff_doubles_with_jitter_up_to_the_cap() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let dns = CnameVerifier::new(&["127.0.0.1:9".parse().unwrap()]).unwrap();
    let db = Db::connect_lazy("sqlite:///nonexistent/never-opened.sqlite", 1).unwrap();
    let worker = DomainWorker::new(db, MasterKey::generate(), dns, None, None, settings());
    for (attempts, base) in [
        (0, 60.0),
        (1, 120.0),
        (2, 240.0),
        (5, 1920.0),
        (6, 3600.0),
        (30, 3600.0),
    ] {
        for _ in 0..20 {
            let d = worker.backoff(attempts).as_secs_f64();
            assert!(
                d >= base * 0.8 - 0.001 && d <= base * 1.2 + 0.001,
                "attempts {attempts}: {d}"
            );
        }
    }
}

#[test]
fn budgets_count_by_registered_domain() {
    assert_eq!(registered_domain("portal.acme-it.com"), "acme-it.com");
    assert_eq!(registered_domain("a.b.example.co.uk"), "example.co.uk");
    assert_eq!(registered_domain("shop.example.test"), "example.test");
}

both_backends! {
    full_story => dns_then_certificate_then_active;
    give_up => gives_up_after_the_configured_period;
    trusted_dns => trusted_dns_skips_the_check;
    acme_missing => acme_without_a_ca_fails_with_the_reason_and_backs_off;
    renewal => renews_in_the_last_third_and_keeps_serving_the_old;
    lease => a_leased_domain_is_left_alone;
}
