//! `mockloop bench` against the real mock on loopback: counts that match the mock's log, the
//! documented JSON schema, `--spec`, scenarios, the open model, connect errors, saved runs
//! and `compare`. Nothing here asserts on timing.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{Mock, bin, example_spec, workspace_root};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `mockloop bench ARGS` in `dir`.
fn bench(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin())
        .current_dir(dir)
        .arg("bench")
        .args(args)
        .env_remove("MOCKLOOP_DB")
        .env_remove("MOCKLOOP_LOG")
        .output()
        .expect("run mockloop bench");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn check_schema(report: &Value) {
    let path = workspace_root().join("docs/bench-report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let problems: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "report breaks the schema:\n{}",
        problems.join("\n")
    );
}

fn db_arg(dir: &Path) -> String {
    dir.join("bench.db").display().to_string()
}

#[test]
fn a_counted_run_matches_the_mock_log_and_the_documented_schema() {
    let mock = Mock::start(&example_spec(), &[]);
    let db = db_arg(mock.dir.path());
    let url = format!("{}/v1/books", mock.api);
    let out = bench(
        mock.dir.path(),
        &[
            &url, "-n", "150", "-c", "3", "--json", "--db", &db, "--label", "first",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    check_schema(&report);
    assert_eq!(report["requests"], 150);
    assert_eq!(report["responses"], 150);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["status"]["200"], 150);
    assert_eq!(report["label"], "first");
    assert_eq!(report["settings"]["connections"], 3);
    assert_eq!(report["settings"]["requests"], 150);
    assert_eq!(report["target"], format!("GET {url}"));
    assert_eq!(report["kinds"][0]["requests"], 150);
    assert!(report["run_id"].is_i64());
    assert_eq!(mock.wait_for_logged(150), 150);

    let listed = bench(mock.dir.path(), &["list", "--json", "--db", &db]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let runs = listed.json();
    assert_eq!(runs.as_array().map(Vec::len), Some(1));
    assert_eq!(runs[0]["id"], report["run_id"]);
    assert_eq!(runs[0]["requests"], 150);
    assert_eq!(runs[0]["label"], "first");

    let shown = bench(
        mock.dir.path(),
        &["show", &report["run_id"].to_string(), "--db", &db],
    );
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("requests  150"), "{}", shown.stdout);
}

#[test]
fn spec_runs_cover_every_operation_of_the_example() {
    let mock = Mock::start(&example_spec(), &[]);
    let spec = example_spec().display().to_string();
    let out = bench(
        mock.dir.path(),
        &[
            "--spec",
            &spec,
            "--target",
            &mock.api,
            "-n",
            "440",
            "-c",
            "4",
            "--json",
            "--no-save",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    check_schema(&report);
    assert_eq!(report["run_id"], Value::Null);
    assert_eq!(report["skipped"], serde_json::json!([]));
    let mut names: Vec<&str> = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "createBook",
            "deleteBook",
            "getAuthor",
            "getBook",
            "getCover",
            "getCurrentAuthor",
            "getHealth",
            "getReceipt",
            "listBooks",
            "placeOrder",
            "subscribe"
        ]
    );
    for kind in report["kinds"].as_array().unwrap() {
        // Equal weights: each of 11 kinds is drawn 40 times on average; none is missed.
        assert!(kind["requests"].as_u64().unwrap() > 0, "{kind}");
        for status in kind["status"].as_object().unwrap().keys() {
            assert!(status.as_str() < "400", "{} got {status}", kind["name"]);
        }
    }
    assert_eq!(report["requests"], 440);
    assert_eq!(report["errors"], 0);
    assert_eq!(mock.wait_for_logged(440), 440);
}

#[test]
fn scenario_files_send_their_weighted_requests() {
    let mock = Mock::start(&example_spec(), &[]);
    let scenario = mock.dir.path().join("shop.yaml");
    std::fs::write(
        &scenario,
        format!(
            "base_url: {}/v1
headers: {{ Accept: application/json }}
requests:
  - name: list
    path: /books?limit=2
    weight: 3
  - name: add
    method: POST
    path: /books
    body: {{ title: Dune, isbn: \"978-0441172719\", genre: fiction, price: 9.99, authorId: 1 }}
",
            mock.api
        ),
    )
    .unwrap();
    let scenario = scenario.display().to_string();
    let out = bench(
        mock.dir.path(),
        &[
            "--scenario",
            &scenario,
            "-n",
            "120",
            "-c",
            "2",
            "--json",
            "--no-save",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    check_schema(&report);
    let kinds = report["kinds"].as_array().unwrap();
    assert_eq!(kinds[0]["name"], "list");
    assert_eq!(kinds[1]["name"], "add");
    let list = kinds[0]["requests"].as_u64().unwrap();
    let add = kinds[1]["requests"].as_u64().unwrap();
    assert_eq!(list + add, 120);
    assert!(add > 0 && list > add, "list {list}, add {add}");
    assert_eq!(kinds[0]["status"]["200"], list);
    assert_eq!(kinds[1]["status"]["201"], add);
    assert_eq!(mock.wait_for_logged(120), 120);
    let posts = mock.admin_json("/api/requests?method=POST&limit=1")["total"].clone();
    assert_eq!(posts, add);
}

#[test]
fn the_open_model_reports_its_schedule() {
    let mock = Mock::start(&example_spec(), &[]);
    let url = format!("{}/v1/health", mock.api);
    let out = bench(
        mock.dir.path(),
        &[
            &url,
            "--rate",
            "200",
            "-n",
            "60",
            "-c",
            "4",
            "--json",
            "--no-save",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    check_schema(&report);
    assert_eq!(report["settings"]["model"], "open");
    assert_eq!(report["settings"]["rate"], 200.0);
    let open = &report["open"];
    assert_eq!(open["scheduled"], 60);
    assert_eq!(open["sent"], 60);
    assert_eq!(open["dropped"], 0);
    let connections = open["connections"].as_u64().unwrap();
    assert!((1..=4).contains(&connections), "{connections}");
    assert_eq!(report["requests"], 60);
    assert_eq!(mock.wait_for_logged(60), 60);
}

#[test]
fn a_closed_port_counts_connect_errors_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/");
    let db = db_arg(dir.path());
    let out = bench(
        dir.path(),
        &[&url, "-n", "20", "-c", "2", "--json", "--db", &db],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no request was answered"),
        "{}",
        out.stderr
    );
    let report = out.json();
    check_schema(&report);
    assert_eq!(report["requests"], 20);
    assert_eq!(report["errors_by_kind"]["connect"], 20);
    assert_eq!(report["error_rate"], 1.0);
}

#[test]
fn usage_mistakes_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&[], "nothing to load"),
        (
            &["http://127.0.0.1:9/", "--rate", "10", "--think", "1s"],
            "--think and --ramp-up",
        ),
        (&["--spec", "x.yaml"], "--spec needs --target"),
        (&["https://127.0.0.1:9/"], "https is not supported"),
        (&["http://127.0.0.1:9/", "-d", "10"], "invalid value '10'"),
    ];
    for (args, expected) in cases {
        let out = bench(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    let out = bench(dir.path(), &["list", "--db", "missing.db"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no database at 'missing.db'"),
        "{}",
        out.stderr
    );
}

#[test]
fn compare_flags_a_regression_between_saved_runs() {
    let mock = Mock::start(&example_spec(), &[]);
    let db = db_arg(mock.dir.path());
    let url = format!("{}/v1/health", mock.api);
    let out = bench(
        mock.dir.path(),
        &[&url, "-n", "50", "-c", "2", "--json", "--db", &db],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = out.json();
    let a = before["run_id"].as_i64().unwrap();

    // A second run that is clearly worse: a third of the throughput, triple the latency,
    // and one request in ten failed.
    let mut worse = before.clone();
    worse["rps"] = (before["rps"].as_f64().unwrap() / 3.0).into();
    for p in ["p50", "p90", "p95", "p99"] {
        worse["latency_us"][p] = (before["latency_us"][p].as_u64().unwrap() * 3 + 100).into();
    }
    worse["error_rate"] = 0.1.into();
    let store = store::Store::open(&db, store::StoreOptions::default()).unwrap();
    let saved = store.get_bench_run(a).unwrap().unwrap();
    let b = store
        .save_bench_run(&store::BenchRun {
            summary: saved.summary.clone(),
            settings: saved.settings.clone(),
            report: worse,
        })
        .unwrap();

    let (a, b) = (a.to_string(), b.to_string());
    let out = bench(
        mock.dir.path(),
        &["compare", &a, &b, "--db", &db, "--fail-on-regression"],
    );
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("REGRESSION"), "{}", out.stdout);

    let out = bench(mock.dir.path(), &["compare", &a, &b, "--db", &db, "--json"]);
    assert_eq!(out.code, 0, "without --fail-on-regression: {}", out.stderr);
    let comparison = &out.json()["comparison"];
    let verdict = |metric: &str| {
        comparison["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metric"] == metric)
            .map(|c| c["verdict"].clone())
            .unwrap()
    };
    assert_eq!(verdict("rps"), "regression");
    assert_eq!(verdict("p99"), "regression");
    assert_eq!(verdict("error rate"), "regression");

    let out = bench(
        mock.dir.path(),
        &["compare", &a, &a, "--db", &db, "--fail-on-regression"],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("0 regression(s)"), "{}", out.stdout);

    let out = bench(mock.dir.path(), &["compare", &a, "9999", "--db", &db]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no saved run 9999"), "{}", out.stderr);

    let listed = bench(mock.dir.path(), &["list", "--db", &db]);
    assert_eq!(listed.code, 0);
    assert!(listed.stdout.contains(&url), "{}", listed.stdout);
}

/// A server that reads a request and hangs up (a `reset` fault) must be counted as a reset
/// error, not sent again: the report's counts then match the server's log row for row.
#[test]
fn resets_by_the_server_are_counted_not_sent_again() {
    let mock = Mock::start(&example_spec(), &[]);
    let request = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!("{}/api/faults", mock.admin))
        .header("content-type", "application/json")
        .body(r#"{"fault": {"kind": "reset", "rate": 0.5}}"#.to_owned())
        .expect("request");
    let status = mock.agent().run(request).expect("faults set").status();
    assert_eq!(status.as_u16(), 200, "{}", mock.stderr_text());

    let url = format!("{}/v1/books", mock.api);
    let out = bench(
        mock.dir.path(),
        &[&url, "-n", "200", "-c", "1", "--json", "--no-save"],
    );
    let report = out.json();
    assert_eq!(report["requests"], 200, "{}", out.stderr);
    let resets = report["errors_by_kind"]["reset"]
        .as_u64()
        .expect("reset count");
    let responses = report["responses"].as_u64().expect("responses");
    assert!(resets > 0, "no reset counted: {report}");
    assert_eq!(responses + resets, 200);
    // Every request sent was logged once: no resend added rows the report does not show.
    assert_eq!(mock.wait_for_logged(200), 200);
    let analysis = mock.admin_json("/api/requests?status=0&limit=1");
    assert_eq!(analysis["total"].as_u64(), Some(resets), "{analysis}");
}
