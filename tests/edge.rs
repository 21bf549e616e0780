//! End-to-end tests of the edge: `porta up` (edge + portal) on SQLite and on
//! PostgreSQL, reached the way browsers reach it, over TLS on the edge's
//! HTTPS port with a rustls client that trusts only porta's local CA
//! (`<data-dir>/local-ca/root.pem`), speaking HTTP/1.1 by hand so that
//! every header (a Host that differs from the SNI name, no Host at all,
//! spoofed forwarding headers) is the test's to choose.
//!
//! Most tests start `porta up` in this process on port 0
//! ([`Store::up_in_process`]: the same code as the binary, listeners bound
//! before it serves). The real binary runs where the process is the point:
//! the metrics (one registry per process), and `porta up`'s own choice of
//! upstream when the portal is moved.
//!
//! Rows another porta process would write (certificates, custom domains,
//! ACME challenges) are written straight into porta's database with the
//! workspace's own storage functions while it runs.
//!
//! What each test proves is in its doc comment. Every wait is bounded.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::edge_client::*;
use common::{
    assert_dashboard, forms, metric_sample, DemoUser, SiteClient, Store, DEMO_CUSTOM_DOMAIN, DEMO_SLUG,
};
use porta_core::challenge_kind::ChallengeKind;
use porta_core::clock::UnixMillis;
use porta_core::db::acme_challenges;
use porta_core::db::portal_domains;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_testkit::dns::TestZone;
use porta_testkit::{both_backends, TestDb};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

both_backends! {
    sni_selects_each_certificate_and_unknown_names_get_none => sni_selects_certificates;
    replaced_certificate_is_served_after_the_cache_ttl => replaced_certificate;
    host_must_match_sni_http_redirects_and_answers_acme => host_sni_http_and_acme;
    client_forwarding_headers_change_nothing => forwarding_headers_are_ignored;
    sign_in_hands_off_to_the_custom_domain_and_back => handoff_flow;
    exchange_rate_limit_comes_before_every_other_check => exchange_rate_limited;
    exchange_refuses_with_each_error_code_in_order => exchange_errors;
    exchange_checks_cname_of_pending_domains_before_the_token => exchange_dns_mismatch;
    concurrent_exchanges_of_one_token_have_one_winner => concurrent_exchanges;
    hostile_next_values_land_on_the_dashboard => hostile_next;
    prune_deletes_exactly_consumed_and_expired_tokens => prune_tokens;
    unreachable_portal_gives_the_branded_502 => upstream_down;
    local_answers_keep_the_connection_unless_a_body_is_left_unread => local_keepalive;
}

/// The handoff page's Content-Security-Policy.
const HANDOFF_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                           style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
                           frame-ancestors 'none'";

// ---------------------------------------------------------------------------
// 1. SNI

