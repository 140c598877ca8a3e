//! Stateful resources: inference against the bundled examples and corpus descriptions, and
//! answers from the store (create, read, list and page, replace, patch, delete, nesting,
//! precedence of the runtime rules).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::*;
use crate::runtime::{Layer, OverrideSpec, Rules};
use crate::{Engine, EngineOptions, MockRequest};

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn corpus(name: &str) -> PathBuf {
    let dir = std::env::var_os("MOCKLOOP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus/specs"));
    dir.join(name)
}

fn load(path: PathBuf) -> spec::Api {
    let source = path.to_string_lossy().into_owned();
    spec::load(&source, &spec::LoadOptions::default())
        .unwrap_or_else(|e| panic!("cannot load {source}: {:?}", e.diagnostics))
}

/// `(collection, action, METHOD path)` for every operation given a role.
fn roles(api: &spec::Api) -> Vec<(String, &'static str, String)> {
    let model = ResourceModel::infer(api);
    model
        .describe()
        .into_iter()
        .map(|(op, name, action)| {
            let op = &api.operations[op];
            (
                name.to_owned(),
                action,
                format!("{} {}", op.method.as_str(), op.path),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &'static str, &str)]) -> Vec<(String, &'static str, String)> {
    rows.iter()
        .map(|(c, a, p)| ((*c).to_owned(), *a, (*p).to_owned()))
        .collect()
}

#[test]
fn the_bookshop_has_one_collection_of_books_with_integer_ids() {
    let api = load(workspace().join("examples/bookshop.yaml"));
    let model = ResourceModel::infer(&api);
    let names: Vec<&str> = model
        .collections()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    // /authors has items but nothing creates them: it is a collection that answers only
    // once seeded. /orders and /newsletter are actions.
    assert_eq!(names, ["books", "authors"]);
    let books = &model.collections()[0];
    assert_eq!(books.template, "/books");
    assert_eq!(books.item_template.as_deref(), Some("/books/{bookId}"));
    assert_eq!(
        (books.id_field.as_str(), books.id_kind),
        ("id", IdKind::Integer)
    );
    assert!(books.writable);
    let authors = &model.collections()[1];
    assert_eq!(
        (authors.id_field.as_str(), authors.id_kind),
        ("id", IdKind::String)
    );
    assert!(!authors.writable);
    assert_eq!(
        roles(&api),
        owned(&[
            ("books", "list", "GET /books"),
            ("books", "create", "POST /books"),
            ("books", "read", "GET /books/{bookId}"),
            ("books", "delete", "DELETE /books/{bookId}"),
            ("authors", "read", "GET /authors/{authorId}"),
        ])
    );
}

#[test]
fn the_shelves_example_nests_books_under_shelves() {
    let api = load(workspace().join("examples/shelves.yaml"));
    let model = ResourceModel::infer(&api);
    let shelves = &model.collections()[0];
    let books = &model.collections()[1];
    assert_eq!(shelves.name, "shelves");
    assert!(shelves.parents.is_empty());
    assert_eq!(books.name, "shelves.books");
    assert_eq!(books.template, "/shelves/{shelfId}/books");
    assert_eq!(books.parents, ["shelfId"]);
    assert_eq!(
        (books.id_field.as_str(), books.id_kind),
        ("bookId", IdKind::String)
    );
    assert_eq!(model.collections().len(), 2);
    assert_eq!(
        roles(&api)
            .iter()
            .filter(|(c, _, _)| c == "shelves")
            .map(|(_, a, _)| *a)
            .collect::<Vec<_>>(),
        ["list", "create", "read", "replace", "patch", "delete"]
    );
}

#[test]
fn corpus_descriptions_give_their_collections() {
    let petstore = load(corpus("oai-petstore-expanded.yaml"));
    assert_eq!(
        roles(&petstore),
        owned(&[
            ("pets", "list", "GET /pets"),
            ("pets", "create", "POST /pets"),
            ("pets", "read", "GET /pets/{id}"),
            ("pets", "delete", "DELETE /pets/{id}"),
        ])
    );
    let model = ResourceModel::infer(&petstore);
    let pets = &model.collections()[0];
    assert_eq!(
        (pets.id_field.as_str(), pets.id_kind),
        ("id", IdKind::Integer)
    );

    // The id is the item parameter's name when the schema has no `id`; a POST without a
    // listing or items (/tickets) is an action.
    let museum = load(corpus("redocly-museum.yaml"));
    let model = ResourceModel::infer(&museum);
    let names: Vec<&str> = model
        .collections()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["special-events"]);
    let events = &model.collections()[0];
    assert_eq!(
        (events.id_field.as_str(), events.id_kind),
        ("eventId", IdKind::String)
    );
    assert_eq!(
        roles(&museum)
            .iter()
            .map(|(_, a, _)| *a)
            .collect::<Vec<_>>(),
        ["create", "list", "read", "patch", "delete"]
    );

    // Swagger 2: /pet/{petId} with POST /pet; `id` is the field.
    let swagger = load(corpus("oai-petstore-expanded-v2.yaml"));
    assert!(
        ResourceModel::infer(&swagger)
            .collections()
            .iter()
            .any(|c| c.name == "pets" && c.id_field == "id")
    );
}

#[test]
fn every_corpus_description_infers_without_panicking_and_names_are_unique() {
    let dir = corpus("");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus folder {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut with_collections = 0;
    for file in files {
        let api = load(file.clone());
        let model = ResourceModel::infer(&api);
        let mut names: Vec<&str> = model
            .collections()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "{}: names repeat", file.display());
        for collection in model.collections() {
            assert_eq!(
                collection.parents.len(),
                collection.template.matches('{').count(),
                "{}: {}",
                file.display(),
                collection.template
            );
        }
        with_collections += usize::from(count > 0);
    }
    assert!(
        with_collections >= 10,
        "{with_collections} descriptions with collections"
    );
}

// ---- answers ----

struct Mock {
    engine: Engine,
    state: Resources,
    changes: Arc<Mutex<Vec<Change>>>,
}

fn mock(path: PathBuf) -> Mock {
    let api = Arc::new(load(path));
    let engine = Engine::new(api.clone(), EngineOptions::default());
    let mut state = Resources::new(ResourceModel::infer(&api), 0);
    let changes = Arc::new(Mutex::new(Vec::new()));
    let seen = changes.clone();
    state.set_sink(move |change| seen.lock().unwrap().push(change));
    Mock {
        engine,
        state,
        changes,
    }
}

impl Mock {
    fn send_with(
        &self,
        method: Method,
        target: &str,
        body: Option<Value>,
        rules: &Rules,
    ) -> (u16, HeaderMap, Value, Layer) {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let mut headers = HeaderMap::new();
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        if !bytes.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        let req = MockRequest {
            method: &method,
            path,
            query,
            headers: &headers,
            body: bytes.as_bytes(),
            nonce: 1,
        };
        let routed = self.engine.route(&method, path);
        let answer = self
            .engine
            .answer_with_state(routed, &req, rules, Some(&self.state));
        let body = serde_json::from_slice(&answer.response.body).unwrap_or(Value::Null);
        (
            answer.response.status.as_u16(),
            answer.response.headers,
            body,
            answer.layer,
        )
    }

    fn send(&self, method: Method, target: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body, _) = self.send_with(method, target, body, &Rules::default());
        (status, body)
    }
}

#[test]
fn items_are_created_read_replaced_patched_and_deleted() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    let (status, headers, created, layer) = m.send_with(
        Method::POST,
        "/api/shelves",
        Some(json!({"name": "Poetry", "floor": 1})),
        &Rules::default(),
    );
    assert_eq!((status, layer), (201, Layer::State));
    assert_eq!(created, json!({"id": 1, "name": "Poetry", "floor": 1}));
    assert_eq!(headers["location"], "/api/shelves/1");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        m.send(Method::GET, "/shelves/1", None),
        (200, created.clone())
    );

    let (status, replaced) = m.send(
        Method::PUT,
        "/shelves/1",
        Some(json!({"name": "Verse", "theme": "old"})),
    );
    assert_eq!(
        (status, replaced.clone()),
        (200, json!({"id": 1, "name": "Verse", "theme": "old"}))
    );
    let (status, patched) = m.send(
        Method::PATCH,
        "/shelves/1",
        Some(json!({"floor": 3, "theme": null})),
    );
    assert_eq!(
        (status, patched),
        (200, json!({"id": 1, "name": "Verse", "floor": 3}))
    );

    let (status, body) = m.send(Method::DELETE, "/shelves/1", None);
    assert_eq!((status, body), (204, Value::Null));
    // Gone: the description's own 404 example.
    let (status, body) = m.send(Method::GET, "/shelves/1", None);
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(m.send(Method::DELETE, "/shelves/1", None).0, 404);
    assert_eq!(
        m.send(Method::PATCH, "/shelves/1", Some(json!({"floor": 1})))
            .0,
        404
    );

    // PUT on an absent item creates it; the next POST gets the next free id.
    assert_eq!(
        m.send(Method::PUT, "/shelves/7", Some(json!({"name": "Seven"})))
            .0,
        200
    );
    assert_eq!(
        m.send(Method::POST, "/shelves", Some(json!({"name": "Eight"})))
            .1["id"],
        8
    );

    let changes = m.changes.lock().unwrap();
    assert_eq!(changes.len(), 6, "{changes:?}");
    assert!(matches!(&changes[3], Change::Delete { collection, id, .. }
        if collection == "shelves" && id == "1"));
}

