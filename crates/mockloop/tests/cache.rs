//! The response cache against the real binary: hits and misses, bypass, invalidation by
//! rule changes, the admin API, the `mockloop cache` command, metrics, and a Redis level
//! shared by two servers (the Redis server on 127.0.0.1:6379, a unique key prefix per
//! test) or down.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::{Mock, bin, workspace_root};

fn spec() -> PathBuf {
    workspace_root().join("crates/mockloop/tests/data/secure.yaml")
}

/// A GET on the mock: status, the `X-Mockloop-Cache` header (empty when absent) and body.
fn get(mock: &Mock, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let mut request = ureq::http::Request::builder()
        .method("GET")
        .uri(format!("{}{}", mock.api, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut resp = mock
        .agent()
        .run(request.body(Vec::new()).expect("request"))
        .expect("response");
    let status = resp.status().as_u16();
    let mark = resp
        .headers()
        .get("x-mockloop-cache")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, mark, resp.body_mut().read_to_vec().expect("body"))
}

fn mark(mock: &Mock, path: &str, headers: &[(&str, &str)]) -> String {
    get(mock, path, headers).1
}

fn admin(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    mock.admin_call(method, path, body)
}

fn prometheus(mock: &Mock) -> String {
    let mut resp = mock
        .agent()
        .get(&format!("{}/metrics", mock.admin))
        .call()
        .expect("metrics");
    resp.body_mut().read_to_string().expect("metrics text")
}

/// A Redis key prefix no other test or run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("mockloop-test-{test}-{}-{nanos}", std::process::id())
}

