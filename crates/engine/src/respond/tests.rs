//! Response selection on small hand-built descriptions.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use serde_json::{Value, json};
use spec::{Api, MediaType, Method, Operation, Response, SpecVersion, StatusKey};

use super::body_json;
use crate::{Engine, EngineOptions, MockRequest, MockResponse};

fn media(media_type: &str, example: Option<Value>, examples: &[(&str, Value)]) -> MediaType {
    MediaType {
        media_type: media_type.to_owned(),
        schema: None,
        example,
        examples: examples
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        encoding: Vec::new(),
    }
}

fn response(status: StatusKey, content: Vec<MediaType>) -> Response {
    Response {
        status,
        description: String::new(),
        headers: Vec::new(),
        content,
    }
}

fn operation(method: Method, path: &str, responses: Vec<Response>) -> Operation {
    Operation {
        method,
        path: path.to_owned(),
        operation_id: Some(format!("{}{}", method.key(), path.replace('/', "_"))),
        summary: None,
        pointer: String::new(),
        parameters: Vec::new(),
        request_body: None,
        responses,
        security: Vec::new(),
        callbacks: Vec::new(),
        deprecated: false,
        tags: Vec::new(),
    }
}

fn engine(operations: Vec<Operation>) -> Engine {
    engine_with(operations, false)
}

fn engine_with(operations: Vec<Operation>, validate: bool) -> Engine {
    let api = Api {
        source: "test.yaml".to_owned(),
        version: SpecVersion::OpenApi30,
        title: "test".to_owned(),
        api_version: "1".to_owned(),
        base_paths: vec!["/v1".to_owned()],
        operations,
        security_schemes: Vec::new(),
        security: Vec::new(),
        root: Arc::new(json!({})),
        warnings: Vec::new(),
    };
    Engine::new(Arc::new(api), EngineOptions { seed: 1, validate })
}

fn send(engine: &Engine, method: &str, path: &str, headers: &[(&str, &str)]) -> MockResponse {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let method = HttpMethod::from_bytes(method.as_bytes()).unwrap();
    engine.respond(&MockRequest {
        method: &method,
        path,
        query: None,
        headers: &map,
        body: b"",
        nonce: 0,
    })
}

fn pets() -> Engine {
    engine(vec![
        operation(
            Method::Get,
            "/pets",
            vec![
                response(
                    StatusKey::Code(400),
                    vec![media("application/json", Some(json!({"e": 1})), &[])],
                ),
                response(
                    StatusKey::Code(200),
                    vec![
                        media(
                            "application/json",
                            None,
                            &[("one", json!([1])), ("two", json!([1, 2]))],
                        ),
                        media("application/xml", Some(json!("<pets/>")), &[]),
                    ],
                ),
                response(
                    StatusKey::Default,
                    vec![media("application/json", Some(json!({"d": 1})), &[])],
                ),
            ],
        ),
        operation(
            Method::Post,
            "/pets",
            vec![response(StatusKey::Code(201), vec![])],
        ),
        operation(
            Method::Get,
            "/errors",
            vec![response(StatusKey::Default, vec![])],
        ),
    ])
}

#[test]
fn first_success_status_and_first_named_example() {
    let resp = send(&pets(), "GET", "/pets", &[]);
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(body_json(&resp), json!([1]));
    assert_eq!(resp.headers["content-type"], "application/json");
    assert_eq!(&*resp.route.unwrap().template, "/pets");
}

#[test]
fn declared_created_status_is_used() {
    assert_eq!(
        send(&pets(), "POST", "/pets", &[]).status,
        StatusCode::CREATED
    );
}

#[test]
fn default_response_is_sent_as_200_when_nothing_else_is_declared() {
    assert_eq!(send(&pets(), "GET", "/errors", &[]).status, StatusCode::OK);
}

#[test]
fn accept_selects_media_type_or_406() {
    let e = pets();
    let resp = send(&e, "GET", "/pets", &[("accept", "application/xml")]);
    assert_eq!(resp.headers["content-type"], "application/xml");
    assert_eq!(&resp.body[..], b"<pets/>");
    let resp = send(&e, "GET", "/pets", &[("accept", "text/csv")]);
    assert_eq!(resp.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(resp.headers["content-type"], "application/problem+json");
}

#[test]
fn prefer_code_and_example_choose_the_response() {
    let e = pets();
    let resp = send(&e, "GET", "/pets", &[("prefer", "code=400")]);
    assert_eq!(
        (resp.status, body_json(&resp)),
        (StatusCode::BAD_REQUEST, json!({"e": 1}))
    );
    let resp = send(&e, "GET", "/pets", &[("prefer", "code=503")]);
    assert_eq!(
        (resp.status, body_json(&resp)),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"d": 1}))
    );
    let resp = send(&e, "GET", "/pets", &[("prefer", "example=two")]);
    assert_eq!(body_json(&resp), json!([1, 2]));
    let resp = send(&e, "GET", "/pets", &[("prefer", "example=nope")]);
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(
        body_json(&resp)["detail"]
            .as_str()
            .unwrap()
            .contains("one, two")
    );
}