#[test]
fn invalid_bodies_get_the_described_rejection_and_store_nothing() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    let (status, _, body, layer) = m.send_with(
        Method::POST,
        "/shelves",
        Some(json!({"name": ""})),
        &Rules::default(),
    );
    assert_eq!((status, layer), (422, Layer::Description));
    assert_eq!(body["code"], "invalid");
    assert!(m.changes.lock().unwrap().is_empty());
    assert_eq!(m.state.summaries()[0].count, 0);
}

#[test]
fn listings_page_and_take_the_declared_shape() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    for i in 0..5 {
        m.send(
            Method::POST,
            "/shelves",
            Some(json!({"name": format!("s{i}")})),
        );
    }
    let (status, page) = m.send(Method::GET, "/shelves?limit=2&offset=1", None);
    assert_eq!(status, 200);
    assert_eq!(page["total"], 5);
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(2), json!(1))
    );
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
    // The declared default limit (10) applies without the parameter.
    let (_, all) = m.send(Method::GET, "/shelves", None);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);

    // Nested books: a bare array, pages by number, each shelf its own scope.
    for i in 0..3 {
        let (status, book) = m.send(
            Method::POST,
            "/shelves/1/books",
            Some(json!({"title": format!("b{i}")})),
        );
        assert_eq!(status, 201);
        assert!(
            uuid::Uuid::parse_str(book["bookId"].as_str().unwrap()).is_ok(),
            "{book}"
        );
    }
    m.send(
        Method::POST,
        "/shelves/2/books",
        Some(json!({"title": "other"})),
    );
    let (_, second) = m.send(Method::GET, "/shelves/1/books?page=2&per_page=2", None);
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["title"], "b2");
    let (_, other) = m.send(Method::GET, "/shelves/2/books", None);
    assert_eq!(other.as_array().unwrap().len(), 1);
    let (_, none) = m.send(Method::GET, "/shelves/3/books", None);
    assert_eq!(none, json!([]));
    let book = other[0]["bookId"].as_str().unwrap();
    assert_eq!(
        m.send(Method::GET, &format!("/shelves/1/books/{book}"), None)
            .0,
        404
    );
    assert_eq!(
        m.send(Method::GET, &format!("/shelves/2/books/{book}"), None)
            .0,
        200
    );
}

