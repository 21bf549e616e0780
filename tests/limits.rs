//! Request limits, against the real `porta up` binary reached through its
//! edge the way clients reach it (TLS on the edge's HTTPS port, HTTP/1.1 or
//! HTTP/2 by hand); `docs/security.md` ("Request limits") lists each limit,
//! its value and where it is set.
//!
//! - a request head over the limit is refused with the exact status the
//!   edge or the portal sends;
//! - bodies over their route's limit are refused (413 for the whole body,
//!   the form again for one file over `attachments.max_file_bytes`) and
//!   nothing is stored;
//! - a client sending a byte every 2 s is cut off at the read deadlines;
//! - HTTP/2: streams beyond `edge.h2_max_concurrent_streams` are refused, a
//!   rapid-reset flood ends in GOAWAY, a header list over the limit is 431;
//! - 10 000 random unknown server names cost a bounded number of
//!   certificate lookups in the database (the per-IP limit, and the
//!   negative cache for names that repeat), counted from the edge's
//!   metrics, and create nothing.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::edge_client::*;
use common::h2_frames::{self as h2, Frame};
use common::{forms, metric_sample, Porta, Reply, Session, Store, DEMO_CUSTOM_DOMAIN};
use porta_core::db::Db;
use porta_testkit::{both_backends, TestDb};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

both_backends! {
    bodies_over_their_route_limit_are_refused_and_nothing_is_stored => body_limits;
}

/// Bound on anything the edge should answer at once.
const ANSWER: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// Helpers

/// Sends `request` on a new TLS connection with SNI `host` while reading
/// the reply: a server that answers before the whole body has arrived (and
/// stops reading) must not make the test lose its answer.
async fn send_while_reading(edge: &EdgeClient, host: &str, request: Vec<u8>) -> Reply {
    let tls = edge.handshake(host).await.expect("TLS handshake");
    let (mut reader, mut writer) = tokio::io::split(tls);
    let writing = tokio::spawn(async move {
        for chunk in request.chunks(16 * 1024) {
            if writer.write_all(chunk).await.is_err() {
                return;
            }
        }
        let _ = writer.flush().await;
        // Keep the write half open until the reply is read.
        std::future::pending::<()>().await;
    });
    let reply = tokio::time::timeout(ANSWER, read_reply(&mut reader))
        .await
        .expect("an answer in time")
        .expect("a whole answer");
    writing.abort();
    reply
}

/// Rows of `table` (a name from this file, not input).
async fn rows(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

/// The edge's counter `series` (0 before it first appears).
async fn counter(porta: &Porta, series: &str) -> u64 {
    metric_sample(&porta.metrics().await, series).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Request heads

/// A GET of the sign-in page on the canonical host with `headers` added;
/// the answer (`None` when the connection was closed without one).
async fn get_with_headers(edge: &EdgeClient, headers: &[(&str, &str)]) -> Option<Reply> {
    let request = http_request(
        "GET",
        "/auth/client-portal/signin",
        Some(&edge.authority(CANONICAL)),
        headers,
        b"",
    );
    let tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
    let (mut reader, mut writer) = tokio::io::split(tls);
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        let _ = writer.flush().await;
        std::future::pending::<()>().await;
    });
    let reply = tokio::time::timeout(ANSWER, read_reply(&mut reader))
        .await
        .expect("an answer (or a close) in time");
    writing.abort();
    reply.ok()
}

/// Who answered: the edge itself (Pingora names itself) or the portal.
fn answered_by(reply: &Reply) -> &'static str {
    match reply.headers.get("server").and_then(|v| v.to_str().ok()) {
        Some("Pingora") => "edge",
        _ => "portal",
    }
}

