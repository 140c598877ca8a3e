//! Live metrics and the concurrency limit of `mockloop serve`, against the real binary on the
//! bundled example.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Mock, example_spec};

fn get(mock: &Mock, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = mock.agent().get(&format!("{}{}", mock.api, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().expect("response");
    let _ = response.body_mut().read_to_vec();
    response.status().as_u16()
}

/// Polls `/api/metrics` until `done` holds, or fails after a deadline with the last report.
fn metrics_until(mock: &Mock, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = mock.admin_json("/api/metrics");
        if done(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {report:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn route<'a>(report: &'a Value, template: &str, method: Option<&str>) -> &'a Value {
    report["http"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["route"] == template && r["method"].as_str() == method)
        .unwrap_or_else(|| panic!("no route {template} {method:?} in {report:#}"))
}

/// One sample of the exposition: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Reads the Prometheus text format strictly: every line is HELP, TYPE or a sample; names
/// and label names are well formed; label values are quoted with only `\\`, `\"` and `\n`
/// escapes; every sample belongs to a family typed before it, and no family is typed twice.
/// Returns the samples and the type of each family.
fn parse_exposition(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
    fn is_name(name: &str, colon: bool) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    assert!(
        text.ends_with('\n'),
        "the exposition must end with a line feed"
    );
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP has a name and text");
            assert!(is_name(name, true), "bad name in {line:?}");
            assert!(!helped.contains(&name.to_owned()), "HELP twice for {name}");
            helped.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type in {line:?}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} typed twice"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(is_name(name, true), "bad metric name in {line:?}");
        let mut rest = &line[name_end..];
        let mut labels = HashMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            loop {
                let start = chars.peek().expect("label or '}'").0;
                if inner[start..].starts_with('}') {
                    rest = &inner[start + 1..];
                    break;
                }
                let eq = inner[start..].find('=').expect("label=value") + start;
                let label = &inner[start..eq];
                assert!(
                    is_name(label, false),
                    "bad label name {label:?} in {line:?}"
                );
                assert_eq!(
                    &inner[eq + 1..eq + 2],
                    "\"",
                    "label value must be quoted: {line:?}"
                );
                while chars.peek().is_some_and(|(i, _)| *i <= eq + 1) {
                    chars.next();
                }
                let mut value = String::new();
                loop {
                    match chars.next().expect("closing quote").1 {
                        '"' => break,
                        '\\' => match chars.next().expect("escaped character").1 {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            other => panic!("bad escape \\{other} in {line:?}"),
                        },
                        '\n' => panic!("raw line feed in a label value"),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label.to_owned(), value).is_none(), "{line:?}");
                if chars.peek().is_some_and(|(_, c)| *c == ',') {
                    chars.next();
                }
            }
        }
        let value_text = rest.strip_prefix(' ').expect("one space before the value");
        let value = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            text => text
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value {text:?} in {line:?}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "{name} sampled before its TYPE line"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    for name in types.keys() {
        assert!(helped.contains(name), "{name} has no HELP line");
    }
    (samples, types)
}

fn sample<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[test]
fn counts_requests_per_route_and_overall_in_json_and_prometheus() {
    let mut mock = Mock::start(&example_spec(), &[]);
    for _ in 0..5 {
        assert_eq!(get(&mock, "/books", &[]), 200);
    }
    for id in 1..=3 {
        assert_eq!(get(&mock, &format!("/books/{id}"), &[]), 200);
    }
    assert_eq!(get(&mock, "/books/4", &[("prefer", "code=404")]), 404);
    for _ in 0..2 {
        assert_eq!(get(&mock, "/no/such/path", &[]), 404);
    }

    // Since-start figures are read live.
    let report = mock.admin_json("/api/metrics");
    let overall = &report["http"]["overall"]["since_start"];
    assert_eq!(overall["requests"], 11, "{report:#}");
    assert_eq!(overall["status"]["2xx"], 8);
    assert_eq!(overall["status"]["4xx"], 3);
    assert_eq!(overall["status"]["5xx"], 0);
    assert_eq!(overall["client_errors"], 3);
    assert!((overall["client_error_rate"].as_f64().unwrap() - 3.0 / 11.0).abs() < 1e-9);
    let latency = &overall["latency_us"];
    let (p50, p99, max) = (
        latency["p50"].as_u64().unwrap(),
        latency["p99"].as_u64().unwrap(),
        latency["max"].as_u64().unwrap(),
    );
    assert!(p50 <= p99 && p99 <= max && max > 0, "{latency}");
    assert_eq!(report["http"]["in_flight"], 0);

    let books = &route(&report, "/books", Some("GET"))["windows"]["since_start"];
    assert_eq!(
        (books["requests"].as_u64(), books["status"]["2xx"].as_u64()),
        (Some(5), Some(5))
    );
    let book = route(&report, "/books/{bookId}", Some("GET"));
    assert_eq!(book["operation_id"], "getBook");
    let book = &book["windows"]["since_start"];
    assert_eq!(book["requests"], 4);
    assert_eq!(
        (
            book["status"]["2xx"].as_u64(),
            book["status"]["4xx"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let unmatched = &route(&report, "unmatched", None)["windows"]["since_start"];
    assert_eq!(
        (
            unmatched["requests"].as_u64(),
            unmatched["status"]["4xx"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        report["http"]["routes"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    assert_eq!(report["concurrency_limit"], Value::Null);

    // Windows end at the sampler's last reading: wait for one that holds every request.
    let report = metrics_until(&mock, "the 10 s window", |r| {
        r["http"]["overall"]["10s"]["requests"] == 11
    });
    assert_eq!(report["http"]["overall"]["1m"]["requests"], 11);
    let window = &route(&report, "/books/{bookId}", Some("GET"))["windows"]["10s"];
    assert_eq!(
        (
            window["requests"].as_u64(),
            window["client_errors"].as_u64()
        ),
        (Some(4), Some(1))
    );
    assert!(
        report["http"]["connections"]["opened_total"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // The log store and the system.
    let report = metrics_until(&mock, "rows written", |r| {
        r["log_store"]["totals"]["rows_written"] == 11
    });
    assert_eq!(
        report["log_store"]["queue_capacity"],
        report["log_store"]["totals"]["queue_capacity"]
    );
    let system = &report["system"];
    assert!(
        system["latest"]["process_resident_memory_bytes"]
            .as_u64()
            .unwrap()
            > 0,
        "{system}"
    );
    let memory = system["process_memory_percent"].as_f64().unwrap();
    assert!(memory > 0.0 && memory < 100.0, "{system}");

    // The same counts in the Prometheus format.
    let mut response = mock
        .agent()
        .get(&format!("{}/metrics", mock.admin))
        .call()
        .expect("/metrics");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.body_mut().read_to_string().expect("text");
    let (samples, types) = parse_exposition(&text);
    for (name, kind) in [
        ("mockloop_http_requests_total", "counter"),
        ("mockloop_http_request_duration_seconds", "histogram"),
        ("mockloop_http_requests_in_flight", "gauge"),
        ("mockloop_http_connections_open", "gauge"),
        ("mockloop_log_rows_written_total", "counter"),
        ("mockloop_log_queue_depth", "gauge"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_cpu_seconds_total", "counter"),
    ] {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    let total = "mockloop_http_requests_total";
    let books = [("route", "/books"), ("method", "GET")];
    let class = |labels: &[(&'static str, &'static str)], class: &'static str| {
        let mut all = labels.to_vec();
        all.push(("status_class", class));
        sample(&samples, total, &all).value
    };
    assert_eq!(class(&books, "2xx"), 5.0);
    assert_eq!(
        class(&[("route", "/books/{bookId}"), ("method", "GET")], "4xx"),
        1.0
    );
    assert_eq!(class(&[("route", "unmatched"), ("method", "")], "4xx"), 2.0);
    let sum: f64 = samples
        .iter()
        .filter(|s| s.name == total)
        .map(|s| s.value)
        .sum();
    assert_eq!(sum, 11.0);
    let duration = "mockloop_http_request_duration_seconds";
    let count = sample(&samples, &format!("{duration}_count"), &books).value;
    let mut inf = books.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        (
            count,
            sample(&samples, &format!("{duration}_bucket"), &inf).value
        ),
        (5.0, 5.0)
    );
    let mut previous = 0.0;
    for s in samples
        .iter()
        .filter(|s| s.name == format!("{duration}_bucket") && s.labels["route"] == "/books")
    {
        assert!(s.value >= previous, "buckets must not decrease: {s:?}");
        previous = s.value;
    }
    assert!(sample(&samples, &format!("{duration}_sum"), &books).value > 0.0);
    assert_eq!(
        sample(&samples, "mockloop_log_rows_written_total", &[]).value,
        11.0
    );
    assert!(sample(&samples, "process_resident_memory_bytes", &[]).value > 0.0);
    assert!(mock.stop().success());
}

/// A request that has sent its headers and part of its body, so that the server holds it in
/// flight (reading the body) until the rest is sent.
struct HeldRequest {
    stream: TcpStream,
    rest: &'static [u8],
}

const BOOK: &str =
    r#"{"isbn":"978-0141182803","title":"Dune","genre":"fiction","price":9.5,"authorId":11}"#;

impl HeldRequest {
    fn open(mock: &Mock) -> HeldRequest {
        let address = mock.api.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let (first, rest) = BOOK.as_bytes().split_at(10);
        write!(
            stream,
            "POST /books HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            BOOK.len()
        )
        .expect("headers");
        stream.write_all(first).expect("part of the body");
        stream.flush().expect("flush");
        HeldRequest { stream, rest }
    }

    /// Sends the rest of the body and returns the response's status.
    fn release(mut self) -> u16 {
        self.stream.write_all(self.rest).expect("rest of the body");
        let mut response = String::new();
        self.stream.read_to_string(&mut response).expect("response");
        let status = response.split(' ').nth(1).expect("status line");
        status
            .parse()
            .unwrap_or_else(|_| panic!("bad response {response:?}"))
    }
}

#[test]
fn concurrency_limit_queues_then_refuses_with_retry_after_and_counts_it() {
    let mut mock = Mock::start(&example_spec(), &["--max-concurrency", "2", "--queue", "1"]);
    let report = mock.admin_json("/api/metrics");
    assert_eq!(report["concurrency_limit"]["max_concurrency"], 2);
    assert_eq!(report["concurrency_limit"]["queue"], 1);

    // Two requests take both places, a third waits in line.
    let held: Vec<HeldRequest> = (0..3).map(|_| HeldRequest::open(&mock)).collect();
    let report = metrics_until(&mock, "two in flight and one waiting", |r| {
        r["concurrency_limit"]["in_flight"] == 2 && r["concurrency_limit"]["waiting"] == 1
    });
    assert_eq!(report["http"]["in_flight"], 3);
    assert_eq!(route(&report, "/books", Some("POST"))["in_flight"], 3);

    // A fourth finds the line full.
    let mut response = mock
        .agent()
        .get(&format!("{}/books", mock.api))
        .call()
        .expect("response");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.body_mut().read_to_string().expect("body");
    assert!(
        body.contains("concurrency limit (2 in flight, 1 waiting)"),
        "{body}"
    );

    let report = mock.admin_json("/api/metrics");
    let totals = &report["concurrency_limit"]["totals"];
    assert_eq!(
        (totals["rejected"].as_u64(), totals["queued"].as_u64()),
        (Some(1), Some(1))
    );
    let refused = &route(&report, "/books", Some("GET"))["windows"]["since_start"];
    assert_eq!(refused["status"]["5xx"], 1);

    // Released, all three are answered; the one in line got its place.
    let statuses: Vec<u16> = held.into_iter().map(HeldRequest::release).collect();
    assert_eq!(statuses, [201, 201, 201]);
    let report = metrics_until(&mock, "the line to empty", |r| {
        r["concurrency_limit"]["in_flight"] == 0 && r["http"]["in_flight"] == 0
    });
    let limit = &report["concurrency_limit"];
    assert_eq!(limit["waiting"], 0);
    assert!(
        limit["totals"]["queue_wait_us"].as_u64().unwrap() > 0,
        "{limit}"
    );
    let posts = &route(&report, "/books", Some("POST"))["windows"]["since_start"];
    assert_eq!(posts["status"]["2xx"], 3);

    // Every request is in the log, the refused one too, under its route.
    assert_eq!(mock.wait_for_logged(4), 4);
    let refused = mock.admin_json("/api/requests?status=503");
    assert_eq!(refused["total"], 1);
    let row = &refused["items"][0];
    assert_eq!(
        (row["route"].as_str(), row["method"].as_str()),
        (Some("/books"), Some("GET"))
    );

    let text = mock
        .agent()
        .get(&format!("{}/metrics", mock.admin))
        .call()
        .expect("/metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    let (samples, _) = parse_exposition(&text);
    assert_eq!(
        sample(&samples, "mockloop_limit_rejected_total", &[]).value,
        1.0
    );
    assert_eq!(
        sample(&samples, "mockloop_limit_queued_total", &[]).value,
        1.0
    );
    assert!(mock.stop().success());
}
