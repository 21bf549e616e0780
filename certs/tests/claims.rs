//! Who gets a custom domain that several tenants registered: the first
//! whose registration proves control of it (a CNAME to its own canonical
//! host, or the TXT record `_porta-challenge.<domain>` with its token),
//! through the lifecycle worker against a real DNS zone on 127.0.0.1; the
//! others are told why. On both backends, with the migration that made
//! pending names unreserved.

use std::net::Ipv4Addr;
use std::time::Duration;

use porta_certs::dns::CnameVerifier;
use porta_certs::lifecycle::{DomainWorker, LifecycleSettings};
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain, PortalDomain};
use porta_core::db::{audit, routes, tenants, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;
use porta_core::on_pool;
use porta_core::request_context::HostKind;
use porta_core::slug::TenantSlug;
use porta_testkit::dns::TestZone;
use porta_testkit::{both_backends, Backend, TestDb};

const BASE: &str = "portal.example.test";

struct Fixture {
    db: Db,
    zone: TestZone,
    worker: DomainWorker,
    _dir: tempfile::TempDir,
}

async fn fixture(t: &TestDb) -> Fixture {
    let zone = TestZone::start("example.test.").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(&dir.path().join("ca")).unwrap();
    let worker = DomainWorker::new(
        t.db.clone(),
        MasterKey::generate(),
        CnameVerifier::new(&[zone.addr()]).unwrap(),
        Some(ca),
        None,
        LifecycleSettings {
            first_retry: Duration::from_secs(60),
            ..LifecycleSettings::default()
        },
    );
    Fixture {
        db: t.db.clone(),
        zone,
        worker,
        _dir: dir,
    }
}

async fn tenant(db: &Db, slug: &str) -> TenantId {
    tenants::create(db, &TenantSlug::parse(slug).unwrap(), slug)
        .await
        .unwrap()
        .id
}

/// `tenant` (its slug) registers `name` as staff do: pending, its CNAME to
/// be pointed at `<slug>.portal.example.test`.
async fn register(db: &Db, tenant: TenantId, slug: &str, name: &str, now: UnixMillis) -> PortalDomain {
    portal_domains::create(
        db,
        &NewPortalDomain {
            tenant,
            domain: &HostName::parse(name).unwrap(),
            status: DomainStatus::PendingDns,
            status_message: "Waiting for the CNAME record to point at the portal",
            expected_cname: &HostName::parse(&format!("{slug}.{BASE}")).unwrap(),
            issuer: Issuer::Internal,
            trust_dns: false,
        },
        now,
    )
    .await
    .unwrap()
}

async fn reload(db: &Db, d: &PortalDomain) -> PortalDomain {
    portal_domains::get(db, d.tenant_id, d.id).await.unwrap().unwrap()
}

/// The `portal_domain.status` audit rows of `tenant` about `name`:
/// `(to, message)`.
async fn status_rows(db: &Db, tenant: TenantId, name: &str) -> Vec<(String, String)> {
    audit::recent(db, tenant, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "portal_domain.status" && r.subject.as_deref() == Some(name))
        .map(|r| {
            let detail: serde_json::Value =
                serde_json::from_str(r.detail.as_deref().unwrap_or("null")).unwrap();
            (
                r.outcome,
                detail["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn assert_told_it_is_taken(d: &PortalDomain) {
    assert_eq!(d.status, DomainStatus::Failed, "{d:?}");
    assert_eq!(
        d.status_message,
        format!(
            "Verified by another organisation: {} was proven to belong to another tenant's portal first. \
             Remove it here, or point its DNS at this portal and retry.",
            d.domain
        )
    );
    assert_eq!(d.next_retry_at, None, "no retry of its own: {d:?}");
    assert_eq!(d.verified_at, None);
}

/// Acme and Beta both register `shop.example.test`; neither reserves it.
/// Its CNAME points at Beta's canonical host: Beta's registration claims
/// the name and goes on to `active` (and is what the host routes to),
/// Acme's is failed with the reason, an audit row for Acme says so, and a
/// retry by Acme's staff gets the same answer.
async fn the_first_to_prove_control_gets_the_name(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let name = "shop.example.test";
    let acme = tenant(&f.db, "acme").await;
    let beta = tenant(&f.db, "beta").await;
    let acme_d = register(&f.db, acme, "acme", name, now).await;
    let beta_d = register(&f.db, beta, "beta", name, now).await;
    assert_eq!(portal_domains::holder(&f.db, &acme_d.domain).await.unwrap(), None);

    // Nothing in DNS yet: both wait.
    f.worker.tick(now).await.unwrap();
    for d in [&acme_d, &beta_d] {
        assert_eq!(reload(&f.db, d).await.status, DomainStatus::PendingDns);
    }

    f.zone.set_cname(name, &format!("beta.{BASE}.")).await;
    let later = now.plus_seconds(3600);
    f.worker.tick(later).await.unwrap();
    let won = reload(&f.db, &beta_d).await;
    assert_eq!(won.status, DomainStatus::PendingCertificate, "{won:?}");
    assert_eq!(won.verified_at, Some(later.0));
    assert_eq!(
        won.status_message,
        format!("CNAME verified: {name} points at beta.{BASE}")
    );
    let lost = reload(&f.db, &acme_d).await;
    assert_told_it_is_taken(&lost);
    assert_eq!(
        status_rows(&f.db, acme, name).await,
        [("failed".to_owned(), lost.status_message.clone())]
    );
    assert_eq!(
        portal_domains::holder(&f.db, &acme_d.domain)
            .await
            .unwrap()
            .map(|h| h.tenant_id),
        Some(beta)
    );

    f.worker.tick(later).await.unwrap();
    assert_eq!(reload(&f.db, &beta_d).await.status, DomainStatus::Active);
    let base = HostName::parse(BASE).unwrap();
    let route = routes::resolve(&f.db, &base, &won.domain).await.unwrap().unwrap();
    assert_eq!(
        (route.tenant, route.kind, route.domain),
        (beta, HostKind::Custom, Some(beta_d.id))
    );

    // Acme's staff retry: taken still, whatever its own DNS would say.
    portal_domains::schedule_check(&f.db, acme, acme_d.id, later, later)
        .await
        .unwrap();
    f.worker.tick(later).await.unwrap();
    assert_told_it_is_taken(&reload(&f.db, &acme_d).await);
}

/// Without a CNAME the TXT record `_porta-challenge.<domain>` proves
/// control, but only with the registration's own token: a value that is
/// not one proves nothing; Beta's token makes the name Beta's, and Acme's
/// registration is told.
async fn a_txt_record_with_the_registrations_token_proves_control(t: TestDb) {
    let f = fixture(&t).await;
    let now = UnixMillis::now();
    let name = "txt.example.test";
    let record = format!("_porta-challenge.{name}");
    let acme = tenant(&f.db, "acme").await;
    let beta = tenant(&f.db, "beta").await;
    let acme_d = register(&f.db, acme, "acme", name, now).await;
    let beta_d = register(&f.db, beta, "beta", name, now).await;
    assert_ne!(acme_d.verification_token, beta_d.verification_token);
    f.zone.set_a(name, Ipv4Addr::new(192, 0, 2, 7)).await;

    f.zone.set_txt(&record, "not-a-token").await;
    f.worker.tick(now).await.unwrap();
    let waiting = reload(&f.db, &beta_d).await;
    assert_eq!(waiting.status, DomainStatus::PendingDns);
    assert_eq!(
        waiting.observed_cname.as_deref(),
        Some(format!(r#"["{name} A 192.0.2.7","{record} TXT \"not-a-token\""]"#).as_str()),
        "what DNS said, the TXT value included"
    );

    f.zone.set_txt(&record, &beta_d.verification_token).await;
    let later = now.plus_seconds(3600);
    f.worker.tick(later).await.unwrap();
    let won = reload(&f.db, &beta_d).await;
    assert_eq!(won.status, DomainStatus::PendingCertificate, "{won:?}");
    assert_eq!(
        won.status_message,
        format!("TXT record verified: {record} holds this registration's token")
    );
    assert_told_it_is_taken(&reload(&f.db, &acme_d).await);
}

/// Of two registrations of one name that prove control at the same time,
/// exactly one claims it (one statement, and the unique index on held
/// names across nodes); the claim is idempotent for the holder, and a held
/// name cannot be created active by another tenant.
async fn concurrent_claims_have_one_winner(t: TestDb) {
    let db = t.db.clone();
    let now = UnixMillis::now();
    let name = "race.example.test";
    let mut registrations = Vec::new();
    for slug in ["t1", "t2", "t3", "t4", "t5", "t6"] {
        let id = tenant(&db, slug).await;
        registrations.push(register(&db, id, slug, name, now).await);
    }
    let mut claims = Vec::new();
    for d in &registrations {
        let (db, d) = (db.clone(), d.clone());
        claims.push(tokio::spawn(async move {
            portal_domains::claim(&db, d.tenant_id, d.id, now).await.unwrap()
        }));
    }
    let mut won = Vec::new();
    for (d, claim) in registrations.iter().zip(claims) {
        if claim.await.unwrap() {
            won.push(d.clone());
        }
    }
    assert_eq!(won.len(), 1, "exactly one claim wins");
    assert!(portal_domains::claim(&db, won[0].tenant_id, won[0].id, now)
        .await
        .unwrap());
    let other = tenant(&db, "late").await;
    let active = portal_domains::create(
        &db,
        &NewPortalDomain {
            tenant: other,
            domain: &HostName::parse(name).unwrap(),
            status: DomainStatus::Active,
            status_message: "",
            expected_cname: &HostName::parse(&format!("late.{BASE}")).unwrap(),
            issuer: Issuer::Internal,
            trust_dns: true,
        },
        now,
    )
    .await;
    assert!(
        matches!(active, Err(porta_core::db::DbError::Conflict(_))),
        "{active:?}"
    );
}

async fn exec(db: &Db, sql: &str) {
    on_pool!(db, |pool| sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
}

/// A database from before the claims: an active and a pending domain keep
/// their rows; the active one holds its name, the pending one does not;
/// each has a TXT token; another tenant may now register the pending name.
async fn the_migration_keeps_domains_and_marks_the_proven_ones(t: TestDb) {
    let db = &t.db;
    t.migrate_to(20261201000007).await;
    let acme = TenantId::generate();
    let beta = TenantId::generate();
    for (id, slug) in [(acme, "acme"), (beta, "beta")] {
        exec(
            db,
            &format!(
                "INSERT INTO tenants (id, slug, name, created_at) VALUES ('{id}', '{slug}', '{slug}', 1)"
            ),
        )
        .await;
    }
    for (id, name, status, activated) in [
        (
            "11111111-1111-4111-8111-111111111111",
            "live.example.test",
            "active",
            "5",
        ),
        (
            "22222222-2222-4222-8222-222222222222",
            "later.example.test",
            "pending_dns",
            "NULL",
        ),
    ] {
        exec(
            db,
            &format!(
                "INSERT INTO portal_domains (id, tenant_id, domain, status, status_message, expected_cname, \
                 issuer, trust_dns, attempts, activated_at, created_at, updated_at) VALUES \
                 ('{id}', '{acme}', '{name}', '{status}', '', 'acme.{BASE}', 'internal', FALSE, 0, {activated}, 1, 7)"
            ),
        )
        .await;
    }
    db.migrate().await.expect("the rest of the migrations");

    let live = portal_domains::find_by_name(db, &HostName::parse("live.example.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((live.status, live.verified_at), (DomainStatus::Active, Some(5)));
    let later = portal_domains::find_by_name(db, &HostName::parse("later.example.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (later.status, later.verified_at),
        (DomainStatus::PendingDns, None)
    );
    for d in [&live, &later] {
        assert!(
            d.verification_token.len() == 32 && d.verification_token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{d:?}"
        );
    }
    assert_ne!(live.verification_token, later.verification_token);
    register(db, beta, "beta", "later.example.test", UnixMillis::now()).await;
    assert_eq!(
        portal_domains::list_by_name(db, &later.domain)
            .await
            .unwrap()
            .len(),
        2
    );
}

both_backends! {
    first_proof_wins => the_first_to_prove_control_gets_the_name;
    txt_proof => a_txt_record_with_the_registrations_token_proves_control;
    concurrent_claims => concurrent_claims_have_one_winner;
}

mod migration {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        the_migration_keeps_domains_and_marks_the_proven_ones(TestDb::unmigrated(Backend::Sqlite).await)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        the_migration_keeps_domains_and_marks_the_proven_ones(TestDb::unmigrated(Backend::Postgres).await)
            .await;
    }
}
