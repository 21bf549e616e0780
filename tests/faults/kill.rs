//! A process killed (SIGKILL) while its certificate order is pending at the
//! CA: the domain's lease outlives it, another process takes the lease once
//! it has expired and finishes the work. One certificate, no domain left in
//! `pending_certificate`.

use std::time::{Duration, Instant};

use porta_core::clock::UnixMillis;
use porta_core::db::audit;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::Db;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::Issuer;
use porta_testkit::{Backend, TestDb};

use crate::common::acme_world::{served_leaf, AcmeWorld, CANONICAL};
use crate::common::edge_client::tenant_id;
use crate::common::{metric_sample, Store};

const DOMAIN: &str = "shop.example.test";
const REGISTERED: &str = "example.test";
/// Process A's lease: short, so the test waits seconds, not ten minutes.
const A_LEASE: Duration = Duration::from_secs(8);
/// Bound on an order reaching the CA's validation, and on one finishing.
const ORDER: Duration = Duration::from_secs(90);

/// The lease row of `domain`: holder and expiry.
async fn lease_row(db: &Db, domain: &str) -> Option<(String, i64)> {
    let Db::Postgres(pool) = db else {
        panic!("this fault runs on PostgreSQL");
    };
    sqlx::query_as("SELECT holder, expires_at FROM acme_order_leases WHERE domain = $1")
        .bind(domain)
        .fetch_optional(pool)
        .await
        .expect("read the lease")
}

async fn status_of(db: &Db, domain: &str) -> DomainStatus {
    portal_domains::list_all(db)
        .await
        .expect("domains")
        .into_iter()
        .find(|d| d.domain.as_str() == domain)
        .unwrap_or_else(|| panic!("{domain} is registered"))
        .status
}

/// Lower-case hex without separators or leading zeros.
fn hex(serial: &str) -> String {
    serial
        .replace(':', "")
        .to_ascii_lowercase()
        .trim_start_matches('0')
        .to_owned()
}

/// Process A (`porta up`, 8-second leases) takes the lease on a domain whose
/// CNAME is in place and orders its certificate; the CA's HTTP-01 check is
/// held at the gate, so the order is pending while A holds the lease. A is
/// killed with SIGKILL there. Process B (`porta up` on the same database
/// and ports) takes the lease only after A's has expired, orders again and
/// finishes: exactly one certificate row (current), one audited order, the
/// domain `active` with one pass through each status, the lease released,
/// and B's edge serving that certificate to a client trusting only the CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_order_is_taken_over_after_its_lease() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = Store::new(&db);
    let world = AcmeWorld::start().await;
    world.zone.set_cname(DOMAIN, CANONICAL).await;
    let lease_secs = A_LEASE.as_secs().to_string();
    let a = world.up(&store, &[("PORTA_DOMAINS_LEASE_SECONDS", &lease_secs)]);
    let pool = store.connect_db().await;
    let tenant = tenant_id(&pool, "acme").await;
    portal_domains::create(
        &pool,
        &NewPortalDomain {
            tenant,
            domain: &HostName::parse(DOMAIN).expect("host"),
            status: DomainStatus::PendingDns,
            status_message: "Waiting for the CNAME record to point at the portal",
            expected_cname: &HostName::parse(CANONICAL).expect("host"),
            issuer: Issuer::Acme,
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .expect("register the domain");

    // A's order is at the CA, which is validating it now (held at the gate).
    world.gate.wait_for_arrival_after(0, ORDER).await;
    let (holder, expires_at) = lease_row(&pool, DOMAIN)
        .await
        .expect("A holds the lease while its order is pending");
    assert!(
        holder.starts_with(&format!("{}-", a.pid())),
        "the lease is A's (pid {}): {holder}",
        a.pid()
    );
    assert_eq!(status_of(&pool, DOMAIN).await, DomainStatus::PendingCertificate);
    let killed = a.kill();
    assert!(!killed.success(), "A was killed: {killed}");
    let killed_at = UnixMillis::now();
    assert!(
        killed_at.0 < expires_at,
        "A was killed while its lease was still valid (killed {killed_at:?}, expiry {expires_at})"
    );

    // The crash left the domain where A had it.
    assert_eq!(status_of(&pool, DOMAIN).await, DomainStatus::PendingCertificate);
    assert!(porta_certs::store::list(&pool)
        .await
        .expect("certificates")
        .iter()
        .all(|c| c.domain != DOMAIN));

    // B, on the same database and ports; validations now reach its edge.
    world.gate.open(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        store.ports.edge_http,
    )));
    let b = world.up(&store, &[]);
    let deadline = Instant::now() + A_LEASE + ORDER;
    loop {
        let status = status_of(&pool, DOMAIN).await;
        if status == DomainStatus::Active {
            break;
        }
        assert_ne!(
            status,
            DomainStatus::Failed,
            "the domain failed instead of being taken over"
        );
        assert!(
            Instant::now() < deadline,
            "the domain is still {status} after A's lease expired\n--- B's stderr ---\n{}",
            b.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let certs: Vec<_> = porta_certs::store::list(&pool)
        .await
        .expect("certificates")
        .into_iter()
        .filter(|c| c.domain == DOMAIN)
        .collect();
    assert_eq!(certs.len(), 1, "exactly one certificate row: {certs:?}");
    let cert = &certs[0];
    assert_eq!(cert.replaced_at, None, "{cert:?}");
    assert_eq!(cert.issuer.as_str(), "acme");
    assert!(
        cert.created_at.0 >= expires_at,
        "B issued only after A's lease expired (stored {}, lease expiry {expires_at})",
        cert.created_at.0
    );
    // One order was audited: B's (A died before its order ended).
    let orders = audit::count_since(&pool, "certificate.order", REGISTERED, UnixMillis(0))
        .await
        .expect("count orders");
    assert_eq!(orders, 1, "one audited order");
    let tos: Vec<String> = audit::recent(&pool, tenant, 1000)
        .await
        .expect("audit rows")
        .into_iter()
        .rev()
        .filter(|r| r.action == "portal_domain.status" && r.subject.as_deref() == Some(DOMAIN))
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        tos,
        ["pending_certificate", "active"],
        "status changes of {DOMAIN}"
    );
    let p = &pool;
    let released = async {
        while lease_row(p, DOMAIN).await.is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), released)
        .await
        .expect("B released the lease after its order");

    // B's edge serves it, verified against the CA's root only.
    let trust = world.pebble_trust().await;
    let leaf = served_leaf(store.ports.edge_https, DOMAIN, trust)
        .await
        .expect("B serves the certificate");
    assert_eq!(leaf.sans, [DOMAIN]);
    assert_eq!(
        hex(&leaf.serial),
        hex(&cert.serial),
        "the served certificate is the stored one"
    );
    assert_eq!(
        metric_sample::<f64>(
            &b.metrics().await,
            r#"porta_certificate_orders_total{outcome="issued"}"#
        ),
        Some(1.0),
        "B placed the order that issued"
    );
}
