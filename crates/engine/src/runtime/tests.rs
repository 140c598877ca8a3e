//! Runtime rules: parsing, matching, precedence, and deterministic faults and delays.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::shape::Z99;
use super::*;
use crate::{EngineOptions, MockRequest};

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: shop, version: "1" }
servers: [{ url: /v1 }]
paths:
  /books:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: [{ id: 1 }]
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [title] }
      responses:
        "201": { description: created }
  /books/{bookId}:
    get:
      parameters:
        - { name: bookId, in: path, required: true, schema: { type: integer } }
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: { id: 1, title: Emma }
        "404":
          description: missing
          content:
            application/json:
              example: { error: no such book }
"#;

fn engine() -> Engine {
    let api = spec::load_str(SPEC, "shop.yaml", &spec::LoadOptions::default()).unwrap();
    Engine::new(
        Arc::new(api),
        EngineOptions {
            seed: 3,
            validate: true,
        },
    )
}

struct Call<'a> {
    method: Method,
    path: &'a str,
    body: &'a [u8],
    nonce: u64,
}

fn get(path: &str) -> Call<'_> {
    Call {
        method: Method::GET,
        path,
        body: b"",
        nonce: 0,
    }
}

fn answer(engine: &Engine, rules: &Rules, call: Call<'_>) -> Answer {
    let headers = HeaderMap::new();
    engine.answer(
        &MockRequest {
            method: &call.method,
            path: call.path,
            query: None,
            headers: &headers,
            body: call.body,
            nonce: call.nonce,
        },
        rules,
    )
}

fn json_body(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.response.body).unwrap_or(Value::Null)
}

fn over(engine: &Engine, id: u64, spec: Value) -> Arc<Rule> {
    let spec = OverrideSpec::from_json(spec).unwrap();
    Arc::new(engine.compile_override(id, &spec).unwrap())
}

fn scenario(engine: &Engine, value: Value) -> (Arc<str>, Vec<Arc<Rule>>) {
    let scenario = Scenario::from_json(value).unwrap();
    let rules = engine.compile_scenario(&scenario).unwrap();
    (Arc::from(scenario.scenario_name.as_str()), rules)
}

#[test]
fn no_rules_answer_as_the_description() {
    let engine = engine();
    let rules = Rules::default();
    assert!(rules.is_empty());
    let a = answer(&engine, &rules, get("/books/7"));
    assert_eq!(a.response.status, 200);
    assert_eq!(json_body(&a), json!({ "id": 1, "title": "Emma" }));
    assert_eq!(
        (a.delay, a.delivery, a.fault),
        (Duration::ZERO, Delivery::Whole, None)
    );
    assert_eq!(a.layer, Layer::Description);
    assert_eq!(rules.scenario().as_ref(), "");
}

#[test]
fn a_template_names_its_operation_whatever_the_parameter_is_called() {
    let engine = engine();
    let rule = over(
        &engine,
        1,
        json!({ "method": "GET", "path": "/books/{id}", "status": 503 }),
    );
    let rules = Rules::new([rule], None, GlobalPlan::default());
    for path in ["/books/7", "/v1/books/8"] {
        assert_eq!(
            answer(&engine, &rules, get(path)).response.status,
            503,
            "{path}"
        );
    }
    // Another operation and another method are untouched.
    assert_eq!(answer(&engine, &rules, get("/books")).response.status, 200);
    let post = Call {
        method: Method::POST,
        path: "/books/7",
        body: b"",
        nonce: 0,
    };
    assert_eq!(answer(&engine, &rules, post).response.status, 405);
}

