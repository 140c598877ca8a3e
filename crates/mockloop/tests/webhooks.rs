//! Webhooks and callbacks against the real binary: deliveries go only to a receiver each
//! test starts on 127.0.0.1 port 0; refusals of metadata and link-local destinations are
//! checked at registration, where nothing is sent.

mod support;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::{Mock, example_spec};

const NEW_BOOK: &str =
    r#"{"isbn":"978-0141182803","title":"Dune","genre":"fiction","price":9.5,"authorId":11}"#;

const DEADLINE: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    target: String,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// An HTTP/1.1 receiver on 127.0.0.1 port 0 that records requests and answers each with
/// the next scripted status (200 once the script is used up), closing the connection.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (sink, script) = (sink.clone(), script.clone());
                std::thread::spawn(move || serve_one(stream, &sink, &script));
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived; returns them.
    fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} requests, expected {count}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn serve_one(stream: TcpStream, sink: &Mutex<Vec<Received>>, script: &Mutex<VecDeque<u16>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header line");
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    let status = script.lock().unwrap().pop_front().unwrap_or(200);
    sink.lock().unwrap().push(Received {
        method,
        target,
        headers,
        body,
    });
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    );
}

/// A call to the admin API: status and JSON answer.
fn admin(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    mock.admin_call(method, path, body)
}

/// A request to the mock API with a JSON body; the status.
fn send(mock: &Mock, method: &str, path: &str, body: &str) -> u16 {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{}", mock.api, path))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .expect("request");
    let mut resp = mock.agent().run(request).expect("mock answer");
    let _ = resp.body_mut().read_to_vec();
    resp.status().as_u16()
}

fn register(mock: &Mock, body: Value) -> i64 {
    let (status, stored) = admin(mock, "POST", "/api/webhooks", Some(body));
    assert_eq!(status, 201, "{stored}");
    stored["id"].as_i64().expect("webhook id")
}

/// Polls a deliveries listing until it holds `count` attempts.
fn deliveries(mock: &Mock, path: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (status, list) = admin(mock, "GET", path, None);
        assert_eq!(status, 200, "{list}");
        let items = list.as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "{path} holds {} attempts, expected {count}",
            items.len()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How a receiver checks a delivery: HMAC-SHA256 of `timestamp.body` under the secret.
fn signature_is_valid(secret: &str, got: &Received) -> bool {
    let (Some(timestamp), Some(signature)) = (
        got.header("x-mockloop-timestamp"),
        got.header("x-mockloop-signature"),
    ) else {
        return false;
    };
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&got.body);
    bytes.is_some_and(|b| mac.verify_slice(&b).is_ok())
}