#[test]
fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let e = pets();
    let resp = send(&e, "GET", "/nothing", &[]);
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(resp.headers["content-type"], "application/problem+json");
    let resp = send(&e, "DELETE", "/pets", &[]);
    assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers["allow"], "GET, POST");
    let resp = send(&e, "PROPFIND", "/pets", &[]);
    assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let resp = send(&pets(), "HEAD", "/pets", &[]);
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.body.is_empty());
    assert_eq!(resp.headers["content-type"], "application/json");
}

#[test]
fn base_path_and_root_both_route() {
    let e = pets();
    assert_eq!(send(&e, "GET", "/v1/pets", &[]).status, StatusCode::OK);
    assert_eq!(send(&e, "GET", "/pets", &[]).status, StatusCode::OK);
}

/// Jira declares JSON content for its 204s; HTTP gives a 204 no body and no content type.
#[test]
fn no_content_statuses_carry_no_body() {
    let engine = engine(vec![operation(
        Method::Put,
        "/banner",
        vec![response(
            StatusKey::Code(204),
            vec![media("application/json", Some(json!({"x": 1})), &[])],
        )],
    )]);
    let resp = send(&engine, "PUT", "/banner", &[]);
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert!(resp.headers.get("content-type").is_none());
}

/// Building bodies ahead of time changes nothing a client sees.
#[test]
fn prewarming_gives_the_same_answers() {
    let generated = |e: &mut Operation| {
        e.responses[0].content[0].schema = Some(json!({
            "type": "object", "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}
        }));
    };
    let build = || {
        let mut literal = operation(
            Method::Get,
            "/me",
            vec![response(
                StatusKey::Code(200),
                vec![media("application/json", None, &[])],
            )],
        );
        generated(&mut literal);
        let mut templated = literal.clone();
        templated.path = "/users/{id}".to_owned();
        engine(vec![literal, templated])
    };
    let (warm, cold) = (build(), build());
    warm.prewarm();
    for path in ["/me", "/users/7", "/users/8"] {
        let (a, b) = (send(&warm, "GET", path, &[]), send(&cold, "GET", path, &[]));
        assert_eq!(a.status, b.status, "{path}");
        assert_eq!(a.body, b.body, "{path}");
        assert!(a.body.starts_with(b"{\"id\":"), "{path}: {:?}", a.body);
    }
}

/// The operation's own 422 is sent for an invalid request, and the violations travel in a
/// header, since the description's error body cannot say what was wrong.
#[test]
fn own_rejection_responses_carry_the_violations_in_a_header() {
    let mut op = operation(
        Method::Get,
        "/items",
        vec![
            response(
                StatusKey::Code(200),
                vec![media("application/json", Some(json!([])), &[])],
            ),
            response(
                StatusKey::Code(422),
                vec![media(
                    "application/json",
                    Some(json!({"error": "bad"})),
                    &[],
                )],
            ),
        ],
    );
    op.parameters.push(spec::Parameter {
        name: "limit".to_owned(),
        location: spec::ParamLocation::Query,
        required: false,
        style: spec::ParamStyle::Form,
        explode: true,
        allow_empty_value: false,
        allow_reserved: false,
        schema: Some(json!({"type": "integer"})),
        content_type: None,
        example: None,
        deprecated: false,
    });
    let engine = engine_with(vec![op], true);
    let resp = engine.respond(&MockRequest {
        method: &http::Method::GET,
        path: "/items",
        query: Some("limit=abc"),
        headers: &http::HeaderMap::new(),
        body: &[],
        nonce: 0,
    });
    assert_eq!(resp.status, 422);
    assert_eq!(&resp.body[..], br#"{"error":"bad"}"#);
    let list: Value =
        serde_json::from_slice(resp.headers[crate::respond::VIOLATIONS_HEADER].as_bytes()).unwrap();
    assert_eq!(list[0]["in"], "query");
    assert_eq!(list[0]["name"], "limit");
}
