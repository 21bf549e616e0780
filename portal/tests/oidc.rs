//! Sign-in through a real OpenID provider (`oidc-provider` from npm, on
//! 127.0.0.1), on both backends: the provider added on the settings page
//! (discovery checked), its button on the sign-in page, the whole code
//! flow with PKCE, and the refusals — an unverified or missing
//! `email_verified`, no matching account, a callback carrying another
//! browser's `state`, no state at all — plus the ID-token checks on real
//! tokens: another client's audience, a wrong nonce, an expired token.

mod common;

use common::*;
use porta_core::db::{audit, oidc_providers, Db};
use porta_core::ids::TenantId;
use porta_core::secret::Secret;
use porta_core::user_type::UserType;
use porta_portal::oidc::{self, Discovery, Provider};
use porta_testkit::oidc::{OidcOptions, OidcProvider};
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const SETTINGS: &str = "/msp/settings/sign-in";

struct World {
    app: TestApp,
    idp: OidcProvider,
    tenant: TenantId,
    host: String,
    staff: String,
}

fn callback_uri(app: &TestApp, host: &str) -> String {
    format!("http://{host}:{}/auth/oidc/callback", app.addr.port())
}

async fn world(t: TestDb, ttl: u64) -> World {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let idp = OidcProvider::start(OidcOptions {
        redirect_uris: vec![callback_uri(&app, &acme.host)],
        id_token_ttl_seconds: ttl,
    })
    .await;
    let sam = user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam",
    )
    .await;
    with_role(&app.db, acme.tenant, sam, UserType::Internal, "Admin").await;
    let staff = session_pair(
        &app.sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    World {
        app,
        idp,
        tenant: acme.tenant,
        host: acme.host,
        staff,
    }
}

/// Adds the provider on the settings page (as staff would).
async fn add_provider(w: &World, label: &str, extra: &[(&str, &str)]) {
    let issuer = w.idp.issuer();
    let mut form = vec![
        ("preset", "generic"),
        ("issuer_url", issuer.as_str()),
        ("display_name", label),
        ("user_type", "client"),
        ("client_id", w.idp.client_id()),
        ("client_secret", w.idp.client_secret()),
    ];
    form.extend_from_slice(extra);
    let response = w
        .app
        .submit(
            &w.host,
            &format!("{SETTINGS}/providers"),
            &form,
            &w.staff,
            SETTINGS,
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/msp/settings/sign-in?notice=settings_saved")
    );
}

/// The href of the sign-in button labelled `label`.
async fn button(app: &TestApp, host: &str, label: &str) -> String {
    let page = app
        .get(host, "/auth/client-portal/signin", None)
        .await
        .text()
        .await
        .unwrap();
    let marker = format!(">Sign in with {label}</a>");
    let end = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {label} button: {page}"));
    let start = page[..end].rfind("href=\"").unwrap() + 6;
    let href = &page[start..end];
    href[..href.find('"').unwrap()].replace("&amp;", "&")
}

/// One browser's trip: the start (its cookie), and the callback URL the
/// provider sends it to after `account` logs in.
async fn start(w: &World, href: &str, account: &str) -> (String, String) {
    let started = w.app.get(&w.host, href, None).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(&started)
        .into_iter()
        .find(|c| c.starts_with("porta.oidc="))
        .expect("the round-trip cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let to = location(&started).unwrap();
    assert!(to.starts_with(&w.idp.issuer()), "{to}");
    assert!(to.contains("code_challenge_method=S256") && to.contains("nonce=") && to.contains("state="));
    let back = w.idp.authorize(&to, account).await;
    assert!(back.starts_with(&callback_uri(&w.app, &w.host)), "{back}");
    (cookie.split(';').next().unwrap().to_owned(), back)
}

async fn finish(w: &World, cookie: Option<&str>, back: &str) -> reqwest::Response {
    let url = reqwest::Url::parse(back).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap());
    w.app.get(&w.host, &path, cookie).await
}

async fn reasons(db: &Db, tenant: TenantId) -> Vec<String> {
    audit::recent(db, tenant, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "signin" && r.detail.as_deref().is_some_and(|d| d.contains("oidc")))
        .map(|r| format!("{}:{}", r.outcome, r.detail.unwrap_or_default()))
        .collect()
}