#[test]
fn a_create_fires_a_signed_webhook_with_the_exchange_and_other_requests_do_not() {
    let receiver = Receiver::start(&[]);
    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let id = register(
        &mock,
        json!({ "url": format!("{}/hooks/books", receiver.url), "events": ["create"],
                "secret": "s3cret", "headers": { "X-Team": "books" } }),
    );
    let (_, shown) = admin(&mock, "GET", &format!("/api/webhooks/{id}"), None);
    assert_eq!(shown["secret"], "********");
    assert!(!shown.to_string().contains("s3cret"), "{shown}");

    assert_eq!(send(&mock, "GET", "/books?limit=2", ""), 200);
    assert_eq!(send(&mock, "POST", "/books?src=test", NEW_BOOK), 201);
    let got = receiver.wait_for(1);
    let hook = &got[0];
    assert_eq!(hook.method, "POST");
    assert_eq!(hook.target, "/hooks/books");
    assert_eq!(hook.header("x-mockloop-event"), Some("create"));
    assert_eq!(hook.header("x-team"), Some("books"));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    assert!(hook.header("x-mockloop-delivery").is_some());
    assert!(
        signature_is_valid("s3cret", hook),
        "bad signature: {hook:?}"
    );
    assert!(!signature_is_valid("other", hook));
    let payload = hook.json();
    assert_eq!(payload["event"], "create");
    assert_eq!(payload["webhook_id"], id);
    assert_eq!(payload["request"]["method"], "POST");
    assert_eq!(payload["request"]["path"], "/books");
    assert_eq!(payload["request"]["query"], json!({ "src": "test" }));
    assert_eq!(payload["request"]["body"]["title"], "Dune");
    assert_eq!(payload["response"]["status"], 201);
    assert!(payload["response"]["body"].is_object(), "{payload}");
    assert!(
        payload["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );

    let recorded = deliveries(&mock, &format!("/api/webhooks/{id}/deliveries"), 1);
    assert_eq!(
        recorded.len(),
        1,
        "the GET must not have fired: {recorded:?}"
    );
    assert_eq!(recorded[0]["outcome"], "delivered");
    assert_eq!(recorded[0]["status"], 200);
    assert_eq!(recorded[0]["attempt"], 1);
    assert!(recorded[0]["latency_ms"].as_f64().is_some());
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn a_failing_receiver_is_retried_with_every_attempt_recorded() {
    let receiver = Receiver::start(&[500, 503, 200]);
    let mock = Mock::start(
        &example_spec(),
        &["--webhooks-allow-private", "--webhook-backoff", "10ms"],
    );
    let id = register(
        &mock,
        json!({ "url": receiver.url, "events": ["POST /books"] }),
    );
    assert_eq!(send(&mock, "POST", "/books", NEW_BOOK), 201);
    let got = receiver.wait_for(3);
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.header("x-mockloop-delivery"))
        .collect();
    assert!(ids.iter().all(|d| d.is_some() && *d == ids[0]), "{ids:?}");
    assert_eq!(got[0].header("x-mockloop-event"), Some("POST /books"));

    let mut attempts = deliveries(&mock, &format!("/api/webhooks/{id}/deliveries"), 3);
    attempts.reverse();
    let seen: Vec<(u64, u64, &str)> = attempts
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["status"].as_u64().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, 500, "retrying"),
            (2, 503, "retrying"),
            (3, 200, "delivered")
        ]
    );
    assert_eq!(attempts[0]["error"], "answered 500");
    let metrics = mock.admin_json("/api/metrics");
    assert_eq!(metrics["webhooks"]["retried"], 2, "{}", metrics["webhooks"]);
    assert_eq!(metrics["webhooks"]["delivered"], 1);
    assert_eq!(metrics["webhooks"]["sent"], 3);
    let text = mock
        .agent()
        .get(&format!("{}/metrics", mock.admin))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(text.contains("mockloop_webhook_retried_total 2"), "{text}");
}

#[test]
fn a_receiver_that_keeps_failing_is_given_up_after_the_attempts() {
    let receiver = Receiver::start(&[500, 500]);
    let mock = Mock::start(
        &example_spec(),
        &[
            "--webhooks-allow-private",
            "--webhook-backoff",
            "5ms",
            "--webhook-attempts",
            "2",
        ],
    );
    register(&mock, json!({ "url": receiver.url, "events": "*" }));
    assert_eq!(send(&mock, "DELETE", "/books/3", ""), 204);
    receiver.wait_for(2);
    let attempts = deliveries(&mock, "/api/deliveries?kind=webhook", 2);
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["event"], "delete");
    assert_eq!(attempts[1]["outcome"], "retrying");
}

fn cli(mock: &Mock, args: &[&str]) -> (i32, String, String) {
    mock.cli(&[&["webhook"], args].concat())
}

