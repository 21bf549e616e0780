//! Tenant branding on both backends: colours checked for readable
//! contrast and printed only as colours, images checked from their bytes
//! (SVG refused) and served with safe headers and caching, the texts on
//! the sign-in page and in the footer, nothing of it on another tenant.

mod common;

use common::*;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const PAGE: &str = "/msp/settings/branding";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xcf\xc0\0\0\x03\x01\x01\0\xc9\xfe\x92\xef\0\0\0\0IEND\xaeB`\x82";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";

async fn branding_is_checked_and_applied(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let beta = tenant(&app.db, "beta", "Beta IT").await;
    let sam = user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam",
    )
    .await;
    with_role(&app.db, acme.tenant, sam, UserType::Internal, "Admin").await;
    user(
        &app.db,
        acme.tenant,
        "tess@acme-it.example",
        UserType::Internal,
        "Tess",
    )
    .await;
    let staff = session_pair(
        &app.sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let tech = session_pair(
        &app.sign_in_staff(&acme.host, "tess@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();

    let base = [
        ("display_name", "Acme Managed Services"),
        ("support_email", "help@acme-it.example"),
        ("support_phone", "+1 555 0100"),
        ("signin_message", "Welcome to the Acme client portal."),
    ];
    for (primary, secondary, refusal) in [
        ("#808080", "", "Primary colour"),
        ("#2456d6", "#ffd400", "Link colour"),
        ("#123456; } body { display: none", "", "#rrggbb"),
        ("red", "", "#rrggbb"),
    ] {
        let mut form = base.to_vec();
        form.push(("primary_color", primary));
        form.push(("secondary_color", secondary));
        let r = app.submit(&acme.host, PAGE, &form, &staff, PAGE).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{primary} {secondary}");
        let body = r.text().await.unwrap();
        assert!(body.contains(refusal), "{primary}: {body}");
    }
    let css = app
        .get(&acme.host, "/theme.css", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!css.contains("--brand:"), "nothing saved yet: {css}");

    let mut form = base.to_vec();
    form.push(("primary_color", "#0B6E4F"));
    form.push(("secondary_color", "#8a3b12"));
    let r = app.submit(&acme.host, PAGE, &form, &staff, PAGE).await;
    assert_eq!(
        location(&r).as_deref(),
        Some("/msp/settings/branding?notice=settings_saved")
    );
    let css = app
        .get(&acme.host, "/theme.css", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        css.contains(":root { --brand: #0b6e4f; --brand-ink: #ffffff; --accent: #8a3b12; }"),
        "{css}"
    );
    assert!(!app
        .get(&beta.host, "/theme.css", None)
        .await
        .text()
        .await
        .unwrap()
        .contains("#0b6e4f"));

    // A Technician reads the page but changes nothing.
    assert_eq!(app.page(&acme.host, PAGE, &tech).await.0, StatusCode::OK);
    let r = app.submit(&acme.host, PAGE, &form, &tech, PAGE).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Images: SVG and oversize refused, PNG served from our origin.
    let upload = |kind: &'static str, name: &'static str, bytes: Vec<u8>| {
        let app = &app;
        let staff = staff.clone();
        let host = acme.host.clone();
        async move {
            app.submit_multipart(
                &host,
                &format!("{PAGE}/images/{kind}"),
                &[],
                &[("image", name, bytes)],
                &staff,
                PAGE,
            )
            .await
        }
    };
    let r = upload("logo-light", "logo.svg", SVG.to_vec()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("SVG is not accepted"));
    let mut big = PNG.to_vec();
    big.resize(70 * 1024, 0);
    let r = upload("favicon", "icon.png", big).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("larger than 64 KB"));
    let r = upload("logo-light", "logo.png", PNG.to_vec()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = upload("favicon", "icon.png", PNG.to_vec()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let signin = app
        .get(&acme.host, "/auth/client-portal/signin", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        signin.contains("<span>Acme Managed Services</span>"),
        "the display name"
    );
    assert!(signin.contains(r#"id="signin-message">Welcome to the Acme client portal.</p>"#));
    assert!(
        signin.contains(r#"<a href="mailto:help@acme-it.example">help@acme-it.example</a> · +1 555 0100"#)
    );
    let logo = signin
        .split(r#"<img src=""#)
        .nth(1)
        .expect("the logo")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(logo.starts_with("/branding/logo-light?v="), "{logo}");
    assert!(signin.contains(r#"<link rel="icon" href="/branding/favicon?v="#));
    let served = app.get(&acme.host, &logo, None).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        served.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("if-none-match", etag.parse().unwrap());
    assert_eq!(
        app.get_with(&acme.host, "/branding/logo-light", headers)
            .await
            .status(),
        StatusCode::NOT_MODIFIED
    );
    // Another tenant has none; a kind that does not exist is not found.
    assert_eq!(
        app.get(&beta.host, "/branding/logo-light", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&acme.host, "/branding/passwords", None).await.status(),
        StatusCode::NOT_FOUND
    );
    let beta_signin = app
        .get(&beta.host, "/auth/client-portal/signin", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!beta_signin.contains("Acme Managed Services") && !beta_signin.contains("/branding/"));

    let r = app
        .submit(
            &acme.host,
            &format!("{PAGE}/images/logo-light/remove"),
            &[],
            &staff,
            PAGE,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&acme.host, "/branding/logo-light", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

both_backends! {
    branding_is_checked_and_applied => branding_is_checked_and_applied;
}
