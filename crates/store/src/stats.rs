//! Counters of the log writer, readable at any time without locks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

/// A shared handle on the writer's counters; clones see the same numbers.
#[derive(Debug, Clone)]
pub struct WriterStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    queue_capacity: u64,
    rows_accepted: AtomicU64,
    rows_received: AtomicU64,
    rows_written: AtomicU64,
    rows_spilled: AtomicU64,
    rows_lost: AtomicU64,
    batches_written: AtomicU64,
    last_batch_size: AtomicU64,
    max_batch_size: AtomicU64,
    write_us_total: AtomicU64,
    last_write_us: AtomicU64,
    max_write_us: AtomicU64,
    write_errors: AtomicU64,
    backpressure_waits: AtomicU64,
    backpressure_waiting: AtomicU64,
    backpressure_wait_us_total: AtomicU64,
    /// Woken after every batch outcome so that waiters need not poll on a timer.
    changed: Notify,
}

/// A snapshot of the writer's counters. Totals count since the writer started; times are in
/// microseconds. Field names are part of the JSON API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WriterMetrics {
    /// Rows handed to `LogPermit::send`.
    pub rows_accepted: u64,
    /// Rows committed to the database.
    pub rows_written: u64,
    /// Rows written to the spill file instead of the database.
    pub rows_spilled: u64,
    /// Rows accepted and then neither written nor spilled (spill file unwritable).
    pub rows_lost: u64,
    /// Rows in the queue, not yet taken by the writer.
    pub queue_depth: u64,
    pub queue_capacity: u64,
    /// Rows accepted but not yet written or spilled: the queue plus the writer's batch.
    pub rows_pending: u64,
    pub batches_written: u64,
    pub last_batch_size: u64,
    pub max_batch_size: u64,
    pub avg_batch_size: f64,
    /// Time of one committed batch transaction, insertions included.
    pub last_write_us: u64,
    pub max_write_us: u64,
    pub avg_write_us: f64,
    pub write_us_total: u64,
    /// Failed write attempts; a batch retried three times counts three.
    pub write_errors: u64,
    /// Calls to `LogSink::reserve` that found the queue full and had to wait, counted when
    /// the wait starts.
    pub backpressure_waits: u64,
    /// Senders waiting for room right now.
    pub backpressure_waiting: u64,
    /// Time spent in waits that have ended.
    pub backpressure_wait_us_total: u64,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn ratio(total: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total as f64 / count as f64
    }
}

impl WriterStats {
    pub(crate) fn new(queue_capacity: usize) -> WriterStats {
        let counters = Counters {
            queue_capacity: queue_capacity as u64,
            ..Counters::default()
        };
        WriterStats {
            inner: Arc::new(counters),
        }
    }

    /// Reads every counter. Each is exact; together they may straddle a batch, but they
    /// are read in the order the writer updates them in reverse, so derived figures such as
    /// `queue_depth` never go negative.
    pub fn snapshot(&self) -> WriterMetrics {
        let c = &*self.inner;
        let rows_written = c.rows_written.load(Relaxed);
        let rows_spilled = c.rows_spilled.load(Relaxed);
        let rows_lost = c.rows_lost.load(Relaxed);
        let rows_received = c.rows_received.load(Relaxed);
        let rows_accepted = c.rows_accepted.load(Relaxed);
        let batches_written = c.batches_written.load(Relaxed);
        let write_us_total = c.write_us_total.load(Relaxed);
        let done = rows_written + rows_spilled + rows_lost;
        WriterMetrics {
            rows_accepted,
            rows_written,
            rows_spilled,
            rows_lost,
            queue_depth: rows_accepted.saturating_sub(rows_received),
            queue_capacity: c.queue_capacity,
            rows_pending: rows_accepted.saturating_sub(done),
            batches_written,
            last_batch_size: c.last_batch_size.load(Relaxed),
            max_batch_size: c.max_batch_size.load(Relaxed),
            avg_batch_size: ratio(rows_written, batches_written),
            last_write_us: c.last_write_us.load(Relaxed),
            max_write_us: c.max_write_us.load(Relaxed),
            avg_write_us: ratio(write_us_total, batches_written),
            write_us_total,
            write_errors: c.write_errors.load(Relaxed),
            backpressure_waits: c.backpressure_waits.load(Relaxed),
            backpressure_waiting: c.backpressure_waiting.load(Relaxed),
            backpressure_wait_us_total: c.backpressure_wait_us_total.load(Relaxed),
        }
    }

