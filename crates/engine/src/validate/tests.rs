//! Tests of whole-request validation on operations built by hand.

use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use spec::{
    Encoding, MediaType, Method, Operation, ParamLocation, ParamStyle, Parameter, RequestBody,
};

use super::*;

fn param(name: &str, location: ParamLocation, schema: Value) -> Parameter {
    let style = match location {
        ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
        ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
    };
    Parameter {
        name: name.to_owned(),
        location,
        required: location == ParamLocation::Path,
        style,
        explode: style == ParamStyle::Form,
        allow_empty_value: false,
        allow_reserved: false,
        schema: Some(schema),
        content_type: None,
        example: None,
        deprecated: false,
    }
}

fn required(mut p: Parameter) -> Parameter {
    p.required = true;
    p
}

fn styled(mut p: Parameter, style: ParamStyle, explode: bool) -> Parameter {
    p.style = style;
    p.explode = explode;
    p
}

fn media(media_type: &str, schema: Value) -> MediaType {
    MediaType {
        media_type: media_type.to_owned(),
        schema: Some(schema),
        example: None,
        examples: Vec::new(),
        encoding: Vec::new(),
    }
}

fn op(parameters: Vec<Parameter>, body: Option<RequestBody>) -> Operation {
    Operation {
        method: Method::Post,
        path: "/things/{id}".to_owned(),
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

fn root() -> Value {
    json!({"components": {"schemas": {
        "Pet": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "id": {"type": "integer", "readOnly": true}
        }}
    }}})
}

/// A request to validate; fields default to an empty request.
#[derive(Default)]
struct Req<'a> {
    path: Vec<(&'a str, String)>,
    query: Option<&'a str>,
    headers: Vec<(&'a str, &'a [u8])>,
    body: &'a [u8],
}

fn check(op: &Operation, req: Req<'_>) -> Verdict {
    let root = root();
    let ctx = SchemaContext {
        root: &root,
        legacy: true,
        direction: Direction::Request,
    };
    let validator = OperationValidator::new(op, ctx);
    assert!(
        validator.problems().is_empty(),
        "{:?}",
        validator.problems()
    );
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.append(name, HeaderValue::from_bytes(value).unwrap());
    }
    validator.validate(RequestParts {
        path_params: &req.path,
        query: req.query,
        headers: &headers,
        body: req.body,
    })
}

fn names(verdict: &Verdict) -> Vec<(&'static str, &str)> {
    verdict
        .violations()
        .iter()
        .map(|v| (v.location, v.name.as_str()))
        .collect()
}

fn id_op() -> Operation {
    op(
        vec![param("id", ParamLocation::Path, json!({"type": "integer"}))],
        None,
    )
}

#[test]
fn accepts_a_valid_path_parameter() {
    let verdict = check(
        &id_op(),
        Req {
            path: vec![("id", "42".into())],
            ..Req::default()
        },
    );
    assert_eq!(verdict, Verdict::Valid);
}

#[test]
fn rejects_a_path_parameter_of_the_wrong_type() {
    let verdict = check(
        &id_op(),
        Req {
            path: vec![("id", "abc".into())],
            ..Req::default()
        },
    );
    assert!(matches!(verdict, Verdict::Invalid(_)), "{verdict:?}");
    assert_eq!(names(&verdict), [("path", "id")]);
}

#[test]
fn reports_a_missing_required_parameter_and_allows_unknown_ones() {
    let op = op(
        vec![required(param(
            "limit",
            ParamLocation::Query,
            json!({"type": "integer"}),
        ))],
        None,
    );
    let verdict = check(
        &op,
        Req {
            query: Some("other=1"),
            ..Req::default()
        },
    );
    assert_eq!(names(&verdict), [("query", "limit")]);
    assert!(verdict.violations()[0].message.contains("missing"));
    let verdict = check(
        &op,
        Req {
            query: Some("limit=3&other=1"),
            ..Req::default()
        },
    );
    assert_eq!(verdict, Verdict::Valid);
}

