//! The storage the certificate side shares between nodes, on both
//! backends: pending ACME challenges, ACME accounts and the per-domain
//! lease.

use std::time::Duration;

use porta_core::challenge_kind::ChallengeKind;
use porta_core::clock::UnixMillis;
use porta_core::db::acme_accounts::{self, NewAcmeAccount};
use porta_core::db::{acme_challenges, leases};
use porta_core::host::HostName;
use porta_core::on_pool;
use porta_testkit::{both_backends, TestDb};

both_backends! {
    challenges_are_answered_by_kind_until_they_expire => challenges_by_kind;
    the_newest_tls_alpn01_challenge_is_served => newest_tls_alpn01;
    one_account_per_directory_and_the_first_insert_wins => accounts;
    racing_nodes_store_one_account => account_race;
    lease_admits_one_holder_until_expiry => lease_body;
    racing_holders_get_one_lease => lease_race_body;
}

fn host(name: &str) -> HostName {
    HostName::parse(name).unwrap()
}

async fn challenges_by_kind(t: TestDb) {
    let db = &t.db;
    let shop = host("shop.example.test");
    let other = host("other.example.test");
    let now = UnixMillis::now();
    let until = now.plus_seconds(60);
    acme_challenges::put(
        db,
        "tok-http",
        &shop,
        ChallengeKind::Http01,
        "tok-http.thumb",
        now,
        until,
    )
    .await
    .unwrap();
    acme_challenges::put(
        db,
        "tok-tls",
        &shop,
        ChallengeKind::TlsAlpn01,
        "tok-tls.thumb",
        now,
        until,
    )
    .await
    .unwrap();

    let http = |token: &'static str, domain: HostName, at: UnixMillis| async move {
        acme_challenges::http01(db, token, &domain, at).await.unwrap()
    };
    assert_eq!(
        http("tok-http", shop.clone(), now).await.as_deref(),
        Some("tok-http.thumb")
    );
    assert_eq!(
        http("tok-http", other.clone(), now).await,
        None,
        "bound to its domain"
    );
    assert_eq!(
        http("tok-tls", shop.clone(), now).await,
        None,
        "a TLS-ALPN-01 token is not HTTP-01"
    );
    assert_eq!(http("tok-http", shop.clone(), until).await, None, "expired");

    assert_eq!(
        acme_challenges::tls_alpn01(db, &shop, now)
            .await
            .unwrap()
            .as_deref(),
        Some("tok-tls.thumb")
    );
    assert_eq!(acme_challenges::tls_alpn01(db, &other, now).await.unwrap(), None);
    assert_eq!(acme_challenges::tls_alpn01(db, &shop, until).await.unwrap(), None);

    // Put again: replaced, not duplicated.
    acme_challenges::put(
        db,
        "tok-http",
        &shop,
        ChallengeKind::Http01,
        "tok-http.new",
        now,
        until,
    )
    .await
    .unwrap();
    assert_eq!(
        http("tok-http", shop.clone(), now).await.as_deref(),
        Some("tok-http.new")
    );

    acme_challenges::remove(db, "tok-http").await.unwrap();
    assert_eq!(http("tok-http", shop.clone(), now).await, None);
    acme_challenges::remove(db, "tok-http").await.unwrap();
    assert!(acme_challenges::tls_alpn01(db, &shop, now)
        .await
        .unwrap()
        .is_some());
}

async fn newest_tls_alpn01(t: TestDb) {
    let db = &t.db;
    let shop = host("shop.example.test");
    let now = UnixMillis::now();
    let until = now.plus_seconds(600);
    acme_challenges::put(
        db,
        "old",
        &shop,
        ChallengeKind::TlsAlpn01,
        "old.thumb",
        now,
        until,
    )
    .await
    .unwrap();
    acme_challenges::put(
        db,
        "new",
        &shop,
        ChallengeKind::TlsAlpn01,
        "new.thumb",
        now.plus_seconds(5),
        until,
    )
    .await
    .unwrap();
    assert_eq!(
        acme_challenges::tls_alpn01(db, &shop, now.plus_seconds(10))
            .await
            .unwrap()
            .as_deref(),
        Some("new.thumb")
    );
}

