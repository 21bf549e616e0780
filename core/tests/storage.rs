//! Storage on both backends: uniqueness rules, tenant scoping, sessions and
//! the audit log.

use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{audit, clients, otts, roles, sessions, tenants, throttle, users, DbError};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::issuer::Issuer;
use porta_core::ott::HandoffNonce;
use porta_core::permission::perm;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};

mod common;
use common::*;

async fn tenant_slugs_are_unique(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    assert!(matches!(
        tenants::create(db, &slug("ACME"), "Other").await,
        Err(DbError::Conflict("tenant slug"))
    ));
    assert_eq!(
        tenants::find_by_slug(db, &slug("acme")).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(tenants::get(db, acme.id).await.unwrap(), acme);
    assert_eq!(tenants::count(db).await.unwrap(), 1);
    // The failed insert left no half-made tenant (its roles rolled back too).
    for template in roles::DEFAULT_ROLES {
        assert!(
            roles::find_by_name(db, acme.id, template.user_type, template.name)
                .await
                .unwrap()
                .is_some()
        );
    }
}

async fn emails_are_unique_per_tenant_and_type_ignoring_case(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    client_user(db, acme.id, "Globex", "jane@globex.example").await;
    // Same address, other case, same tenant and type: refused.
    let globex = clients::find_by_name(db, acme.id, "GLOBEX")
        .await
        .unwrap()
        .unwrap();
    let dup = users::create(
        db,
        &users::NewUser {
            tenant: acme.id,
            user_type: UserType::Client,
            email: email("jane@globex.example"),
            display_name: "Jane".into(),
            client: Some(globex.id),
            password_hash: "x".into(),
        },
    )
    .await;
    assert!(matches!(dup, Err(DbError::Conflict(_))), "{dup:?}");
    // Same address as an internal user of the same tenant: allowed.
    users::create(
        db,
        &users::NewUser {
            tenant: acme.id,
            user_type: UserType::Internal,
            email: email("JANE@globex.example"),
            display_name: "Jane (staff)".into(),
            client: None,
            password_hash: "x".into(),
        },
    )
    .await
    .unwrap();
    // Same address in another tenant: allowed, and a different user.
    let other = client_user(db, beta.id, "Globex", "jane@globex.example").await;
    let found = users::find_credentials(db, beta.id, &email("Jane@Globex.example"), UserType::Client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, other);
}

async fn lookups_never_cross_tenants(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    let jane = client_user(db, acme.id, "Globex", "jane@globex.example").await;
    assert!(
        users::find_credentials(db, beta.id, &email("jane@globex.example"), UserType::Client)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        users::find_credentials(db, acme.id, &email("jane@globex.example"), UserType::Internal)
            .await
            .unwrap()
            .is_none()
    );
    assert!(users::profile(db, beta.id, jane).await.unwrap().is_none());
    let profile = users::profile(db, acme.id, jane).await.unwrap().unwrap();
    assert_eq!(profile.client_name.as_deref(), Some("Globex"));
    assert!(clients::find_by_name(db, beta.id, "Globex")
        .await
        .unwrap()
        .is_none());
    // A client user cannot be attached to another tenant's client company.
    let beta_client = clients::create(db, beta.id, "Initech").await.unwrap();
    let cross = users::create(
        db,
        &users::NewUser {
            tenant: acme.id,
            user_type: UserType::Client,
            email: email("bob@initech.example"),
            display_name: "Bob".into(),
            client: Some(beta_client.id),
            password_hash: "x".into(),
        },
    )
    .await;
    assert!(cross.is_err(), "user linked to another tenant's client");
    // Nor can another tenant's role be granted.
    let beta_role = roles::find_by_name(db, beta.id, UserType::Client, "User")
        .await
        .unwrap()
        .unwrap();
    assert!(roles::assign(db, acme.id, jane, &beta_role, UserType::Client)
        .await
        .is_err());
}

async fn client_users_need_a_client_and_roles_match_types(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let no_client = users::create(
        db,
        &users::NewUser {
            tenant: acme.id,
            user_type: UserType::Client,
            email: email("x@y.example"),
            display_name: "X".into(),
            client: None,
            password_hash: "x".into(),
        },
    )
    .await;
    assert!(matches!(no_client, Err(DbError::Invalid(_))));
    let jane = client_user(db, acme.id, "Globex", "jane@globex.example").await;
    let staff_admin = roles::find_by_name(db, acme.id, UserType::Internal, "admin")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        roles::assign(db, acme.id, jane, &staff_admin, UserType::Client).await,
        Err(DbError::Invalid(_))
    ));
    let finance = roles::find_by_name(db, acme.id, UserType::Client, "Finance")
        .await
        .unwrap()
        .unwrap();
    roles::assign(db, acme.id, jane, &finance, UserType::Client)
        .await
        .unwrap();
    let grants = roles::grants(db, acme.id, jane).await.unwrap();
    assert_eq!(grants.roles, ["Finance"]);
    assert!(grants.permissions.contains(perm::BILLING_READ));
    assert!(grants.permissions.contains(perm::SETTINGS_READ));
    assert!(!grants.permissions.contains(perm::SETTINGS_UPDATE));
    assert!(!grants.permissions.contains(perm::TICKET_DELETE));
}

