//! Invitations through a real SMTP server, on both backends: a client
//! Admin and staff invite, the mailed link sets up the account (with the
//! roles the invitation named) and signs in, once; resend voids the old
//! link, revoke kills it; a reset token is no invitation; a tenant that
//! requires two-factor has it enrolled on the setup page; staff reset a
//! contact's second factor.

mod common;

use common::*;
use porta_core::db::tenants::{self, SignInPolicy};
use porta_core::db::{clients, roles, two_factor, users, Db};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, TenantId};
use porta_core::totp::TotpSecret;
use porta_core::user_type::UserType;
use porta_testkit::smtp::SmtpReceiver;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const ADMIN: &str = "ada@globex.example";
const NEWCOMER: &str = "nora@globex.example";
const NEW_PASSWORD: &str = "violet tundra kettle marmalade";

struct World {
    app: TestApp,
    smtp: SmtpReceiver,
    tenant: TenantId,
    host: String,
    globex: ClientId,
}

async fn world(t: TestDb) -> World {
    let smtp = SmtpReceiver::start();
    let env = smtp.env();
    let app = TestApp::start_with(t, &smtp_vars(&env)).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let ada = user(&app.db, acme.tenant, ADMIN, UserType::Client, "Ada Admin").await;
    with_role(&app.db, acme.tenant, ada, UserType::Client, "Admin").await;
    let globex = clients::find_by_name(&app.db, acme.tenant, "Globex Corporation")
        .await
        .unwrap()
        .unwrap()
        .id;
    World {
        app,
        smtp,
        tenant: acme.tenant,
        host: acme.host,
        globex,
    }
}

async fn role_id(db: &Db, tenant: TenantId, name: &str) -> String {
    roles::find_by_name(db, tenant, UserType::Client, name)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// The Admin invites `NEWCOMER` as Finance; returns the mailed link's path.
async fn admin_invites(w: &World, cookie: &str) -> String {
    let finance = role_id(&w.app.db, w.tenant, "Finance").await;
    let response = w
        .app
        .submit(
            &w.host,
            "/client-portal/account/invitations",
            &[
                ("display_name", "Nora Newcomer"),
                ("email", NEWCOMER),
                ("role", &finance),
            ],
            cookie,
            "/client-portal/account",
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/client-portal/account?notice=user_invited")
    );
    let mail = w
        .smtp
        .wait_for(NEWCOMER, "Ada Admin invited you to the Acme IT client portal")
        .await;
    assert!(mail.text.contains("Globex Corporation"));
    let link = mail
        .link_containing("/auth/portal/setup?token=")
        .expect("the setup link");
    assert!(
        link.starts_with(&format!("http://{}:{}/", w.host, w.app.addr.port())),
        "{link}"
    );
    path_of(&link)
}

fn path_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_owned()
}

