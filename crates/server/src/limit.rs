//! The optional concurrency limit of the mock listener: at most N requests are handled at
//! once, up to M more wait in line, and the rest are turned away at once.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Settings of the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests handled at once.
    pub max_concurrency: usize,
    /// Requests that may wait for a place; beyond that, requests are rejected.
    pub queue: usize,
}

/// Cumulative counts of the limit. Field names are part of the JSON API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LimitTotals {
    /// Requests that found every place taken and waited in line.
    pub queued: u64,
    /// Requests turned away with 503 because the line was full too.
    pub rejected: u64,
    /// Time spent in line by requests whose wait has ended, µs.
    pub queue_wait_us: u64,
}

/// The limit, shared by every connection.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    config: LimitConfig,
    places: std::sync::Arc<Semaphore>,
    waiting: AtomicU64,
    queued: AtomicU64,
    rejected: AtomicU64,
    queue_wait_us: AtomicU64,
}

/// The outcome of [`ConcurrencyLimit::admit`].
#[derive(Debug)]
pub enum Admission {
    /// Holds a place until dropped.
    Admitted(OwnedSemaphorePermit),
    Rejected,
}

/// Counts a request as waiting while it waits, however the wait ends (a client that goes
/// away drops the request's future mid-wait).
struct InLine<'a> {
    limit: &'a ConcurrencyLimit,
    since: Instant,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        let waited = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.limit.queue_wait_us.fetch_add(waited, Relaxed);
        self.limit.waiting.fetch_sub(1, Relaxed);
    }
}

impl ConcurrencyLimit {
    pub fn new(config: LimitConfig) -> ConcurrencyLimit {
        ConcurrencyLimit {
            config,
            places: std::sync::Arc::new(Semaphore::new(config.max_concurrency)),
            waiting: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            queue_wait_us: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> LimitConfig {
        self.config
    }

    /// Takes a place, waiting in line if every place is taken and the line has room.
    /// Waiters are served in arrival order, and a free place goes to a waiter before any
    /// newcomer.
    pub async fn admit(&self) -> Admission {
        match self.places.clone().try_acquire_owned() {
            Ok(permit) => return Admission::Admitted(permit),
            Err(TryAcquireError::Closed) => return Admission::Rejected,
            Err(TryAcquireError::NoPermits) => {}
        }
        let queue = self.config.queue as u64;
        let joined = self
            .waiting
            .fetch_update(Relaxed, Relaxed, |n| (n < queue).then_some(n + 1));
        if joined.is_err() {
            self.rejected.fetch_add(1, Relaxed);
            return Admission::Rejected;
        }
        self.queued.fetch_add(1, Relaxed);
        let _in_line = InLine {
            limit: self,
            since: Instant::now(),
        };
        match self.places.clone().acquire_owned().await {
            Ok(permit) => Admission::Admitted(permit),
            // The semaphore is never closed; were it, turning the request away is right.
            Err(_) => Admission::Rejected,
        }
    }

    /// Requests holding a place now.
    pub fn in_flight(&self) -> u64 {
        (self.config.max_concurrency - self.places.available_permits()) as u64
    }

    /// Requests waiting in line now.
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Relaxed)
    }

    pub fn totals(&self) -> LimitTotals {
        LimitTotals {
            queued: self.queued.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            queue_wait_us: self.queue_wait_us.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(max_concurrency: usize, queue: usize) -> ConcurrencyLimit {
        ConcurrencyLimit::new(LimitConfig {
            max_concurrency,
            queue,
        })
    }

    #[tokio::test]
    async fn admits_queues_then_rejects() {
        let limit = std::sync::Arc::new(limit(1, 1));
        let Admission::Admitted(first) = limit.admit().await else {
            panic!("the first request must get the free place");
        };
        let waiter = {
            let limit = limit.clone();
            tokio::spawn(async move { matches!(limit.admit().await, Admission::Admitted(_)) })
        };
        while limit.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(limit.admit().await, Admission::Rejected));
        assert_eq!(limit.in_flight(), 1);
        drop(first);
        assert!(waiter.await.unwrap());
        let totals = limit.totals();
        assert_eq!((totals.queued, totals.rejected), (1, 1));
        assert_eq!((limit.waiting(), limit.in_flight()), (0, 0));
    }

    #[tokio::test]
    async fn a_zero_queue_rejects_as_soon_as_places_run_out() {
        let limit = limit(2, 0);
        let _a = limit.admit().await;
        let _b = limit.admit().await;
        assert!(matches!(limit.admit().await, Admission::Rejected));
        assert_eq!(limit.totals().queued, 0);
    }

    #[tokio::test]
    async fn a_wait_given_up_leaves_the_line() {
        let limit = std::sync::Arc::new(limit(1, 1));
        let _held = limit.admit().await;
        let waiter = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.admit().await })
        };
        while limit.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(limit.waiting(), 0);
        assert_eq!(limit.totals().queued, 1);
    }
}
