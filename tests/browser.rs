//! The portal in a real browser: headless Chromium driven through
//! chromedriver (WebDriver, fantoccini) against `porta up` on SQLite, over
//! HTTPS through the edge, on the canonical host and the demo tenant's
//! custom domain.
//!
//! One chromedriver and one `porta up` serve every test of this binary
//! (see `common::browser`); each test has its own browser sessions and its
//! own demo users, so the tests can run side by side: Jane Doe and Alex
//! Admin (tickets, and the pages only looked at), Milton Waddams (password
//! reset), Peter Gibbons (two-factor enrolment).
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver`,
//! which `scripts/test` installs; when they are missing these tests fail
//! (they never skip).

mod common;

#[path = "browser/screens.rs"]
mod screens;

#[path = "browser/languages.rs"]
mod languages;

use std::time::{SystemTime, UNIX_EPOCH};

use common::browser::{
    bell_count, bounded, click, count, element, hidden, shared, shoot, sign_in, text, tiny_png, type_into,
    wait_for_mail, wait_for_url, wait_for_url_where,
};
use common::{DEMO_CUSTOM_DOMAIN, SESSION_COOKIE};
use fantoccini::{Client, Locator};
use porta_core::totp::{TotpSecret, STEP_SECONDS};
use serde_json::json;

const CANONICAL_HOST: &str = "acme.portal.localhost";
const TENANT: &str = "Acme IT Services";

/// Asserts the page's `<title>`: "`<page>` · Acme IT Services" (a
/// certificate error or an error page would show another).
async fn assert_page(browser: &Client, page: &str) {
    common::browser::assert_title(browser, &format!("{page} · {TENANT}")).await;
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Jane Doe signs in with the demo credentials from demo.json on the
/// canonical host, is handed off to the custom domain (once through its
/// handoff start, for the nonce that binds the token to this browser) and
/// sees her dashboard there with a Secure, HttpOnly session cookie; she
/// signs out and lands on the canonical sign-in page, and from then on the
/// dashboard on either host sends her back to sign in: the custom domain's
/// with the binding of its handoff start, from which signing in lands her
/// on the custom domain's dashboard in one go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_client_user_signs_in_and_out_in_chromium() {
    let shared = shared();
    let jane = shared.first("client");
    let canonical = shared.origin(CANONICAL_HOST);
    let custom = shared.origin(DEMO_CUSTOM_DOMAIN);
    assert_eq!(jane.signin_url, format!("{canonical}/auth/client-portal/signin"));

    let browser = shared.browser().await;
    bounded(async {
        browser.goto(&jane.signin_url).await.expect("open sign-in");
        wait_for_url(&browser, &jane.signin_url).await;
        assert_page(&browser, "Sign in to the client portal").await;
        sign_in(&browser, &jane.email, &jane.password).await;

        // Through the handoff to the dashboard on the custom domain.
        let dashboard = format!("{custom}/client-portal/dashboard");
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Jane Doe");
        assert_eq!(text(&browser, "#client-name").await, "Globex Corporation");
        assert_eq!(text(&browser, "#tenant-name").await, TENANT);

        let cookie = browser
            .get_named_cookie(SESSION_COOKIE)
            .await
            .expect("session cookie on the custom domain");
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
        assert_eq!(cookie.secure(), Some(true), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)", "{cookie}");
        // HttpOnly: page scripts cannot read the session.
        let visible = browser
            .execute("return document.cookie", vec![])
            .await
            .expect("document.cookie");
        assert_eq!(visible, json!(""), "document.cookie shows the session");

        click(&browser, "#signout").await;
        wait_for_url(&browser, &jane.signin_url).await;
        element(&browser, "#signin-form").await;
        assert_eq!(
            count(&browser, "#signin-error").await,
            0,
            "no error after a normal sign-out"
        );

        // Signed out on both hosts: each dashboard sends her to sign in. The
        // canonical one straight to its sign-in...
        let back_to_signin = format!("{}?next=%2Fclient-portal%2Fdashboard", jane.signin_url);
        browser
            .goto(&format!("{canonical}/client-portal/dashboard"))
            .await
            .expect("open the canonical dashboard");
        wait_for_url(&browser, &back_to_signin).await;
        assert_eq!(
            hidden(&browser, "next").await.as_deref(),
            Some("/client-portal/dashboard")
        );
        assert_eq!(
            hidden(&browser, "handoff").await,
            None,
            "no handoff from the canonical host"
        );
        // ... the custom domain's through its handoff start, which gives the
        // browser its nonce there and brings the nonce's hash along.
        browser.goto(&dashboard).await.expect("open the custom dashboard");
        let bound = wait_for_url_where(&browser, |url| {
            url.strip_prefix(&format!("{back_to_signin}&handoff="))
                .is_some_and(|binding| binding.len() == 43 && !binding.contains('&'))
        })
        .await;
        let binding = bound.rsplit('=').next().expect("the binding").to_owned();
        assert_eq!(
            hidden(&browser, "next").await.as_deref(),
            Some("/client-portal/dashboard")
        );
        assert_eq!(
            hidden(&browser, "handoff").await.as_deref(),
            Some(binding.as_str()),
            "the form carries the binding"
        );
        // Signing in from there lands on the custom domain's dashboard.
        sign_in(&browser, &jane.email, &jane.password).await;
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Jane Doe");
    })
    .await;
    browser.close().await.expect("close the browser");
}

/// What a page's script gets from `fetch(href)`: status, content type and
/// the body's bytes.
async fn fetch_in_page(browser: &Client, href: &str) -> (u64, String, Vec<u8>) {
    let script = r#"
        const [href, done] = arguments;
        fetch(href, { credentials: 'same-origin' })
            .then(async r => done({
                status: r.status,
                type: r.headers.get('content-type') || '',
                bytes: Array.from(new Uint8Array(await r.arrayBuffer())),
            }))
            .catch(e => done({ error: String(e) }));
    "#;
    let got = browser
        .execute_async(script, vec![json!(href)])
        .await
        .expect("fetch in the page");
    assert!(got.get("error").is_none(), "fetch {href}: {got}");
    let bytes = got["bytes"]
        .as_array()
        .expect("bytes")
        .iter()
        .map(|b| b.as_u64().expect("a byte") as u8)
        .collect();
    (
        got["status"].as_u64().expect("status"),
        got["type"].as_str().expect("type").to_owned(),
        bytes,
    )
}

/// Issue 9 end to end: Jane opens a ticket with a PNG attached on the
/// custom domain and lands on its page, which shows it (title, description,
/// the file, which downloads byte for byte); Alex Admin, in another
/// browser on the canonical host, opens it in the MSP area, sees the same
/// and replies to the client; Jane reloads and sees the reply from the MSP,
/// her bell one unread notification up, and that notification at the top
/// of her list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ticket_with_attachment_answered_by_staff_in_chromium() {
    const TITLE: &str = "Printer on floor 2 shows error E-42";
    const DESCRIPTION: &str = "Since this morning the printer by the kitchen shows E-42 and prints nothing.";
    const REPLY: &str = "Thanks Jane, a technician is on the way with a new fuser unit.";
    const FILE: &str = "printer-display.png";
    let shared = shared();
    let jane = shared.first("client");
    let alex = shared.first("internal");
    let canonical = shared.origin(CANONICAL_HOST);
    let custom = shared.origin(DEMO_CUSTOM_DOMAIN);
    assert_eq!(alex.signin_url, format!("{canonical}/auth/msp/signin"));
    let files = tempfile::tempdir().expect("temp dir");
    let png = tiny_png(48, 32);
    let upload = files.path().join(FILE);
    std::fs::write(&upload, &png).expect("write the PNG");

    let client = shared.browser().await;
    let staff = shared.browser().await;
    bounded(async {
        client.goto(&jane.signin_url).await.expect("open sign-in");
        sign_in(&client, &jane.email, &jane.password).await;
        wait_for_url(&client, &format!("{custom}/client-portal/dashboard")).await;
        let unread_before = bell_count(&client).await;

        // The new ticket, with the file chosen through the file input.
        client
            .goto(&format!("{custom}/client-portal/tickets/new"))
            .await
            .expect("open the new ticket form");
        assert_page(&client, "Create ticket").await;
        shoot(&client, "new-ticket", "#new-ticket-form").await;
        type_into(&client, "#title", TITLE).await;
        type_into(&client, "#description", DESCRIPTION).await;
        type_into(&client, "#attachments", upload.to_str().expect("UTF-8 path")).await;
        click(&client, "#create-ticket").await;
        let created = wait_for_url_where(&client, |url| {
            url.strip_prefix(&format!("{custom}/client-portal/tickets/TIC-"))
                .and_then(|rest| rest.strip_suffix("?notice=ticket_created"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .await;
        let number = created
            .rsplit('/')
            .next()
            .and_then(|last| last.split('?').next())
            .expect("the ticket number")
            .to_owned();
        assert_page(&client, &format!("{number} {TITLE}")).await;
        assert_eq!(
            text(&client, "#flash").await,
            "Your ticket was created. We will reply here."
        );
        assert_eq!(text(&client, "#ticket-title").await, format!("{number} {TITLE}"));
        assert_eq!(text(&client, "#ticket-description").await, DESCRIPTION);
        assert_eq!(text(&client, "#no-replies").await, "No replies yet.");
        let links = client
            .find_all(Locator::Css("ul.documents a"))
            .await
            .expect("find documents");
        assert_eq!(links.len(), 1, "one document on the new ticket");
        assert_eq!(links[0].text().await.expect("link text"), FILE);
        let href = links[0].attr("href").await.expect("href").expect("an href");
        let prefix = format!("/client-portal/tickets/{number}/documents/");
        assert!(href.starts_with(&prefix), "the download link {href}");
        // The download answers with exactly the file uploaded.
        let (status, content_type, bytes) = fetch_in_page(&client, &href).await;
        assert_eq!(status, 200, "download {href}");
        assert_eq!(content_type, "image/png", "download {href}");
        assert_eq!(bytes.len(), png.len(), "size of the download {href}");
        assert!(bytes == png, "the download {href} differs from the file uploaded");

        // Alex finds it in the queue and answers the client.
        staff.goto(&alex.signin_url).await.expect("open staff sign-in");
        sign_in(&staff, &alex.email, &alex.password).await;
        wait_for_url(&staff, &format!("{canonical}/msp")).await;
        staff
            .goto(&format!("{canonical}/msp/tickets"))
            .await
            .expect("open the queue");
        let row = element(&staff, &format!("#ticket-table tr[data-number='{number}']")).await;
        let row_text = row.text().await.expect("row text");
        assert!(
            row_text.starts_with(&format!("{number} {TITLE}")) && row_text.contains("Globex Corporation"),
            "the queue's row of {number}: {row_text:?}"
        );
        staff
            .goto(&format!("{canonical}/msp/tickets/{number}"))
            .await
            .expect("open the ticket in the MSP area");
        assert_page(&staff, &format!("{number} {TITLE}")).await;
        assert_eq!(text(&staff, "#ticket-title").await, format!("{number} {TITLE}"));
        assert_eq!(text(&staff, "#ticket-client").await, "Globex Corporation");
        assert_eq!(text(&staff, "#ticket-description").await, DESCRIPTION);
        assert_eq!(text(&staff, "ul.documents a").await, FILE);
        let staff_href = element(&staff, "ul.documents a")
            .await
            .attr("href")
            .await
            .expect("href")
            .expect("an href");
        let (status, _, bytes) = fetch_in_page(&staff, &staff_href).await;
        assert_eq!(
            (status, bytes.len()),
            (200, png.len()),
            "staff download {staff_href}"
        );
        type_into(&staff, "#body", REPLY).await;
        assert!(
            element(&staff, "#visibility-public")
                .await
                .is_selected()
                .await
                .expect("selected"),
            "a reply to the client is the default"
        );
        click(&staff, "#send-reply").await;
        wait_for_url(
            &staff,
            &format!("{canonical}/msp/tickets/{number}?notice=reply_sent"),
        )
        .await;
        assert_eq!(text(&staff, "#flash").await, "Your reply was sent to the client.");
        assert_eq!(
            text(&staff, "#conversation li.comment.from-staff .comment-body").await,
            REPLY
        );
        shoot(&staff, "staff-ticket-detail", "#reply-form").await;

        // Jane sees the answer, and her bell says so.
        client.refresh().await.expect("reload the ticket");
        wait_for_url(&client, &created).await;
        assert_eq!(count(&client, "#conversation li.comment").await, 1);
        assert_eq!(
            text(&client, "#conversation li.comment.from-staff .comment-body").await,
            REPLY
        );
        let meta = text(&client, "#conversation li.comment.from-staff .comment-meta").await;
        assert!(
            meta.starts_with(&format!("Alex Admin {TENANT} ")),
            "who replied: {meta:?}"
        );
        assert_eq!(count(&client, "#no-replies").await, 0);
        assert_eq!(
            bell_count(&client).await,
            unread_before + 1,
            "the bell after the reply"
        );
        shoot(&client, "ticket-detail", "#reply-form").await;

        click(&client, "#bell").await;
        wait_for_url(&client, &format!("{custom}/client-portal/notifications")).await;
        assert_page(&client, "Notifications").await;
        let newest = text(&client, "#notification-list li:first-child a").await;
        assert_eq!(newest, format!("Alex Admin replied on {number}: {TITLE}"));
        assert_eq!(
            element(&client, "#notification-list li:first-child")
                .await
                .attr("class")
                .await
                .expect("class")
                .as_deref(),
            Some("unread")
        );
        shoot(&client, "notifications", "#notification-list").await;
    })
    .await;
    client.close().await.expect("close the client's browser");
    staff.close().await.expect("close the staff browser");
}

/// Issue 10, password reset by mail: Milton Waddams follows "Forgot your
/// password?" from the sign-in page, asks for a link and is told it is on
/// its way; the mail porta writes to `<data dir>/mail/` holds a link to
/// the custom domain, where he chooses a new password; he is back at
/// sign-in, where the old password no longer works and the new one does,
/// and the link does not work a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_mail_in_chromium() {
    const NEW_PASSWORD: &str = "violet tundra kettle marmalade";
    let shared = shared();
    let milton = shared.user("milton.waddams@initech.example");
    let canonical = shared.origin(CANONICAL_HOST);
    let custom = shared.origin(DEMO_CUSTOM_DOMAIN);
    let mail_dir = shared.store.data_dir().join("mail");

    let browser = shared.browser().await;
    bounded(async {
        browser.goto(&milton.signin_url).await.expect("open sign-in");
        assert_page(&browser, "Sign in to the client portal").await;
        click(&browser, "#forgot-link").await;
        wait_for_url(
            &browser,
            &format!("{canonical}/auth/client-portal/forgot-password"),
        )
        .await;
        assert_page(&browser, "Forgot your password?").await;
        shoot(&browser, "forgot-password", "#forgot-form").await;
        type_into(&browser, "#forgot-form #email", &milton.email).await;
        click(&browser, "#send-reset").await;
        assert_eq!(
            text(&browser, "#reset-sent").await,
            "If an account exists for that address, we sent it a link to choose a new password. \
             It works once, for a short while."
        );

        let marker = "/auth/password-reset/set-new-password?token=";
        let mail = wait_for_mail(&mail_dir, |m| m.to == milton.email && m.text.contains(marker)).await;
        assert_eq!(mail.subject, format!("Reset your {TENANT} portal password"));
        assert!(
            mail.text.starts_with("Hello Milton Waddams,"),
            "{}: {}",
            mail.file.display(),
            mail.text
        );
        let link = mail
            .link_containing(marker)
            .unwrap_or_else(|| panic!("no reset link in {}", mail.text));
        let token = link
            .strip_prefix(&format!("{custom}{marker}"))
            .unwrap_or_else(|| panic!("a client's link leads to the custom domain: {link}"));
        assert!(
            token.len() >= 40
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "the token in {link}"
        );

        browser.goto(&link).await.expect("open the reset link");
        assert_page(&browser, "Choose a new password").await;
        assert_eq!(
            text(&browser, "#reset-form").await.lines().next(),
            Some("New password")
        );
        shoot(&browser, "set-new-password", "#reset-form").await;
        type_into(&browser, "#new", NEW_PASSWORD).await;
        type_into(&browser, "#confirm", NEW_PASSWORD).await;
        click(&browser, "#set-password").await;

        // Back at the sign-in page.
        wait_for_url_where(&browser, |url| {
            url.starts_with(&format!("{canonical}/auth/client-portal/signin"))
        })
        .await;
        assert_page(&browser, "Sign in to the client portal").await;
        let notice = text(&browser, "#signin-error").await;
        assert_eq!(notice, "Your password was changed. Sign in with the new one.");

        // The old password is gone...
        sign_in(&browser, &milton.email, &milton.password).await;
        assert_eq!(
            text(&browser, "#signin-error[data-code=CredentialsSignin]").await,
            "Sign-in failed. Check that your email and password are correct."
        );
        // ... the new one signs in.
        sign_in(&browser, &milton.email, NEW_PASSWORD).await;
        wait_for_url(&browser, &format!("{custom}/client-portal/dashboard")).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Milton Waddams");

        // The link worked once.
        browser.goto(&link).await.expect("open the link again");
        assert_eq!(text(&browser, "#link-expired").await, "This link no longer works");
    })
    .await;
    browser.close().await.expect("close the browser");
}

/// Issue 10, TOTP: Peter Gibbons turns two-factor authentication on from
/// his profile with a code computed from the key the page shows, gets ten
/// recovery codes, and from then on signing in with his password leads to
/// the second step, where the code of the next time step (the current one
/// was used) takes him to his dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_and_second_step_in_chromium() {
    let shared = shared();
    let peter = shared.user("peter.gibbons@initech.example");
    let canonical = shared.origin(CANONICAL_HOST);
    let custom = shared.origin(DEMO_CUSTOM_DOMAIN);
    let dashboard = format!("{custom}/client-portal/dashboard");
    let profile = format!("{custom}/client-portal/profile");

    let browser = shared.browser().await;
    bounded(async {
        browser.goto(&peter.signin_url).await.expect("open sign-in");
        sign_in(&browser, &peter.email, &peter.password).await;
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Peter Gibbons");

        browser.goto(&profile).await.expect("open the profile");
        assert_page(&browser, "Your profile").await;
        let status = text(&browser, "#two-factor-status").await;
        assert!(status.starts_with("Off "), "before: {status:?}");
        click(&browser, "#two-factor #set-up-2fa").await;
        wait_for_url(&browser, &format!("{profile}/two-factor")).await;
        assert_page(&browser, "Set up two-factor authentication").await;
        assert_eq!(count(&browser, "#totp-qr svg").await, 1, "the QR code");
        shoot(&browser, "two-factor-enrolment", "#enrol-form").await;
        let key = text(&browser, "#totp-secret").await;
        let secret = TotpSecret::from_base32(&key).unwrap_or_else(|e| panic!("the key {key:?}: {e:?}"));
        let uri = element(&browser, "#totp-uri")
            .await
            .prop("textContent")
            .await
            .expect("textContent")
            .unwrap_or_default();
        assert!(
            uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={}", key.replace(' ', ""))),
            "the otpauth URI {uri:?} carries the key"
        );
        type_into(&browser, "#code", &secret.code_at(unix_seconds())).await;
        click(&browser, "#enable-2fa").await;

        let codes = browser
            .wait()
            .at_most(common::browser::WAIT)
            .for_element(Locator::Css("#recovery-codes"))
            .await
            .expect("the recovery codes")
            .find_all(Locator::Css("li code"))
            .await
            .expect("the codes");
        assert_page(&browser, "Your recovery codes").await;
        assert_eq!(codes.len(), 10, "ten recovery codes");
        let mut shown = Vec::new();
        for code in &codes {
            let code = code.text().await.expect("code text");
            let (a, b) = code
                .split_once('-')
                .unwrap_or_else(|| panic!("recovery code {code:?}"));
            assert!(
                a.len() == 5
                    && b.len() == 5
                    && (a.chars().chain(b.chars())).all(|c| c.is_ascii_alphanumeric()),
                "recovery code {code:?}"
            );
            shown.push(code);
        }
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), 10, "ten different recovery codes");
        shoot(&browser, "recovery-codes", "#codes-saved").await;
        click(&browser, "#codes-saved").await;
        wait_for_url(
            &browser,
            &format!("{profile}?notice=two_factor_enabled#two-factor"),
        )
        .await;
        assert_eq!(text(&browser, "#flash").await, "Two-factor authentication is on.");
        let status = text(&browser, "#two-factor-status").await;
        assert!(
            status.starts_with("On since ") && status.ends_with(" 10 of 10 recovery codes left."),
            "after: {status:?}"
        );

        // Signing in again takes a code.
        click(&browser, "#signout").await;
        wait_for_url(&browser, &peter.signin_url).await;
        sign_in(&browser, &peter.email, &peter.password).await;
        wait_for_url(&browser, &format!("{canonical}/auth/second-step")).await;
        assert_page(&browser, "Two-factor authentication").await;
        assert_eq!(text(&browser, "#second-heading").await, "Enter your code");
        shoot(&browser, "second-step", "#second-form").await;
        let next_step = secret.code_at(unix_seconds() + STEP_SECONDS);
        type_into(&browser, "#second-form #code", &next_step).await;
        click(&browser, "#verify-code").await;
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Peter Gibbons");
    })
    .await;
    browser.close().await.expect("close the browser");
}
