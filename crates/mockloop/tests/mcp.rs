//! `mockloop mcp` driven by the MCP SDK's own client, over stdio (the binary as a child
//! process) and streamable HTTP, against real running mocks: every tool is called and its
//! effect checked on the mock (a scenario switch changes the served answer, a load test's
//! requests are in the log, a generated project starts and serves).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult, GetPromptRequestParams};
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use support::{Mock, bin, example_spec};

type Client = RunningService<RoleClient, ()>;

/// Starts `mockloop mcp` in `dir` with `args` and connects the SDK's client to it.
async fn connect(dir: &Path, args: &[&str]) -> Client {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let transport =
        TokioChildProcess::builder(tokio::process::Command::new(bin()).configure(move |cmd| {
            cmd.arg("mcp")
                .args(&args)
                .current_dir(&dir)
                .env_remove("MOCKLOOP_LOG");
        }))
        .stderr(Stdio::null())
        .spawn()
        .expect("start mockloop mcp")
        .0;
    ().serve(transport).await.expect("MCP session")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .unwrap_or_else(|err| panic!("{tool}: {err}"))
}

/// The JSON of a successful tool call.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {:?}",
        result.content
    );
    result.structured_content.expect("structured result")
}

/// The message of a tool call that must fail as a tool error.
async fn tool_error(client: &Client, tool: &str, args: Value) -> String {
    let result = call(client, tool, args).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} should fail: {result:?}"
    );
    let text = serde_json::to_value(&result.content).unwrap();
    text[0]["text"].as_str().unwrap_or_default().to_owned()
}