/// HTTP/1.1 request heads, as measured: a head within the portal's limit
/// (hyper's read buffer, 417 792 bytes) is served; one well over it (1000
/// KiB) is answered 431 by the portal through the edge; over the edge's
/// own limit (Pingora's 1 048 575 bytes) the edge answers 400 itself
/// without asking the portal. (Both limits are checked before each read,
/// so a head that completes in the read crossing one still passes: heads
/// between 408 KiB and about twice that may be served.) By count: over
/// 100 headers (hyper's limit, the edge's own forwarding headers included)
/// 431 from the portal; over 256 (Pingora's) 400 from the edge. Both answers close the connection; the edge serves
/// the next one as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_over_the_limit_are_refused() {
    let store = Store::sqlite();
    let _porta = store.up();
    let edge = EdgeClient::new(&store);
    let mut seen = Vec::new();
    for (bytes, expected) in [
        (16 * 1024, (200, "portal")),
        (300 * 1024, (200, "portal")),
        (1000 * 1024, (431, "portal")),
        (1200 * 1024, (400, "edge")),
    ] {
        let padding = "a".repeat(bytes);
        let reply = get_with_headers(&edge, &[("X-Padding", &padding)])
            .await
            .unwrap_or_else(|| panic!("no answer to a head with a {bytes}-byte header"));
        seen.push((
            format!("{bytes} bytes"),
            (reply.status, answered_by(&reply)),
            expected,
        ));
    }
    for (count, expected) in [
        (90, (200, "portal")),
        (120, (431, "portal")),
        (300, (400, "edge")),
    ] {
        let names: Vec<String> = (0..count).map(|i| format!("X-Header-{i}")).collect();
        let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let reply = get_with_headers(&edge, &headers)
            .await
            .unwrap_or_else(|| panic!("no answer to a head with {count} headers"));
        seen.push((
            format!("{count} headers"),
            (reply.status, answered_by(&reply)),
            expected,
        ));
    }
    for (what, got, expected) in &seen {
        assert_eq!(got, expected, "a head with {what}: {seen:?}");
    }
    let ok = edge.get(CANONICAL, "/auth/client-portal/signin", None).await;
    assert_eq!(ok.status, 200, "the edge still serves");
}

// ---------------------------------------------------------------------------
// Bodies

/// A multipart form body with `fields` and, when given, one file.
fn multipart(boundary: &str, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; \
                 filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// Posts a new ticket titled `title` as the client portal's form does (its
/// CSRF token, Origin and session), with a text file of `file_bytes` bytes.
async fn post_ticket(edge: &EdgeClient, session: &Session, title: &str, file_bytes: usize) -> Reply {
    let page = edge
        .get(DEMO_CUSTOM_DOMAIN, "/client-portal/tickets/new", Some(session))
        .await;
    assert_eq!(page.status, 200, "the new-ticket page: {page:?}");
    let token = forms::csrf_field(&page.body).expect("a CSRF field on the new-ticket page");
    let boundary = "porta-limits-boundary";
    let file = vec![b'a'; file_bytes];
    let body = multipart(
        boundary,
        &[
            (forms::CSRF_FIELD, &token),
            ("title", title),
            ("description", "Posted by the request-limit test."),
        ],
        Some(("notes.txt", &file)),
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let cookie = session.cookie_header();
    let origin = edge.origin(DEMO_CUSTOM_DOMAIN);
    let request = http_request(
        "POST",
        "/client-portal/tickets",
        Some(&edge.authority(DEMO_CUSTOM_DOMAIN)),
        &[
            ("Content-Type", &content_type),
            ("Cookie", &cookie),
            ("Origin", &origin),
        ],
        &body,
    );
    send_while_reading(edge, DEMO_CUSTOM_DOMAIN, request).await
}

/// `attachments.max_file_bytes` = 100 KiB and one file per upload (so a
/// request carrying files may be 100 KiB + 256 KiB): a ticket with a 50 KiB
/// file is stored (the form the test posts is a good one); one with a
/// 150 KiB file gets the form again (400) saying the file is over the
/// limit; one with a 400 KiB file is refused whole (413, the "Too large"
/// page) before any handler runs; a sign-in form over the 64 KiB of a form
/// post is 413 too and signs nobody in. None of the refused ones stores a
/// ticket or a document.
async fn body_limits(db: TestDb) {
    let store = Store::new(&db);
    let _porta = store.start(
        "up",
        &[
            ("PORTA_ATTACHMENTS_MAX_FILE_BYTES", "102400"),
            ("PORTA_ATTACHMENTS_MAX_FILES", "1"),
        ],
    );
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let handoff = edge.sign_in(&jane(&store), None).await;
    let (session, _) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;

    let tickets = rows(&pool, "tickets").await;
    let documents = rows(&pool, "documents").await;
    let stored = post_ticket(&edge, &session, "Within the limits", 50 * 1024).await;
    assert_eq!(stored.status, 303, "a ticket within the limits: {stored:?}");
    assert_eq!(rows(&pool, "tickets").await, tickets + 1);
    assert_eq!(rows(&pool, "documents").await, documents + 1);

    let over_file = post_ticket(&edge, &session, "File over the limit", 150 * 1024).await;
    assert_eq!(over_file.status, 400, "{over_file:?}");
    assert!(
        over_file
            .body
            .contains("notes.txt is larger than the limit of 100.0 KB."),
        "the form says which file is too large and the limit:\n{}",
        over_file.body
    );

    let over_request = post_ticket(&edge, &session, "Request over the limit", 400 * 1024).await;
    assert_eq!(over_request.status, 413, "{over_request:?}");
    assert_eq!(title(&over_request), "Too large · Acme IT Services");
    assert!(
        over_request.body.contains("the request body is too large"),
        "{}",
        over_request.body
    );
    assert_eq!(rows(&pool, "tickets").await, tickets + 1, "no ticket stored");
    assert_eq!(
        rows(&pool, "documents").await,
        documents + 1,
        "no document stored"
    );

    let csrf = edge.signin_csrf("/auth/client-portal/signin").await;
    let jane = jane(&store);
    let padding = "a".repeat(70 * 1024);
    let body = form_body(&[
        ("email", &jane.email),
        ("password", &jane.password),
        ("padding", &padding),
        (forms::CSRF_FIELD, &csrf.token),
    ]);
    let origin = edge.origin(CANONICAL);
    let request = http_request(
        "POST",
        "/auth/client-portal/signin",
        Some(&edge.authority(CANONICAL)),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &csrf.cookie),
            ("Origin", &origin),
        ],
        body.as_bytes(),
    );
    let sessions = rows(&pool, "sessions").await;
    let refused = send_while_reading(&edge, CANONICAL, request).await;
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(title(&refused), "Too large · Acme IT Services");
    assert!(
        refused
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with(common::SESSION_COOKIE)),
        "{refused:?}"
    );
    assert_eq!(rows(&pool, "sessions").await, sessions, "nobody signed in");
}