async fn signing_in_through_the_provider(t: TestDb) {
    let w = world(t, 600).await;
    user(
        &w.app.db,
        w.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    add_provider(&w, "Example SSO", &[]).await;
    let (_, settings) = w.app.page(&w.host, SETTINGS, &w.staff).await;
    assert!(
        settings.contains(&callback_uri(&w.app, &w.host)),
        "the redirect URI to register is shown"
    );
    let stored = oidc_providers::list(&w.app.db, w.tenant).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0].client_secret_encrypted).contains(w.idp.client_secret()));

    // dave's verified address is Jane's: he signs in as Jane.
    let href = button(&w.app, &w.host, "Example SSO").await;
    let (cookie, back) = start(&w, &href, "dave").await;
    let done = finish(&w, Some(&cookie), &back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", location(&done));
    assert_eq!(location(&done).as_deref(), Some("/client-portal/dashboard"));
    let session = session_pair(&done).expect("a session");
    assert!(
        set_cookies(&done).iter().any(|c| c.starts_with("porta.oidc=;")),
        "the round trip is forgotten"
    );
    let (status, page) = w.app.page(&w.host, "/client-portal/dashboard", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Jane Doe"));
    // The callback works once: the code is spent, the cookie gone.
    let again = finish(&w, Some(&cookie), &back).await;
    assert!(session_pair(&again).is_none());
    assert_eq!(
        location(&again).as_deref(),
        Some("/auth/client-portal/signin?error=OAuthSignin")
    );

    // alice has no account here and the provider creates none.
    let (cookie, back) = start(&w, &href, "alice").await;
    let refused = finish(&w, Some(&cookie), &back).await;
    assert_eq!(
        location(&refused).as_deref(),
        Some("/auth/client-portal/signin?error=OAuthAccountNotLinked")
    );
    assert!(session_pair(&refused).is_none());

    // bob's address is not verified; carol's provider says nothing.
    user(&w.app.db, w.tenant, "bob@example.test", UserType::Client, "Bob").await;
    user(
        &w.app.db,
        w.tenant,
        "carol@example.test",
        UserType::Client,
        "Carol",
    )
    .await;
    for account in ["bob", "carol"] {
        let (cookie, back) = start(&w, &href, account).await;
        let refused = finish(&w, Some(&cookie), &back).await;
        assert_eq!(
            location(&refused).as_deref(),
            Some("/auth/client-portal/signin?error=OAuthSignin"),
            "{account}"
        );
        assert!(session_pair(&refused).is_none(), "{account}");
    }
    let log = reasons(&w.app.db, w.tenant).await;
    assert_eq!(
        log.iter().filter(|r| r.contains("email_not_verified")).count(),
        2,
        "{log:?}"
    );
    assert!(log.iter().any(|r| r.starts_with("success:")));
    assert!(log.iter().any(|r| r.contains("no_account")));

    // A provider the tenant trusts with unverified addresses lets carol in
    // (a missing claim), never bob (an explicit false).
    add_provider(&w, "Trusted SSO", &[("trust_unverified_email", "on")]).await;
    let trusted = button(&w.app, &w.host, "Trusted SSO").await;
    let (cookie, back) = start(&w, &trusted, "carol").await;
    assert!(session_pair(&finish(&w, Some(&cookie), &back).await).is_some());
    let (cookie, back) = start(&w, &trusted, "bob").await;
    assert!(session_pair(&finish(&w, Some(&cookie), &back).await).is_none());
}

async fn a_callback_for_another_browser_is_refused(t: TestDb) {
    let w = world(t, 600).await;
    user(
        &w.app.db,
        w.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    add_provider(&w, "Example SSO", &[]).await;
    let href = button(&w.app, &w.host, "Example SSO").await;
    let (victim_cookie, _victim_back) = start(&w, &href, "dave").await;
    let (_attacker_cookie, attacker_back) = start(&w, &href, "dave").await;
    // The attacker's callback opened in the victim's browser.
    let swapped = finish(&w, Some(&victim_cookie), &attacker_back).await;
    assert_eq!(
        location(&swapped).as_deref(),
        Some("/auth/client-portal/signin?error=OAuthSignin")
    );
    assert!(session_pair(&swapped).is_none());
    // No cookie at all.
    let bare = finish(&w, None, &attacker_back).await;
    assert!(session_pair(&bare).is_none());
    let log = reasons(&w.app.db, w.tenant).await;
    assert!(log.iter().any(|r| r.contains("state_mismatch")), "{log:?}");
    assert!(log.iter().any(|r| r.contains("no_state")), "{log:?}");
}

async fn password_sign_in_can_be_turned_off_once_sso_serves(t: TestDb) {
    let w = world(t, 600).await;
    user(
        &w.app.db,
        w.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    let off = [("password_signin_staff", "on")];
    let refused = w.app.submit(&w.host, SETTINGS, &off, &w.staff, SETTINGS).await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "not without a provider"
    );
    add_provider(&w, "Example SSO", &[]).await;
    let saved = w.app.submit(&w.host, SETTINGS, &off, &w.staff, SETTINGS).await;
    assert_eq!(
        location(&saved).as_deref(),
        Some("/msp/settings/sign-in?notice=settings_saved")
    );
    let page = w
        .app
        .get(&w.host, "/auth/client-portal/signin", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in with Example SSO"));
    assert!(!page.contains(r#"id="signin-form""#), "no password form");
    let response = w.app.sign_in(&w.host, "jane@globex.example", PASSWORD).await;
    assert!(session_pair(&response).is_none());
    assert!(location(&response).unwrap().contains("error=PasswordSigninOff"));
    // Staff still have their password.
    assert!(session_pair(
        &w.app
            .sign_in_staff(&w.host, "sam@acme-it.example", PASSWORD)
            .await
    )
    .is_some());
}

/// A real ID token for `client`, and the nonce it carries.
async fn id_token_for(w: &World, client: (&str, &str), account: &str) -> (String, String) {
    let discovery = Discovery::default();
    let http = oidc::http_client();
    let secret = Secret::new(client.1);
    let redirect = callback_uri(&w.app, &w.host);
    let provider = Provider {
        issuer: &w.idp.issuer(),
        client_id: client.0,
        client_secret: &secret,
        redirect_uri: &redirect,
    };
    let (url, pending) = oidc::authorize(&discovery, &http, &provider).await.unwrap();
    let back = w.idp.authorize(&url, account).await;
    let code = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let completed = oidc::complete(&discovery, &http, &provider, &pending, &code)
        .await
        .unwrap();
    (completed.id_token.expose().to_owned(), pending.nonce)
}

async fn id_tokens_are_checked(t: TestDb) {
    // Five seconds: long enough to verify it fresh on a loaded machine
    // (expiry is whole seconds), short enough to wait out below.
    let w = world(t, 5).await;
    let secret = Secret::new(w.idp.client_secret());
    let redirect = callback_uri(&w.app, &w.host);
    let porta = Provider {
        issuer: &w.idp.issuer(),
        client_id: w.idp.client_id(),
        client_secret: &secret,
        redirect_uri: &redirect,
    };
    let discovery = Discovery::default();
    let http = oidc::http_client();
    let (token, nonce) = id_token_for(&w, (w.idp.client_id(), w.idp.client_secret()), "alice").await;
    oidc::verify_id_token(&discovery, &http, &porta, &token, &nonce)
        .await
        .expect("a fresh token of ours verifies");
    let wrong_nonce = oidc::verify_id_token(&discovery, &http, &porta, &token, "another-nonce").await;
    assert!(
        matches!(wrong_nonce, Err(oidc::OidcError::IdToken(ref e)) if e.contains("nonce")),
        "{wrong_nonce:?}"
    );

    let (theirs, their_nonce) = id_token_for(
        &w,
        (w.idp.other_client_id(), w.idp.other_client_secret()),
        "alice",
    )
    .await;
    let audience = oidc::verify_id_token(&discovery, &http, &porta, &theirs, &their_nonce).await;
    assert!(
        matches!(audience, Err(oidc::OidcError::IdToken(ref e)) if e.to_lowercase().contains("audience")),
        "{audience:?}"
    );

    // One character in the middle of the signature (the last one may
    // only hold padding bits).
    let mut flipped = token.clone().into_bytes();
    let at = token.rfind('.').unwrap() + 10;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert!(
        oidc::verify_id_token(&discovery, &http, &porta, &flipped, &nonce)
            .await
            .is_err(),
        "a bad signature"
    );

    // Wait the token's life out (the provider's clock is this machine's).
    tokio::time::sleep(std::time::Duration::from_millis(6100)).await;
    let expired = oidc::verify_id_token(&discovery, &http, &porta, &token, &nonce).await;
    assert!(
        matches!(expired, Err(oidc::OidcError::IdToken(ref e)) if e.to_lowercase().contains("expire")),
        "{expired:?}"
    );
}

both_backends! {
    signing_in_through_the_provider => signing_in_through_the_provider;
    a_callback_for_another_browser_is_refused => a_callback_for_another_browser_is_refused;
    password_sign_in_can_be_turned_off_once_sso_serves => password_sign_in_can_be_turned_off_once_sso_serves;
    id_tokens_are_checked => id_tokens_are_checked;
}