async fn set_up(app: &TestApp, host: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (cookie, csrf) = app.anonymous_csrf(host).await;
    let mut form = fields.to_vec();
    form.push(("csrf_token", &csrf));
    app.http
        .post(app.url("/auth/portal/setup"))
        .header("host", host)
        .header("origin", app.origin(host))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn an_admin_invites_and_the_link_sets_up_the_account_once(t: TestDb) {
    let w = world(t).await;
    let admin = w.app.session_cookie(&w.host, ADMIN).await;
    let path = admin_invites(&w, &admin).await;
    let token = token_of(&path);

    let (status, page) = w.app.page(&w.host, &path, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ada Admin invited you") && page.contains("Globex Corporation"));
    assert!(page.contains(&format!(r#"value="{NEWCOMER}""#)));
    assert!(
        !page.contains(r#"id="setup-two-factor""#),
        "not required by this tenant"
    );

    let weak = set_up(
        &w.app,
        &w.host,
        &[
            ("token", &token),
            ("display_name", "Nora"),
            ("new", "password123"),
            ("confirm", "password123"),
        ],
    )
    .await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(weak.text().await.unwrap().contains(r#"id="setup-error""#));
    let differ = set_up(
        &w.app,
        &w.host,
        &[
            ("token", &token),
            ("display_name", "Nora"),
            ("new", NEW_PASSWORD),
            ("confirm", "x"),
        ],
    )
    .await;
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);

    let fields = [
        ("token", token.as_str()),
        ("display_name", "Nora N."),
        ("new", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ];
    let (a, b) = tokio::join!(set_up(&w.app, &w.host, &fields), set_up(&w.app, &w.host, &fields));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::SEE_OTHER, StatusCode::GONE],
        "one tab wins"
    );
    let winner = if a.status() == StatusCode::SEE_OTHER { a } else { b };
    assert_eq!(location(&winner).as_deref(), Some("/client-portal/dashboard"));
    let session = session_pair(&winner).expect("signed in");
    let (status, dashboard) = w.app.page(&w.host, "/client-portal/dashboard", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("Nora N."));

    // The account has the invitation's company and roles, and the password.
    let email = EmailAddress::parse(NEWCOMER).unwrap();
    let creds = users::find_credentials(&w.app.db, w.tenant, &email, UserType::Client)
        .await
        .unwrap()
        .unwrap();
    let profile = users::profile(&w.app.db, w.tenant, creds.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.client_id, Some(w.globex));
    let grants = roles::grants(&w.app.db, w.tenant, creds.id).await.unwrap();
    assert_eq!(grants.roles, ["Finance"]);
    let again = w.app.sign_in(&w.host, NEWCOMER, NEW_PASSWORD).await;
    assert!(session_pair(&again).is_some());

    // Used: the link says so, the Admin sees it accepted.
    let (status, page) = w.app.page(&w.host, &path, "").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains(r#"id="invitation-gone""#));
    let (_, account) = w.app.page(&w.host, "/client-portal/account", &admin).await;
    assert!(account.contains("Accepted"));
    let audit = porta_core::db::audit::recent(&w.app.db, w.tenant, 50)
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|r| r.action == "invitation.accept" && r.outcome == "success"));
    assert!(audit
        .iter()
        .all(|r| !r.detail.as_deref().unwrap_or_default().contains(&token)));
}

async fn resend_replaces_and_revoke_kills_the_link(t: TestDb) {
    let w = world(t).await;
    let admin = w.app.session_cookie(&w.host, ADMIN).await;
    let first = admin_invites(&w, &admin).await;
    let id = porta_core::db::invitations::of_client(&w.app.db, w.tenant, w.globex)
        .await
        .unwrap()[0]
        .id;
    let resent = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/account/invitations/{id}/resend"),
            &[],
            &admin,
            "/client-portal/account",
        )
        .await;
    assert_eq!(
        location(&resent).as_deref(),
        Some("/client-portal/account?notice=invitation_resent")
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w.smtp.to(NEWCOMER).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second mail");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = path_of(
        &w.smtp
            .to(NEWCOMER)
            .pop()
            .unwrap()
            .link_containing("/auth/portal/setup")
            .unwrap(),
    );
    assert_ne!(first, second);
    assert_eq!(w.app.page(&w.host, &first, "").await.0, StatusCode::GONE);
    assert_eq!(w.app.page(&w.host, &second, "").await.0, StatusCode::OK);

    // A reset token is no invitation, and an invitation no reset token.
    let as_reset = format!(
        "/auth/password-reset/set-new-password?token={}",
        token_of(&second)
    );
    assert_eq!(w.app.page(&w.host, &as_reset, "").await.0, StatusCode::GONE);
    // Another tenant's host does not know it.
    let beta = tenant(&w.app.db, "beta", "Beta IT").await;
    assert_eq!(w.app.page(&beta.host, &second, "").await.0, StatusCode::GONE);

    let revoked = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/account/invitations/{id}/revoke"),
            &[],
            &admin,
            "/client-portal/account",
        )
        .await;
    assert_eq!(
        location(&revoked).as_deref(),
        Some("/client-portal/account?notice=invitation_revoked")
    );
    assert_eq!(w.app.page(&w.host, &second, "").await.0, StatusCode::GONE);
    let late = set_up(
        &w.app,
        &w.host,
        &[
            ("token", &token_of(&second)),
            ("display_name", "Nora"),
            ("new", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(late.status(), StatusCode::GONE);
    let email = EmailAddress::parse(NEWCOMER).unwrap();
    assert!(
        users::find_credentials(&w.app.db, w.tenant, &email, UserType::Client)
            .await
            .unwrap()
            .is_none()
    );
    // Resending a revoked invitation is not found.
    let again = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/account/invitations/{id}/resend"),
            &[],
            &admin,
            "/client-portal/account",
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

fn secret_of(page: &str) -> TotpSecret {
    let start = page.find(r#"id="totp-secret">"#).unwrap() + r#"id="totp-secret">"#.len();
    let end = page[start..].find('<').unwrap();
    TotpSecret::from_base32(&page[start..start + end]).unwrap()
}

fn enrolment_field(page: &str) -> String {
    let marker = r#"name="enrolment" value=""#;
    let start = page.find(marker).unwrap() + marker.len();
    let end = page[start..].find('"').unwrap();
    page[start..start + end].to_owned()
}

async fn staff_invite_with_two_factor_required_and_reset_it(t: TestDb) {
    let w = world(t).await;
    let sam = user(
        &w.app.db,
        w.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam Staff",
    )
    .await;
    with_role(&w.app.db, w.tenant, sam, UserType::Internal, "Admin").await;
    user(
        &w.app.db,
        w.tenant,
        "tess@acme-it.example",
        UserType::Internal,
        "Tess Tech",
    )
    .await;
    tenants::set_signin_policy(
        &w.app.db,
        w.tenant,
        &SignInPolicy {
            require_2fa_clients: true,
            require_2fa_staff: false,
            password_signin_clients: true,
            password_signin_staff: true,
        },
    )
    .await
    .unwrap();
    let staff = session_pair(
        &w.app
            .sign_in_staff(&w.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let page = format!("/msp/clients/{}", w.globex);
    let (status, html) = w.app.page(&w.host, &page, &staff).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(ADMIN), "the contacts are listed");
    let user_role = role_id(&w.app.db, w.tenant, "User").await;
    let invited = w
        .app
        .submit(
            &w.host,
            &format!("{page}/invitations"),
            &[
                ("display_name", "Nora Newcomer"),
                ("email", NEWCOMER),
                ("role", &user_role),
            ],
            &staff,
            &page,
        )
        .await;
    assert_eq!(location(&invited), Some(format!("{page}?notice=user_invited")));
    let mail = w.smtp.wait_for(NEWCOMER, "Sam Staff invited you").await;
    let path = path_of(&mail.link_containing("/auth/portal/setup").unwrap());
    let token = token_of(&path);

    let (status, setup) = w.app.page(&w.host, &path, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(setup.contains(r#"id="setup-two-factor""#) && setup.contains("<svg"));
    let secret = secret_of(&setup);
    let state = enrolment_field(&setup);
    let base = [
        ("token", token.as_str()),
        ("display_name", "Nora"),
        ("new", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
        ("enrolment", state.as_str()),
    ];
    let mut wrong = base.to_vec();
    wrong.push(("code", "000000"));
    let refused = set_up(&w.app, &w.host, &wrong).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused_page = refused.text().await.unwrap();
    assert_eq!(
        secret_of(&refused_page),
        secret,
        "the same secret is offered again"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = secret.code_at(now);
    let mut right = base.to_vec();
    right.push(("code", &code));
    let done = set_up(&w.app, &w.host, &right).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(session_pair(&done).is_some());
    assert!(done.text().await.unwrap().contains(r#"id="recovery-codes""#));
    let email = EmailAddress::parse(NEWCOMER).unwrap();
    let nora = users::find_credentials(&w.app.db, w.tenant, &email, UserType::Client)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(two_factor::get(&w.app.db, w.tenant, nora)
        .await
        .unwrap()
        .enabled());
    // Signing in now asks for the second step.
    let signin = w.app.sign_in(&w.host, NEWCOMER, NEW_PASSWORD).await;
    assert_eq!(location(&signin).as_deref(), Some("/auth/second-step"));

    // A Technician may not reset it; an Admin may, and it is audited.
    let reset = format!("{page}/contacts/{nora}/reset-two-factor");
    let tess = session_pair(
        &w.app
            .sign_in_staff(&w.host, "tess@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let denied = w.app.submit(&w.host, &reset, &[], &tess, "/msp/profile").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert!(two_factor::get(&w.app.db, w.tenant, nora)
        .await
        .unwrap()
        .enabled());
    let done = w.app.submit(&w.host, &reset, &[], &staff, &page).await;
    assert_eq!(location(&done), Some(format!("{page}?notice=two_factor_reset")));
    assert!(!two_factor::get(&w.app.db, w.tenant, nora)
        .await
        .unwrap()
        .enabled());
    let audit = porta_core::db::audit::recent(&w.app.db, w.tenant, 50)
        .await
        .unwrap();
    let row = audit.iter().find(|r| r.action == "2fa.reset").expect("audited");
    assert_eq!(row.subject.as_deref(), Some(NEWCOMER));
    // Another tenant's staff cannot reach this company.
    let beta = tenant(&w.app.db, "beta", "Beta IT").await;
    user(
        &w.app.db,
        beta.tenant,
        "bo@beta.example",
        UserType::Internal,
        "Bo",
    )
    .await;
    let bo = session_pair(&w.app.sign_in_staff(&beta.host, "bo@beta.example", PASSWORD).await).unwrap();
    let (status, body) = w.app.page(&beta.host, &page, &bo).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(ADMIN));
}

both_backends! {
    an_admin_invites_and_the_link_sets_up_the_account_once => an_admin_invites_and_the_link_sets_up_the_account_once;
    resend_replaces_and_revoke_kills_the_link => resend_replaces_and_revoke_kills_the_link;
    staff_invite_with_two_factor_required_and_reset_it => staff_invite_with_two_factor_required_and_reset_it;
}