// ---------------------------------------------------------------------------
// Slow clients

const HEAD_TIMEOUT: Duration = Duration::from_secs(3);
const BODY_TIMEOUT: Duration = Duration::from_secs(3);
const TRICKLE: Duration = Duration::from_secs(2);
/// How late after its deadline a cut may come (scheduling on a busy CI).
const MARGIN: Duration = Duration::from_secs(3);

/// Sends `prefix`, then `trickle` a byte every [`TRICKLE`] until the edge
/// closes; how long after the prefix that was, and what the edge sent.
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    prefix: &[u8],
    trickle: &[u8],
) -> (Duration, Vec<u8>) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    writer.write_all(prefix).await.expect("the prefix");
    writer.flush().await.expect("flush");
    let started = Instant::now();
    let writing = async {
        for byte in trickle.iter().cycle() {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                break;
            }
            tokio::time::sleep(TRICKLE).await;
        }
        std::future::pending::<()>().await;
    };
    let mut received = Vec::new();
    let closed = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            () = closed => {}
            () = writing => {}
        }
    })
    .await
    .expect("the edge held a trickling client for a minute");
    (started.elapsed(), received)
}

#[track_caller]
fn assert_cut_at(what: &str, (took, received): &(Duration, Vec<u8>), deadline: Duration) {
    assert!(
        *took + Duration::from_millis(500) >= deadline && *took <= deadline + MARGIN,
        "{what}: cut after {took:?}, the deadline is {deadline:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(received),
        "",
        "{what}: the edge closes without an answer"
    );
}