/// The edge picks the certificate by SNI from the database: the canonical
/// wildcard for `acme.portal.localhost`, the custom domain's own leaf for
/// `portal.acme-it.localhost` (each chaining to the local CA and with
/// exactly its SAN list), and a certificate another process stores after
/// start-up on its very first connection, for a second tenant's domain that
/// is then also routed. An unknown name and a ClientHello without SNI get
/// no certificate at all (the handshake fails, and the edge keeps serving);
/// the metrics count both.
async fn sni_selects_certificates(db: TestDb) {
    let store = Store::new(&db);
    let porta = store.up();
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);

    let wildcard = edge.leaf(CANONICAL).await;
    assert_eq!(wildcard.sans, ["*.portal.localhost", "portal.localhost"]);
    let custom = edge.leaf(DEMO_CUSTOM_DOMAIN).await;
    assert_eq!(custom.sans, [DEMO_CUSTOM_DOMAIN]);
    assert_ne!(wildcard.der, custom.der);
    // Any other tenant host shares the wildcard.
    assert_eq!(edge.leaf("someone.portal.localhost").await, wildcard);

    // A second tenant, its domain and certificate written while porta runs.
    let beta = create_tenant(&store, &db, "beta", "Beta IT Services").await;
    let stored = add_domain(
        &store,
        &db,
        beta,
        "portal.beta-it.localhost",
        DomainStatus::Active,
    )
    .await;
    let served = edge.leaf("portal.beta-it.localhost").await;
    assert_eq!(served, stored, "the stored certificate on the first connection");
    assert_eq!(served.sans, ["portal.beta-it.localhost"]);
    // ... and the domain is routed to its tenant: sign-in there starts the
    // handoff, which sends the browser to beta's canonical host.
    let reply = edge
        .get("portal.beta-it.localhost", "/auth/client-portal/signin", None)
        .await;
    reply.assert_see_other("/auth/client-portal/handoff/start?next=%2Fclient-portal%2Fdashboard");
    let (_, signin) = edge.handoff_start("portal.beta-it.localhost", None).await;
    let beta_signin = format!(
        "{}/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard&handoff=",
        edge.origin("beta.portal.localhost")
    );
    assert!(signin.starts_with(&beta_signin), "{signin}");

    // No certificate at all, not merely one this client would distrust:
    // these clients accept any (and do get one for a known name).
    let trusting = edge.handshake_accepting_any(CANONICAL, true).await;
    assert!(
        trusting.is_ok(),
        "the accept-any client fails on its own: {trusting:?}"
    );
    let unknown = edge.handshake_accepting_any("nobody.example", true).await;
    assert!(unknown.is_err(), "a certificate was served for nobody.example");
    let anonymous = edge.handshake_accepting_any(CANONICAL, false).await;
    assert!(anonymous.is_err(), "a certificate was served without SNI");
    // The edge still serves after refusing them.
    assert_eq!(edge.leaf(CANONICAL).await, wildcard);
    let health = edge.get(CANONICAL, "/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let text = porta.metrics().await;
    let hellos = "porta_edge_tls_client_hellos_total";
    assert_eq!(
        metric_sample(&text, &format!("{hellos}{{result=\"sni_unknown\"}}")),
        Some(1),
        "{text}"
    );
    assert_eq!(
        metric_sample(&text, &format!("{hellos}{{result=\"no_sni\"}}")),
        Some(1),
        "{text}"
    );
    // Every successful handshake above: five leaves, three requests, the
    // accept-any client.
    assert_eq!(
        metric_sample(&text, &format!("{hellos}{{result=\"sni_known\"}}")),
        Some(9),
        "{text}"
    );
    // Each of those completed its handshake; the refused ones never started.
    assert_eq!(
        metric_sample(&text, "porta_edge_tls_handshakes_completed_total"),
        Some(9),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// 2. Replacement

/// With a one-second certificate cache, a certificate replaced in the
/// database (by another process, no invalidation) is served once the TTL has
/// passed, and the old one never again.
async fn replaced_certificate(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[("PORTA_EDGE_CERT_CACHE_TTL_SECONDS", "1")])
        .await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let acme = tenant_id(&db, DEMO_SLUG).await;

    let old = edge.leaf(DEMO_CUSTOM_DOMAIN).await;
    // Cached now; a second connection within the TTL sees the same.
    assert_eq!(edge.leaf(DEMO_CUSTOM_DOMAIN).await, old);
    let new = store_certificate(&store, &db, Some(acme), DEMO_CUSTOM_DOMAIN).await;
    assert_ne!(new.serial, old.serial);
    // Just over the documented bound.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for attempt in 0..10 {
        let served = edge.leaf(DEMO_CUSTOM_DOMAIN).await;
        assert_eq!(
            served.serial, new.serial,
            "connection {attempt}: serial {} served after the replacement (old {}, new {})",
            served.serial, old.serial, new.serial
        );
        assert_eq!(served, new);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------
// 3. Host = SNI, plain HTTP, ACME HTTP-01

/// No domain fronting: a request whose Host is not the connection's SNI name
/// gets the branded 421 (also between two hosts the wildcard covers), while
/// a matching Host (any case, with the port) is served; an unknown host on a
/// covered name gets the branded 404. The plain-HTTP listener answers
/// `/healthz`, ACME HTTP-01 tokens from the database (exact key
/// authorization; 404 for an unknown or expired token or another host) and
/// sends everything else with a 308 to the same URL on HTTPS.
async fn host_sni_http_and_acme(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store.up_in_process(&[]).await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);

    let fronted = [
        (DEMO_CUSTOM_DOMAIN, CANONICAL),
        (CANONICAL, DEMO_CUSTOM_DOMAIN),
        // The wildcard's certificate covers both names, the tenants differ.
        (CANONICAL, "beta.portal.localhost"),
    ];
    for (sni, host) in fronted {
        for path in ["/auth/client-portal/signin", EXCHANGE_PATH, "/healthz"] {
            let request = http_request("GET", path, Some(&edge.authority(host)), &[], b"");
            let reply = edge.send(sni, &request).await;
            assert_branded(&reply, 421, "Misdirected request");
        }
    }
    // Host names compare without case; the port is not part of the name.
    let signin = edge
        .get_with(&CANONICAL.to_uppercase(), "/auth/client-portal/signin", &[])
        .await;
    assert_eq!(signin.status, 200, "{signin:?}");
    assert_eq!(title(&signin), "Sign in to the client portal · Acme IT Services");
    let request = http_request("GET", "/auth/client-portal/signin", Some(CANONICAL), &[], b"");
    assert_eq!(edge.send(CANONICAL, &request).await.status, 200);

    // A name the wildcard covers but no tenant has.
    let unknown = edge.get("nobody.portal.localhost", "/", None).await;
    assert_branded(&unknown, 404, "Portal not found");

    // `/healthz` on both listeners.
    let https = edge.get(CANONICAL, "/healthz", None).await;
    assert_eq!((https.status, https.body.as_str()), (200, "ok\n"), "{https:?}");
    let http_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.http_port));
    let plain = SiteClient::new("127.0.0.1", http_addr)
        .get("/healthz", None)
        .await;
    assert_eq!((plain.status, plain.body.as_str()), (200, "ok\n"), "{plain:?}");

    // Everything else on plain HTTP: 308 to the same path and query on HTTPS.
    let custom_http = SiteClient::new(DEMO_CUSTOM_DOMAIN, http_addr);
    let target = "/client-portal/tickets?x=1&y=%2F";
    let redirect = custom_http.get(target, None).await;
    assert_eq!(redirect.status, 308, "{redirect:?}");
    assert_eq!(
        redirect.location(),
        format!("{}{target}", edge.origin(DEMO_CUSTOM_DOMAIN))
    );
    let posted = custom_http.post_form("/auth/signout", &[], None).await;
    assert_eq!(posted.status, 308, "{posted:?}");
    assert_eq!(
        posted.location(),
        format!("{}/auth/signout", edge.origin(DEMO_CUSTOM_DOMAIN))
    );
    let root = SiteClient::new(CANONICAL, http_addr).get("/", None).await;
    assert_eq!(root.status, 308, "{root:?}");
    assert_eq!(root.location(), format!("{}/", edge.origin(CANONICAL)));

    // ACME HTTP-01, answered from the database.
    let now = UnixMillis::now();
    let domain = HostName::parse(DEMO_CUSTOM_DOMAIN).expect("host");
    let token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    let key_authorization = format!("{token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
    acme_challenges::put(
        &db,
        token,
        &domain,
        ChallengeKind::Http01,
        &key_authorization,
        now,
        now.plus_seconds(600),
    )
    .await
    .expect("store a challenge");
    let expired = "expired-token-0123456789";
    acme_challenges::put(
        &db,
        expired,
        &domain,
        ChallengeKind::Http01,
        "expired.key-authorization",
        now.plus_seconds(-600),
        now.plus_seconds(-1),
    )
    .await
    .expect("store an expired challenge");
    let answer = custom_http
        .get(&format!("/.well-known/acme-challenge/{token}"), None)
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, key_authorization);
    assert!(
        answer.header("content-type").starts_with("text/plain"),
        "{answer:?}"
    );
    for (client, path) in [
        (
            &custom_http,
            "/.well-known/acme-challenge/unknown-token".to_owned(),
        ),
        (&custom_http, format!("/.well-known/acme-challenge/{expired}")),
        (
            &SiteClient::new(CANONICAL, http_addr),
            format!("/.well-known/acme-challenge/{token}"),
        ),
    ] {
        let reply = client.get(&path, None).await;
        assert_eq!(reply.status, 404, "{path} on {}: {reply:?}", client.origin);
        assert!(!reply.body.contains(&key_authorization));
    }
}