    /// Waits until `done` holds for a snapshot, re-checking after every batch outcome, for
    /// at most `timeout`. Returns whether it held. Meant for tests and for callers that
    /// must see rows land (use `LogSink::flush` to force them out). The writer runs on real
    /// time, so do not call this under tokio's paused test clock: the timeout would fire at
    /// once.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&WriterMetrics) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            // Registered before the check so that a batch finishing in between still wakes us.
            changed.as_mut().enable();
            if done(&self.snapshot()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return done(&self.snapshot());
            }
        }
    }

    pub(crate) fn accepted(&self) {
        self.inner.rows_accepted.fetch_add(1, Relaxed);
    }

    pub(crate) fn received(&self, rows: u64) {
        self.inner.rows_received.fetch_add(rows, Relaxed);
    }

    /// Counts a wait from its start, so that senders stuck behind a stalled writer show at
    /// once; the guard adds the time when the wait ends, however it ends.
    pub(crate) fn backpressure(&self) -> BackpressureWait {
        self.inner.backpressure_waits.fetch_add(1, Relaxed);
        self.inner.backpressure_waiting.fetch_add(1, Relaxed);
        self.inner.changed.notify_waiters();
        BackpressureWait {
            stats: self.clone(),
            started: Instant::now(),
        }
    }

    pub(crate) fn batch_written(&self, rows: usize, took: Duration) {
        let c = &*self.inner;
        let (rows, us) = (rows as u64, micros(took));
        c.batches_written.fetch_add(1, Relaxed);
        c.last_batch_size.store(rows, Relaxed);
        c.max_batch_size.fetch_max(rows, Relaxed);
        c.write_us_total.fetch_add(us, Relaxed);
        c.last_write_us.store(us, Relaxed);
        c.max_write_us.fetch_max(us, Relaxed);
        c.rows_written.fetch_add(rows, Relaxed);
        c.changed.notify_waiters();
    }

    pub(crate) fn write_failed(&self) {
        self.inner.write_errors.fetch_add(1, Relaxed);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn spilled(&self, rows: u64) {
        self.inner.rows_spilled.fetch_add(rows, Relaxed);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn lost(&self, rows: u64) {
        self.inner.rows_lost.fetch_add(rows, Relaxed);
        self.inner.changed.notify_waiters();
    }
}

/// One sender's wait for room in the queue; see `WriterStats::backpressure`.
pub(crate) struct BackpressureWait {
    stats: WriterStats,
    started: Instant,
}

impl Drop for BackpressureWait {
    fn drop(&mut self) {
        let c = &*self.stats.inner;
        c.backpressure_wait_us_total
            .fetch_add(micros(self.started.elapsed()), Relaxed);
        c.backpressure_waiting.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_follow_the_counters() {
        let stats = WriterStats::new(8);
        for _ in 0..5 {
            stats.accepted();
        }
        stats.received(4);
        stats.batch_written(3, Duration::from_micros(30));
        stats.batch_written(1, Duration::from_micros(10));
        let m = stats.snapshot();
        assert_eq!((m.queue_depth, m.rows_pending, m.rows_written), (1, 1, 4));
        assert_eq!(
            (m.last_batch_size, m.max_batch_size, m.avg_batch_size),
            (1, 3, 2.0)
        );
        assert_eq!(
            (m.last_write_us, m.max_write_us, m.avg_write_us),
            (10, 30, 20.0)
        );
    }

    #[tokio::test]
    async fn wait_until_wakes_on_a_batch_from_another_thread() {
        let stats = WriterStats::new(1);
        let writer = stats.clone();
        let thread = std::thread::spawn(move || writer.batch_written(2, Duration::ZERO));
        assert!(
            stats
                .wait_until(Duration::from_secs(10), |m| m.rows_written == 2)
                .await
        );
        thread.join().unwrap();
    }
}
