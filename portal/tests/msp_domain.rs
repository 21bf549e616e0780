//! MSP staff register and manage their tenant's custom domain, on both
//! backends: permissions, validation, conflicts, and every action.

mod common;

use common::*;
use porta_core::db::{audit, roles};
use porta_core::ids::UserId;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::header::{HeaderMap, HeaderValue, HOST};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "admin@acme-it.example";
const TECH: &str = "tech@acme-it.example";
const JANE: &str = "jane.doe@globex.example";

async fn staff_cookie(app: &TestApp, host: &str, email: &str) -> String {
    let response = app.sign_in_staff(host, email, PASSWORD).await;
    assert_eq!(location(&response).as_deref(), Some("/msp"));
    cookie_pair(&response).unwrap()
}

async fn make_admin(app: &TestApp, f: &Fixture, user: UserId) {
    let admin = roles::find_by_name(&app.db, f.tenant, UserType::Internal, "Admin")
        .await
        .unwrap()
        .unwrap();
    roles::assign(&app.db, f.tenant, user, &admin, UserType::Internal)
        .await
        .unwrap();
}

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    host: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .header(HOST, host)
        .header("origin", app.origin(host));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

async fn setup(app: &TestApp) -> (Fixture, String, String, String) {
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let admin = user(&app.db, acme.tenant, ADMIN, UserType::Internal, "Ada Admin").await;
    make_admin(app, &acme, admin).await;
    user(&app.db, acme.tenant, TECH, UserType::Internal, "Tom Tech").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let admin_cookie = staff_cookie(app, &acme.host, ADMIN).await;
    let tech_cookie = staff_cookie(app, &acme.host, TECH).await;
    let client_cookie = app.session_cookie(&acme.host, JANE).await;
    (acme, admin_cookie, tech_cookie, client_cookie)
}

const API: &str = "/api/msp/portal-domain";

