//! The hardening of issue 8, through the real parts: `porta up` (in this
//! process on port 0, or the binary where its process is the point: its
//! metrics, its log), reached over TLS on the edge the way browsers reach
//! it ([`common::edge_client`]).
//!
//! - the one-time token is bound to the browser that asked for it, posted
//!   only by the custom domain's own page as JSON, and dies with the
//!   session that issued it; reloading the sign-in page mints no new one;
//! - HSTS on every HTTPS response, as configured; plain HTTP redirects only
//!   the hosts the edge serves;
//! - slow clients are cut off at the read deadlines;
//! - a lockout holds for the IP that failed, not for the account's owner;
//! - unknown server names cost a bounded number of lookups per client IP;
//! - what clients do wrong is no ERROR in porta's log.

mod common;

use std::time::{Duration, Instant};

use common::edge_client::*;
use common::{forms, metric_sample, DemoUser, Porta, Reply, SiteClient, Store, DEMO_CUSTOM_DOMAIN};
use porta_core::clock::UnixMillis;
use porta_core::db::Db;
use porta_core::domain_status::DomainStatus;
use porta_testkit::{both_backends, TestDb};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

both_backends! {
    a_token_works_only_in_the_browser_that_asked_for_it => bound_to_the_browser;
    the_exchange_takes_json_from_the_domains_own_page_only => json_from_the_own_page;
    a_token_dies_with_the_session_that_issued_it => dies_with_its_session;
    reloading_the_sign_in_page_mints_no_new_tokens => no_token_per_reload;
    plain_http_redirects_only_hosts_the_edge_serves => redirect_rule;
    a_lockout_holds_for_the_failing_ip_not_for_the_owner => lockout_per_account_and_ip;
    the_edge_sweeps_spent_tokens_in_the_background => swept_in_the_background;
}

/// Exchanges without limit (the tests make many from one address).
const MANY_EXCHANGES: (&str, &str) = ("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "100000");

/// A custom-domain sign-in of the demo client, not yet exchanged.
async fn started(db: &TestDb) -> (Store, common::in_process::InProcess, EdgeClient, Db, Handoff) {
    let mut store = Store::new(db);
    let porta = store.up_in_process(&[MANY_EXCHANGES]).await;
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let handoff = edge.sign_in(&jane(&store), None).await;
    (store, porta, edge, pool, handoff)
}

// ---------------------------------------------------------------------------
// The one-time token

/// A token taken from the sign-in's redirect (what a user could send a
/// colleague, or post from any site) is refused in another browser: one
/// without the nonce cookie, one with its own nonce from its own handoff
/// start, one with a nonce cookie that is not one; each answers the same
/// `invalid_or_expired` as an unknown token and none burns it: the browser
/// that signed in exchanges it afterwards.
async fn bound_to_the_browser(db: TestDb) {
    let (_store, _porta, edge, pool, handoff) = started(&db).await;
    let (other_browser, _) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, None).await;
    assert_ne!(other_browser.cookie, handoff.nonce.cookie);
    let forged = Nonce {
        cookie: format!("{}=not-a-nonce", forms::NONCE_COOKIE),
        binding: String::new(),
    };
    for nonce in [None, Some(&other_browser), Some(&forged)] {
        let reply = edge.exchange_token(DEMO_CUSTOM_DOMAIN, &handoff.ott, nonce).await;
        assert_exchange_error(&reply, 400, "invalid_or_expired");
        assert_eq!(
            ott_unconsumed(&pool, &handoff.ott).await,
            Some(true),
            "a refused exchange burnt the token ({nonce:?})"
        );
    }
    let (session, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&session)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
}

