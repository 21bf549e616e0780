//! What a signed-in page costs in database statements, counted from sqlx's
//! own statement events (target `sqlx::query`) inside the portal's request
//! spans. Requests of both backends' tests would mix, so each test holds a
//! lock from start to end.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use common::*;
use porta_core::clock::UnixMillis;
use porta_core::host::HostName;
use porta_core::request_context::{ContextSigner, HostKind, RequestContext, Route};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct CountStatements;

/// The statement text of a `sqlx::query` event.
struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_owned();
        }
    }
}

impl<S> Layer<S> for CountStatements
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        // Only what a request of the portal runs (not, say, the migrations
        // of the next test's fresh database).
        let in_request = ctx
            .event_scope(event)
            .is_some_and(|mut scope| scope.any(|span| span.name() == "request"));
        if !in_request {
            return;
        }
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        // A new SQLite connection configures itself with PRAGMAs: the
        // pool's work, not the page's.
        if summary.0.trim_start_matches('"').starts_with("PRAGMA") {
            return;
        }
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
        if std::env::var_os("SHOW_STATEMENTS").is_some() {
            eprintln!("statement: {}", summary.0);
        }
    }
}

fn install_counter() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::registry()
            .with(CountStatements.with_filter(tracing_subscriber::filter::LevelFilter::DEBUG))
            .init();
    });
}

/// Statements run while `request` runs.
async fn statements_of<T, F: std::future::Future<Output = T>>(request: F) -> (usize, T) {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let response = request.await;
    (STATEMENTS.load(Ordering::SeqCst) - before, response)
}

async fn a_signed_in_page_costs_at_most_two_statements(t: TestDb) {
    install_counter();
    let _one_test_at_a_time = MEASURING.lock().await;
    let app = TestApp::start_with(t, &[("PORTA_PORTAL_TRUSTED_PROXIES", "127.0.0.1")]).await;
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

    // Straight to the portal: the host lookup is cached after the first page.
    let warm = app
        .get(&acme.host, "/client-portal/dashboard", Some(&cookie))
        .await;
    assert_eq!(warm.status(), StatusCode::OK);
    // What being signed in costs (the site and session, every request):
    // measured on a page with no data of its own, the signed-in 404.
    let (count, page) =
        statements_of(app.get(&acme.host, "/client-portal/no-such-page", Some(&cookie))).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.text().await.unwrap().contains(r#"id="nav-dashboard""#),
        "the 404 is in the signed-in layout"
    );
    assert_eq!(count, 2, "the session with its user, and the user's roles");
    // The dashboard adds its own four: the open-ticket count, the ticket
    // feed, the company's recently changed projects and its open ones.
    let (count, page) = statements_of(app.get(&acme.host, "/client-portal/dashboard", Some(&cookie))).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Welcome, Jane"));
    assert!(count <= 6, "a signed-in dashboard ran {count} statements");

    // Through the edge: the signed context names the tenant; being signed
    // in still costs two statements and nothing else.
    let route = Route {
        tenant: acme.tenant,
        kind: HostKind::Canonical,
        domain: None,
    };
    let context = ContextSigner::new(&app.keys).sign(
        &RequestContext {
            host: HostName::parse(&acme.host).unwrap(),
            route,
            client_ip: "203.0.113.9".parse().unwrap(),
        },
        UnixMillis::now(),
    );
    let (count, page) = statements_of(
        app.http
            .get(app.url("/client-portal/no-such-page"))
            .header("host", "ignored.example")
            .header("x-porta-context", context)
            .header("cookie", cookie.replace("authjs.", "__Secure-authjs."))
            .send(),
    )
    .await;
    let page = page.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.text().await.unwrap().contains("Jane"),
        "signed in through the context"
    );
    assert_eq!(
        count, 2,
        "through the edge being signed in ran {count} statements"
    );
}

both_backends! {
    signed_in_page => a_signed_in_page_costs_at_most_two_statements;
}
