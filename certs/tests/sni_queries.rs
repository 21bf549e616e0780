//! What a server name costs the database when the edge's certificate cache
//! does not know it: one statement, whatever the answer (the exact name and
//! its one-level wildcard are looked up together), and none while the
//! answer is cached. Statements are counted from sqlx's own events
//! (target `sqlx::query`) inside a span around each lookup; the tests of
//! both backends share the counter, so each holds a lock throughout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::resolver::{CertResolver, LoadOutcome, ResolverSettings};
use porta_certs::store::{self, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::issuer::Issuer;
use porta_testkit::{both_backends, TestDb};
use tracing::Instrument;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const SPAN: &str = "measured_lookup";

struct CountStatements;

impl<S> Layer<S> for CountStatements
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let measured = ctx
            .event_scope(event)
            .is_some_and(|mut scope| scope.any(|span| span.name() == SPAN));
        if !measured {
            return;
        }
        // A new SQLite connection configures itself with PRAGMAs: the
        // pool's work, not the lookup's.
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.trim_start_matches('"').starts_with("PRAGMA") {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

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

fn install_counter() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::registry()
            .with(CountStatements.with_filter(tracing_subscriber::filter::LevelFilter::DEBUG))
            .init();
    });
}

/// The outcome of `ensure_loaded(name)` and the statements it ran.
async fn measured(resolver: &CertResolver, name: &str) -> (LoadOutcome, usize) {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let outcome = resolver
        .ensure_loaded(name)
        .instrument(tracing::info_span!("measured_lookup"))
        .await;
    (outcome, STATEMENTS.load(Ordering::SeqCst) - before)
}

async fn one_statement_per_uncached_name(t: TestDb) {
    install_counter();
    let _one_test_at_a_time = MEASURING.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(&dir.path().join("ca")).unwrap();
    let master = MasterKey::generate();
    let issued = ca
        .issue(
            &["*.portal.example.test".to_owned()],
            Duration::from_secs(30 * 86_400),
        )
        .unwrap();
    store::insert(
        &t.db,
        &master,
        &NewCertificate {
            tenant: None,
            domain: "*.portal.example.test",
            issuer: Issuer::Internal.into(),
            chain_pem: &issued.chain_pem,
            key_pem: &issued.key_pem,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    let resolver = CertResolver::new(
        t.db.clone(),
        master,
        ResolverSettings {
            negative_ttl: Duration::from_secs(300),
            ..ResolverSettings::default()
        },
    );

    // Unknown: neither the name nor its wildcard exists; one statement.
    assert_eq!(
        measured(&resolver, "nobody.example.com").await,
        (LoadOutcome::Unknown, 1)
    );
    assert_eq!(
        measured(&resolver, "a.b.nobody.example.com").await,
        (LoadOutcome::Unknown, 1)
    );
    // Found through the wildcard: one statement too.
    assert_eq!(
        measured(&resolver, "acme.portal.example.test").await,
        (LoadOutcome::Loaded, 1)
    );
    // Cached either way: none.
    assert_eq!(
        measured(&resolver, "nobody.example.com").await,
        (LoadOutcome::Unknown, 0)
    );
    assert_eq!(
        measured(&resolver, "acme.portal.example.test").await,
        (LoadOutcome::Hit, 0)
    );
    // A caller over its limit of misses: refused, no statement, nothing
    // remembered about the name.
    let before = STATEMENTS.load(Ordering::SeqCst);
    let refused = resolver
        .ensure_loaded_if("other.example.com", || false)
        .instrument(tracing::info_span!("measured_lookup"))
        .await;
    assert_eq!(
        (refused, STATEMENTS.load(Ordering::SeqCst) - before),
        (LoadOutcome::Refused, 0)
    );
    assert_eq!(
        measured(&resolver, "other.example.com").await,
        (LoadOutcome::Unknown, 1)
    );
}

both_backends! {
    uncached_names => one_statement_per_uncached_name;
}