#[test]
fn the_webhook_command_adds_lists_tests_and_deletes() {
    let receiver = Receiver::start(&[]);
    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let url = format!("{}/cli", receiver.url);
    let (code, out, err) = cli(
        &mock,
        &[
            "add",
            &url,
            "-e",
            "create",
            "-e",
            "GET /books/*",
            "--secret",
            "k",
            "--header",
            "X-Env: test",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let added: Value = serde_json::from_str(&out).expect("JSON");
    let id = added["id"].as_i64().unwrap();
    assert_eq!(added["events"], json!(["create", "GET /books/*"]));
    assert_eq!(added["secret"], "********");

    let (code, out, _) = cli(&mock, &["list"]);
    assert_eq!(code, 0);
    assert!(out.contains(&url) && out.contains("GET /books/*"), "{out}");

    let (code, out, err) = cli(&mock, &["test", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("delivered: HTTP 200"), "{out}");
    let got = receiver.wait_for(1);
    assert_eq!(got[0].header("x-mockloop-event"), Some("test"));
    assert_eq!(got[0].header("x-env"), Some("test"));
    assert!(signature_is_valid("k", &got[0]));
    assert_eq!(got[0].json()["event"], "test");

    assert_eq!(send(&mock, "GET", "/books/2", ""), 200);
    receiver.wait_for(2);
    let (code, out, _) = cli(&mock, &["deliveries", &id.to_string(), "--json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let events: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    // The route delivery may still be recording; the test one is there.
    assert!(events.contains(&"test"), "{events:?}");

    let (code, out, _) = cli(&mock, &["delete", &id.to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("deleted webhook {id}")));
    let (code, out, _) = cli(&mock, &["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("no webhooks registered"), "{out}");
    let (code, _, err) = cli(&mock, &["show", &id.to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("no webhook with id {id}")), "{err}");
    // The history outlives the webhook.
    let all = deliveries(&mock, "/api/deliveries", 1);
    assert!(all.iter().any(|d| d["webhook_id"] == id));
}

#[test]
fn metadata_and_link_local_destinations_are_refused_at_registration() {
    // Even with private destinations allowed. Each refusal happens before any connection
    // or lookup: IP literals and metadata names are judged as written.
    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    for (url, reason) in [
        (
            "http://169.254.169.254/latest/meta-data/",
            "a cloud metadata address",
        ),
        ("http://169.254.10.1:8080/", "link-local"),
        ("http://[fd00:ec2::254]/", "a cloud metadata address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.100.100.200/", "a cloud metadata address"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "cloud metadata service",
        ),
        ("http://0.0.0.0:9/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
    ] {
        let (status, problem) = admin(
            &mock,
            "POST",
            "/api/webhooks",
            Some(json!({ "url": url, "events": ["*"] })),
        );
        assert_eq!(status, 400, "{url}: {problem}");
        assert_eq!(problem["field"], "url", "{url}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("is refused") && detail.contains(reason),
            "{url}: {detail}"
        );
    }
    let (_, list) = admin(&mock, "GET", "/api/webhooks", None);
    assert_eq!(list, json!([]));
}

#[test]
fn private_destinations_need_the_allow_flag() {
    let receiver = Receiver::start(&[]);
    let mock = Mock::start(&example_spec(), &[]);
    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/webhooks",
        Some(json!({ "url": receiver.url, "events": ["create"] })),
    );
    assert_eq!(status, 400, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("loopback") && detail.contains("--webhooks-allow-private"),
        "{detail}"
    );
    let (code, _, err) = cli(&mock, &["add", "http://10.0.0.7/hook"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a private address"), "{err}");
    // A bad event is named too.
    let (code, _, err) = cli(&mock, &["add", &receiver.url, "-e", "created"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid event 'created'"), "{err}");
    assert!(receiver.received().is_empty());
}

/// Found by a fresh-user run: an event naming a route template the description does not
/// declare was accepted, though it could never fire.
#[test]
fn an_event_naming_an_undeclared_template_is_refused() {
    let receiver = Receiver::start(&[]);
    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/webhooks",
        Some(json!({ "url": receiver.url, "events": ["GET /nope/{x}"] })),
    );
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "events", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("route template '/nope/{x}' is not declared"),
        "{problem}"
    );
    let (status, _) = admin(
        &mock,
        "POST",
        "/api/webhooks",
        Some(json!({ "url": receiver.url, "events": ["GET /books/{isbn}", "GET /nope/*"] })),
    );
    assert_eq!(status, 201);
}

#[test]
fn a_name_resolving_to_loopback_is_checked_and_delivered_to_the_checked_address() {
    let receiver = Receiver::start(&[]);
    let port = receiver.url.rsplit(':').next().unwrap().to_owned();
    let by_name = format!("http://localhost:{port}/named");
    let strict = Mock::start(&example_spec(), &[]);
    let (status, problem) = admin(
        &strict,
        "POST",
        "/api/webhooks",
        Some(json!({ "url": by_name, "events": ["*"] })),
    );
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("'localhost' is refused")
    );

    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let id = register(&mock, json!({ "url": by_name, "events": ["*"] }));
    let (status, attempt) = admin(&mock, "POST", &format!("/api/webhooks/{id}/test"), None);
    assert_eq!(status, 200, "{attempt}");
    assert_eq!(attempt["outcome"], "delivered", "{attempt}");
    assert_eq!(receiver.wait_for(1)[0].target, "/named");
}

#[test]
fn webhooks_persist_across_restarts() {
    let receiver = Receiver::start(&[]);
    let mut mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let id = register(
        &mock,
        json!({ "url": receiver.url, "events": ["create"], "secret": "kept" }),
    );
    assert!(mock.stop().success());
    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let mock = Mock::start_in(dir, &example_spec(), &["--webhooks-allow-private"]);
    let (_, list) = admin(&mock, "GET", "/api/webhooks", None);
    assert_eq!(list[0]["id"], id, "{list}");
    assert_eq!(send(&mock, "POST", "/books", NEW_BOOK), 201);
    let got = receiver.wait_for(1);
    assert!(signature_is_valid("kept", &got[0]));
}

const CALLBACK_SPEC: &str = r#"
openapi: 3.0.3
info: { title: Subscriptions, version: "1" }
paths:
  /subscriptions:
    post:
      operationId: subscribe
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [callbackUrl]
              properties:
                callbackUrl: { type: string }
      responses:
        "201":
          description: Subscribed
          content:
            application/json:
              example: { id: sub-7 }
      callbacks:
        onEvent:
          "{$request.body#/callbackUrl}?subscription={$response.body#/id}":
            post:
              requestBody:
                content:
                  application/json:
                    example: { event: ping, level: 3 }
              responses:
                "200": { description: Received }
"#;

#[test]
fn a_declared_callback_fires_to_the_url_in_the_request_body() {
    let receiver = Receiver::start(&[]);
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("subscriptions.yaml");
    std::fs::write(&spec, CALLBACK_SPEC).unwrap();
    let mock = Mock::start(&spec, &["--callbacks", "--webhooks-allow-private"]);
    let body = json!({ "callbackUrl": format!("{}/events", receiver.url) }).to_string();
    assert_eq!(send(&mock, "POST", "/subscriptions", &body), 201);
    let got = receiver.wait_for(1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].target, "/events?subscription=sub-7");
    assert_eq!(got[0].header("x-mockloop-event"), Some("onEvent"));
    assert_eq!(got[0].json(), json!({ "event": "ping", "level": 3 }));
    let recorded = deliveries(&mock, "/api/deliveries?kind=callback", 1);
    assert_eq!(recorded[0]["outcome"], "delivered");
    assert_eq!(recorded[0]["kind"], "callback");
    assert_eq!(
        recorded[0]["url"],
        format!("{}/events?subscription=sub-7", receiver.url)
    );

    // A callback URL pointing at a metadata address is refused, never sent.
    let body = json!({ "callbackUrl": "http://169.254.169.254/latest" }).to_string();
    assert_eq!(send(&mock, "POST", "/subscriptions", &body), 201);
    let recorded = deliveries(&mock, "/api/deliveries?kind=callback", 2);
    assert_eq!(recorded[0]["outcome"], "refused", "{:?}", recorded[0]);
    assert!(recorded[0]["status"].is_null());
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn callbacks_stay_off_without_the_flag() {
    let receiver = Receiver::start(&[]);
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("subscriptions.yaml");
    std::fs::write(&spec, CALLBACK_SPEC).unwrap();
    let mock = Mock::start(&spec, &["--webhooks-allow-private"]);
    // A webhook on the same request proves the exchange was processed.
    register(&mock, json!({ "url": receiver.url, "events": ["create"] }));
    let body = json!({ "callbackUrl": format!("{}/events", receiver.url) }).to_string();
    assert_eq!(send(&mock, "POST", "/subscriptions", &body), 201);
    deliveries(&mock, "/api/deliveries?kind=webhook", 1);
    let (_, callbacks) = admin(&mock, "GET", "/api/deliveries?kind=callback", None);
    assert_eq!(callbacks, json!([]));
    assert!(receiver.received().iter().all(|r| r.target == "/"));
}
