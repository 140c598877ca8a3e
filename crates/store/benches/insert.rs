//! Log-row insertion rate of the SQLite backend: rows sent through the batching writer and
//! committed, per second, for small and for body-carrying rows.
//!
//! `cargo bench -p store`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use store::{LogRecord, Store, StoreOptions, WriterOptions};

fn record(body: &Bytes) -> LogRecord {
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("bench/1"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    LogRecord {
        timestamp: chrono::Utc::now(),
        server_id: "bench".into(),
        method: Method::GET,
        uri: "/v1/books/42?limit=10".parse().expect("uri"),
        route: Some("/books/{bookId}".into()),
        operation_id: Some("getBook".into()),
        request_headers: headers.clone(),
        status: StatusCode::OK,
        response_headers: headers,
        response_body: body.clone(),
        duration: Duration::from_micros(120),
        request_id: "bench-1".into(),
        ..LogRecord::default()
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("bench.db"), StoreOptions::default()).expect("open");
    let (sink, writer) = runtime
        .block_on(async { store.start_writer(WriterOptions::default()) })
        .expect("writer");

    let mut group = c.benchmark_group("sqlite log insert");
    for (name, body) in [
        ("small row", Bytes::new()),
        ("1 KiB response body", Bytes::from(vec![b'x'; 1024])),
    ] {
        let record = record(&body);
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter_custom(|rows| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..rows {
                        sink.send(record.clone()).await.expect("writer alive");
                    }
                    sink.flush().await.expect("flushed");
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
    drop(sink);
    runtime.block_on(writer.shutdown());
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
