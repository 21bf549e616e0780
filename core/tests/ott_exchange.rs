//! The one-time-token exchange's single write, on both backends: it spends
//! the token, creates the session and records the audit row together, or
//! (refused) spends nothing and creates nothing, or (failed) writes
//! nothing at all; of concurrent exchanges of one token exactly one wins.

use porta_core::clock::UnixMillis;
use porta_core::db::ott_exchange::{self, HandedOff, OttExchange};
use porta_core::db::{audit, otts, portal_domains, sessions, tenants, users, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::ids::{PortalDomainId, TenantId};
use porta_core::ott::{BindingHash, HandoffNonce, OttToken, SessionSnapshot};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};

mod common;
use common::*;

const HOST: &str = "portal.acme-it.example";

/// An exchange of `token` by the browser with `binding`, on `domain` of
/// `tenant`.
fn exchange_of<'a>(
    hash: &'a porta_core::ott::OttHash,
    binding: &'a BindingHash,
    tenant: TenantId,
    domain: PortalDomainId,
    now: UnixMillis,
) -> OttExchange<'a> {
    OttExchange {
        hash,
        binding,
        tenant,
        domain,
        domain_status: DomainStatus::Active,
        host: HOST,
        session_expires_at: now.plus_seconds(3_600),
        ip: Some("203.0.113.7"),
        user_agent: Some("Mozilla/5.0 (exchange test)"),
        now,
    }
}

async fn exchange(db: &Db, f: &OttFixture, token: &OttToken, binding: &BindingHash) -> Option<HandedOff> {
    let hash = token.hash();
    ott_exchange::exchange(
        db,
        &exchange_of(&hash, binding, f.tenant, f.domain, UnixMillis::now()),
    )
    .await
    .unwrap()
}

