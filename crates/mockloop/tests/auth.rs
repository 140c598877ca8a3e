//! Auth emulation against the real binary: each kind of scheme, 401 and 403 with their
//! bodies and challenges, the admin API and the `mockloop auth` command.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::{Mock, workspace_root};

fn spec() -> PathBuf {
    workspace_root().join("crates/mockloop/tests/data/secure.yaml")
}

/// A GET on the mock with headers: status, headers and JSON body.
fn get(mock: &Mock, path: &str, headers: &[(&str, &str)]) -> (u16, ureq::http::HeaderMap, Value) {
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
    let headers = resp.headers().clone();
    let body = resp.body_mut().read_to_vec().expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn status(mock: &Mock, path: &str, headers: &[(&str, &str)]) -> u16 {
    get(mock, path, headers).0
}

fn admin(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    mock.admin_call(method, path, body)
}

fn challenges(headers: &ureq::http::HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `mockloop auth ARGS --admin URL`: exit code, stdout, stderr.
fn auth_cli(mock: &Mock, args: &[&str]) -> (i32, String, String) {
    mock.cli(&[&["auth"], args].concat())
}

#[test]
fn auth_is_off_by_default() {
    let mock = Mock::start(&spec(), &[]);
    assert_eq!(status(&mock, "/v1/orders", &[]), 200);
    assert_eq!(status(&mock, "/v1/admin", &[]), 200);
    let (code, settings) = admin(&mock, "GET", "/api/auth", None);
    assert_eq!(code, 200);
    assert_eq!(settings["enabled"], false);
    assert_eq!(settings["schemes"].as_array().map(Vec::len), Some(6));
}

#[test]
fn presence_only_checks_every_kind_of_scheme() {
    let mock = Mock::start(&spec(), &["--auth"]);
    // Document-wide bearer.
    let (code, headers, body) = get(&mock, "/v1/orders", &[]);
    assert_eq!(code, 401);
    assert_eq!(challenges(&headers), ["Bearer realm=\"Secure Store\""]);
    assert_eq!(
        headers["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["security"]["scheme"], "bearerAuth");
    assert_eq!(
        body["detail"],
        "missing credentials for security scheme 'bearerAuth': expected in header \
         'Authorization'"
    );
    assert_eq!(
        status(&mock, "/v1/orders", &[("authorization", "Bearer x")]),
        200
    );
    // oauth2 takes a bearer token.
    assert_eq!(status(&mock, "/v1/reports", &[]), 401);
    assert_eq!(
        status(&mock, "/v1/reports", &[("authorization", "Bearer y")]),
        200
    );
    // apiKey in a header or, as the other alternative, in the query.
    let (code, headers, _) = get(&mock, "/v1/keyed/1", &[]);
    assert_eq!(code, 401);
    assert_eq!(
        challenges(&headers),
        [
            "ApiKey realm=\"Secure Store\", in=\"header\", name=\"X-API-Key\"",
            "ApiKey realm=\"Secure Store\", in=\"query\", name=\"api_key\""
        ]
    );
    assert_eq!(status(&mock, "/v1/keyed/1", &[("x-api-key", "any")]), 200);
    assert_eq!(status(&mock, "/v1/keyed/1?api_key=any", &[]), 200);
    // apiKey in a cookie.
    assert_eq!(status(&mock, "/v1/session", &[("cookie", "other=1")]), 401);
    assert_eq!(
        status(&mock, "/v1/session", &[("cookie", "a=1; session=s")]),
        200
    );
    // Basic: the operation's own 401 body, with the challenge.
    let (code, headers, body) = get(&mock, "/v1/admin", &[]);
    assert_eq!(code, 401);
    assert_eq!(body, json!({ "error": "log in first" }));
    assert_eq!(challenges(&headers), ["Basic realm=\"Secure Store\""]);
    let basic = [("authorization", "Basic YW5uOnB3")]; // ann:pw
    assert_eq!(status(&mock, "/v1/admin", &basic), 200);
    // Every scheme of an alternative is needed.
    assert_eq!(status(&mock, "/v1/both", &basic), 401);
    let both = [("authorization", "Basic YW5uOnB3"), ("x-api-key", "k")];
    assert_eq!(status(&mock, "/v1/both", &both), 200);
    // `security: []` opens an operation; unknown paths are still 404.
    assert_eq!(status(&mock, "/v1/items/3", &[]), 200);
    assert_eq!(status(&mock, "/v1/nowhere", &[]), 404);
}

#[test]
fn configured_credentials_are_compared_and_refusals_logged() {
    let mock = Mock::start(
        &spec(),
        &[
            "--auth-api-key",
            "k-good",
            "--auth-bearer",
            "t-good",
            "--auth-basic",
            "ann:pw",
        ],
    );
    // A refused key where the operation declares 403: its body, no challenge.
    let (code, headers, body) = get(&mock, "/v1/keyed/1", &[("x-api-key", "k-bad")]);
    assert_eq!(code, 403);
    assert_eq!(body, json!({ "error": "key refused" }));
    assert!(challenges(&headers).is_empty());
    assert_eq!(
        status(&mock, "/v1/keyed/1", &[("x-api-key", "k-good")]),
        200
    );
    // A refused token where no 403 is declared: 401 saying why.
    let (code, headers, body) = get(&mock, "/v1/orders", &[("authorization", "Bearer nope")]);
    assert_eq!(code, 401);
    assert_eq!(
        challenges(&headers),
        ["Bearer realm=\"Secure Store\", error=\"invalid_token\""]
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("are not accepted"),
        "{body}"
    );
    assert_eq!(
        status(&mock, "/v1/orders", &[("authorization", "Bearer t-good")]),
        200
    );
    let wrong_password = [("authorization", "Basic YW5uOm5vcGU=")]; // ann:nope
    assert_eq!(status(&mock, "/v1/admin", &wrong_password), 401);

    assert_eq!(mock.wait_for_logged(5), 5);
    let refused = mock.admin_json("/api/requests?status=403");
    assert_eq!(refused["items"][0]["rule"], "auth");
    assert_eq!(refused["items"][0]["route"], "/keyed/{id}");
    let allowed = mock.admin_json("/api/requests?status=200&limit=1");
    assert!(allowed["items"][0]["rule"].is_null());
}

#[test]
fn the_admin_api_changes_auth_and_masks_secrets() {
    let mock = Mock::start(&spec(), &[]);
    assert_eq!(status(&mock, "/v1/orders", &[]), 200);
    let (code, shown) = admin(
        &mock,
        "PUT",
        "/api/auth",
        Some(json!({ "enabled": true, "bearer_tokens": ["t-secret-1"],
                      "basic": ["ann:hunter22"], "scheme_keys": { "queryKey": ["qk-123"] } })),
    );
    assert_eq!(code, 200, "{shown}");
    assert_eq!(shown["bearer_tokens"], json!(["t-**** (10 chars)"]));
    assert_eq!(
        shown["basic"],
        json!([{ "user": "ann", "password": "hu**** (8 chars)" }])
    );
    assert_eq!(
        shown["scheme_keys"]["queryKey"],
        json!(["qk**** (6 chars)"])
    );
    assert!(!shown.to_string().contains("hunter22"));
    assert_eq!(status(&mock, "/v1/orders", &[]), 401);
    assert_eq!(
        status(
            &mock,
            "/v1/orders",
            &[("authorization", "Bearer t-secret-1")]
        ),
        200
    );
    assert_eq!(status(&mock, "/v1/keyed/2?api_key=qk-123", &[]), 200);
    assert_eq!(status(&mock, "/v1/keyed/2?api_key=other", &[]), 403);

    // Bad settings name the field and change nothing.
    let (code, problem) = admin(
        &mock,
        "PUT",
        "/api/auth",
        Some(json!({ "scheme_keys": { "bearerAuth": ["x"] } })),
    );
    assert_eq!(code, 400);
    assert_eq!(problem["field"], "scheme_keys.bearerAuth");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("declared: headerKey, queryKey")
    );
    let (code, problem) = admin(&mock, "PUT", "/api/auth", Some(json!({ "enable": true })));
    assert_eq!(code, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `enable`")
    );

    let (code, _) = admin(&mock, "PUT", "/api/auth", Some(json!({ "enabled": false })));
    assert_eq!(code, 200);
    assert_eq!(status(&mock, "/v1/orders", &[]), 200);
    // Turned on again, the credentials kept while off apply.
    let (_, shown) = admin(&mock, "PUT", "/api/auth", Some(json!({ "enabled": true })));
    assert_eq!(shown["bearer_tokens"], json!(["t-**** (10 chars)"]));
    assert_eq!(
        status(
            &mock,
            "/v1/orders",
            &[("authorization", "Bearer t-secret-1")]
        ),
        200
    );
}

#[test]
fn cors_preflights_never_need_credentials() {
    let mock = Mock::start(&spec(), &["--auth"]);
    let request = ureq::http::Request::builder()
        .method("OPTIONS")
        .uri(format!("{}/v1/orders", mock.api))
        .header("origin", "http://example.test")
        .header("access-control-request-method", "GET")
        .body(Vec::new())
        .unwrap();
    let resp = mock.agent().run(request).expect("preflight");
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[test]
fn the_auth_command_shows_sets_and_turns_off() {
    let mock = Mock::start(&spec(), &[]);
    let (code, out, err) = auth_cli(
        &mock,
        &["set", "--bearer", "cli-token", "--basic", "bo:pw1"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("auth emulation: on\n"), "{out}");
    assert!(out.contains("bearer tokens: cl**** (9 chars)"), "{out}");
    assert!(
        out.contains("basic users: bo (password **** (3 chars))"),
        "{out}"
    );
    assert!(
        out.contains("bearerAuth (http bearer): header 'Authorization'"),
        "{out}"
    );
    assert_eq!(
        status(
            &mock,
            "/v1/orders",
            &[("authorization", "Bearer cli-token")]
        ),
        200
    );
    assert_eq!(
        status(&mock, "/v1/orders", &[("authorization", "Bearer other")]),
        401
    );

    let (code, out, _) = auth_cli(&mock, &["show", "--json"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(shown["enabled"], true);

    let (code, _, err) = auth_cli(&mock, &["set", "--scheme-key", "nokey"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid --scheme-key 'nokey': expected SCHEME=KEY"),
        "{err}"
    );
    let (code, _, err) = auth_cli(&mock, &["set", "--scheme-key", "nope=1"]);
    assert_eq!(code, 2, "a refusal of the admin API is a usage error");
    assert!(err.contains("no apiKey scheme 'nope'"), "{err}");

    let (code, out, _) = auth_cli(&mock, &["set", "--presence-only"]);
    assert_eq!(code, 0);
    assert!(out.contains("accepted: any credential present"), "{out}");
    assert_eq!(
        status(&mock, "/v1/orders", &[("authorization", "Bearer other")]),
        200
    );

    let (code, out, _) = auth_cli(&mock, &["off"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("auth emulation: off"), "{out}");
    assert_eq!(status(&mock, "/v1/orders", &[]), 200);
}

/// Found by a fresh-user run: `scheme_keys` naming a scheme the description does not
/// declare was taken from mockloop.toml at start (it is refused at run time).
#[test]
fn an_undeclared_scheme_in_the_config_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("mockloop.toml"),
        "[auth]\nenabled = true\nscheme_keys = { nosuch = [\"q\"] }\n",
    )
    .expect("config file");
    let out = std::process::Command::new(support::bin())
        .current_dir(dir.path())
        .arg("serve")
        .arg(spec())
        .args(["--port", "0", "--admin-port", "0", "--db", "x.db"])
        .output()
        .expect("run mockloop");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scheme_keys.nosuch: the description declares no apiKey scheme"),
        "{stderr}"
    );
}