/// The exchange is the custom domain's own page posting JSON: a
/// `text/plain` (what a cross-site form can send), form-encoded or
/// untyped body is 403 `json_required`; an Origin of another site, of
/// another port, scheme or host, `null` or none is 403 `origin_mismatch`.
/// None of them burns the token, which then works from its own page.
async fn json_from_the_own_page(db: TestDb) {
    let (_store, _porta, edge, pool, handoff) = started(&db).await;
    let body = json!({ "ott": handoff.ott }).to_string();
    let own = edge.origin(DEMO_CUSTOM_DOMAIN);
    let cookie = handoff.nonce.cookie.as_str();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut headers = vec![("Origin", own.as_str()), ("Cookie", cookie)];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        let reply = edge.exchange_with(DEMO_CUSTOM_DOMAIN, &body, &headers).await;
        assert_exchange_error(&reply, 403, "json_required");
    }
    let port = edge.https_port;
    let other_port = format!("https://{DEMO_CUSTOM_DOMAIN}:{}", port.wrapping_add(1));
    let default_port = format!("https://{DEMO_CUSTOM_DOMAIN}");
    let plain = format!("http://{DEMO_CUSTOM_DOMAIN}:{port}");
    let canonical = edge.origin(CANONICAL);
    for origin in [
        Some("https://evil.example"),
        Some(other_port.as_str()),
        Some(default_port.as_str()),
        Some(plain.as_str()),
        Some(canonical.as_str()),
        Some("null"),
        None,
    ] {
        let mut headers = vec![("Content-Type", "application/json"), ("Cookie", cookie)];
        if let Some(origin) = origin {
            headers.push(("Origin", origin));
        }
        let reply = edge.exchange_with(DEMO_CUSTOM_DOMAIN, &body, &headers).await;
        assert_exchange_error(&reply, 403, "origin_mismatch");
    }
    assert_eq!(ott_unconsumed(&pool, &handoff.ott).await, Some(true), "not burnt");
    let (_, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
}

/// A token issued before sign-out is refused afterwards, in the browser
/// that asked for it too: it died with its session.
async fn dies_with_its_session(db: TestDb) {
    let (_store, _porta, edge, _pool, handoff) = started(&db).await;
    let signout = edge
        .submit(CANONICAL, "/auth/signout", &[], &handoff.canonical, DASHBOARD)
        .await;
    signout.assert_see_other("/auth/client-portal/signin");
    let reply = edge.exchange(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_exchange_error(&reply, 400, "invalid_or_expired");
}

/// Live, unconsumed and unexpired tokens (of any session).
async fn live_tokens(db: &Db) -> i64 {
    let sql = "SELECT COUNT(*) FROM portal_domain_otts WHERE consumed_at IS NULL AND expires_at > $1";
    let now = UnixMillis::now().0;
    let count = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(now).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(now).fetch_one(pool).await,
    };
    count.expect("count live tokens")
}

/// A signed-in client loading the sign-in page 40 times (from the same
/// handoff start, as a reload does) gets the same live token every time:
/// one row, not 40. Forty loads each from a new handoff start (a new
/// nonce) leave at most five tokens live: the oldest are retired (refused
/// at the exchange), the newest works.
async fn no_token_per_reload(db: TestDb) {
    let (_store, _porta, edge, pool, handoff) = started(&db).await;
    let reload = format!("/auth/client-portal/signin?handoff={}", handoff.nonce.binding);
    for _ in 0..40 {
        let reply = edge.get(CANONICAL, &reload, Some(&handoff.canonical)).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        assert_eq!(reply.location(), handoff.location, "the same live token");
    }
    let rows = ott_rows(&pool).await;
    assert!(rows <= 5, "{rows} token rows after 40 reloads");
    assert_eq!(rows, 1);

    let mut issued = Vec::new();
    for _ in 0..40 {
        let (nonce, _) = edge.handoff_start(DEMO_CUSTOM_DOMAIN, None).await;
        let page = format!("/auth/client-portal/signin?handoff={}", nonce.binding);
        let reply = edge.get(CANONICAL, &page, Some(&handoff.canonical)).await;
        assert_eq!(reply.status, 303, "{reply:?}");
        let (ott, _) = edge.handoff_target(reply.location());
        issued.push((ott, nonce));
    }
    let live = live_tokens(&pool).await;
    assert!(live <= 5, "{live} live tokens for one session");
    let (oldest, oldest_nonce) = &issued[0];
    let refused = edge
        .exchange_token(DEMO_CUSTOM_DOMAIN, oldest, Some(oldest_nonce))
        .await;
    assert_exchange_error(&refused, 400, "invalid_or_expired");
    let (newest, newest_nonce) = &issued[39];
    let reply = edge
        .exchange_token(DEMO_CUSTOM_DOMAIN, newest, Some(newest_nonce))
        .await;
    assert_exchanged(&reply, DEMO_CUSTOM_DOMAIN);
}

