//! Helpers shared by the integration tests: temporary stores and records.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use http::{Method, StatusCode};
use store::{LogRecord, Store, StoreOptions, WriterMetrics, WriterStats};

/// Long enough never to fail a healthy run, short enough to end a broken one.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub store: Store,
}

/// A store in a fresh directory; lock waits are short so that failure tests retry quickly.
pub fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(20),
        ..Default::default()
    };
    let store = Store::open(&path, options).unwrap();
    TempStore { dir, path, store }
}

pub fn t0() -> DateTime<Utc> {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

/// A plain record numbered `i`: `GET /items/{i}`, 200, `i` µs, `i` seconds after `t0`.
pub fn record(i: u64) -> LogRecord {
    LogRecord {
        timestamp: t0() + TimeDelta::seconds(i as i64),
        server_id: "test".into(),
        method: Method::GET,
        uri: format!("/items/{i}?n={i}").parse().unwrap(),
        route: Some("/items/{id}".into()),
        status: StatusCode::OK,
        response_body: Bytes::from(format!("{{\"id\":{i}}}")),
        duration: Duration::from_micros(i),
        request_id: format!("req-{i}"),
        ..Default::default()
    }
}

/// Waits for the writer's counters to satisfy `done`, failing the test with the last
/// snapshot if they do not within `DEADLINE`.
pub async fn wait_for(stats: &WriterStats, what: &str, done: impl Fn(&WriterMetrics) -> bool) {
    if !stats.wait_until(DEADLINE, &done).await {
        panic!(
            "timed out waiting for {what}; counters: {:#?}",
            stats.snapshot()
        );
    }
}

/// Rows in the table, counted over a connection of the test's own.
pub fn count_rows(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM request_logs", [], |row| row.get(0))
        .unwrap()
}