async fn sessions_live_until_revoked_expired_or_user_disabled(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    let jane = client_user(db, acme.id, "Globex", "jane@globex.example").await;
    let now = UnixMillis::now();
    let new = sessions::NewSession {
        tenant: acme.id,
        user: jane,
        host: "acme.portal.localhost",
        expires_at: now.plus_seconds(3600),
        ip: Some("127.0.0.1"),
        user_agent: Some("test"),
        login_method: "password",
        parent: None,
    };
    let s = sessions::create(db, &new, now).await.unwrap();
    assert!(sessions::find_live(db, acme.id, s.id, now)
        .await
        .unwrap()
        .is_some());
    assert!(sessions::find_live(db, beta.id, s.id, now)
        .await
        .unwrap()
        .is_none());
    assert!(sessions::find_live(db, acme.id, s.id, now.plus_seconds(3600))
        .await
        .unwrap()
        .is_none());

    users::set_disabled(db, acme.id, jane, true).await.unwrap();
    assert!(sessions::find_live(db, acme.id, s.id, now)
        .await
        .unwrap()
        .is_none());
    users::set_disabled(db, acme.id, jane, false).await.unwrap();

    assert!(!sessions::revoke(db, beta.id, s.id, "signout", now).await.unwrap());
    assert!(sessions::revoke(db, acme.id, s.id, "signout", now).await.unwrap());
    assert!(!sessions::revoke(db, acme.id, s.id, "signout", now).await.unwrap());
    assert!(sessions::find_live(db, acme.id, s.id, now)
        .await
        .unwrap()
        .is_none());
    let row = sessions::get(db, acme.id, s.id).await.unwrap().unwrap();
    assert_eq!(row.revoked_reason.as_deref(), Some("signout"));
    assert_eq!(row.revoked_at, Some(now.0));

    let a = sessions::create(db, &new, now).await.unwrap();
    let b = sessions::create(db, &new, now).await.unwrap();
    assert_eq!(
        sessions::revoke_all_for_user(db, acme.id, jane, "everywhere", now)
            .await
            .unwrap(),
        2
    );
    for id in [a.id, b.id] {
        assert!(sessions::find_live(db, acme.id, id, now).await.unwrap().is_none());
    }
}

async fn audit_counts_failures_per_subject_and_window(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    let now = UnixMillis::now();
    for (tenant, subject, outcome, at) in [
        (acme.id, "jane@globex.example", "failure", now),
        (acme.id, "jane@globex.example", "failure", now),
        (acme.id, "jane@globex.example", "failure", now.plus_seconds(-3600)),
        (acme.id, "jane@globex.example", "success", now),
        (acme.id, "bob@globex.example", "failure", now),
        (beta.id, "jane@globex.example", "failure", now),
    ] {
        let event = audit::AuditEvent {
            tenant: Some(tenant),
            actor: None,
            action: "signin.client",
            outcome,
            subject: Some(subject),
            ip: Some("127.0.0.1"),
            user_agent: None,
            detail: None,
        };
        audit::record(db, &event, at).await.unwrap();
    }
    let rows = audit::recent(db, acme.id, 100).await.unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "newest first"
    );
}

async fn migrations_are_idempotent(t: TestDb) {
    t.db.migrate().await.unwrap();
    t.db.migrate().await.unwrap();
}