/// Polls `/api/cache` until `check` holds or the deadline passes; returns the last stats.
fn wait_for_stats(mock: &Mock, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, stats) = admin(mock, "GET", "/api/cache", None);
        if check(&stats) || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn generated_bodies_are_cached_in_memory_and_counted() {
    let mock = Mock::start(&spec(), &["--cache", "memory"]);
    let (status, first_mark, first) = get(&mock, "/v1/items/5", &[]);
    assert_eq!((status, first_mark.as_str()), (200, "miss"));
    let (status, second_mark, second) = get(&mock, "/v1/items/5", &[]);
    assert_eq!((status, second_mark.as_str()), (200, "hit; level=memory"));
    assert_eq!(first, second);
    // The query is part of the key, whatever the order of its pairs.
    assert_eq!(mark(&mock, "/v1/items/5?b=2&a=1", &[]), "miss");
    assert_eq!(mark(&mock, "/v1/items/5?a=1&b=2", &[]), "hit; level=memory");
    // So are Accept and Prefer, which choose the body.
    assert_eq!(
        mark(&mock, "/v1/items/5", &[("accept", "application/xml")]),
        "miss"
    );
    let (status, mark_404, _) = get(&mock, "/v1/items/5", &[("prefer", "code=404")]);
    assert_eq!((status, mark_404.as_str()), (404, "miss"));
    assert_eq!(
        mark(&mock, "/v1/items/5", &[("prefer", "code=404")]),
        "hit; level=memory"
    );

    // Bodies built once anyway, and fresh data asked for, are not cached.
    assert_eq!(mark(&mock, "/v1/fixed/1", &[]), "");
    assert_eq!(
        mark(&mock, "/v1/items/5", &[("prefer", "dynamic=true")]),
        ""
    );

    // no-cache skips the lookup but keeps the fresh body.
    assert_eq!(
        mark(&mock, "/v1/items/6", &[("cache-control", "no-cache")]),
        "bypass"
    );
    assert_eq!(mark(&mock, "/v1/items/6", &[]), "hit; level=memory");

    let (code, stats) = admin(&mock, "GET", "/api/cache", None);
    assert_eq!(code, 200);
    assert_eq!(stats["backend"], "memory");
    assert_eq!(stats["memory"]["hits"], 4);
    assert_eq!(stats["memory"]["misses"], 4);
    assert_eq!(stats["bypassed"], 1);
    assert_eq!(stats["memory"]["entries"], 5);
    assert!(stats["redis"].is_null());
    let metrics = mock.admin_json("/api/metrics");
    assert_eq!(metrics["cache"]["memory"]["hits"], 4);
    let text = prometheus(&mock);
    assert!(
        text.contains("mockloop_cache_hits_total{level=\"memory\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("mockloop_cache_misses_total{level=\"memory\"} 4"),
        "{text}"
    );

    // Cached answers are logged like any other, marked in their response headers.
    assert_eq!(mock.wait_for_logged(11), 11);
    let rows = mock.admin_json("/api/requests?path=/v1/items/6&limit=1");
    let id = rows["items"][0]["id"].as_i64().expect("row id");
    let row = mock.admin_json(&format!("/api/requests/{id}"));
    let headers = row["response_headers"].to_string();
    assert!(headers.contains("hit; level=memory"), "{headers}");
}

#[test]
fn any_rule_change_invalidates_and_rules_answer_uncached() {
    let mock = Mock::start(&spec(), &["--cache", "memory"]);
    assert_eq!(mark(&mock, "/v1/items/7", &[]), "miss");
    assert_eq!(mark(&mock, "/v1/items/7", &[]), "hit; level=memory");

    let (code, added) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(json!({ "path": "/fixed/{id}", "status": 500 })),
    );
    assert_eq!(code, 201, "{added}");
    assert_eq!(
        mark(&mock, "/v1/items/7", &[]),
        "miss",
        "an override invalidates"
    );

    let (code, _) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(json!({ "path": "/items/{id}", "status": 404 })),
    );
    assert_eq!(code, 201);
    let (status, mark_rule, _) = get(&mock, "/v1/items/7", &[]);
    assert_eq!(
        (status, mark_rule.as_str()),
        (404, ""),
        "a rule's answer is never cached"
    );
    admin(&mock, "DELETE", "/api/overrides", None);
    assert_eq!(mark(&mock, "/v1/items/7", &[]), "miss");
    assert_eq!(mark(&mock, "/v1/items/7", &[]), "hit; level=memory");

    let (code, _) = admin(&mock, "PUT", "/api/faults", Some(json!({ "delay": 1 })));
    assert_eq!(code, 200);
    assert_eq!(
        mark(&mock, "/v1/items/7", &[]),
        "miss",
        "a fault change invalidates"
    );

    let (code, _) = admin(
        &mock,
        "POST",
        "/api/scenarios",
        Some(json!({ "scenario_name": "s", "endpoints": [
            { "path": "/orders", "response_config": { "status_code": 418 } }] })),
    );
    assert_eq!(code, 201);
    let (code, _) = admin(&mock, "POST", "/api/scenarios/s/activate", None);
    assert_eq!(code, 200);
    assert_eq!(
        mark(&mock, "/v1/items/7", &[]),
        "miss",
        "a scenario change invalidates"
    );

    let (code, cleared) = admin(&mock, "DELETE", "/api/cache", None);
    assert_eq!(code, 200);
    assert_eq!(cleared, json!({ "memory_entries": 1, "redis_keys": 0 }));
    assert_eq!(mark(&mock, "/v1/items/7", &[]), "miss");
}

