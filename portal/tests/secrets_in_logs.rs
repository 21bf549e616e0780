//! Nothing secret is logged, at any level: every flow that handles a
//! secret runs with a subscriber that records everything down to TRACE
//! (porta's own spans and events, sqlx's statements, hyper's, the `log`
//! records of the rest), and afterwards none of the secrets it used is in
//! what was recorded: passwords (old and new), session cookies, the reset
//! token, the invitation token, the TOTP secret, its codes and recovery
//! codes, the second-step state.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use porta_core::db::{clients, roles, Db};
use porta_core::ids::TenantId;
use porta_core::totp::{TotpSecret, STEP_SECONDS};
use porta_core::user_type::UserType;
use porta_testkit::smtp::SmtpReceiver;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

both_backends! {
    no_secret_of_any_flow_is_logged_at_trace => every_flow;
}

const JANE: &str = "jane@globex.example";
const ADA: &str = "ada@globex.example";
const NORA: &str = "nora@globex.example";
const NEW_PASSWORD: &str = "violet tundra kettle marmalade";
const NORA_PASSWORD: &str = "amber lantern orchard quartz";

/// Everything logged in this test process.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Installs the TRACE subscriber once for the process; returns the capture.
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(capture.clone())
                .try_init()
                .expect("the only subscriber of this test binary");
            capture
        })
        .clone()
}

fn logged(capture: &Capture) -> String {
    String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned()
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn text_between<'a>(page: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = page.find(start)? + start.len();
    let to = page[from..].find(end)?;
    Some(&page[from..from + to])
}

