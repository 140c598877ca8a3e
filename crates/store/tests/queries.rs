//! Listing, filters, analysis figures and query plans over a known data set, and opening
//! (migrations, missing files).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeDelta;
use common::{t0, temp_store};
use http::{Method, StatusCode};
use store::{LogRecord, RequestFilter, Store, StoreError, StoreOptions, TimeRange, WriterOptions};

/// 100 requests, `i` in 0..100, one second apart from `t0`:
/// - `i % 10 == 9`: `/nowhere/{i}`, unrouted, 404;
/// - other even `i`: `/pets/{i}`, route `/pets/{id}`;
/// - other odd `i`: `/users/{i}`, route `/users/{id}`, 500 when `i % 20 == 3`;
/// - POST when `i % 4 == 0`, else GET; 200 unless said otherwise; `i + 1` µs.
fn dataset_record(i: u64) -> LogRecord {
    let (path, route) = if i % 10 == 9 {
        (format!("/nowhere/{i}"), None)
    } else if i % 2 == 0 {
        (format!("/pets/{i}"), Some("/pets/{id}".into()))
    } else {
        (format!("/users/{i}"), Some("/users/{id}".into()))
    };
    let status = match i {
        _ if i % 10 == 9 => StatusCode::NOT_FOUND,
        _ if i % 20 == 3 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    LogRecord {
        timestamp: t0() + TimeDelta::seconds(i as i64),
        method: if i % 4 == 0 {
            Method::POST
        } else {
            Method::GET
        },
        uri: path.parse().unwrap(),
        route,
        status,
        duration: Duration::from_micros(i + 1),
        request_id: i.to_string(),
        ..Default::default()
    }
}

async fn dataset() -> common::TempStore {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    // Sent out of time order, as a server finishing requests out of order would.
    for i in (0..100).rev() {
        sink.send(dataset_record(i)).await.unwrap();
    }
    assert!(writer.shutdown().await.is_complete());
    t
}

fn filter(pairs: &[(&str, &str)]) -> RequestFilter {
    RequestFilter::from_pairs(pairs.iter().copied()).unwrap()
}

/// The `i` of each listed row, in listing order.
fn listed(store: &Store, pairs: &[(&str, &str)]) -> (u64, Vec<u64>) {
    let page = store.list(&filter(pairs)).unwrap();
    let ids = page
        .items
        .iter()
        .map(|r| r.request_id.parse().unwrap())
        .collect();
    (page.total, ids)
}

#[tokio::test]
async fn listing_is_newest_first_and_paged() {
    let t = dataset().await;
    let (total, ids) = listed(&t.store, &[]);
    assert_eq!((total, ids.len()), (100, 50));
    assert_eq!(ids[..3], [99, 98, 97]);
    let (total, ids) = listed(&t.store, &[("limit", "10"), ("offset", "20")]);
    assert_eq!(total, 100);
    assert_eq!(ids, (70..80).rev().collect::<Vec<_>>());
    let (total, ids) = listed(&t.store, &[("offset", "200")]);
    assert_eq!((total, ids.len()), (100, 0));
}

#[tokio::test]
async fn every_filter_selects_what_it_says() {
    let t = dataset().await;
    let expect = |pairs: &[(&str, &str)], keep: &dyn Fn(u64) -> bool| {
        let mut pairs = pairs.to_vec();
        pairs.push(("limit", "1000"));
        let (total, ids) = listed(&t.store, &pairs);
        let expected: Vec<u64> = (0..100).rev().filter(|&i| keep(i)).collect();
        assert_eq!(ids, expected, "filter {pairs:?}");
        assert_eq!(total, expected.len() as u64, "total of {pairs:?}");
    };
    expect(&[("method", "post")], &|i| i % 4 == 0);
    expect(&[("path", "/pets/")], &|i| i % 2 == 0);
    expect(&[("path", "/pets/1")], &|i| {
        (10..20).contains(&i) && i % 2 == 0
    });
    expect(&[("path_regex", r"^/users/\d*3$")], &|i| i % 10 == 3);
    expect(&[("route", "/users/{id}")], &|i| i % 2 == 1 && i % 10 != 9);
    expect(&[("status", "404")], &|i| i % 10 == 9);
    expect(&[("status", "5xx")], &|i| i % 20 == 3);
    expect(&[("status", "2xx")], &|i| i % 10 != 9 && i % 20 != 3);
    expect(&[("status", "201")], &|_| false);
    expect(
        &[
            ("time_from", "2024-05-01T12:00:10Z"),
            ("time_to", "2024-05-01T14:00:20+02:00"),
        ],
        &|i| (10..20).contains(&i),
    );
    expect(
        &[("method", "GET"), ("status", "4xx"), ("path", "/nowhere/")],
        &|i| i % 10 == 9,
    );
    expect(
        &[
            ("method", "POST"),
            ("route", "/pets/{id}"),
            ("time_from", "2024-05-01T12:01:00Z"),
        ],
        &|i| i % 4 == 0 && i >= 60,
    );
}

#[tokio::test]
async fn analysis_figures_are_exact() {
    let t = dataset().await;
    let a = t.store.analyze(&RequestFilter::default()).unwrap();
    assert_eq!(a.total, 100);
    assert_eq!(a.status, BTreeMap::from([(200, 85), (404, 10), (500, 5)]));
    assert_eq!(
        a.methods,
        BTreeMap::from([("GET".into(), 75), ("POST".into(), 25)])
    );
    assert_eq!((a.errors.client_errors, a.errors.server_errors), (10, 5));
    assert_eq!(
        (
            a.errors.client_error_rate,
            a.errors.server_error_rate,
            a.errors.error_rate
        ),
        (0.10, 0.05, 0.15)
    );
    let latency = a.latency_us.unwrap();
    assert_eq!(
        (
            latency.avg,
            latency.p50,
            latency.p95,
            latency.p99,
            latency.max
        ),
        (50.5, 50, 95, 99, 100)
    );
    assert_eq!(
        a.time_range,
        Some(TimeRange {
            first: t0(),
            last: t0() + TimeDelta::seconds(99)
        })
    );
    let minutes: Vec<_> = a.per_minute.iter().map(|m| (m.minute, m.count)).collect();
    assert_eq!(minutes, [(t0(), 60), (t0() + TimeDelta::minutes(1), 40)]);
    let routes: Vec<_> = a
        .routes
        .iter()
        .map(|r| {
            (
                r.route.as_deref(),
                r.count,
                r.errors,
                r.avg_us,
                r.p95_us,
                r.max_us,
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            (Some("/pets/{id}"), 50, 0, 50.0, 95, 99),
            (Some("/users/{id}"), 40, 5, 50.0, 94, 98),
            (None, 10, 10, 55.0, 100, 100),
        ]
    );
}

#[tokio::test]
async fn analysis_follows_the_filter_and_ignores_paging() {
    let t = dataset().await;
    let a = t
        .store
        .analyze(&filter(&[("route", "/pets/{id}"), ("limit", "1")]))
        .unwrap();
    assert_eq!(a.total, 50);
    assert_eq!(a.routes.len(), 1);
    let none = t.store.analyze(&filter(&[("status", "201")])).unwrap();
    assert_eq!(
        (none.total, none.latency_us, none.time_range),
        (0, None, None)
    );
}

#[tokio::test]
async fn analysis_serialises_with_stable_snake_case_names() {
    let t = dataset().await;
    let json =
        serde_json::to_value(t.store.analyze(&filter(&[("status", "404")])).unwrap()).unwrap();
    assert_eq!(json["status"]["404"], 10);
    assert_eq!(json["errors"]["client_error_rate"], 1.0);
    assert_eq!(json["latency_us"]["p95"], 100);
    assert_eq!(json["routes"][0]["route"], serde_json::Value::Null);
    assert_eq!(json["per_minute"][0]["minute"], "2024-05-01T12:00:00Z");
    assert_eq!(json["time_range"]["last"], "2024-05-01T12:01:39Z");
    let page = serde_json::to_value(t.store.list(&filter(&[("limit", "1")])).unwrap()).unwrap();
    assert_eq!(page["total"], 100);
    assert_eq!(page["items"][0]["duration_us"], 100);
    let full = serde_json::to_value(t.store.get(1).unwrap().unwrap()).unwrap();
    assert_eq!(full["request_body"]["encoding"], "utf8");
    assert!(
        full["response_headers"].is_array() && full["id"] == 1,
        "{full}"
    );
}

#[tokio::test]
async fn main_queries_use_the_indexes() {
    let t = dataset().await;
    let plan = |pairs: &[(&str, &str)]| t.store.explain_list(&filter(pairs)).unwrap().join("; ");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "SCAN request_logs USING INDEX idx_request_logs_ts"),
        (
            &[("status", "404")],
            "USING INDEX idx_request_logs_status_ts (status=?)",
        ),
        (
            &[("route", "/pets/{id}")],
            "USING INDEX idx_request_logs_route_ts (route=?)",
        ),
        (
            &[
                ("time_from", "2024-05-01T12:00:10Z"),
                ("time_to", "2024-05-01T12:00:20Z"),
            ],
            "USING INDEX idx_request_logs_ts (ts_us>? AND ts_us<?)",
        ),
        (&[("method", "GET")], "USING INDEX idx_request_logs_ts"),
    ];
    for (pairs, expected) in cases {
        let got = plan(pairs);
        assert!(
            got.contains(expected),
            "filter {pairs:?}\nexpected: {expected}\n     got: {got}"
        );
        assert!(
            !got.contains("TEMP B-TREE"),
            "filter {pairs:?} sorts: {got}"
        );
    }
}

#[tokio::test]
async fn get_of_an_unknown_id_is_none() {
    let t = dataset().await;
    assert!(t.store.get(100_000).unwrap().is_none());
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_again() {
    let t = dataset().await;
    let path = t.path.clone();
    drop(t.store);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let store = {
        drop(store);
        Store::open(&path, StoreOptions::default()).unwrap()
    };
    assert_eq!(
        store.schema_version().unwrap(),
        Store::latest_schema_version()
    );
    assert_eq!(store.list(&RequestFilter::default()).unwrap().total, 100);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let migrations: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(migrations, Store::known_schema_versions());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_missing_database_is_an_error_when_creation_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let options = StoreOptions {
        create_if_missing: false,
        ..Default::default()
    };
    let err = Store::open(&path, options).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }));
    assert!(
        err.to_string().ends_with("absent.db' does not exist"),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn a_path_that_cannot_be_opened_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("x.db");
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot open database '"),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}