#[test]
fn concrete_paths_globs_and_regexes_match_request_paths() {
    let engine = engine();
    let cases = [
        (
            json!({ "path": "/books/7", "status": 410 }),
            "/v1/books/7",
            true,
        ),
        (
            json!({ "path": "/books/7", "status": 410 }),
            "/books/8",
            false,
        ),
        (
            json!({ "path": "/books/*", "status": 410 }),
            "/books/9",
            true,
        ),
        (
            json!({ "path": "/books/*", "status": 410 }),
            "/books/9/x",
            false,
        ),
        (json!({ "path": "/**", "status": 410 }), "/books/9", true),
        (
            json!({ "path": "^/books/[0-9]+$", "status": 410 }),
            "/books/12",
            true,
        ),
        (
            json!({ "path": "^/books/[0-9]+$", "status": 410 }),
            "/books",
            false,
        ),
        // A concrete path outside the description can be given an answer too.
        (json!({ "path": "/status", "status": 410 }), "/status", true),
    ];
    for (spec, path, hit) in cases {
        let rules = Rules::new(
            [over(&engine, 1, spec.clone())],
            None,
            GlobalPlan::default(),
        );
        let status = answer(&engine, &rules, get(path)).response.status;
        assert_eq!(status == 410, hit, "{spec} on {path}: {status}");
    }
}

#[test]
fn a_status_without_a_body_sends_the_declared_response_or_nothing() {
    let engine = engine();
    let rules = Rules::new(
        [
            over(
                &engine,
                2,
                json!({ "path": "/books/{bookId}", "status": 404 }),
            ),
            over(&engine, 1, json!({ "path": "/books", "status": 418 })),
        ],
        None,
        GlobalPlan::default(),
    );
    let declared = answer(&engine, &rules, get("/books/1"));
    assert_eq!(declared.response.status, 404);
    assert_eq!(json_body(&declared), json!({ "error": "no such book" }));
    assert_eq!(
        declared.response.route.unwrap().template.as_ref(),
        "/books/{bookId}"
    );
    let undeclared = answer(&engine, &rules, get("/books"));
    assert_eq!(undeclared.response.status, 418);
    assert!(undeclared.response.body.is_empty());
}

#[test]
fn a_rule_body_replaces_the_answer_and_skips_validation() {
    let engine = engine();
    let rules = Rules::new(
        [
            over(
                &engine,
                1,
                json!({ "method": "POST", "path": "/books", "status": 202,
                        "headers": { "x-mode": "queued" }, "body": { "queued": true } }),
            ),
            over(
                &engine,
                2,
                json!({ "path": "/books/{bookId}", "body": "plain text" }),
            ),
        ],
        None,
        GlobalPlan::default(),
    );
    // The request breaks the schema (no title), but the rule answers.
    let post = Call {
        method: Method::POST,
        path: "/books",
        body: b"{}",
        nonce: 0,
    };
    let a = answer(&engine, &rules, post);
    assert_eq!(a.response.status, 202);
    assert_eq!(a.response.headers["content-type"], "application/json");
    assert_eq!(a.response.headers["x-mode"], "queued");
    assert_eq!(json_body(&a), json!({ "queued": true }));
    let raw = answer(&engine, &rules, get("/books/3"));
    assert_eq!(raw.response.status, 200, "the operation's default status");
    assert_eq!(
        raw.response.headers["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(&raw.response.body[..], b"plain text");
}

#[test]
fn headers_only_keep_the_described_answer() {
    let engine = engine();
    let rule = over(
        &engine,
        1,
        json!({ "path": "/books", "headers": { "x-extra": "1" } }),
    );
    let rules = Rules::new([rule], None, GlobalPlan::default());
    let a = answer(&engine, &rules, get("/books"));
    assert_eq!(a.response.headers["x-extra"], "1");
    assert_eq!(json_body(&a), json!([{ "id": 1 }]));
}

#[test]
fn overrides_beat_the_scenario_and_the_newest_override_wins() {
    let engine = engine();
    let active = scenario(
        &engine,
        json!({
            "scenario_name": "outage",
            "endpoints": [
                { "path": "/books", "method": "GET",
                  "response_config": { "status_code": 503, "response_data": { "down": true } } },
                { "path": "/books/{bookId}", "method": "*",
                  "response_config": { "status_code": 500 } }
            ]
        }),
    );
    let only_scenario = Rules::new([], Some(active.clone()), GlobalPlan::default());
    let a = answer(&engine, &only_scenario, get("/books"));
    assert_eq!(
        (a.response.status.as_u16(), a.layer),
        (503, Layer::Scenario(0))
    );
    assert_eq!(only_scenario.scenario().as_ref(), "outage");

    // Newest first, as the server orders them.
    let both = Rules::new(
        [
            over(&engine, 2, json!({ "path": "/books", "status": 299 })),
            over(&engine, 1, json!({ "path": "/books", "status": 298 })),
        ],
        Some(active),
        GlobalPlan::default(),
    );
    let a = answer(&engine, &both, get("/books"));
    assert_eq!(
        (a.response.status.as_u16(), a.layer),
        (299, Layer::Override(2))
    );
    assert_eq!(a.rule.as_deref(), Some("override:2"));
    let a = answer(&engine, &both, get("/books/5"));
    assert_eq!(
        (a.response.status.as_u16(), a.layer),
        (500, Layer::Scenario(1))
    );
}

#[test]
fn mockloop_scenarios_are_read_as_written() {
    let engine = engine();
    let text = r#"{
        "scenario_name": "slow_books",
        "description": "Books are slow",
        "scenario_type": "performance_testing",
        "endpoints": [
            { "path": "/books", "method": "GET",
              "response_config": { "status_code": 200, "response_time_ms": 250,
                                   "response_data": { "books": [] },
                                   "headers": { "X-Scenario": "slow" } } }
        ],
        "test_parameters": { "concurrent_users": 10, "duration_seconds": 60 }
    }"#;
    let scenario = Scenario::from_json(serde_json::from_str(text).unwrap()).unwrap();
    assert_eq!(scenario.scenario_type, "performance_testing");
    assert_eq!(
        scenario.test_parameters.as_ref().unwrap()["concurrent_users"],
        10
    );
    let rules = engine.compile_scenario(&scenario).unwrap();
    let rules = Rules::new(
        [],
        Some((Arc::from("slow_books"), rules)),
        GlobalPlan::default(),
    );
    let a = answer(&engine, &rules, get("/books"));
    assert_eq!(a.delay, Duration::from_millis(250));
    assert_eq!(a.response.headers["x-scenario"], "slow");
    assert_eq!(json_body(&a), json!({ "books": [] }));

    // A list in a file, and nulls where MockLoop writes them.
    let many = Scenario::many_from_json(json!([
        { "scenario_name": "a", "description": null, "endpoints": [] },
        { "scenario_name": "b" }
    ]))
    .unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[0].description, "");
}

