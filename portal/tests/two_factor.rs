//! TOTP two-factor authentication end to end over HTTP, on both backends:
//! enrolment from the profile (the secret read from the page, codes
//! computed here), the second sign-in step and what it refuses (a skipped
//! step, a forged or foreign state, a replayed code, a reused recovery
//! code, the limits), turning it off, and enrolment forced by the tenant.

mod common;

use common::*;
use porta_core::db::tenants::{self, SignInPolicy};
use porta_core::db::Db;
use porta_core::ids::TenantId;
use porta_core::totp::{TotpSecret, STEP_SECONDS};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const JANE: &str = "jane@globex.example";

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code of the step `offset` steps from now.
fn code(secret: &TotpSecret, offset: i64) -> String {
    let at = now_seconds() as i64 + offset * STEP_SECONDS as i64;
    secret.code_at(at as u64)
}

fn text_between<'a>(page: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = page.find(start)? + start.len();
    let to = page[from..].find(end)?;
    Some(&page[from..from + to])
}

fn secret_of(page: &str) -> TotpSecret {
    let text = text_between(page, r#"id="totp-secret">"#, "<").expect("the secret as text");
    TotpSecret::from_base32(text).unwrap()
}

fn recovery_codes_of(page: &str) -> Vec<String> {
    let list = text_between(page, r#"id="recovery-codes">"#, "</ol>").expect("the codes");
    list.split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect()
}

/// Enrols `JANE` from her profile; returns the secret and recovery codes.
async fn enrol(app: &TestApp, host: &str, cookie: &str) -> (TotpSecret, Vec<String>) {
    let (status, page) = app.page(host, "/client-portal/profile/two-factor", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<svg role="img""#), "an inline SVG QR code");
    assert!(page.contains("otpauth://totp/Acme%20IT:jane%40globex.example?secret="));
    let secret = secret_of(&page);
    // Reloading shows the same secret.
    let (_, again) = app.page(host, "/client-portal/profile/two-factor", cookie).await;
    assert_eq!(secret_of(&again), secret);

    let wrong = app
        .submit(
            host,
            "/client-portal/profile/two-factor",
            &[("code", "000000")],
            cookie,
            "/client-portal/profile/two-factor",
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.unwrap().contains(r#"id="enrol-error""#));
    let right = app
        .submit(
            host,
            "/client-portal/profile/two-factor",
            &[("code", &code(&secret, 0))],
            cookie,
            "/client-portal/profile/two-factor",
        )
        .await;
    assert_eq!(right.status(), StatusCode::OK);
    let codes = recovery_codes_of(&right.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    let (_, profile) = app.page(host, "/client-portal/profile", cookie).await;
    assert!(profile.contains("10 of 10 recovery codes left"), "{profile}");
    (secret, codes)
}

/// The password step: returns the second-step cookie (`name=value`).
async fn password_step(app: &TestApp, host: &str) -> String {
    let response = app.sign_in(host, JANE, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/auth/second-step"));
    assert!(
        session_pair(&response).is_none(),
        "no session before the second step"
    );
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("porta.second-step="))
        .expect("the second-step state");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

/// Posts a code to the second step with the state `state`.
async fn second_step(app: &TestApp, host: &str, state: &str, code: &str) -> reqwest::Response {
    let (csrf_cookie, token) = app.anonymous_csrf(host).await;
    app.http
        .post(app.url("/auth/second-step"))
        .header("host", host)
        .header("origin", app.origin(host))
        .header("cookie", format!("{csrf_cookie}; {state}"))
        .form(&[("code", code), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn signin_rows(db: &Db, tenant: TenantId) -> Vec<(String, Option<String>)> {
    porta_core::db::audit::recent(db, tenant, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "signin" || r.action.starts_with("2fa."))
        .map(|r| (format!("{}:{}", r.action, r.outcome), r.detail))
        .collect()
}

async fn enrol_then_sign_in_with_codes(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let first = app.session_cookie(&acme.host, JANE).await;
    let (secret, recovery) = enrol(&app, &acme.host, &first).await;

    // The password alone no longer signs in; the pages stay closed.
    let state = password_step(&app, &acme.host).await;
    let dashboard = app
        .get(&acme.host, "/client-portal/dashboard", Some(&state))
        .await;
    assert_eq!(dashboard.status(), StatusCode::SEE_OTHER);
    assert!(location(&dashboard)
        .unwrap()
        .starts_with("/auth/client-portal/signin"));
    let (status, page) = app.page(&acme.host, "/auth/second-step", &state).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="second-form""#));

    // The enrolment used this step's code: the next step's works, once.
    let next_code = code(&secret, 1);
    let passed = second_step(&app, &acme.host, &state, &next_code).await;
    assert_eq!(passed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&passed).as_deref(), Some("/client-portal/dashboard"));
    let session = session_pair(&passed).expect("a session after the second step");
    assert!(
        set_cookies(&passed)
            .iter()
            .any(|c| c.starts_with("porta.second-step=;")),
        "the state is cleared"
    );
    let (status, _) = app.page(&acme.host, "/client-portal/dashboard", &session).await;
    assert_eq!(status, StatusCode::OK);

    let state = password_step(&app, &acme.host).await;
    let replay = second_step(&app, &acme.host, &state, &next_code).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(session_pair(&replay).is_none());
    assert!(replay.text().await.unwrap().contains(r#"id="second-error""#));
    // An older code is refused as well.
    let older = second_step(&app, &acme.host, &state, &code(&secret, 0)).await;
    assert_eq!(older.status(), StatusCode::BAD_REQUEST);

    // A recovery code works once, in any case and spacing.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let with_recovery = second_step(&app, &acme.host, &state, &typed).await;
    assert_eq!(with_recovery.status(), StatusCode::SEE_OTHER);
    assert!(session_pair(&with_recovery).is_some());
    let state = password_step(&app, &acme.host).await;
    let reused = second_step(&app, &acme.host, &state, &recovery[3]).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let (_, profile) = app.page(&acme.host, "/client-portal/profile", &session).await;
    assert!(profile.contains("9 of 10 recovery codes left"));

    let rows = signin_rows(&app.db, acme.tenant).await;
    let outcomes: Vec<&str> = rows.iter().map(|(o, _)| o.as_str()).collect();
    assert!(outcomes.contains(&"2fa.enable:success"));
    assert!(outcomes.contains(&"2fa.recovery_code_used:success"));
    assert!(
        rows.iter()
            .any(|(o, d)| o == "signin:failure" && d.as_deref().is_some_and(|d| d.contains("replayed_code"))),
        "{rows:?}"
    );
    for (_, detail) in &rows {
        let detail = detail.as_deref().unwrap_or_default();
        assert!(
            !detail.contains(&next_code) && !detail.contains(&recovery[3]),
            "no code in the audit log"
        );
    }
}

async fn the_state_cannot_be_forged_moved_or_kept(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let beta = tenant(&app.db, "beta", "Beta IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let first = app.session_cookie(&acme.host, JANE).await;
    let (secret, _) = enrol(&app, &acme.host, &first).await;
    let state = password_step(&app, &acme.host).await;

    // Without the state, a tampered one, or on another tenant: start over.
    let (name, value) = state.split_once('=').unwrap();
    let (payload, tag) = value.split_once('.').unwrap();
    let mut flipped = payload.to_owned().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{name}={}.{tag}", String::from_utf8(flipped).unwrap());
    for (host, cookie) in [
        (&acme.host, "porta.second-step=".to_owned()),
        (&acme.host, tampered),
        (&acme.host, format!("{name}=garbage")),
        (&beta.host, state.clone()),
    ] {
        let response = second_step(&app, host, &cookie, &code(&secret, 1)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie}");
        assert_eq!(
            location(&response).as_deref(),
            Some("/auth/client-portal/signin?error=SecondStepExpired")
        );
        assert!(session_pair(&response).is_none());
    }
}

async fn wrong_codes_hit_the_account_limit(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let first = app.session_cookie(&acme.host, JANE).await;
    let (secret, _) = enrol(&app, &acme.host, &first).await;
    let state = password_step(&app, &acme.host).await;
    for _ in 0..5 {
        let response = second_step(&app, &acme.host, &state, "123456").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Locked from this address: even the right code waits.
    let locked = second_step(&app, &acme.host, &state, &code(&secret, 1)).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    assert!(session_pair(&locked).is_none());
}

async fn turning_it_off_needs_the_password_and_a_code(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let session = app.session_cookie(&acme.host, JANE).await;
    let (secret, _) = enrol(&app, &acme.host, &session).await;
    let profile = "/client-portal/profile";
    let disable = "/client-portal/profile/two-factor/disable";
    let bad_password = app
        .submit(
            &acme.host,
            disable,
            &[("password", "nope nope nope"), ("code", &code(&secret, 1))],
            &session,
            profile,
        )
        .await;
    assert_eq!(
        location(&bad_password).as_deref(),
        Some("/client-portal/profile?tfa_error=password#two-factor")
    );
    let bad_code = app
        .submit(
            &acme.host,
            disable,
            &[("password", PASSWORD), ("code", "999999")],
            &session,
            profile,
        )
        .await;
    assert_eq!(
        location(&bad_code).as_deref(),
        Some("/client-portal/profile?tfa_error=code#two-factor")
    );
    let (_, page) = app
        .page(&acme.host, "/client-portal/profile?tfa_error=code", &session)
        .await;
    assert!(page.contains(r#"id="two-factor-error""#));
    let off = app
        .submit(
            &acme.host,
            disable,
            &[("password", PASSWORD), ("code", &code(&secret, 1))],
            &session,
            profile,
        )
        .await;
    assert_eq!(
        location(&off).as_deref(),
        Some("/client-portal/profile?notice=two_factor_disabled#two-factor")
    );
    // The password alone signs in again.
    let again = app.sign_in(&acme.host, JANE, PASSWORD).await;
    assert_eq!(location(&again).as_deref(), Some("/client-portal/dashboard"));
    assert!(session_pair(&again).is_some());
}

async fn a_tenant_that_requires_it_has_users_enrol_at_sign_in(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    tenants::set_signin_policy(
        &app.db,
        acme.tenant,
        &SignInPolicy {
            require_2fa_clients: true,
            require_2fa_staff: false,
            password_signin_clients: true,
            password_signin_staff: true,
        },
    )
    .await
    .unwrap();
    let state = password_step(&app, &acme.host).await;
    let (status, page) = app.page(&acme.host, "/auth/second-step", &state).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="enrol-required""#));
    let secret = secret_of(&page);
    let wrong = second_step(&app, &acme.host, &state, "000000").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(session_pair(&wrong).is_none());
    let done = second_step(&app, &acme.host, &state, &code(&secret, 0)).await;
    assert_eq!(done.status(), StatusCode::OK);
    let session = session_pair(&done).expect("signed in once enrolled");
    let page = done.text().await.unwrap();
    assert_eq!(recovery_codes_of(&page).len(), 10);
    assert!(
        page.contains(r#"href="/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard""#),
        "{page}"
    );
    let (status, _) = app.page(&acme.host, "/client-portal/dashboard", &session).await;
    assert_eq!(status, StatusCode::OK);
    // Staff of the same tenant are not asked.
    user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam",
    )
    .await;
    let staff = app
        .sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
        .await;
    assert_eq!(location(&staff).as_deref(), Some("/msp"));
}

both_backends! {
    enrol_then_sign_in_with_codes => enrol_then_sign_in_with_codes;
    the_state_cannot_be_forged_moved_or_kept => the_state_cannot_be_forged_moved_or_kept;
    wrong_codes_hit_the_account_limit => wrong_codes_hit_the_account_limit;
    turning_it_off_needs_the_password_and_a_code => turning_it_off_needs_the_password_and_a_code;
    a_tenant_that_requires_it_has_users_enrol_at_sign_in => a_tenant_that_requires_it_has_users_enrol_at_sign_in;
}