/// With 3-second read deadlines, a client that sends its request head one
/// byte every 2 s (over TLS and over plain HTTP), or its body so, is
/// disconnected 3 s after it started (within a margin), without an
/// answer: no read waits long enough for Pingora's per-read timeout, the
/// edge's deadline for the whole head or body does it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_a_byte_every_two_seconds_is_cut_off() {
    let store = Store::sqlite();
    let _porta = store.start(
        "up",
        &[
            ("PORTA_EDGE_HEADER_READ_TIMEOUT_SECONDS", "3"),
            ("PORTA_EDGE_BODY_READ_TIMEOUT_SECONDS", "3"),
        ],
    );
    let edge = EdgeClient::new(&store);
    let head = format!(
        "GET /auth/client-portal/signin HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
        edge.authority(CANONICAL)
    );
    let tls_head = async {
        let tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
        trickle(tls, b"", head.as_bytes()).await
    };
    let plain_head = async {
        let tcp = edge.tcp(edge.http_port).await.expect("connect");
        trickle(
            tcp,
            b"",
            b"GET / HTTP/1.1\r\nHost: acme.portal.localhost\r\nX-Slow: aaaaaaaaaa",
        )
        .await
    };
    let body_head = format!(
        "POST /auth/client-portal/signin HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        edge.authority(CANONICAL),
        edge.origin(CANONICAL)
    );
    let tls_body = async {
        let tls = edge.handshake(CANONICAL).await.expect("TLS handshake");
        trickle(tls, body_head.as_bytes(), b"email=a").await
    };
    let (tls_head, plain_head, tls_body) = tokio::join!(tls_head, plain_head, tls_body);
    assert_cut_at("a trickled head over TLS", &tls_head, HEAD_TIMEOUT);
    assert_cut_at("a trickled head over plain HTTP", &plain_head, HEAD_TIMEOUT);
    assert_cut_at("a trickled body", &tls_body, BODY_TIMEOUT);
}

// ---------------------------------------------------------------------------
// HTTP/2

/// A TLS connection to the edge offering only `h2`, for the canonical host.
async fn h2_connection(edge: &EdgeClient) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut config = (*edge.with_sni).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = edge
        .connect_with(Arc::new(config), CANONICAL)
        .await
        .expect("TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "h2 negotiated");
    tls
}

/// Reads frames until `done` says so, at most [`ANSWER`]; every frame read.
async fn frames_until<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut done: impl FnMut(&[Frame]) -> bool,
) -> Vec<Frame> {
    let mut seen = Vec::new();
    let reading = async {
        while let Some(frame) = h2::read_frame(stream).await {
            seen.push(frame);
            if done(&seen) {
                return true;
            }
        }
        false
    };
    let _ = tokio::time::timeout(ANSWER, reading).await;
    seen
}