#[test]
fn errors_name_the_field() {
    let engine = engine();
    let parse = |value: Value| {
        Scenario::from_json(value)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let err = parse(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "response_config": { "status_code": "teapot" } }] }));
    assert!(
        err.starts_with("endpoints[0].response_config.status_code: "),
        "{err}"
    );
    let err = parse(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "response_config": { "statuscode": 200 } }] }));
    assert!(err.contains("unknown field `statuscode`"), "{err}");
    let err = parse(json!({ "endpoints": [] }));
    assert!(err.contains("scenario_name"), "{err}");

    let compile = |value: Value| {
        let scenario = Scenario::from_json(value).unwrap();
        engine
            .compile_scenario(&scenario)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let err = compile(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books" },
        { "path": "/nowhere/{id}" }] }));
    assert_eq!(
        err,
        "endpoints[1].path: route template '/nowhere/{id}' is not declared by the description"
    );
    let err = compile(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "response_config": { "response_time_ms": 5, "delay": 6 } }] }));
    assert_eq!(
        err,
        "endpoints[0].response_config.delay: give response_time_ms or delay, not both"
    );
    let err = compile(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "response_config": { "status_code": 42 } }] }));
    assert_eq!(
        err,
        "endpoints[0].response_config.status_code: 42 is not an HTTP status (100 to 999)"
    );
    let err = compile(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "response_config": { "fault": { "kind": "reset", "rate": 2 } } }] }));
    assert_eq!(
        err,
        "endpoints[0].response_config.fault: rate 2 is not between 0 and 1"
    );

    let spec = OverrideSpec::from_json(json!({ "path": "/books", "method": "FETCH" })).unwrap();
    let err = engine.compile_override(1, &spec).unwrap_err().to_string();
    assert!(err.starts_with("method: unknown method 'FETCH'"), "{err}");
    let spec = OverrideSpec::from_json(json!({ "path": "/books",
        "headers": { "content-length": "3" } }))
    .unwrap();
    let err = engine.compile_override(1, &spec).unwrap_err().to_string();
    assert_eq!(
        err,
        "headers.content-length: this header is set by the server"
    );
    let err = OverrideSpec::from_json(json!({ "path": "/books", "delay": { "kind": "uniform",
        "min_ms": 5 } }))
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("delay: ") && err.contains("max_ms"),
        "{err}"
    );
}

