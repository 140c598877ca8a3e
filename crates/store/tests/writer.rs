//! The writer end to end: counts, batching, flushes, backpressure, capture rules, lifecycle.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{DEADLINE, count_rows, record, temp_store, wait_for};
use http::HeaderValue;
use http::header::{AUTHORIZATION, SET_COOKIE};
use store::{BodyEncoding, RequestFilter, SinkClosed, StoreError, WriterOptions};

fn all() -> RequestFilter {
    RequestFilter {
        limit: store::MAX_LIMIT,
        ..Default::default()
    }
}

#[tokio::test]
async fn every_sent_row_is_written_exactly_once() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    for i in 0..1000 {
        sink.reserve().await.unwrap().send(record(i));
    }
    let report = writer.shutdown().await;
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.rows_written, 1000);
    assert_eq!(count_rows(&t.path), 1000);
    let mut ids: Vec<String> = t
        .store
        .list(&all())
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
}

#[tokio::test]
async fn batches_close_when_full() {
    let t = temp_store();
    let options = WriterOptions {
        batch_size: 10,
        flush_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    for i in 0..25 {
        sink.send(record(i)).await.unwrap();
    }
    wait_for(sink.stats(), "two full batches", |m| m.rows_written >= 20).await;
    let m = sink.stats().snapshot();
    // The last five wait for a time bound an hour away.
    assert_eq!(
        (m.rows_written, m.batches_written, m.max_batch_size),
        (20, 2, 10)
    );
    assert_eq!(m.rows_pending, 5);
    let report = writer.shutdown().await;
    assert_eq!((report.rows_written, report.batches_written), (25, 3));
}

#[tokio::test]
async fn a_partial_batch_is_written_after_the_time_bound() {
    let t = temp_store();
    let options = WriterOptions {
        batch_size: 1000,
        flush_interval: Duration::from_millis(10),
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    for i in 0..3 {
        sink.send(record(i)).await.unwrap();
    }
    wait_for(sink.stats(), "three rows", |m| m.rows_written == 3).await;
    let m = sink.stats().snapshot();
    assert!(m.batches_written >= 1 && m.max_batch_size < 1000, "{m:#?}");
    assert_eq!(t.store.list(&all()).unwrap().total, 3);
    writer.shutdown().await;
}

#[tokio::test]
async fn flush_waits_for_earlier_rows_only() {
    let t = temp_store();
    let options = WriterOptions {
        batch_size: 1000,
        flush_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    for i in 0..5 {
        sink.send(record(i)).await.unwrap();
    }
    sink.flush().await.unwrap();
    assert_eq!(sink.stats().snapshot().rows_written, 5);
    assert_eq!(t.store.list(&all()).unwrap().total, 5);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_slot_queue_loses_nothing_under_concurrent_senders() {
    let t = temp_store();
    let options = WriterOptions {
        queue_capacity: 1,
        batch_size: 7,
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    let senders: Vec<_> = (0..4)
        .map(|task| {
            let sink = sink.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    sink.send(record(task * 1000 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let report = writer.shutdown().await;
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(count_rows(&t.path), 2000);
}

#[tokio::test]
async fn a_full_queue_makes_senders_wait_and_counts_it() {
    let t = temp_store();
    let options = WriterOptions {
        queue_capacity: 1,
        batch_size: 4,
        retry_initial: Duration::from_millis(1),
        retry_max: Duration::from_millis(5),
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    // Another connection holds the write lock, so the writer stalls and the queue fills.
    let lock = rusqlite::Connection::open(&t.path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let producer = {
        let sink = sink.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                sink.send(record(i)).await.unwrap();
            }
        })
    };
    // A failed write proves the writer is stuck on the lock, not merely slow.
    wait_for(sink.stats(), "a stalled writer and a waiting sender", |m| {
        m.write_errors >= 1 && m.backpressure_waiting == 1
    })
    .await;
    assert!(!producer.is_finished());
    assert!(sink.stats().snapshot().backpressure_waits >= 1);
    assert_eq!(sink.stats().snapshot().rows_written, 0);
    lock.execute_batch("COMMIT").unwrap();
    tokio::time::timeout(DEADLINE, producer)
        .await
        .unwrap()
        .unwrap();
    let report = writer.shutdown().await;
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(count_rows(&t.path), 50);
    let m = sink.stats().snapshot();
    assert!(
        m.backpressure_wait_us_total > 0 && m.backpressure_waiting == 0,
        "{m:#?}"
    );
    assert!(m.write_errors >= 1, "{m:#?}");
}

#[tokio::test]
async fn long_bodies_are_cut_keeping_their_length() {
    let t = temp_store();
    let options = WriterOptions {
        max_body_bytes: 8,
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    let mut r = record(1);
    r.request_body = Bytes::from_static(b"0123456789abcdef");
    r.response_body = Bytes::from(vec![0xff; 20]);
    sink.send(r).await.unwrap();
    writer.shutdown().await;
    let id = t.store.list(&all()).unwrap().items[0].id;
    let got = t.store.get(id).unwrap().unwrap();
    assert_eq!(got.request_body.data, "01234567");
    assert_eq!(
        (got.request_body.size, got.request_body.truncated),
        (16, true)
    );
    assert_eq!(got.response_body.encoding, BodyEncoding::Base64);
    assert_eq!(got.response_body.data, "//////////8=");
    assert_eq!(
        (got.response_body.size, got.response_body.truncated),
        (20, true)
    );
    assert_eq!(
        (
            got.summary.request_body_size,
            got.summary.response_body_size
        ),
        (16, 20)
    );
}

fn with_credentials() -> store::LogRecord {
    let mut r = record(1);
    r.request_headers
        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
    r.request_headers
        .insert("x-api-key", HeaderValue::from_static("k-1"));
    r.response_headers
        .append(SET_COOKIE, HeaderValue::from_static("a=1"));
    r.response_headers
        .append(SET_COOKIE, HeaderValue::from_static("b=2"));
    r
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn credentials_are_redacted_by_default() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    sink.send(with_credentials()).await.unwrap();
    writer.shutdown().await;
    let got = t.store.get(1).unwrap().unwrap();
    assert_eq!(
        header(&got.request_headers, "authorization"),
        ["Bearer [redacted]"]
    );
    assert_eq!(header(&got.request_headers, "x-api-key"), ["[redacted]"]);
    assert_eq!(
        header(&got.response_headers, "set-cookie"),
        ["[redacted]", "[redacted]"]
    );
}

#[tokio::test]
async fn redaction_is_configurable() {
    let t = temp_store();
    let options = WriterOptions {
        redact_headers: vec![http::HeaderName::from_static("x-api-key")],
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    sink.send(with_credentials()).await.unwrap();
    writer.shutdown().await;
    let got = t.store.get(1).unwrap().unwrap();
    assert_eq!(
        header(&got.request_headers, "authorization"),
        ["Bearer s3cret"]
    );
    assert_eq!(header(&got.request_headers, "x-api-key"), ["[redacted]"]);

    let t = temp_store();
    let options = WriterOptions {
        redact: false,
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    sink.send(with_credentials()).await.unwrap();
    writer.shutdown().await;
    let got = t.store.get(1).unwrap().unwrap();
    assert_eq!(header(&got.request_headers, "x-api-key"), ["k-1"]);
    assert_eq!(header(&got.response_headers, "set-cookie"), ["a=1", "b=2"]);
}

#[tokio::test]
async fn one_writer_per_store_at_a_time() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    let second = t.store.clone().start_writer(WriterOptions::default());
    assert!(matches!(second, Err(StoreError::WriterRunning { .. })));
    writer.shutdown().await;
    assert_eq!(sink.reserve().await.err(), Some(SinkClosed));
    assert_eq!(sink.flush().await, Err(SinkClosed));
    let (_sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    assert!(writer.shutdown().await.is_complete());
}

#[tokio::test]
async fn dropping_the_handle_still_writes_what_was_queued() {
    let t = temp_store();
    let options = WriterOptions {
        flush_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let (sink, writer) = t.store.start_writer(options).unwrap();
    for i in 0..3 {
        sink.send(record(i)).await.unwrap();
    }
    drop(writer);
    wait_for(sink.stats(), "the queued rows", |m| m.rows_written == 3).await;
    assert_eq!(count_rows(&t.path), 3);
}

#[test]
fn blocking_shutdown_works_outside_a_runtime() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..10 {
            sink.send(record(i)).await.unwrap();
        }
    });
    let report = writer.shutdown_blocking();
    assert_eq!(report.rows_written, 10);
}

#[tokio::test]
async fn record_fields_round_trip() {
    let t = temp_store();
    let (sink, writer) = t.store.start_writer(WriterOptions::default()).unwrap();
    let mut r = record(7);
    r.timestamp += chrono::TimeDelta::microseconds(123_456);
    r.method = http::Method::PATCH;
    r.operation_id = Some("updateItem".into());
    r.status = http::StatusCode::ACCEPTED;
    r.client_addr = Some("127.0.0.1:5555".parse().unwrap());
    r.session_id = Some("s-1".into());
    r.scenario = "slow".into();
    r.request_headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static("curl/8.5"),
    );
    r.duration = Duration::from_micros(4321);
    sink.send(r.clone()).await.unwrap();
    writer.shutdown().await;
    let got = t.store.get(1).unwrap().unwrap().summary;
    assert_eq!(got.timestamp, r.timestamp);
    assert_eq!(
        (got.method.as_str(), got.path.as_str(), got.query.as_str()),
        ("PATCH", "/items/7", "n=7")
    );
    assert_eq!(got.route.as_deref(), Some("/items/{id}"));
    assert_eq!(got.operation_id.as_deref(), Some("updateItem"));
    assert_eq!((got.status, got.duration_us), (202, 4321));
    assert_eq!(got.client_addr.as_deref(), Some("127.0.0.1:5555"));
    assert_eq!(got.user_agent.as_deref(), Some("curl/8.5"));
    assert_eq!(
        (got.request_id.as_str(), got.session_id.as_deref()),
        ("req-7", Some("s-1"))
    );
    assert_eq!(
        (got.scenario.as_str(), got.server_id.as_str()),
        ("slow", "test")
    );
}