/// HTTP/2 on the edge, with `edge.h2_max_concurrent_streams` = 10: the
/// server's SETTINGS say 10 streams and a 64 KiB header list; of 15
/// requests opened at once (POSTs whose bodies never come, so none ends)
/// exactly the five beyond the tenth are refused (RST_STREAM
/// REFUSED_STREAM); once the client cancels one, a new request is
/// answered. A flood of streams opened and reset at once ends, after the
/// default 20 such resets, in GOAWAY ENHANCE_YOUR_CALM and a closed
/// connection. A header list over 64 KiB is answered 431. Afterwards the
/// edge serves a new connection as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_stream_and_reset_floods_are_bounded() {
    let store = Store::sqlite();
    let _porta = store.start("up", &[("PORTA_EDGE_H2_MAX_CONCURRENT_STREAMS", "10")]);
    let edge = EdgeClient::new(&store);
    let authority = edge.authority(CANONICAL);
    let post = h2::request_block(
        "POST",
        "/auth/client-portal/signin",
        &authority,
        &[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("content-length", b"100"),
        ],
    );
    let get = h2::request_block("GET", "/auth/client-portal/signin", &authority, &[]);

    // Streams beyond the limit.
    let mut tls = h2_connection(&edge).await;
    let settings = h2::open(&mut tls).await.settings();
    assert!(
        settings.contains(&(h2::MAX_CONCURRENT_STREAMS, 10)),
        "{settings:?}"
    );
    assert!(
        settings.contains(&(h2::MAX_HEADER_LIST_SIZE, 64 * 1024)),
        "{settings:?}"
    );
    let ids: Vec<u32> = (0..15).map(|i| 1 + 2 * i).collect();
    let mut burst = Vec::new();
    for id in &ids {
        burst.extend(h2::headers(*id, &post, false));
    }
    tls.write_all(&burst).await.expect("open 15 streams");
    tls.flush().await.expect("flush");
    let refused = |frames: &[Frame]| -> Vec<u32> {
        frames
            .iter()
            .filter(|f| f.kind == h2::RST_STREAM && f.error_code() == Some(h2::REFUSED_STREAM))
            .map(|f| f.stream)
            .collect()
    };
    let frames = frames_until(&mut tls, |f| refused(f).len() >= 5).await;
    assert_eq!(
        refused(&frames),
        ids[10..],
        "the streams beyond ten are refused: {frames:?}"
    );
    // One cancelled: room for one more, which is answered.
    let next = 1 + 2 * 15;
    let mut more = h2::rst_stream(ids[0], h2::CANCEL);
    more.extend(h2::headers(next, &get, true));
    tls.write_all(&more).await.expect("cancel one, open one");
    tls.flush().await.expect("flush");
    let frames = frames_until(&mut tls, |f| {
        f.iter()
            .any(|f| f.stream == next && (f.kind == h2::HEADERS || f.kind == h2::RST_STREAM))
    })
    .await;
    let answer = frames
        .iter()
        .find(|f| f.stream == next)
        .expect("an answer on the new stream");
    assert_eq!(answer.kind, h2::HEADERS, "the new stream is answered: {frames:?}");
    assert_eq!(h2::status(&answer.payload), Some(200), "{answer:?}");
    drop(tls);

    // Rapid reset: 500 streams, each opened and reset in the same burst.
    let mut tls = h2_connection(&edge).await;
    h2::open(&mut tls).await;
    let mut flood = Vec::new();
    for i in 0..500u32 {
        let id = 1 + 2 * i;
        flood.extend(h2::headers(id, &get, true));
        flood.extend(h2::rst_stream(id, h2::CANCEL));
    }
    // The server may stop reading mid-flood: that is the point.
    let _ = tls.write_all(&flood).await;
    let _ = tls.flush().await;
    let frames = frames_until(&mut tls, |f| f.iter().any(|f| f.kind == h2::GOAWAY)).await;
    let goaway = frames
        .iter()
        .find(|f| f.kind == h2::GOAWAY)
        .unwrap_or_else(|| panic!("no GOAWAY after the reset flood: {frames:?}"));
    assert_eq!(goaway.error_code(), Some(h2::ENHANCE_YOUR_CALM), "{goaway:?}");
    assert!(
        goaway.last_stream().expect("last stream") < 1 + 2 * 500,
        "the flood was cut short: {goaway:?}"
    );
    let rest = frames_until(&mut tls, |_| false).await;
    assert!(
        rest.iter().all(|f| f.kind != h2::HEADERS),
        "nothing answered after GOAWAY: {rest:?}"
    );

    // A header list over 64 KiB: 431.
    let mut tls = h2_connection(&edge).await;
    h2::open(&mut tls).await;
    let big = vec![b'a'; 70 * 1024];
    let block = h2::request_block(
        "GET",
        "/auth/client-portal/signin",
        &authority,
        &[("x-padding", &big)],
    );
    tls.write_all(&h2::headers(1, &block, true))
        .await
        .expect("send a big header list");
    tls.flush().await.expect("flush");
    let frames = frames_until(&mut tls, |f| {
        f.iter()
            .any(|f| f.stream == 1 && (f.kind == h2::HEADERS || f.kind == h2::RST_STREAM))
    })
    .await;
    let answer = frames
        .iter()
        .find(|f| f.stream == 1)
        .expect("an answer on stream 1");
    assert_eq!(answer.kind, h2::HEADERS, "{frames:?}");
    assert_eq!(h2::status(&answer.payload), Some(431), "{answer:?}");
    drop(tls);

    let ok = edge.get(CANONICAL, "/auth/client-portal/signin", None).await;
    assert_eq!(ok.status, 200, "the edge still serves");
}

// ---------------------------------------------------------------------------
// Unknown server names

/// A small xorshift: random-looking names without a dependency.
struct Names(u64);

impl Names {
    fn next(&mut self) -> String {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        format!("r{:016x}.flood.example", self.0)
    }
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 60
}

