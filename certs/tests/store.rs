//! Certificate rows on both backends.

mod common;

use common::{self_signed, self_signed_with_serial, DAY_MS};
use porta_certs::master_key::MasterKey;
use porta_certs::store::{self, NewCertificate, StoreError};
use porta_core::clock::UnixMillis;
use porta_core::db::tenants;
use porta_core::issuer::{CertificateSource, Issuer};
use porta_core::on_pool;
use porta_core::slug::TenantSlug;
use porta_testkit::{both_backends, TestDb};

fn new_cert<'a>(domain: &'a str, cert: &'a common::TestCert) -> NewCertificate<'a> {
    NewCertificate {
        tenant: None,
        domain,
        issuer: Issuer::Internal.into(),
        chain_pem: &cert.chain_pem,
        key_pem: &cert.key_pem,
    }
}

both_backends! {
    insert_records_serial_and_validity => insert_records_serial_and_validity_body;
    mismatched_key_is_rejected => mismatched_key_is_rejected_body;
    certificate_must_cover_its_domain => certificate_must_cover_its_domain_body;
    older_rows_are_marked_replaced => older_rows_are_marked_replaced_body;
    current_for_picks_a_valid_row => current_for_picks_a_valid_row_body;
    wildcard_fallback_is_one_level => wildcard_fallback_is_one_level_body;
    private_key_is_encrypted_and_bound_to_domain => private_key_is_encrypted_and_bound_to_domain_body;
}

async fn insert_records_serial_and_validity_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let serial = [0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a];
    let cert = self_signed_with_serial(
        &["portal.acme.test"],
        now.0 - DAY_MS,
        now.0 + 30 * DAY_MS,
        &serial,
    );
    let tenant = tenants::create(&t.db, &TenantSlug::parse("acme").unwrap(), "Acme")
        .await
        .unwrap();
    let info = store::insert(
        &t.db,
        &master,
        &NewCertificate {
            tenant: Some(tenant.id),
            domain: "Portal.Acme.Test",
            issuer: CertificateSource::Imported,
            chain_pem: &cert.chain_pem,
            key_pem: &cert.key_pem,
        },
        now,
    )
    .await
    .unwrap();

    assert_eq!(info.serial, "0abcdef0123456789a");
    assert_eq!(info.not_before.0, cert.not_before.unix_timestamp() * 1000);
    assert_eq!(info.not_after.0, cert.not_after.unix_timestamp() * 1000);
    assert_eq!(info.domain, "portal.acme.test");
    assert_eq!(info.issuer, CertificateSource::Imported);
    assert_eq!(info.tenant_id, Some(tenant.id));
    assert_eq!(info.created_at, now);
    assert_eq!(info.replaced_at, None);

    let stored = store::get(&t.db, info.id).await.unwrap().unwrap();
    assert_eq!(stored.info, info);
    assert_eq!(stored.chain_pem, cert.chain_pem);
    assert_eq!(store::list(&t.db).await.unwrap(), vec![info]);

    // A serial whose first byte has the high bit set is stored without the
    // DER sign byte.
    let high = self_signed_with_serial(&["high.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS, &[0x80, 0x01]);
    let info = store::insert(&t.db, &master, &new_cert("high.acme.test", &high), now)
        .await
        .unwrap();
    assert_eq!(info.serial, "8001");
}

async fn mismatched_key_is_rejected_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let cert = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS);
    let other = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS);
    let result = store::insert(
        &t.db,
        &master,
        &NewCertificate {
            key_pem: &other.key_pem,
            ..new_cert("a.acme.test", &cert)
        },
        now,
    )
    .await;
    assert!(matches!(result, Err(StoreError::KeyMismatch)), "{result:?}");

    let garbage = store::insert(
        &t.db,
        &master,
        &NewCertificate {
            key_pem: "not a key",
            ..new_cert("a.acme.test", &cert)
        },
        now,
    )
    .await;
    assert!(matches!(garbage, Err(StoreError::KeyPem)), "{garbage:?}");

    let no_chain = store::insert(
        &t.db,
        &master,
        &NewCertificate {
            chain_pem: "",
            ..new_cert("a.acme.test", &cert)
        },
        now,
    )
    .await;
    assert!(matches!(no_chain, Err(StoreError::EmptyChain)), "{no_chain:?}");
    assert!(store::list(&t.db).await.unwrap().is_empty());
}

