//! Stopping without dropping requests: what is in flight, whether the edge
//! is draining, and the wait for both.
//!
//! Pingora, on its shutdown signal, stops accepting and then sleeps its
//! whole grace period before tearing its runtimes down. The edge instead
//! counts its requests ([`InFlight`], `porta_edge_requests_in_flight`) and
//! [`wait`] returns as soon as none is left (after the [`LINGER`] of a
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

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::EdgeMetrics;

/// In a hand-over, how long after the stop of accepting idle client
/// connections stay open (one accepted just before may still be sending
/// its request).
pub const LINGER: Duration = Duration::from_secs(1);

static DRAINING: AtomicBool = AtomicBool::new(false);
static HANDING_OVER: AtomicBool = AtomicBool::new(false);

/// The edge has been told to stop (SIGTERM), or to hand its sockets over
/// and stop (SIGQUIT, an upgrade).
pub fn start_draining(hand_over: bool) {
    HANDING_OVER.store(hand_over, Ordering::Release);
    DRAINING.store(true, Ordering::Release);
}

/// How long idle connections stay open once accepting stopped.
pub fn linger() -> Duration {
    if HANDING_OVER.load(Ordering::Acquire) {
        LINGER
    } else {
        Duration::ZERO
    }
}

/// Whether responses should close their connection.
pub fn is_draining() -> bool {
    DRAINING.load(Ordering::Acquire)
}

/// One request being answered: counted from creation to drop.
#[derive(Debug)]
pub struct InFlight(());

impl InFlight {
    pub fn start() -> InFlight {
        EdgeMetrics::global().requests_in_flight.inc();
        InFlight(())
    }
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight::start()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        EdgeMetrics::global().requests_in_flight.dec();
    }
}

/// Requests being answered now.
pub fn in_flight() -> i64 {
    EdgeMetrics::global().requests_in_flight.get()
}

/// Blocks after the edge stopped accepting: for the [`linger`] (at most
/// `grace`), then until no request is in flight or `grace` (from now) is
/// over. Returns the requests still in flight (0: drained).
pub fn wait(grace: Duration) -> i64 {
    let deadline = Instant::now() + grace;
    std::thread::sleep(linger().min(grace));
    loop {
        let left = in_flight();
        if left <= 0 || Instant::now() >= deadline {
            return left.max(0);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