#[test]
fn delays_and_faults_read_their_text_forms() {
    assert_eq!(
        "250".parse::<DelaySpec>().unwrap(),
        DelaySpec::Fixed { ms: 250 }
    );
    assert_eq!(
        "100..300ms".parse::<DelaySpec>().unwrap(),
        DelaySpec::Uniform {
            min_ms: 100,
            max_ms: 300
        }
    );
    let DelaySpec::Lognormal {
        median_ms, sigma, ..
    } = "lognormal:p50=100,p99=1000".parse::<DelaySpec>().unwrap()
    else {
        panic!("not lognormal");
    };
    assert_eq!(median_ms, 100.0);
    assert!((sigma - 10f64.ln() / Z99).abs() < 1e-12);
    assert!("300..100".parse::<DelaySpec>().is_err());
    // Found by a fresh-user run: delays beyond an hour were cut to an hour in silence.
    assert!(DelaySpec::Fixed { ms: 3_600_000 }.check().is_ok());
    let too_long = DelaySpec::Fixed { ms: 3_600_001 }.check().unwrap_err();
    assert!(too_long.contains("ms 3600001 is longer than"), "{too_long}");
    let too_long = "0..7200000".parse::<DelaySpec>().map(|d| d.check());
    assert!(
        matches!(&too_long, Err(e) | Ok(Err(e)) if e.contains("max_ms 7200000")),
        "{too_long:?}"
    );
    assert!("soon".parse::<DelaySpec>().unwrap_err().contains("'soon'"));

    assert_eq!(
        "error=503@0.25".parse::<FaultSpec>().unwrap(),
        FaultSpec::Error {
            rate: 0.25,
            status: 503,
            body: None
        }
    );
    assert_eq!(
        "reset".parse::<FaultSpec>().unwrap(),
        FaultSpec::Reset { rate: 1.0 }
    );
    assert_eq!(
        "slow=64".parse::<FaultSpec>().unwrap(),
        FaultSpec::SlowBody {
            rate: 1.0,
            bytes_per_second: 64
        }
    );
    assert_eq!(
        r#"{"kind":"empty","rate":0.5}"#.parse::<FaultSpec>().unwrap(),
        FaultSpec::Empty { rate: 0.5 }
    );
    assert!(
        "error"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("error needs =STATUS")
    );
    assert!(
        "explode"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("unknown kind 'explode'")
    );
    assert!("slow=0".parse::<FaultSpec>().is_err());
}

/// Runs `n` requests with consecutive nonces and returns what each got.
fn run(engine: &Engine, rules: &Rules, n: u64) -> Vec<(Duration, Option<&'static str>, u16)> {
    (0..n)
        .map(|nonce| {
            let a = answer(
                engine,
                rules,
                Call {
                    nonce,
                    ..get("/books")
                },
            );
            (a.delay, a.fault, a.response.status.as_u16())
        })
        .collect()
}

#[test]
fn faults_and_delays_are_deterministic_for_a_seed_and_follow_their_rates() {
    let engine = engine();
    let global = engine
        .compile_global(
            &GlobalFaults::from_json(json!({
                "delay": { "kind": "uniform", "min_ms": 10, "max_ms": 50 },
                "fault": { "kind": "error", "rate": 0.3, "status": 503 }
            }))
            .unwrap(),
        )
        .unwrap();
    let rules = Rules::new([], None, global);
    let first = run(&engine, &rules, 2000);
    assert_eq!(first, run(&engine, &rules, 2000), "same seed, same nonces");
    let errors = first.iter().filter(|(_, f, _)| *f == Some("error")).count();
    assert!(
        (500..700).contains(&errors),
        "{errors} errors of 2000 at rate 0.3"
    );
    assert!(
        first
            .iter()
            .all(|(_, f, status)| (*status == 503) == f.is_some())
    );
    assert!(
        first.iter().all(|(d, _, _)| {
            (Duration::from_millis(10)..=Duration::from_millis(50)).contains(d)
        })
    );

    let other_seed = Engine::new(
        engine.api().clone(),
        EngineOptions {
            seed: 4,
            validate: true,
        },
    );
    assert_ne!(first, run(&other_seed, &rules_for(&other_seed), 2000));
}

