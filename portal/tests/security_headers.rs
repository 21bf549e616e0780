//! Every portal page carries a strict Content-Security-Policy (no inline
//! script, no framing, forms only to the tenant's own hosts) and the other
//! security headers, on both backends.

mod common;

use common::*;
use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

async fn every_page_has_a_strict_policy(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane",
    )
    .await;
    let cookie = app.session_cookie(&acme.host, "jane@globex.example").await;
    for (path, cookie, status) in [
        ("/auth/client-portal/signin", None, StatusCode::OK),
        ("/client-portal/dashboard", Some(cookie.as_str()), StatusCode::OK),
        (
            "/client-portal/no-such-page",
            Some(cookie.as_str()),
            StatusCode::NOT_FOUND,
        ),
        ("/msp", None, StatusCode::SEE_OTHER),
    ] {
        let response = app.get(&acme.host, path, cookie).await;
        assert_eq!(response.status(), status, "{path}");
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self';"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
            "{csp}"
        );
        assert!(csp.contains("form-action 'self';"), "no other host yet: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    // No page carries inline script.
    let html = app
        .get(&acme.host, "/client-portal/dashboard", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" onclick="),
        "{html}"
    );
}

/// Forms may continue on the tenant's other host, and only there.
async fn forms_may_continue_on_the_other_host(t: TestDb) {
    let app = TestApp::start(t).await;
    let beta = tenant(&app.db, "beta", "Beta MSP").await;
    portal_domains::create(
        &app.db,
        &NewPortalDomain {
            tenant: beta.tenant,
            domain: &HostName::parse("portal.beta.example").unwrap(),
            status: DomainStatus::Active,
            status_message: "",
            expected_cname: &HostName::parse(&beta.host).unwrap(),
            issuer: porta_core::issuer::Issuer::Internal,
            trust_dns: true,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    let csp = |response: &reqwest::Response| {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let canonical = app.get(&beta.host, "/auth/msp/signin", None).await;
    assert!(
        csp(&canonical).contains("form-action 'self' https://portal.beta.example:8443;"),
        "{}",
        csp(&canonical)
    );
    let custom = app
        .get("portal.beta.example", "/client-portal/dashboard", None)
        .await;
    assert_eq!(custom.status(), StatusCode::SEE_OTHER);
    assert!(
        csp(&custom).contains(&format!(
            "form-action 'self' http://{}:{};",
            beta.host,
            app.addr.port()
        )),
        "{}",
        csp(&custom)
    );
}

both_backends! {
    csp => every_page_has_a_strict_policy;
    form_action => forms_may_continue_on_the_other_host;
}
