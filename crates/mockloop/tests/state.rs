//! Stateful mode against the real binary: create, read, list and page, replace, patch and
//! delete; nested collections; precedence of overrides and scenarios over the store; state
//! kept across a restart; seed files; the admin API's `/api/state`; and `mockloop state`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{Mock, bin, example_spec, workspace_root};

/// A book id of the shelves example (its ids are UUIDs).
const BOOK: &str = "6f1c3c0e-8a53-4c55-9a4f-2b0e7d1f0a11";

fn shelves_spec() -> PathBuf {
    workspace_root().join("examples/shelves.yaml")
}

/// A request with an optional JSON body: status, headers and JSON answer.
fn send(
    base: &str,
    mock: &Mock,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, ureq::http::HeaderMap, Value) {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .expect("request");
    let mut resp = mock
        .agent()
        .run(request)
        .unwrap_or_else(|err| panic!("{method} {path}: {err}\n{}", mock.stderr_text()));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.body_mut().read_to_string().expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn api(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, value) = send(&mock.api, mock, method, path, body);
    (status, value)
}

fn admin(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, value) = send(&mock.admin, mock, method, path, body);
    (status, value)
}

/// Runs `mockloop ARGS --admin <mock>`: exit code, stdout and stderr.
fn cli(mock: &Mock, args: &[&str]) -> (i32, String, String) {
    mock.cli(args)
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|item| item["id"].as_i64().expect("an integer id"))
        .collect()
}

#[test]
fn writes_are_remembered_read_paged_replaced_patched_and_deleted() {
    let mock = Mock::start(&shelves_spec(), &["--stateful"]);
    let (status, headers, created) = send(
        &mock.api,
        &mock,
        "POST",
        "/api/shelves",
        Some(json!({"name": "Poetry", "floor": 1})),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created, json!({"id": 1, "name": "Poetry", "floor": 1}));
    assert_eq!(headers["location"], "/api/shelves/1");
    assert_eq!(api(&mock, "GET", "/shelves/1", None), (200, created));

    for name in ["b", "c", "d"] {
        assert_eq!(
            api(&mock, "POST", "/shelves", Some(json!({"name": name}))).0,
            201
        );
    }
    let (status, page) = api(&mock, "GET", "/shelves?limit=2&offset=1", None);
    assert_eq!(status, 200);
    assert_eq!(ids(&page["items"]), [2, 3]);
    assert_eq!(
        (page["total"].clone(), page["limit"].clone()),
        (json!(4), json!(2))
    );

    let (status, replaced) = api(&mock, "PUT", "/shelves/2", Some(json!({"name": "Prose"})));
    assert_eq!((status, replaced), (200, json!({"id": 2, "name": "Prose"})));
    let (status, patched) = api(
        &mock,
        "PATCH",
        "/shelves/2",
        Some(json!({"floor": 2, "theme": "novels"})),
    );
    assert_eq!(
        (status, patched),
        (
            200,
            json!({"id": 2, "name": "Prose", "floor": 2, "theme": "novels"})
        )
    );

    let (status, _) = api(&mock, "DELETE", "/shelves/2", None);
    assert_eq!(status, 204);
    let (status, missing) = api(&mock, "GET", "/shelves/2", None);
    assert_eq!(status, 404);
    assert_eq!(
        missing["code"], "not_found",
        "the description's 404 example: {missing}"
    );
    assert_eq!(api(&mock, "DELETE", "/shelves/2", None).0, 404);
    assert_eq!(
        ids(&api(&mock, "GET", "/shelves", None).1["items"]),
        [1, 3, 4]
    );

    // An invalid body gets the description's 422 and stores nothing.
    let (status, refused) = api(&mock, "POST", "/shelves", Some(json!({"name": ""})));
    assert_eq!((status, refused["code"].clone()), (422, json!("invalid")));
    assert_eq!(api(&mock, "GET", "/shelves", None).1["total"], 3);

    // Nested books: each shelf its own scope, UUIDs assigned, pages by number.
    for title in ["x", "y", "z"] {
        let (status, book) = api(
            &mock,
            "POST",
            "/shelves/1/books",
            Some(json!({"title": title})),
        );
        assert_eq!(status, 201);
        assert_eq!(book["bookId"].as_str().map(str::len), Some(36), "{book}");
    }
    let (_, page) = api(&mock, "GET", "/shelves/1/books?page=2&per_page=2", None);
    assert_eq!(page.as_array().map(Vec::len), Some(1));
    assert_eq!(page[0]["title"], "z");
    assert_eq!(
        api(&mock, "GET", "/shelves/3/books", None),
        (200, json!([]))
    );

    // The log names the store as the layer that answered.
    let total = 19;
    assert_eq!(mock.wait_for_logged(total), total);
    let rows = mock.admin_json("/api/requests?method=PATCH");
    assert_eq!(rows["items"][0]["rule"], "state");
    let rows = mock.admin_json("/api/requests?status=422");
    assert!(
        rows["items"][0]["rule"].is_null(),
        "a rejection is the description's"
    );
}