#[test]
fn collects_every_violation() {
    let op = op(
        vec![
            param("id", ParamLocation::Path, json!({"type": "integer"})),
            required(param(
                "limit",
                ParamLocation::Query,
                json!({"type": "integer", "maximum": 10}),
            )),
            required(param(
                "X-Trace",
                ParamLocation::Header,
                json!({"type": "string"}),
            )),
            required(param(
                "session",
                ParamLocation::Cookie,
                json!({"type": "string"}),
            )),
        ],
        Some(RequestBody {
            required: true,
            content: vec![media(
                "application/json",
                json!({"$ref": "#/components/schemas/Pet"}),
            )],
        }),
    );
    let verdict = check(
        &op,
        Req {
            path: vec![("id", "x".into())],
            query: Some("limit=99"),
            ..Req::default()
        },
    );
    assert!(matches!(verdict, Verdict::Invalid(_)));
    assert_eq!(
        names(&verdict),
        [
            ("path", "id"),
            ("query", "limit"),
            ("header", "X-Trace"),
            ("cookie", "session"),
            ("body", "")
        ]
    );
}

#[test]
fn reads_headers_case_insensitively_and_ignores_reserved_ones() {
    let op = op(
        vec![
            required(param(
                "X-Rate",
                ParamLocation::Header,
                json!({"type": "array", "items": {"type": "integer"}}),
            )),
            required(param(
                "Authorization",
                ParamLocation::Header,
                json!({"type": "integer"}),
            )),
        ],
        None,
    );
    let ok = check(
        &op,
        Req {
            headers: vec![("x-rate", b"1, 2"), ("X-RATE", b"3")],
            ..Req::default()
        },
    );
    assert_eq!(ok, Verdict::Valid);
    let bad = check(
        &op,
        Req {
            headers: vec![("x-rate", b"1,b")],
            ..Req::default()
        },
    );
    assert_eq!(names(&bad), [("header", "X-Rate")]);
}

#[test]
fn reads_cookie_parameters() {
    let op = op(
        vec![
            required(param(
                "count",
                ParamLocation::Cookie,
                json!({"type": "integer"}),
            )),
            styled(
                param(
                    "ids",
                    ParamLocation::Cookie,
                    json!({"type": "array", "items": {"type": "integer"}}),
                ),
                ParamStyle::Form,
                false,
            ),
        ],
        None,
    );
    let ok = check(
        &op,
        Req {
            headers: vec![("cookie", b"count=3; ids=1,2; other=x")],
            ..Req::default()
        },
    );
    assert_eq!(ok, Verdict::Valid);
    let bad = check(
        &op,
        Req {
            headers: vec![("cookie", b"count=three")],
            ..Req::default()
        },
    );
    assert_eq!(names(&bad), [("cookie", "count")]);
}

#[test]
fn validates_every_query_style() {
    let ints = json!({"type": "array", "items": {"type": "integer"}});
    let filter = json!({"type": "object", "properties": {"created": {"type": "object",
        "properties": {"gt": {"type": "integer"}}}}});
    let cases = [
        (
            styled(
                param("ids", ParamLocation::Query, ints.clone()),
                ParamStyle::Form,
                true,
            ),
            "ids=1&ids=2",
            "ids=1&ids=x",
        ),
        (
            styled(
                param("ids", ParamLocation::Query, ints.clone()),
                ParamStyle::Form,
                false,
            ),
            "ids=1,2",
            "ids=1,x",
        ),
        (
            styled(
                param("ids", ParamLocation::Query, ints.clone()),
                ParamStyle::SpaceDelimited,
                false,
            ),
            "ids=1%202",
            "ids=1%20x",
        ),
        (
            styled(
                param("ids", ParamLocation::Query, ints.clone()),
                ParamStyle::PipeDelimited,
                false,
            ),
            "ids=1|2",
            "ids=1|x",
        ),
        (
            styled(
                param("ids", ParamLocation::Query, ints.clone()),
                ParamStyle::TabDelimited,
                false,
            ),
            "ids=1%092",
            "ids=1%09x",
        ),
        (
            styled(
                param("ids[]", ParamLocation::Query, ints.clone()),
                ParamStyle::Form,
                true,
            ),
            "ids[]=1&ids[]=2",
            "ids[]=x",
        ),
        (
            styled(
                param("f", ParamLocation::Query, filter.clone()),
                ParamStyle::DeepObject,
                true,
            ),
            "f[created][gt]=5",
            "f[created][gt]=soon",
        ),
    ];
    for (p, good, bad) in cases {
        let op = op(vec![required(p)], None);
        assert_eq!(
            check(
                &op,
                Req {
                    query: Some(good),
                    ..Req::default()
                }
            ),
            Verdict::Valid,
            "{good}"
        );
        let verdict = check(
            &op,
            Req {
                query: Some(bad),
                ..Req::default()
            },
        );
        assert!(matches!(verdict, Verdict::Invalid(_)), "{bad}: {verdict:?}");
    }
}