/// What the edge's housekeeping (a background service of every edge node)
/// deletes once a minute: tokens consumed or expired more than ten minutes
/// ago; a token spent just now and a live one stay (the sweep itself,
/// called on porta's database, as its service calls it).
async fn swept_in_the_background(db: TestDb) {
    let (store, _porta, edge, pool, spent) = started(&db).await;
    edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &spent).await;
    let old = edge.sign_in(&jane(&store), None).await;
    expire_ott(&pool, &old.ott).await;
    let live = edge.sign_in(&jane(&store), None).await;
    assert_eq!(ott_rows(&pool).await, 3);
    let window = Duration::from_secs(900);
    let now = UnixMillis::now();
    let swept = porta_edge::housekeeping::sweep(&pool, window, now).await.unwrap();
    assert_eq!(swept.tokens, 0, "nothing is ten minutes old yet");
    let later = now.plus_seconds(11 * 60);
    let swept = porta_edge::housekeeping::sweep(&pool, window, later)
        .await
        .unwrap();
    assert_eq!(swept.tokens, 2, "the spent one and the expired one");
    assert_eq!(ott_rows(&pool).await, 1);
    assert_eq!(
        ott_unconsumed(&pool, &live.ott).await,
        Some(true),
        "the live one stays"
    );
}

// ---------------------------------------------------------------------------
// Headers and redirects

/// The values of `name` in a reply.
fn values<'a>(reply: &'a Reply, name: &str) -> Vec<&'a str> {
    reply
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("ASCII header"))
        .collect()
}

/// What an edge answers over HTTPS, proxied and its own: the sign-in page
/// (proxied from the portal), `/healthz`, the branded 421 and 404, the
/// handoff start, page and script, an exchange error.
async fn https_answers(edge: &EdgeClient) -> Vec<(&'static str, Reply)> {
    let fronted = http_request(
        "GET",
        "/healthz",
        Some(&edge.authority(DEMO_CUSTOM_DOMAIN)),
        &[],
        b"",
    );
    vec![
        (
            "proxied page",
            edge.get(CANONICAL, "/auth/client-portal/signin", None).await,
        ),
        (
            "proxied redirect",
            edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, None).await,
        ),
        ("healthz", edge.get(CANONICAL, "/healthz", None).await),
        ("421", edge.send(CANONICAL, &fronted).await),
        ("404", edge.get("nobody.portal.localhost", "/", None).await),
        (
            "handoff start",
            edge.get(DEMO_CUSTOM_DOMAIN, HANDOFF_START, None).await,
        ),
        (
            "handoff page",
            edge.get(DEMO_CUSTOM_DOMAIN, "/auth/client-portal/handoff?ott=x", None)
                .await,
        ),
        (
            "handoff script",
            edge.get(DEMO_CUSTOM_DOMAIN, "/auth/client-portal/handoff.js", None)
                .await,
        ),
        (
            "exchange error",
            edge.get(DEMO_CUSTOM_DOMAIN, EXCHANGE_PATH, None).await,
        ),
    ]
}

