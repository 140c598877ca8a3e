//! Round trips of every style (written here, read by the validator) and whole sampled
//! requests checked by the validator.

use std::borrow::Cow;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use spec::{
    Api, Encoding, MediaType, Method, Operation, ParamLocation, ParamStyle, Parameter, RequestBody,
    SpecVersion,
};

use super::serialize;
use super::*;
use crate::router::{RouteMatch, Router};
use crate::validate::{OperationValidator, RequestParts, Verdict};

fn shape(schema: &Value) -> Shape {
    Shape::of(schema, &json!({}))
}

fn ints() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn person() -> Value {
    json!({"type": "object", "properties": {"role": {"type": "string"},
        "age": {"type": "integer"}}})
}

#[test]
fn path_styles_round_trip() {
    use ParamStyle::*;
    let values = [
        (json!({"type": "integer"}), json!(5)),
        (json!({"type": "string"}), json!("a b/c.d,e")),
        (ints(), json!([3, 4, 5])),
        (person(), json!({"role": "admin", "age": 7})),
    ];
    let expected_text = [
        (Simple, false, "3,4,5"),
        (Label, false, ".3,4,5"),
        (Label, true, ".3.4.5"),
        (Matrix, false, ";id=3,4,5"),
        (Matrix, true, ";id=3;id=4;id=5"),
    ];
    for (style, explode, text) in expected_text {
        assert_eq!(
            serialize::path("id", &json!([3, 4, 5]), style, explode),
            text
        );
    }
    for style in [Simple, Label, Matrix] {
        for explode in [false, true] {
            for (schema, value) in &values {
                if value.is_string() && style != Simple {
                    // Label and matrix lists split on '.' and ',' after decoding.
                    continue;
                }
                let written = serialize::path("id", value, style, explode);
                let decoded = percent_encoding::percent_decode_str(&written)
                    .decode_utf8()
                    .unwrap();
                let shape = shape(schema);
                let raw = style::parse_path(&decoded, "id", style, explode, shape.container(false))
                    .unwrap();
                assert_eq!(
                    coerce(raw, &shape, false),
                    *value,
                    "{style:?} explode={explode} {written}"
                );
            }
        }
    }
}

#[test]
fn path_values_escape_literal_suffixes() {
    assert_eq!(
        serialize::path("sid", &json!("a.json"), ParamStyle::Simple, false),
        "a%2Ejson"
    );
    assert_eq!(
        fill_template("/x/{sid}.json/{other}", &[("sid", "a%2Ejson".into())]),
        "/x/a%2Ejson.json/sample"
    );
}

fn query_round_trip(
    name: &str,
    schema: &Value,
    value: &Value,
    style: ParamStyle,
    explode: bool,
) -> (String, Option<Value>) {
    let pairs = serialize::pairs(name, value, style, explode);
    let query = serialize::encode_query(&pairs);
    let (decoded, errors) = crate::validate::percent::parse_pairs(&query);
    assert!(errors.is_empty(), "{query}");
    let shape = shape(schema);
    let fields = decoded.into_iter().map(|p| Field {
        key: p.key,
        value: Raw::Text(p.value),
    });
    let mut fields = Fields::new(fields.collect());
    let container = shape.container(false);
    let raw = if style == ParamStyle::Form
        && explode
        && container == crate::validate::shape::Container::Object
    {
        fields.exploded_object(&shape, &|_| false).unwrap()
    } else {
        fields.gather(name, style, explode, container).unwrap()
    };
    let read = raw.map(|raw| coerce(raw, &shape, false));
    (query.clone(), read)
}

