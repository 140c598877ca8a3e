//! Auth emulation on a small description with one operation per kind of scheme.

use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use super::AuthPolicy;
use crate::{Engine, EngineOptions, MockRequest, MockResponse};

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: vault, version: "1" }
components:
  securitySchemes:
    headerKey: { type: apiKey, in: header, name: X-API-Key }
    queryKey: { type: apiKey, in: query, name: api_key }
    cookieKey: { type: apiKey, in: cookie, name: session }
    basicAuth: { type: http, scheme: basic }
    bearerAuth: { type: http, scheme: bearer }
    oauth:
      type: oauth2
      flows: { clientCredentials: { tokenUrl: /token, scopes: { read: r } } }
    oidc: { type: openIdConnect, openIdConnectUrl: /.well-known/openid-configuration }
security: [{ bearerAuth: [] }]
paths:
  /header: { get: { security: [{ headerKey: [] }], responses: { "200": { description: ok } } } }
  /query: { get: { security: [{ queryKey: [] }], responses: { "200": { description: ok } } } }
  /cookie: { get: { security: [{ cookieKey: [] }], responses: { "200": { description: ok } } } }
  /basic: { get: { security: [{ basicAuth: [] }], responses: { "200": { description: ok } } } }
  /oauth: { get: { security: [{ oauth: [read] }], responses: { "200": { description: ok } } } }
  /oidc: { get: { security: [{ oidc: [] }], responses: { "200": { description: ok } } } }
  /default: { get: { responses: { "200": { description: ok } } } }
  /open: { get: { security: [], responses: { "200": { description: ok } } } }
  /either:
    get:
      security: [{ headerKey: [], basicAuth: [] }, { bearerAuth: [] }, {}]
      responses: { "200": { description: ok } }
  /both:
    get:
      security: [{ headerKey: [], queryKey: [] }]
      responses:
        "200": { description: ok }
        "403":
          description: forbidden
          content:
            application/json:
              example: { message: go away }
"#;

fn engine() -> Engine {
    let api = spec::load_str(SPEC, "vault.yaml", &spec::LoadOptions::default()).unwrap();
    Engine::new(Arc::new(api), EngineOptions::default())
}

/// Authorizes `GET path?query` with `headers` under `policy`.
fn check(
    engine: &Engine,
    path_and_query: &str,
    headers: &[(&str, &str)],
    policy: &AuthPolicy,
) -> Option<MockResponse> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let req = MockRequest {
        method: &Method::GET,
        path,
        query,
        headers: &map,
        body: b"",
        nonce: 0,
    };
    let routed = engine.route(&Method::GET, path);
    engine.authorize(&routed, &req, policy)
}

fn challenges(resp: &MockResponse) -> Vec<String> {
    resp.headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn body(resp: &MockResponse) -> Value {
    serde_json::from_slice(&resp.body).unwrap()
}

fn basic(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[test]
fn api_key_in_header_is_required_and_checked_when_keys_are_configured() {
    let engine = engine();
    let open = AuthPolicy::default();
    let missing = check(&engine, "/header", &[], &open).expect("denied");
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&missing),
        ["ApiKey realm=\"vault\", in=\"header\", name=\"X-API-Key\""]
    );
    let problem = body(&missing);
    assert_eq!(problem["security"]["scheme"], "headerKey");
    assert_eq!(problem["security"]["credential"]["in"], "header");
    assert_eq!(
        problem["detail"],
        "missing credentials for security scheme 'headerKey': expected in header 'X-API-Key'"
    );
    assert!(missing.route.is_some(), "denials are logged on their route");
    assert!(check(&engine, "/header", &[("x-api-key", "anything")], &open).is_none());

    let strict = AuthPolicy {
        api_keys: vec!["secret".into()],
        ..AuthPolicy::default()
    };
    let wrong = check(&engine, "/header", &[("x-api-key", "guess")], &strict).expect("denied");
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "no 403 is declared");
    assert!(
        body(&wrong)["detail"]
            .as_str()
            .unwrap()
            .contains("not accepted")
    );
    assert!(check(&engine, "/header", &[("x-api-key", "secret")], &strict).is_none());
}

#[test]
fn api_key_in_query_and_cookie() {
    let engine = engine();
    let strict = AuthPolicy {
        api_keys: vec!["k1".into()],
        ..AuthPolicy::default()
    };
    assert!(check(&engine, "/query?api_key=k1", &[], &strict).is_none());
    assert!(check(&engine, "/query?x=1&api_key=k%31", &[], &strict).is_none());
    let missing = check(&engine, "/query?other=k1", &[], &strict).expect("denied");
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(check(&engine, "/query?api_key=", &[], &strict).is_some());

    let cookie = [("cookie", "theme=dark; session=k1")];
    assert!(check(&engine, "/cookie", &cookie, &strict).is_none());
    let wrong = [("cookie", "session=k2")];
    assert!(check(&engine, "/cookie", &wrong, &strict).is_some());
    assert!(check(&engine, "/cookie", &[("cookie", "sessionx=k1")], &strict).is_some());
}

