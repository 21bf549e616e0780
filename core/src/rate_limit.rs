//! Per-IP request limits: a fixed one-minute window per address, in memory
//! (each portal process counts its own; the per-account limit, kept in the
//! database, is what holds across nodes).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::UnixMillis;

/// Entries beyond this trigger a sweep of windows that have passed, so a
/// flood of addresses cannot grow the map without bound.
const SWEEP_AT: usize = 10_000;

pub struct IpRateLimiter {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl IpRateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `ip` at `now`; false when over the limit.
    pub fn allow(&self, ip: IpAddr, now: UnixMillis) -> bool {
        let minute = now.0.div_euclid(60_000);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(ip).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }

    /// Seconds until the current window ends.
    pub fn retry_after(now: UnixMillis) -> u64 {
        let into = now.0.rem_euclid(60_000);
        u64::try_from((60_000 - into + 999) / 1000).unwrap_or(60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_per_minute() {
        let limiter = IpRateLimiter::per_minute(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t = UnixMillis(120_000);
        assert!(limiter.allow(a, t));
        assert!(limiter.allow(a, t));
        assert!(!limiter.allow(a, t));
        assert!(limiter.allow(b, t));
        assert!(limiter.allow(a, UnixMillis(180_000)));
        assert_eq!(IpRateLimiter::retry_after(UnixMillis(120_500)), 60);
    }

    #[test]
    fn sweeps_old_windows() {
        let limiter = IpRateLimiter::per_minute(1);
        for i in 0..SWEEP_AT as u32 {
            limiter.allow(IpAddr::from(i.to_be_bytes()), UnixMillis(0));
        }
        limiter.allow("10.9.9.9".parse().unwrap(), UnixMillis(60_000));
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
