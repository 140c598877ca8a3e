//! Changing a running mock: overrides, scenarios (our API and MockLoop's paths), faults and
//! latency, persistence across restarts, and the `scenario`, `override` and `faults`
//! commands, all against the real binary.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Mock, bin, example_spec};

/// A request to the mock API: status, headers and body.
fn call(mock: &Mock, method: &str, path: &str) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{}", mock.api, path))
        .body(Vec::new())
        .expect("request");
    let mut resp = mock.agent().run(request).expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.body_mut().read_to_vec().expect("body");
    (status, headers, body)
}

fn get(mock: &Mock, path: &str) -> (u16, Value) {
    let (status, _, body) = call(mock, "GET", path);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A call to the admin API with an optional JSON body: status and JSON answer.
fn admin(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    mock.admin_call(method, path, body)
}

/// The newest logged request, once the log holds `count` rows.
fn logged(mock: &Mock, count: u64) -> Value {
    assert_eq!(mock.wait_for_logged(count), count, "rows in the log");
    mock.admin_json("/api/requests?limit=1")["items"][0].clone()
}

const BOOK_ONE: &str = "/books/1";

#[test]
fn an_override_changes_the_next_response_and_removing_it_restores_the_description() {
    let mock = Mock::start(&example_spec(), &[]);
    let (status, original) = get(&mock, BOOK_ONE);
    assert_eq!(status, 200);

    let (status, added) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(
            json!({ "method": "GET", "path": "/books/{id}", "status": 503,
                     "headers": { "Retry-After": "5" }, "body": { "down": true } }),
        ),
    );
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_u64().expect("override id");
    let (status, headers, body) = call(&mock, "GET", BOOK_ONE);
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "5");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "down": true })
    );
    let row = logged(&mock, 2);
    assert_eq!(
        row["rule"].as_str(),
        Some(format!("override:{id}").as_str())
    );
    let (_, list) = admin(&mock, "GET", "/api/overrides", None);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["path"], "/books/{id}");

    let (status, _) = admin(
        &mock,
        "PUT",
        &format!("/api/overrides/{id}"),
        Some(json!({ "path": "/books/{bookId}", "status": 404 })),
    );
    assert_eq!(status, 200);
    let (status, body) = get(&mock, BOOK_ONE);
    assert_eq!(
        status, 404,
        "the replaced override: the declared 404, {body}"
    );

    let (status, _) = admin(&mock, "DELETE", &format!("/api/overrides/{id}"), None);
    assert_eq!(status, 204);
    assert_eq!(get(&mock, BOOK_ONE), (200, original));
    let (status, problem) = admin(&mock, "DELETE", &format!("/api/overrides/{id}"), None);
    assert_eq!(status, 404, "{problem}");

    // A bad override names the field and changes nothing.
    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(json!({ "path": "/books", "fault": { "kind": "error", "status": 503, "rate": 7 } })),
    );
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "fault");
    assert_eq!(problem["detail"], "fault: rate 7 is not between 0 and 1");
    let (_, list) = admin(&mock, "GET", "/api/overrides", None);
    assert_eq!(list, json!([]));
}

fn mockloop_scenario(name: &str, status: u16) -> Value {
    json!({
        "name": name,
        "description": "books are down",
        "config": {
            "scenario_type": "error_simulation",
            "endpoints": [{
                "path": "/books",
                "method": "GET",
                "response_config": {
                    "status_code": status,
                    "response_data": { "error": "maintenance" },
                    "headers": { "X-Scenario": name }
                }
            }],
            "test_parameters": { "expected_error_rate": 1.0 }
        }
    })
}

