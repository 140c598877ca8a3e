//! Saved load-test runs: what `mockloop bench` keeps beside the request log.
//!
//! The store does not know the report's shape: it keeps the settings and the report as JSON
//! documents and copies a few headline figures into columns for listings.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The headline of a run, as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRunSummary {
    /// Assigned by the store; 0 in a run that is not saved yet.
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub label: Option<String>,
    /// What was loaded: a URL, a scenario file or a description with its base URL.
    pub target: String,
    /// `closed` (a fixed number of users) or `open` (a fixed arrival rate).
    pub model: String,
    pub requests: u64,
    /// Requests per second over the run.
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Share of requests, 0 to 1, that failed (see the report's documentation).
    pub error_rate: f64,
}

/// A run with its settings and full report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRun {
    #[serde(flatten)]
    pub summary: BenchRunSummary,
    pub settings: Value,
    pub report: Value,
}