#[test]
fn overrides_and_the_active_scenario_win_over_the_store() {
    let mock = Mock::start(&example_spec(), &["--stateful"]);
    let book = json!({"isbn": "978-0441172719", "title": "Dune", "genre": "fiction",
                      "price": 9.99, "authorId": 1});
    let (status, created) = api(&mock, "POST", "/v1/books", Some(book));
    assert_eq!((status, created["id"].clone()), (201, json!(1)));
    assert_eq!(api(&mock, "GET", "/books/1", None).1["title"], "Dune");
    assert_eq!(
        api(&mock, "GET", "/books", None).1.as_array().map(Vec::len),
        Some(1)
    );

    let (status, added) = admin(
        &mock,
        "POST",
        "/api/overrides",
        Some(json!({"method": "GET", "path": "/books/{id}", "status": 503})),
    );
    assert_eq!(status, 201, "{added}");
    assert_eq!(api(&mock, "GET", "/books/1", None).0, 503);
    let (status, _) = admin(&mock, "DELETE", "/api/overrides", None);
    assert_eq!(status, 200);

    let scenario = json!({"scenario_name": "teapot", "endpoints": [
        {"path": "/books", "method": "GET", "response_config": {"status_code": 418}}]});
    assert_eq!(
        admin(&mock, "POST", "/api/scenarios", Some(scenario)).0,
        201
    );
    assert_eq!(
        admin(&mock, "POST", "/api/scenarios/teapot/activate", None).0,
        200
    );
    assert_eq!(api(&mock, "GET", "/books", None).0, 418);
    // What the scenario does not name is still the store's.
    assert_eq!(api(&mock, "GET", "/books/1", None), (200, created));
    assert_eq!(api(&mock, "GET", "/books/2", None).0, 404);
    assert_eq!(mock.wait_for_logged(7), 7);
    let rows = mock.admin_json("/api/requests?path=/books/2");
    assert_eq!(rows["items"][0]["rule"], "state");
    let rows = mock.admin_json("/api/requests?status=418");
    assert_eq!(rows["items"][0]["rule"], "scenario:0");
}

