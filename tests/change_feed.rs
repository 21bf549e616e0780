//! Changes reach a running node within 2 s while its caches would keep the
//! old answer for an hour: the real `porta up` with
//! `edge.cert_cache_ttl_seconds`, `edge.host_cache_ttl_seconds` and
//! `edge.negative_cache_ttl_seconds` at 3600, and the change made by another
//! process (the CLI, or this test writing porta's database with porta's own
//! storage functions). On SQLite the node polls the change table; on
//! PostgreSQL it listens for notifications, and a listener whose connection
//! is killed reconnects and flushes its caches.
//!
//! Every wait has a deadline ([`propagation::seen_within`]); each prints
//! what it measured.

mod common;

use std::time::Instant;

use common::edge_client::*;
use common::propagation::{seen_within, BOUND};
use common::{metric_sample, Porta, Store, DEMO_CUSTOM_DOMAIN, DEMO_SLUG};
use porta_core::clock::UnixMillis;
use porta_core::db::{sessions, users, Db};
use porta_core::email::EmailAddress;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, Backend, TestDb};

both_backends! {
    a_renewed_certificate_is_served_within_two_seconds => renewed_certificate;
    a_disabled_domain_and_a_new_tenant_are_seen_within_two_seconds => domain_and_tenant;
    a_revoked_session_is_refused_within_two_seconds => revoked_session;
}

mod killed_listener {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = porta_testkit::TestDb::new(porta_testkit::Backend::Postgres).await;
        super::killed_listener(db).await;
    }
}

/// Caches that, without the feed, would hide every change for an hour.
const LONG_CACHES: [(&str, &str); 3] = [
    ("PORTA_EDGE_CERT_CACHE_TTL_SECONDS", "3600"),
    ("PORTA_EDGE_HOST_CACHE_TTL_SECONDS", "3600"),
    ("PORTA_EDGE_NEGATIVE_CACHE_TTL_SECONDS", "3600"),
];

fn up(store: &Store) -> Porta {
    store.start("up", &LONG_CACHES)
}

async fn counter(porta: &Porta, series: &str) -> u64 {
    metric_sample(&porta.metrics().await, series).unwrap_or(0)
}

/// `porta cert renew` (another process) renews the demo domain's
/// certificate: the running edge, which has the old one cached for an
/// hour, serves the new serial within 2 s of the command's exit. A
/// certificate for the canonical wildcard stored by this process is
/// likewise served within 2 s of its commit, for every name it covers.
async fn renewed_certificate(db: TestDb) {
    let store = Store::new(&db);
    let porta = up(&store);
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);

    let old = edge.leaf(DEMO_CUSTOM_DOMAIN).await;
    assert_eq!(edge.leaf(DEMO_CUSTOM_DOMAIN).await, old, "cached");
    let renewed = store
        .run(&["cert", "renew", DEMO_CUSTOM_DOMAIN, "--json"], None)
        .await;
    let exited = Instant::now();
    let renewed = renewed.json();
    // Stored as hex without leading zero bytes; the leaf's is `aa:bb:..`.
    let serial = leaf_serial(renewed["serial"].as_str().expect("serial"));
    assert_ne!(serial, old.serial);
    let e = &edge;
    let (served, _) = seen_within("renewed certificate (CLI)", exited, BOUND, || {
        let serial = serial.clone();
        async move {
            let leaf = e.leaf(DEMO_CUSTOM_DOMAIN).await;
            if leaf.serial == serial {
                Ok(leaf)
            } else {
                Err(format!("serial {}", leaf.serial))
            }
        }
    })
    .await;
    assert_eq!(served.sans, [DEMO_CUSTOM_DOMAIN]);

    // The canonical hosts share a wildcard: replacing it reaches each name.
    let wildcard_before = edge.leaf(CANONICAL).await;
    assert_eq!(edge.leaf("someone.portal.localhost").await, wildcard_before);
    let new = store_certificate(&store, &pool, None, "*.portal.localhost").await;
    let committed = Instant::now();
    for name in [CANONICAL, "someone.portal.localhost"] {
        let serial = new.serial.clone();
        seen_within("replaced wildcard", committed, BOUND, || {
            let serial = serial.clone();
            async move {
                let leaf = e.leaf(name).await;
                if leaf.serial == serial {
                    Ok(())
                } else {
                    Err(format!("serial {}", leaf.serial))
                }
            }
        })
        .await;
    }
    assert!(
        counter(&porta, r#"porta_change_feed_changes_total{kind="certificate"}"#).await >= 2,
        "{}",
        porta.metrics().await
    );
}

