//! Restarts without failed requests, with the real binary on PostgreSQL:
//!
//! - SIGTERM: a request in flight (its upstream holds the answer) completes
//!   with 200 while new connections are refused, and `porta edge` exits 0
//!   once it is done, within the grace period;
//! - a zero-downtime upgrade under load: clients request pages through the
//!   edge in a loop the whole time; `porta edge --upgrade` takes the
//!   listening sockets over (SIGQUIT to the running edge), the old process
//!   drains and exits; no request fails, and the new process answers
//!   afterwards (it alone holds the listeners).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};

use crate::common::edge_client::{http_request, read_reply, EdgeClient, CANONICAL};
use crate::common::{metric_sample, Porta, Ports, Store};
use porta_testkit::{Backend, TestDb};

const GRACE_SECONDS: u64 = 5;

async fn seeded() -> (TestDb, Store, Porta) {
    let db = TestDb::new(Backend::Postgres).await;
    let store = Store::new(&db);
    let up = store.start("up", &[]);
    (db, store, up)
}

/// The pid `porta edge` printed in its listening line.
fn edge_pid(edge: &Porta) -> u32 {
    let out = edge.stdout();
    let line = out
        .lines()
        .find(|l| l.starts_with("porta: edge listening on"))
        .unwrap_or_else(|| panic!("no listening line in {out:?}"));
    let pid = line
        .rsplit_once("(pid ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    pid.parse().unwrap()
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// An upstream that answers `/healthz` at once and `GET /held` only when
/// `release` is notified (`arrived` fires when it has the request).
async fn holding_upstream(arrived: oneshot::Sender<()>, release: Arc<Notify>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arrived = Arc::new(std::sync::Mutex::new(Some(arrived)));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let arrived = arrived.clone();
            let release = release.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let held = head.starts_with(b"GET /held ");
                if held {
                    if let Some(tx) = arrived.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    release.notified().await;
                }
                let body = if held { "held answer\n" } else { "ok\n" };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_zero() {
    let (_db, store, _up) = seeded().await;
    let (arrived_tx, arrived) = oneshot::channel();
    let release = Arc::new(Notify::new());
    let upstream = holding_upstream(arrived_tx, release.clone()).await.to_string();
    let ports = Ports::fresh();
    let grace = GRACE_SECONDS.to_string();
    let edge = store.start_edge_node(
        ports,
        &[
            ("PORTA_EDGE_UPSTREAMS", &upstream),
            ("PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS", &grace),
        ],
    );
    let pid = edge_pid(&edge);
    let client = EdgeClient::on_ports(&store, ports);

    let in_flight = {
        let client = client.clone();
        tokio::spawn(async move { client.get(CANONICAL, "/held", None).await })
    };
    tokio::time::timeout(Duration::from_secs(30), arrived)
        .await
        .expect("the request reached the upstream")
        .unwrap();

    let stopped_at = Instant::now();
    let stopped = tokio::task::spawn_blocking(move || edge.stop());
    // New connections are refused (bounded wait for the listener to close).
    let https = SocketAddr::from(([127, 0, 0, 1], ports.edge_https));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpStream::connect(https).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "still accepting after SIGTERM: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(alive(pid), "porta edge exited with a request in flight");
    assert!(
        !in_flight.is_finished(),
        "the held request was answered before its release"
    );

    release.notify_one();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "held answer\n");
    let status = stopped.await.unwrap();
    assert!(status.success(), "porta edge exited with {status}");
    let took = stopped_at.elapsed();
    assert!(
        took < Duration::from_secs(GRACE_SECONDS + 3),
        "exit took {took:?} (grace {GRACE_SECONDS} s)"
    );
}

/// `porta up` bounds its stop by the grace period too: a request whose
/// upstream never answers does not keep it running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn porta_up_exits_within_its_grace_period_with_a_request_that_never_ends() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = Store::new(&db);
    let (arrived_tx, arrived) = oneshot::channel();
    let never = Arc::new(Notify::new());
    let upstream = holding_upstream(arrived_tx, never.clone()).await.to_string();
    let up = store.start(
        "up",
        &[
            ("PORTA_EDGE_UPSTREAMS", &upstream),
            ("PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS", "2"),
        ],
    );
    let client = EdgeClient::new(&store);
    let held = tokio::spawn(async move { try_get(&client, "/held").await });
    tokio::time::timeout(Duration::from_secs(30), arrived)
        .await
        .expect("the request reached the upstream")
        .unwrap();
    let stopped_at = Instant::now();
    let status = tokio::task::spawn_blocking(move || up.stop()).await.unwrap();
    let took = stopped_at.elapsed();
    assert!(status.success(), "porta up exited with {status}");
    assert!(
        took >= Duration::from_secs(2),
        "exited before the grace period: {took:?}"
    );
    assert!(
        took < Duration::from_secs(2 + 3),
        "exit took {took:?} (grace 2 s)"
    );
    println!("porta up exited {took:?} after SIGTERM (grace 2 s)");
    let outcome = held.await.unwrap();
    assert!(outcome.is_err(), "the held request got an answer: {outcome:?}");
}

/// One GET through the edge on a new connection: its status, or why it
/// failed.
async fn try_get(client: &EdgeClient, path: &str) -> Result<u16, String> {
    let attempt = async {
        let mut tls = client
            .handshake(CANONICAL)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let request = http_request("GET", path, Some(&client.authority(CANONICAL)), &[], b"");
        tls.write_all(&request).await.map_err(|e| format!("write: {e}"))?;
        tls.flush().await.map_err(|e| format!("flush: {e}"))?;
        let reply = read_reply(&mut tls).await.map_err(|e| format!("read: {e}"))?;
        Ok(reply.status)
    };
    tokio::time::timeout(Duration::from_secs(20), attempt)
        .await
        .unwrap_or_else(|_| Err("no answer within 20 s".to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_under_load_hands_the_sockets_over_without_a_failed_request() {
    let (_db, store, _up) = seeded().await;
    let portal = format!("127.0.0.1:{}", store.ports.portal);
    let grace = GRACE_SECONDS.to_string();
    let env = [
        ("PORTA_EDGE_UPSTREAMS", portal.as_str()),
        ("PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS", grace.as_str()),
    ];
    let ports = Ports::fresh();
    let old = store.start_edge_node(ports, &env);
    let old_pid = edge_pid(&old);
    let client = EdgeClient::on_ports(&store, ports);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let answered_after_old_exit = Arc::new(AtomicUsize::new(0));
    let old_gone = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (client, stop, answered, after, old_gone) = (
            client.clone(),
            stop.clone(),
            answered.clone(),
            answered_after_old_exit.clone(),
            old_gone.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let gone = old_gone.load(Ordering::Acquire);
                match try_get(&client, "/auth/client-portal/signin").await {
                    Ok(200) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if gone {
                            after.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    other => failures.push(format!("{other:?}")),
                }
            }
            failures
        }));
    }
    // Load is on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.load(Ordering::Relaxed) < 20 {
        assert!(Instant::now() < deadline, "no load through the old edge");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The new edge waits for the sockets; the old one sends them on SIGQUIT.
    let socket = store.data_dir().join("edge-upgrade.sock");
    let new = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| store.start_edge_upgrade(ports, &env));
        // Once it listens on the upgrade socket, the old one may send.
        let until = Instant::now() + Duration::from_secs(60);
        while !socket.exists() {
            assert!(
                Instant::now() < until,
                "the new edge never opened {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(old_pid, "QUIT");
        waiting.join().unwrap()
    });
    let new_pid = edge_pid(&new);
    assert_ne!(new_pid, old_pid);

    // The old one drains and exits by itself.
    let deadline = Instant::now() + Duration::from_secs(5 + GRACE_SECONDS + 10);
    while alive(old_pid) {
        assert!(
            Instant::now() < deadline,
            "the old edge did not exit after the hand-over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    old_gone.store(true, Ordering::Release);
    let before = answered_after_old_exit.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered_after_old_exit.load(Ordering::Relaxed) < before + 20 {
        assert!(Instant::now() < deadline, "no answers after the old edge exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Release);
    let mut failures = Vec::new();
    for c in clients {
        failures.extend(c.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests failed across the upgrade: {failures:?}\n--- old edge ---\n{}\n--- new edge ---\n{}",
        failures.len(),
        answered.load(Ordering::Relaxed) + failures.len(),
        old.stderr(),
        new.stderr()
    );
    println!(
        "upgrade under load: {} requests answered, {} after the old edge exited, none failed",
        answered.load(Ordering::Relaxed),
        answered_after_old_exit.load(Ordering::Relaxed)
    );
    // The new process serves the metrics listener too, and counted requests.
    let text = new.metrics().await;
    let served: u64 = metric_sample(
        &text,
        "porta_edge_requests_total{host_kind=\"canonical\",status=\"200\"}",
    )
    .unwrap_or(0);
    assert!(served >= 20, "the new edge counted {served} requests:\n{text}");
    drop(old);
}