fn rules_for(engine: &Engine) -> Rules {
    let global = engine
        .compile_global(
            &GlobalFaults::from_json(json!({
                "delay": { "kind": "uniform", "min_ms": 10, "max_ms": 50 },
                "fault": { "kind": "error", "rate": 0.3, "status": 503 }
            }))
            .unwrap(),
        )
        .unwrap();
    Rules::new([], None, global)
}

#[test]
fn lognormal_delays_have_the_asked_median_and_respect_the_cap() {
    let engine = engine();
    let global = engine
        .compile_global(&GlobalFaults {
            delay: Some("lognormal:median=100,sigma=0.5,max=400".parse().unwrap()),
            fault: None,
        })
        .unwrap();
    let mut delays: Vec<Duration> = run(&engine, &Rules::new([], None, global), 4001)
        .into_iter()
        .map(|(d, _, _)| d)
        .collect();
    delays.sort();
    let median = delays[2000].as_secs_f64() * 1000.0;
    assert!((85.0..118.0).contains(&median), "median {median} ms");
    assert!(delays.last().unwrap() <= &Duration::from_millis(400));
}

#[test]
fn a_rule_fault_replaces_the_global_one_and_each_kind_is_planned() {
    let engine = engine();
    let global = engine
        .compile_global(&GlobalFaults {
            delay: Some(DelaySpec::Fixed { ms: 5 }),
            fault: Some(FaultSpec::Reset { rate: 1.0 }),
        })
        .unwrap();
    let rules = Rules::new(
        [
            over(
                &engine,
                1,
                json!({ "path": "/books", "method": "GET",
                "fault": { "kind": "slow_body", "bytes_per_second": 10 } }),
            ),
            over(
                &engine,
                2,
                json!({ "path": "/books/{bookId}",
                "fault": { "kind": "empty" }, "delay": 7 }),
            ),
        ],
        None,
        global,
    );
    let slow = answer(&engine, &rules, get("/books"));
    assert_eq!(
        slow.delivery,
        Delivery::Slow {
            bytes_per_second: 10
        }
    );
    assert_eq!(
        (slow.fault, slow.delay),
        (Some("slow_body"), Duration::from_millis(5))
    );
    assert!(!slow.response.body.is_empty());

    let empty = answer(&engine, &rules, get("/books/1"));
    assert_eq!(
        (empty.fault, empty.delivery),
        (Some("empty"), Delivery::Whole)
    );
    assert_eq!(empty.response.status, 200);
    assert!(empty.response.body.is_empty());
    assert_eq!(empty.delay, Duration::from_millis(7));

    // No rule matches: the global fault applies.
    let post = Call {
        method: Method::POST,
        path: "/books",
        body: b"{\"title\":\"x\"}",
        nonce: 0,
    };
    let reset = answer(&engine, &rules, post);
    assert_eq!(
        (reset.fault, reset.delivery),
        (Some("reset"), Delivery::Reset)
    );
    assert_eq!(reset.layer, Layer::Description);

    // An error fault with a body.
    let rules = Rules::new(
        [over(
            &engine,
            3,
            json!({ "path": "/books",
            "fault": { "kind": "error", "status": 502, "body": { "upstream": "down" } } }),
        )],
        None,
        GlobalPlan::default(),
    );
    let error = answer(&engine, &rules, get("/books"));
    assert_eq!(error.response.status, 502);
    assert_eq!(json_body(&error), json!({ "upstream": "down" }));
}

#[test]
fn template_keys_drop_parameter_names() {
    assert_eq!(
        template_key("/books/{bookId}/cover.{format}"),
        "/books/{}/cover.{}"
    );
    assert_eq!(template_key("/books/"), "/books");
    assert_eq!(template_key("/"), "/");
}