/// `Strict-Transport-Security` is on every HTTPS response, proxied or the
/// edge's own (and the portal's strict CSP on its pages, through the edge),
/// exactly once and as configured: a year by default (no
/// `includeSubDomains`, no `preload`), the configured max-age and
/// `includeSubDomains` when asked for, none with a max-age of 0; never on
/// plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_on_every_https_response_as_configured() {
    /// The edge's environment, and the header it must send.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: [Case<'_>; 3] = [
        (&[], Some("max-age=31536000")),
        (
            &[
                ("PORTA_EDGE_HSTS_MAX_AGE_SECONDS", "600"),
                ("PORTA_EDGE_HSTS_INCLUDE_SUBDOMAINS", "true"),
            ],
            Some("max-age=600; includeSubDomains"),
        ),
        (&[("PORTA_EDGE_HSTS_MAX_AGE_SECONDS", "0")], None),
    ];
    for (env, expected) in cases {
        let mut store = Store::sqlite();
        let _porta = store.up_in_process(env).await;
        let edge = EdgeClient::new(&store);
        for (what, reply) in https_answers(&edge).await {
            if what == "proxied page" {
                // The portal's own header for its pages, through the edge.
                let csp = values(&reply, "content-security-policy");
                assert!(
                    csp.len() == 1
                        && csp[0].contains("script-src 'self'")
                        && !csp[0].contains("unsafe-inline"),
                    "{reply:?}"
                );
            }
            let hsts = values(&reply, "strict-transport-security");
            assert_eq!(
                hsts,
                expected.into_iter().collect::<Vec<_>>(),
                "{what} with {env:?}: {reply:?}"
            );
        }
        let http_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.http_port));
        for reply in [
            SiteClient::new("127.0.0.1", http_addr)
                .get("/healthz", None)
                .await,
            SiteClient::new(CANONICAL, http_addr).get("/", None).await,
        ] {
            assert!(
                values(&reply, "strict-transport-security").is_empty(),
                "{reply:?}"
            );
        }
    }
}

/// Plain HTTP answers 308 to the same URL on HTTPS only for hosts the edge
/// serves (a tenant's canonical host, an active custom domain); any other
/// name (unknown, a tenant that does not exist under the canonical base, a
/// custom domain that is pending or disabled) gets 404, so the edge is no
/// open redirector for names pointed at it.
async fn redirect_rule(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store.up_in_process(&[]).await;
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let acme = tenant_id(&pool, "acme").await;
    add_domain(
        &store,
        &pool,
        acme,
        "pending.acme-it.localhost",
        DomainStatus::PendingDns,
    )
    .await;
    add_domain(
        &store,
        &pool,
        acme,
        "off.acme-it.localhost",
        DomainStatus::Disabled,
    )
    .await;
    let http_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.http_port));
    let target = "/client-portal/tickets?x=1";
    for host in [CANONICAL, DEMO_CUSTOM_DOMAIN] {
        let reply = SiteClient::new(host, http_addr).get(target, None).await;
        assert_eq!(reply.status, 308, "{host}: {reply:?}");
        assert_eq!(reply.location(), format!("{}{target}", edge.origin(host)));
    }
    for host in [
        "nobody.example",
        "nobody.portal.localhost",
        "pending.acme-it.localhost",
        "off.acme-it.localhost",
    ] {
        let reply = SiteClient::new(host, http_addr).get(target, None).await;
        assert_branded(&reply, 404, "Portal not found");
        assert!(reply.headers.get("location").is_none(), "{host}: {reply:?}");
    }
}

// ---------------------------------------------------------------------------
// Slow clients

/// The deadlines of the test edge, and how late a cut may come.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);
const BODY_TIMEOUT: Duration = Duration::from_secs(3);
const MARGIN: Duration = Duration::from_millis(2500);
/// How often the slow client sends a byte: less than either deadline, so
/// only a deadline on the whole head or body can stop it.
const TRICKLE: Duration = Duration::from_secs(2);

/// Sends `prefix` at once, then `trickle` a byte every [`TRICKLE`], until
/// the edge closes the connection; returns how long after the first
/// trickled byte (or after `prefix`) that was. Panics if the edge holds on
/// for a minute.
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(stream: S, prefix: &[u8], trickle: &[u8]) -> Duration {
    let (mut reader, mut writer) = tokio::io::split(stream);
    writer.write_all(prefix).await.expect("the prefix");
    writer.flush().await.expect("flush");
    let started = Instant::now();
    let writing = async {
        for byte in trickle.iter().cycle() {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                break;
            }
            tokio::time::sleep(TRICKLE).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            () = closed => {}
            () = writing => {
                // The edge refused a write: it is gone; wait for the read side.
            }
        }
    })
    .await
    .expect("the edge held a trickling client for a minute");
    started.elapsed()
}