#[test]
fn validators_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<OperationValidator>();
}

#[test]
fn accepts_empty_values_where_allowed() {
    let mut flag = param("flag", ParamLocation::Query, json!({"type": "boolean"}));
    let op1 = op(vec![flag.clone()], None);
    let verdict = check(
        &op1,
        Req {
            query: Some("flag="),
            ..Req::default()
        },
    );
    assert!(matches!(verdict, Verdict::Invalid(_)));
    flag.allow_empty_value = true;
    let op2 = op(vec![flag], None);
    assert_eq!(
        check(
            &op2,
            Req {
                query: Some("flag"),
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
    assert_eq!(
        check(
            &op2,
            Req {
                query: Some("flag=true"),
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
}

#[test]
fn flags_a_scalar_given_twice() {
    let op = op(
        vec![param(
            "limit",
            ParamLocation::Query,
            json!({"type": "integer"}),
        )],
        None,
    );
    let verdict = check(
        &op,
        Req {
            query: Some("limit=1&limit=2"),
            ..Req::default()
        },
    );
    assert_eq!(verdict.violations()[0].message, "expected one value, got 2");
}

#[test]
fn reads_unions_both_ways() {
    let schema = json!({"oneOf": [{"type": "string", "pattern": "^[a-z]+,[a-z]+$"},
        {"type": "array", "items": {"type": "integer"}}]});
    let op = op(
        vec![styled(
            param("v", ParamLocation::Query, schema),
            ParamStyle::Form,
            false,
        )],
        None,
    );
    assert_eq!(
        check(
            &op,
            Req {
                query: Some("v=1,2"),
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
    assert_eq!(
        check(
            &op,
            Req {
                query: Some("v=ab,cd"),
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
}

#[test]
fn reads_content_parameters_as_json() {
    let mut p = required(param(
        "filter",
        ParamLocation::Query,
        json!({"type": "object", "required": ["a"]}),
    ));
    p.content_type = Some("application/json".to_owned());
    let op = op(vec![p], None);
    assert_eq!(
        check(
            &op,
            Req {
                query: Some("filter=%7B%22a%22%3A1%7D"),
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
    assert!(matches!(
        check(
            &op,
            Req {
                query: Some("filter=%7B%7D"),
                ..Req::default()
            }
        ),
        Verdict::Invalid(_)
    ));
    assert!(matches!(
        check(
            &op,
            Req {
                query: Some("filter=%7B"),
                ..Req::default()
            }
        ),
        Verdict::Malformed(_)
    ));
}

fn body_op(required: bool, content: Vec<MediaType>) -> Operation {
    op(Vec::new(), Some(RequestBody { required, content }))
}

#[test]
fn validates_json_bodies() {
    let op = body_op(
        true,
        vec![media(
            "application/json",
            json!({"$ref": "#/components/schemas/Pet"}),
        )],
    );
    let json_ct: (&str, &[u8]) = ("content-type", b"application/json; charset=utf-8");
    let ok = check(
        &op,
        Req {
            headers: vec![json_ct],
            body: br#"{"name":"rex","age":3}"#,
            ..Req::default()
        },
    );
    assert_eq!(ok, Verdict::Valid);
    let bad = check(
        &op,
        Req {
            headers: vec![json_ct],
            body: br#"{"age":-1}"#,
            ..Req::default()
        },
    );
    assert!(matches!(bad, Verdict::Invalid(_)), "{bad:?}");
    assert!(bad.violations().iter().all(|v| v.location == "body"));
    assert!(bad.violations().len() >= 2, "{bad:?}");
    let missing = check(
        &op,
        Req {
            headers: vec![json_ct],
            ..Req::default()
        },
    );
    assert_eq!(names(&missing), [("body", "")]);
    assert!(matches!(missing, Verdict::Invalid(_)));
}

#[test]
fn matches_declared_media_types() {
    let op = body_op(
        true,
        vec![
            media("application/json", json!({"type": "object"})),
            media("image/*", json!({"type": "string", "format": "binary"})),
        ],
    );
    let verdict = |ct: &'static [u8], body: &'static [u8]| {
        check(
            &op,
            Req {
                headers: vec![("content-type", ct)],
                body,
                ..Req::default()
            },
        )
    };
    assert_eq!(verdict(b"application/vnd.api+json", b"{}"), Verdict::Valid);
    assert_eq!(verdict(b"image/png", &[0x89, 0x50, 0xff]), Verdict::Valid);
    let unsupported = verdict(b"text/xml", b"<a/>");
    assert!(
        matches!(unsupported, Verdict::UnsupportedMediaType(_)),
        "{unsupported:?}"
    );
    assert_eq!(names(&unsupported), [("header", "content-type")]);
    assert_eq!(unsupported.status(), Some(415));
    let no_type = check(
        &op,
        Req {
            body: b"{}",
            ..Req::default()
        },
    );
    assert!(matches!(no_type, Verdict::UnsupportedMediaType(_)));

    let anything = body_op(false, vec![media("*/*", json!({"type": "object"}))]);
    let json = check(
        &anything,
        Req {
            headers: vec![("content-type", b"application/json")],
            body: b"[]",
            ..Req::default()
        },
    );
    assert!(matches!(json, Verdict::Invalid(_)), "{json:?}");
    let bytes = check(
        &anything,
        Req {
            headers: vec![("content-type", b"application/zip")],
            body: b"PK",
            ..Req::default()
        },
    );
    assert_eq!(bytes, Verdict::Valid);
}

#[test]
fn validates_form_bodies_with_deep_objects() {
    let schema = json!({"type": "object", "required": ["amount"], "properties": {
        "amount": {"type": "integer"},
        "metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}},
            {"type": "string", "enum": [""]}]},
        "items": {"type": "array", "items": {"type": "object",
            "properties": {"price": {"type": "string"}, "quantity": {"type": "integer"}}}},
        "expand": {"type": "array", "items": {"type": "string"}}
    }});
    let mut form = media("application/x-www-form-urlencoded", schema);
    form.encoding = vec![(
        "metadata".into(),
        Encoding {
            content_type: None,
            style: Some(ParamStyle::DeepObject),
            explode: Some(true),
        },
    )];
    let op = body_op(true, vec![form]);
    let ct: (&str, &[u8]) = ("content-type", b"application/x-www-form-urlencoded");
    let ok = check(
        &op,
        Req {
            headers: vec![ct],
            body: b"amount=5&metadata[order]=7&items[0][price]=p&items[0][quantity]=2&expand[]=a\
            &expand[]=b",
            ..Req::default()
        },
    );
    assert_eq!(ok, Verdict::Valid);
    let cleared = check(
        &op,
        Req {
            headers: vec![ct],
            body: b"amount=5&metadata=",
            ..Req::default()
        },
    );
    assert_eq!(cleared, Verdict::Valid);
    let bad = check(
        &op,
        Req {
            headers: vec![ct],
            body: b"amount=five&items[0][quantity]=x",
            ..Req::default()
        },
    );
    assert_eq!(
        names(&bad),
        [("body", "/amount"), ("body", "/items/0/quantity")]
    );
}

#[test]
fn validates_multipart_bodies() {
    let schema = json!({"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "purpose": {"type": "string", "enum": ["upload"]}
    }});
    let op = body_op(true, vec![media("multipart/form-data", schema)]);
    let ct: (&str, &[u8]) = ("content-type", b"multipart/form-data; boundary=b0");
    let body = b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\
        \nContent-Type: image/png\r\n\r\n\x89PNG\xff\
        \r\n--b0\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nupload\r\n--b0--\r\n";
    assert_eq!(
        check(
            &op,
            Req {
                headers: vec![ct],
                body,
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
    let wrong =
        b"--b0\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nother\r\n--b0--\r\n";
    let verdict = check(
        &op,
        Req {
            headers: vec![ct],
            body: wrong,
            ..Req::default()
        },
    );
    assert!(matches!(verdict, Verdict::Invalid(_)), "{verdict:?}");
    assert_eq!(verdict.violations().len(), 2, "{verdict:?}");
}

#[test]
fn malformed_input_is_malformed_and_never_panics() {
    let everything = op(
        vec![
            param("id", ParamLocation::Path, json!({"type": "integer"})),
            param("q", ParamLocation::Query, json!({"type": "string"})),
            styled(
                param("f", ParamLocation::Query, json!({"type": "object"})),
                ParamStyle::DeepObject,
                true,
            ),
            param("X-N", ParamLocation::Header, json!({"type": "integer"})),
            param("c", ParamLocation::Cookie, json!({"type": "string"})),
        ],
        Some(RequestBody {
            required: false,
            content: vec![
                media("application/json", json!({"type": "object"})),
                media(
                    "application/x-www-form-urlencoded",
                    json!({"type": "object"}),
                ),
                media("multipart/form-data", json!({"type": "object"})),
                media("text/plain", json!({"type": "string"})),
            ],
        }),
    );
    let deep_query = format!("f{}=1", "[a]".repeat(40));
    let cases: Vec<BrokenCase<'_>> = vec![
        (Some("q=%"), vec![], b""),
        (Some("q=%zz"), vec![], b""),
        (Some("q=%e9"), vec![], b""),
        (Some("other=%C3"), vec![], b""),
        (Some("%41%=1"), vec![], b""),
        (Some(&deep_query), vec![], b""),
        (None, vec![("x-n", b"\xff\xfe")], b""),
        (None, vec![("cookie", b"c=\xff")], b""),
        (None, vec![("content-type", b"application/json")], b"{"),
        (
            None,
            vec![("content-type", b"application/json")],
            b"{\"a\": tru}",
        ),
        (None, vec![("content-type", b"application/json")], b"\xff"),
        (
            None,
            vec![("content-type", b"application/x-www-form-urlencoded")],
            b"a=%zz",
        ),
        (
            None,
            vec![("content-type", b"application/x-www-form-urlencoded")],
            b"a=\xff",
        ),
        (
            None,
            vec![("content-type", b"multipart/form-data; boundary=x")],
            b"--x\r\nbroken",
        ),
        (
            None,
            vec![("content-type", b"multipart/form-data")],
            b"--x\r\n\r\n--x--",
        ),
        (None, vec![("content-type", b"text/plain")], b"\xc3\x28"),
        (None, vec![("content-type", b"not a media type")], b"x"),
        (None, vec![("content-type", b"\xff/\xfe")], b"x"),
    ];
    for (query, headers, body) in cases {
        let described = format!("{query:?} {headers:?} {:?}", String::from_utf8_lossy(body));
        let verdict = check(
            &everything,
            Req {
                path: vec![("id", "1".into())],
                query,
                headers,
                body,
            },
        );
        assert!(
            matches!(verdict, Verdict::Malformed(_)),
            "{described}: {verdict:?}"
        );
        assert!(verdict.violations().iter().all(|v| !v.message.is_empty()));
    }
}

/// A request in the malformed table: query, headers, body.
type BrokenCase<'a> = (Option<&'a str>, Vec<(&'a str, &'a [u8])>, &'a [u8]);

/// A small deterministic byte generator for the fuzz-ish test.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn fill(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.next() as usize % alphabet.len()])
            .collect()
    }
}

#[test]
fn random_requests_never_panic() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "array", "items": {"type": "object",
            "properties": {"b": {"type": "integer"}}}},
        "m": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    let target = op(
        vec![
            styled(
                param(
                    "id",
                    ParamLocation::Path,
                    json!({"type": "array", "items": {"type": "integer"}}),
                ),
                ParamStyle::Matrix,
                true,
            ),
            styled(
                param("d", ParamLocation::Query, schema.clone()),
                ParamStyle::DeepObject,
                true,
            ),
            styled(
                param("p", ParamLocation::Query, json!({"type": "array"})),
                ParamStyle::PipeDelimited,
                false,
            ),
            param(
                "o",
                ParamLocation::Query,
                json!({"type": "object", "additionalProperties": {"type": "integer"}}),
            ),
        ],
        Some(RequestBody {
            required: true,
            content: vec![
                media("application/x-www-form-urlencoded", schema.clone()),
                media("multipart/form-data", schema.clone()),
                media("application/json", schema),
            ],
        }),
    );
    let alphabet = b"ab01=&[]%;.,|+ \xff\xc3\r\n-\"{}:";
    let types: [&[u8]; 3] = [
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=ab",
        b"application/json",
    ];
    let mut rng = Bytes(7);
    for round in 0..3000 {
        let query =
            String::from_utf8_lossy(&rng.fill(alphabet, (round % 40) as usize)).into_owned();
        let path = String::from_utf8_lossy(&rng.fill(alphabet, (round % 12) as usize)).into_owned();
        let mut body = if round % 5 == 0 {
            b"--ab\r\nContent-Disposition: form-data; name=\"a[0][b]\"\r\n\r\n".to_vec()
        } else {
            Vec::new()
        };
        body.extend(rng.fill(alphabet, (round % 64) as usize));
        let ct = types[round as usize % types.len()];
        // Only the absence of a panic matters here.
        let _ = check(
            &target,
            Req {
                path: vec![("id", path)],
                query: Some(&query),
                headers: vec![("content-type", ct)],
                body: &body,
            },
        );
    }
}

/// Stripe's `custom_fields`: a list of objects or `""`, sent with deepObject encoding.
#[test]
fn form_lists_of_objects_inside_any_of_read_back() {
    let schema = json!({"type": "object", "properties": {
        "custom_fields": {"anyOf": [
            {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
            {"type": "string", "enum": [""]}
        ]}
    }});
    let mut form = media("application/x-www-form-urlencoded", schema);
    form.encoding = vec![(
        "custom_fields".into(),
        Encoding {
            content_type: None,
            style: Some(ParamStyle::DeepObject),
            explode: Some(true),
        },
    )];
    let op = body_op(true, vec![form]);
    let ct: (&str, &[u8]) = ("content-type", b"application/x-www-form-urlencoded");
    for body in [
        &b"custom_fields[0][name]=a&custom_fields[0][value]=b"[..],
        b"custom_fields=",
    ] {
        let verdict = check(
            &op,
            Req {
                headers: vec![ct],
                body,
                ..Req::default()
            },
        );
        assert_eq!(verdict, Verdict::Valid, "{}", String::from_utf8_lossy(body));
    }
}

/// Jira's attachment upload: a multipart body whose schema is `type: string, format: binary`.
#[test]
fn multipart_bodies_with_a_non_object_schema_are_only_checked_for_form() {
    let schema = json!({"type": "string", "format": "binary"});
    let op = body_op(true, vec![media("multipart/form-data", schema)]);
    let ct: (&str, &[u8]) = ("content-type", b"multipart/form-data; boundary=b0");
    let body = b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\
        \nhello\r\n--b0--\r\n";
    assert_eq!(
        check(
            &op,
            Req {
                headers: vec![ct],
                body,
                ..Req::default()
            }
        ),
        Verdict::Valid
    );
    let broken = check(
        &op,
        Req {
            headers: vec![ct],
            body: b"--b0\r\nnot a part",
            ..Req::default()
        },
    );
    assert!(matches!(broken, Verdict::Malformed(_)), "{broken:?}");
}