#[test]
fn a_taken_id_is_a_conflict_and_prefer_asks_the_description() {
    let m = mock(workspace().join("examples/bookshop.yaml"));
    let book = json!({"id": 5, "isbn": "978-0441172719", "title": "Dune", "genre": "fiction",
                      "price": 9.99, "authorId": 1});
    assert_eq!(m.send(Method::POST, "/v1/books", Some(book.clone())).0, 201);
    let (status, problem) = m.send(Method::POST, "/v1/books", Some(book));
    assert_eq!(status, 409);
    assert_eq!(
        problem["detail"],
        "an item with id '5' already exists in 'books'"
    );
    let (status, list) = m.send(Method::GET, "/books", None);
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));

    // With an explicit Prefer the description answers.
    let mut headers = HeaderMap::new();
    headers.insert("prefer", HeaderValue::from_static("example=classics"));
    let req = MockRequest {
        method: &Method::GET,
        path: "/books",
        query: None,
        headers: &headers,
        body: b"",
        nonce: 1,
    };
    let answer = m.engine.answer_with_state(
        m.engine.route(&Method::GET, "/books"),
        &req,
        &Rules::default(),
        Some(&m.state),
    );
    assert_eq!(answer.layer, Layer::Description);
    let list: Value = serde_json::from_slice(&answer.response.body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);

    // A collection nothing can create answers from the description until it is seeded.
    assert_eq!(m.send(Method::GET, "/authors/abc-1234", None).0, 200);
    m.state
        .seed(&json!({"authors": [{"id": "abc-1234", "name": "Ann", "email": "a@b.c"}]}))
        .unwrap();
    assert_eq!(
        m.send(Method::GET, "/authors/abc-1234", None).1["name"],
        "Ann"
    );
    assert_eq!(m.send(Method::GET, "/authors/xyz-9999", None).0, 404);
}