#[track_caller]
fn assert_cut_at(what: &str, took: Duration, deadline: Duration) {
    assert!(
        took + Duration::from_millis(500) >= deadline && took <= deadline + MARGIN,
        "{what}: cut after {took:?}, the deadline is {deadline:?}"
    );
}

/// A client that sends its request head (on TLS or plain HTTP) or its body
/// one byte every 2 s is disconnected at the configured deadline (3 s
/// here), though no single read waits long; a kept-alive connection that
/// idles past that deadline between requests is not (the head's clock
/// starts at its first byte).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_at_the_read_deadlines() {
    let mut store = Store::sqlite();
    let _porta = store
        .up_in_process(&[
            ("PORTA_EDGE_HEADER_READ_TIMEOUT_SECONDS", "3"),
            ("PORTA_EDGE_BODY_READ_TIMEOUT_SECONDS", "3"),
        ])
        .await;
    let edge = EdgeClient::new(&store);
    let head = format!(
        "GET /auth/client-portal/signin HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
        edge.authority(CANONICAL)
    );
    let tls_head = async {
        let tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
        trickle(tls, b"", head.as_bytes()).await
    };
    let plain_head = async {
        let tcp = edge.tcp(edge.http_port).await.expect("connect");
        trickle(
            tcp,
            b"",
            b"GET / HTTP/1.1\r\nHost: acme.portal.localhost\r\nX-Slow: aaaaaaaaaaaaaaa",
        )
        .await
    };
    let body_head = format!(
        "POST /auth/client-portal/signin HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        edge.authority(CANONICAL)
    );
    let tls_body = async {
        let tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
        trickle(tls, body_head.as_bytes(), b"email=a").await
    };
    let kept_alive = async {
        let mut tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
        let request = format!(
            "GET /auth/client-portal/signin HTTP/1.1\r\nHost: {}\r\n\r\n",
            edge.authority(CANONICAL)
        );
        for round in 0..2 {
            if round == 1 {
                // Idle for longer than the head deadline, between requests.
                tokio::time::sleep(HEAD_TIMEOUT + Duration::from_secs(1)).await;
            }
            tls.write_all(request.as_bytes()).await.expect("send");
            let reply = tokio::time::timeout(WAIT, read_reply(&mut tls))
                .await
                .expect("a reply in time")
                .expect("a reply");
            assert_eq!(reply.status, 200, "request {round} on one connection: {reply:?}");
        }
    };
    let (tls_head, plain_head, tls_body, ()) = tokio::join!(tls_head, plain_head, tls_body, kept_alive);
    assert_cut_at("a trickled head over TLS", tls_head, HEAD_TIMEOUT);
    assert_cut_at("a trickled head over plain HTTP", plain_head, HEAD_TIMEOUT);
    assert_cut_at("a trickled body", tls_body, BODY_TIMEOUT);
}

// ---------------------------------------------------------------------------
// Lockout

/// Failed sign-ins lock an account from the address they came from, not
/// the account: after three wrong passwords from 127.0.0.2 (the limit set
/// here) the right one is refused from there (429), while the owner at
/// 127.0.0.3 signs in and is handed off to the custom domain. The edge
/// states the client address to the portal (the TCP peer), so this holds
/// through it.
async fn lockout_per_account_and_ip(db: TestDb) {
    let mut store = Store::new(&db);
    let _porta = store
        .up_in_process(&[("PORTA_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3")])
        .await;
    let edge = EdgeClient::new(&store);
    let attacker = edge.from([127, 0, 0, 2]);
    let owner = edge.from([127, 0, 0, 3]);
    let jane = jane(&store);
    let wrong = DemoUser {
        email: jane.email.clone(),
        password: "not-the-password".to_owned(),
        signin_url: jane.signin_url.clone(),
    };
    for _ in 0..3 {
        let refused = attacker.sign_in_raw(&wrong, None, &[], None).await;
        refused.assert_see_other(
            "/auth/client-portal/signin?error=CredentialsSignin&next=%2Fclient-portal%2Fdashboard",
        );
    }
    let locked = attacker.sign_in_raw(&jane, None, &[], None).await;
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(locked.set_cookies().is_empty(), "{locked:?}");
    let handoff = owner.sign_in(&jane, None).await;
    let (_, redirect) = owner.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
}