async fn domains_are_unique_and_found_by_name(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    let d = domain(db, acme.id, "portal.acme-it.example", DomainStatus::PendingDns).await;
    assert_eq!(d.activated_at, None);
    // A registration that has not proven control reserves nothing: another
    // tenant may register the name too (the first to prove it holds it).
    let rival = portal_domains::create(
        db,
        &NewPortalDomain {
            tenant: beta.id,
            domain: &HostName::parse("PORTAL.acme-it.example").unwrap(),
            status: DomainStatus::PendingDns,
            status_message: "",
            expected_cname: &HostName::parse("beta.portal.localhost").unwrap(),
            issuer: Issuer::Acme,
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    assert!(portal_domains::active_for_tenant(db, acme.id)
        .await
        .unwrap()
        .is_none());
    // Another tenant cannot change it.
    let now = UnixMillis::now();
    assert!(
        portal_domains::set_status(db, beta.id, d.id, DomainStatus::Active, "", now)
            .await
            .is_err()
    );
    portal_domains::set_status(db, acme.id, d.id, DomainStatus::Active, "issued", now)
        .await
        .unwrap();
    let active = portal_domains::active_for_tenant(db, acme.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.status, DomainStatus::Active);
    assert_eq!(active.activated_at, Some(now.0));
    let found = portal_domains::find_by_name(db, &HostName::parse("portal.acme-it.example").unwrap())
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.tenant_id), Some(acme.id));
    // Held by acme now: beta's registration cannot be active as well.
    let second = portal_domains::set_status(db, beta.id, rival.id, DomainStatus::Active, "", now).await;
    assert!(matches!(second, Err(DbError::Conflict(_))), "{second:?}");
    assert!(portal_domains::active_for_tenant(db, beta.id)
        .await
        .unwrap()
        .is_none());
}

async fn ott_is_consumed_once_under_a_race(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", "portal.acme-it.example").await;
    let now = UnixMillis::now();
    let (token, binding) = issue_ott(db, &f, 90, now).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = db.clone();
        let barrier = barrier.clone();
        let hash = token.hash();
        let (tenant, domain) = (f.tenant, f.domain);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            otts::consume(&db, &hash, &binding, tenant, domain, UnixMillis::now()).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn ott_is_bound_to_domain_tenant_browser_and_time(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", "portal.acme-it.example").await;
    let beta = tenants::create(db, &slug("beta"), "Beta MSP").await.unwrap();
    let other = domain(db, f.tenant, "portal2.acme-it.example", DomainStatus::Active).await;
    let now = UnixMillis::now();
    let (token, binding) = issue_ott(db, &f, 90, now).await;
    let another_browser = HandoffNonce::generate().binding();
    let consume = |hash, binding, tenant, domain, at| otts::consume(db, hash, binding, tenant, domain, at);
    let hash = token.hash();
    for (binding, tenant, domain, at) in [
        (&binding, f.tenant, other.id, now),
        (&binding, beta.id, f.domain, now),
        (&binding, f.tenant, f.domain, now.plus_seconds(90)),
        (&another_browser, f.tenant, f.domain, now),
    ] {
        assert!(consume(&hash, binding, tenant, domain, at)
            .await
            .unwrap()
            .is_none());
    }
    // None of those burnt it.
    let consumed = consume(&hash, &binding, f.tenant, f.domain, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consumed.user, f.user);
    assert_eq!(consumed.next_path, "/client-portal/tickets");
    assert_eq!(consumed.snapshot, snapshot());
    assert!(consume(&hash, &binding, f.tenant, f.domain, now)
        .await
        .unwrap()
        .is_none());
    // Only the hashes are stored.
    let raw = token.expose().as_bytes().to_vec();
    let stored: Vec<Vec<u8>> = porta_core::on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT token_hash FROM portal_domain_otts"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(stored, vec![token.hash().0.to_vec()]);
    assert!(!stored.contains(&raw));
}

/// Asking again for the same browser, domain and target gives the same live
/// token; a used one is replaced; a session keeps at most five live.
async fn ott_is_reused_while_live_and_capped_per_session(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", "portal.acme-it.example").await;
    let now = UnixMillis::now();
    let binding = HandoffNonce::generate().binding();
    let first = issue_bound(db, &f, &binding, "/client-portal/dashboard", 90, now).await;
    for _ in 0..40 {
        let again = issue_bound(db, &f, &binding, "/client-portal/dashboard", 90, now).await;
        assert_eq!(again, first);
    }
    assert_eq!(ott_rows(db).await, 1, "40 reloads, one row");
    otts::consume(db, &first.hash(), &binding, f.tenant, f.domain, now)
        .await
        .unwrap()
        .unwrap();
    let fresh = issue_bound(db, &f, &binding, "/client-portal/dashboard", 90, now).await;
    assert_ne!(fresh, first, "a used token is never handed out again");
    // Many browsers (or targets) for one session: five stay live, the newest.
    let mut latest = Vec::new();
    for i in 0..8 {
        let (token, b) = issue_ott(db, &f, 90, now.plus_seconds(i)).await;
        latest.push((token, b));
    }
    let at = now.plus_seconds(10);
    assert_eq!(
        otts::live_for_session(db, f.tenant, f.session.id, at)
            .await
            .unwrap(),
        5
    );
    let (oldest, oldest_binding) = &latest[0];
    assert!(
        otts::consume(db, &oldest.hash(), oldest_binding, f.tenant, f.domain, at)
            .await
            .unwrap()
            .is_none()
    );
    let (newest, newest_binding) = &latest[7];
    assert!(
        otts::consume(db, &newest.hash(), newest_binding, f.tenant, f.domain, at)
            .await
            .unwrap()
            .is_some()
    );
}

/// A token dies with the session that issued it: refused once the session
/// is revoked, and invalidated by the revocation itself.
async fn ott_dies_with_its_session(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", "portal.acme-it.example").await;
    let now = UnixMillis::now();
    let (token, binding) = issue_ott(db, &f, 90, now).await;
    sessions::revoke_family(db, &f.session, "signout", now)
        .await
        .unwrap();
    let live: Option<Option<i64>> = porta_core::on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT consumed_at FROM portal_domain_otts"
    )
    .fetch_optional(pool)
    .await)
    .unwrap();
    assert_eq!(
        live,
        Some(Some(now.0)),
        "sign-out invalidated the outstanding token"
    );
    assert!(
        otts::consume(db, &token.hash(), &binding, f.tenant, f.domain, now)
            .await
            .unwrap()
            .is_none()
    );
    // And a token whose row somehow stayed unconsumed is still refused while
    // its session is revoked, expired or its user disabled.
    let other = canonical_session(db, f.tenant, f.user).await;
    let g = OttFixture {
        session: other.clone(),
        key: f.key.clone(),
        ..f
    };
    let (token, binding) = issue_ott(db, &g, 90, now).await;
    porta_core::on_pool!(db, |pool| sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2"
    )
    .bind(now.0)
    .bind(other.id)
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    assert!(
        otts::consume(db, &token.hash(), &binding, g.tenant, g.domain, now)
            .await
            .unwrap()
            .is_none()
    );
    let third = canonical_session(db, g.tenant, g.user).await;
    let h = OttFixture { session: third, ..g };
    let (token, binding) = issue_ott(db, &h, 90, now).await;
    users::set_disabled(db, h.tenant, h.user, true).await.unwrap();
    assert!(
        otts::consume(db, &token.hash(), &binding, h.tenant, h.domain, now)
            .await
            .unwrap()
            .is_none()
    );
}

