//! Saved load-test runs: saving, listing newest first, fetching, and migrating an older
//! database that only has the request log.

mod common;

use chrono::TimeDelta;
use common::{t0, temp_store};
use serde_json::json;
use store::{BenchRun, BenchRunSummary, Store, StoreOptions};

fn run(minutes: i64, label: Option<&str>, rps: f64) -> BenchRun {
    BenchRun {
        summary: BenchRunSummary {
            id: 0,
            started_at: t0() + TimeDelta::minutes(minutes),
            label: label.map(str::to_owned),
            target: "http://127.0.0.1:9/books".to_owned(),
            model: "closed".to_owned(),
            requests: 1000,
            rps,
            p50_us: 150,
            p99_us: 900,
            error_rate: 0.01,
        },
        settings: json!({"connections": 10}),
        report: json!({"requests": 1000, "rps": rps}),
    }
}

#[test]
fn runs_are_saved_listed_newest_first_and_fetched_whole() {
    let t = temp_store();
    let first = t
        .store
        .save_bench_run(&run(0, Some("before"), 100.0))
        .unwrap();
    let second = t.store.save_bench_run(&run(5, None, 120.5)).unwrap();
    assert_ne!(first, second);

    let listed = t.store.list_bench_runs(10).unwrap();
    let ids: Vec<i64> = listed.iter().map(|r| r.id).collect();
    assert_eq!(ids, [second, first]);
    assert_eq!(listed[1].label.as_deref(), Some("before"));
    assert_eq!(listed[0].rps, 120.5);
    assert_eq!(listed[0].started_at, t0() + TimeDelta::minutes(5));
    assert_eq!(t.store.list_bench_runs(1).unwrap().len(), 1);

    let fetched = t.store.get_bench_run(first).unwrap().expect("saved run");
    let mut expected = run(0, Some("before"), 100.0);
    expected.summary.id = first;
    assert_eq!(fetched, expected);
    assert!(t.store.get_bench_run(second + 100).unwrap().is_none());
}

#[test]
fn a_request_log_from_before_bench_runs_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'create request_logs', '2024-01-01');
             CREATE TABLE request_logs (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    }
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        Store::latest_schema_version()
    );
    let id = store.save_bench_run(&run(0, None, 1.0)).unwrap();
    assert_eq!(store.list_bench_runs(5).unwrap()[0].id, id);
}