// ---------------------------------------------------------------------------
// Unknown server names (the binary: its metrics)

/// The edge's counter `series`, 0 when it has not appeared yet.
async fn counter(porta: &Porta, series: &str) -> u64 {
    metric_sample(&porta.metrics().await, series).unwrap_or(0)
}

/// Each client IP may make the edge look up only so many server names it
/// has not cached (3 a minute here, whether the name turns out known or
/// not: each costs a query): after the canonical host's first connection,
/// of five unknown names from 127.0.0.1 two are looked up and three
/// refused without a lookup; the name already cached is still served to
/// that address, and another address still gets its lookups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_server_names_are_limited_per_client_ip() {
    let store = Store::sqlite();
    let porta = store.start("up", &[("PORTA_EDGE_UNKNOWN_SNI_PER_IP_PER_MINUTE", "3")]);
    let edge = EdgeClient::new(&store);
    // The limit counts per wall-clock minute: all of it within one.
    within_one_minute(Duration::from_secs(5)).await;
    // Cached before the flood.
    edge.leaf(CANONICAL).await;
    for i in 0..5 {
        let name = format!("nobody-{i}.example");
        assert!(edge.handshake_accepting_any(&name, true).await.is_err(), "{name}");
    }
    let hellos = "porta_edge_tls_client_hellos_total";
    assert_eq!(
        counter(&porta, &format!("{hellos}{{result=\"sni_unknown\"}}")).await,
        2
    );
    assert_eq!(
        counter(&porta, &format!("{hellos}{{result=\"sni_refused\"}}")).await,
        3
    );
    // Still served: the cached name, from the address over its limit.
    edge.leaf(CANONICAL).await;
    // Another address has lookups of its own.
    let other = edge.from([127, 0, 0, 4]);
    assert!(other
        .handshake_accepting_any("nobody-9.example", true)
        .await
        .is_err());
    assert_eq!(
        counter(&porta, &format!("{hellos}{{result=\"sni_unknown\"}}")).await,
        3
    );
    assert_eq!(
        counter(&porta, &format!("{hellos}{{result=\"sni_refused\"}}")).await,
        3
    );
}

// ---------------------------------------------------------------------------
// The log (the binary: its stderr)

/// A TLS client offering only HTTP/2.
fn h2_only() -> std::sync::Arc<rustls::ClientConfig> {
    let mut config = (*trusting_tls_config(true)).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    std::sync::Arc::new(config)
}

/// Sends `bytes` on a fresh TCP connection to `port` and closes it with a
/// reset (no FIN, no close_notify), or just hangs up.
async fn send_and_hang_up(edge: &EdgeClient, port: u16, bytes: &[u8], reset: bool) {
    let mut tcp = edge.tcp(port).await.expect("connect");
    let _ = tcp.write_all(bytes).await;
    if reset {
        let _ = tcp.set_zero_linger();
    }
    drop(tcp);
}