// ---------------------------------------------------------------------------
// 4. Spoofed forwarding headers

/// Forwarding and internal headers sent by a client are the edge's to set:
/// `X-Forwarded-Host` naming another real tenant, `X-Forwarded-Proto: http`,
/// `Forwarded`, `X-Real-IP`, `X-Porta-*` change neither the tenant (acme's
/// page, acme's handoff), nor the scheme (the `__Secure-` cookie with
/// `Secure`), nor the client address (a per-IP sign-in limit is not escaped
/// by a new `X-Forwarded-For` per attempt).
async fn forwarding_headers_are_ignored(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[("PORTA_SIGNIN_MAX_ATTEMPTS_PER_IP_PER_MINUTE", "4")])
        .await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);
    create_tenant(&store, &db, "beta", "Beta IT Services").await;

    let beta_host = "beta.portal.localhost";
    let beta_page = edge.get(beta_host, "/auth/client-portal/signin", None).await;
    assert_eq!(
        title(&beta_page),
        "Sign in to the client portal · Beta IT Services"
    );

    let spoofed = [
        ("X-Forwarded-Host", beta_host),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Port", "80"),
        (
            "Forwarded",
            "for=203.0.113.7;host=beta.portal.localhost;proto=http",
        ),
        ("X-Real-IP", "203.0.113.7"),
        ("X-Porta-Tenant", "beta"),
    ];
    let page = edge
        .get_with(CANONICAL, "/auth/client-portal/signin", &spoofed)
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(title(&page), "Sign in to the client portal · Acme IT Services");
    assert!(!page.body.contains("Beta IT Services"), "{page:?}");

    within_one_minute(Duration::from_secs(40)).await;
    // Attempt 1 of 4 from this address: acme's handoff, the Secure cookie.
    let (nonce, _) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, None).await;
    let signed_in = edge
        .sign_in_raw(&jane, None, &spoofed, Some(&nonce.binding))
        .await;
    let handoff = edge.handoff_from(&signed_in, nonce);
    assert_eq!(handoff.next, DASHBOARD);
    let (session, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
    let dashboard = edge
        .get_with(
            DEMO_CUSTOM_DOMAIN,
            DASHBOARD,
            &[
                ("Cookie", &session.cookie_header()),
                ("X-Forwarded-Host", beta_host),
            ],
        )
        .await;
    assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");

    // Attempts 2-4 fail, each claiming another client address...
    let wrong = DemoUser {
        email: jane.email.clone(),
        password: "not-the-password".to_owned(),
        signin_url: jane.signin_url.clone(),
    };
    for i in 2..=4 {
        let ip = format!("198.51.100.{i}");
        let headers = [
            ("X-Forwarded-For", ip.as_str()),
            ("X-Real-IP", ip.as_str()),
            ("Forwarded", "for=198.51.100.99"),
        ];
        let refused = edge.sign_in_raw(&wrong, None, &headers, None).await;
        refused.assert_see_other(
            "/auth/client-portal/signin?error=CredentialsSignin&next=%2Fclient-portal%2Fdashboard",
        );
    }
    // ... but they all came from 127.0.0.1: the fifth is over the limit.
    let headers = [("X-Forwarded-For", "198.51.100.5"), ("X-Real-IP", "198.51.100.5")];
    let limited = edge.sign_in_raw(&jane, None, &headers, None).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(limited.set_cookies().is_empty(), "{limited:?}");
    assert!(limited.body.contains("Too many sign-in attempts"), "{limited:?}");
}

// ---------------------------------------------------------------------------
// 5. The handoff, end to end, and 11. its metrics

