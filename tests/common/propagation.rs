//! Waiting for a change made by one process to be seen by another: the
//! change feed's bound (2 s) is what the tests hold porta to, and what each
//! wait measured is printed, so a run with `--nocapture` shows the latency.

use std::future::Future;
use std::time::{Duration, Instant};

/// How soon every node must see a change another made.
pub const BOUND: Duration = Duration::from_secs(2);

/// Probes until `probe` says yes (`Ok`), at most `bound` after `since`;
/// returns how long after `since` it did. Panics with the last answer when
/// the bound passes first. Probes every 20 ms: a probe is a TLS handshake
/// or a request, each a few milliseconds.
pub async fn seen_within<T, F, Fut>(
    what: &str,
    since: Instant,
    bound: Duration,
    mut probe: F,
) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = since + bound;
    loop {
        match probe().await {
            Ok(value) => {
                let took = since.elapsed();
                eprintln!("propagation: {what}: {} ms", took.as_millis());
                return (value, took);
            }
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {bound:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