/// Handshakes with SNI `names[i]` from `sources[i % len]`, 64 at a time;
/// panics if any completes (none of the names has a certificate).
async fn handshake_all(edge: &EdgeClient, sources: &[[u8; 4]], names: Vec<String>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, name) in names.into_iter().enumerate() {
        let client = edge.from(sources[i % sources.len()]);
        let permit = permits.clone().acquire_owned().await.expect("semaphore");
        tasks.spawn(async move {
            let result = client.handshake_accepting_any(&name, true).await;
            drop(permit);
            assert!(result.is_err(), "a handshake for the unknown {name} completed");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a handshake task");
    }
}

/// `edge.unknown_sni_per_ip_per_minute` = 100 and a negative cache that
/// outlives the test: 10 000 handshakes with distinct random names from
/// four client IPs cost at most 100 database lookups per IP per wall-clock
/// minute they span (`porta_edge_cert_db_lookups_total`); the rest are
/// refused without one (`sni_refused`). Then 2 000 handshakes for 20 names
/// from a fifth IP cost at most 20 lookups: each name is looked up once,
/// then remembered as unknown. No certificate order, domain, certificate
/// or lease comes of any of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_unknown_server_names_cost_a_bounded_number_of_lookups() {
    const PER_IP: u64 = 100;
    let store = Store::sqlite();
    let porta = store.start(
        "up",
        &[
            ("PORTA_EDGE_UNKNOWN_SNI_PER_IP_PER_MINUTE", "100"),
            ("PORTA_EDGE_NEGATIVE_CACHE_TTL_SECONDS", "3600"),
        ],
    );
    let pool = store.connect_db().await;
    let edge = EdgeClient::new(&store);
    let lookups = "porta_edge_cert_db_lookups_total";
    let refused = r#"porta_edge_tls_client_hellos_total{result="sni_refused"}"#;
    let tables = ["portal_domains", "certificates", "acme_order_leases"];
    let mut before = Vec::new();
    for table in tables {
        before.push(rows(&pool, table).await);
    }

    let mut names = Names(0x9e37_79b9_7f4a_7c15);
    let flood: Vec<String> = (0..10_000).map(|_| names.next()).collect();
    let sources = [[127, 0, 0, 11], [127, 0, 0, 12], [127, 0, 0, 13], [127, 0, 0, 14]];
    let lookups_before = counter(&porta, lookups).await;
    let refused_before = counter(&porta, refused).await;
    let first_minute = minute_now();
    let started = Instant::now();
    handshake_all(&edge, &sources, flood).await;
    let took = started.elapsed();
    let minutes = minute_now() - first_minute + 1;
    let flood_lookups = counter(&porta, lookups).await - lookups_before;
    let bound = sources.len() as u64 * PER_IP * minutes;
    eprintln!("10 000 unknown names: {flood_lookups} lookups in {took:?} over {minutes} minute(s)");
    assert!(
        flood_lookups <= bound && flood_lookups >= sources.len() as u64,
        "10 000 unknown names from {} IPs over {minutes} minute(s) ({took:?}): {flood_lookups} \
         lookups, at most {bound}",
        sources.len()
    );
    assert_eq!(
        counter(&porta, refused).await - refused_before,
        10_000 - flood_lookups,
        "every handshake beyond the lookups was refused without one"
    );

    // Names that repeat: the negative cache.
    let repeated: Vec<String> = (0..20).map(|_| names.next()).collect();
    let again: Vec<String> = (0..2_000).map(|i| repeated[i % 20].clone()).collect();
    let lookups_before = counter(&porta, lookups).await;
    handshake_all(&edge, &[[127, 0, 0, 15]], again).await;
    let repeat_lookups = counter(&porta, lookups).await - lookups_before;
    eprintln!("2 000 handshakes for 20 names: {repeat_lookups} lookups");
    assert!(
        (1..=20).contains(&repeat_lookups),
        "2 000 handshakes for 20 unknown names: {repeat_lookups} lookups, at most 20"
    );

    let metrics = porta.metrics().await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("porta_certificate_orders_total{")),
        "no certificate order:\n{metrics}"
    );
    for (table, before) in tables.iter().zip(before) {
        assert_eq!(rows(&pool, table).await, before, "no new rows in {table}");
    }
}