async fn certificate_must_cover_its_domain_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let cert = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS);
    let result = store::insert(&t.db, &master, &new_cert("b.acme.test", &cert), now).await;
    assert!(
        matches!(result, Err(StoreError::NameNotCovered { .. })),
        "{result:?}"
    );

    let wildcard = self_signed(&["*.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS);
    store::insert(&t.db, &master, &new_cert("b.acme.test", &wildcard), now)
        .await
        .unwrap();
    store::insert(&t.db, &master, &new_cert("*.acme.test", &wildcard), now)
        .await
        .unwrap();
    let deeper = store::insert(&t.db, &master, &new_cert("x.b.acme.test", &wildcard), now).await;
    assert!(
        matches!(deeper, Err(StoreError::NameNotCovered { .. })),
        "{deeper:?}"
    );
    let bad = store::insert(&t.db, &master, &new_cert("not a domain", &cert), now).await;
    assert!(matches!(bad, Err(StoreError::InvalidDomain(_))), "{bad:?}");
}

async fn older_rows_are_marked_replaced_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let first = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + 30 * DAY_MS);
    let second = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + 60 * DAY_MS);
    let neighbour = self_signed(&["b.acme.test"], now.0 - DAY_MS, now.0 + 60 * DAY_MS);

    let a1 = store::insert(&t.db, &master, &new_cert("a.acme.test", &first), now)
        .await
        .unwrap();
    let b = store::insert(&t.db, &master, &new_cert("b.acme.test", &neighbour), now)
        .await
        .unwrap();
    let later = UnixMillis(now.0 + 1000);
    let a2 = store::insert(&t.db, &master, &new_cert("a.acme.test", &second), later)
        .await
        .unwrap();

    let a1 = store::get(&t.db, a1.id).await.unwrap().unwrap().info;
    assert_eq!(a1.replaced_at, Some(later));
    let a2 = store::get(&t.db, a2.id).await.unwrap().unwrap().info;
    assert_eq!(a2.replaced_at, None);
    let b = store::get(&t.db, b.id).await.unwrap().unwrap().info;
    assert_eq!(b.replaced_at, None, "another domain's row is untouched");

    // A third row does not move the first row's replacement time.
    let third = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + 90 * DAY_MS);
    let even_later = UnixMillis(now.0 + 2000);
    store::insert(&t.db, &master, &new_cert("a.acme.test", &third), even_later)
        .await
        .unwrap();
    assert_eq!(
        store::get(&t.db, a1.id).await.unwrap().unwrap().info.replaced_at,
        Some(later)
    );
    assert_eq!(
        store::get(&t.db, a2.id).await.unwrap().unwrap().info.replaced_at,
        Some(even_later)
    );
}

async fn current_for_picks_a_valid_row_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now().0;
    let domain = "a.acme.test";
    let current = |at: i64| {
        let db = t.db.clone();
        async move {
            store::current_for(&db, domain, UnixMillis(at))
                .await
                .unwrap()
                .map(|c| c.info.serial)
        }
    };
    let insert = |cert: common::TestCert, at: i64| {
        let db = t.db.clone();
        let master = master.clone();
        async move {
            store::insert(&db, &master, &new_cert(domain, &cert), UnixMillis(at))
                .await
                .unwrap()
                .serial
        }
    };

    assert_eq!(current(now).await, None);
    let long = insert(self_signed(&[domain], now - DAY_MS, now + 20 * DAY_MS), now).await;
    assert_eq!(current(now).await.as_ref(), Some(&long));

    // Newer rows that are expired or not yet valid are never chosen.
    let expired = insert(self_signed(&[domain], now - 30 * DAY_MS, now - DAY_MS), now + 1).await;
    let future = insert(self_signed(&[domain], now + DAY_MS, now + 60 * DAY_MS), now + 2).await;
    assert_eq!(current(now).await.as_ref(), Some(&long));
    assert_ne!(current(now).await.as_ref(), Some(&expired));

    // A newer valid row replaces it, even with an earlier not_after.
    let short = insert(self_signed(&[domain], now - DAY_MS, now + 10 * DAY_MS), now + 3).await;
    assert_eq!(current(now).await.as_ref(), Some(&short));

    // Once `short` expires, the replaced rows that are valid then compete on
    // not_after: `future` (day 60) beats `long` (day 20).
    assert_eq!(current(now + 15 * DAY_MS).await.as_ref(), Some(&future));
    assert_eq!(current(now + 25 * DAY_MS).await.as_ref(), Some(&future));
    // `not_after` itself is outside the window.
    assert_eq!(current(now + 60 * DAY_MS).await, None);
}