#[test]
fn mockloop_paths_create_activate_log_and_deactivate_scenarios() {
    let mock = Mock::start(&example_spec(), &[]);
    let (_, original) = get(&mock, "/books");

    let (status, created) = admin(
        &mock,
        "POST",
        "/api/mock-data/scenarios",
        Some(mockloop_scenario("maintenance", 503)),
    );
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().expect("scenario id");
    assert_eq!(created["name"], "maintenance");
    assert_eq!(created["is_active"], false);
    assert_eq!(created["config"]["scenario_name"], "maintenance");

    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/mock-data/scenarios",
        Some(mockloop_scenario("maintenance", 500)),
    );
    assert_eq!(status, 400, "a duplicate name: {problem}");
    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/mock-data/scenarios",
        Some(json!({ "description": "no name" })),
    );
    assert_eq!((status, problem["field"].as_str()), (400, Some("name")));

    let (_, list) = admin(&mock, "GET", "/api/mock-data/scenarios", None);
    assert_eq!(list[0]["id"], id);
    assert_eq!(
        mock.admin_json("/api/mock-data/scenarios/active"),
        Value::Null
    );
    let (status, activated) = admin(
        &mock,
        "POST",
        &format!("/api/mock-data/scenarios/{id}/activate"),
        None,
    );
    assert_eq!(status, 200, "{activated}");
    assert_eq!(activated["active_scenario"]["name"], "maintenance");

    let (status, headers, body) = call(&mock, "GET", "/books");
    assert_eq!(status, 503);
    assert_eq!(headers["x-scenario"], "maintenance");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "error": "maintenance" })
    );
    let row = logged(&mock, 2);
    assert_eq!(
        (row["status"].as_u64(), row["scenario"].as_str()),
        (Some(503), Some("maintenance"))
    );
    assert_eq!(row["rule"], "scenario:0");
    let active = mock.admin_json("/api/mock-data/scenarios/active");
    assert_eq!(
        (active["id"].as_i64(), active["is_active"].as_bool()),
        (Some(id), Some(true))
    );

    // The active scenario cannot be deleted, and an unknown id is a 404.
    let (status, _) = admin(
        &mock,
        "DELETE",
        &format!("/api/mock-data/scenarios/{id}"),
        None,
    );
    assert_eq!(status, 400);
    let (status, _) = admin(
        &mock,
        "POST",
        "/api/mock-data/scenarios/9999/activate",
        None,
    );
    assert_eq!(status, 404);

    // Updating the active scenario changes answers at once.
    let (status, updated) = admin(
        &mock,
        "PUT",
        &format!("/api/mock-data/scenarios/{id}"),
        Some(mockloop_scenario("maintenance", 502)),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(get(&mock, "/books").0, 502);

    let (status, _) = admin(
        &mock,
        "POST",
        &format!("/api/mock-data/scenarios/{id}/deactivate"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(get(&mock, "/books"), (200, original));
    let row = logged(&mock, 4);
    assert_eq!(
        (row["scenario"].as_str(), row["rule"].as_str()),
        (Some(""), None)
    );
    assert_eq!(
        mock.admin_json("/api/mock-data/scenarios/active"),
        Value::Null
    );
    let (status, _) = admin(
        &mock,
        "POST",
        &format!("/api/mock-data/scenarios/{id}/deactivate"),
        None,
    );
    assert_eq!(status, 400, "not active");
    let (status, deleted) = admin(
        &mock,
        "DELETE",
        &format!("/api/mock-data/scenarios/{id}"),
        None,
    );
    assert_eq!(status, 200, "{deleted}");
    let (_, list) = admin(&mock, "GET", "/api/mock-data/scenarios", None);
    assert_eq!(list, json!([]));
}

#[test]
fn the_active_scenario_survives_a_restart_on_the_same_database() {
    let mut mock = Mock::start(&example_spec(), &[]);
    let scenario = json!({
        "scenario_name": "teapot",
        "description": "short and stout",
        "endpoints": [{ "path": "/books/*", "response_config": { "status_code": 418 } }]
    });
    let (status, created) = admin(&mock, "POST", "/api/scenarios", Some(scenario.clone()));
    assert_eq!(status, 201, "{created}");
    let (status, _) = admin(&mock, "POST", "/api/scenarios", Some(scenario));
    assert_eq!(status, 409, "our own API: a taken name conflicts");
    let (status, _) = admin(&mock, "POST", "/api/scenarios/teapot/activate", None);
    assert_eq!(status, 200);
    assert_eq!(get(&mock, BOOK_ONE).0, 418);
    assert!(mock.stop().success());

    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let mock = Mock::start_in(dir, &example_spec(), &[]);
    assert_eq!(get(&mock, BOOK_ONE).0, 418, "{}", mock.stderr_text());
    let active = mock.admin_json("/api/scenarios/active");
    assert_eq!(
        (active["name"].as_str(), active["active"].as_bool()),
        (Some("teapot"), Some(true))
    );
    assert_eq!(logged(&mock, 2)["scenario"], "teapot");
    let (status, was) = admin(&mock, "POST", "/api/scenarios/deactivate", None);
    assert_eq!((status, was["deactivated"].as_str()), (200, Some("teapot")));
    assert_eq!(get(&mock, BOOK_ONE).0, 200);
}

#[test]
fn overrides_win_over_the_active_scenario() {
    let mock = Mock::start(&example_spec(), &[]);
    let (status, _) = admin(
        &mock,
        "POST",
        "/api/scenarios",
        Some(json!({
            "scenario_name": "s",
            "endpoints": [{ "path": "/books", "method": "*",
                            "response_config": { "status_code": 500 } }]
        })),
    );
    assert_eq!(status, 201);
    admin(&mock, "POST", "/api/scenarios/s/activate", None);
    assert_eq!(get(&mock, "/books").0, 500);
    let (_, added) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(json!({ "path": "/books", "method": "GET", "status": 202 })),
    );
    assert_eq!(get(&mock, "/books").0, 202, "the override wins");
    admin(
        &mock,
        "DELETE",
        &format!("/api/overrides/{}", added["id"]),
        None,
    );
    assert_eq!(get(&mock, "/books").0, 500, "the scenario again");
}

#[test]
fn faults_are_seen_by_clients_and_named_in_the_log() {
    let mock = Mock::start(&example_spec(), &["--seed", "11"]);
    let set = |rule: Value| {
        admin(&mock, "DELETE", "/api/overrides", None);
        let (status, added) = admin(&mock, "POST", "/api/overrides", Some(rule));
        assert_eq!(status, 201, "{added}");
    };
    let mut rows = 0;

    // Reset: the connection closes without an answer; the log says status 0, fault reset.
    set(json!({ "path": "/books", "fault": { "kind": "reset" } }));
    let request = ureq::http::Request::builder()
        .uri(format!("{}/books", mock.api))
        .body(Vec::new())
        .unwrap();
    assert!(
        mock.agent().run(request).is_err(),
        "a reset must fail the request"
    );
    rows += 1;
    let row = logged(&mock, rows);
    assert_eq!(
        (row["status"].as_u64(), row["fault"].as_str()),
        (Some(0), Some("reset"))
    );

    // An error rate of 1: every request gets the status.
    set(json!({ "path": "/books", "fault": { "kind": "error", "rate": 1.0, "status": 503 } }));
    for _ in 0..3 {
        assert_eq!(get(&mock, "/books").0, 503);
        rows += 1;
    }
    assert_eq!(logged(&mock, rows)["fault"], "error");

    // Empty: the declared status with no body.
    set(json!({ "path": "/books", "fault": { "kind": "empty" } }));
    let (status, headers, body) = call(&mock, "GET", "/books");
    rows += 1;
    assert_eq!((status, body.len()), (200, 0));
    assert_eq!(headers["content-length"], "0");

    // Delay: the answer comes no earlier than the delay.
    set(json!({ "path": "/books", "delay": 300 }));
    let started = Instant::now();
    assert_eq!(get(&mock, "/books").0, 200);
    rows += 1;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let row = logged(&mock, rows);
    assert!(row["duration_us"].as_u64().unwrap() >= 300_000, "{row}");

    // Slow body: 40 bytes/second over a body of about 140 bytes arrive in pieces, over
    // more than two seconds (a lower bound only).
    set(json!({ "path": "/books/{bookId}",
                "fault": { "kind": "slow_body", "bytes_per_second": 40 } }));
    let (reads, length, elapsed) = raw_get(&mock, BOOK_ONE);
    rows += 1;
    assert!(length > 100, "body of {length} bytes");
    let floor = Duration::from_secs_f64((length as f64 - 4.0) / 40.0 * 0.8);
    assert!(
        elapsed >= floor,
        "{length} bytes in {elapsed:?}, expected at least {floor:?}"
    );
    assert!(reads >= 5, "the body came in {reads} reads");
    assert_eq!(logged(&mock, rows)["fault"], "slow_body");

    // Global faults reach every request without a rule of its own.
    admin(&mock, "DELETE", "/api/overrides", None);
    let (status, faults) = admin(
        &mock,
        "PUT",
        "/api/faults",
        Some(json!({ "fault": { "kind": "error", "status": 429 } })),
    );
    assert_eq!(status, 200, "{faults}");
    assert_eq!(get(&mock, "/authors/me").0, 429);
    let (status, _) = admin(&mock, "DELETE", "/api/faults", None);
    assert_eq!(status, 204);
    assert_eq!(get(&mock, "/authors/me").0, 200);
}

/// GETs `path` over a plain socket and reads the body as it comes: the number of reads
/// that returned body bytes, the body length, and the time from the first body byte to the
/// last.
fn raw_get(mock: &Mock, path: &str) -> (usize, usize, Duration) {
    let addr = mock.api.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let (mut reads, mut head_end, mut first_body) = (0, None, None);
    loop {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
        if head_end.is_none() {
            head_end = received
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4);
        }
        if let Some(end) = head_end
            && received.len() > end
        {
            reads += 1;
            first_body.get_or_insert_with(Instant::now);
        }
    }
    let end = head_end.expect("a response head");
    let elapsed = first_body.map_or(Duration::ZERO, |t| t.elapsed());
    (reads, received.len() - end, elapsed)
}