#[test]
fn query_styles_round_trip() {
    use ParamStyle::*;
    let nested = json!({"type": "object", "properties": {
        "created": {"type": "object", "properties": {"gt": {"type": "integer"},
            "lt": {"type": "integer"}}},
        "items": {"type": "array", "items": {"type": "object",
            "properties": {"price": {"type": "string"}}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "none": {"type": "array", "items": {"type": "string"}},
        "meta": {"type": "object"}
    }});
    let nested_value = json!({
        "created": {"gt": 1, "lt": 9},
        "items": [{"price": "p 1"}, {"price": "p&2"}],
        "tags": ["a", "b=c"],
        "none": [],
        "meta": {}
    });
    let cases = [
        (Form, true, json!({"type": "integer"}), json!(-3), "id=-3"),
        (
            Form,
            true,
            json!({"type": "string"}),
            json!("a b&c=d/é"),
            "id=a%20b%26c%3Dd%2F%C3%A9",
        ),
        (Form, true, ints(), json!([3, 4]), "id=3&id=4"),
        (Form, false, ints(), json!([3, 4]), "id=3,4"),
        (Form, false, ints(), json!([]), "id="),
        (
            Form,
            true,
            person(),
            json!({"role": "admin", "age": 7}),
            "role=admin&age=7",
        ),
        (
            Form,
            false,
            person(),
            json!({"role": "admin", "age": 7}),
            "id=role,admin,age,7",
        ),
        (SpaceDelimited, false, ints(), json!([3, 4]), "id=3%204"),
        (PipeDelimited, false, ints(), json!([3, 4]), "id=3%7C4"),
        (TabDelimited, false, ints(), json!([3, 4]), "id=3%094"),
        (PipeDelimited, true, ints(), json!([3, 4]), "id=3&id=4"),
        (
            DeepObject,
            true,
            person(),
            json!({"role": "admin", "age": 7}),
            "id[role]=admin&id[age]=7",
        ),
        (
            DeepObject,
            true,
            nested,
            nested_value,
            "id[created][gt]=1&id[created][lt]=9&id[items][0][price]=p%201\
                &id[items][1][price]=p%262\
             &id[tags][]=a&id[tags][]=b%3Dc&id[none]=&id[meta]=",
        ),
    ];
    for (style, explode, schema, value, expected) in cases {
        let (query, read) = query_round_trip("id", &schema, &value, style, explode);
        assert_eq!(query, expected, "{style:?} explode={explode}");
        assert_eq!(read, Some(value), "{style:?} explode={explode} {query}");
    }
}

#[test]
fn header_and_cookie_values_round_trip() {
    let cases = [
        (json!({"type": "integer"}), json!(5), false, "5"),
        (ints(), json!([1, 2]), false, "1,2"),
        (
            person(),
            json!({"role": "a", "age": 1}),
            false,
            "role,a,age,1",
        ),
        (
            person(),
            json!({"role": "a", "age": 1}),
            true,
            "role=a,age=1",
        ),
    ];
    for (schema, value, explode, expected) in cases {
        let written = serialize::header(&value, explode);
        assert_eq!(written, expected);
        let shape = shape(&schema);
        let raw = style::parse_header(Cow::Borrowed(&written), explode, shape.container(false));
        assert_eq!(coerce(raw, &shape, false), value);
    }
    let cookie =
        serialize::encode_cookies(&[("a".into(), "x; y=1%".into()), ("b".into(), "2".into())]);
    assert_eq!(cookie, "a=x%3B%20y%3D1%25; b=2");
}

fn api(operations: Vec<Operation>, base: &str) -> Api {
    Api {
        source: "test".into(),
        version: SpecVersion::OpenApi30,
        title: "t".into(),
        api_version: "1".into(),
        base_paths: if base.is_empty() {
            Vec::new()
        } else {
            vec![base.to_owned()]
        },
        operations,
        security_schemes: Vec::new(),
        security: Vec::new(),
        root: Arc::new(json!({})),
        warnings: Vec::new(),
    }
}

fn param(
    name: &str,
    location: ParamLocation,
    style: ParamStyle,
    explode: bool,
    required: bool,
    schema: Value,
) -> Parameter {
    Parameter {
        name: name.into(),
        location,
        required,
        style,
        explode,
        allow_empty_value: false,
        allow_reserved: false,
        schema: Some(schema),
        content_type: None,
        example: None,
        deprecated: false,
    }
}

fn operation(path: &str, parameters: Vec<Parameter>, body: Option<RequestBody>) -> Operation {
    Operation {
        method: Method::Post,
        path: path.into(),
        operation_id: None,
        summary: None,
        pointer: String::new(),
        parameters,
        request_body: body,
        responses: Vec::new(),
        security: Vec::new(),
        callbacks: Vec::new(),
        deprecated: false,
        tags: Vec::new(),
    }
}

/// Sends a sampled request through the validator as the server would.
fn validate_sample(api: &Api, op: &Operation, sample: &SampleRequest) -> Verdict {
    let ctx = SchemaContext {
        root: &api.root,
        legacy: api.version.is_legacy_schema_dialect(),
        direction: Direction::Request,
    };
    let validator = OperationValidator::new(op, ctx);
    let (path, query) = match sample.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (sample.path_and_query.as_str(), None),
    };
    let routes = api
        .operations
        .iter()
        .enumerate()
        .map(|(i, op)| (i, op.method, op.path.as_str()));
    let router = Router::new(routes, &api.base_paths);
    let RouteMatch::Found { params, .. } = router.lookup(op.method, path) else {
        panic!("{path} does not route");
    };
    let named: Vec<(&str, String)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    let mut headers = HeaderMap::new();
    for (name, value) in &sample.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let body: &[u8] = match &sample.body {
        Some((ct, bytes)) => {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_str(ct).unwrap(),
            );
            bytes
        }
        None => &[],
    };
    validator.validate(RequestParts {
        path_params: &named,
        query,
        headers: &headers,
        body,
    })
}

