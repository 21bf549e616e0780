//! Deadlines for reading a request: its head within
//! `edge.header_read_timeout_seconds`, its body within
//! `edge.body_read_timeout_seconds`, however slowly the bytes trickle in.
//!
//! Pingora only bounds each read (`HttpSession::set_read_timeout`, 60 s by
//! default, and the keep-alive timeout between requests, applied per read
//! too; `pingora-core/src/protocols/http/v1/server.rs`,
//! `read_request_buf`), so a client sending a header byte every few seconds
//! holds a connection for ever; nothing in Pingora bounds a whole head or
//! body. So [`DeadlineApp`] wraps the proxy's application and hands it
//! every HTTP/1 connection inside a [`DeadlineStream`], whose reads fail
//! with `TimedOut` once the current phase's deadline has passed:
//!
//! - head: from the accept (a new connection) or the first byte of the
//!   next request (a kept-alive one) until the proxy has the head
//!   ([`head_read`], from `early_request_filter`);
//! - body: from then until the body has been read ([`body_read`], from
//!   `request_body_filter`, or [`request_done`] when the edge answers
//!   itself); a request without a body skips it;
//! - then no deadline of ours until the request is logged ([`next_request`]),
//!   while the upstream answers (Pingora's own timeouts apply).
//!
//! HTTP/2 connections (ALPN `h2`) are handed over unwrapped: their requests
//! are frames on one connection, not a byte stream per request.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::{SslDigest, TlsRef};
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use pingora::proxy::Session;
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long each phase may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadDeadlines {
    pub head: Duration,
    pub body: Duration,
}

/// Where a connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a head; the deadline starts at `since` (the first byte, or
    /// the accept), `None` while no byte of it has come.
    Head { since: Option<Instant> },
    /// Reading a body until `until`.
    Body { until: Instant },
    /// Answering: no deadline of ours.
    Answering,
}

/// The phase of one connection, shared by its stream and the proxy.
#[derive(Debug)]
struct Clock {
    deadlines: ReadDeadlines,
    phase: Mutex<Phase>,
}

impl Clock {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase;
    }

    /// When reads stop being allowed, if they ever do.
    fn deadline(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Head { since } => since.map(|t| t + self.deadlines.head),
            Phase::Body { until } => Some(until),
            Phase::Answering => None,
        }
    }

    /// Bytes arrived: the first byte of a head starts its clock.
    fn bytes_read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if let Phase::Head { since: None } = *phase {
            *phase = Phase::Head {
                since: Some(Instant::now()),
            };
        }
    }
}

/// A connection's stream with the deadlines of [`Clock`]; everything but
/// reading is the inner stream's.
pub struct DeadlineStream {
    inner: Stream,
    clock: Arc<Clock>,
    /// The timer for the deadline a pending read waits under.
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl DeadlineStream {
    fn new(inner: Stream, deadlines: ReadDeadlines) -> Self {
        DeadlineStream {
            inner,
            clock: Arc::new(Clock {
                deadlines,
                phase: Mutex::new(Phase::Head {
                    since: Some(Instant::now()),
                }),
            }),
            timer: None,
        }
    }

    /// Polls the timer for `deadline`: ready when it has passed.
    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.timer {
            Some((at, sleep)) if *at == deadline => sleep.as_mut().poll(cx),
            _ => {
                let mut sleep = Box::pin(tokio::time::sleep_until(deadline));
                let polled = sleep.as_mut().poll(cx);
                self.timer = Some((deadline, sleep));
                polled
            }
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the client did not send the request in time",
    )
}

impl fmt::Debug for DeadlineStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadlineStream")
            .field("inner", &self.inner)
            .field("phase", &self.clock.phase())
            .finish()
    }
}