/// The sessions the exchange created (`login_method = 'ott'`).
async fn ott_sessions(db: &Db) -> i64 {
    porta_core::on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE login_method = 'ott'"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

/// The tenant's `handoff` audit rows, oldest first: (outcome, actor set, detail).
async fn handoff_audit(db: &Db, tenant: TenantId) -> Vec<(String, bool, Option<String>)> {
    let mut rows: Vec<_> = audit::recent(db, tenant, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "handoff")
        .map(|r| (r.outcome, r.actor_user_id.is_some(), r.detail))
        .collect();
    rows.reverse();
    rows
}

fn refused() -> (String, bool, Option<String>) {
    (
        "failure".into(),
        false,
        Some(r#"{"reason":"invalid_or_expired"}"#.into()),
    )
}

fn accepted() -> (String, bool, Option<String>) {
    ("success".into(), true, None)
}

/// Success: the session row is exactly what the exchange says it created,
/// tied to the canonical session; the token is spent (a second exchange is
/// refused); one audit row each, the success naming the user.
async fn spends_creates_and_audits(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let now = UnixMillis::now();
    let binding = HandoffNonce::generate().binding();
    let snap = SessionSnapshot {
        canonical_session_id: Some(f.session.id),
        ..snapshot()
    };
    let token = issue_with(db, &f, &binding, &snap, "/client-portal/tickets/7", 90, now).await;
    let long_agent = "A".repeat(2_000);
    let hash = token.hash();
    let handed = ott_exchange::exchange(
        db,
        &OttExchange {
            user_agent: Some(&long_agent),
            ..exchange_of(&hash, &binding, f.tenant, f.domain, now)
        },
    )
    .await
    .unwrap()
    .expect("the token buys a session");

    assert_eq!(handed.user_type, UserType::Client);
    assert_eq!(handed.snapshot, snap);
    assert_eq!(handed.next_path, "/client-portal/tickets/7");
    let session = &handed.session;
    assert_eq!(
        (session.tenant_id, session.user_id, session.host.as_str()),
        (f.tenant, f.user, HOST)
    );
    assert_eq!(
        (session.created_at, session.expires_at, session.last_seen_at),
        (now.0, now.plus_seconds(3_600).0, now.0)
    );
    assert_eq!(session.login_method, "ott");
    assert_eq!(session.parent_session_id, Some(f.session.id));
    assert_eq!(session.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(session.user_agent.as_deref(), Some(&long_agent[..512]));
    let stored = sessions::get(db, f.tenant, session.id).await.unwrap();
    assert_eq!(stored.as_ref(), Some(session));

    assert!(exchange(db, &f, &token, &binding).await.is_none(), "spent");
    assert_eq!(ott_sessions(db).await, 1);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![accepted(), refused()]);
    let audit = audit::recent(db, f.tenant, 10).await.unwrap();
    let success = audit.iter().find(|r| r.outcome == "success").unwrap();
    assert_eq!(success.actor_user_id, Some(f.user));
    assert_eq!(success.subject.as_deref(), Some(HOST));
    assert_eq!(success.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(success.user_agent.as_deref(), Some(&long_agent[..512]));
    assert_eq!(success.created_at, now.0);
}

/// Refused (another browser, domain or tenant; expired; its issuing
/// session revoked; its user disabled): no session, a failure row, and
/// the token is not spent: it still works for its own browser afterwards.
async fn refusals_spend_nothing(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let other_domain = domain(
        db,
        f.tenant,
        "portal2.acme-it.example",
        porta_core::domain_status::DomainStatus::Active,
    )
    .await
    .id;
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap().id;
    let now = UnixMillis::now();
    let (token, binding) = issue_ott(db, &f, 90, now).await;
    let hash = token.hash();
    let stranger = HandoffNonce::generate().binding();
    let attempts = [
        exchange_of(&hash, &stranger, f.tenant, f.domain, now),
        exchange_of(&hash, &binding, f.tenant, other_domain, now),
        exchange_of(&hash, &binding, beta, f.domain, now),
        exchange_of(&hash, &binding, f.tenant, f.domain, now.plus_seconds(91)),
    ];
    for attempt in &attempts {
        assert_eq!(ott_exchange::exchange(db, attempt).await.unwrap(), None);
    }
    // The issuing session revoked (straight in its row: `sessions::revoke`
    // would also spend its tokens), then the user disabled: refused while
    // so.
    let set_revoked = |at: Option<i64>| async move {
        porta_core::on_pool!(db, |pool| sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1"
        )
        .bind(f.session.id)
        .bind(at)
        .execute(pool)
        .await
        .map(|_| ()))
        .unwrap();
    };
    set_revoked(Some(now.0)).await;
    assert!(exchange(db, &f, &token, &binding).await.is_none());
    set_revoked(None).await;
    users::set_disabled(db, f.tenant, f.user, true).await.unwrap();
    assert!(exchange(db, &f, &token, &binding).await.is_none());
    users::set_disabled(db, f.tenant, f.user, false).await.unwrap();

    assert_eq!(ott_sessions(db).await, 0);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![refused(); 5]);
    // The domain is not the other tenant's: nothing is written there.
    assert_eq!(handoff_audit(db, beta).await, vec![]);
    assert!(exchange(db, &f, &token, &binding).await.is_some(), "never spent");
    assert_eq!(ott_sessions(db).await, 1);
}

/// A user whose type changed since the token was issued gets no session,
/// and the token is spent all the same.
async fn changed_type_spends_without_session(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let now = UnixMillis::now();
    let (token, binding) = issue_ott(db, &f, 90, now).await;
    porta_core::on_pool!(db, |pool| sqlx::query(
        "UPDATE users SET user_type = 'internal', client_id = NULL WHERE id = $1"
    )
    .bind(f.user)
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    assert!(exchange(db, &f, &token, &binding).await.is_none());
    assert_eq!(ott_sessions(db).await, 0);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![refused()]);
    let spent = otts::consume(db, &token.hash(), &binding, f.tenant, f.domain, UnixMillis::now()).await;
    assert_eq!(spent.unwrap(), None, "the token was spent");
}

/// Fifty exchanges of one token at once: one session, one success, and
/// every other a refusal.
async fn one_winner_under_a_race(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let (token, binding) = issue_ott(db, &f, 90, UnixMillis::now()).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (db, barrier, hash) = (db.clone(), barrier.clone(), token.hash());
        let (tenant, domain) = (f.tenant, f.domain);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let ex = exchange_of(&hash, &binding, tenant, domain, UnixMillis::now());
            ott_exchange::exchange(&db, &ex).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(ott_sessions(db).await, 1);
    let audit = handoff_audit(db, f.tenant).await;
    assert_eq!(audit.iter().filter(|r| **r == accepted()).count(), 1);
    assert_eq!(audit.iter().filter(|r| **r == refused()).count(), 49);
}

/// A write that fails half-way (here the audit table is gone, after the
/// token was spent and the session inserted) leaves nothing behind: the
/// token unspent, no session; and the database takes the next write (on
/// SQLite, the script's transaction was rolled back, not left holding the
/// write lock).
async fn a_failure_writes_nothing(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let (token, binding) = issue_ott(db, &f, 90, UnixMillis::now()).await;
    let rename = |from: &'static str, to: &'static str| async move {
        let sql = format!("ALTER TABLE {from} RENAME TO {to}");
        porta_core::on_pool!(db, |pool| sqlx::query(&sql).execute(pool).await.map(|_| ())).unwrap();
    };
    rename("audit_log", "audit_log_away").await;
    let hash = token.hash();
    let failed = ott_exchange::exchange(
        db,
        &exchange_of(&hash, &binding, f.tenant, f.domain, UnixMillis::now()),
    )
    .await;
    assert!(failed.is_err(), "{failed:?}");
    rename("audit_log_away", "audit_log").await;
    assert_eq!(ott_sessions(db).await, 0);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![]);
    let handed = exchange(db, &f, &token, &binding).await;
    assert!(handed.is_some(), "the failed write spent nothing");
    assert_eq!(ott_sessions(db).await, 1);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![accepted()]);
}