/// Sign-in on the canonical host, started from the custom domain's handoff
/// start (the browser's nonce), answers with the exact handoff URL and the
/// canonical cookie; the custom domain serves the handoff page (strict CSP,
/// no referrer, its script same-origin) and exchanges the token, with the
/// nonce cookie, for its own host-only `__Secure-` cookie, with which the
/// dashboard greets Jane. Each host refuses the other's cookie. A page
/// asked for on the custom domain without a session survives the round
/// trip through the handoff start and the canonical sign-in as `next`.
/// Sign-out on the custom domain (same-origin, the page's token) revokes
/// that session and its canonical parent, not another sign-in's. The
/// metrics count the successful exchanges.
async fn handoff_flow(db: TestDb) {
    let store = Store::new(&db);
    let porta = store.up();
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);
    let canonical_origin = edge.origin(CANONICAL);
    let custom_origin = edge.origin(DEMO_CUSTOM_DOMAIN);
    let canonical_signin = format!("{canonical_origin}/auth/client-portal/signin");

    let page = edge.get(CANONICAL, "/auth/client-portal/signin", None).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(title(&page), "Sign in to the client portal · Acme IT Services");

    let handoff = edge.sign_in(&jane, None).await;
    assert_eq!(
        handoff.location,
        format!(
            "{custom_origin}/auth/client-portal/handoff?ott={}&next=%2Fclient-portal%2Fdashboard",
            handoff.ott
        )
    );

    // The handoff page and its script, served by the edge itself.
    let page = edge.get(DEMO_CUSTOM_DOMAIN, handoff.path(), None).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-security-policy"), HANDOFF_CSP);
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(
        page.body
            .contains("<script src=\"/auth/client-portal/handoff.js\"></script>"),
        "{page:?}"
    );
    assert_eq!(
        page.body.matches("<script").count(),
        1,
        "no inline script: {page:?}"
    );
    assert!(
        page.body.contains(&format!("data-signin=\"{canonical_signin}\"")),
        "{page:?}"
    );
    assert!(!page.body.contains(&handoff.ott), "the page repeats the token");
    assert!(page.set_cookies().is_empty());
    let script = edge
        .get(DEMO_CUSTOM_DOMAIN, "/auth/client-portal/handoff.js", None)
        .await;
    assert_eq!(script.status, 200, "{script:?}");
    assert_eq!(script.header("content-type"), "text/javascript; charset=utf-8");
    assert!(script.body.contains(EXCHANGE_PATH), "{script:?}");
    assert!(script.body.contains("history.replaceState"), "{script:?}");
    // The handoff belongs to custom domains only.
    let on_canonical = edge.get(CANONICAL, handoff.path(), None).await;
    assert_eq!(on_canonical.status, 404, "{on_canonical:?}");

    let (custom, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
    assert_ne!(custom.token, handoff.canonical.token);
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&custom)).await;
    assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");
    let dashboard = edge.get(CANONICAL, DASHBOARD, Some(&handoff.canonical)).await;
    assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");

    // Each host's cookie is refused on the other (the custom domain starts
    // a handoff for a visitor without its session).
    let to_signin = format!("{HANDOFF_START}?next=%2Fclient-portal%2Fdashboard");
    edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&handoff.canonical))
        .await
        .assert_see_other(&to_signin);
    edge.get(CANONICAL, DASHBOARD, Some(&custom))
        .await
        .assert_see_other("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard");

    // `next` survives the round trip.
    let wanted = "/client-portal/no-such-page?x=1";
    let first = edge.get(DEMO_CUSTOM_DOMAIN, wanted, None).await;
    first.assert_see_other(&format!(
        "{HANDOFF_START}?next=%2Fclient-portal%2Fno-such-page%3Fx%3D1"
    ));
    let (nonce, signin) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, Some(wanted)).await;
    assert_eq!(
        signin,
        format!(
            "{canonical_signin}?next=%2Fclient-portal%2Fno-such-page%3Fx%3D1&handoff={}",
            nonce.binding
        )
    );
    let form = edge.get(CANONICAL, &signin[canonical_origin.len()..], None).await;
    assert_eq!(form.status, 200, "{form:?}");
    assert!(
        form.body
            .contains("<input type=\"hidden\" name=\"next\" value=\"/client-portal/no-such-page?x=1\">"),
        "{form:?}"
    );
    assert_eq!(
        forms::hidden_field(&form.body, "handoff").as_deref(),
        Some(nonce.binding.as_str()),
        "the form carries the binding: {form:?}"
    );
    let reply = edge
        .sign_in_raw(&jane, Some(wanted), &[], Some(&nonce.binding))
        .await;
    let second = edge.handoff_from(&reply, nonce);
    assert_eq!(second.next, wanted);
    assert_eq!(
        second.location,
        format!(
            "{custom_origin}/auth/client-portal/handoff?ott={}&next=%2Fclient-portal%2Fno-such-page%3Fx%3D1",
            second.ott
        )
    );
    let (second_custom, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &second).await;
    assert_eq!(redirect, wanted);
    // Signed in there: a page that does not exist is a 404, not a
    // redirect to sign-in.
    let missing = edge.get(DEMO_CUSTOM_DOMAIN, wanted, Some(&second_custom)).await;
    assert_eq!(missing.status, 404, "{missing:?}");

    // Sign-out from another origin is refused and revokes nothing.
    let custom_cookie = custom.cookie_header();
    let forged = edge
        .post_form(
            DEMO_CUSTOM_DOMAIN,
            "/auth/signout",
            &[],
            &[("Cookie", &custom_cookie), ("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(forged.set_cookies().is_empty(), "{forged:?}");
    let still = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&custom)).await;
    assert_dashboard(&still, "Jane Doe", "Globex Corporation", "Acme IT Services");

    // Same origin but without the page's CSRF token: refused too.
    let tokenless = edge
        .post_form(
            DEMO_CUSTOM_DOMAIN,
            "/auth/signout",
            &[],
            &[("Cookie", &custom_cookie), ("Origin", &custom_origin)],
        )
        .await;
    assert_eq!(tokenless.status, 403, "{tokenless:?}");
    let signout = edge
        .submit(DEMO_CUSTOM_DOMAIN, "/auth/signout", &[], &custom, DASHBOARD)
        .await;
    signout.assert_see_other(&canonical_signin);
    let cleared = signout.set_cookies();
    assert_eq!(cleared.len(), 1, "{signout:?}");
    assert!(
        cleared[0].starts_with("__Secure-authjs.session-token=;"),
        "{cleared:?}"
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=0"] {
        assert!(
            cleared[0].split("; ").any(|a| a == attribute),
            "{attribute} missing: {cleared:?}"
        );
    }
    // Both sessions of that sign-in are gone ...
    edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&custom))
        .await
        .assert_see_other(&to_signin);
    edge.get(CANONICAL, DASHBOARD, Some(&handoff.canonical))
        .await
        .assert_see_other("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard");
    // ... the other sign-in's are not.
    let other = edge
        .get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&second_custom))
        .await;
    assert_dashboard(&other, "Jane Doe", "Globex Corporation", "Acme IT Services");
    let other = edge.get(CANONICAL, DASHBOARD, Some(&second.canonical)).await;
    assert_dashboard(&other, "Jane Doe", "Globex Corporation", "Acme IT Services");

    let text = porta.metrics().await;
    let exchanges = "porta_edge_ott_exchanges_total";
    assert_eq!(
        metric_sample(&text, &format!("{exchanges}{{outcome=\"success\"}}")),
        Some(2),
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with(exchanges) && !l.contains("outcome=\"success\""))
            .all(|l| l.ends_with(" 0")),
        "only successful exchanges happened: {text}"
    );
}

// ---------------------------------------------------------------------------
// 6. Exchange errors

/// The per-IP exchange limit is checked first: once it is spent, even a
/// valid token is answered 429 `rate_limited` with Retry-After, and the
/// token is not consumed by the refusal.
async fn exchange_rate_limited(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "3")])
        .await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let handoff = edge.sign_in(&jane(&store), None).await;

    within_one_minute(Duration::from_secs(30)).await;
    for _ in 0..3 {
        let reply = edge.exchange_body(DEMO_CUSTOM_DOMAIN, "{}", None).await;
        assert_exchange_error(&reply, 400, "ott_required");
    }
    for body in ["{}".to_owned(), json!({ "ott": handoff.ott }).to_string()] {
        let reply = edge
            .exchange_body(DEMO_CUSTOM_DOMAIN, &body, Some(&handoff.nonce))
            .await;
        assert_exchange_error(&reply, 429, "rate_limited");
        let retry_after: u64 = reply
            .header("retry-after")
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After in seconds: {reply:?}"));
        assert!((1..=60).contains(&retry_after), "{reply:?}");
    }
    // Limited before the token was looked at: still unconsumed.
    assert_eq!(ott_unconsumed(&db, &handoff.ott).await, Some(true));
}

