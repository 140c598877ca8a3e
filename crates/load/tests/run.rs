//! Runs against the crate's own small server on loopback: counts, reconnects, the open
//! model's schedule, timeouts and weighted kinds. No assertion depends on speed.

mod support;

use std::sync::Arc;
use std::time::Duration;

use load::{BaseUrl, Load, Plan, Progress, RequestSpec, Stop, Target};

fn closed(users: u32) -> Load {
    Load::Closed {
        users,
        think: Duration::ZERO,
        ramp_up: Duration::ZERO,
    }
}

fn plan(target: Target, load: Load, requests: u64) -> Plan {
    Plan {
        target,
        load,
        stop: Stop {
            duration: None,
            requests: Some(requests),
        },
        timeout: Duration::from_secs(10),
        seed: 1,
    }
}

fn url(addr: std::net::SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

#[tokio::test]
async fn a_counted_run_sends_exactly_that_many_requests() {
    let (addr, served) = support::start().await;
    let target = Target::single(&url(addr, "/"), "GET", &[], Vec::new()).unwrap();
    let progress = Arc::new(Progress::default());
    let report = load::run(&plan(target, closed(4), 500), progress.clone())
        .await
        .unwrap();
    assert_eq!(report.requests, 500);
    assert_eq!(report.responses, 500);
    assert_eq!(report.errors, 0);
    assert_eq!(served.count(), 500);
    assert_eq!(progress.completed(), 500);
    assert_eq!(report.status.get(&200), Some(&500));
    assert_eq!(report.bytes_received, 500 * 5);
    assert_eq!(report.latency_us.count, 500);
    assert!(report.latency_us.p50 <= report.latency_us.p99);
    assert!(report.latency_us.p99 <= report.latency_us.max);
    assert_eq!(report.kinds.len(), 1);
    assert_eq!(report.kinds[0].requests, 500);
    assert!(report.open.is_none());
}

#[tokio::test]
async fn connections_closed_by_the_server_are_reopened_without_errors() {
    let (addr, served) = support::start().await;
    let target = Target::single(&url(addr, "/close"), "GET", &[], Vec::new()).unwrap();
    let report = load::run(&plan(target, closed(3), 60), Arc::default())
        .await
        .unwrap();
    assert_eq!(report.errors, 0, "{:?}", report.errors_by_kind);
    assert_eq!(report.responses, 60);
    assert_eq!(served.count(), 60);
}

#[tokio::test]
async fn chunked_answers_are_read_whole_and_the_connection_reused() {
    let (addr, served) = support::start().await;
    let target = Target::single(&url(addr, "/chunked"), "GET", &[], Vec::new()).unwrap();
    let report = load::run(&plan(target, closed(2), 100), Arc::default())
        .await
        .unwrap();
    assert_eq!(report.errors, 0, "{:?}", report.errors_by_kind);
    assert_eq!(report.responses, 100);
    assert_eq!(report.bytes_received, 100 * 5);
    assert_eq!(served.count(), 100);
}

#[tokio::test]
async fn the_open_model_sends_every_scheduled_request_and_reports_the_schedule() {
    let (addr, served) = support::start().await;
    let target = Target::single(&url(addr, "/"), "GET", &[], Vec::new()).unwrap();
    let load = Load::Open {
        rate: 400.0,
        max_connections: 8,
    };
    let report = load::run(&plan(target, load, 80), Arc::default())
        .await
        .unwrap();
    let open = report.open.expect("open model figures");
    assert_eq!(open.scheduled, 80);
    assert_eq!(open.sent, 80);
    assert_eq!(open.dropped, 0);
    assert!((1..=8).contains(&open.connections), "{}", open.connections);
    assert_eq!(report.responses, 80);
    assert_eq!(served.count(), 80);
    assert_eq!(report.settings.model, "open");
    assert_eq!(report.settings.rate, Some(400.0));
}

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_a_timeout() {
    let (addr, _) = support::start().await;
    let target = Target::single(&url(addr, "/slow"), "GET", &[], Vec::new()).unwrap();
    let mut plan = plan(target, closed(2), 4);
    plan.timeout = Duration::from_millis(20);
    let report = load::run(&plan, Arc::default()).await.unwrap();
    assert_eq!(report.requests, 4);
    assert_eq!(report.errors_by_kind.timeout, 4);
    assert_eq!(report.responses, 0);
    assert_eq!(report.error_rate, 1.0);
}

#[tokio::test]
async fn a_closed_port_gives_connect_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let target = Target::single(&url(addr, "/"), "GET", &[], Vec::new()).unwrap();
    let report = load::run(&plan(target, closed(2), 10), Arc::default())
        .await
        .unwrap();
    assert_eq!(report.requests, 10);
    assert_eq!(report.errors_by_kind.connect, 10);
}

#[tokio::test]
async fn weighted_kinds_are_reported_apart() {
    let (addr, served) = support::start().await;
    let spec = |name: &str, path: &str, weight| RequestSpec {
        name: name.to_owned(),
        method: "GET".to_owned(),
        path: path.to_owned(),
        headers: vec![("X-Bench".to_owned(), "1".to_owned())],
        body: Vec::new(),
        weight,
    };
    let base = BaseUrl::parse(&url(addr, "")).unwrap();
    let target = Target::many(
        base,
        vec![spec("ok", "/", 3), spec("missing", "/status/404", 1)],
        "two kinds".to_owned(),
    )
    .unwrap();
    let report = load::run(&plan(target, closed(2), 400), Arc::default())
        .await
        .unwrap();
    assert_eq!(served.count(), 400);
    let [ok, missing] = &report.kinds[..] else {
        panic!("two kinds expected");
    };
    assert_eq!(ok.requests + missing.requests, 400);
    assert_eq!(ok.status.keys().copied().collect::<Vec<_>>(), [200]);
    assert_eq!(missing.status.keys().copied().collect::<Vec<_>>(), [404]);
    // A quarter is expected; 400 draws stay well inside these bounds.
    assert!(
        (50..150).contains(&missing.requests),
        "{}",
        missing.requests
    );
    assert_eq!(missing.error_rate, 1.0);
    assert!((report.error_rate - missing.requests as f64 / 400.0).abs() < 1e-9);
}

#[tokio::test]
async fn a_plan_without_an_end_is_refused() {
    let target = Target::single("http://127.0.0.1:9/", "GET", &[], Vec::new()).unwrap();
    let mut plan = plan(target, closed(1), 1);
    plan.stop.requests = None;
    let err = load::run(&plan, Arc::default()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid plan: a run needs a duration or a request count to stop"
    );
}