#[test]
fn the_state_is_kept_across_a_restart() {
    let mut mock = Mock::start(&shelves_spec(), &["--stateful"]);
    for name in ["a", "b", "c"] {
        api(&mock, "POST", "/shelves", Some(json!({"name": name})));
    }
    api(&mock, "PATCH", "/shelves/1", Some(json!({"floor": 4})));
    api(&mock, "DELETE", "/shelves/2", None);
    api(
        &mock,
        "POST",
        "/shelves/3/books",
        Some(json!({"title": "kept"})),
    );
    assert!(mock.stop().success(), "{}", mock.stderr_text());

    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let mock = Mock::start_in(dir, &shelves_spec(), &["--stateful"]);
    let (_, page) = api(&mock, "GET", "/shelves", None);
    assert_eq!(ids(&page["items"]), [1, 3]);
    assert_eq!(page["items"][0], json!({"id": 1, "name": "a", "floor": 4}));
    assert_eq!(
        api(&mock, "GET", "/shelves/3/books", None).1[0]["title"],
        "kept"
    );
    // Ids go on from the highest one stored.
    assert_eq!(
        api(&mock, "POST", "/shelves", Some(json!({"name": "d"}))).1["id"],
        4
    );

    // Without --stateful the same database is not read: the description answers.
    let mut mock = mock;
    assert!(mock.stop().success());
    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let plain = Mock::start_in(dir, &shelves_spec(), &[]);
    let (status, described) = api(&plain, "GET", "/shelves", None);
    assert_eq!(status, 200);
    assert_ne!(ids(&described["items"]), [1, 3, 4]);
    let (status, problem) = admin(&plain, "GET", "/api/state", None);
    assert_eq!(status, 409);
    assert!(
        problem["detail"].as_str().unwrap().contains("--stateful"),
        "{problem}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_seed_file_is_stored_at_start_and_the_admin_api_changes_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write(
        dir.path(),
        "seed.yaml",
        "shelves:\n  - { id: 1, name: Poetry }\n  - { id: 2, name: Prose }\n\
         /shelves/1/books:\n  - { bookId: 6f1c3c0e-8a53-4c55-9a4f-2b0e7d1f0a11, title: Odes }\n",
    );
    let seed_flag = seed.to_string_lossy().into_owned();
    let mock = Mock::start_in(
        dir,
        &shelves_spec(),
        &["--stateful", "--state-seed", &seed_flag],
    );
    let (status, book) = api(&mock, "GET", &format!("/shelves/1/books/{BOOK}"), None);
    assert_eq!((status, book["title"].clone()), (200, json!("Odes")));

    let (status, summary) = admin(&mock, "GET", "/api/state", None);
    assert_eq!(status, 200);
    assert_eq!(summary["items"], 3);
    assert_eq!(summary["collections"][1]["name"], "shelves.books");
    assert_eq!(summary["collections"][1]["count"], 1);
    let (_, listing) = admin(&mock, "GET", "/api/state/shelves", None);
    assert_eq!(listing["count"], 2);
    assert_eq!(listing["items"][1]["path"], "/shelves/2");

    let path = format!("/api/state/shelves.books/1/{BOOK}");
    let (status, item) = admin(&mock, "GET", &path, None);
    assert_eq!(
        (status, item["value"]["title"].clone()),
        (200, json!("Odes"))
    );
    let (status, stored) = admin(
        &mock,
        "PUT",
        "/api/state/shelves/9",
        Some(json!({"name": "Nine"})),
    );
    assert_eq!(status, 201);
    assert_eq!(stored["value"], json!({"id": 9, "name": "Nine"}));
    assert_eq!(api(&mock, "GET", "/shelves/9", None).1["name"], "Nine");
    assert_eq!(
        admin(
            &mock,
            "PUT",
            "/api/state/shelves/9",
            Some(json!({"name": "9"}))
        )
        .0,
        200
    );
    assert_eq!(admin(&mock, "DELETE", "/api/state/shelves/9", None).0, 204);
    assert_eq!(api(&mock, "GET", "/shelves/9", None).0, 404);

    // Errors name what is wrong.
    let (status, problem) = admin(&mock, "GET", "/api/state/nope", None);
    assert_eq!(status, 404);
    assert_eq!(
        problem["detail"],
        "no collection named 'nope'; collections: shelves, shelves.books"
    );
    let (status, problem) = admin(
        &mock,
        "GET",
        &format!("/api/state/shelves.books/{BOOK}"),
        None,
    );
    assert_eq!(status, 400);
    assert_eq!(
        problem["detail"],
        format!("item key '{BOOK}' does not fit 'shelves.books': write it as <shelfId>/<bookId>")
    );
    let (status, problem) = admin(
        &mock,
        "POST",
        "/api/state/seed",
        Some(json!({"shelves": [{"id": 3}, 7]})),
    );
    assert_eq!(status, 400);
    assert_eq!(
        problem["detail"],
        "shelves[1]: an item must be a JSON object"
    );

    let (status, report) = admin(
        &mock,
        "POST",
        "/api/state/seed",
        Some(json!({"shelves": [{"name": "Drama"}]})),
    );
    assert_eq!((status, report["stored"].clone()), (200, json!(1)));
    assert_eq!(api(&mock, "GET", "/shelves/10", None).1["name"], "Drama");

    // A restart with the same seed keeps what the mock had: the seed is not stored again.
    let mut mock = mock;
    assert!(mock.stop().success(), "{}", mock.stderr_text());
    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let mock = Mock::start_in(
        dir,
        &shelves_spec(),
        &["--stateful", "--state-seed", &seed_flag],
    );
    let (_, summary) = admin(&mock, "GET", "/api/state", None);
    assert_eq!(summary["items"], 4, "{summary}");
    assert_eq!(api(&mock, "GET", "/shelves/10", None).1["name"], "Drama");

    let (_, removed) = admin(&mock, "DELETE", "/api/state/shelves.books", None);
    assert_eq!(removed["removed"], 1);
    let (_, removed) = admin(&mock, "DELETE", "/api/state", None);
    assert_eq!(removed["removed"], 3);
    assert_eq!(api(&mock, "GET", "/shelves", None).1["total"], 0);
}

#[test]
fn a_seed_that_does_not_fit_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write(
        dir.path(),
        "seed.json",
        r#"{"shelves.books": [{"title": "x"}]}"#,
    );
    let out = Command::new(bin())
        .arg("serve")
        .arg(shelves_spec())
        .args(["--port", "0", "--admin-port", "0", "--stateful", "--db"])
        .arg(dir.path().join("s.db"))
        .arg("--state-seed")
        .arg(&seed)
        .output()
        .expect("run mockloop");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("invalid seed file '{}'", seed.display()))
            && stderr.contains("shelves.books[0]: no 'shelfId' field"),
        "{stderr}"
    );
}