/// Every other refusal, each with its exact status and JSON body:
/// `ott_required` (no, empty or unreadable token), `host_missing` (no Host,
/// or an IP address), `domain_not_found` (a canonical or unknown host, even
/// with a valid token), `domain_inactive` (every non-active status with the
/// DNS check off, even for a bogus token: the domain is checked first),
/// `invalid_or_expired` (bogus, malformed, reused, expired, another domain's
/// or another tenant's token); `405` for anything but POST. A token refused
/// on another domain, on a canonical host or while its domain is disabled is
/// not spent: it still works on its own domain afterwards, once. A domain
/// disabled in the database stops being routed within the host cache TTL.
async fn exchange_errors(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[
            ("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "1000"),
            ("PORTA_EDGE_HOST_CACHE_TTL_SECONDS", "1"),
        ])
        .await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);
    let acme = tenant_id(&db, DEMO_SLUG).await;

    // Only POST exchanges.
    let get = edge.get(DEMO_CUSTOM_DOMAIN, EXCHANGE_PATH, None).await;
    assert_eq!(get.status, 405, "{get:?}");
    assert_eq!(get.header("allow"), "POST");
    assert_eq!(
        serde_json::from_str::<Value>(&get.body).expect("JSON"),
        json!({ "error": "method_not_allowed" })
    );

    // ott_required
    for body in [
        "{}",
        r#"{"ott":""}"#,
        r#"{"ott":null}"#,
        r#"{"token":"abc"}"#,
        "ott=abc",
        "",
    ] {
        let reply = edge.exchange_body(DEMO_CUSTOM_DOMAIN, body, None).await;
        assert_exchange_error(&reply, 400, "ott_required");
    }

    // host_missing: no Host at all, or one that is not a host name. (A
    // real token, so that only the host can be what is missing: the edge
    // answers a Host-less exchange before its rate limit and token checks,
    // unlike the documented order.)
    let handoff = edge.sign_in(&jane, None).await;
    let body = json!({ "ott": handoff.ott }).to_string();
    let origin = edge.origin(DEMO_CUSTOM_DOMAIN);
    let headers = [
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
        ("Cookie", handoff.nonce.cookie.as_str()),
    ];
    for host in [
        None,
        Some(format!("127.0.0.1:{}", edge.https_port)),
        Some("[::1]".to_owned()),
    ] {
        let request = http_request("POST", EXCHANGE_PATH, host.as_deref(), &headers, body.as_bytes());
        let reply = edge.send(DEMO_CUSTOM_DOMAIN, &request).await;
        assert_exchange_error(&reply, 400, "host_missing");
    }

    // domain_not_found: hosts that are not registered custom domains.
    for host in [CANONICAL, "nobody.portal.localhost"] {
        let reply = edge.exchange(host, &handoff).await;
        assert_exchange_error(&reply, 404, "domain_not_found");
    }

    // domain_inactive: registered but not active; the token is not even
    // looked at (a bogus one gets the same answer).
    for (domain, status) in [
        ("pending-dns.acme-it.localhost", DomainStatus::PendingDns),
        ("pending-cert.acme-it.localhost", DomainStatus::PendingCertificate),
        ("failed.acme-it.localhost", DomainStatus::Failed),
        ("disabled.acme-it.localhost", DomainStatus::Disabled),
    ] {
        add_domain(&store, &db, acme, domain, status).await;
        for ott in [handoff.ott.as_str(), "bogus"] {
            let reply = edge.exchange_token(domain, ott, Some(&handoff.nonce)).await;
            assert_exchange_error(&reply, 403, "domain_inactive");
        }
    }

    // invalid_or_expired
    let bogus = "A".repeat(43);
    for ott in [bogus.as_str(), "not a token", "x", &"B".repeat(500)] {
        let reply = edge
            .exchange_token(DEMO_CUSTOM_DOMAIN, ott, Some(&handoff.nonce))
            .await;
        assert_exchange_error(&reply, 400, "invalid_or_expired");
    }
    // Another active domain of the same tenant.
    let extra = "extra.acme-it.localhost";
    add_domain(&store, &db, acme, extra, DomainStatus::Active).await;
    assert_exchange_error(&edge.exchange(extra, &handoff).await, 400, "invalid_or_expired");
    // Another tenant's active domain.
    let beta = create_tenant(&store, &db, "beta", "Beta IT Services").await;
    let beta_domain = "portal.beta-it.localhost";
    add_domain(&store, &db, beta, beta_domain, DomainStatus::Active).await;
    assert_exchange_error(
        &edge.exchange(beta_domain, &handoff).await,
        400,
        "invalid_or_expired",
    );
    // None of those refusals spent the token: it works on its own domain,
    // once.
    assert_eq!(ott_unconsumed(&db, &handoff.ott).await, Some(true));
    let (session, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&session)).await;
    assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");
    let reused = edge.exchange(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_exchange_error(&reused, 400, "invalid_or_expired");

    // Expired.
    let late = edge.sign_in(&jane, None).await;
    expire_ott(&db, &late.ott).await;
    assert_exchange_error(
        &edge.exchange(DEMO_CUSTOM_DOMAIN, &late).await,
        400,
        "invalid_or_expired",
    );

    // The domain disabled after the token was issued: domain_inactive, and
    // the token survives until the domain is active again.
    let held = edge.sign_in(&jane, None).await;
    let demo_domain = portal_domains::find_by_name(&db, &HostName::parse(DEMO_CUSTOM_DOMAIN).expect("host"))
        .await
        .expect("find the demo domain")
        .expect("the demo domain");
    portal_domains::set_status(
        &db,
        acme,
        demo_domain.id,
        DomainStatus::Disabled,
        "disabled by the test",
        UnixMillis::now(),
    )
    .await
    .expect("disable the demo domain");
    assert_exchange_error(
        &edge.exchange(DEMO_CUSTOM_DOMAIN, &held).await,
        403,
        "domain_inactive",
    );
    // Within the host cache TTL (1 s here) the edge stops routing it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let unrouted = edge.get(DEMO_CUSTOM_DOMAIN, held.path(), None).await;
    assert_branded(&unrouted, 404, "Portal not found");
    portal_domains::set_status(
        &db,
        acme,
        demo_domain.id,
        DomainStatus::Active,
        "active again",
        UnixMillis::now(),
    )
    .await
    .expect("enable the demo domain");
    let (_, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &held).await;
    assert_eq!(redirect, DASHBOARD);
}

