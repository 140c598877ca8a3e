//! `mockloop serve` on the bundled example, end to end over loopback.

mod support;

use serde_json::{Value, json};
use support::{Mock, example_spec};

fn call(
    mock: &Mock,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{}", mock.api, path));
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder
        .body(body.unwrap_or("").as_bytes().to_vec())
        .expect("request");
    let mut resp = mock.agent().run(request).expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.body_mut().read_to_vec().expect("body");
    (status, headers, bytes)
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

#[test]
fn serves_examples_generated_data_and_errors_and_logs_every_request() {
    let mut mock = Mock::start(&example_spec(), &["--seed", "7"]);
    let mut sent = 0;
    let mut send = |method, path, headers: &[(&str, &str)], body| {
        sent += 1;
        call(&mock, method, path, headers, body)
    };

    // The first named example, under the server's base path and at the root.
    let (status, headers, body) = send("GET", "/v1/books", &[], None);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-total-count"], "3");
    assert_eq!(json_of(&body)[0]["title"], "Pride and Prejudice");
    let (status, _, root_body) = send("GET", "/books", &[], None);
    assert_eq!((status, root_body), (200, body));

    // Prefer picks another example or status.
    let (_, _, body) = send("GET", "/books", &[("prefer", "example=empty")], None);
    assert_eq!(json_of(&body), json!([]));
    let (status, headers, _) = send("GET", "/books/1", &[("prefer", "code=404")], None);
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");

    // Generated data is deterministic for the path and differs between paths.
    let (status, _, first) = send("GET", "/books/5", &[], None);
    assert_eq!(status, 200);
    let (_, _, again) = send("GET", "/books/5", &[], None);
    let (_, _, other) = send("GET", "/books/6", &[], None);
    assert_eq!(first, again);
    assert_ne!(first, other);
    let book = json_of(&first);
    assert!(book["id"].is_i64() && book["title"].is_string(), "{book}");

    // Literal routes beat templated ones.
    let (status, _, me) = send("GET", "/authors/me", &[], None);
    assert_eq!(status, 200);
    assert!(json_of(&me)["email"].as_str().unwrap().contains('@'));

    // Validation: a bad body gets the operation's own 422; broken JSON is a 400.
    let (status, headers, body) = send(
        "POST",
        "/books",
        &[("content-type", "application/json")],
        Some(r#"{"title": ""}"#),
    );
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/problem+json");
    let (status, _, _) = send(
        "POST",
        "/books",
        &[("content-type", "application/json")],
        Some("{not json"),
    );
    assert_eq!(status, 400);
    let new_book =
        r#"{"isbn":"978-0000000000","title":"T","genre":"science","price":3.5,"authorId":4}"#;
    let (status, headers, _) = send(
        "POST",
        "/books",
        &[("content-type", "application/json")],
        Some(new_book),
    );
    assert_eq!(status, 201);
    assert_eq!(headers["location"], "/v1/books/4");
    let (status, _, _) = send("GET", "/books?limit=0", &[], None);
    assert_eq!(status, 400, "limit below its minimum gets the declared 400");

    // Unknown paths and methods.
    let (status, headers, _) = send("GET", "/nowhere", &[], None);
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (404, "application/problem+json")
    );
    let (status, headers, _) = send("PATCH", "/books", &[], None);
    assert_eq!(
        (status, headers["allow"].to_str().unwrap()),
        (405, "GET, POST")
    );

    // Media types: negotiation and a non-JSON body.
    let (status, headers, body) = send("GET", "/books", &[("accept", "application/xml")], None);
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "application/xml")
    );
    assert!(String::from_utf8_lossy(&body).starts_with('<'));
    let (status, _, _) = send("GET", "/books", &[("accept", "text/csv")], None);
    assert_eq!(status, 406);
    let (status, headers, body) = send("GET", "/books/1/cover.png", &[], None);
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "image/png")
    );
    assert!(body.starts_with(b"\x89PNG"));

    // CORS preflight is answered without an OPTIONS operation.
    let (status, headers, _) = send(
        "OPTIONS",
        "/books",
        &[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );

    // The admin API sees every request, newest first.
    assert_eq!(mock.wait_for_logged(sent), sent);
    let page = mock.admin_json("/api/requests?limit=2");
    assert_eq!(page["total"], sent);
    assert_eq!(page["items"][0]["method"], "OPTIONS");
    let id = page["items"][1]["id"].as_i64().unwrap();
    let row = mock.admin_json(&format!("/api/requests/{id}"));
    assert_eq!(row["path"], "/books/1/cover.png");
    assert_eq!(row["route"], "/books/{bookId}/cover.{format}");
    let analysis = mock.admin_json("/api/logs/analyze");
    assert_eq!(analysis["total"], sent);
    let spec = mock.admin_json("/api/spec");
    assert_eq!(spec["title"], "Bookshop");
    assert!(spec["operations"].as_array().unwrap().len() >= 10);
    assert_eq!(mock.admin_json("/health")["status"], "ok");

    let db = mock.db.clone();
    let status = mock.stop();
    assert!(status.success(), "exit status {status:?}");
    let logs = std::process::Command::new(support::bin())
        .args(["logs", "--json", "--limit", "1000", "--db"])
        .arg(&db)
        .output()
        .expect("mockloop logs");
    assert!(
        logs.status.success(),
        "{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_eq!(json_of(&logs.stdout)["total"], sent);
}

#[test]
fn dynamic_preference_gives_fresh_data_per_request() {
    let mock = Mock::start(&example_spec(), &[]);
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            call(
                &mock,
                "GET",
                "/authors/abc-1234",
                &[("prefer", "dynamic=true")],
                None,
            )
            .2
        })
        .collect();
    assert!(
        bodies[0] != bodies[1] || bodies[1] != bodies[2],
        "three identical dynamic bodies"
    );
    let fixed: Vec<Vec<u8>> = (0..2)
        .map(|_| call(&mock, "GET", "/authors/abc-1234", &[], None).2)
        .collect();
    assert_eq!(fixed[0], fixed[1]);
}

#[test]
fn validation_can_be_switched_off() {
    let mock = Mock::start(&example_spec(), &["--no-validate"]);
    let (status, _, _) = call(&mock, "GET", "/books?limit=0", &[], None);
    assert_eq!(status, 200);
}

#[test]
fn body_over_the_limit_is_413() {
    let mock = Mock::start(&example_spec(), &["--max-body-bytes", "16"]);
    let (status, headers, _) = call(
        &mock,
        "POST",
        "/books",
        &[("content-type", "application/json")],
        Some(r#"{"title": "a long enough body"}"#),
    );
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (413, "application/problem+json")
    );
}

#[test]
fn config_file_and_environment_set_the_ports_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mockloop.toml"),
        "seed = 3\nvalidate = false\n",
    )
    .unwrap();
    let mock = Mock::start_in(dir, &example_spec(), &[]);
    let (status, _, _) = call(&mock, "GET", "/books?limit=0", &[], None);
    assert_eq!(status, 200, "validate = false from mockloop.toml");
}