/// Status and JSON body of a GET to the mock API.
fn get(base: &str, path: &str) -> (u16, Value) {
    let mut resp = support::agent()
        .get(&format!("{base}{path}"))
        .call()
        .expect("mock answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls query_mock_logs until `total` reaches `expected` or a deadline passes.
async fn logged_total(client: &Client, admin: &str, filters: Value, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut args = json!({ "server_url": admin, "limit": 1, "analyze": false });
        for (k, v) in filters.as_object().unwrap() {
            args[k] = v.clone();
        }
        let total = ok(client, "query_mock_logs", args).await["total"]
            .as_u64()
            .unwrap();
        if total >= expected || Instant::now() > deadline {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text_of(contents: &ResourceContents) -> &str {
    match contents {
        ResourceContents::TextResourceContents { text, .. } => text,
        other => panic!("not text: {other:?}"),
    }
}

const TOOLS: [&str; 11] = [
    "compare_test_runs",
    "deploy_scenario",
    "discover_mock_servers",
    "generate_mock_api",
    "get_performance_metrics",
    "list_active_scenarios",
    "manage_mock_data",
    "query_mock_logs",
    "run_load_test",
    "switch_scenario",
    "validate_scenario_config",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assistant_lists_everything_and_every_tool_works_against_a_running_mock() {
    let mock = Mock::start(&example_spec(), &[]);
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("bookshop.yaml");
    std::fs::copy(example_spec(), &spec).unwrap();
    std::fs::create_dir(work.path().join("out")).unwrap();
    let client = connect(work.path(), &["--output-root", "out"]).await;

    // The handshake and the lists.
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("mockloop")
    );
    let tools = client.list_all_tools().await.unwrap();
    let names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, TOOLS.into_iter().collect());
    for tool in &tools {
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(description.len() > 80, "{}: {description}", tool.name);
        let props = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        for (name, schema) in props.into_iter().flatten() {
            let described = schema.get("description").is_some() || schema.get("$ref").is_some();
            assert!(described, "{}.{name} has no description", tool.name);
        }
    }
    let prompts = client.list_all_prompts().await.unwrap();
    let names: BTreeSet<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["analyze_openapi_for_testing", "generate_scenario_config"])
    );
    let resources = client.list_all_resources().await.unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r.uri == "mockloop://scenario-packs/errors/rate-limits"),
        "{resources:?}"
    );
    let templates = client.list_all_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template == "mockloop://servers/{id}/spec")
    );

    // Prompts are built from the spec itself.
    let mut args = serde_json::Map::new();
    args.insert("openapi_spec".into(), json!("bookshop.yaml"));
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("analyze_openapi_for_testing").with_arguments(args))
        .await
        .unwrap();
    let text = serde_json::to_string(&prompt.messages).unwrap();
    assert!(text.contains("GET /books/{bookId}"), "{text}");
    let mut args = serde_json::Map::new();
    args.insert("scenario_type".into(), json!("error_simulation"));
    args.insert("endpoints".into(), json!("GET /books"));
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("generate_scenario_config").with_arguments(args))
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&prompt.messages)
            .unwrap()
            .contains("response_config")
    );

    // query_mock_logs sees what the mock served, with the analysis.
    assert_eq!(get(&mock.api, "/books/1").0, 200);
    let total = logged_total(&client, &mock.admin, json!({"path_pattern": "/books/*"}), 1).await;
    assert_eq!(total, 1);
    let logs = ok(
        &client,
        "query_mock_logs",
        json!({ "server_url": mock.admin, "method": "GET", "status": "2xx" }),
    )
    .await;
    assert_eq!(logs["items"][0]["path"], "/books/1");
    assert_eq!(logs["analysis"]["total"], 1, "{}", logs["analysis"]);
    // The mock's API URL works too: its admin API is found from it.
    let by_api = ok(
        &client,
        "query_mock_logs",
        json!({ "server_url": mock.api }),
    )
    .await;
    assert_eq!(by_api["server"]["admin_url"], mock.admin.as_str());

    // validate_scenario_config names the field at fault and checks endpoints.
    let teapot = json!({
        "scenario_name": "teapot",
        "endpoints": [{ "path": "/books/{bookId}", "method": "GET",
                        "response_config": { "status_code": 418,
                                             "response_data": { "teapot": true } } }]
    });
    let checked = ok(
        &client,
        "validate_scenario_config",
        json!({ "scenario_config": teapot, "spec_url_or_path": "bookshop.yaml" }),
    )
    .await;
    assert_eq!(checked["valid"], true, "{checked}");
    let bad = ok(
        &client,
        "validate_scenario_config",
        json!({ "scenario_config": { "scenario_name": "x",
                 "endpoints": [{ "path": "/books", "response_config": { "status": 1 } }] } }),
    )
    .await;
    assert_eq!(bad["valid"], false);
    assert!(
        bad["errors"][0]
            .as_str()
            .unwrap()
            .contains("endpoints[0].response_config")
    );
    let unknown = ok(
        &client,
        "validate_scenario_config",
        json!({ "scenario_config": { "scenario_name": "x",
                 "endpoints": [{ "path": "/nope/{id}" }] }, "server_url": mock.admin }),
    )
    .await;
    assert_eq!(unknown["valid"], false, "{unknown}");

    // deploy_scenario + switch_scenario change the served answer.
    let deployed = ok(
        &client,
        "deploy_scenario",
        json!({ "server_url": mock.admin, "scenario_config": teapot }),
    )
    .await;
    assert_eq!(deployed["switch"]["active"], "teapot", "{deployed}");
    assert_eq!(get(&mock.api, "/books/1"), (418, json!({ "teapot": true })));
    let outage = json!({ "scenario_name": "outage", "endpoints": [
        { "path": "/books/{bookId}", "response_config": { "status_code": 503 } }] });
    ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "create_scenario",
                "scenario_config": outage }),
    )
    .await;
    let switched = ok(
        &client,
        "switch_scenario",
        json!({ "server_url": mock.admin, "scenario_name": "outage" }),
    )
    .await;
    assert_eq!(switched["previous"], "teapot");
    assert_eq!(switched["verified"], true);
    assert_eq!(get(&mock.api, "/books/1").0, 503);
    let active = ok(
        &client,
        "list_active_scenarios",
        json!({ "server_urls": [mock.admin] }),
    )
    .await;
    assert_eq!(active["servers"][0]["active_scenario"], "outage");
    let missing = tool_error(
        &client,
        "switch_scenario",
        json!({ "server_url": mock.admin, "scenario_name": "nope" }),
    )
    .await;
    assert!(missing.contains("stored: [teapot, outage]"), "{missing}");
    let listed = ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "list_scenarios" }),
    )
    .await;
    assert_eq!(listed["result"]["scenarios"].as_array().unwrap().len(), 2);
    ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "deactivate_scenario" }),
    )
    .await;
    assert_eq!(get(&mock.api, "/books/1").0, 200);

    // manage_mock_data: an override wins until removed; global faults are set and cleared.
    let added = ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "update_response",
                "endpoint_path": "/books/{bookId}", "method": "GET", "status_code": 202,
                "response_data": { "overridden": true }, "headers": { "X-Test": "1" } }),
    )
    .await;
    let id = added["result"]["override"]["id"]
        .as_u64()
        .expect("override id");
    assert_eq!(
        get(&mock.api, "/books/1"),
        (202, json!({ "overridden": true }))
    );
    ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "remove_override", "override_id": id }),
    )
    .await;
    assert_eq!(get(&mock.api, "/books/1").0, 200);
    let faults = ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "set_faults",
                "fault": { "kind": "error", "status": 500 } }),
    )
    .await;
    assert_eq!(
        faults["result"]["faults"]["fault"]["kind"], "error",
        "{faults}"
    );
    assert_eq!(get(&mock.api, "/books/1").0, 500);
    ok(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "clear_faults" }),
    )
    .await;
    assert_eq!(get(&mock.api, "/books/1").0, 200);
    let refused = tool_error(
        &client,
        "manage_mock_data",
        json!({ "server_url": mock.admin, "operation": "update_response",
                "endpoint_path": "/nowhere/{x}" }),
    )
    .await;
    assert!(refused.contains("override was refused"), "{refused}");

    // run_load_test sends real requests: exactly its count lands in the log.
    let first = ok(
        &client,
        "run_load_test",
        json!({ "server_url": mock.api, "endpoints": ["GET /books"], "requests": 40,
                "target_users": 4, "db_path": "runs.db", "label": "before" }),
    )
    .await;
    assert_eq!(first["report"]["requests"], 40, "{first}");
    assert_eq!(first["report"]["responses"], 40);
    let total = logged_total(
        &client,
        &mock.admin,
        json!({"path_pattern": "^/books$"}),
        40,
    )
    .await;
    assert_eq!(total, 40);
    let second = ok(
        &client,
        "run_load_test",
        json!({ "server_url": mock.api, "endpoints": ["/books"], "requests": 20,
                "target_users": 2, "db_path": "runs.db", "label": "after" }),
    )
    .await;
    let ids = [
        first["saved"]["run_id"].clone(),
        second["saved"]["run_id"].clone(),
    ];
    let compared = ok(
        &client,
        "compare_test_runs",
        json!({ "test_run_ids": ids, "db_path": "runs.db", "threshold_pct": 5 }),
    )
    .await;
    assert_eq!(compared["baseline"]["label"], "before");
    assert!(compared["regressed"].is_boolean());
    assert!(
        !compared["comparison"]["changes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let from_reports = ok(
        &client,
        "compare_test_runs",
        json!({ "baseline_report": first, "candidate_report": first }),
    )
    .await;
    assert_eq!(from_reports["regressed"], false, "{from_reports}");

    // get_performance_metrics reads the live figures.
    let metrics = ok(
        &client,
        "get_performance_metrics",
        json!({ "server_url": mock.admin, "window": "since_start" }),
    )
    .await;
    assert!(
        metrics["overall"]["requests"].as_u64().unwrap() >= 60,
        "{metrics}"
    );

    // discover_mock_servers pairs the admin and API ports; resources follow the ids.
    let admin_port: u16 = mock.admin.rsplit(':').next().unwrap().parse().unwrap();
    let found = ok(
        &client,
        "discover_mock_servers",
        json!({ "ports": [admin_port] }),
    )
    .await;
    let server = found["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["admin_url"] == mock.admin.as_str())
        .expect("the mock is found")
        .clone();
    assert_eq!(server["api_url"], mock.api.as_str());
    assert_eq!(server["healthy"], true);
    let id = server["id"].as_str().unwrap();
    let spec_uri = format!("mockloop://servers/{id}/spec");
    let read = client
        .read_resource(ReadResourceRequestParams::new(spec_uri))
        .await
        .unwrap();
    assert!(text_of(&read.contents[0]).contains("Bookshop"));
    let pack_uri = format!("mockloop://servers/{id}/scenario-packs/errors/rate-limits");
    let read = client
        .read_resource(ReadResourceRequestParams::new(pack_uri))
        .await
        .unwrap();
    let pack: Value = serde_json::from_str(text_of(&read.contents[0])).unwrap();
    assert!(pack["endpoints"].as_array().unwrap().len() >= 10, "{pack}");
    let deployed = ok(
        &client,
        "deploy_scenario",
        json!({ "server_url": mock.admin, "pack": "errors/rate-limits" }),
    )
    .await;
    assert_eq!(deployed["switch"]["active"], "pack-errors-rate-limits");
    assert_eq!(get(&mock.api, "/books").0, 429);

    // Safety: other hosts, paths outside the allowed directories, escaping project names.
    let remote = tool_error(
        &client,
        "query_mock_logs",
        json!({ "server_url": "http://10.0.0.1:8001" }),
    )
    .await;
    assert!(remote.contains("only loopback hosts"), "{remote}");
    let outside = tool_error(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": example_spec() }),
    )
    .await;
    assert!(
        outside.contains("outside the allowed directories"),
        "{outside}"
    );
    let escape = tool_error(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": "bookshop.yaml", "output_dir_name": "../escape" }),
    )
    .await;
    assert!(escape.contains("invalid output_dir_name"), "{escape}");
    assert!(!work.path().join("escape").exists());

    // generate_mock_api writes the project and starts it; discovery knows it.
    let generated = ok(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": "bookshop.yaml", "output_dir_name": "shop",
                "start": true, "auth_enabled": true }),
    )
    .await;
    let project = work.path().join("out/shop");
    for file in [
        "mockloop.toml",
        "openapi.yaml",
        "Dockerfile",
        "docker-compose.yml",
        "README.md",
    ] {
        assert!(project.join(file).is_file(), "{file} missing: {generated}");
    }
    assert_eq!(generated["not_applied"], json!(["auth_enabled"]));
    let started_api = generated["mock_url"].as_str().unwrap().to_owned();
    let started_admin = generated["admin_url"].as_str().unwrap().to_owned();
    assert_eq!(get(&started_api, "/books/1").0, 200);
    let found = ok(&client, "discover_mock_servers", json!({ "ports": [] })).await;
    let started = found["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["admin_url"] == started_admin.as_str())
        .expect("the started mock is listed")
        .clone();
    assert_eq!(started["origin"], "started");
    assert_eq!(found["generated_projects"][0]["name"], "shop");
    let again = tool_error(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": "bookshop.yaml", "output_dir_name": "shop" }),
    )
    .await;
    assert!(again.contains("not empty"), "{again}");

    // Closing the session stops the mock it started.
    client.cancel().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while support::agent()
        .get(&format!("{started_admin}/health"))
        .call()
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the started mock still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_serves_the_same_tools() {
    use rmcp::transport::StreamableHttpClientTransport;

    let mock = Mock::start(&example_spec(), &[]);
    let work = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["mcp", "--http", "127.0.0.1:0"])
        .current_dir(work.path())
        .env_remove("MOCKLOOP_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mockloop mcp --http");
    let stdout = child.stdout.take().unwrap();
    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix("mcp:")
                .map(|u| u.trim().to_owned())
        })
        .expect("the MCP address is printed");
    let transport = StreamableHttpClientTransport::from_uri(url);
    let client = ().serve(transport).await.expect("MCP session over HTTP");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), TOOLS.len());
    let logs = ok(
        &client,
        "query_mock_logs",
        json!({ "server_url": mock.admin }),
    )
    .await;
    assert_eq!(logs["total"], 0);
    client.cancel().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn http_refuses_a_non_loopback_address() {
    let out = std::process::Command::new(bin())
        .args(["mcp", "--http", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}

/// Serves `body` as `/api.yaml` to every connection on a loopback port, until dropped.
fn serve_file(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api.yaml", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_urls_are_fetched_within_limits_and_secrets_stay_out_of_results() {
    let spec = std::fs::read(example_spec()).unwrap();
    let size = spec.len();
    let url = serve_file(spec);
    let work = tempfile::tempdir().unwrap();

    let limited = connect(work.path(), &["--max-fetch-bytes", "2000"]).await;
    let too_big = tool_error(
        &limited,
        "generate_mock_api",
        json!({ "spec_url_or_path": url, "output_dir_name": "big" }),
    )
    .await;
    assert!(
        too_big.contains("larger than the limit of 2000 bytes"),
        "{too_big}"
    );
    limited.cancel().await.unwrap();

    let client = connect(work.path(), &[]).await;
    let generated = ok(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": url, "output_dir_name": "fetched", "start": true }),
    )
    .await;
    assert!(size > 2000);
    // The bundled copy is what the started mock serves.
    let started = generated["mock_url"].as_str().unwrap();
    assert_eq!(get(started, "/books/1").0, 200);
    assert_eq!(generated["files"][1], "openapi.json", "{generated}");
    let project = work.path().join("fetched");
    let config = std::fs::read_to_string(project.join("mockloop.toml")).unwrap();
    assert!(config.contains("spec = \"openapi.json\""), "{config}");

    // A project name that is a link out of the output root is refused, nothing written.
    let elsewhere = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(elsewhere.path(), work.path().join("linked")).unwrap();
        let linked = tool_error(
            &client,
            "generate_mock_api",
            json!({ "spec_url_or_path": url, "output_dir_name": "linked", "overwrite": true }),
        )
        .await;
        assert!(linked.contains("leads outside the output root"), "{linked}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    // Credentials a client sent are not echoed back by the tools.
    let mock = Mock::start(&example_spec(), &["--no-redact"]);
    assert_eq!(get(&mock.api, "/books?api_key=s3cret&limit=5").0, 200);
    assert_eq!(logged_total(&client, &mock.admin, json!({}), 1).await, 1);
    let logs = ok(
        &client,
        "query_mock_logs",
        json!({ "server_url": mock.admin }),
    )
    .await;
    assert_eq!(logs["items"][0]["query"], "api_key=[redacted]&limit=5");
    assert!(!logs.to_string().contains("s3cret"));
    client.cancel().await.unwrap();
}

/// Status and JSON body of a request to the mock API with extra headers.
fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut resp = support::agent()
        .run(request.body(Vec::new()).expect("request"))
        .expect("mock answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn manage(client: &Client, admin: &str, operation: &str, args: Value) -> Value {
    let mut all = json!({ "server_url": admin, "operation": operation });
    for (k, v) in args.as_object().unwrap() {
        all[k] = v.clone();
    }
    ok(client, "manage_mock_data", all).await["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_mock_data_seeds_and_changes_the_state_a_stateful_mock_serves() {
    let mock = Mock::start(
        &support::workspace_root().join("examples/shelves.yaml"),
        &["--stateful"],
    );
    let work = tempfile::tempdir().unwrap();
    let client = connect(work.path(), &[]).await;
    let admin = mock.admin.as_str();

    assert_eq!(get(&mock.api, "/shelves/7").0, 404);
    let seeded = manage(
        &client,
        admin,
        "seed_state",
        json!({ "seed": { "shelves": [{ "id": 7, "name": "Poetry" }] } }),
    )
    .await;
    assert!(seeded["seeded"].is_object(), "{seeded}");
    let (status, served) = get(&mock.api, "/shelves/7");
    assert_eq!(status, 200);
    assert_eq!(served["name"], "Poetry");

    let collections = manage(&client, admin, "list_collections", json!({})).await;
    assert!(collections.to_string().contains("shelves"), "{collections}");
    let stored = manage(
        &client,
        admin,
        "put_item",
        json!({ "collection": "shelves", "item_key": "8", "item": { "name": "Prose" } }),
    )
    .await;
    assert_eq!(stored["stored"]["value"]["name"], "Prose", "{stored}");
    assert_eq!(get(&mock.api, "/shelves/8").1["name"], "Prose");
    let item = manage(
        &client,
        admin,
        "get_item",
        json!({ "collection": "shelves", "item_key": "7" }),
    )
    .await;
    assert_eq!(item["item"]["value"]["name"], "Poetry", "{item}");
    let items = manage(
        &client,
        admin,
        "list_items",
        json!({ "collection": "shelves" }),
    )
    .await;
    assert!(items["items"].to_string().contains("Prose"), "{items}");

    manage(
        &client,
        admin,
        "delete_item",
        json!({ "collection": "shelves", "item_key": "8" }),
    )
    .await;
    assert_eq!(get(&mock.api, "/shelves/8").0, 404);
    manage(
        &client,
        admin,
        "reset_state",
        json!({ "collection": "shelves" }),
    )
    .await;
    assert_eq!(get(&mock.api, "/shelves/7").0, 404);

    // Bad input is named before anything is sent.
    let err = tool_error(
        &client,
        "manage_mock_data",
        json!({ "server_url": admin, "operation": "get_item", "collection": "shelves" }),
    )
    .await;
    assert!(err.contains("needs item_key"), "{err}");
    let err = tool_error(
        &client,
        "manage_mock_data",
        json!({ "server_url": admin, "operation": "get_item", "collection": "shelves",
                "item_key": "../auth" }),
    )
    .await;
    assert!(err.contains("invalid item_key"), "{err}");
    client.cancel().await.ok();

    // A mock without --stateful refuses, and the tool says which flag is missing.
    let plain = Mock::start(&example_spec(), &[]);
    let client = connect(work.path(), &[]).await;
    let err = tool_error(
        &client,
        "manage_mock_data",
        json!({ "server_url": plain.admin, "operation": "list_collections" }),
    )
    .await;
    assert!(err.contains("--stateful"), "{err}");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_mock_data_sets_auth_without_echoing_secrets_and_reads_the_cache() {
    let secure = support::workspace_root().join("crates/mockloop/tests/data/secure.yaml");
    let mock = Mock::start(&secure, &["--cache", "memory"]);
    let work = tempfile::tempdir().unwrap();
    let client = connect(work.path(), &[]).await;
    let admin = mock.admin.as_str();

    assert_eq!(send(&mock.api, "GET", "/v1/orders", &[]).0, 200);
    let set = manage(
        &client,
        admin,
        "set_auth",
        json!({ "auth": { "bearer_tokens": ["t-789-secret"] } }),
    )
    .await;
    assert!(!set.to_string().contains("t-789-secret"), "{set}");
    assert_eq!(set["auth"]["enabled"], true, "{set}");
    assert_eq!(send(&mock.api, "GET", "/v1/orders", &[]).0, 401);
    let bearer = [("authorization", "Bearer t-789-secret")];
    assert_eq!(send(&mock.api, "GET", "/v1/orders", &bearer).0, 200);
    let shown = manage(&client, admin, "get_auth", json!({})).await;
    assert!(!shown.to_string().contains("t-789-secret"), "{shown}");
    let off = manage(&client, admin, "auth_off", json!({})).await;
    assert_eq!(off["auth"]["enabled"], false, "{off}");
    assert_eq!(send(&mock.api, "GET", "/v1/orders", &[]).0, 200);

    // The cache: stats count what the mock served, clear empties it.
    for _ in 0..2 {
        send(&mock.api, "GET", "/v1/items/5", &[]);
    }
    let stats = manage(&client, admin, "cache_stats", json!({})).await;
    assert_eq!(stats["cache"]["backend"], "memory", "{stats}");
    let memory = &stats["cache"]["memory"];
    let seen = memory["hits"].as_u64().unwrap() + memory["misses"].as_u64().unwrap();
    assert!(seen >= 2, "{stats}");
    let entries = memory["entries"].as_u64().unwrap();
    assert!(entries >= 1, "{stats}");
    let cleared = manage(&client, admin, "clear_cache", json!({})).await;
    assert_eq!(cleared["cleared"]["memory_entries"], entries, "{cleared}");
    let stats = manage(&client, admin, "cache_stats", json!({})).await;
    assert_eq!(stats["cache"]["memory"]["entries"], 0, "{stats}");
    client.cancel().await.ok();
}

/// A receiver on 127.0.0.1 port 0 that answers every request 200 and counts them.
fn start_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_mock_data_adds_a_webhook_that_delivers_and_lists_its_deliveries() {
    let (receiver, received) = start_receiver();
    let mock = Mock::start(&example_spec(), &["--webhooks-allow-private"]);
    let work = tempfile::tempdir().unwrap();
    let client = connect(work.path(), &[]).await;
    let admin = mock.admin.as_str();

    let added = manage(
        &client,
        admin,
        "add_webhook",
        json!({ "webhook": { "url": receiver, "events": ["GET /books/{id}"],
                             "secret": "hook-secret-1" } }),
    )
    .await;
    assert!(!added.to_string().contains("hook-secret-1"), "{added}");
    let id = added["webhook"]["id"].as_u64().expect("webhook id");
    let listed = manage(&client, admin, "list_webhooks", json!({})).await;
    assert_eq!(listed["webhooks"][0]["url"], receiver, "{listed}");

    assert_eq!(get(&mock.api, "/books/1").0, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let listed = manage(
            &client,
            admin,
            "list_deliveries",
            json!({ "webhook_id": id, "kind": "webhook", "limit": 10 }),
        )
        .await;
        let done = listed["deliveries"]
            .as_array()
            .is_some_and(|d| d.iter().any(|a| a["outcome"] == "delivered"));
        if done || Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        deliveries["deliveries"][0]["outcome"] == "delivered",
        "{deliveries}"
    );
    assert!(received.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    let tested = manage(&client, admin, "test_webhook", json!({ "webhook_id": id })).await;
    assert_eq!(tested["delivery"]["outcome"], "delivered", "{tested}");
    manage(
        &client,
        admin,
        "delete_webhook",
        json!({ "webhook_id": id }),
    )
    .await;
    let listed = manage(&client, admin, "list_webhooks", json!({})).await;
    assert_eq!(listed["webhooks"], json!([]), "{listed}");
    client.cancel().await.ok();

    // Without --webhooks-allow-private the server's guard refuses loopback, and says so.
    let guarded = Mock::start(&example_spec(), &[]);
    let client = connect(work.path(), &[]).await;
    let err = tool_error(
        &client,
        "manage_mock_data",
        json!({ "server_url": guarded.admin, "operation": "add_webhook",
                "webhook": { "url": receiver, "events": ["*"] } }),
    )
    .await;
    assert!(err.contains("the webhook was refused"), "{err}");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_load_test_offers_an_open_rate_with_method_headers_and_body() {
    let mock = Mock::start(&example_spec(), &[]);
    let work = tempfile::tempdir().unwrap();
    let client = connect(work.path(), &[]).await;

    let result = ok(
        &client,
        "run_load_test",
        json!({ "server_url": format!("{}/books", mock.api), "rate": 200, "requests": 40,
                "method": "POST", "headers": { "X-Load": "open" },
                "body": { "isbn": "978-0441172719", "title": "Dune", "genre": "fiction",
                          "price": 9.99, "authorId": 1 } }),
    )
    .await;
    let report = &result["report"];
    assert_eq!(report["settings"]["model"], "open", "{report}");
    assert_eq!(report["settings"]["rate"], 200.0, "{report}");
    assert_eq!(report["requests"], 40, "{report}");
    let posts = logged_total(
        &client,
        &mock.admin,
        json!({ "method": "POST", "path_pattern": "/books" }),
        40,
    )
    .await;
    assert_eq!(posts, 40);
    let created = logged_total(
        &client,
        &mock.admin,
        json!({ "method": "POST", "status": "201" }),
        40,
    )
    .await;
    assert_eq!(created, 40, "the JSON body was sent and accepted");

    let err = tool_error(
        &client,
        "run_load_test",
        json!({ "server_url": mock.api, "rate": 100, "think_time": 1 }),
    )
    .await;
    assert!(err.contains("think_time"), "{err}");
    client.cancel().await.ok();
}

/// Found by a fresh-user run: stopped by SIGTERM (or Ctrl-C), the stdio server left the
/// mocks it had started running; only a closed stdin stopped them.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_the_mocks_the_stdio_server_started() {
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::copy(example_spec(), work.path().join("bookshop.yaml")).expect("copy spec");
    let dir = work.path().to_path_buf();
    let (transport, _) =
        TokioChildProcess::builder(tokio::process::Command::new(bin()).configure(move |cmd| {
            cmd.arg("mcp").current_dir(&dir).env_remove("MOCKLOOP_LOG");
        }))
        .stderr(Stdio::null())
        .spawn()
        .expect("start mockloop mcp");
    let pid = transport.id().expect("pid");
    let client = ().serve(transport).await.expect("MCP session");
    let generated = ok(
        &client,
        "generate_mock_api",
        json!({ "spec_url_or_path": "bookshop.yaml", "output_dir_name": "sig", "start": true }),
    )
    .await;
    let admin = generated["admin_url"].as_str().unwrap().to_owned();
    assert_eq!(get(&admin, "/health").0, 200);

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while support::agent()
        .get(&format!("{admin}/health"))
        .call()
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the started mock still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Found by a fresh-user run: `run_load_test` saved its run through a link in an allowed
/// directory to a database outside them (only the directory was checked), and echoed
/// query credentials of its target in the report.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_load_test_keeps_to_allowed_files_and_redacts_its_target() {
    let mock = Mock::start(&example_spec(), &[]);
    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("runs.db");
    std::fs::write(&target, b"").unwrap();
    std::os::unix::fs::symlink(&target, work.path().join("link.db")).unwrap();
    let client = connect(work.path(), &[]).await;
    let refused = tool_error(
        &client,
        "run_load_test",
        json!({ "server_url": mock.api, "requests": 3, "db_path": "link.db" }),
    )
    .await;
    assert!(
        refused.contains("outside the allowed directories"),
        "{refused}"
    );
    assert_eq!(
        std::fs::metadata(&target).unwrap().len(),
        0,
        "nothing written"
    );

    let ran = ok(
        &client,
        "run_load_test",
        json!({ "server_url": format!("{}/books?api_key=SEKRIT&page=1", mock.api),
                "requests": 3 }),
    )
    .await;
    let text = ran.to_string();
    assert!(!text.contains("SEKRIT"), "{text}");
    assert!(text.contains("api_key=[redacted]&page=1"), "{text}");
    client.cancel().await.unwrap();
}
