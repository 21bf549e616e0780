//! The request context the edge sends (`x-porta-context`): honoured when it
//! verifies, ignored when a client forges, replays or garbles it, so it can
//! never make a request count for another tenant than its host's.

mod common;

use common::*;
use porta_core::clock::UnixMillis;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::request_context::{ContextSigner, HostKind, RequestContext, Route};
use porta_core::secret::Secret;
use porta_core::session_token::{SessionKey, SessionKeys};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

fn context(signer: &ContextSigner, host: &str, tenant: TenantId, at: UnixMillis) -> String {
    signer.sign(
        &RequestContext {
            host: HostName::parse(host).unwrap(),
            route: Route {
                tenant,
                kind: HostKind::Canonical,
                domain: None,
            },
            client_ip: "198.51.100.4".parse().unwrap(),
        },
        at,
    )
}

async fn signin_page_title(app: &TestApp, host: &str, header: Option<String>) -> (StatusCode, String) {
    let mut req = app
        .http
        .get(app.url("/auth/client-portal/signin"))
        .header("host", host);
    if let Some(value) = header {
        req = req.header("x-porta-context", value);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let html = response.text().await.unwrap();
    let title = html
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default()
        .to_owned();
    (status, title)
}

async fn forged_contexts_change_nothing(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let beta = tenant(&app.db, "beta", "Beta MSP").await;
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane",
    )
    .await;
    let genuine = ContextSigner::new(&app.keys);
    let attacker = ContextSigner::new(
        &SessionKeys::new(vec![SessionKey::new(KEY_ID, Secret::new("x".repeat(40))).unwrap()]).unwrap(),
    );
    let now = UnixMillis::now();
    let acme_title = "Sign in to the client portal · Acme IT";

    // No context: the host decides.
    assert_eq!(
        signin_page_title(&app, &acme.host, None).await,
        (StatusCode::OK, acme_title.to_owned())
    );
    // Forged (another key under our key id), stale, or garbage: ignored.
    for forged in [
        context(&attacker, &beta.host, beta.tenant, now),
        context(&genuine, &beta.host, beta.tenant, now.plus_seconds(-120)),
        context(&genuine, &beta.host, beta.tenant, now.plus_seconds(120)),
        format!(
            "1|canonical|{}|-|{}|198.51.100.4|{}",
            beta.tenant,
            beta.host,
            now.as_seconds()
        ),
        "garbage".to_owned(),
        "x".repeat(5000),
    ] {
        let shown = signin_page_title(&app, &acme.host, Some(forged.clone())).await;
        assert_eq!(shown, (StatusCode::OK, acme_title.to_owned()), "{forged}");
    }
    // A forged context cannot make an unknown host a tenant's either.
    let (status, _) = signin_page_title(
        &app,
        "evil.example",
        Some(context(&attacker, &acme.host, acme.tenant, now)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A session of acme, with a forged context claiming acme on beta's host:
    // no session there.
    let cookie = app.session_cookie(&acme.host, "jane@globex.example").await;
    let response = app
        .http
        .get(app.url("/client-portal/dashboard"))
        .header("host", &beta.host)
        .header("cookie", &cookie)
        .header(
            "x-porta-context",
            context(&attacker, &acme.host, acme.tenant, now),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard")
    );

    // What the edge signs is what counts (and it is always HTTPS).
    let response = app
        .http
        .get(app.url("/auth/client-portal/signin"))
        .header("host", "anything.example")
        .header("x-porta-context", context(&genuine, &beta.host, beta.tenant, now))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csrf = set_cookies(&response);
    assert!(
        csrf.iter().any(|c| c.starts_with("__Host-porta.csrf=")),
        "HTTPS cookie names through the edge: {csrf:?}"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("<title>Sign in to the client portal · Beta MSP</title>"));
}

both_backends! {
    forged => forged_contexts_change_nothing;
}