impl AsyncRead for DeadlineStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let deadline = this.clock.deadline();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Poll::Ready(Err(timed_out()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // The clock may just have started (a head's first byte came
                // with an earlier read): wait under the current deadline.
                match this.clock.deadline() {
                    Some(deadline) => match this.poll_deadline(deadline, cx) {
                        Poll::Ready(()) => Poll::Ready(Err(timed_out())),
                        Poll::Pending => Poll::Pending,
                    },
                    None => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for DeadlineStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for DeadlineStream {
    async fn shutdown(&mut self) {
        self.inner.shutdown().await;
    }
}

impl UniqueID for DeadlineStream {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for DeadlineStream {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for DeadlineStream {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for DeadlineStream {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest);
    }
}

impl GetSocketDigest for DeadlineStream {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest);
    }
}

#[async_trait]
impl Peek for DeadlineStream {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

/// A Pingora application whose HTTP/1 connections read under
/// [`ReadDeadlines`]; everything else is `inner`'s.
pub struct DeadlineApp<A> {
    inner: Arc<A>,
    deadlines: ReadDeadlines,
    drain: Arc<crate::drain::Drain>,
}

impl<A> DeadlineApp<A> {
    pub fn new(inner: A, deadlines: ReadDeadlines, drain: Arc<crate::drain::Drain>) -> Self {
        DeadlineApp {
            inner: Arc::new(inner),
            deadlines,
            drain,
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for DeadlineApp<A> {
    async fn process_new(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let stream: Stream = if stream.selected_alpn_proto() == Some(ALPN::H2) {
            stream
        } else {
            Box::new(DeadlineStream::new(stream, self.deadlines))
        };
        self.inner.process_new(stream, shutdown).await
    }

    /// Runs once the service stopped accepting: idle connections are
    /// closed, in a hand-over after the linger (a connection accepted just
    /// before may still be sending its request, see [`crate::drain`]).
    async fn cleanup(&self) {
        tokio::time::sleep(self.drain.linger()).await;
        self.inner.cleanup().await;
    }
}

/// The clock of the connection `session` reads from, if it has one.
fn clock(session: &Session) -> Option<&Clock> {
    let stream = session.as_downstream().stream()?;
    let ours = stream.as_any().downcast_ref::<DeadlineStream>()?;
    Some(&ours.clock)
}

/// The head of the session's request has been read: its body (if any) now
/// has the body deadline.
pub fn head_read(session: &mut Session) {
    let empty = session.as_downstream_mut().is_body_empty();
    if let Some(clock) = clock(session) {
        clock.set(if empty {
            Phase::Answering
        } else {
            Phase::Body {
                until: Instant::now() + clock.deadlines.body,
            }
        });
    }
}

/// The request's body has been read.
pub fn body_read(session: &Session) {
    request_done(session);
}

/// The edge answers the request now: nothing more of it needs reading
/// under a deadline.
pub fn request_done(session: &Session) {
    if let Some(clock) = clock(session) {
        clock.set(Phase::Answering);
    }
}

/// The request is over: the connection waits for the next head (its clock
/// starts at the first byte).
pub fn next_request(session: &Session) {
    if let Some(clock) = clock(session) {
        clock.set(Phase::Head { since: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(phase: Phase) -> Clock {
        Clock {
            deadlines: ReadDeadlines {
                head: Duration::from_secs(5),
                body: Duration::from_secs(7),
            },
            phase: Mutex::new(phase),
        }
    }

    #[tokio::test]
    async fn each_phase_has_its_deadline() {
        let now = Instant::now();
        assert_eq!(
            clock(Phase::Head { since: Some(now) }).deadline(),
            Some(now + Duration::from_secs(5))
        );
        assert_eq!(clock(Phase::Head { since: None }).deadline(), None);
        assert_eq!(clock(Phase::Body { until: now }).deadline(), Some(now));
        assert_eq!(clock(Phase::Answering).deadline(), None);
    }

    #[tokio::test]
    async fn a_heads_first_byte_starts_its_clock_once() {
        let c = clock(Phase::Head { since: None });
        c.bytes_read();
        let Phase::Head { since: Some(first) } = c.phase() else {
            panic!("the clock did not start: {:?}", c.phase());
        };
        c.bytes_read();
        assert_eq!(c.phase(), Phase::Head { since: Some(first) });
        // Body bytes change nothing.
        let body = clock(Phase::Body { until: first });
        body.bytes_read();
        assert_eq!(body.phase(), Phase::Body { until: first });
    }
}
