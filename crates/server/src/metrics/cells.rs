//! Per-route counters that requests update: allocated once at start, one cell per operation
//! and one for requests that reach none, so that recording is a handful of relaxed atomic
//! additions on memory that no other route shares.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::histogram::{AtomicHistogram, Counts};

/// Status classes counted: 1xx to 5xx. Codes from 600 up are counted as 5xx.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds (µs) of the buckets published to Prometheus. Counted exactly on the request
/// path, since the fine buckets do not fall on these decimal bounds.
pub const PROMETHEUS_BOUNDS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Status 0 is an answer that never went out (a `reset` fault): the client sees a server
/// failure, so it counts as 5xx, as do codes of 600 and up.
fn class_index(status: u16) -> usize {
    if status == 0 {
        return 4;
    }
    usize::from(status / 100).clamp(1, 5) - 1
}

/// Figures of one route. Aligned to two cache lines so that busy routes on different cores
/// do not invalidate each other's counters.
#[repr(align(128))]
pub struct RouteCell {
    in_flight: AtomicU64,
    status: [AtomicU64; 5],
    /// Sum of latencies, µs.
    sum_us: AtomicU64,
    /// Largest latency since the sampler last took it (it swaps in 0).
    max_us: AtomicU64,
    latency: AtomicHistogram,
    /// Counts per [`PROMETHEUS_BOUNDS_US`] bucket, the last one for larger values.
    prometheus: [AtomicU64; PROMETHEUS_BOUNDS_US.len() + 1],
}

/// What the sampler and the reports read from a cell. Counts are cumulative.
#[derive(Debug, Clone, PartialEq)]
pub struct CellReading {
    pub status: [u64; 5],
    pub sum_us: u64,
    pub latency: Counts,
}

impl CellReading {
    pub fn zero() -> CellReading {
        CellReading {
            status: [0; 5],
            sum_us: 0,
            latency: Counts::zero(),
        }
    }

    pub fn requests(&self) -> u64 {
        self.status.iter().sum()
    }
}

impl RouteCell {
    pub fn new() -> RouteCell {
        RouteCell {
            in_flight: AtomicU64::new(0),
            status: Default::default(),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
            latency: AtomicHistogram::new(),
            prometheus: Default::default(),
        }
    }

    pub fn enter(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    pub fn leave(&self) {
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// Counts one answered request. The status is counted last, so that a reader that
    /// loads the status counters first never sees more requests than latencies.
    pub fn record(&self, status: u16, us: u64) {
        self.latency.record(us);
        let bound = PROMETHEUS_BOUNDS_US.partition_point(|&b| b < us);
        self.prometheus[bound].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
        self.status[class_index(status)].fetch_add(1, Relaxed);
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Relaxed)
    }

    /// Requests answered so far, all classes.
    pub fn requests(&self) -> u64 {
        self.status.iter().map(|s| s.load(Relaxed)).sum()
    }

    /// Reads the cumulative counters into `into`; the histogram only when `with_latency`,
    /// as it is the costly part.
    pub fn read_into(&self, into: &mut CellReading, with_latency: bool) {
        for (slot, counter) in into.status.iter_mut().zip(&self.status) {
            *slot = counter.load(Relaxed);
        }
        into.sum_us = self.sum_us.load(Relaxed);
        if with_latency {
            self.latency.read_into(&mut into.latency.buckets);
        }
    }

    /// The largest latency since the last call, resetting it.
    pub fn take_max(&self) -> u64 {
        if self.max_us.load(Relaxed) == 0 {
            0
        } else {
            self.max_us.swap(0, Relaxed)
        }
    }

    /// The largest latency since the last [`RouteCell::take_max`], without resetting it.
    pub fn pending_max(&self) -> u64 {
        self.max_us.load(Relaxed)
    }

    /// Cumulative counts per Prometheus bound (not cumulative over bounds), and the sum.
    pub fn prometheus_counts(&self) -> ([u64; PROMETHEUS_BOUNDS_US.len() + 1], u64) {
        let mut counts = [0; PROMETHEUS_BOUNDS_US.len() + 1];
        for (slot, counter) in counts.iter_mut().zip(&self.prometheus) {
            *slot = counter.load(Relaxed);
        }
        (counts, self.sum_us.load(Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_class_latency_and_prometheus_bucket() {
        let cell = RouteCell::new();
        cell.enter();
        cell.record(204, 100);
        cell.record(404, 101);
        cell.record(503, 20_000_000);
        cell.record(700, 7);
        cell.leave();
        let mut reading = CellReading::zero();
        cell.read_into(&mut reading, true);
        assert_eq!(reading.status, [0, 1, 0, 1, 2]);
        assert_eq!(reading.sum_us, 20_000_208);
        assert_eq!(reading.latency.total(), 4);
        let (counts, _) = cell.prometheus_counts();
        // 7 and 100 are at or below 100 µs, 101 in the next bound, 20 s past the last.
        assert_eq!((counts[0], counts[1], counts[16]), (2, 1, 1));
        assert_eq!(cell.in_flight(), 0);
        assert_eq!(cell.take_max(), 20_000_000);
        assert_eq!(cell.take_max(), 0);
    }

    #[test]
    fn an_answer_that_never_went_out_counts_as_a_server_error() {
        assert_eq!(STATUS_CLASSES[class_index(0)], "5xx");
        assert_eq!(STATUS_CLASSES[class_index(101)], "1xx");
        assert_eq!(STATUS_CLASSES[class_index(599)], "5xx");
    }
}