#[test]
fn an_override_that_shapes_the_answer_wins_over_the_store() {
    let m = mock(workspace().join("examples/bookshop.yaml"));
    m.state
        .seed(&json!({"books": [{"id": 1, "title": "Stored"}]}))
        .unwrap();
    let spec: OverrideSpec = serde_json::from_value(
        json!({"method": "GET", "path": "/books/{id}", "status": 418, "body": {"tea": true}}),
    )
    .unwrap();
    let rule = Arc::new(m.engine.compile_override(1, &spec).unwrap());
    let rules = Rules::new([rule], None, Default::default());
    let (status, _, body, layer) = m.send_with(Method::GET, "/books/1", None, &rules);
    assert_eq!(
        (status, body, layer),
        (418, json!({"tea": true}), Layer::Override(1))
    );
    // A rule that only adds a header leaves the answer to the store.
    let spec: OverrideSpec =
        serde_json::from_value(json!({"path": "/books/{id}", "headers": {"X-Rule": "yes"}}))
            .unwrap();
    let rule = Arc::new(m.engine.compile_override(2, &spec).unwrap());
    let rules = Rules::new([rule], None, Default::default());
    let (status, headers, body, _) = m.send_with(Method::GET, "/books/1", None, &rules);
    assert_eq!((status, body["title"].clone()), (200, json!("Stored")));
    assert_eq!(headers["x-rule"], "yes");
    // Without rules the store answers and names itself for the log.
    let routed = m.engine.route(&Method::GET, "/books/1");
    let headers = HeaderMap::new();
    let req = MockRequest {
        method: &Method::GET,
        path: "/books/1",
        query: None,
        headers: &headers,
        body: b"",
        nonce: 1,
    };
    let answer = m
        .engine
        .answer_with_state(routed, &req, &Rules::default(), Some(&m.state));
    assert_eq!(answer.rule.as_deref(), Some("state"));
}

