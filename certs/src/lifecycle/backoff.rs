//! How long the lifecycle waits before trying a domain again: a delay
//! that doubles with each failure up to a cap, times a jitter factor so that
//! nodes do not retry in step. The jitter is passed in, so callers that need
//! exact times (tests, the state machine's) choose it.

use std::time::Duration;

use rand::Rng;

use super::LifecycleSettings;

/// The factor a delay is multiplied by so that nodes do not retry in step:
/// within [0.8, 1.2].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter(f64);

impl Jitter {
    /// The shortest delay (0.8).
    pub const MIN: Jitter = Jitter(0.8);
    /// No jitter (1.0).
    pub const NONE: Jitter = Jitter(1.0);
    /// The longest delay (1.2).
    pub const MAX: Jitter = Jitter(1.2);

    /// A factor within the bounds, clamped (NaN is none).
    pub fn new(factor: f64) -> Jitter {
        if factor.is_nan() {
            return Jitter::NONE;
        }
        Jitter(factor.clamp(Jitter::MIN.0, Jitter::MAX.0))
    }

    /// A random factor within the bounds.
    pub fn random() -> Jitter {
        Jitter(rand::thread_rng().gen_range(Jitter::MIN.0..Jitter::MAX.0))
    }

    pub fn factor(self) -> f64 {
        self.0
    }
}

/// The delay after `attempts` earlier failures: `first_retry` after the
/// first, doubling from there, capped at `max_retry`, times `jitter`.
pub fn backoff(attempts: i32, settings: &LifecycleSettings, jitter: Jitter) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = settings
        .first_retry
        .saturating_mul(1u32 << exp)
        .min(settings.max_retry);
    base.mul_f64(jitter.factor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_is_bounded() {
        let s = LifecycleSettings::default();
        for (attempts, base) in [
            (0, 60),
            (1, 120),
            (2, 240),
            (5, 1920),
            (6, 3600),
            (30, 3600),
            (-3, 60),
        ] {
            assert_eq!(
                backoff(attempts, &s, Jitter::NONE),
                Duration::from_secs(base),
                "{attempts}"
            );
        }
        assert_eq!(backoff(0, &s, Jitter::MIN), Duration::from_secs(48));
        assert_eq!(backoff(6, &s, Jitter::MAX), Duration::from_secs(4320));
        assert_eq!(Jitter::new(5.0), Jitter::MAX);
        assert_eq!(Jitter::new(0.1), Jitter::MIN);
        assert_eq!(Jitter::new(f64::NAN), Jitter::NONE);
        for _ in 0..100 {
            let f = Jitter::random().factor();
            assert!((0.8..1.2).contains(&f), "{f}");
        }
    }
}