#[test]
fn a_scheme_with_its_own_keys_ignores_the_shared_list() {
    let engine = engine();
    let policy = AuthPolicy {
        api_keys: vec!["shared".into()],
        scheme_keys: [("queryKey".to_owned(), vec!["own".to_owned()])].into(),
        ..AuthPolicy::default()
    };
    assert!(check(&engine, "/query?api_key=own", &[], &policy).is_none());
    assert!(check(&engine, "/query?api_key=shared", &[], &policy).is_some());
    assert!(check(&engine, "/header", &[("x-api-key", "shared")], &policy).is_none());
}

#[test]
fn basic_credentials_are_decoded_and_compared() {
    let engine = engine();
    let missing = check(&engine, "/basic", &[], &AuthPolicy::default()).expect("denied");
    assert_eq!(challenges(&missing), ["Basic realm=\"vault\""]);
    let open = AuthPolicy::default();
    let good = basic("ann:pw");
    assert!(check(&engine, "/basic", &[("authorization", &good)], &open).is_none());
    let garbage = check(&engine, "/basic", &[("authorization", "Basic !!!")], &open);
    assert_eq!(garbage.expect("denied").status, StatusCode::UNAUTHORIZED);
    let bearer_sent = check(&engine, "/basic", &[("authorization", "Bearer t")], &open);
    assert!(
        bearer_sent.is_some(),
        "another scheme is not a basic credential"
    );

    let strict = AuthPolicy {
        basic: vec!["ann:pw".into()],
        ..AuthPolicy::default()
    };
    assert!(check(&engine, "/basic", &[("authorization", &good)], &strict).is_none());
    let lower = good.replace("Basic", "basic");
    assert!(check(&engine, "/basic", &[("authorization", &lower)], &strict).is_none());
    let wrong = basic("ann:nope");
    assert!(check(&engine, "/basic", &[("authorization", &wrong)], &strict).is_some());
}

#[test]
fn bearer_oauth2_and_openid_connect_take_bearer_tokens() {
    let engine = engine();
    let strict = AuthPolicy {
        bearer_tokens: vec!["tok".into()],
        ..AuthPolicy::default()
    };
    for path in ["/default", "/oauth", "/oidc"] {
        let missing = check(&engine, path, &[], &strict).expect("denied");
        assert_eq!(challenges(&missing), ["Bearer realm=\"vault\""], "{path}");
        assert!(check(&engine, path, &[("authorization", "Bearer tok")], &strict).is_none());
        let wrong =
            check(&engine, path, &[("authorization", "Bearer other")], &strict).expect("denied");
        assert_eq!(
            challenges(&wrong),
            ["Bearer realm=\"vault\", error=\"invalid_token\""],
            "{path}"
        );
    }
    let open = AuthPolicy::default();
    assert!(check(&engine, "/oauth", &[("authorization", "Bearer x")], &open).is_none());
    assert!(check(&engine, "/oauth", &[("authorization", "Bearer ")], &open).is_some());
}

#[test]
fn any_alternative_will_do_and_an_empty_one_lets_everyone_in() {
    let engine = engine();
    let policy = AuthPolicy::default();
    assert!(check(&engine, "/open", &[], &policy).is_none());
    // `{}` among the alternatives: anonymous requests pass.
    assert!(check(&engine, "/either", &[], &policy).is_none());
}

#[test]
fn every_scheme_of_an_alternative_must_be_satisfied() {
    let engine = engine();
    let policy = AuthPolicy {
        api_keys: vec!["k".into()],
        ..AuthPolicy::default()
    };
    let half = check(&engine, "/both", &[("x-api-key", "k")], &policy).expect("denied");
    assert_eq!(
        half.status,
        StatusCode::UNAUTHORIZED,
        "missing is not forbidden"
    );
    assert!(body(&half)["detail"].as_str().unwrap().contains("queryKey"));
    assert!(check(&engine, "/both?api_key=k", &[("x-api-key", "k")], &policy).is_none());
}

#[test]
fn rejected_credentials_get_the_declared_403_and_its_body() {
    let engine = engine();
    let policy = AuthPolicy {
        api_keys: vec!["k".into()],
        ..AuthPolicy::default()
    };
    let denied =
        check(&engine, "/both?api_key=bad", &[("x-api-key", "k")], &policy).expect("denied");
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(body(&denied), serde_json::json!({ "message": "go away" }));
    assert!(challenges(&denied).is_empty(), "a 403 carries no challenge");
}

#[test]
fn unrouted_requests_are_left_to_the_router() {
    let engine = engine();
    assert!(check(&engine, "/nowhere", &[], &AuthPolicy::default()).is_none());
}

#[test]
fn policies_with_empty_or_malformed_credentials_are_refused() {
    let bad_pair = AuthPolicy {
        basic: vec!["nocolon".into()],
        ..AuthPolicy::default()
    };
    assert_eq!(
        bad_pair.check().unwrap_err(),
        "basic: 'nocolon' is not user:password"
    );
    let empty = AuthPolicy {
        bearer_tokens: vec![String::new()],
        ..AuthPolicy::default()
    };
    assert!(empty.check().unwrap_err().starts_with("bearer_tokens"));
    assert!(AuthPolicy::default().is_presence_only());
}