#[test]
fn seeds_and_admin_keys_name_what_is_wrong() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    let report = m
        .state
        .seed(&json!({
            "shelves": [{"id": 1, "name": "A"}, {"name": "B"}],
            "/shelves/1/books": [{"title": "x"}],
            "shelves.books": [{"shelfId": 2, "bookId": "b-1", "title": "y"}],
        }))
        .unwrap();
    assert_eq!(report.stored, 4);
    assert_eq!(report.collections["shelves.books"], 2);
    let shelves = m.state.items("shelves").unwrap();
    assert_eq!(shelves[1].value, json!({"id": 2, "name": "B"}));
    let got = m.state.get_key("shelves.books", "2/b-1").unwrap().unwrap();
    assert_eq!(got.path, "/shelves/2/books/b-1");

    let err = m
        .state
        .seed(&json!({"shelves.books": [{"title": "z"}]}))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("shelves.books[0]: no 'shelfId' field"),
        "{err}"
    );
    assert!(err.to_string().contains("'/shelves/1/books'"), "{err}");
    let err = m.state.seed(&json!({"nope": []})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no collection named 'nope'; collections: shelves, shelves.books"
    );
    let err = m.state.seed(&json!({"shelves": [1]})).unwrap_err();
    assert_eq!(err.to_string(), "shelves[0]: an item must be a JSON object");
    let err = m.state.get_key("shelves.books", "b-1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "item key 'b-1' does not fit 'shelves.books': write it as <shelfId>/<bookId>"
    );
    // Nothing of a refused seed is stored.
    assert_eq!(m.state.summaries()[1].count, 2);
    assert_eq!(m.state.clear(None).unwrap(), 4);
    // Found by a fresh-user run: clearing everything wiped stored items of collections
    // another description had written. Every collection of this one is cleared by name.
    let changes = m.changes.lock().unwrap();
    assert_eq!(
        changes[changes.len() - 2..],
        [
            Change::Clear {
                collection: Some("shelves".to_owned())
            },
            Change::Clear {
                collection: Some("shelves.books".to_owned())
            }
        ]
    );
}

#[test]
fn restored_items_keep_their_order_and_the_next_id_follows_them() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    let mut report = RestoreReport::default();
    m.state.restore(
        &mut report,
        "shelves",
        vec![],
        "4".into(),
        0,
        r#"{"id":4,"name":"d"}"#,
    );
    m.state.restore(
        &mut report,
        "shelves",
        vec![],
        "2".into(),
        1,
        r#"{"id":2,"name":"b"}"#,
    );
    m.state
        .restore(&mut report, "gone", vec![], "1".into(), 0, "{}");
    m.state
        .restore(&mut report, "shelves", vec![], "9".into(), 2, "[1]");
    assert_eq!(
        report,
        RestoreReport {
            loaded: 2,
            unknown: vec!["gone".to_owned()],
            invalid: 1
        }
    );
    assert!(
        m.changes.lock().unwrap().is_empty(),
        "a restore is not a change"
    );
    let ids: Vec<String> = m
        .state
        .items("shelves")
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["4", "2"]);
    assert_eq!(
        m.send(Method::POST, "/shelves", Some(json!({"name": "e"})))
            .1["id"],
        5
    );
}

#[test]
fn concurrent_creations_get_distinct_ids_and_every_change_reaches_the_sink() {
    let m = mock(workspace().join("examples/shelves.yaml"));
    let c = m.state.model().index_of("shelves").unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let state = &m.state;
            scope.spawn(move || {
                for i in 0..50 {
                    let mut item = serde_json::Map::new();
                    item.insert("name".to_owned(), json!(format!("{t}-{i}")));
                    state.create(c, Vec::new(), item).unwrap();
                }
            });
        }
    });
    let mut ids: Vec<String> = m
        .state
        .items("shelves")
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    assert_eq!(m.changes.lock().unwrap().len(), 400);
    assert_eq!(
        m.send(Method::POST, "/shelves", Some(json!({"name": "last"})))
            .1["id"],
        401
    );
}
