//! The portal upstream down or slow, with the real binary on PostgreSQL:
//!
//! - two upstreams, one killed: the edge's health checks take it out
//!   (`porta_edge_upstream_healthy{upstream}` 0) and every request succeeds;
//!   restarted, it is put back and gets requests again;
//! - an upstream that accepts but never answers: 504 with the edge's page,
//!   after `edge.upstream_read_timeout_seconds`;
//! - the only upstream refusing connections: 502 with the edge's page.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use porta_testkit::{Backend, TestDb};
use tokio::io::AsyncReadExt;

use crate::common::edge_client::{EdgeClient, CANONICAL};
use crate::common::{free_port, metric_sample, Porta, Ports, Store};

/// A page the portal answers without a session.
const PAGE: &str = "/auth/client-portal/signin";
/// How long a health-check state change may take to show.
const HEALTH_WAIT: Duration = Duration::from_secs(15);

/// Probes every 200 ms, out after 2 failures.
const HEALTH_ENV: [(&str, &str); 3] = [
    ("PORTA_EDGE_HEALTH_CHECK_INTERVAL_MS", "200"),
    ("PORTA_EDGE_HEALTH_CHECK_FAILURES", "2"),
    ("PORTA_EDGE_UPSTREAM_CONNECT_TIMEOUT_MS", "500"),
];

/// A store whose data directory has the demo tenant, the local CA and its
/// certificates (`porta up` made them), and that `porta up`, still running:
/// its portal is an upstream the tests can use.
async fn seeded() -> (TestDb, Store, Porta) {
    let db = TestDb::new(Backend::Postgres).await;
    let store = Store::new(&db);
    let up = store.start("up", &[]);
    (db, store, up)
}

/// Waits (bounded) until the edge's metrics satisfy `ready`.
async fn wait_for_metrics(edge: &Porta, what: &str, ready: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + HEALTH_WAIT;
    loop {
        let text = edge.metrics().await;
        if ready(&text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {HEALTH_WAIT:?}; metrics:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn healthy(text: &str, upstream: SocketAddr) -> Option<i64> {
    metric_sample(
        text,
        &format!("porta_edge_upstream_healthy{{upstream=\"{upstream}\"}}"),
    )
}

/// Requests for `PAGE` the portal at `portal` logged (its INFO line per
/// request).
fn logged_requests(portal: &Porta) -> usize {
    portal
        .stderr()
        .lines()
        .filter(|line| line.contains(PAGE) && line.contains("200"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_upstream_is_taken_out_by_health_checks_and_every_request_succeeds() {
    let (_db, store, _up) = seeded().await;
    let a = SocketAddr::from(([127, 0, 0, 1], store.ports.portal));
    let b_ports = Ports::fresh();
    let b = SocketAddr::from(([127, 0, 0, 1], b_ports.portal));
    let portal_b = store.start_portal_node(b_ports, &[]);
    let e_ports = Ports::fresh();
    let upstreams = format!("{a},{b}");
    let mut env = HEALTH_ENV.to_vec();
    env.push(("PORTA_EDGE_UPSTREAMS", &upstreams));
    let edge = store.start_edge_node(e_ports, &env);
    let client = EdgeClient::on_ports(&store, e_ports);

    let text = edge.metrics().await;
    assert_eq!(
        metric_sample::<i64>(&text, "porta_edge_upstreams_healthy"),
        Some(2),
        "{text}"
    );
    assert_eq!(healthy(&text, a), Some(1), "{text}");
    assert_eq!(healthy(&text, b), Some(1), "{text}");
    // Both get requests.
    for _ in 0..6 {
        assert_eq!(client.get(CANONICAL, PAGE, None).await.status, 200);
    }
    assert!(
        logged_requests(&portal_b) > 0,
        "portal B got no request:\n{}",
        portal_b.stderr()
    );

    // B dies: out of the rotation, and every request succeeds.
    assert!(portal_b.stop().success());
    wait_for_metrics(&edge, "B taken out", |t| {
        healthy(t, b) == Some(0) && metric_sample::<i64>(t, "porta_edge_upstreams_healthy") == Some(1)
    })
    .await;
    assert_eq!(healthy(&edge.metrics().await, a), Some(1));
    for i in 0..30 {
        let reply = client.get(CANONICAL, PAGE, None).await;
        assert_eq!(reply.status, 200, "request {i} with B down: {reply:?}");
    }
    let text = edge.metrics().await;
    for status in ["502", "503", "504"] {
        let series = format!("porta_edge_requests_total{{host_kind=\"canonical\",status=\"{status}\"}}");
        assert_eq!(metric_sample::<u64>(&text, &series), None, "{text}");
    }

    // B is back: in the rotation again, and it gets requests.
    let portal_b = store.start_portal_node(b_ports, &[]);
    wait_for_metrics(&edge, "B back", |t| {
        healthy(t, b) == Some(1) && metric_sample::<i64>(t, "porta_edge_upstreams_healthy") == Some(2)
    })
    .await;
    for _ in 0..6 {
        assert_eq!(client.get(CANONICAL, PAGE, None).await.status, 200);
    }
    assert!(
        logged_requests(&portal_b) > 0,
        "restarted portal B got no request:\n{}",
        portal_b.stderr()
    );
}

/// An upstream that accepts connections and reads requests, and never
/// answers.
async fn silent_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_is_504_and_a_refusing_one_502_within_the_timeouts() {
    let (_db, store, _up) = seeded().await;

    // Slow: 504 after the read timeout (1 s), not before.
    let silent = silent_upstream().await.to_string();
    let slow_ports = Ports::fresh();
    let slow = store.start_edge_node(
        slow_ports,
        &[
            ("PORTA_EDGE_UPSTREAMS", &silent),
            ("PORTA_EDGE_UPSTREAM_READ_TIMEOUT_SECONDS", "1"),
        ],
    );
    let client = EdgeClient::on_ports(&store, slow_ports);
    let started = Instant::now();
    let reply = client.get(CANONICAL, PAGE, None).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 504, "{reply:?}");
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    assert!(
        reply
            .body
            .contains("<title>The portal is taking too long</title>"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("data-status=\"504\""), "{}", reply.body);
    assert!(
        reply.header("strict-transport-security").starts_with("max-age="),
        "{reply:?}"
    );
    assert!(
        took >= Duration::from_secs(1),
        "504 before the read timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(6),
        "504 long after the 1 s read timeout: {took:?}"
    );
    drop(slow);

    // Down: connection refused, 502 at once.
    let nobody = SocketAddr::from(([127, 0, 0, 1], free_port())).to_string();
    let down_ports = Ports::fresh();
    let _down = store.start_edge_node(down_ports, &[("PORTA_EDGE_UPSTREAMS", &nobody)]);
    let client = EdgeClient::on_ports(&store, down_ports);
    let started = Instant::now();
    let reply = client.get(CANONICAL, PAGE, None).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(
        reply
            .body
            .contains("<title>The portal is temporarily unavailable</title>"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("data-status=\"502\""), "{}", reply.body);
    // Within the (default, 2 s) connect timeout, with a margin.
    assert!(took < Duration::from_secs(5), "502 took {took:?}");
}