async fn prune_deletes_exactly_old_consumed_or_expired(t: TestDb) {
    let db = &t.db;
    let f = ott_fixture(db, "acme", "portal.acme-it.example").await;
    let b = ott_fixture(db, "beta", "portal.beta.example").await;
    let now = UnixMillis::now();
    let hour_ago = now.plus_seconds(-3600);
    // acme: expired an hour ago (old), consumed an hour ago (old), live, consumed just now.
    issue_ott(db, &f, 90, hour_ago.plus_seconds(-90)).await;
    let (consumed_old, binding) = issue_ott(db, &f, 600, hour_ago).await;
    otts::consume(db, &consumed_old.hash(), &binding, f.tenant, f.domain, hour_ago)
        .await
        .unwrap()
        .unwrap();
    issue_ott(db, &f, 90, now).await;
    let (consumed_new, binding) = issue_ott(db, &f, 90, now).await;
    otts::consume(db, &consumed_new.hash(), &binding, f.tenant, f.domain, now)
        .await
        .unwrap()
        .unwrap();
    // beta: one expired an hour ago.
    issue_ott(db, &b, 90, hour_ago.plus_seconds(-90)).await;

    let cutoff = now.plus_seconds(-600);
    assert_eq!(otts::prune(db, Some(f.tenant), cutoff, true).await.unwrap(), 2);
    assert_eq!(otts::prune(db, None, cutoff, true).await.unwrap(), 3);
    assert_eq!(otts::prune(db, Some(f.tenant), cutoff, false).await.unwrap(), 2);
    assert_eq!(otts::prune(db, Some(f.tenant), cutoff, true).await.unwrap(), 0);
    assert_eq!(otts::prune(db, None, cutoff, false).await.unwrap(), 1);
    assert_eq!(ott_rows(db).await, 2);
}

