//! Brute-force limits of the sign-in forms, counted in the database so they
//! hold across nodes ([`porta_core::db::throttle`]):
//!
//! - per client IP: at most `signin.max_attempts_per_ip_per_minute`
//!   attempts a minute, whatever the account;
//! - per account and IP: `signin.max_failures_per_account` failures within
//!   `signin.failure_window_minutes` lock that account *from that IP* for
//!   the window, so a stranger cannot lock the owner out from elsewhere;
//! - per account, from anywhere: past that many failures each attempt waits
//!   a growing delay (0.25 s doubling, at most 8 s) before the password is
//!   checked, which slows a distributed guesser without locking anyone out.
//!
//! Refusals say the same whichever limit was hit. Refused attempts are
//! counted; only the first of each window is written to the audit log.

use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::throttle::{self, Scope};
use porta_core::email::EmailAddress;

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

const PER_IP: Scope = Scope("signin.ip");
const FAILURES_PER_ACCOUNT: Scope = Scope("signin.failures.account");
const FAILURES_PER_ACCOUNT_IP: Scope = Scope("signin.failures.account_ip");
const REFUSED: Scope = Scope("signin.refused");

const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// What the limits say about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the credentials, after waiting `delay`.
    Go { delay: Duration },
    /// Refuse without checking; `reason` is for the log and the audit row.
    Refused { reason: &'static str, retry_after: u64 },
}

/// The attempt's keys.
pub struct Attempt {
    ip: String,
    account: Option<String>,
    account_ip: Option<String>,
}

impl Attempt {
    pub fn new(site: &Site, email: Option<&EmailAddress>) -> Self {
        let ip = site.client_ip.to_string();
        let account = email.map(|e| format!("{}:{e}", site.tenant.id));
        let account_ip = account.as_ref().map(|a| format!("{a}:{ip}"));
        Attempt {
            ip,
            account,
            account_ip,
        }
    }
}

fn window_seconds(state: &AppState) -> i64 {
    i64::try_from(state.config.signin.failure_window.as_secs()).unwrap_or(900)
}

/// The delay after `failures` failures of one account, past `threshold`.
pub fn delay_after(failures: i64, threshold: i64) -> Duration {
    if failures < threshold {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures - threshold).unwrap_or(u32::MAX).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// Counts the attempt against the per-IP limit and checks the others.
pub async fn check(state: &AppState, attempt: &Attempt) -> Result<Verdict, AppError> {
    let now = UnixMillis::now();
    let limits = &state.config.signin;
    let per_ip = throttle::hit(&state.db, PER_IP, &attempt.ip, 60, now).await?;
    if per_ip > i64::from(limits.max_attempts_per_ip_per_minute) {
        return Ok(Verdict::Refused {
            reason: "ip_limit",
            retry_after: 60,
        });
    }
    let (Some(account), Some(account_ip)) = (&attempt.account, &attempt.account_ip) else {
        return Ok(Verdict::Go {
            delay: Duration::ZERO,
        });
    };
    let window = window_seconds(state);
    let threshold = i64::from(limits.max_failures_per_account);
    let from_here = throttle::estimate(&state.db, FAILURES_PER_ACCOUNT_IP, account_ip, window, now).await?;
    if from_here >= threshold {
        return Ok(Verdict::Refused {
            reason: "account_ip_lock",
            retry_after: u64::try_from(window).unwrap_or(900),
        });
    }
    let anywhere = throttle::estimate(&state.db, FAILURES_PER_ACCOUNT, account, window, now).await?;
    Ok(Verdict::Go {
        delay: delay_after(anywhere, threshold),
    })
}

/// Counts a failed attempt (wrong password, unknown account).
pub async fn failed(state: &AppState, attempt: &Attempt) -> Result<(), AppError> {
    let (Some(account), Some(account_ip)) = (&attempt.account, &attempt.account_ip) else {
        return Ok(());
    };
    let now = UnixMillis::now();
    let window = window_seconds(state);
    throttle::hit(&state.db, FAILURES_PER_ACCOUNT, account, window, now).await?;
    throttle::hit(&state.db, FAILURES_PER_ACCOUNT_IP, account_ip, window, now).await?;
    Ok(())
}

/// A successful sign-in clears the failures from its IP.
pub async fn succeeded(state: &AppState, attempt: &Attempt) -> Result<(), AppError> {
    if let Some(account_ip) = &attempt.account_ip {
        throttle::clear(&state.db, FAILURES_PER_ACCOUNT_IP, account_ip).await?;
    }
    Ok(())
}

/// Counts a refused attempt; `true` when it is the first of its window
/// (the one the audit log records).
pub async fn refused(state: &AppState, attempt: &Attempt) -> Result<bool, AppError> {
    let key = attempt.account_ip.as_deref().unwrap_or(&attempt.ip);
    let count = throttle::hit(&state.db, REFUSED, key, window_seconds(state), UnixMillis::now()).await?;
    Ok(count <= 1)
}

/// Counts one use of a link-token form (reset, setup) from this IP;
/// `true` when the IP is past `limit` an hour. Tokens are 256 bits, so
/// this is against noise, not guessing.
pub async fn link_form_limited(
    state: &AppState,
    site: &Site,
    scope: &'static str,
    limit: i64,
) -> Result<bool, AppError> {
    let ip = site.client_ip.to_string();
    let count = throttle::hit(&state.db, Scope(scope), &ip, 3600, UnixMillis::now()).await?;
    Ok(count > limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_threshold_and_is_capped() {
        assert_eq!(delay_after(0, 5), Duration::ZERO);
        assert_eq!(delay_after(4, 5), Duration::ZERO);
        assert_eq!(delay_after(5, 5), Duration::from_millis(250));
        assert_eq!(delay_after(6, 5), Duration::from_millis(500));
        assert_eq!(delay_after(9, 5), Duration::from_secs(4));
        assert_eq!(delay_after(10, 5), MAX_DELAY);
        assert_eq!(delay_after(i64::MAX, 5), MAX_DELAY);
    }
}
