//! Latency histograms with log-linear buckets: lock-free to record, bounded relative error.
//!
//! Values are microseconds. Below 16 µs every value has its own bucket; above, each power of
//! two is cut into 16 equal buckets, so a bucket is never wider than 1/16 of its lower
//! bound. A percentile is reported as the middle of its bucket, which is therefore within
//! 1/32 (about 3.1 %) of the true value, and never above the largest value recorded.
//! Values from 2^32 µs (about 71 minutes) up share the last bucket.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Values at or above `2^TOP_EXP` µs go to the last bucket.
const TOP_EXP: u32 = 32;
/// How many buckets a histogram has.
pub const BUCKETS: usize = (SUB + (TOP_EXP - SUB_BITS) as u64 * SUB) as usize;

/// The bucket holding `us`.
pub fn bucket_of(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros();
    if exp >= TOP_EXP {
        return BUCKETS - 1;
    }
    let shift = exp - SUB_BITS;
    let sub = (us >> shift) - SUB;
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// The smallest value of bucket `index`.
pub fn lower_bound(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let shift = (index - SUB) / SUB;
    let sub = (index - SUB) % SUB;
    (SUB + sub) << shift
}

/// The largest value of bucket `index` (the last bucket is open-ended).
pub fn upper_bound(index: usize) -> u64 {
    if index + 1 >= BUCKETS {
        u64::MAX
    } else {
        lower_bound(index + 1) - 1
    }
}

/// Counts per bucket, shared by every thread that records; each bucket is one relaxed
/// atomic, so recording never waits for another thread.
pub struct AtomicHistogram {
    buckets: Box<[AtomicU64]>,
}

impl AtomicHistogram {
    pub fn new() -> AtomicHistogram {
        AtomicHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn record(&self, us: u64) {
        self.buckets[bucket_of(us)].fetch_add(1, Relaxed);
    }

    /// Copies the counts into `into` (of length [`BUCKETS`]).
    pub fn read_into(&self, into: &mut [u64]) {
        for (slot, bucket) in into.iter_mut().zip(self.buckets.iter()) {
            *slot = bucket.load(Relaxed);
        }
    }
}

/// Percentile and count queries over bucket counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    pub buckets: Vec<u64>,
}

impl Counts {
    pub fn zero() -> Counts {
        Counts {
            buckets: vec![0; BUCKETS],
        }
    }

    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The value below which a fraction `q` (0 < q ≤ 1) of the recorded values fall: the
    /// middle of the bucket holding the value of rank ⌈q·n⌉, capped at `max`. None when
    /// nothing was recorded.
    pub fn quantile(&self, q: f64, max: u64) -> Option<u64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (index, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = (lower_bound(index), upper_bound(index));
                let middle = if high == u64::MAX {
                    low
                } else {
                    low + (high - low) / 2
                };
                return Some(middle.min(max));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        assert_eq!(lower_bound(0), 0);
        for index in 0..BUCKETS - 1 {
            assert_eq!(
                upper_bound(index) + 1,
                lower_bound(index + 1),
                "bucket {index}"
            );
            assert_eq!(bucket_of(lower_bound(index)), index);
            assert_eq!(bucket_of(upper_bound(index)), index);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(lower_bound(BUCKETS - 1), 31 << 27);
    }

    #[test]
    fn small_values_are_exact() {
        for us in 0..16 {
            assert_eq!(
                (lower_bound(bucket_of(us)), upper_bound(bucket_of(us))),
                (us, us)
            );
        }
        assert_eq!(bucket_of(16), 16);
        assert_eq!(
            (lower_bound(bucket_of(33)), upper_bound(bucket_of(33))),
            (32, 33)
        );
    }

    #[test]
    fn bucket_width_stays_within_a_sixteenth_of_the_value() {
        for index in 16..BUCKETS - 1 {
            let (low, high) = (lower_bound(index), upper_bound(index));
            assert!(
                (high - low + 1) * 16 <= low,
                "bucket {index}: {low}..={high}"
            );
        }
    }

    fn counts_of(values: impl IntoIterator<Item = u64>) -> (Counts, u64) {
        let histogram = AtomicHistogram::new();
        let mut max = 0;
        for us in values {
            histogram.record(us);
            max = max.max(us);
        }
        let mut counts = Counts::zero();
        histogram.read_into(&mut counts.buckets);
        (counts, max)
    }

    #[test]
    fn quantiles_are_within_the_documented_error() {
        // 1..=100_000 µs: the exact q-quantile is q·100_000.
        let (counts, max) = counts_of(1..=100_000);
        assert_eq!(counts.total(), 100_000);
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = q * 100_000.0;
            let estimate = counts.quantile(q, max).unwrap() as f64;
            let error = (estimate - exact).abs() / exact;
            assert!(error <= 1.0 / 32.0, "q={q}: {estimate} vs {exact}");
        }
        assert_eq!(counts.quantile(1.0, max), Some(100_000));
    }

    #[test]
    fn quantiles_of_a_few_values() {
        let (counts, max) = counts_of([3, 5, 7, 1000]);
        assert_eq!(counts.quantile(0.5, max), Some(5));
        assert_eq!(counts.quantile(0.75, max), Some(7));
        // 1000 lies in 992..=1023: the middle, 1007, is capped at the maximum seen.
        assert_eq!(counts.quantile(0.99, max), Some(1000));
        assert_eq!(Counts::zero().quantile(0.5, 0), None);
    }

    #[test]
    fn values_past_the_top_share_the_last_bucket() {
        let (counts, max) = counts_of([u64::MAX / 2, 1 << 40]);
        assert_eq!(counts.buckets[BUCKETS - 1], 2);
        assert_eq!(counts.quantile(0.5, max), Some(lower_bound(BUCKETS - 1)));
    }
}