/// Found by a fresh-user run: a DELETE rule on `/books` (which declares GET and POST) was
/// accepted and never fired, since such requests are answered 405 before rules are read.
#[test]
fn a_method_the_template_does_not_declare_is_refused() {
    let engine = engine();
    let compile = |value: Value| {
        let scenario = Scenario::from_json(value).unwrap();
        engine.compile_scenario(&scenario).map(|_| ())
    };
    let err = compile(json!({ "scenario_name": "x", "endpoints": [
        { "path": "/books", "method": "DELETE", "response_config": { "status_code": 204 } }] }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("DELETE is not declared for '/books'"), "{err}");
    assert!(err.contains("declared: GET"), "{err}");
    // Any method, HEAD for a GET, and patterns stay accepted.
    for (path, method) in [("/books", "*"), ("/books", "HEAD"), ("^/books$", "DELETE")] {
        let ok = compile(json!({ "scenario_name": "x", "endpoints": [
            { "path": path, "method": method, "response_config": { "status_code": 204 } }] }));
        assert!(ok.is_ok(), "{path} {method}: {ok:?}");
    }
}

const GENERATED: &str = r#"
openapi: 3.0.3
info: { title: gen, version: "1" }
paths:
  /items/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: object, properties: { name: { type: string } } }
  /items:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { type: array, items: { type: integer } }
  /fixed/{id}:
    get:
      responses:
        "200":
          description: ok
          content: { application/json: { example: { fixed: true } } }
"#;

fn deferred(engine: &Engine, rules: &Rules, path: &str, prefer: Option<&str>) -> Answer {
    let mut headers = HeaderMap::new();
    if let Some(prefer) = prefer {
        headers.insert("prefer", prefer.parse().unwrap());
    }
    let req = MockRequest {
        method: &Method::GET,
        path,
        query: None,
        headers: &headers,
        body: b"",
        nonce: 5,
    };
    let routed = engine.route(req.method, req.path);
    let (mut answer, pending) = engine.answer_deferred(routed, &req, rules, None, true);
    let expected = engine.answer(&req, rules);
    match pending {
        Some(pending) => {
            assert!(
                answer.response.body.is_empty(),
                "{path}: the body is left to do"
            );
            answer.response.body = engine.generate(&pending);
            assert_eq!(answer.response.body, expected.response.body, "{path}");
            answer.rule = Some(Arc::from("deferred"));
        }
        None => assert_eq!(answer.response.body, expected.response.body, "{path}"),
    }
    assert_eq!(answer.response.status, expected.response.status);
    assert_eq!(answer.response.headers, expected.response.headers);
    answer
}

#[test]
fn only_bodies_generated_per_request_are_deferred() {
    let api = spec::load_str(GENERATED, "gen.yaml", &spec::LoadOptions::default()).unwrap();
    let engine = Engine::new(Arc::new(api), EngineOptions::default());
    let none = Rules::default();
    let was_deferred = |a: &Answer| a.rule.as_deref() == Some("deferred");
    assert!(was_deferred(&deferred(&engine, &none, "/items/3", None)));
    // Built once and kept, or fresh on purpose: nothing to defer.
    assert!(!was_deferred(&deferred(&engine, &none, "/items", None)));
    assert!(!was_deferred(&deferred(&engine, &none, "/fixed/3", None)));
    let dynamic = Some("dynamic=true");
    assert!(!was_deferred(&deferred(
        &engine, &none, "/items/3", dynamic
    )));

    // A matching rule answers; a rule elsewhere leaves the description's answer deferred.
    let here = over(
        &engine,
        1,
        json!({ "path": "/items/{id}", "headers": { "x": "1" } }),
    );
    let rules = Rules::new([here], None, GlobalPlan::default());
    assert!(!was_deferred(&deferred(&engine, &rules, "/items/3", None)));
    let elsewhere = over(&engine, 2, json!({ "path": "/fixed/{id}", "status": 500 }));
    let rules = Rules::new([elsewhere], None, GlobalPlan::default());
    assert!(was_deferred(&deferred(&engine, &rules, "/items/3", None)));
}