/// Runs `mockloop ARGS --admin URL`: exit code and stdout.
fn cli(mock: &Mock, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin())
        .args(args)
        .args(["--admin", &mock.admin])
        .output()
        .expect("run mockloop");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        eprintln!(
            "{args:?} -> {code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (code, stdout)
}

#[test]
fn commands_change_a_running_server() {
    let mock = Mock::start(&example_spec(), &[]);

    let (code, out) = cli(
        &mock,
        &[
            "override",
            "add",
            "GET",
            "/books/{id}",
            "--status",
            "503",
            "--text",
            "closed",
            "--header",
            "Retry-After: 9",
            "--fault",
            "error=502@0",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "added override 1\n"));
    let (status, headers, body) = call(&mock, "GET", BOOK_ONE);
    assert_eq!((status, &body[..]), (503, &b"closed"[..]));
    assert_eq!(headers["retry-after"], "9");
    let (code, out) = cli(&mock, &["override", "list", "--json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        list[0]["fault"],
        json!({ "kind": "error", "rate": 0.0, "status": 502 })
    );
    let (code, out) = cli(&mock, &["override", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("/books/{id}") && out.contains("error 502 at rate 0"),
        "{out}"
    );
    let (code, out) = cli(
        &mock,
        &[
            "override", "replace", "1", "*", "/books/*", "--status", "410",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "replaced override 1\n"));
    assert_eq!(get(&mock, BOOK_ONE).0, 410);
    let (code, _) = cli(&mock, &["override", "remove", "1"]);
    assert_eq!(code, 0);
    assert_eq!(get(&mock, BOOK_ONE).0, 200);
    let (code, _) = cli(&mock, &["override", "remove", "1"]);
    assert_eq!(code, 2, "an unknown override is a usage error");
    let (code, _) = cli(
        &mock,
        &["override", "add", "GET", "/books", "--delay", "soon"],
    );
    assert_eq!(code, 2, "a bad delay is refused before sending");

    let file = mock.dir.path().join("scenarios.yaml");
    std::fs::write(
        &file,
        "- scenario_name: closed\n  description: shop closed\n  endpoints:\n    - \
         path: /books\n      method: GET\n      response_config:\n        \
         status_code: 503\n        response_time_ms: 10\n\
         - scenario_name: open\n  endpoints: []\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (code, out) = cli(&mock, &["scenario", "create", file]);
    assert_eq!(code, 0);
    assert!(
        out.contains("created scenario 'closed'") && out.contains("'open'"),
        "{out}"
    );
    let (code, out) = cli(&mock, &["scenario", "activate", "closed"]);
    assert_eq!((code, out.as_str()), (0, "activated scenario 'closed'\n"));
    assert_eq!(get(&mock, "/books").0, 503);
    let (code, out) = cli(&mock, &["scenario", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("closed") && out.contains("yes"), "{out}");
    let (code, out) = cli(&mock, &["scenario", "show", "closed", "--json"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        shown["config"]["endpoints"][0]["response_config"]["status_code"],
        503
    );
    let (code, _) = cli(&mock, &["scenario", "delete", "closed"]);
    assert_eq!(code, 2, "the active scenario is not deleted");
    let (code, out) = cli(&mock, &["scenario", "deactivate"]);
    assert_eq!((code, out.as_str()), (0, "deactivated scenario 'closed'\n"));
    assert_eq!(get(&mock, "/books").0, 200);
    let (code, _) = cli(&mock, &["scenario", "activate", "missing"]);
    assert_eq!(code, 2);

    let (code, out) = cli(&mock, &["faults", "set", "--fault", "error=418"]);
    assert_eq!((code, out.as_str()), (0, "delay: none\nfault: error 418\n"));
    assert_eq!(get(&mock, "/authors/me").0, 418);
    let (code, _) = cli(&mock, &["faults", "clear"]);
    assert_eq!(code, 0);
    let (code, out) = cli(&mock, &["faults", "show"]);
    assert_eq!((code, out.as_str()), (0, "no global delay or fault\n"));
    assert_eq!(get(&mock, "/authors/me").0, 200);
}

#[test]
fn serve_stores_a_scenario_file_and_activates_the_named_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenarios.json");
    std::fs::write(
        &file,
        json!([
            { "scenario_name": "gone", "endpoints": [
                { "path": "^/books/[0-9]+$", "response_config": { "status_code": 410 } }] },
            { "scenario_name": "fine" }
        ])
        .to_string(),
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
    let mock = Mock::start_in(
        dir,
        &example_spec(),
        &["--scenarios", &file, "--scenario", "gone"],
    );
    assert_eq!(get(&mock, BOOK_ONE).0, 410);
    let names: Vec<Value> = mock
        .admin_json("/api/scenarios")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("gone"), json!("fine")]);

    // A scenario that does not fit the description stops the start with exit code 2.
    let bad = mock.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "scenario_name: bad\nendpoints: [{ path: '/nowhere/{id}' }]\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("serve")
        .arg(example_spec())
        .args(["--port", "0", "--admin-port", "0", "--db"])
        .arg(mock.dir.path().join("other.db"))
        .arg("--scenarios")
        .arg(&bad)
        .output()
        .expect("run mockloop");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid scenario 'bad'")
            && stderr.contains("endpoints[0].path: route template '/nowhere/{id}'"),
        "{stderr}"
    );
}

/// Found by a fresh-user run: a client that hung up during an injected delay left no row
/// in the log. It is now logged as unanswered (status 0).
#[test]
fn a_client_that_hangs_up_during_a_delay_is_still_logged() {
    use std::io::Write as _;
    let mock = Mock::start(&example_spec(), &[]);
    let (status, _) = admin(&mock, "PUT", "/api/faults", Some(json!({ "delay": 2000 })));
    assert_eq!(status, 200, "{}", mock.stderr_text());
    let addr = mock.api.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET /v1/books HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    stream.flush().expect("flush");
    // Hang up once the server holds the request in its delay (a request and an end of
    // stream read together never reach the handler, which is right).
    let deadline = Instant::now() + Duration::from_secs(30);
    while mock.admin_json("/api/metrics")["http"]["in_flight"] != 1 {
        assert!(Instant::now() < deadline, "the request never got in flight");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(stream);
    assert_eq!(mock.wait_for_logged(1), 1, "{}", mock.stderr_text());
    let page = mock.admin_json("/api/requests?status=0");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["path"], "/v1/books", "{page}");
}

/// Found by a fresh-user run: a refused scenario of a file was not named, and what had
/// been stored before it was not said.
#[test]
fn a_refused_scenario_of_a_file_is_named_with_what_was_stored_before_it() {
    let mock = Mock::start(&example_spec(), &[]);
    let file = mock.dir.path().join("two.yaml");
    std::fs::write(
        &file,
        "- scenario_name: first\n  endpoints: []\n\
         - scenario_name: second\n  endpoints: [{path: \"/nope/{z}\"}]\n",
    )
    .expect("scenario file");
    let out = Command::new(bin())
        .args(["scenario", "create"])
        .arg(&file)
        .args(["--admin", &mock.admin])
        .output()
        .expect("run mockloop");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scenario 2 of 2 ('second')"), "{stderr}");
    assert!(stderr.contains("stored before it: first"), "{stderr}");
}

/// Found by a fresh-user run: `serve --scenarios` stored the scenarios before a refused
/// one, kept the last of two with the same name, and stored the file even when
/// `--scenario` named nothing. A file is now stored whole or not at all.
#[test]
fn serve_stores_a_scenario_file_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The database `Mock::start_in` opens later.
    let db = dir.path().join("requests.db");
    let serve = |file: &std::path::Path, extra: &[&str]| {
        Command::new(bin())
            .arg("serve")
            .arg(example_spec())
            .args(["--port", "0", "--admin-port", "0", "--db"])
            .arg(&db)
            .arg("--scenarios")
            .arg(file)
            .args(extra)
            .output()
            .expect("run mockloop")
    };
    let refused = |out: &std::process::Output, expected: &str| {
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    };

    let second_bad = dir.path().join("second-bad.yaml");
    std::fs::write(
        &second_bad,
        "- scenario_name: first\n  endpoints: []\n\
         - scenario_name: second\n  endpoints: [{path: \"/nope/{z}\"}]\n",
    )
    .unwrap();
    refused(&serve(&second_bad, &[]), "invalid scenario 'second' ([1])");

    let twice = dir.path().join("twice.yaml");
    std::fs::write(
        &twice,
        "- scenario_name: same\n  endpoints: []\n- scenario_name: same\n  endpoints: []\n",
    )
    .unwrap();
    refused(&serve(&twice, &[]), "[1] repeats the name 'same'");

    let fine = dir.path().join("fine.yaml");
    std::fs::write(&fine, "- scenario_name: fine\n  endpoints: []\n").unwrap();
    refused(
        &serve(&fine, &["--scenario", "absent"]),
        "no stored scenario named 'absent'",
    );

    // None of the refused starts stored anything.
    let mock = Mock::start_in(dir, &example_spec(), &[]);
    assert_eq!(mock.admin_json("/api/scenarios"), json!([]));
}

/// Found by a fresh-user run: an admin body over the size limit, and a query that does not
/// parse, were answered in plain text while every other admin error is problem+json.
#[test]
fn admin_rejections_are_problem_json() {
    let mock = Mock::start(&example_spec(), &[]);
    // The body over the limit goes over a raw socket: the server answers before reading
    // it all and closes, which a client still writing may see as an error.
    let addr = mock.admin.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    // Over the admin API's 32 MiB limit.
    let huge = vec![b' '; 33 << 20];
    write!(
        stream,
        "POST /api/overrides HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        huge.len()
    )
    .expect("send head");
    let _ = stream.write_all(&huge);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains(r#""status":413"#), "{answer}");
    assert!(answer.contains("limit of 33554432 bytes"), "{answer}");

    let request = ureq::http::Request::builder()
        .uri(format!("{}/api/requests?limit=many", mock.admin))
        .body(())
        .expect("request");
    let mut resp = mock.agent().run(request).expect("admin answer");
    assert_eq!(resp.status().as_u16(), 400);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(kind, "application/problem+json");
    let problem: Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).expect("JSON");
    assert_eq!(problem["status"], 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("limit"),
        "{problem}"
    );
}

/// Found by a fresh-user run: `PUT /api/faults` with `[1]` set a 1 ms delay (a list read as
/// the struct's fields), and an array body for an override gave a message about lengths.
#[test]
fn admin_bodies_must_be_json_objects() {
    let mock = Mock::start(&example_spec(), &[]);
    for (method, path, body) in [
        ("PUT", "/api/faults", json!([1])),
        ("POST", "/api/overrides", json!([])),
        ("POST", "/api/scenarios", json!("x")),
        ("POST", "/api/mock-data/scenarios", json!([])),
    ] {
        let (status, problem) = admin(&mock, method, path, Some(body));
        assert_eq!(status, 400, "{method} {path}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with("the request body must be a JSON object, not "),
            "{method} {path}: {problem}"
        );
    }
    assert_eq!(mock.admin_json("/api/faults"), json!({}));
}