fn account<'a>(id: &'a str, url: &'a str, sealed: &'a [u8]) -> NewAcmeAccount<'a> {
    NewAcmeAccount {
        id,
        directory_url: url,
        contact: Some("mailto:ops@example.test"),
        credentials_encrypted: sealed,
        credentials_nonce: b"nonce-123456",
    }
}

async fn accounts(t: TestDb) {
    let db = &t.db;
    let url = "https://ca.test/dir";
    let now = UnixMillis::now();
    assert_eq!(acme_accounts::find(db, url).await.unwrap(), None);
    assert!(
        acme_accounts::insert_if_absent(db, &account("acct-1", url, b"sealed-1"), now)
            .await
            .unwrap()
    );
    assert!(
        !acme_accounts::insert_if_absent(db, &account("acct-2", url, b"sealed-2"), now)
            .await
            .unwrap(),
        "one account per directory: the first stays"
    );
    let found = acme_accounts::find(db, url).await.unwrap().unwrap();
    assert_eq!(found.id, "acct-1");
    assert_eq!(found.credentials_encrypted, b"sealed-1");
    assert_eq!(found.credentials_nonce, b"nonce-123456");
    assert!(
        !format!("{found:?}").contains("sealed-1"),
        "Debug hides the credentials"
    );

    let other = "https://other-ca.test/dir";
    assert!(
        acme_accounts::insert_if_absent(db, &account("acct-3", other, b"sealed-3"), now)
            .await
            .unwrap()
    );
    assert!(acme_accounts::remove(db, url).await.unwrap());
    assert!(!acme_accounts::remove(db, url).await.unwrap());
    assert_eq!(acme_accounts::find(db, url).await.unwrap(), None);
    assert_eq!(
        acme_accounts::find(db, other).await.unwrap().unwrap().id,
        "acct-3"
    );
}

async fn account_race(t: TestDb) {
    let url = "https://ca.test/dir";
    let now = UnixMillis::now();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let db = t.db.clone();
            tokio::spawn(async move {
                let id = format!("acct-{i}");
                let sealed = format!("sealed-{i}");
                acme_accounts::insert_if_absent(&db, &account(&id, url, sealed.as_bytes()), now).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
}

async fn lease_body(t: TestDb) {
    let db = &t.db;
    let d = host("shop.example.test");
    let other = host("other.example.test");
    let ttl = Duration::from_secs(60);
    let t0 = UnixMillis::now();
    let at = |s: i64| t0.plus_seconds(s);
    let try_lease = leases::try_lease;

    assert!(
        try_lease(db, &d, "node-a", ttl, at(0)).await.unwrap(),
        "a free lease is taken"
    );
    assert!(
        !try_lease(db, &d, "node-b", ttl, at(1)).await.unwrap(),
        "held by node-a"
    );
    assert!(
        try_lease(db, &other, "node-b", ttl, at(1)).await.unwrap(),
        "leases are per domain"
    );
    assert!(
        try_lease(db, &d, "node-a", ttl, at(30)).await.unwrap(),
        "the holder extends it"
    );
    assert!(
        !try_lease(db, &d, "node-b", ttl, at(61)).await.unwrap(),
        "extended to 90 s"
    );
    assert!(
        try_lease(db, &d, "node-b", ttl, at(90)).await.unwrap(),
        "an expired lease is taken over"
    );
    assert!(
        !try_lease(db, &d, "node-a", ttl, at(91)).await.unwrap(),
        "node-b holds it now"
    );

    assert!(
        !leases::release(db, &d, "node-a").await.unwrap(),
        "node-a no longer holds it"
    );
    assert!(
        !try_lease(db, &d, "node-a", ttl, at(92)).await.unwrap(),
        "node-a's release freed nothing"
    );
    assert!(leases::release(db, &d, "node-b").await.unwrap());
    assert!(
        try_lease(db, &d, "node-a", ttl, at(93)).await.unwrap(),
        "released: free before expiry"
    );
}

async fn lease_race_body(t: TestDb) {
    let d = host("shop.example.test");
    let now = UnixMillis::now();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let db = t.db.clone();
            let d = d.clone();
            tokio::spawn(async move {
                leases::try_lease(&db, &d, &format!("node-{i}"), Duration::from_secs(60), now).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let sql = "SELECT COUNT(*) FROM acme_order_leases";
    let rows: i64 = on_pool!(&t.db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await).unwrap();
    assert_eq!(rows, 1);
}
