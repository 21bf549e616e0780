//! Stopping without dropping requests: what is in flight, whether the edge
//! is draining, and the wait for both.
//!
//! Pingora, on its shutdown signal, stops accepting and then sleeps its
//! whole grace period before tearing its runtimes down. The edge instead
//! counts its requests ([`InFlight`], `porta_edge_requests_in_flight`) and
//! [`Drain::wait`] returns as soon as none is left (after the [`LINGER`] of a
//! hand-over; at the latest when `edge.shutdown_grace_period_seconds` is
//! over): the process then exits, sooner than Pingora would.
//!
//! While draining, every response closes its connection (`Connection:
//! close`), so keep-alive clients open their next request's connection on
//! the listening socket (in an upgrade: to the new process). Idle
//! connections are closed by Pingora once accepting stopped; in a
//! hand-over only after the [`LINGER`], so that a connection accepted just
//! before still gets its request answered while the new process takes the
//! next ones.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::EdgeMetrics;

/// In a hand-over, how long after the stop of accepting idle client
/// connections stay open (one accepted just before may still be sending
/// its request).
pub const LINGER: Duration = Duration::from_secs(1);

/// One edge server's stopping state (tests run several edges in one
/// process, so it is not global; the gauge sums them).
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
    handing_over: AtomicBool,
    in_flight: AtomicI64,
}

impl Drain {
    pub fn new() -> Arc<Drain> {
        Arc::new(Drain::default())
    }

    /// The edge has been told to stop (SIGTERM), or to hand its sockets
    /// over and stop (SIGQUIT, an upgrade).
    pub fn start(&self, hand_over: bool) {
        self.handing_over.store(hand_over, Ordering::Release);
        self.draining.store(true, Ordering::Release);
    }

    /// Whether responses should close their connection.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// How long idle connections stay open once accepting stopped.
    pub fn linger(&self) -> Duration {
        if self.handing_over.load(Ordering::Acquire) {
            LINGER
        } else {
            Duration::ZERO
        }
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Blocks after the edge stopped accepting: for the [`Drain::linger`]
    /// (at most `grace`), then until no request is in flight or `grace`
    /// (from now) is over. Returns the requests still in flight (0:
    /// drained).
    pub fn wait(&self, grace: Duration) -> i64 {
        let deadline = Instant::now() + grace;
        std::thread::sleep(self.linger().min(grace));
        loop {
            let left = self.in_flight();
            if left <= 0 || Instant::now() >= deadline {
                return left.max(0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One request being answered: counted from creation to drop.
#[derive(Debug)]
pub struct InFlight(Arc<Drain>);

impl InFlight {
    pub fn start(drain: &Arc<Drain>) -> InFlight {
        drain.in_flight.fetch_add(1, Ordering::AcqRel);
        EdgeMetrics::global().requests_in_flight.inc();
        InFlight(drain.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        EdgeMetrics::global().requests_in_flight.dec();
    }
}