#[test]
fn the_state_commands_work_through_the_admin_api() {
    let mock = Mock::start(&shelves_spec(), &["--stateful"]);
    let seed = write(
        mock.dir.path(),
        "seed.json",
        &json!({"shelves": [{"id": 1, "name": "Poetry"}],
                "shelves.books": [{"shelfId": 1, "bookId": BOOK, "title": "Odes"}]})
        .to_string(),
    );
    let (code, out, _) = cli(&mock, &["state", "seed", &seed.to_string_lossy()]);
    assert_eq!(
        (code, out.as_str()),
        (0, "stored 2 items (shelves 1, shelves.books 1)\n")
    );

    let (code, out, _) = cli(&mock, &["state", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("shelves.books") && out.contains("bookId (string)"),
        "{out}"
    );
    let (code, out, _) = cli(&mock, &["state", "list", "--json"]);
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["items"], 2);

    let (code, out, _) = cli(&mock, &["state", "show", "shelves.books"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("shelves.books (/shelves/{shelfId}/books): 1 item\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("/shelves/1/books/{BOOK}  {{\"bookId\":\"{BOOK}\"")),
        "{out}"
    );
    let (code, out, _) = cli(
        &mock,
        &["state", "get", "shelves.books", &format!("1/{BOOK}")],
    );
    assert_eq!(code, 0);
    // The parent's field given in the seed stays part of the item.
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"bookId": BOOK, "shelfId": 1, "title": "Odes"})
    );

    let (code, out, _) = cli(
        &mock,
        &[
            "state",
            "put",
            "shelves",
            "5",
            "--body",
            r#"{"name": "Five"}"#,
        ],
    );
    assert_eq!((code, out.as_str()), (0, "stored /shelves/5\n"));
    assert_eq!(api(&mock, "GET", "/shelves/5", None).1["name"], "Five");
    let (code, out, _) = cli(&mock, &["state", "delete", "shelves", "5"]);
    assert_eq!((code, out.as_str()), (0, "deleted item '5' of 'shelves'\n"));
    let (code, _, err) = cli(&mock, &["state", "delete", "shelves", "5"]);
    assert_eq!(code, 2);
    assert!(err.contains("no item '5' in 'shelves' (HTTP 404)"), "{err}");
    let (code, _, err) = cli(&mock, &["state", "show", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no collection named 'nope'"), "{err}");

    let (code, out, _) = cli(&mock, &["state", "reset", "shelves.books"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "removed 1 items of 'shelves.books'\n")
    );
    let (code, out, _) = cli(&mock, &["state", "reset"]);
    assert_eq!((code, out.as_str()), (0, "removed 1 items\n"));
    assert_eq!(api(&mock, "GET", "/shelves/1", None).0, 404);
}

/// Found by a fresh-user run: resetting everything on a mock of one description wiped the
/// stored items of another description's collections (and said 0 were removed); and the
/// admin listing of a large collection came whole, holding up the mock.
#[test]
fn a_reset_keeps_other_descriptions_items_and_listings_come_in_pages() {
    let mut mock = Mock::start(&shelves_spec(), &["--stateful"]);
    for name in ["a", "b", "c"] {
        api(&mock, "POST", "/shelves", Some(json!({"name": name})));
    }
    let (status, page) = admin(&mock, "GET", "/api/state/shelves?offset=1&limit=1", None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["count"].as_u64(), page["offset"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["items"][0]["value"]["name"], "b", "{page}");
    let (status, _) = admin(&mock, "GET", "/api/state/shelves?limit=0", None);
    assert_eq!(status, 400);
    // A body naming another id than its path is refused, not silently overwritten. (The
    // mock's own PUT already refuses an `id` here: the description's body has no such
    // field.)
    let (status, problem) = admin(
        &mock,
        "PUT",
        "/api/state/shelves/2",
        Some(json!({"id": 3, "name": "x"})),
    );
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the body's 'id' is 3, but the item's id in the path is '2'"),
        "{problem}"
    );
    let (status, body) = admin(
        &mock,
        "PUT",
        "/api/state/shelves/2",
        Some(json!({"id": 2, "name": "b"})),
    );
    assert_eq!(status, 200, "{body}");
    assert!(mock.stop().success(), "{}", mock.stderr_text());

    // The bookshop's collections are others; resetting them leaves the shelves alone.
    let dir = std::mem::replace(&mut mock.dir, tempfile::tempdir().unwrap());
    let mut other = Mock::start_in(dir, &example_spec(), &["--stateful"]);
    let (status, _) = admin(&other, "DELETE", "/api/state", None);
    assert_eq!(status, 200);
    assert!(other.stop().success(), "{}", other.stderr_text());

    let dir = std::mem::replace(&mut other.dir, tempfile::tempdir().unwrap());
    let mock = Mock::start_in(dir, &shelves_spec(), &["--stateful"]);
    let (_, page) = api(&mock, "GET", "/shelves", None);
    assert_eq!(ids(&page["items"]), [1, 2, 3]);
}