/// With `PORTAL_DOMAIN_DNS_CHECK` on, a pending domain's CNAME is checked
/// (against the test zone on 127.0.0.1) before the token: pointing
/// elsewhere, or nowhere, is 409 `dns_mismatch` even for a bogus token; once
/// the CNAME reaches the tenant's canonical host, the same request passes
/// DNS and fails only on the token (400 `invalid_or_expired`). A disabled
/// domain stays `domain_inactive` whatever its DNS says, and an active one
/// is never checked.
async fn exchange_dns_mismatch(db: TestDb) {
    let zone = TestZone::start("acme-it.test").await;
    let pending = "portal.acme-it.test";
    let disabled = "old.acme-it.test";
    zone.set_cname(pending, "elsewhere.acme-it.test.").await;
    zone.set_cname(disabled, &format!("{CANONICAL}.")).await;

    let mut store = Store::new(&db);
    let nameservers = zone.addr().to_string();
    let _porta = store
        .up_in_process(&[
            ("PORTAL_DOMAIN_DNS_CHECK", "true"),
            ("PORTA_DNS_NAMESERVERS", &nameservers),
            ("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "1000"),
        ])
        .await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let acme = tenant_id(&db, DEMO_SLUG).await;
    add_domain(&store, &db, acme, pending, DomainStatus::PendingDns).await;
    add_domain(&store, &db, acme, disabled, DomainStatus::Disabled).await;
    let bogus = "C".repeat(43);

    assert_exchange_error(
        &edge.exchange_token(pending, &bogus, None).await,
        409,
        "dns_mismatch",
    );
    zone.set_a(pending, std::net::Ipv4Addr::new(127, 0, 0, 1)).await;
    assert_exchange_error(
        &edge.exchange_token(pending, &bogus, None).await,
        409,
        "dns_mismatch",
    );
    zone.remove(pending).await;
    assert_exchange_error(
        &edge.exchange_token(pending, &bogus, None).await,
        409,
        "dns_mismatch",
    );
    assert_exchange_error(
        &edge.exchange_token(disabled, &bogus, None).await,
        403,
        "domain_inactive",
    );

    zone.set_cname(pending, &format!("{CANONICAL}.")).await;
    assert_exchange_error(
        &edge.exchange_token(pending, &bogus, None).await,
        400,
        "invalid_or_expired",
    );

    // The active demo domain is not checked (the zone knows nothing of it).
    let handoff = edge.sign_in(&jane(&store), None).await;
    let (_, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
}

// ---------------------------------------------------------------------------
// 7. Concurrency

/// Fifty exchanges of one token on fifty TLS connections, released together:
/// exactly one wins, the others get `invalid_or_expired`.
async fn concurrent_exchanges(db: TestDb) {
    const RACERS: usize = 50;
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "1000")])
        .await;
    let edge = Arc::new(EdgeClient::new(&store));
    let handoff = edge.sign_in(&jane(&store), None).await;
    let origin = edge.origin(DEMO_CUSTOM_DOMAIN);
    let request = Arc::new(http_request(
        "POST",
        EXCHANGE_PATH,
        Some(&edge.authority(DEMO_CUSTOM_DOMAIN)),
        &[
            ("Content-Type", "application/json"),
            ("Origin", &origin),
            ("Cookie", &handoff.nonce.cookie),
        ],
        json!({ "ott": handoff.ott }).to_string().as_bytes(),
    ));
    // Every connection is open (handshake done) before any request is sent.
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = Vec::new();
    for _ in 0..RACERS {
        let (edge, request, barrier) = (edge.clone(), request.clone(), barrier.clone());
        racers.push(tokio::spawn(async move {
            let mut tls = edge.handshake(DEMO_CUSTOM_DOMAIN).await.expect("TLS handshake");
            barrier.wait().await;
            tls.write_all(&request).await.expect("send");
            tls.flush().await.expect("flush");
            read_reply(&mut tls).await.expect("response")
        }));
    }
    let mut replies = Vec::new();
    for racer in racers {
        let reply = tokio::time::timeout(WAIT * 2, racer)
            .await
            .expect("every exchange answers in time")
            .expect("racer task");
        replies.push(reply);
    }
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for reply in &replies {
        *by_status.entry(reply.status).or_default() += 1;
    }
    assert_eq!(by_status, BTreeMap::from([(200, 1), (400, RACERS - 1)]));
    for reply in &replies {
        if reply.status == 200 {
            let (session, redirect) = assert_exchanged(reply, DEMO_CUSTOM_DOMAIN);
            assert_eq!(redirect, DASHBOARD);
            let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&session)).await;
            assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");
        } else {
            assert_exchange_error(reply, 400, "invalid_or_expired");
        }
    }
}

// ---------------------------------------------------------------------------
// 8. Hostile `next`

