//! Sign-in, sessions and the guards of the portal, on both backends.

mod common;

use common::*;
use porta_core::clock::UnixMillis;
use porta_core::db::{audit, sessions, users};
use porta_core::ids::{SessionId, TenantId, UserId};
use porta_core::secret::Secret;
use porta_core::session_token::{SessionClaims, SessionKey, SessionKeys};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;

const JANE: &str = "jane.doe@globex.example";
const ALEX: &str = "alex@acme-it.example";

async fn acme(app: &TestApp) -> (Fixture, UserId, UserId) {
    let f = tenant(&app.db, "acme", "Acme IT").await;
    let jane = user(&app.db, f.tenant, JANE, UserType::Client, "Jane Doe").await;
    let alex = user(&app.db, f.tenant, ALEX, UserType::Internal, "Alex Admin").await;
    (f, jane, alex)
}

async fn client_signin_sets_exact_cookie_and_shows_dashboard(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let response = app
        .sign_in(&acme.host, "  Jane.Doe@Globex.Example ", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/client-portal/dashboard"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&response).unwrap();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    assert!(pair.starts_with("authjs.session-token=ey"), "{cookie}");
    assert_eq!(attributes, "HttpOnly; SameSite=Lax; Path=/; Max-Age=86400");

    let dashboard = app.get(&acme.host, "/client-portal/dashboard", Some(pair)).await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    assert_eq!(dashboard.headers()["cache-control"], "no-store");
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains(r#"<h1 id="welcome">Welcome, Jane Doe</h1>"#),
        "{html}"
    );
    assert!(html.contains(r#"<dd id="client-name">Globex Corporation</dd>"#));
    assert!(html.contains(r#"<dd id="tenant-name">Acme IT</dd>"#));
    assert!(html.contains(r#"<dd id="roles">User</dd>"#));
}

async fn https_behind_trusted_proxy_uses_secure_cookie(t: TestDb) {
    let app = TestApp::start_with(t, &[("PORTA_PORTAL_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let (acme, _, _) = acme(&app).await;
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    headers.insert("x-forwarded-host", HeaderValue::from_str(&acme.host).unwrap());
    headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
    // The sign-in page, reached through the proxy, hands out the CSRF cookie.
    let page = app
        .get_with("ignored.example", "/auth/client-portal/signin", headers.clone())
        .await;
    let csrf_cookie = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("__Host-porta.csrf="))
        .expect("a __Host- CSRF cookie over HTTPS");
    assert!(
        csrf_cookie.contains("; Secure") && csrf_cookie.contains("; HttpOnly"),
        "{csrf_cookie}"
    );
    let token = csrf_field(&page.text().await.unwrap()).unwrap();
    let mut post_headers = headers.clone();
    post_headers.insert(
        "cookie",
        HeaderValue::from_str(csrf_cookie.split(';').next().unwrap()).unwrap(),
    );
    post_headers.insert(
        "origin",
        HeaderValue::from_str(&format!("https://{}:8443", acme.host)).unwrap(),
    );
    let response = app
        .post_form(
            "ignored.example",
            "/auth/client-portal/signin",
            &[("email", JANE), ("password", PASSWORD), ("csrf_token", &token)],
            post_headers,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&response).unwrap();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    assert!(pair.starts_with("__Secure-authjs.session-token="), "{cookie}");
    assert_eq!(
        attributes,
        "HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=86400"
    );
    // The forwarded client address is what the audit log records.
    let rows = audit::recent(&app.db, acme.tenant, 1).await.unwrap();
    assert_eq!(rows[0].ip.as_deref(), Some("203.0.113.7"));
    // The plain-HTTP name is not accepted on HTTPS and vice versa.
    headers.insert(
        "cookie",
        HeaderValue::from_str(&pair.replace("__Secure-", "")).unwrap(),
    );
    let page = app
        .get_with("ignored.example", "/client-portal/dashboard", headers)
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

async fn untrusted_peers_cannot_pick_host_or_scheme(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    // X-Forwarded-Host naming a real tenant from an untrusted peer is ignored:
    // the Host header (unknown) decides, so 404.
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-host", HeaderValue::from_str(&acme.host).unwrap());
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let response = app
        .get_with("evil.example", "/auth/client-portal/signin", headers.clone())
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // On the real host, a spoofed proto does not turn the cookie into __Secure-.
    let response = app
        .sign_in_form(
            &acme.host,
            "/auth/client-portal/signin",
            &[("email", JANE), ("password", PASSWORD)],
            headers,
        )
        .await;
    assert!(set_cookie(&response)
        .unwrap()
        .starts_with("authjs.session-token="));
}

async fn unknown_hosts_get_404(t: TestDb) {
    let app = TestApp::start(t).await;
    acme(&app).await;
    for host in [
        "nobody.portal.localhost",
        "portal.localhost",
        "x.acme.portal.localhost",
        "acme.portal.localhost.evil.com",
        "127.0.0.1",
        "[::1]:8080",
        "acme.portal.localhost:notaport",
        "bad_host!",
    ] {
        let response = app.get(host, "/auth/client-portal/signin", None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{host}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("There is no client portal at this address."),
            "{host}"
        );
        assert!(!html.contains("Acme IT"), "{host}");
    }
}

async fn wrong_password_and_unknown_email_look_the_same(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let wrong = app.sign_in(&acme.host, JANE, "wrong password!!").await;
    let unknown = app.sign_in(&acme.host, "nobody@globex.example", PASSWORD).await;
    let malformed = app.sign_in(&acme.host, "not-an-email", PASSWORD).await;
    for response in [&wrong, &unknown, &malformed] {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(response).as_deref(),
            Some("/auth/client-portal/signin?error=CredentialsSignin&next=%2Fclient-portal%2Fdashboard")
        );
        assert!(set_cookie(response).is_none());
    }
    let page = app
        .get(
            &acme.host,
            "/auth/client-portal/signin?error=CredentialsSignin",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign-in failed. Check that your email and password are correct."));
}

async fn internal_users_are_refused_on_the_client_form(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let response = app.sign_in(&acme.host, ALEX, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/signin?error=AccessDenied")
    );
    assert!(set_cookie(&response).is_none());
    // ... but with a wrong password they get the generic answer: the
    // account's type is only revealed to whoever knows its password.
    let response = app.sign_in(&acme.host, ALEX, "wrong password!!").await;
    assert!(location(&response).unwrap().contains("error=CredentialsSignin"));

    // Staff sign in on the MSP form and land on /msp; clients are refused there.
    let staff = app.sign_in_staff(&acme.host, ALEX, PASSWORD).await;
    assert_eq!(location(&staff).as_deref(), Some("/msp"));
    let staff_cookie = cookie_pair(&staff).unwrap();
    let msp = app.get(&acme.host, "/msp", Some(&staff_cookie)).await;
    assert_eq!(msp.status(), StatusCode::OK);
    assert!(msp.text().await.unwrap().contains("MSP area of Acme IT"));
    let refused = app.sign_in_staff(&acme.host, JANE, PASSWORD).await;
    assert_eq!(
        location(&refused).as_deref(),
        Some("/auth/msp/signin?error=AccessDenied")
    );

    // A staff session is not a client session.
    let response = app
        .get(&acme.host, "/client-portal/dashboard", Some(&staff_cookie))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/signin?error=AccessDenied")
    );
    // And a client session does not open the MSP area.
    let client_cookie = app.session_cookie(&acme.host, JANE).await;
    let response = app.get(&acme.host, "/msp", Some(&client_cookie)).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/msp/signin?error=AccessDenied")
    );
}

async fn guard_redirects_with_a_safe_next(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let response = app
        .get(&acme.host, "/client-portal/tickets/42?tab=notes", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/signin?next=%2Fclient-portal%2Ftickets%2F42%3Ftab%3Dnotes")
    );
    let response = app
        .get(
            &acme.host,
            "/client-portal/dashboard",
            Some("authjs.session-token=garbage"),
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard")
    );
    // A path that is not a safe next is dropped, not echoed.
    let response = app.get(&acme.host, "/client-portal//evil.com", None).await;
    assert_eq!(location(&response).as_deref(), Some("/auth/client-portal/signin"));
    let response = app.get(&acme.host, "/msp/settings", None).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/msp/signin?next=%2Fmsp%2Fsettings")
    );

    // The sign-in form carries next, and sign-in lands there.
    let page = app
        .get(
            &acme.host,
            "/auth/client-portal/signin?next=%2Fclient-portal%2Ftickets%2F42",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<input type="hidden" name="next" value="/client-portal/tickets/42">"#),
        "{page}"
    );
    let response = app
        .sign_in_form(
            &acme.host,
            "/auth/client-portal/signin",
            &[
                ("email", JANE),
                ("password", PASSWORD),
                ("next", "/client-portal/tickets/42"),
            ],
            HeaderMap::new(),
        )
        .await;
    assert_eq!(location(&response).as_deref(), Some("/client-portal/tickets/42"));
    // Hostile next values fall back to the dashboard.
    for hostile in [
        "//evil.com",
        "https://evil.com/",
        "/\\evil.com",
        "/client-portal/../msp",
        "/%2f%2fevil.com",
    ] {
        let response = app
            .sign_in_form(
                &acme.host,
                "/auth/client-portal/signin",
                &[("email", JANE), ("password", PASSWORD), ("next", hostile)],
                HeaderMap::new(),
            )
            .await;
        assert_eq!(
            location(&response).as_deref(),
            Some("/client-portal/dashboard"),
            "{hostile}"
        );
    }
}

/// Mints a token with the test key for arbitrary claims.
fn forge(keys: &SessionKeys, claims: &SessionClaims) -> String {
    format!("authjs.session-token={}", keys.sign(claims).unwrap())
}

async fn rejected_tokens_are_no_session(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, jane, _) = acme(&app).await;
    let beta = tenant(&app.db, "beta", "Beta MSP").await;
    let cookie = app.session_cookie(&acme.host, JANE).await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let ok = app
        .get(&acme.host, "/client-portal/dashboard", Some(&cookie))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let claims = app
        .keys
        .verify(
            &token,
            &porta_core::host::HostName::parse(&acme.host).unwrap(),
            UnixMillis::now(),
        )
        .unwrap();

    let now = UnixMillis::now().as_seconds();
    let other_key = SessionKeys::new(vec![SessionKey::new(
        KEY_ID,
        Secret::new("another-secret-another-secret-another"),
    )
    .unwrap()])
    .unwrap();
    let unknown_kid = SessionKeys::new(vec![
        SessionKey::new("rotated-away", Secret::new(KEY_SECRET)).unwrap()
    ])
    .unwrap();
    let mut tampered = token.clone();
    let dot = tampered.find('.').unwrap();
    tampered.replace_range(
        dot + 5..dot + 6,
        if &tampered[dot + 5..dot + 6] == "A" {
            "B"
        } else {
            "A"
        },
    );

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            forge(
                &app.keys,
                &SessionClaims {
                    exp: now - 1,
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        ("tampered", format!("authjs.session-token={tampered}"), &acme.host),
        ("wrong key", forge(&other_key, &claims), &acme.host),
        ("unknown key id", forge(&unknown_kid, &claims), &acme.host),
        (
            "wrong host",
            forge(
                &app.keys,
                &SessionClaims {
                    host: "other.portal.localhost".into(),
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        ("token of acme on beta's host", cookie.clone(), &beta.host),
        (
            "other tenant (host rewritten to beta)",
            forge(
                &app.keys,
                &SessionClaims {
                    host: beta.host.clone(),
                    ..claims.clone()
                },
            ),
            &beta.host,
        ),
        (
            "tenant claim rewritten",
            forge(
                &app.keys,
                &SessionClaims {
                    tenant: beta.tenant,
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        (
            "unknown session id",
            forge(
                &app.keys,
                &SessionClaims {
                    sid: SessionId::generate(),
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        (
            "session of another user",
            forge(
                &app.keys,
                &SessionClaims {
                    sub: UserId::generate(),
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        (
            "user type rewritten",
            forge(
                &app.keys,
                &SessionClaims {
                    user_type: UserType::Internal,
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        (
            "issued in the future",
            forge(
                &app.keys,
                &SessionClaims {
                    iat: now + 3_600,
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        (
            "not valid before a future time",
            forge(
                &app.keys,
                &SessionClaims {
                    nbf: Some(now + 3_600),
                    ..claims.clone()
                },
            ),
            &acme.host,
        ),
        ("empty", "authjs.session-token=".into(), &acme.host),
        ("not a jwt", "authjs.session-token=%%%".into(), &acme.host),
    ];
    for (name, cookie, host) in cases {
        let response = app.get(host, "/client-portal/dashboard", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name}");
        assert_eq!(
            location(&response).as_deref(),
            Some("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard"),
            "{name}"
        );
    }

    // Revoked: sign out, then replay the old cookie.
    let out = app
        .submit(
            &acme.host,
            "/auth/signout",
            &[],
            &cookie,
            "/client-portal/dashboard",
        )
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out).as_deref(), Some("/auth/client-portal/signin"));
    let cleared = set_cookie(&out).unwrap();
    assert!(cleared.starts_with("authjs.session-token=; "), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let session = sessions::get(&app.db, acme.tenant, claims.sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.revoked_reason.as_deref(), Some("signout"));
    let replay = app
        .get(&acme.host, "/client-portal/dashboard", Some(&cookie))
        .await;
    assert_eq!(replay.status(), StatusCode::SEE_OTHER, "revoked");

    // Disabled user: their live session stops working at once.
    let fresh = app.session_cookie(&acme.host, JANE).await;
    users::set_disabled(&app.db, acme.tenant, jane, true)
        .await
        .unwrap();
    let response = app
        .get(&acme.host, "/client-portal/dashboard", Some(&fresh))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "disabled");
    let response = app.sign_in(&acme.host, JANE, PASSWORD).await;
    assert!(
        location(&response).unwrap().contains("error=CredentialsSignin"),
        "disabled sign-in"
    );
}

async fn tenants_are_isolated(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let beta = tenant(&app.db, "beta", "Beta MSP").await;
    // The same client email and password in both tenants.
    let in_acme = user(&app.db, acme.tenant, JANE, UserType::Client, "Jane at Acme").await;
    let in_beta = user(&app.db, beta.tenant, JANE, UserType::Client, "Jane at Beta").await;
    for (f, expected_user, name, other) in [
        (&acme, in_acme, "Jane at Acme", &beta),
        (&beta, in_beta, "Jane at Beta", &acme),
    ] {
        let cookie = app.session_cookie(&f.host, JANE).await;
        let html = app
            .get(&f.host, "/client-portal/dashboard", Some(&cookie))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("Welcome, {name}")), "{html}");
        let token = cookie.split_once('=').unwrap().1;
        let claims = app
            .keys
            .verify(
                token,
                &porta_core::host::HostName::parse(&f.host).unwrap(),
                UnixMillis::now(),
            )
            .unwrap();
        assert_eq!(claims.sub, expected_user);
        assert_eq!(claims.tenant, f.tenant);
        // The cookie is worthless on the other tenant's host.
        let response = app
            .get(&other.host, "/client-portal/dashboard", Some(&cookie))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    // A user only in acme cannot sign in on beta's host.
    user(
        &app.db,
        acme.tenant,
        "only@globex.example",
        UserType::Client,
        "Only Acme",
    )
    .await;
    let response = app.sign_in(&beta.host, "only@globex.example", PASSWORD).await;
    assert!(location(&response).unwrap().contains("error=CredentialsSignin"));
    let _: TenantId = beta.tenant;
}

/// Sign-in from one client address, as the edge reports it.
async fn sign_in_from(app: &TestApp, host: &str, ip: &str, email: &str, password: &str) -> reqwest::Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    app.sign_in_form(
        host,
        "/auth/client-portal/signin",
        &[("email", email), ("password", password)],
        headers,
    )
    .await
}

async fn failed_signins_lock_the_account_from_that_address_only(t: TestDb) {
    let app = TestApp::start_with(
        t,
        &[
            ("PORTA_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3"),
            ("PORTA_PORTAL_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let (acme, _, _) = acme(&app).await;
    let attacker = "203.0.113.66";
    for _ in 0..3 {
        let response = sign_in_from(&app, &acme.host, attacker, JANE, "wrong password!!").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    // From there, even the right password is refused, with 429 and Retry-After.
    for _ in 0..3 {
        let response = sign_in_from(&app, &acme.host, attacker, JANE, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "900");
        assert!(set_cookie(&response).is_none());
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts."));
    }
    // The owner, elsewhere, still signs in: slowed down, not locked out.
    let started = std::time::Instant::now();
    let response = sign_in_from(&app, &acme.host, "198.51.100.20", JANE, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/client-portal/dashboard"));
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(250),
        "past the threshold every attempt on the account waits"
    );
    // Other accounts are unaffected, even from the attacker's address.
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.66"));
    let response = app
        .sign_in_form(
            &acme.host,
            "/auth/msp/signin",
            &[("email", ALEX), ("password", PASSWORD)],
            headers,
        )
        .await;
    assert_eq!(location(&response).as_deref(), Some("/msp"));
    // Three refused attempts, one audit row for them.
    let limited = audit::recent(&app.db, acme.tenant, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == "rate_limited")
        .count();
    assert_eq!(limited, 1, "refusals are counted, not logged one by one");
}

async fn signins_are_limited_per_ip(t: TestDb) {
    let app = TestApp::start_with(t, &[("PORTA_SIGNIN_MAX_ATTEMPTS_PER_IP_PER_MINUTE", "2")]).await;
    let (acme, _, _) = acme(&app).await;
    app.sign_in(&acme.host, "a@globex.example", PASSWORD).await;
    app.sign_in(&acme.host, "b@globex.example", PASSWORD).await;
    let response = app.sign_in(&acme.host, JANE, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
}

async fn every_attempt_is_audited_without_secrets(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, jane, _) = acme(&app).await;
    app.sign_in(&acme.host, JANE, "wrong password!!").await;
    app.sign_in(&acme.host, ALEX, PASSWORD).await;
    let cookie = app.session_cookie(&acme.host, JANE).await;
    let rows = audit::recent(&app.db, acme.tenant, 10).await.unwrap();
    let outcomes: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.outcome.as_str(), r.subject.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("signin", "success", Some(JANE)),
            ("signin", "denied", Some(ALEX)),
            ("signin", "failure", Some(JANE))
        ]
    );
    assert_eq!(rows[0].actor_user_id, Some(jane));
    assert_eq!(
        rows[2].detail.as_deref(),
        Some(r#"{"form":"client","reason":"bad_password"}"#)
    );
    let token = cookie.split_once('=').unwrap().1;
    for row in &rows {
        let all = format!("{row:?}");
        assert!(!all.contains(PASSWORD) && !all.contains("wrong password") && !all.contains(token));
    }
}

async fn cross_site_posts_are_refused(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let (csrf_cookie, token) = app.anonymous_csrf(&acme.host).await;
    let form = [
        ("email", JANE),
        ("password", PASSWORD),
        ("csrf_token", token.as_str()),
    ];
    let with = |pairs: &[(&'static str, String)]| {
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_str(&csrf_cookie).unwrap());
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    };
    let ours = app.origin(&acme.host);
    // Another site, the right host on another port or scheme, an opaque
    // origin, a cross-site fetch, and a request no header vouches for.
    for refused in [
        vec![("origin", "https://evil.example".to_owned())],
        vec![("origin", format!("http://{}:1", acme.host))],
        vec![("origin", ours.replace("http://", "https://"))],
        vec![("origin", "null".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
        vec![("referer", "https://evil.example/page".to_owned())],
        vec![],
    ] {
        let response = app
            .post_form(&acme.host, "/auth/client-portal/signin", &form, with(&refused))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{refused:?}");
        assert!(set_cookie(&response).is_none(), "{refused:?}");
    }
    // The right origin but no token, or another visitor's token.
    let no_token = [("email", JANE), ("password", PASSWORD)];
    let response = app
        .post_form(
            &acme.host,
            "/auth/client-portal/signin",
            &no_token,
            with(&[("origin", ours.clone())]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, other_token) = app.anonymous_csrf(&acme.host).await;
    let stolen = [
        ("email", JANE),
        ("password", PASSWORD),
        ("csrf_token", other_token.as_str()),
    ];
    let response = app
        .post_form(
            &acme.host,
            "/auth/client-portal/signin",
            &stolen,
            with(&[("origin", ours.clone())]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Sign-out of a live session from another site.
    let cookie = app.session_cookie(&acme.host, JANE).await;
    let mut cross = HeaderMap::new();
    cross.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    cross.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    let response = app.post_form(&acme.host, "/auth/signout", &[], cross).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let dashboard = app
        .get(&acme.host, "/client-portal/dashboard", Some(&cookie))
        .await;
    assert_eq!(dashboard.status(), StatusCode::OK, "still signed in");
    // Same origin by Origin, by Sec-Fetch-Site, or by Referer: accepted.
    for accepted in [
        vec![("origin", ours.clone())],
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("referer", format!("{ours}/auth/client-portal/signin"))],
    ] {
        let response = app
            .post_form(&acme.host, "/auth/client-portal/signin", &form, with(&accepted))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{accepted:?}");
        assert!(set_cookie(&response).is_some(), "{accepted:?}");
    }
}

async fn malformed_requests_get_clear_errors(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    let (csrf_cookie, token) = app.anonymous_csrf(&acme.host).await;
    let response = app
        .http
        .post(app.url("/auth/client-portal/signin"))
        .header("host", &acme.host)
        .header("origin", app.origin(&acme.host))
        .header("cookie", &csrf_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=%ZZ&password&csrf_token={token}"))
        .send()
        .await
        .unwrap();
    // Lenient form decoding keeps `%ZZ` literally: an ordinary failed sign-in.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).unwrap().contains("error=CredentialsSignin"));
    let response = app
        .http
        .post(app.url("/auth/client-portal/signin"))
        .header("host", &acme.host)
        .header("origin", app.origin(&acme.host))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let long = "x".repeat(10_000);
    let response = app.sign_in(&acme.host, JANE, &long).await;
    assert!(location(&response).unwrap().contains("error=CredentialsSignin"));
    let response = app
        .get(
            &acme.host,
            "/client-portal/dashboard",
            Some(&format!("authjs.session-token={long}")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&acme.host, "/healthz", None).await.status(),
        StatusCode::OK
    );
}

/// With an active custom domain, sign-in continues there: through the
/// domain's handoff start when the browser brought no binding, else with a
/// token bound to it; reloading the page reuses that token.
async fn signin_hands_off_bound_to_the_browser(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, _) = acme(&app).await;
    porta_core::db::portal_domains::create(
        &app.db,
        &porta_core::db::portal_domains::NewPortalDomain {
            tenant: acme.tenant,
            domain: &porta_core::host::HostName::parse("portal.acme-it.example").unwrap(),
            status: porta_core::domain_status::DomainStatus::Active,
            status_message: "",
            expected_cname: &porta_core::host::HostName::parse(&acme.host).unwrap(),
            issuer: porta_core::issuer::Issuer::Internal,
            trust_dns: true,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    let custom = "https://portal.acme-it.example:8443";
    // Started on the canonical host: a bounce through the custom domain.
    let response = app.sign_in(&acme.host, JANE, PASSWORD).await;
    assert_eq!(
        location(&response).as_deref(),
        Some(format!("{custom}/auth/client-portal/handoff/start?next=%2Fclient-portal%2Fdashboard").as_str())
    );
    let cookie = cookie_pair(&response).unwrap();
    // Back with the browser's binding: a token for it.
    let binding = porta_core::ott::HandoffNonce::generate().binding().to_param();
    let page = format!("/auth/client-portal/signin?next=%2Fclient-portal%2Ftickets&handoff={binding}");
    let first = app.get(&acme.host, &page, Some(&cookie)).await;
    let target = location(&first).unwrap();
    assert!(
        target.starts_with(&format!("{custom}/auth/client-portal/handoff?ott="))
            && target.ends_with("&next=%2Fclient-portal%2Ftickets"),
        "{target}"
    );
    // 40 reloads: the same live token, still one row.
    for _ in 0..40 {
        let again = app.get(&acme.host, &page, Some(&cookie)).await;
        assert_eq!(location(&again), Some(target.clone()));
    }
    let rows: i64 = porta_core::on_pool!(&app.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM portal_domain_otts"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(rows, 1);
    // A signed-out visitor with a binding gets the form, carrying it on.
    let html = app.get(&acme.host, &page, None).await.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"<input type="hidden" name="handoff" value="{binding}">"#
        )),
        "{html}"
    );
    // A malformed binding is dropped, never echoed.
    let html = app
        .get(
            &acme.host,
            "/auth/client-portal/signin?handoff=%22%3E%3Cscript%3E",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains(r#"name="handoff""#) && !html.contains("<script>"));
    // On the custom domain itself, sign-in starts the bound handoff.
    let response = app
        .get("portal.acme-it.example", "/client-portal/tickets", None)
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/handoff/start?next=%2Fclient-portal%2Ftickets")
    );
}

both_backends! {
    cookie_and_dashboard => client_signin_sets_exact_cookie_and_shows_dashboard;
    secure_cookie_behind_proxy => https_behind_trusted_proxy_uses_secure_cookie;
    untrusted_forwarding => untrusted_peers_cannot_pick_host_or_scheme;
    unknown_hosts => unknown_hosts_get_404;
    generic_failures => wrong_password_and_unknown_email_look_the_same;
    user_type_doors => internal_users_are_refused_on_the_client_form;
    guard_redirects => guard_redirects_with_a_safe_next;
    rejected_tokens => rejected_tokens_are_no_session;
    tenant_isolation => tenants_are_isolated;
    account_limit => failed_signins_lock_the_account_from_that_address_only;
    ip_limit => signins_are_limited_per_ip;
    bound_handoff => signin_hands_off_bound_to_the_browser;
    audit_rows => every_attempt_is_audited_without_secrets;
    cross_site => cross_site_posts_are_refused;
    malformed => malformed_requests_get_clear_errors;
}