async fn signing_out_ends_the_handoff_family(t: TestDb) {
    let db = &t.db;
    let acme = tenants::create(db, &slug("acme"), "Acme IT").await.unwrap();
    let jane = client_user(db, acme.id, "Globex", "jane@globex.example").await;
    let now = UnixMillis::now();
    let new = |host: &'static str, parent| sessions::NewSession {
        tenant: acme.id,
        user: jane,
        host,
        expires_at: now.plus_seconds(3600),
        ip: None,
        user_agent: None,
        login_method: "password",
        parent,
    };
    let canonical = sessions::create(db, &new("acme.portal.localhost", None), now)
        .await
        .unwrap();
    let custom = sessions::create(db, &new("portal.acme-it.example", Some(canonical.id)), now)
        .await
        .unwrap();
    let unrelated = sessions::create(db, &new("acme.portal.localhost", None), now)
        .await
        .unwrap();
    assert_eq!(
        sessions::revoke_family(db, &custom, "signout", now)
            .await
            .unwrap(),
        2
    );
    for s in [&canonical, &custom] {
        assert!(sessions::find_live(db, acme.id, s.id, now)
            .await
            .unwrap()
            .is_none());
    }
    assert!(sessions::find_live(db, acme.id, unrelated.id, now)
        .await
        .unwrap()
        .is_some());
    // From the canonical side, its handoff sessions end too.
    let c2 = sessions::create(db, &new("acme.portal.localhost", None), now)
        .await
        .unwrap();
    let h2 = sessions::create(db, &new("portal.acme-it.example", Some(c2.id)), now)
        .await
        .unwrap();
    assert_eq!(sessions::revoke_family(db, &c2, "signout", now).await.unwrap(), 2);
    assert!(sessions::find_live(db, acme.id, h2.id, now)
        .await
        .unwrap()
        .is_none());
}

/// Throttle counters: concurrent hits all count, the previous window
/// fades out linearly, keys and scopes are separate, clear and prune work.
async fn throttle_counts_across_connections(t: TestDb) {
    let db = &t.db;
    let scope = throttle::Scope("test.scope");
    let window = 60;
    // A window boundary (1 800 000 000 000 is a multiple of 60 000).
    let start = UnixMillis(1_800_000_000_000);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            throttle::hit(&db, scope, "k", window, start.plus_seconds(1))
                .await
                .unwrap()
        }));
    }
    let mut seen: Vec<i64> = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen.last(), Some(&20), "every concurrent hit counted once");
    assert_eq!(
        throttle::estimate(db, scope, "k", window, start.plus_seconds(2))
            .await
            .unwrap(),
        20
    );
    assert_eq!(
        throttle::estimate(db, scope, "other", window, start)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        throttle::estimate(db, throttle::Scope("test.other"), "k", window, start)
            .await
            .unwrap(),
        0
    );
    // Half-way through the next window, half of the previous one counts.
    assert_eq!(
        throttle::estimate(db, scope, "k", window, start.plus_seconds(90))
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        throttle::hit(db, scope, "k", window, start.plus_seconds(90))
            .await
            .unwrap(),
        11
    );
    // Two windows later, nothing.
    assert_eq!(
        throttle::estimate(db, scope, "k", window, start.plus_seconds(180))
            .await
            .unwrap(),
        0
    );
    throttle::clear(db, scope, "k").await.unwrap();
    assert_eq!(
        throttle::estimate(db, scope, "k", window, start.plus_seconds(90))
            .await
            .unwrap(),
        0
    );
    throttle::hit(db, scope, "old", window, start).await.unwrap();
    throttle::hit(db, scope, "new", window, start.plus_seconds(600))
        .await
        .unwrap();
    assert_eq!(throttle::prune(db, start.plus_seconds(300)).await.unwrap(), 1);
    assert_eq!(
        throttle::estimate(db, scope, "new", window, start.plus_seconds(600))
            .await
            .unwrap(),
        1
    );
}

both_backends! {
    domains => domains_are_unique_and_found_by_name;
    ott_race => ott_is_consumed_once_under_a_race;
    ott_binding => ott_is_bound_to_domain_tenant_browser_and_time;
    ott_reuse => ott_is_reused_while_live_and_capped_per_session;
    ott_session => ott_dies_with_its_session;
    throttle_counters => throttle_counts_across_connections;
    ott_prune => prune_deletes_exactly_old_consumed_or_expired;
    session_family => signing_out_ends_the_handoff_family;
    tenant_slugs => tenant_slugs_are_unique;
    email_uniqueness => emails_are_unique_per_tenant_and_type_ignoring_case;
    tenant_scoping => lookups_never_cross_tenants;
    user_types => client_users_need_a_client_and_roles_match_types;
    session_lifecycle => sessions_live_until_revoked_expired_or_user_disabled;
    audit_failures => audit_counts_failures_per_subject_and_window;
    migrations => migrations_are_idempotent;
}