async fn wildcard_fallback_is_one_level_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let wildcard = self_signed(&["*.portal.localhost"], now.0 - DAY_MS, now.0 + DAY_MS);
    store::insert(&t.db, &master, &new_cert("*.portal.localhost", &wildcard), now)
        .await
        .unwrap();

    let found = store::for_server_name(&t.db, "a.portal.localhost", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.info.domain, "*.portal.localhost");
    let upper = store::for_server_name(&t.db, "A.Portal.Localhost", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(upper.info.domain, "*.portal.localhost");
    assert!(store::for_server_name(&t.db, "a.b.portal.localhost", now)
        .await
        .unwrap()
        .is_none());
    assert!(store::for_server_name(&t.db, "portal.localhost", now)
        .await
        .unwrap()
        .is_none());
    assert!(
        store::for_server_name(&t.db, "*.portal.localhost", now)
            .await
            .unwrap()
            .is_none(),
        "a wildcard is not a server name"
    );

    // The exact name wins over the wildcard.
    let exact = self_signed(&["a.portal.localhost"], now.0 - DAY_MS, now.0 + DAY_MS);
    store::insert(&t.db, &master, &new_cert("a.portal.localhost", &exact), now)
        .await
        .unwrap();
    let found = store::for_server_name(&t.db, "a.portal.localhost", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.info.domain, "a.portal.localhost");
    let still_wild = store::for_server_name(&t.db, "b.portal.localhost", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still_wild.info.domain, "*.portal.localhost");
}

async fn private_key_is_encrypted_and_bound_to_domain_body(t: TestDb) {
    let master = MasterKey::generate();
    let now = UnixMillis::now();
    let cert = self_signed(&["a.acme.test"], now.0 - DAY_MS, now.0 + DAY_MS);
    let info = store::insert(&t.db, &master, &new_cert("a.acme.test", &cert), now)
        .await
        .unwrap();

    let (encrypted, nonce): (Vec<u8>, Vec<u8>) = on_pool!(&t.db, |pool| sqlx::query_as(
        "SELECT key_encrypted, key_nonce FROM certificates WHERE id = $1"
    )
    .bind(info.id.to_string())
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(nonce.len(), 12);
    let pem = cert.key_pem.as_bytes();
    assert!(!encrypted.windows(10).any(|w| w == b"PRIVATE KE"));
    assert!(!encrypted.windows(pem.len()).any(|w| w == pem));
    // The body of the PEM (base64 of the key) is not there either.
    let body_line = cert.key_pem.lines().nth(1).unwrap().as_bytes();
    assert!(!encrypted.windows(body_line.len()).any(|w| w == body_line));

    let stored = store::get(&t.db, info.id).await.unwrap().unwrap();
    let key = stored.certified_key(&master).unwrap();
    assert!(key.keys_match().is_ok());
    assert!(matches!(
        stored.certified_key(&MasterKey::generate()),
        Err(StoreError::Decrypt(_))
    ));
    assert!(!format!("{stored:?}").contains("PRIVATE"));

    // Moving the sealed key to another domain's row makes it unreadable.
    on_pool!(&t.db, |pool| sqlx::query(
        "UPDATE certificates SET domain = 'b.acme.test' WHERE id = $1"
    )
    .bind(info.id.to_string())
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let moved = store::get(&t.db, info.id).await.unwrap().unwrap();
    assert!(matches!(
        moved.certified_key(&master),
        Err(StoreError::Decrypt(_))
    ));
}
