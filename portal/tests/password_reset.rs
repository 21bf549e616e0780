//! Password reset through a real SMTP server (aiosmtpd), on both backends:
//! the mailed link, the same answer for unknown addresses, single use under
//! a race, expiry, tenant binding, strength, sessions signed out, limits,
//! and mail that waits out an SMTP outage.

mod common;

use common::*;
use porta_core::db::{outbox, Db};
use porta_core::ids::TenantId;
use porta_core::user_type::UserType;
use porta_testkit::smtp::SmtpReceiver;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const NEW_PASSWORD: &str = "violet tundra kettle marmalade";

async fn start(t: TestDb, smtp: &SmtpReceiver) -> TestApp {
    let env = smtp.env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::start_with(t, &vars).await
}

/// Asks for a reset link for `email` from the forgot page of `area`.
async fn ask(app: &TestApp, host: &str, path: &str, email: &str) -> (StatusCode, String) {
    let (cookie, token) = app.anonymous_csrf(host).await;
    let response = app
        .http
        .post(app.url(path))
        .header("host", host)
        .header("origin", app.origin(host))
        .header("cookie", cookie)
        .form(&[("email", email), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The path and query of a mailed link.
fn path_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// Posts the set-new-password form as its page would.
async fn set_new(app: &TestApp, host: &str, token: &str, new: &str, confirm: &str) -> reqwest::Response {
    let (cookie, csrf) = app.anonymous_csrf(host).await;
    app.http
        .post(app.url("/auth/password-reset/set-new-password"))
        .header("host", host)
        .header("origin", app.origin(host))
        .header("cookie", cookie)
        .form(&[
            ("token", token),
            ("new", new),
            ("confirm", confirm),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap()
}

async fn audit_outcomes(db: &Db, tenant: TenantId, action: &str) -> Vec<String> {
    porta_core::db::audit::recent(db, tenant, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.outcome)
        .collect()
}

/// Waits until the audit log holds `n` rows of `action`.
async fn wait_for_audit(db: &Db, tenant: TenantId, action: &str, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let outcomes = audit_outcomes(db, tenant, action).await;
        if outcomes.len() >= n {
            return outcomes;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} {action} audit rows");
}

async fn wait_for_empty_outbox(db: &Db) {
    for _ in 0..400 {
        if outbox::pending(db).await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the outbox still holds letters after 10 s");
}

async fn reset_by_mail(t: TestDb) {
    let smtp = SmtpReceiver::start();
    let app = start(t, &smtp).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    let old_session = app.session_cookie(&acme.host, "jane@globex.example").await;

    // Known and unknown addresses get the same page.
    let (known_status, known_page) = ask(
        &app,
        &acme.host,
        "/auth/client-portal/forgot-password",
        "Jane@Globex.example",
    )
    .await;
    let (unknown_status, unknown_page) = ask(
        &app,
        &acme.host,
        "/auth/client-portal/forgot-password",
        "nobody@globex.example",
    )
    .await;
    assert_eq!(known_status, StatusCode::OK);
    assert_eq!(unknown_status, StatusCode::OK);
    let sent = |page: &str| page.contains(r#"id="reset-sent""#);
    assert!(sent(&known_page) && sent(&unknown_page));
    assert_eq!(strip_csrf(&known_page), strip_csrf(&unknown_page));

    let mail = smtp
        .wait_for("jane@globex.example", "Reset your Acme IT portal password")
        .await;
    let link = mail
        .link_containing("/auth/password-reset/set-new-password")
        .expect("a link in the text part");
    assert!(
        link.starts_with(&format!("http://{}:{}/", acme.host, app.addr.port())),
        "{link}"
    );
    assert!(
        mail.html.contains(&link.replace('&', "&amp;")),
        "the HTML part carries the same link"
    );
    let outcomes = wait_for_audit(&app.db, acme.tenant, "password_reset.request", 2).await;
    assert!(
        outcomes.contains(&"sent".to_owned()) && outcomes.contains(&"no_account".to_owned()),
        "{outcomes:?}"
    );
    assert!(smtp.to("nobody@globex.example").is_empty());
    // The sender marks the letter sent once the server has taken it, a
    // moment after the receiver holds it.
    wait_for_empty_outbox(&app.db).await;

    // The link's page names the account; the token works only here.
    let (status, page) = app.page(&acme.host, &path_of(&link), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"value="jane@globex.example""#), "{page}");
    let beta = tenant(&app.db, "beta", "Beta IT").await;
    let (status, page) = app.page(&beta.host, &path_of(&link), "").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains(r#"id="link-expired""#));

    let token = token_of(&link);
    // Weak, or two different passwords: refused, the token still works.
    let weak = set_new(
        &app,
        &acme.host,
        &token,
        "jane@globex.example1",
        "jane@globex.example1",
    )
    .await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(weak.text().await.unwrap().contains(r#"id="reset-error""#));
    let differ = set_new(&app, &acme.host, &token, NEW_PASSWORD, "violet tundra kettle").await;
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);
    assert!(differ.text().await.unwrap().contains("The two passwords differ."));
    let other_tenant = set_new(&app, &beta.host, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(other_tenant.status(), StatusCode::GONE);

    // Two tabs at once: one wins.
    let (a, b) = tokio::join!(
        set_new(&app, &acme.host, &token, NEW_PASSWORD, NEW_PASSWORD),
        set_new(&app, &acme.host, &token, NEW_PASSWORD, NEW_PASSWORD),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE]);
    let winner = if a.status() == StatusCode::SEE_OTHER { a } else { b };
    assert_eq!(
        location(&winner).as_deref(),
        Some("/auth/client-portal/signin?notice=password_reset")
    );

    // Used: the page says so; the old password and the old session are gone.
    let (status, _) = app.page(&acme.host, &path_of(&link), "").await;
    assert_eq!(status, StatusCode::GONE);
    let old = app.sign_in(&acme.host, "jane@globex.example", PASSWORD).await;
    assert!(location(&old).unwrap().contains("error=CredentialsSignin"));
    assert!(session_pair(&old).is_none());
    let new = app.sign_in(&acme.host, "jane@globex.example", NEW_PASSWORD).await;
    assert_eq!(location(&new).as_deref(), Some("/client-portal/dashboard"));
    assert!(session_pair(&new).is_some());
    let dashboard = app
        .get(&acme.host, "/client-portal/dashboard", Some(&old_session))
        .await;
    assert_eq!(dashboard.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        wait_for_audit(&app.db, acme.tenant, "password_reset.complete", 1).await,
        ["success"]
    );
}

/// The page without its per-visitor CSRF token.
fn strip_csrf(page: &str) -> String {
    match csrf_field(page) {
        Some(token) => page.replace(&token, ""),
        None => page.to_owned(),
    }
}

async fn a_new_link_replaces_the_old_and_links_expire(t: TestDb) {
    let smtp = SmtpReceiver::start();
    let app = start(t, &smtp).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam Staff",
    )
    .await;
    // Staff ask from their own page; a client page does not find them.
    let (_, _) = ask(
        &app,
        &acme.host,
        "/auth/client-portal/forgot-password",
        "sam@acme-it.example",
    )
    .await;
    wait_for_audit(&app.db, acme.tenant, "password_reset.request", 1).await;
    assert_eq!(
        audit_outcomes(&app.db, acme.tenant, "password_reset.request").await,
        ["no_account"]
    );

    ask(
        &app,
        &acme.host,
        "/auth/msp/forgot-password",
        "sam@acme-it.example",
    )
    .await;
    let first = smtp.wait_for("sam@acme-it.example", "Reset").await;
    ask(
        &app,
        &acme.host,
        "/auth/msp/forgot-password",
        "sam@acme-it.example",
    )
    .await;
    wait_for_audit(&app.db, acme.tenant, "password_reset.request", 3).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while smtp.to("sam@acme-it.example").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second mail did not arrive"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = smtp.to("sam@acme-it.example").pop().unwrap();
    let first_link = first.link_containing("set-new-password").unwrap();
    let second_link = second.link_containing("set-new-password").unwrap();
    assert_ne!(first_link, second_link);
    let (status, _) = app.page(&acme.host, &path_of(&first_link), "").await;
    assert_eq!(status, StatusCode::GONE, "asking again voids the earlier link");

    // Expired: the page says so and the form refuses.
    execute_sql(&app.db, "UPDATE password_resets SET expires_at = 1").await;
    let (status, page) = app.page(&acme.host, &path_of(&second_link), "").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains(r#"href="/auth/msp/forgot-password""#) || page.contains(r#"id="ask-again""#));
    let response = set_new(
        &app,
        &acme.host,
        &token_of(&second_link),
        NEW_PASSWORD,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(response.status(), StatusCode::GONE);
    let signin = app
        .sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
        .await;
    assert!(session_pair(&signin).is_some(), "the password is unchanged");

    // Malformed tokens are a clear "no longer works", never an error.
    for bad in ["", "x", "%00", &"A".repeat(5000)] {
        let response = set_new(&app, &acme.host, bad, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::GONE, "{bad:?}");
    }
}

async fn asking_is_limited_per_address(t: TestDb) {
    let smtp = SmtpReceiver::start();
    let app = start(t, &smtp).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    for _ in 0..5 {
        let (status, page) = ask(
            &app,
            &acme.host,
            "/auth/client-portal/forgot-password",
            "jane@globex.example",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"id="reset-sent""#));
    }
    wait_for_audit(&app.db, acme.tenant, "password_reset.request", 3).await;
    // The limited requests write nothing; give a wrongly spawned one time.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        audit_outcomes(&app.db, acme.tenant, "password_reset.request")
            .await
            .len(),
        3
    );
    let rows = fetch_i64(&app.db, "SELECT COUNT(*) FROM password_resets").await;
    assert_eq!(rows, 3);
}

async fn mail_waits_out_an_smtp_outage(t: TestDb) {
    let mut smtp = SmtpReceiver::start();
    let app = start(t, &smtp).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    smtp.stop();
    ask(
        &app,
        &acme.host,
        "/auth/client-portal/forgot-password",
        "jane@globex.example",
    )
    .await;
    // The attempt fails and is kept with its error.
    let mut failed = None;
    for _ in 0..400 {
        let rows = outbox::recent(&app.db, 10).await.unwrap();
        if let Some((mail, None)) = rows.into_iter().find(|(m, _)| m.attempts > 0) {
            failed = Some(mail);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let failed = failed.expect("a failed attempt recorded");
    assert_eq!(failed.to_address, "jane@globex.example");
    assert_eq!(outbox::pending(&app.db).await.unwrap(), 1);
    smtp.restart();
    // Due again now rather than after the back-off.
    execute_sql(&app.db, "UPDATE mail_outbox SET next_attempt_at = 0").await;
    let mail = smtp.wait_for("jane@globex.example", "Reset").await;
    assert!(mail.link_containing("set-new-password").is_some());
}

both_backends! {
    a_reset_link_arrives_by_mail_and_works_once => reset_by_mail;
    a_new_link_replaces_the_old_and_links_expire => a_new_link_replaces_the_old_and_links_expire;
    asking_is_limited_per_address => asking_is_limited_per_address;
    mail_waits_out_an_smtp_outage => mail_waits_out_an_smtp_outage;
}