#[test]
fn samples_are_deterministic_and_valid() {
    use ParamLocation::*;
    use ParamStyle::*;
    let form_schema = json!({"type": "object", "required": ["amount", "meta"], "properties": {
        "amount": {"type": "integer", "minimum": 1},
        "meta": {"type": "object", "required": ["k"], "properties": {"k": {"type": "string",
            "enum": ["v"]}}},
        "lines": {"type": "array", "items": {"type": "object", "required": ["q"],
            "properties": {"q": {"type": "integer"}}}}
    }});
    let mut form = MediaType {
        media_type: "application/x-www-form-urlencoded".into(),
        schema: Some(form_schema),
        example: None,
        examples: Vec::new(),
        encoding: Vec::new(),
    };
    form.encoding.push((
        "meta".into(),
        Encoding {
            content_type: None,
            style: Some(DeepObject),
            explode: Some(true),
        },
    ));
    let ops = vec![
        operation(
            "/items/{id}/{tags}/{coords}",
            vec![
                param(
                    "id",
                    Path,
                    Simple,
                    false,
                    true,
                    json!({"type": "integer", "minimum": 1}),
                ),
                param(
                    "tags",
                    Path,
                    Label,
                    true,
                    true,
                    json!({"type": "array", "minItems": 1, "items": {"type": "string",
                        "enum": ["a", "b"]}}),
                ),
                param(
                    "coords",
                    Path,
                    Matrix,
                    false,
                    true,
                    json!({"type": "object", "required": ["x"],
                        "properties": {"x": {"type": "integer"}}}),
                ),
                param(
                    "limit",
                    Query,
                    Form,
                    true,
                    true,
                    json!({"type": "integer", "maximum": 50}),
                ),
                param(
                    "ids",
                    Query,
                    PipeDelimited,
                    false,
                    true,
                    json!({"type": "array", "minItems": 1, "items": {"type": "integer"}}),
                ),
                param(
                    "filter",
                    Query,
                    DeepObject,
                    true,
                    false,
                    json!({"type": "object", "properties": {"gt": {"type": "integer"}}}),
                ),
                param(
                    "X-Request-Id",
                    Header,
                    Simple,
                    false,
                    true,
                    json!({"type": "string", "format": "uuid"}),
                ),
                param(
                    "session",
                    Cookie,
                    Form,
                    true,
                    true,
                    json!({"type": "string", "minLength": 3}),
                ),
            ],
            None,
        ),
        operation(
            "/forms",
            Vec::new(),
            Some(RequestBody {
                required: true,
                content: vec![form],
            }),
        ),
        operation(
            "/json",
            Vec::new(),
            Some(RequestBody {
                required: true,
                content: vec![
                    MediaType {
                        media_type: "application/xml".into(),
                        schema: None,
                        example: None,
                        examples: Vec::new(),
                        encoding: Vec::new(),
                    },
                    MediaType {
                        media_type: "application/json".into(),
                        schema: Some(json!({"type": "object", "required": ["n"],
                                "properties": {"n": {"type": "number"}}})),
                        example: None,
                        examples: Vec::new(),
                        encoding: Vec::new(),
                    },
                ],
            }),
        ),
    ];
    let api = api(ops, "/v1");
    for op in &api.operations {
        for seed in 0..6 {
            let sample = sample_request(&api, op, seed);
            assert_eq!(sample, sample_request(&api, op, seed), "not deterministic");
            assert!(sample.path_and_query.starts_with("/v1/"));
            assert!(
                sample
                    .path_and_query
                    .parse::<http::uri::PathAndQuery>()
                    .is_ok(),
                "{}",
                sample.path_and_query
            );
            let verdict = validate_sample(&api, op, &sample);
            assert_eq!(
                verdict,
                Verdict::Valid,
                "{} seed {seed}: {sample:?}",
                op.path
            );
        }
    }
    let json_sample = sample_request(&api, &api.operations[2], 1);
    assert_eq!(
        json_sample.body.as_ref().map(|(ct, _)| ct.as_str()),
        Some("application/json")
    );
}

#[test]
fn makes_wildcard_media_types_concrete() {
    assert_eq!(concrete_type("*/*", true), "application/json");
    assert_eq!(concrete_type("*/*", false), "application/octet-stream");
    assert_eq!(concrete_type("image/*", false), "image/png");
    assert_eq!(
        concrete_type("application/*", false),
        "application/octet-stream"
    );
    assert_eq!(
        concrete_type("text/plain; charset=utf-8", false),
        "text/plain; charset=utf-8"
    );
}