/// The domain no longer has the status its checks passed on (disabled
/// since the host cache learnt it was active): nothing is written, not
/// even an audit row, and the token survives until the domain is back.
async fn a_changed_domain_writes_nothing(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", HOST).await;
    let (token, binding) = issue_ott(db, &f, 90, UnixMillis::now()).await;
    let set = |status: DomainStatus| async move {
        portal_domains::set_status(db, f.tenant, f.domain, status, "test", UnixMillis::now())
            .await
            .unwrap();
    };
    set(DomainStatus::Disabled).await;
    assert!(exchange(db, &f, &token, &binding).await.is_none());
    // Checked for pending_dns (a DNS-checked exchange), while it is active.
    let hash = token.hash();
    let pending = OttExchange {
        domain_status: DomainStatus::PendingDns,
        ..exchange_of(&hash, &binding, f.tenant, f.domain, UnixMillis::now())
    };
    set(DomainStatus::Active).await;
    assert_eq!(ott_exchange::exchange(db, &pending).await.unwrap(), None);
    assert_eq!(ott_sessions(db).await, 0);
    assert_eq!(handoff_audit(db, f.tenant).await, vec![]);
    assert!(exchange(db, &f, &token, &binding).await.is_some());
    assert_eq!(handoff_audit(db, f.tenant).await, vec![accepted()]);
}

both_backends! {
    changed_domain => a_changed_domain_writes_nothing;
    spends_creates_and_audits => spends_creates_and_audits;
    refusals_spend_nothing => refusals_spend_nothing;
    changed_type => changed_type_spends_without_session;
    race => one_winner_under_a_race;
    failure_writes_nothing => a_failure_writes_nothing;
}