/// Redirect targets that try to leave the site, the client portal, or the
/// parser: none survives sign-in, the handoff URL or the exchange, and none
/// is rendered into the sign-in form or kept by the custom domain's
/// redirect to the canonical sign-in; each lands on the dashboard.
async fn hostile_next(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[
            ("PORTA_SIGNIN_MAX_ATTEMPTS_PER_IP_PER_MINUTE", "100000"),
            ("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "100000"),
        ])
        .await;
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);
    let same_origin_absolute = format!("{}/client-portal/dashboard", edge.origin(CANONICAL));
    let hostile: Vec<&str> = vec![
        "//evil.com",
        "//evil.com/client-portal/dashboard",
        "///evil.com",
        "/\\evil.com",
        "/\\/evil.com",
        "\\\\evil.com",
        "\\/evil.com",
        "%2f%2fevil.com",
        "/%2f/evil.com",
        "/%2F%2Fevil.com",
        "/client-portal/%2e%2e/msp",
        "/client-portal/%2E%2E%2Fmsp",
        "/client-portal/..%2fmsp",
        "/client-portal/%252f%252fevil.com",
        "/client-portal/%5c%5cevil.com",
        "https://evil.com/",
        "http://evil.com/client-portal/dashboard",
        "https:evil.com",
        "https:/evil.com",
        " //evil.com",
        "/client-portal/../msp",
        "/client-portal/./../msp",
        "/client-portal//evil",
        "/client-portal//evil.com",
        "/client-portal/dashboard\r\nSet-Cookie: pwned=1",
        "/client-portal/%0d%0aSet-Cookie:%20pwned=1",
        "/client-portal/\tdashboard",
        "/client-portal/\0",
        "/client-portal/%00",
        "/client-portal/ dashboard",
        "/client-portal/dashboard#@evil.com",
        "/client-portal/\u{202e}moc.live",
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)//client-portal/",
        "data:text/html,<script>alert(1)</script>",
        "/msp",
        "/msp/../client-portal/dashboard",
        "/auth/signout",
        "/client-portalevil",
        "/client-portal@evil.com",
        same_origin_absolute.as_str(),
    ];
    assert!(hostile.len() >= 30);
    // One browser, one nonce, for every sign-in below.
    let (nonce, _) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, None).await;
    for next in hostile {
        // The custom domain does not pass it on to its handoff start, nor
        // does the start pass it on to the canonical sign-in.
        let on_custom = edge
            .get(
                DEMO_CUSTOM_DOMAIN,
                &format!("/auth/client-portal/signin?{}", form_body(&[("next", next)])),
                None,
            )
            .await;
        on_custom.assert_see_other(&format!("{HANDOFF_START}?next=%2Fclient-portal%2Fdashboard"));
        let (_, signin) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, Some(next)).await;
        assert_eq!(
            forms::query_param(&signin, "next").as_deref(),
            Some(DASHBOARD),
            "next {next:?}: {signin}"
        );
        // The sign-in form does not carry it.
        let form = edge
            .get(
                CANONICAL,
                &format!("/auth/client-portal/signin?{}", form_body(&[("next", next)])),
                None,
            )
            .await;
        assert_eq!(form.status, 200, "next {next:?}: {form:?}");
        assert!(
            !form.body.contains("name=\"next\""),
            "next {next:?} rendered: {form:?}"
        );
        // Sign-in, handoff and exchange all land on the dashboard.
        let reply = edge
            .sign_in_raw(&jane, Some(next), &[], Some(&nonce.binding))
            .await;
        let handoff = edge.handoff_from(&reply, nonce.clone());
        assert_eq!(handoff.next, DASHBOARD, "next {next:?}: {}", handoff.location);
        let (_, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
        assert_eq!(redirect, DASHBOARD, "next {next:?}");
    }
}

// ---------------------------------------------------------------------------
// 9. Prune

/// `porta portal-domain sessions prune` counts (`--dry-run`) and then
/// deletes exactly the tokens consumed or expired before the window: two
/// exchanged and one expired go, a fresh unconsumed one stays and still
/// works; a ten-minute window spares them all.
async fn prune_tokens(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store.up_in_process(&[]).await;
    let db = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);

    let mut handoffs = Vec::new();
    for _ in 0..4 {
        handoffs.push(edge.sign_in(&jane, None).await);
    }
    for handoff in &handoffs[..2] {
        edge.exchange_ok(DEMO_CUSTOM_DOMAIN, handoff).await;
    }
    let tokens: Vec<String> = handoffs.iter().map(|h| h.ott.clone()).collect();
    expire_ott(&db, &tokens[2]).await;
    let fresh = &tokens[3];
    assert_eq!(ott_rows(&db).await, 4);

    assert_eq!(
        prune(&store, &["--dry-run"]).await,
        json!({ "dry_run": true, "tenant": null, "minutes": 10, "count": 0 })
    );
    assert_eq!(
        prune(&store, &["--dry-run", "--minutes", "0"]).await,
        json!({ "dry_run": true, "tenant": null, "minutes": 0, "count": 3 })
    );
    assert_eq!(
        prune(&store, &["--dry-run", "--minutes", "0", "--tenant", "acme"]).await,
        json!({ "dry_run": true, "tenant": "acme", "minutes": 0, "count": 3 })
    );
    assert_eq!(ott_rows(&db).await, 4, "a dry run deletes nothing");

    assert_eq!(
        prune(&store, &["--minutes", "0"]).await,
        json!({ "dry_run": false, "tenant": null, "minutes": 0, "count": 3 })
    );
    assert_eq!(ott_rows(&db).await, 1);
    assert_eq!(
        ott_unconsumed(&db, fresh).await,
        Some(true),
        "the fresh token survives"
    );
    for ott in &tokens[..3] {
        assert_eq!(ott_unconsumed(&db, ott).await, None, "pruned");
    }
    let (_, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoffs[3]).await;
    assert_eq!(redirect, DASHBOARD);
    assert_eq!(
        prune(&store, &["--minutes", "0"]).await,
        json!({ "dry_run": false, "tenant": null, "minutes": 0, "count": 1 })
    );
    assert_eq!(ott_rows(&db).await, 0);
}

/// `porta portal-domain sessions prune --json ARGS`, its one JSON object.
async fn prune(store: &Store, args: &[&str]) -> Value {
    let mut all = vec!["portal-domain", "sessions", "prune", "--json"];
    all.extend_from_slice(args);
    Value::Object(store.run(&all, None).await.json())
}

// ---------------------------------------------------------------------------
// 10. Upstream down

