//! The change table and the feed, on both backends: each writer of what
//! nodes cache records exactly its change in its own transaction (nothing
//! for a rollback), and a running [`ChangeFeed`] hands each change to its
//! sinks within the 2 s bound, starting with those recorded since it was
//! created.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use porta_core::change_feed::{Change, ChangeFeed, ChangeSink, FlushReason, SinkFuture};
use porta_core::clock::UnixMillis;
use porta_core::db::changes;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{branding, tenants, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::Issuer;
use porta_core::slug::TenantSlug;
use porta_testkit::{both_backends, TestDb};

both_backends! {
    each_writer_records_its_change_in_its_transaction => writers_record;
    the_feed_hands_over_changes_since_it_was_created => feed_delivers;
}

async fn recorded(db: &Db) -> Vec<Change> {
    changes::since(db, 0, 1000)
        .await
        .expect("read changes")
        .into_iter()
        .map(|r| r.change.expect("a readable change"))
        .collect()
}

async fn writers_record(t: TestDb) {
    let db = &t.db;
    let slug = TenantSlug::parse("acme").unwrap();
    let tenant = tenants::create(db, &slug, "Acme").await.unwrap();
    let tenant_change = Change::Tenant {
        tenant: tenant.id,
        slug: slug.clone(),
    };
    assert_eq!(recorded(db).await, std::slice::from_ref(&tenant_change));

    let name = HostName::parse("portal.acme.test").unwrap();
    let expected = HostName::parse("acme.portal.test").unwrap();
    let domain = portal_domains::create(
        db,
        &NewPortalDomain {
            tenant: tenant.id,
            domain: &name,
            status: DomainStatus::PendingDns,
            status_message: "waiting",
            expected_cname: &expected,
            issuer: Issuer::Internal,
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    portal_domains::set_status(
        db,
        tenant.id,
        domain.id,
        DomainStatus::Disabled,
        "off",
        UnixMillis::now(),
    )
    .await
    .unwrap();
    assert!(portal_domains::remove(db, tenant.id, domain.id).await.unwrap());
    // Nothing to remove: nothing recorded.
    assert!(!portal_domains::remove(db, tenant.id, domain.id).await.unwrap());
    tenants::set_reply_to(db, tenant.id, None).await.unwrap();
    let mut b = branding::get(db, tenant.id).await.unwrap();
    b.display_name = "Acme IT".to_owned();
    branding::save(db, tenant.id, &b, UnixMillis::now())
        .await
        .unwrap();

    let domain_change = Change::Domain {
        tenant: tenant.id,
        domain: name.clone(),
    };
    assert_eq!(
        recorded(db).await,
        [
            tenant_change.clone(),
            domain_change.clone(),
            domain_change.clone(),
            domain_change,
            tenant_change.clone(),
            tenant_change,
        ]
    );

    // A change recorded in a transaction that rolls back never was.
    let mut tx = db.begin().await.unwrap();
    let rolled_back = Change::Certificate {
        tenant: None,
        name: "*.portal.test".to_owned(),
    };
    changes::record(&mut tx, &rolled_back, UnixMillis::now())
        .await
        .unwrap();
    drop(tx);
    assert_eq!(recorded(db).await.len(), 6);
    let latest = changes::latest_id(db).await.unwrap();
    assert_eq!(changes::since(db, latest, 10).await.unwrap(), []);

    // Pruning keeps what is newer than the cut.
    assert_eq!(changes::prune(db, UnixMillis(0)).await.unwrap(), 0);
    assert_eq!(
        changes::prune(db, UnixMillis::now().plus_seconds(1))
            .await
            .unwrap(),
        6
    );
    assert_eq!(recorded(db).await, []);
}

#[derive(Default)]
struct Recorder {
    heard: Mutex<Vec<Result<Change, FlushReason>>>,
}

impl ChangeSink for Recorder {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        self.heard.lock().unwrap().push(Ok(change.clone()));
        Box::pin(std::future::ready(()))
    }

    fn flush_all(&self, reason: FlushReason) {
        self.heard.lock().unwrap().push(Err(reason));
    }
}

impl Recorder {
    /// Waits (at most `bound`) until `n` events were heard; returns them.
    async fn wait_for(&self, n: usize, bound: Duration) -> Vec<Result<Change, FlushReason>> {
        let deadline = Instant::now() + bound;
        loop {
            let heard = self.heard.lock().unwrap().clone();
            if heard.len() >= n {
                return heard;
            }
            assert!(Instant::now() < deadline, "heard only {heard:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn feed_delivers(t: TestDb) {
    let db = t.db.clone();
    let recorder = Arc::new(Recorder::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let feed = ChangeFeed::new(db.clone(), vec![recorder.clone()]);
    // Written after the feed was created but before it listens (the caches
    // may have been filled meanwhile): handed over once it does, no flush.
    let early = TenantSlug::parse("early").unwrap();
    let early_tenant = tenants::create(&db, &early, "Early").await.unwrap();
    let running = tokio::spawn(async move {
        feed.run(async move {
            let _ = stopped.await;
        })
        .await
    });
    let early_change = Ok(Change::Tenant {
        tenant: early_tenant.id,
        slug: early,
    });
    assert_eq!(
        recorder.wait_for(1, Duration::from_secs(5)).await,
        std::slice::from_ref(&early_change)
    );

    let slug = TenantSlug::parse("after").unwrap();
    let tenant = tenants::create(&db, &slug, "After").await.unwrap();
    let committed = Instant::now();
    let heard = recorder.wait_for(2, Duration::from_secs(2)).await;
    eprintln!("feed delivered in {} ms", committed.elapsed().as_millis());
    assert_eq!(
        heard,
        [
            early_change,
            Ok(Change::Tenant {
                tenant: tenant.id,
                slug
            })
        ]
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the feed stops")
        .expect("the feed task");
}