/// `porta up` with its default log filter, sent what clients get wrong:
/// unknown and missing server names, plain text on the TLS port,
/// malformed headers (TLS and plain), TLS connections dropped without
/// `close_notify` mid-request and after a request, a reset mid-head, a
/// head cut off at the read deadline, an HTTP/2 client that sends no
/// preface. Its log has no ERROR line (the edge counts these in its
/// metrics, which show they happened), does have the portal's request
/// lines at INFO, and has no password, token, nonce or session of a sign-in
/// and handoff made meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_leave_no_error_in_the_log() {
    let store = Store::sqlite();
    let porta = store.start("up", &[("PORTA_EDGE_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let edge = EdgeClient::new(&store);
    let authority = edge.authority(CANONICAL);

    assert!(edge
        .handshake_accepting_any("nobody.example", true)
        .await
        .is_err());
    assert!(edge.handshake_accepting_any(CANONICAL, false).await.is_err());
    send_and_hang_up(
        &edge,
        edge.https_port,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    let malformed = format!("GET / HTTP/1.1\r\nHost: {authority}\r\nBad Header\r\n\r\n");
    let reply = edge.send(CANONICAL, malformed.as_bytes()).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let http_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.http_port));
    let _ = SiteClient::new("127.0.0.1", http_addr)
        .get("/healthz", None)
        .await;
    send_and_hang_up(
        &edge,
        edge.http_port,
        b"GET / HTTP/1.1\r\nHost: acme.portal.localhost\r\nBad Header\r\n\r\n",
        false,
    )
    .await;
    // TLS dropped without close_notify: mid-head, and right after a request.
    for bytes in [
        format!("GET /auth/client-portal/signin HTTP/1.1\r\nHost: {authority}\r\n"),
        format!("GET /auth/client-portal/signin HTTP/1.1\r\nHost: {authority}\r\n\r\n"),
    ] {
        let mut tls = edge.handshake(CANONICAL).await.expect("TLS");
        tls.write_all(bytes.as_bytes()).await.expect("send");
        tls.flush().await.expect("flush");
        let (tcp, _) = tls.into_inner();
        let _ = tcp.set_zero_linger();
        drop(tcp);
    }
    send_and_hang_up(&edge, edge.http_port, b"GET / HTTP/1.1\r\nHost: acme", true).await;
    // Cut off at the head deadline.
    let tls = edge.handshake(CANONICAL).await.expect("TLS");
    trickle(tls, b"G", b"ET / HTTP/1.1\r\n").await;
    // An HTTP/2 client that says nothing sensible.
    if let Ok(mut tls) = edge.connect_with(h2_only(), CANONICAL).await {
        let _ = tls.write_all(b"this is not the HTTP/2 preface\r\n\r\n").await;
        let _ = tls.flush().await;
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(WAIT, tls.read(&mut buf)).await;
    }

    // What happened, by the edge's own count.
    let text = porta.metrics().await;
    let hellos = "porta_edge_tls_client_hellos_total";
    for result in ["sni_unknown", "no_sni", "malformed"] {
        let seen: u64 = metric_sample(&text, &format!("{hellos}{{result=\"{result}\"}}")).unwrap_or(0);
        assert!(seen >= 1, "{result}: {text}");
    }
    // A whole sign-in with its handoff: none of its secrets is logged.
    let jane = jane(&store);
    let handoff = edge.sign_in(&jane, None).await;
    let (custom, _) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    let nonce = handoff
        .nonce
        .cookie
        .split_once('=')
        .expect("name=value")
        .1
        .to_owned();
    let secrets = [
        jane.password.clone(),
        handoff.ott.clone(),
        nonce,
        handoff.nonce.binding.clone(),
        handoff.canonical.token.clone(),
        custom.token.clone(),
    ];

    // A last, ordinary request: its line is the end of the log to read.
    let marker = "/auth/msp/signin";
    assert_eq!(edge.get(CANONICAL, marker, None).await.status, 200);
    let deadline = Instant::now() + WAIT;
    let log = loop {
        let log = porta.stderr();
        if log
            .lines()
            .any(|l| l.contains("finished processing request") && l.contains(marker))
        {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "no INFO request line for {marker}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "client mistakes logged as errors:\n{}",
        errors.join("\n")
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" INFO ") && l.contains("tower_http")),
        "the portal's request lines reach the default level:\n{log}"
    );
    assert!(log.contains("handoff completed"), "the handoff is logged:\n{log}");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret ({} chars) is in the log:\n{log}",
            secret.len()
        );
    }
}