/// With no portal upstream answering, proxied requests get the edge's
/// branded 502 promptly, while what the edge answers itself (health, the
/// handoff page, the token exchange) keeps working.
async fn upstream_down(db: TestDb) {
    let mut store = Store::new(&db);
    let closed = common::free_port();
    let upstream = format!("127.0.0.1:{closed}");
    let porta = store.up_in_process(&[("PORTA_EDGE_UPSTREAMS", &upstream)]).await;
    let edge = EdgeClient::new(&store);

    for (host, path) in [
        (CANONICAL, "/auth/client-portal/signin"),
        (DEMO_CUSTOM_DOMAIN, DASHBOARD),
        (CANONICAL, "/"),
    ] {
        let started = Instant::now();
        let reply = tokio::time::timeout(Duration::from_secs(20), edge.get(host, path, None))
            .await
            .unwrap_or_else(|_| panic!("no answer for {host}{path} with the upstream down"));
        assert_branded(&reply, 502, "The portal is temporarily unavailable");
        assert!(reply.set_cookies().is_empty());
        eprintln!("502 for {host}{path} after {:?}", started.elapsed());
    }
    let health = edge.get(CANONICAL, "/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    // Sign in at the portal directly (it runs; only the edge cannot reach
    // it): the handoff itself is the edge's and still works, from its
    // start (the nonce) to the exchange.
    let jane = jane(&store);
    let (nonce, _) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, None).await;
    let signed_in = porta
        .site(DEMO_SLUG)
        .sign_in_client_with(&jane.email, &jane.password, Some(&nonce.binding))
        .await;
    let (ott, next) = edge.handoff_target(&signed_in.location);
    assert_eq!(next, DASHBOARD);
    let path = &signed_in.location[edge.origin(DEMO_CUSTOM_DOMAIN).len()..];
    let page = edge.get(DEMO_CUSTOM_DOMAIN, path, None).await;
    assert_eq!(page.status, 200, "{page:?}");
    let reply = edge.exchange_token(DEMO_CUSTOM_DOMAIN, &ott, Some(&nonce)).await;
    let (_, redirect) = assert_exchanged(&reply, DEMO_CUSTOM_DOMAIN);
    assert_eq!(redirect, DASHBOARD);
}

// ---------------------------------------------------------------------------
// 11. `porta up` with its portal moved

/// The real `porta up` with only `PORTA_PORTAL_LISTEN` moved off the
/// built-in 8080 and no `PORTA_EDGE_UPSTREAMS` (unlike every other child):
/// the edge proxies to the portal `up` started, so the sign-in page comes
/// through the edge over HTTPS from that portal, not as a 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_the_portal_moved_proxies_to_that_portal() {
    let store = Store::sqlite();
    assert_ne!(
        store.ports.portal, 8080,
        "the built-in port would hide the defect"
    );
    let mut porta = store.start_with_default_upstreams("up", &[]);
    let line = format!("porta: edge proxies to http://127.0.0.1:{}\n", store.ports.portal);
    porta.wait_stdout_contains(&line, Duration::from_secs(10));
    let edge = EdgeClient::new(&store);

    let page = edge.get(CANONICAL, "/auth/client-portal/signin", None).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(title(&page), "Sign in to the client portal · Acme IT Services");
    // This store's portal, not merely one: its demo user signs in and is
    // handed off to the custom domain.
    let handoff = edge.sign_in(&jane(&store), None).await;
    assert_eq!(handoff.next, DASHBOARD);
    // A proxied page on the custom domain too: the portal's redirect to
    // the handoff start.
    let custom = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, None).await;
    custom.assert_see_other(&format!("{HANDOFF_START}?next=%2Fclient-portal%2Fdashboard"));
}

// ---------------------------------------------------------------------------
// Keep-alive after the edge's own answers

/// `request` kept alive (without the `Connection: close` of
/// [`http_request`]).
fn kept_alive(request: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(request).expect("an ASCII request");
    text.replacen("Connection: close\r\n", "", 1).into_bytes()
}

/// On one TLS connection: an exchange the edge answers itself (400, its
/// JSON body read), then `/healthz` (the edge's own) and a proxied page
/// all answered on that connection; an exchange whose body is over the
/// limit (413, the rest unread) is the last answer: the edge closes the
/// connection after it.
async fn local_keepalive(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store.up_in_process(&[]).await;
    let edge = EdgeClient::new(&store);
    let mut tls = edge.handshake(DEMO_CUSTOM_DOMAIN).await.expect("TLS");
    let authority = edge.authority(DEMO_CUSTOM_DOMAIN);
    let origin = edge.origin(DEMO_CUSTOM_DOMAIN);
    let json = [("Content-Type", "application/json"), ("Origin", origin.as_str())];
    let exchange =
        |body: &[u8]| kept_alive(http_request("POST", EXCHANGE_PATH, Some(&authority), &json, body));

    tls.write_all(&exchange(br#"{"ott":"not-a-token"}"#))
        .await
        .expect("write");
    let refused = read_reply(&mut tls).await.expect("the exchange's answer");
    assert_exchange_error(&refused, 400, "invalid_or_expired");
    assert_ne!(refused.header("connection"), "close", "{refused:?}");

    for (path, status) in [("/healthz", 200), ("/auth/client-portal/signin", 303)] {
        let request = kept_alive(http_request("GET", path, Some(&authority), &[], b""));
        tls.write_all(&request)
            .await
            .expect("a request on the same connection");
        let reply = read_reply(&mut tls)
            .await
            .expect("an answer on the same connection");
        assert_eq!(reply.status, status, "{path}: {reply:?}");
    }

    // A body declared at 64 KiB of which 9 KiB are sent: past the 8 KiB
    // limit, so the edge answers 413 with the rest unread (and, having read
    // all that was sent, closes with a FIN, not a reset that could drop
    // its answer).
    let declared = exchange(&vec![b'x'; 64 * 1024]);
    let head_end = declared
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    tls.write_all(&declared[..head_end + 9 * 1024])
        .await
        .expect("write");
    let too_large = read_reply(&mut tls).await.expect("the 413");
    assert_exchange_error(&too_large, 413, "body_too_large");
    let request = kept_alive(http_request("GET", "/healthz", Some(&authority), &[], b""));
    let _ = tls.write_all(&request).await;
    let after = read_reply(&mut tls).await;
    assert!(
        after.is_err(),
        "the connection is closed after an unread body: {after:?}"
    );
}