/// `porta domain disable` stops the demo domain being routed (404) within
/// 2 s although its route is cached for an hour; a tenant created with
/// `porta tenant create` is served on its canonical host within 2 s
/// although the edge has cached that host as unknown for an hour.
async fn domain_and_tenant(db: TestDb) {
    let store = Store::new(&db);
    let porta = up(&store);
    let edge = EdgeClient::new(&store);
    let e = &edge;
    let signin = "/auth/client-portal/signin";

    let routed = edge.get(DEMO_CUSTOM_DOMAIN, signin, None).await;
    assert_eq!(routed.status, 303, "{routed:?}");
    store
        .run(&["domain", "disable", DEMO_CUSTOM_DOMAIN], None)
        .await
        .success();
    let exited = Instant::now();
    seen_within("disabled domain refused", exited, BOUND, || async move {
        let reply = e.get(DEMO_CUSTOM_DOMAIN, signin, None).await;
        if reply.status == 404 {
            assert_branded(&reply, 404, "Portal not found");
            Ok(())
        } else {
            Err(format!("status {}", reply.status))
        }
    })
    .await;

    let beta = "beta.portal.localhost";
    assert_eq!(
        edge.get(beta, signin, None).await.status,
        404,
        "no tenant beta yet"
    );
    store
        .run(
            &[
                "tenant", "create", "--slug", "beta", "--name", "Beta IT", "--json",
            ],
            None,
        )
        .await
        .json();
    let exited = Instant::now();
    seen_within("new tenant served", exited, BOUND, || async move {
        let reply = e.get(beta, signin, None).await;
        if reply.status == 200 {
            Ok(())
        } else {
            Err(format!("status {}", reply.status))
        }
    })
    .await;
    assert!(counter(&porta, r#"porta_change_feed_changes_total{kind="domain"}"#).await >= 1);
    assert!(counter(&porta, r#"porta_change_feed_changes_total{kind="tenant"}"#).await >= 1);
}

/// Revokes every session of the demo client in porta's database (as a
/// sign-out everywhere on another node does); the session the client holds
/// is refused (the dashboard sends it to sign in) within 2 s.
async fn revoked_session(db: TestDb) {
    let store = Store::new(&db);
    let _porta = up(&store);
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);

    let session = signed_in(&edge, &jane).await;
    let dashboard = edge.get(CANONICAL, DASHBOARD, Some(&session)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    let revoked = revoke_all(&pool, &jane.email).await;
    assert_eq!(revoked, 1);
    let committed = Instant::now();
    let e = &edge;
    let s = &session;
    seen_within("revoked session refused", committed, BOUND, || async move {
        let reply = e.get(CANONICAL, DASHBOARD, Some(s)).await;
        if reply.status == 303 && reply.location().starts_with("/auth/client-portal/signin") {
            Ok(())
        } else {
            Err(format!("status {}", reply.status))
        }
    })
    .await;
}

/// A stored serial (lower-case hex, leading zero bytes dropped) written as
/// the leaf's (`aa:bb:...`, as DER has it: a zero byte first when the top
/// bit is set).
fn leaf_serial(stored: &str) -> String {
    let padded = if stored.len() % 2 == 1 {
        format!("0{stored}")
    } else {
        stored.to_owned()
    };
    let mut bytes: Vec<&str> = (0..padded.len() / 2).map(|i| &padded[2 * i..2 * i + 2]).collect();
    if bytes
        .first()
        .is_some_and(|b| u8::from_str_radix(b, 16).expect("hex") >= 0x80)
    {
        bytes.insert(0, "00");
    }
    bytes.join(":")
}

/// Signs the demo client in on the canonical host through the edge.
pub async fn signed_in(edge: &EdgeClient, user: &common::DemoUser) -> common::Session {
    let reply = edge.sign_in_raw(user, None, &[], None).await;
    assert_eq!(reply.status, 303, "sign-in: {reply:?}");
    let cookies = reply.set_cookies();
    common::session_from_set_cookie(&cookies[0])
}

/// Revokes every live session of the demo tenant's client `email`.
pub async fn revoke_all(pool: &Db, email: &str) -> u64 {
    let tenant = tenant_id(pool, DEMO_SLUG).await;
    let email = EmailAddress::parse(email).expect("email");
    let user = users::find_credentials(pool, tenant, &email, UserType::Client)
        .await
        .expect("user lookup")
        .expect("the demo client");
    sessions::revoke_all_for_user(pool, tenant, user.id, "revoked by the test", UnixMillis::now())
        .await
        .expect("revoke")
}

/// Backends of porta's change listeners (their last statement was LISTEN).
async fn listeners(pool: &Db, terminate: bool) -> i64 {
    let Db::Postgres(pg) = pool else {
        panic!("PostgreSQL only")
    };
    let sql = if terminate {
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'"
    } else {
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'"
    };
    sqlx::query_scalar(sql)
        .fetch_one(pg)
        .await
        .expect("pg_stat_activity")
}

/// PostgreSQL: the listeners of `porta up` (one for the edge, one for the
/// portal) are killed with `pg_terminate_backend`; each reconnects at once
/// and its caches are flushed (the edge counts a reconnect and a flush),
/// and a certificate stored afterwards is served within 2 s.
async fn killed_listener(db: TestDb) {
    assert_eq!(db.backend, Backend::Postgres);
    let store = Store::new(&db);
    let porta = up(&store);
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let p = &pool;

    seen_within("two listeners", Instant::now(), BOUND * 5, || async move {
        match listeners(p, false).await {
            2 => Ok(()),
            n => Err(format!("{n} listeners")),
        }
    })
    .await;
    let reconnects = "porta_change_feed_reconnects_total";
    let reconnect_flushes = r#"porta_change_feed_flushes_total{reason="reconnect"}"#;
    assert_eq!(counter(&porta, reconnects).await, 0);
    assert_eq!(counter(&porta, reconnect_flushes).await, 0);
    let old = edge.leaf(DEMO_CUSTOM_DOMAIN).await;

    assert_eq!(listeners(&pool, true).await, 2, "both listeners terminated");
    let killed = Instant::now();
    let porta_ref = &porta;
    seen_within("listener reconnected", killed, BOUND, || async move {
        let n = counter(porta_ref, reconnects).await;
        let flushes = counter(porta_ref, reconnect_flushes).await;
        let back = listeners(p, false).await;
        if n == 1 && flushes == 1 && back == 2 {
            Ok(())
        } else {
            Err(format!("{n} reconnects, {flushes} flushes, {back} listeners"))
        }
    })
    .await;

    let tenant = tenant_id(&pool, DEMO_SLUG).await;
    let new = store_certificate(&store, &pool, Some(tenant), DEMO_CUSTOM_DOMAIN).await;
    assert_ne!(new.serial, old.serial);
    let committed = Instant::now();
    let e = &edge;
    let serial = new.serial.clone();
    seen_within("certificate after the reconnect", committed, BOUND, || {
        let serial = serial.clone();
        async move {
            let leaf = e.leaf(DEMO_CUSTOM_DOMAIN).await;
            if leaf.serial == serial {
                Ok(())
            } else {
                Err(format!("serial {}", leaf.serial))
            }
        }
    })
    .await;
}
