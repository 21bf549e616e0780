//! Sends what the outbox holds: every `mail.poll_interval_seconds`, or at
//! once when this node just wrote a message ([`Wake`]). A failed message
//! is retried after a growing delay (15 s doubling, at most an hour), so a
//! server that is down loses nothing: the mail goes when it returns.

use std::sync::Arc;
use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::{outbox, Db};
use rand::Rng;
use tokio::sync::Notify;

use super::Transport;

/// Messages claimed per round.
const BATCH: i64 = 20;
/// How long a claimed message is held by this node.
const LOCK_SECONDS: i64 = 120;

/// Tells the sender there is mail now.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

/// The retry delay after `attempts` failed attempts.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    Duration::from_secs(15u64.saturating_mul(1 << doublings)).min(Duration::from_secs(3600))
}

/// Sends every due message once; returns how many were sent.
pub async fn send_due(db: &Db, transport: &Transport, from: &str) -> Result<usize, porta_core::db::DbError> {
    let mut sent = 0;
    loop {
        let now = UnixMillis::now();
        let batch = outbox::claim(db, BATCH, LOCK_SECONDS, now).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for mail in batch {
            match transport.send(from, &mail).await {
                Ok(()) => {
                    outbox::sent(db, &mail.id, UnixMillis::now()).await?;
                    tracing::info!(kind = %mail.kind, id = %mail.id, "mail sent");
                    sent += 1;
                }
                Err(e) => {
                    let delay = backoff(mail.attempts);
                    let jitter = rand::thread_rng().gen_range(0..=delay.as_millis() as i64 / 10);
                    let retry = UnixMillis(UnixMillis::now().0 + delay.as_millis() as i64 + jitter);
                    tracing::warn!(kind = %mail.kind, id = %mail.id, attempts = mail.attempts + 1, error = %e, "mail not sent; will retry");
                    outbox::failed(db, &mail.id, &e.to_string(), retry).await?;
                }
            }
        }
    }
}

/// The sender's loop, until `stop` fires.
pub async fn run(
    db: Db,
    transport: Transport,
    from: String,
    poll: Duration,
    wake: Wake,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = send_due(&db, &transport, &from).await {
            tracing::warn!(error = %e, "mail outbox unavailable");
        }
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(15));
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(5), Duration::from_secs(480));
        assert_eq!(backoff(9), Duration::from_secs(3600));
        assert_eq!(backoff(i32::MAX), Duration::from_secs(3600));
        assert_eq!(backoff(-1), Duration::from_secs(15));
    }
}
