//! Measures how fast the writer stores rows: `cargo run --release -p store --example
//! insert_rate [ROWS]` (default 100000) prints rows per second and the writer's counters.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use store::{LogRecord, Store, StoreOptions, WriterOptions};

/// A record shaped like a typical mock response: a few headers, a small JSON body.
fn template() -> LogRecord {
    let mut request_headers = HeaderMap::new();
    request_headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
    request_headers.insert(header::USER_AGENT, HeaderValue::from_static("bench/1.0"));
    request_headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    request_headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer abc"),
    );
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("180"));
    let body = format!(
        "{{\"id\":42,\"name\":\"{}\",\"tags\":[\"a\",\"b\"]}}",
        "x".repeat(140)
    );
    LogRecord {
        timestamp: chrono::Utc::now(),
        server_id: "bench".into(),
        method: Method::GET,
        uri: "/pets/42?verbose=true".parse().expect("static uri"),
        route: Some("/pets/{id}".into()),
        operation_id: Some("getPet".into()),
        request_headers,
        status: StatusCode::OK,
        response_headers,
        response_body: Bytes::from(body),
        duration: Duration::from_micros(85),
        client_addr: Some("127.0.0.1:40000".parse().expect("static address")),
        request_id: String::new(),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path().join("rate.db"), StoreOptions::default())?;
    let (sink, writer) = store.start_writer(WriterOptions::default())?;
    let template = template();

    let started = Instant::now();
    for i in 0..rows {
        let mut record = template.clone();
        record.request_id = format!("req-{i}");
        sink.reserve().await?.send(record);
    }
    let queued = started.elapsed();
    let report = writer.shutdown().await;
    let total = started.elapsed();

    let m = sink.stats().snapshot();
    assert!(
        report.is_complete() && report.rows_written == rows,
        "{report:?}"
    );
    println!("rows written:        {rows}");
    println!(
        "insert rate:         {:.0} rows/s",
        rows as f64 / total.as_secs_f64()
    );
    println!(
        "elapsed:             {:.3} s (all queued after {:.3} s)",
        total.as_secs_f64(),
        queued.as_secs_f64()
    );
    println!(
        "batches:             {} (avg {:.1} rows, max {})",
        m.batches_written, m.avg_batch_size, m.max_batch_size
    );
    println!(
        "batch write time:    avg {:.0} µs, max {} µs",
        m.avg_write_us, m.max_write_us
    );
    println!(
        "backpressure waits:  {} ({} µs in total)",
        m.backpressure_waits, m.backpressure_wait_us_total
    );
    println!(
        "database size:       {} KiB",
        std::fs::metadata(store.path())?.len() / 1024
    );
    Ok(())
}
