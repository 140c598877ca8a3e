//! Failing writes: retries until the database recovers, spilling at shutdown, rows the
//! database refuses, and a database file deleted while the writer runs.
//!
//! Tests run as root here, where a read-only directory does not stop writes, so failures
//! are made with SQLite itself: another connection holding the write lock, or a trigger.

mod common;

use std::time::Duration;

use common::{count_rows, record, temp_store, wait_for};
use store::{RequestFilter, WriterOptions};

fn quick_retries() -> WriterOptions {
    WriterOptions {
        flush_interval: Duration::from_millis(1),
        retry_initial: Duration::from_millis(1),
        retry_max: Duration::from_millis(10),
        shutdown_timeout: Duration::from_millis(200),
        ..Default::default()
    }
}

fn all() -> RequestFilter {
    RequestFilter {
        limit: store::MAX_LIMIT,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_locked_database_is_retried_until_it_frees() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(quick_retries()).unwrap();
    let lock = rusqlite::Connection::open(&t.path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..10 {
        sink.send(record(i)).await.unwrap();
    }
    wait_for(sink.stats(), "failed attempts", |m| m.write_errors >= 3).await;
    assert_eq!(sink.stats().snapshot().rows_written, 0);
    // Readers are not blocked by the writer's trouble.
    assert_eq!(t.store.list(&all()).unwrap().total, 0);
    lock.execute_batch("COMMIT").unwrap();
    wait_for(sink.stats(), "all rows", |m| m.rows_written == 10).await;
    let report = writer.shutdown().await;
    assert!(report.is_complete(), "{report:#?}");
    assert!(report.write_errors >= 3);
    assert_eq!(count_rows(&t.path), 10);
}

#[tokio::test]
async fn rows_still_unwritable_at_shutdown_go_to_a_spill_file() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(quick_retries()).unwrap();
    let lock = rusqlite::Connection::open(&t.path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..10 {
        sink.send(record(i)).await.unwrap();
    }
    wait_for(sink.stats(), "a failed attempt", |m| m.write_errors >= 1).await;
    let report = writer.shutdown().await;
    assert_eq!(
        (report.rows_written, report.rows_spilled, report.rows_lost),
        (0, 10, 0)
    );
    let spill = report.spill_file.clone().expect("a spill file");
    assert_eq!(spill.parent(), Some(t.dir.path()));
    let name = spill.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("log.db.spill-") && name.ends_with(".jsonl"),
        "{name}"
    );
    assert_eq!(std::fs::read_to_string(&spill).unwrap().lines().count(), 10);

    lock.execute_batch("COMMIT").unwrap();
    assert_eq!(t.store.import_spill(&spill).unwrap(), 10);
    let page = t.store.list(&all()).unwrap();
    assert_eq!(page.total, 10);
    assert_eq!(page.items[0].path, "/items/9");
}

#[tokio::test]
async fn a_row_the_database_refuses_is_spilled_alone() {
    let t = temp_store();
    let admin = rusqlite::Connection::open(&t.path).unwrap();
    admin
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON request_logs WHEN NEW.path = '/items/2'
             BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;",
        )
        .unwrap();
    let (sink, writer) = t.store.start_writer(quick_retries()).unwrap();
    for i in 0..5 {
        sink.send(record(i)).await.unwrap();
    }
    let report = writer.shutdown().await;
    assert_eq!(
        (report.rows_written, report.rows_spilled, report.rows_lost),
        (4, 1, 0)
    );
    let spilled = std::fs::read_to_string(report.spill_file.unwrap()).unwrap();
    assert!(spilled.contains("\"path\":\"/items/2\""), "{spilled}");
    assert_eq!(count_rows(&t.path), 4);
}

#[tokio::test]
async fn a_deleted_database_file_is_recreated_for_later_rows() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(quick_retries()).unwrap();
    for i in 0..5 {
        sink.send(record(i)).await.unwrap();
    }
    sink.flush().await.unwrap();
    std::fs::remove_file(&t.path).unwrap();
    for i in 5..8 {
        sink.send(record(i)).await.unwrap();
    }
    sink.flush().await.unwrap();
    assert!(t.path.exists());
    let page = t.store.list(&all()).unwrap();
    let paths: Vec<_> = page.items.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/items/7", "/items/6", "/items/5"]);
    let report = writer.shutdown().await;
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(count_rows(&t.path), 3);
}
