//! The soak (not in CI: `#[ignore]`, run by `bench/soak`): the real
//! `porta up` on SQLite, or PostgreSQL with `SOAK_BACKEND=postgres`, under
//! a steady load for `SOAK_MINUTES` (30): every `1 / SOAK_RATE` seconds a
//! browser from its own loopback address signs in from the custom domain
//! (the handoff start, the canonical sign-in, the token exchange on the
//! custom domain) and loads the dashboard, the ticket list and a ticket
//! there. Every step's answer is checked as the other tests check it; a
//! step that fails (or panics) counts as an error. The process's RSS is
//! sampled every 30 s.
//!
//! Writes `SOAK_OUT` (default `bench/results/soak`) `.json` and `.md`:
//! errors (must be 0), iterations, requests, and RSS over time, with the
//! growth from the end of the warm-up (the first 5 minutes, or a sixth of a
//! shorter run) to the end. Fails when any step failed.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::edge_client::*;
use common::{Porta, Store, DEMO_CUSTOM_DOMAIN};
use porta_testkit::{Backend, TestDb};

/// Requests one iteration makes: handoff start, sign-in page, sign-in,
/// exchange, dashboard, ticket list, one ticket.
const REQUESTS_PER_ITERATION: u64 = 7;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One browser's visit; panics (an error) on any unexpected answer.
async fn visit(edge: EdgeClient, jane: Arc<common::DemoUser>) {
    let handoff = edge.sign_in(&jane, None).await;
    let (session, redirect) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    assert_eq!(redirect, DASHBOARD);
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&session)).await;
    assert_eq!(dashboard.status, 200, "dashboard: {dashboard:?}");
    let list = edge
        .get(DEMO_CUSTOM_DOMAIN, "/client-portal/tickets", Some(&session))
        .await;
    assert_eq!(list.status, 200, "ticket list: {list:?}");
    let first = list
        .body
        .split("class=\"ticket-link\" href=\"/client-portal/tickets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|n| !n.is_empty())
        .expect("a ticket link on the list")
        .to_owned();
    let ticket = edge
        .get(
            DEMO_CUSTOM_DOMAIN,
            &format!("/client-portal/tickets/{first}"),
            Some(&session),
        )
        .await;
    assert_eq!(ticket.status, 200, "ticket {first}: {ticket:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "30 minutes; run by bench/soak"]
async fn soak() {
    let minutes = env_f64("SOAK_MINUTES", 30.0);
    let rate = env_f64("SOAK_RATE", 4.0);
    let postgres = std::env::var("SOAK_BACKEND").is_ok_and(|b| b == "postgres");
    let db = if postgres {
        Some(TestDb::new(Backend::Postgres).await)
    } else {
        None
    };
    let store = match &db {
        Some(db) => Store::new(db),
        None => Store::sqlite(),
    };
    let env = [
        ("PORTA_SIGNIN_MAX_ATTEMPTS_PER_IP_PER_MINUTE", "100000"),
        ("PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE", "100000"),
    ];
    let porta: Porta = store.start("up", &env);
    let pid = porta.pid();
    let edge = EdgeClient::new(&store);
    let jane = Arc::new(jane(&store));

    let run = Duration::from_secs_f64(minutes * 60.0);
    let warm_up = Duration::from_secs_f64((minutes * 60.0 / 6.0).min(300.0));
    let started = Instant::now();
    let errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut samples: Vec<(f64, u64)> = vec![(0.0, rss_kib(pid))];
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_sample = Duration::from_secs(30);
    let mut in_flight = tokio::task::JoinSet::new();
    let mut n: u64 = 0;
    while started.elapsed() < run {
        ticker.tick().await;
        // A source address per browser, over 127.0.0.2-254.
        let ip = [127, 0, 0, 2 + (n % 253) as u8];
        n += 1;
        let (browser, user, failed, finished) = (edge.from(ip), jane.clone(), errors.clone(), done.clone());
        in_flight.spawn(async move {
            let visit = tokio::spawn(visit(browser, user));
            match tokio::time::timeout(Duration::from_secs(30), visit).await {
                Ok(Ok(())) => {}
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            finished.fetch_add(1, Ordering::Relaxed);
        });
        while in_flight.try_join_next().is_some() {}
        if started.elapsed() >= next_sample {
            let at = started.elapsed().as_secs_f64();
            let rss = rss_kib(pid);
            eprintln!(
                "soak: {at:>6.0} s  {} visits  {} errors  RSS {rss} KiB",
                done.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed)
            );
            samples.push((at, rss));
            next_sample += Duration::from_secs(30);
        }
    }
    while in_flight.join_next().await.is_some() {}
    samples.push((started.elapsed().as_secs_f64(), rss_kib(pid)));
    porta.stop();

    let errors = errors.load(Ordering::Relaxed);
    let visits = done.load(Ordering::Relaxed);
    let after_warm_up = samples
        .iter()
        .find(|(at, _)| *at >= warm_up.as_secs_f64())
        .map_or(samples[0].1, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    let growth = last as f64 / after_warm_up.max(1) as f64;
    write_report(&Report {
        backend: if postgres { "postgres" } else { "sqlite" },
        minutes,
        rate,
        visits,
        errors,
        warm_up_seconds: warm_up.as_secs_f64(),
        after_warm_up,
        last,
        growth,
        samples: &samples,
    });
    assert_eq!(
        errors, 0,
        "{errors} of {visits} visits failed (see the panics above)"
    );
}

struct Report<'a> {
    backend: &'a str,
    minutes: f64,
    rate: f64,
    visits: u64,
    errors: u64,
    warm_up_seconds: f64,
    after_warm_up: u64,
    last: u64,
    growth: f64,
    samples: &'a [(f64, u64)],
}

fn write_report(r: &Report) {
    let out = std::env::var("SOAK_OUT")
        .unwrap_or_else(|_| format!("{}/bench/results/soak", env!("CARGO_MANIFEST_DIR")));
    let json = serde_json::json!({
        "backend": r.backend,
        "minutes": r.minutes,
        "visits_per_second": r.rate,
        "visits": r.visits,
        "requests": r.visits * REQUESTS_PER_ITERATION,
        "errors": r.errors,
        "warm_up_seconds": r.warm_up_seconds,
        "rss_kib_after_warm_up": r.after_warm_up,
        "rss_kib_last": r.last,
        "rss_growth_after_warm_up": r.growth,
        "rss_kib": r.samples.iter().map(|(at, kib)| serde_json::json!([at.round(), kib])).collect::<Vec<_>>(),
    });
    std::fs::write(
        format!("{out}.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .expect("soak.json");
    let mut md = format!(
        "# Soak ({backend}, {minutes} min)\n\n\
         `porta up` (release) with {rate} visits a second, each a sign-in from the custom domain \
         (handoff start, sign-in page, sign-in, exchange) and the dashboard, ticket list and a \
         ticket: {visits} visits, {requests} requests, **{errors} errors**.\n\n\
         RSS after the warm-up ({warm:.0} s): {after} KiB; at the end: {last} KiB \
         (**{growth:.2} ×**).\n\n| seconds | RSS KiB |\n|---|---|\n",
        backend = r.backend,
        minutes = r.minutes,
        rate = r.rate,
        visits = r.visits,
        requests = r.visits * REQUESTS_PER_ITERATION,
        errors = r.errors,
        warm = r.warm_up_seconds,
        after = r.after_warm_up,
        last = r.last,
        growth = r.growth,
    );
    for (at, kib) in r.samples {
        md.push_str(&format!("| {at:.0} | {kib} |\n"));
    }
    std::fs::write(format!("{out}.md"), md).expect("soak.md");
}