fn path_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_in(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// Posts `fields` to `path` as an anonymous visitor's page would.
async fn post_anonymous(
    app: &TestApp,
    host: &str,
    path: &str,
    fields: &[(&str, &str)],
    extra_cookie: Option<&str>,
) -> reqwest::Response {
    let (cookie, csrf) = app.anonymous_csrf(host).await;
    let cookie = match extra_cookie {
        Some(extra) => format!("{cookie}; {extra}"),
        None => cookie,
    };
    let mut form = fields.to_vec();
    form.push(("csrf_token", &csrf));
    app.http
        .post(app.url(path))
        .header("host", host)
        .header("origin", app.origin(host))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn value_of(pair: &str) -> String {
    pair.split_once('=').expect("name=value").1.to_owned()
}

async fn role_id(db: &Db, tenant: TenantId, name: &str) -> String {
    roles::find_by_name(db, tenant, UserType::Client, name)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

async fn every_flow(t: TestDb) {
    let capture = capture();
    let smtp = SmtpReceiver::start();
    let env = smtp.env();
    let app = TestApp::start_with(t, &smtp_vars(&env)).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let host = acme.host.clone();
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let ada = user(&app.db, acme.tenant, ADA, UserType::Client, "Ada Admin").await;
    with_role(&app.db, acme.tenant, ada, UserType::Client, "Admin").await;
    assert!(clients::find_by_name(&app.db, acme.tenant, "Globex Corporation")
        .await
        .unwrap()
        .is_some());
    let mut secrets: Vec<(&str, String)> = vec![("password", PASSWORD.to_owned())];

    // Sign-in: the session.
    let jane_session = app.session_cookie(&host, JANE).await;
    secrets.push(("session", value_of(&jane_session)));

    // Reset by mail: the token, the new password, the new session.
    let asked = post_anonymous(
        &app,
        &host,
        "/auth/client-portal/forgot-password",
        &[("email", JANE)],
        None,
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let mail = smtp.wait_for(JANE, "Reset your Acme IT portal password").await;
    let link = mail
        .link_containing("/auth/password-reset/set-new-password")
        .expect("the reset link");
    let reset_token = token_in(&link);
    secrets.push(("reset token", reset_token.clone()));
    let (status, _) = app.page(&host, &path_of(&link), "").await;
    assert_eq!(status, StatusCode::OK);
    let set = post_anonymous(
        &app,
        &host,
        "/auth/password-reset/set-new-password",
        &[
            ("token", &reset_token),
            ("new", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER, "the new password is set");
    secrets.push(("new password", NEW_PASSWORD.to_owned()));
    let signed_in = app.sign_in(&host, JANE, NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let jane_session = session_pair(&signed_in).expect("a session with the new password");
    secrets.push(("session after reset", value_of(&jane_session)));

    // TOTP: the secret, a code, the recovery codes, the second-step state.
    let (status, page) = app
        .page(&host, "/client-portal/profile/two-factor", &jane_session)
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret_text = text_between(&page, r#"id="totp-secret">"#, "<")
        .expect("the secret")
        .to_owned();
    let secret = TotpSecret::from_base32(&secret_text).unwrap();
    secrets.push(("TOTP secret", secret_text.replace(' ', "")));
    let code = secret.code_at(now_seconds());
    let enrolled = app
        .submit(
            &host,
            "/client-portal/profile/two-factor",
            &[("code", &code)],
            &jane_session,
            "/client-portal/profile/two-factor",
        )
        .await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    let page = enrolled.text().await.unwrap();
    let list = text_between(&page, r#"id="recovery-codes">"#, "</ol>").expect("the codes");
    for recovery in list.split("<code>").skip(1) {
        secrets.push((
            "recovery code",
            recovery.split("</code>").next().unwrap().to_owned(),
        ));
    }
    let step = app.sign_in(&host, JANE, NEW_PASSWORD).await;
    assert_eq!(location(&step).as_deref(), Some("/auth/second-step"));
    let state = set_cookies(&step)
        .into_iter()
        .find(|c| c.starts_with("porta.second-step="))
        .expect("the second-step state");
    let state = state.split(';').next().unwrap().to_owned();
    secrets.push(("second-step state", value_of(&state)));
    let next_code = secret.code_at(now_seconds() + STEP_SECONDS);
    let passed = post_anonymous(
        &app,
        &host,
        "/auth/second-step",
        &[("code", &next_code)],
        Some(&state),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::SEE_OTHER);
    let session = session_pair(&passed).expect("a session after the second step");
    secrets.push(("session after TOTP", value_of(&session)));

    // An invitation: the token, the newcomer's password and session.
    let admin = app.session_cookie(&host, ADA).await;
    secrets.push(("admin session", value_of(&admin)));
    let finance = role_id(&app.db, acme.tenant, "Finance").await;
    let invited = app
        .submit(
            &host,
            "/client-portal/account/invitations",
            &[
                ("display_name", "Nora Newcomer"),
                ("email", NORA),
                ("role", &finance),
            ],
            &admin,
            "/client-portal/account",
        )
        .await;
    assert_eq!(
        location(&invited).as_deref(),
        Some("/client-portal/account?notice=user_invited")
    );
    let mail = smtp
        .wait_for(NORA, "Ada Admin invited you to the Acme IT client portal")
        .await;
    let link = mail
        .link_containing("/auth/portal/setup?token=")
        .expect("the setup link");
    let invitation = token_in(&link);
    secrets.push(("invitation token", invitation.clone()));
    let set_up = post_anonymous(
        &app,
        &host,
        "/auth/portal/setup",
        &[
            ("token", &invitation),
            ("display_name", "Nora"),
            ("new", NORA_PASSWORD),
            ("confirm", NORA_PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(set_up.status(), StatusCode::SEE_OTHER);
    secrets.push(("newcomer password", NORA_PASSWORD.to_owned()));
    secrets.push((
        "newcomer session",
        value_of(&session_pair(&set_up).expect("the newcomer's session")),
    ));

    let log = logged(&capture);
    assert!(
        log.lines().any(|l| l.contains("TRACE")) && log.contains("/auth/portal/setup"),
        "the capture records everything down to TRACE"
    );
    for (what, secret) in &secrets {
        assert!(secret.len() >= 6, "{what} looks wrong: {secret:?}");
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(secret.as_str())).collect();
        assert!(hits.is_empty(), "the {what} is in the log:\n{}", hits.join("\n"));
    }
}
