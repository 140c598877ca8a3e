//! The open model's timeline: when each request is meant to be sent, how many fit in a run,
//! and latency counted from the intended send time.
//!
//! Measuring from the actual send time hides a stall: while a server holds one answer for a
//! second, a closed loop simply sends nothing, and the requests that should have gone out
//! meanwhile never show their wait ("coordinated omission"). Here request `k` is due at
//! `start + k / rate` whatever happens; if it leaves late, its lateness is part of its
//! latency, as a user arriving on schedule would have experienced it.

use std::time::{Duration, Instant};

/// A send that starts this long after its intended time or later counts as late. Timers wake
/// up to about a millisecond after their deadline, so a smaller bound would count the timer.
pub const LATE_AFTER: Duration = Duration::from_millis(5);

/// A connection that finds its next request due this long ago opens another connection
/// (within the cap): it cannot keep up alone.
pub const GROW_AFTER: Duration = Duration::from_millis(1);

/// Intended send times at a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    rate: f64,
}

impl Schedule {
    /// `rate` in requests per second; must be positive and finite.
    pub fn new(rate: f64) -> Option<Schedule> {
        (rate.is_finite() && rate > 0.0).then_some(Schedule { rate })
    }

    /// When request `k` (from 0) is due, after the start.
    pub fn offset(&self, k: u64) -> Duration {
        Duration::from_secs_f64(k as f64 / self.rate)
    }

    /// How many requests are due strictly before `length` has passed.
    pub fn slots_within(&self, length: Duration) -> u64 {
        let mut n = (length.as_secs_f64() * self.rate).ceil() as u64;
        // The float estimate can be one off either way; settle it with `offset` itself.
        while n > 0 && self.offset(n - 1) >= length {
            n -= 1;
        }
        while self.offset(n) < length {
            n += 1;
        }
        n
    }
}

/// What a connection does with a request due at `intended` when it is free at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Early: wait this long, then send.
    Wait(Duration),
    /// Due already: send now, this far behind.
    Behind(Duration),
}

pub fn start(intended: Instant, now: Instant) -> Start {
    if intended > now {
        Start::Wait(intended - now)
    } else {
        Start::Behind(now - intended)
    }
}

/// Latency of a request due at `intended` and answered at `done`, in microseconds.
pub fn corrected_latency_us(intended: Instant, done: Instant) -> u64 {
    done.saturating_duration_since(intended).as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_rate() {
        let s = Schedule::new(200.0).unwrap();
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(1), Duration::from_millis(5));
        assert_eq!(s.offset(1000), Duration::from_secs(5));
        assert!(Schedule::new(0.0).is_none());
        assert!(Schedule::new(f64::NAN).is_none());
    }

    #[test]
    fn slots_are_those_due_strictly_inside_the_run() {
        let s = Schedule::new(10.0).unwrap();
        // 0.0, 0.1, ..., 0.9 s: the slot at exactly 1 s is outside.
        assert_eq!(s.slots_within(Duration::from_secs(1)), 10);
        assert_eq!(s.slots_within(Duration::from_millis(1001)), 11);
        assert_eq!(s.slots_within(Duration::ZERO), 0);
        let odd = Schedule::new(3.0).unwrap();
        assert_eq!(odd.slots_within(Duration::from_secs(2)), 6);
        assert_eq!(
            Schedule::new(0.5)
                .unwrap()
                .slots_within(Duration::from_secs(3)),
            2
        );
    }

    #[test]
    fn start_waits_when_early_and_measures_how_far_behind_when_late() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(start(t + ms(3), t), Start::Wait(ms(3)));
        assert_eq!(start(t, t + ms(7)), Start::Behind(ms(7)));
        assert_eq!(start(t, t), Start::Behind(Duration::ZERO));
    }

    /// One connection at 100 requests/s (one every 10 ms) against a server that answers in
    /// 1 ms, except once when it stalls for a second. Measured from the actual send, only
    /// the stalled request looks slow; measured from the intended time, the hundred that
    /// queued behind it show their wait too.
    #[test]
    fn a_stall_shows_in_every_request_that_was_due_during_it() {
        let schedule = Schedule::new(100.0).unwrap();
        let origin = Instant::now();
        let mut free_at = origin;
        let mut corrected = Vec::new();
        let mut naive = Vec::new();
        let mut late = 0;
        for k in 0..300 {
            let intended = origin + schedule.offset(k);
            let sent = match start(intended, free_at) {
                Start::Wait(wait) => free_at + wait,
                Start::Behind(behind) => {
                    if behind >= LATE_AFTER {
                        late += 1;
                    }
                    free_at
                }
            };
            let service = if k == 50 {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(1)
            };
            let done = sent + service;
            free_at = done;
            corrected.push(corrected_latency_us(intended, done));
            naive.push((done - sent).as_micros() as u64);
        }
        let over_10ms = |v: &[u64]| v.iter().filter(|&&us| us > 10_000).count();
        assert_eq!(over_10ms(&naive), 1);
        // Requests 51..=150 were due during the stall; they drain at 1 ms each, so the
        // backlog clears after about 110 of them.
        assert!(
            (100..=115).contains(&over_10ms(&corrected)),
            "{}",
            over_10ms(&corrected)
        );
        assert_eq!(corrected[50], 1_000_000);
        assert_eq!(corrected[51], 1_000_000 - 10_000 + 1_000);
        assert!((95..=112).contains(&late), "{late}");
        assert_eq!(*corrected.last().unwrap(), 1_000);
    }
}