async fn staff_register_and_manage_a_domain(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, admin, _, _) = setup(&app).await;
    let h = acme.host.as_str();
    let (status, body) = api(&app, reqwest::Method::GET, h, API, Some(&admin), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "domain": null })));

    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        h,
        API,
        Some(&admin),
        Some(json!({ "domain": " Portal.Acme-IT.example. " })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let d = &body["domain"];
    assert_eq!(d["name"], "portal.acme-it.example");
    assert_eq!(d["status"], "pending_dns");
    assert_eq!(d["issuer"], "internal", "no ACME CA is configured in these tests");
    assert_eq!(
        d["cname"],
        json!({ "name": "portal.acme-it.example", "type": "CNAME", "target": "acme.portal.localhost" })
    );
    assert_eq!(d["observed"], Value::Null);
    assert!(
        d["next_check_at"].as_i64().is_some(),
        "due for its first check at once"
    );

    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        h,
        API,
        Some(&admin),
        Some(json!({ "domain": "other.acme-it.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "already_registered");

    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        h,
        API,
        Some(&admin),
        Some(json!({ "domain": "clients.acme-it.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["domain"]["name"], "clients.acme-it.example");

    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        h,
        &format!("{API}/retry"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domain"]["status"], "pending_dns");

    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        h,
        &format!("{API}/disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domain"]["status"], "disabled");
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        h,
        &format!("{API}/retry"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::CONFLICT, json!("domain_disabled"))
    );

    let (status, _) = api(&app, reqwest::Method::DELETE, h, API, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api(&app, reqwest::Method::GET, h, API, Some(&admin), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "domain": null })));
    let (status, body) = api(&app, reqwest::Method::DELETE, h, API, Some(&admin), None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::NOT_FOUND, json!("no_domain"))
    );

    let mut actions: Vec<String> = audit::recent(&app.db, acme.tenant, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("portal_domain."))
        .map(|r| format!("{} {}", r.action, r.subject.unwrap_or_default()))
        .collect();
    // Rows written in the same millisecond have no order: compare sorted.
    actions.sort();
    assert_eq!(
        actions,
        [
            "portal_domain.disable clients.acme-it.example",
            "portal_domain.register clients.acme-it.example",
            "portal_domain.register portal.acme-it.example",
            "portal_domain.remove clients.acme-it.example",
            "portal_domain.remove portal.acme-it.example",
            "portal_domain.retry clients.acme-it.example",
        ]
    );
}

async fn permissions_are_enforced(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, _, tech, client) = setup(&app).await;
    let h = acme.host.as_str();
    let body = Some(json!({ "domain": "portal.acme-it.example" }));
    // No session: 401. A client user: 403. Staff without settings:update: 403 on writes, reads fine.
    let (status, json_body) = api(&app, reqwest::Method::GET, h, API, None, None).await;
    assert_eq!(
        (status, json_body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("unauthenticated"))
    );
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let (status, json_body) = api(&app, method, h, API, Some(&client), body.clone()).await;
        assert_eq!(
            (status, json_body["error"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden"))
        );
    }
    let (status, _) = api(&app, reqwest::Method::GET, h, API, Some(&tech), None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path) in [
        (reqwest::Method::POST, API.to_owned()),
        (reqwest::Method::PUT, API.to_owned()),
        (reqwest::Method::DELETE, API.to_owned()),
        (reqwest::Method::POST, format!("{API}/retry")),
        (reqwest::Method::POST, format!("{API}/disable")),
    ] {
        let (status, json_body) = api(&app, method.clone(), h, &path, Some(&tech), body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            json_body["message"],
            "you do not have the settings:update permission"
        );
    }
    // The page: the client user is sent to sign in as staff; the technician
    // sees the status but no forms.
    let response = app.get(h, "/msp/settings/portal-domain", Some(&client)).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/msp/signin?error=AccessDenied")
    );
    let html = app
        .get(h, "/msp/settings/portal-domain", Some(&tech))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Client portal domain"));
    assert!(
        !html.contains(r#"id="register""#),
        "no forms without settings:update"
    );
}

async fn bad_and_taken_names_are_refused_with_their_reason(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, admin, _, _) = setup(&app).await;
    let beta = tenant(&app.db, "beta", "Beta MSP").await;
    let beta_admin = user(&app.db, beta.tenant, ADMIN, UserType::Internal, "Bea").await;
    make_admin(&app, &beta, beta_admin).await;
    let beta_cookie = staff_cookie(&app, &beta.host, ADMIN).await;
    let (status, _) = api(
        &app,
        reqwest::Method::POST,
        &beta.host,
        API,
        Some(&beta_cookie),
        Some(json!({ "domain": "portal.shared.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    for (raw, message) in [
        ("", "enter a domain name, for example portal.example.com"),
        (
            "https://portal.acme-it.example",
            "enter only the domain name, without https:// or a path",
        ),
        (
            "*.acme-it.example",
            "wildcard domains cannot be registered; enter one name such as portal.example.com",
        ),
        ("10.0.0.1", "an IP address is not a domain name"),
        (
            "portal..acme.example",
            "the domain has an empty label (two dots in a row, or a leading dot)",
        ),
        (
            "localhost",
            "enter a full domain name with at least two labels, such as portal.example.com",
        ),
        (
            "co.uk",
            "co.uk is a public suffix; use a name under it, such as portal.co.uk",
        ),
        (
            "acme.portal.localhost",
            "domains under portal.localhost are this service's own addresses and cannot be registered",
        ),
        (
            "portal_1.acme.example",
            "the domain may contain only letters, digits, hyphens and dots",
        ),
    ] {
        let (status, body) = api(
            &app,
            reqwest::Method::POST,
            &acme.host,
            API,
            Some(&admin),
            Some(json!({ "domain": raw })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}");
        assert_eq!(
            body,
            json!({ "error": "invalid_domain", "message": message }),
            "{raw}"
        );
    }
    // Beta has only registered the name: that reserves nothing, acme may
    // register it too, with its own TXT token.
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        &acme.host,
        API,
        Some(&admin),
        Some(json!({ "domain": "PORTAL.shared.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let shared = &body["domain"];
    assert_eq!(shared["name"], "portal.shared.example");
    assert_eq!(shared["verified"], false);
    assert_eq!(shared["txt"]["name"], "_porta-challenge.portal.shared.example");
    assert_eq!(shared["txt"]["type"], "TXT");
    let token = shared["txt"]["value"].as_str().expect("a TXT token");
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let beta_token = porta_core::db::portal_domains::find_for_tenant(
        &app.db,
        beta.tenant,
        &porta_core::host::HostName::parse("portal.shared.example").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_ne!(
        beta_token.verification_token, token,
        "each registration has its own"
    );

    // Once beta has proven control, the name is beta's: acme cannot move
    // its registration to it, and its own one stays as it was.
    assert!(porta_core::db::portal_domains::claim(
        &app.db,
        beta.tenant,
        beta_token.id,
        porta_core::clock::UnixMillis::now()
    )
    .await
    .unwrap());
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        &acme.host,
        API,
        Some(&admin),
        Some(json!({ "domain": "portal.shared.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        json!({ "error": "domain_taken", "message": "portal.shared.example is already in use by another organisation's portal" })
    );
    let (status, body) = api(&app, reqwest::Method::GET, &acme.host, API, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["domain"]["txt"]["value"], token,
        "nothing half-registered: acme's registration is untouched"
    );
}

async fn the_page_registers_and_shows_the_record(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, admin, _, _) = setup(&app).await;
    const PAGE: &str = "/msp/settings/portal-domain";
    let response = app
        .submit(
            &acme.host,
            PAGE,
            &[("action", "register"), ("domain", "portal.acme-it.example")],
            &admin,
            PAGE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/msp/settings/portal-domain?notice=domain_registered")
    );
    let html = app
        .get(
            &acme.host,
            "/msp/settings/portal-domain?notice=domain_registered",
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<dd id="domain-status">pending_dns</dd>"#),
        "{html}"
    );
    assert!(html.contains("Domain registered. Create the CNAME record shown below."));
    assert!(html.contains("<code>portal.acme-it.example. CNAME acme.portal.localhost.</code>"));
    // The TXT record proves control too, with this registration's token.
    let (_, api_view) = api(&app, reqwest::Method::GET, &acme.host, API, Some(&admin), None).await;
    let token = api_view["domain"]["txt"]["value"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(
        html.contains(&format!(
            r#"<code>_porta-challenge.portal.acme-it.example. TXT "{token}"</code>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"<dd id="domain-verified">not yet</dd>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<meta http-equiv="refresh" content="10">"#),
        "pending pages refresh themselves"
    );
    // A refusal is shown on the page itself, with the reason and what was typed.
    let response = app
        .submit(
            &acme.host,
            PAGE,
            &[("action", "change"), ("domain", "*.x.example")],
            &admin,
            PAGE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("wildcard domains cannot be registered; enter one name such as portal.example.com"),
        "{html}"
    );
    assert!(html.contains(r#"value="*.x.example""#));
    // A cross-site post changes nothing.
    let token = app.page_csrf(&acme.host, PAGE, &admin).await;
    let mut cross = HeaderMap::new();
    cross.insert("cookie", HeaderValue::from_str(&admin).unwrap());
    cross.insert("origin", HeaderValue::from_static("https://evil.example"));
    let response = app
        .post_form(
            &acme.host,
            PAGE,
            &[("action", "remove"), ("csrf_token", &token)],
            cross,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Nor does a same-origin post without the page's token.
    let mut same = HeaderMap::new();
    same.insert("cookie", HeaderValue::from_str(&admin).unwrap());
    same.insert("origin", HeaderValue::from_str(&app.origin(&acme.host)).unwrap());
    let response = app
        .post_form(&acme.host, PAGE, &[("action", "remove")], same)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, body) = api(&app, reqwest::Method::GET, &acme.host, API, Some(&admin), None).await;
    assert_eq!(
        body["domain"]["name"], "portal.acme-it.example",
        "still registered"
    );
}

/// Messages come from codes; a crafted link shows no text of its own.
async fn crafted_notices_show_nothing(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, admin, _, _) = setup(&app).await;
    for crafted in [
        "Your+domain+was+hijacked%2C+call+%2B1-555-0100",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "domain_registered%00",
    ] {
        for key in ["notice", "error"] {
            let html = app
                .get(
                    &acme.host,
                    &format!("/msp/settings/portal-domain?{key}={crafted}"),
                    Some(&admin),
                )
                .await
                .text()
                .await
                .unwrap();
            assert!(!html.contains("hijacked") && !html.contains("555-0100"), "{html}");
            assert!(!html.contains("<script>alert"), "{html}");
            assert!(!html.contains(r#"id="flash""#), "no message at all for {crafted}");
        }
    }
}

/// The staff API refuses cross-site calls and non-JSON bodies, whatever
/// the cookie.
async fn the_api_refuses_cross_site_calls(t: TestDb) {
    let app = TestApp::start(t).await;
    let (acme, admin, _, _) = setup(&app).await;
    let (status, _) = api(
        &app,
        reqwest::Method::POST,
        &acme.host,
        API,
        Some(&admin),
        Some(json!({ "domain": "portal.acme-it.example" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for (method, path) in [
        (reqwest::Method::POST, format!("{API}/disable")),
        (reqwest::Method::DELETE, API.to_owned()),
        (reqwest::Method::PUT, API.to_owned()),
    ] {
        for origin in [Some("https://evil.example"), None] {
            let mut req = app
                .http
                .request(method.clone(), app.url(&path))
                .header(HOST, &acme.host)
                .header("cookie", &admin)
                .header("content-type", "application/json")
                .body(r#"{"domain":"evil.example"}"#);
            if let Some(origin) = origin {
                req = req.header("origin", origin);
            }
            let response = req.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} from {origin:?}"
            );
        }
        // A form-encoded body (what a cross-site form can send) from our own origin.
        let response = app
            .http
            .request(method.clone(), app.url(&path))
            .header(HOST, &acme.host)
            .header("cookie", &admin)
            .header("origin", app.origin(&acme.host))
            .header("content-type", "text/plain")
            .body("domain=evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{method} {path}"
        );
    }
    let (_, body) = api(&app, reqwest::Method::GET, &acme.host, API, Some(&admin), None).await;
    assert_eq!(body["domain"]["status"], "pending_dns", "nothing changed");
}

both_backends! {
    manage => staff_register_and_manage_a_domain;
    permissions => permissions_are_enforced;
    validation => bad_and_taken_names_are_refused_with_their_reason;
    page => the_page_registers_and_shows_the_record;
    crafted_notices => crafted_notices_show_nothing;
    api_cross_site => the_api_refuses_cross_site_calls;
}