#[test]
fn the_cache_command_shows_stats_and_clears() {
    let mock = Mock::start(&spec(), &["--cache", "memory", "--cache-ttl", "5m"]);
    get(&mock, "/v1/items/1", &[]);
    get(&mock, "/v1/items/1", &[]);
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("cache")
            .args(args)
            .args(["--admin", &mock.admin])
            .output()
            .expect("run mockloop cache");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = run(&["stats"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("backend: memory, ttl 300 s"), "{out}");
    assert!(out.contains("memory: 1 hits, 1 misses, 1 entries"), "{out}");
    let (code, out) = run(&["clear"]);
    assert_eq!(code, 0);
    assert_eq!(out, "cleared 1 memory entries and 0 redis keys\n");
    let (code, out) = run(&["stats", "--json"]);
    assert_eq!(code, 0);
    let stats: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(stats["memory"]["entries"], 0);
}

#[test]
fn without_a_cache_nothing_is_marked_and_the_admin_api_says_so() {
    let mock = Mock::start(&spec(), &[]);
    assert_eq!(mark(&mock, "/v1/items/1", &[]), "");
    let (code, problem) = admin(&mock, "GET", "/api/cache", None);
    assert_eq!(code, 409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("--cache memory")
    );
    assert!(mock.admin_json("/api/metrics")["cache"].is_null());
    assert!(!prometheus(&mock).contains("mockloop_cache_"));
}

#[test]
fn a_bad_cache_setting_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .current_dir(dir.path())
        .arg("serve")
        .arg(spec())
        .args(["--port", "0", "--admin-port", "0", "--cache", "redis"])
        .args(["--redis-url", "http://127.0.0.1:1"])
        .output()
        .expect("run mockloop serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid redis_url 'http://127.0.0.1:1'"),
        "{err}"
    );
}

#[test]
fn two_servers_share_the_redis_level() {
    let prefix = unique_prefix("shared");
    let flags = ["--cache", "redis", "--cache-prefix", &prefix];
    let first = Mock::start(&spec(), &flags);
    let second = Mock::start(&spec(), &flags);
    let (_, mark_first, body_first) = get(&first, "/v1/items/42", &[]);
    assert_eq!(mark_first, "miss");
    // The first server writes Redis without making the answer wait.
    let stats = wait_for_stats(&first, |s| s["redis"]["stored"].as_u64() >= Some(1));
    assert_eq!(stats["redis"]["stored"], 1, "{stats}");
    let (_, mark_second, body_second) = get(&second, "/v1/items/42", &[]);
    assert_eq!(mark_second, "hit; level=redis");
    assert_eq!(body_first, body_second);
    // Now in the second's memory too.
    assert_eq!(mark(&second, "/v1/items/42", &[]), "hit; level=memory");
    let stats = wait_for_stats(&second, |s| s["redis"]["hits"].as_u64() >= Some(1));
    assert!(stats["redis"]["hits"].as_u64() >= Some(1), "{stats}");
    assert_eq!(stats["redis"]["errors"], 0);
    assert_eq!(stats["redis"]["prefix"], prefix.as_str());
    let text = prometheus(&second);
    assert!(
        text.contains("mockloop_cache_hits_total{level=\"redis\"}"),
        "{text}"
    );

    // Clearing on one server removes the shared keys for both.
    let (code, cleared) = admin(&first, "DELETE", "/api/cache", None);
    assert_eq!(code, 200);
    assert!(cleared["redis_keys"].as_u64() >= Some(1), "{cleared}");
    admin(&second, "DELETE", "/api/cache", None);
    assert_eq!(mark(&second, "/v1/items/42", &[]), "miss");
    admin(&second, "DELETE", "/api/cache", None);
}

#[test]
fn a_dead_redis_still_answers_and_counts_errors() {
    // A loopback port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = unique_prefix("dead");
    let mock = Mock::start(
        &spec(),
        &[
            "--cache",
            "redis",
            "--redis-url",
            &url,
            "--cache-prefix",
            &prefix,
        ],
    );
    let (status, first_mark, first) = get(&mock, "/v1/items/9", &[]);
    assert_eq!((status, first_mark.as_str()), (200, "miss"));
    let (status, second_mark, second) = get(&mock, "/v1/items/9", &[]);
    assert_eq!((status, second_mark.as_str()), (200, "hit; level=memory"));
    assert_eq!(first, second);
    assert_eq!(get(&mock, "/v1/items/10", &[]).0, 200);
    let stats = wait_for_stats(&mock, |s| s["redis"]["errors"].as_u64() >= Some(1));
    assert!(stats["redis"]["errors"].as_u64() >= Some(1), "{stats}");
    assert!(mock.stderr_text().contains("redis cache level failed"));
    let (code, problem) = admin(&mock, "DELETE", "/api/cache", None);
    assert_eq!(code, 500);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("cannot clear the redis level")
    );
}
