//! When a failed delivery is tried again: exponential backoff with full jitter.

use std::time::Duration;

use rand::Rng;

/// Backoff settings: the n-th retry waits a uniformly random time in
/// `[0, min(max, base * 2^(n-1))]` ("full jitter"), so that many failing deliveries do not
/// come back in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The longest wait after failed attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// A wait after failed attempt `attempt`, drawn from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rng.random_range(0..=micros))
    }
}

/// Whether an answer with `status` is worth another attempt: server errors and 429.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(2),
    };

    #[test]
    fn ceiling_doubles_from_the_base_and_stops_at_the_maximum() {
        let ceilings: Vec<u128> = (1..=7).map(|n| BACKOFF.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(BACKOFF.ceiling(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling_and_spread_out() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=6 {
            let ceiling = BACKOFF.ceiling(attempt);
            let draws: Vec<Duration> = (0..200).map(|_| BACKOFF.delay(attempt, &mut rng)).collect();
            assert!(draws.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            let low = draws.iter().filter(|d| **d < ceiling / 2).count();
            assert!(
                (40..=160).contains(&low),
                "attempt {attempt}: {low} of 200 below half"
            );
        }
    }

    #[test]
    fn server_errors_and_429_are_retried_client_errors_are_not() {
        assert!(retryable_status(500));
        assert!(retryable_status(503));
        assert!(retryable_status(429));
        assert!(!retryable_status(404));
        assert!(!retryable_status(400));
        assert!(!retryable_status(200));
    }
}
