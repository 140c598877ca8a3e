//! The load generator behind `mockloop bench`: it sends requests to an HTTP/1.1 server in a
//! closed model (a fixed number of virtual users) or an open model (a fixed arrival rate)
//! and reports throughput, latency percentiles, statuses and errors.
//!
//! Each virtual user (or open-model connection) is one task with one keep-alive HTTP/1.1
//! connection, written to from request bytes built once and read with `httparse`, and its
//! own [`record::Recorder`] with HDR histograms: nothing is shared per request but two
//! relaxed counters for the progress display. The recorders are merged once the run is
//! over.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use load::{Load, Plan, Progress, Stop, Target};
//!
//! let target = Target::single("http://127.0.0.1:8000/v1/books", "GET", &[], Vec::new())?;
//! let plan = Plan {
//!     target,
//!     load: Load::Closed { users: 10, think: Duration::ZERO, ramp_up: Duration::ZERO },
//!     stop: Stop { duration: Some(Duration::from_secs(5)), requests: None },
//!     timeout: Duration::from_secs(10),
//!     seed: 0,
//! };
//! let report = load::run(&plan, Arc::new(Progress::default())).await?;
//! println!("{:.0} requests/s", report.rps);
//! # Ok(()) }
//! ```

pub mod compare;
mod conn;
mod http1;
pub mod record;
mod report;
mod run;
pub mod scenario;
pub mod schedule;
mod target;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use compare::{Change, Comparison, Verdict, compare};
pub use record::ErrorKind;
pub use report::{
    ErrorCounts, KindReport, Latency, OpenStats, REPORT_SCHEMA, Report, Settings, Skipped,
};
pub use run::run;
pub use target::{BaseUrl, RequestKind, RequestSpec, Target};

/// How load is offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// `users` virtual users, each sending its next request when the previous one is
    /// answered, after `think`. They start spread evenly over `ramp_up`.
    Closed {
        users: u32,
        think: Duration,
        ramp_up: Duration,
    },
    /// `rate` requests per second on a fixed timeline, whatever the answers take; latency
    /// counts from each request's intended send time. Connections are opened as the
    /// schedule needs them, up to `max_connections`.
    Open { rate: f64, max_connections: u32 },
}

/// When a run ends: the first of a duration and a request count. With neither, a run
/// would not end; [`run`] refuses such a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub load: Load,
    pub stop: Stop,
    /// Longest wait for one answer, connecting included.
    pub timeout: Duration,
    /// Seed of the weighted choice between request kinds.
    pub seed: u64,
}

/// Counters that a progress display may read while a run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    completed: AtomicU64,
    errors: AtomicU64,
}

impl Progress {
    /// Requests finished so far, answered or failed.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Requests that got no answer so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn add(&self, failed: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A plan that cannot be run, or a target that cannot be reached at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid URL '{url}': {reason}")]
    Url { url: String, reason: String },
    #[error("invalid request '{name}': {reason}")]
    Request { name: String, reason: String },
    #[error("invalid plan: {0}")]
    Plan(String),
    #[error("cannot resolve '{host}'")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a load task failed")]
    Task(#[source] tokio::task::JoinError),
}
