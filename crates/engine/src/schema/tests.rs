//! Tests of the dialect translation and of validation.

use serde_json::{Value, json};

use super::*;

fn ctx(root: &Value, legacy: bool, direction: Direction) -> SchemaContext<'_> {
    SchemaContext {
        root,
        legacy,
        direction,
    }
}

fn validator(root: &Value, schema: Value, direction: Direction) -> SchemaValidator {
    SchemaValidator::compile(&schema, ctx(root, true, direction)).expect("schema compiles")
}

fn paths(violations: &[SchemaViolation]) -> Vec<&str> {
    violations
        .iter()
        .map(|v| v.instance_path.as_str())
        .collect()
}

#[test]
fn nullable_adds_null_to_type_and_enum() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "string", "nullable": true, "enum": ["a", "b"]}),
        Direction::Response,
    );
    assert!(v.is_valid(&json!(null)));
    assert!(v.is_valid(&json!("a")));
    assert!(!v.is_valid(&json!("c")));
    let not_nullable = validator(&root, json!({"type": "string"}), Direction::Response);
    assert!(!not_nullable.is_valid(&json!(null)));
}

#[test]
fn nullable_beside_ref_and_composition_wraps_in_any_of() {
    let root = json!({"components": {"schemas": {
        "Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    }}});
    for schema in [
        json!({"$ref": "#/components/schemas/Pet", "nullable": true}),
        json!({"allOf": [{"$ref": "#/components/schemas/Pet"}], "nullable": true}),
        json!({"x-nullable": true, "allOf": [{"$ref": "#/components/schemas/Pet"}]}),
    ] {
        let v = validator(&root, schema, Direction::Response);
        assert!(v.is_valid(&json!(null)));
        assert!(v.is_valid(&json!({"name": "rex"})));
        assert!(!v.is_valid(&json!({})));
    }
}

#[test]
fn boolean_exclusive_bounds_become_numeric() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true,
               "maximum": 5, "exclusiveMaximum": false}),
        Direction::Request,
    );
    assert!(!v.is_valid(&json!(1)));
    assert!(v.is_valid(&json!(2)));
    assert!(v.is_valid(&json!(5)));
    assert!(!v.is_valid(&json!(6)));
}

#[test]
fn swagger_file_type_accepts_anything() {
    let root = json!({});
    let v = validator(&root, json!({"type": "file"}), Direction::Request);
    assert!(v.is_valid(&json!("bytes")));
    assert!(v.is_valid(&json!(3)));
}

#[test]
fn circular_references_compile_and_validate() {
    let root = json!({"definitions": {
        "Node": {"type": "object", "required": ["value"], "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
            "parent": {"$ref": "#/definitions/Node"}
        }},
        "A": {"oneOf": [{"$ref": "#/definitions/B"}, {"type": "string"}]},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}
    }});
    let v = validator(
        &root,
        json!({"$ref": "#/definitions/Node"}),
        Direction::Response,
    );
    assert!(v.is_valid(&json!({"value": 1, "children": [{"value": 2, "children": []}]})));
    let bad = v.validate(&json!({"value": 1, "children": [{"value": "x"}]}));
    assert_eq!(paths(&bad), ["/children/0/value"]);
    let v = validator(
        &root,
        json!({"$ref": "#/definitions/A"}),
        Direction::Response,
    );
    assert!(v.is_valid(&json!({"a": {"a": "leaf"}})));
    assert!(!v.is_valid(&json!({"a": {"a": 3}})));
}

#[test]
fn read_only_is_not_required_in_requests_and_write_only_not_in_responses() {
    let root = json!({"components": {"schemas": {
        "Id": {"type": "integer", "readOnly": true},
        "Base": {"type": "object", "required": ["id"],
            "properties": {"id": {"$ref": "#/components/schemas/Id"}}},
        "User": {"allOf": [{"$ref": "#/components/schemas/Base"}, {
            "required": ["password", "name"],
            "properties": {"password": {"type": "string", "writeOnly": true},
                           "name": {"type": "string"}}
        }]}
    }}});
    let user = json!({"$ref": "#/components/schemas/User"});
    let request = validator(&root, user.clone(), Direction::Request);
    assert!(request.is_valid(&json!({"password": "pw", "name": "n"})));
    assert_eq!(paths(&request.validate(&json!({"name": "n"}))), [""]);
    let response = validator(&root, user, Direction::Response);
    assert!(response.is_valid(&json!({"id": 1, "name": "n"})));
    assert!(!response.is_valid(&json!({"name": "n"})));
}

#[test]
fn common_formats_are_checked_and_unknown_ones_ignored() {
    let root = json!({});
    let cases = [
        ("date-time", "2024-02-29T10:00:00Z", "2024-02-30T10:00:00Z"),
        ("date", "2024-01-31", "31/01/2024"),
        ("time", "10:00:00Z", "25:00:00Z"),
        ("email", "a@example.com", "not an email"),
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123"),
        ("uri", "https://example.com/a", "no scheme"),
        ("hostname", "api.example.com", "bad_host!"),
        ("ipv4", "10.0.0.1", "300.0.0.1"),
        ("ipv6", "2001:db8::1", "2001:::1"),
    ];
    for (format, good, bad) in cases {
        let v = validator(
            &root,
            json!({"type": "string", "format": format}),
            Direction::Request,
        );
        assert!(v.is_valid(&json!(good)), "{format} should accept {good}");
        assert!(!v.is_valid(&json!(bad)), "{format} should reject {bad}");
    }
    let v = validator(
        &root,
        json!({"type": "string", "format": "int64"}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("abc")));
    let v = validator(
        &root,
        json!({"type": "string", "format": "duration"}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("an hour")));
}

#[test]
fn violations_name_the_place_and_the_problem() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "object", "required": ["a"], "properties": {
            "b": {"type": "array", "items": {"type": "integer", "maximum": 3}}
        }}),
        Direction::Request,
    );
    let violations = v.validate(&json!({"b": [1, 9]}));
    assert_eq!(paths(&violations), ["", "/b/1"]);
    assert_eq!(violations[0].message, "missing required property \"a\"");
    assert!(
        violations[1].message.contains('3'),
        "{}",
        violations[1].message
    );
}

#[test]
fn broken_patterns_and_malformed_keywords_are_dropped() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "object", "required": true, "properties": {
            "a": {"type": "string", "pattern": "([a-z]"},
            "b": {"type": "string", "minLength": "3", "pattern": "^[a-z]+$"},
            "c": {"type": "int"}
        }}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!({"a": "anything", "b": "ok", "c": true})));
    assert!(!v.is_valid(&json!({"b": "NOPE"})));
}

#[test]
fn tuple_items_become_prefix_items() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "array", "items": [{"type": "string"}, {"type": "integer"}],
               "additionalItems": false}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!(["a", 1])));
    assert!(!v.is_valid(&json!([1, "a"])));
    assert!(!v.is_valid(&json!(["a", 1, 2])));
}

#[test]
fn type_arrays_work_in_any_version() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": ["string", "null"]}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!(null)));
    assert!(!v.is_valid(&json!(1)));
}

#[test]
fn ecma_patterns_use_ascii_classes() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "string", "pattern": "^\\d{3}$"}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("123")));
    assert!(!v.is_valid(&json!("١٢٣")));
}

#[test]
fn translation_keeps_each_target_once() {
    let root = json!({"definitions": {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B"},
                                               "b2": {"$ref": "#/definitions/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}
    }});
    let doc = to_json_schema(
        &json!({"$ref": "#/definitions/A"}),
        ctx(&root, true, Direction::Response),
    );
    assert_eq!(doc["$defs"].as_object().map(|d| d.len()), Some(2));
}

#[test]
fn a_required_name_the_schema_forbids_is_dropped() {
    let root = json!({"definitions": {
        "Base": {"type": "object", "properties": {"id": {"type": "string"}}}
    }});
    let v = validator(
        &root,
        json!({"type": "object", "required": ["defaultScreen", "edit"],
               "properties": {"edit": {"type": "integer"}}, "additionalProperties": false}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!({"edit": 1})));
    assert!(!v.is_valid(&json!({"edit": 1, "defaultScreen": 2})));
    assert!(!v.is_valid(&json!({})));
    // A name a part declares (the unevaluatedProperties reading) stays required.
    let v = validator(
        &root,
        json!({"allOf": [{"$ref": "#/definitions/Base"}], "required": ["id"],
               "additionalProperties": false}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!({"id": "x"})));
    assert!(!v.is_valid(&json!({})));
}

#[test]
fn one_of_is_exclusive_unless_branches_cannot_be_told_apart() {
    let root = json!({});
    let strict = [
        (
            json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}),
            json!(3),
        ),
        (
            json!({"oneOf": [
                {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
                {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}}
            ]}),
            json!({"a": "x", "b": "y"}),
        ),
        (
            json!({"oneOf": [{"type": "string"}, {"type": "string", "format": "date"}]}),
            json!("2024-01-02"),
        ),
    ];
    for (schema, both) in strict {
        let v = validator(&root, schema, Direction::Response);
        assert!(!v.is_valid(&both), "{both}");
    }
    let lenient = [
        (
            json!({"oneOf": [
                {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string", "example": "a"}}},
                {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string", "example": "b"}}}
            ]}),
            json!({"id": "x"}),
        ),
        (
            json!({"oneOf": [
                {"type": "object", "properties": {"name": {"type": "string"}}},
                {"type": "object", "properties": {"id": {"type": "string"}}}
            ]}),
            json!({"name": "n"}),
        ),
    ];
    for (schema, both) in lenient {
        let v = validator(&root, schema, Direction::Response);
        assert!(v.is_valid(&both), "{both}");
        assert!(!v.is_valid(&json!("not an object")));
    }
}

#[test]
fn violations_inside_references_keep_their_paths() {
    let root = json!({"definitions": {
        "Item": {"type": "object", "required": ["n"], "properties": {
            "n": {"type": "integer"}, "s": {"type": "string"}}},
        "List": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}}}}
    }});
    let v = validator(
        &root,
        json!({"$ref": "#/definitions/List"}),
        Direction::Response,
    );
    let bad = v.validate(&json!({"items": [{"n": 1}, {"n": "x", "s": 2}, {}]}));
    let mut found = paths(&bad);
    found.sort_unstable();
    assert_eq!(found, ["/items/1/n", "/items/1/s", "/items/2"]);
    assert!(bad.iter().all(|b| !b.message.contains('\u{1}')), "{bad:?}");
}

#[test]
fn unevaluated_keywords_see_through_references() {
    let root = json!({"$defs": {
        "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
        "Pair": {"type": "array", "prefixItems": [{"type": "string"}]}
    }});
    let ctx = SchemaContext {
        root: &root,
        legacy: false,
        direction: Direction::Response,
    };
    let v = SchemaValidator::compile(
        &json!({"allOf": [{"$ref": "#/$defs/Base"}], "properties": {"name": {"type": "string"}},
                "unevaluatedProperties": false}),
        ctx,
    )
    .expect("compiles");
    assert!(v.is_valid(&json!({"id": "a", "name": "b"})));
    let bad = v.validate(&json!({"id": "a", "other": 1}));
    assert_eq!(paths(&bad), [""]);
    assert!(bad[0].message.contains("other"), "{bad:?}");
    let v = SchemaValidator::compile(
        &json!({"$ref": "#/$defs/Pair", "unevaluatedItems": {"type": "integer"}}),
        ctx,
    )
    .expect("compiles");
    assert!(v.is_valid(&json!(["a", 1, 2])));
    assert!(!v.is_valid(&json!(["a", "b"])));
}

#[test]
fn validators_of_one_document_share_compiled_targets() {
    // Every target reaches every other, as in descriptions with expandable references:
    // each is still translated and compiled once for all validators of the document.
    let mut defs = serde_json::Map::new();
    for i in 0..30 {
        let props: serde_json::Map<String, Value> = (0..30)
            .map(|j| {
                (
                    format!("p{j}"),
                    json!({"anyOf": [{"type": "string"}, {"$ref": format!("#/definitions/D{j}")}]}),
                )
            })
            .collect();
        defs.insert(
            format!("D{i}"),
            json!({"type": "object", "properties": props}),
        );
    }
    let root = json!({ "definitions": defs });
    let ctx = ctx(&root, true, Direction::Response);
    let cache = SchemaCache::new();
    // An instance five levels deep, through several targets at each level.
    let mut value = json!("leaf");
    for level in 0..5 {
        let map: serde_json::Map<String, Value> = (0..4)
            .map(|j| (format!("p{}", (level * 7 + j * 5) % 30), value.clone()))
            .collect();
        value = Value::Object(map);
    }
    for i in 0..30 {
        let schema = json!({"$ref": format!("#/definitions/D{i}")});
        let v = SchemaValidator::compile_with(&schema, ctx, &cache).expect("compiles");
        assert!(v.is_valid(&value));
        assert!(v.validate(&value).is_empty());
    }
    let (translated, compiled) = cache.targets(Direction::Response);
    assert_eq!(translated, 30);
    assert!(compiled <= 30, "{compiled}");
}

#[test]
fn a_pattern_that_only_describes_the_format_is_dropped() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "string", "format": "date-time", "pattern": "YYYY-MM-DDThh:mm:ssZ"}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("2024-05-06T07:08:09Z")));
    assert!(!v.is_valid(&json!("YYYY-MM-DDThh:mm:ssZ")));
    // A literal that valid values can contain is a real constraint.
    let v = validator(
        &root,
        json!({"type": "string", "format": "date-time", "pattern": "Z"}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("2024-05-06T07:08:09Z")));
    assert!(!v.is_valid(&json!("2024-05-06T07:08:09+01:00")));
    // So is any pattern with regex syntax.
    let v = validator(
        &root,
        json!({"type": "string", "format": "date", "pattern": "^[a-z]+$"}),
        Direction::Request,
    );
    assert!(!v.is_valid(&json!("2024-05-06")));
}

#[test]
fn an_empty_enum_constrains_nothing() {
    let root = json!({});
    let v = validator(
        &root,
        json!({"type": "string", "enum": [], "allOf": [{"enum": ["a", "b"]}]}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("a")));
    assert!(!v.is_valid(&json!("")));
    let v = validator(
        &root,
        json!({"type": "string", "enum": [], "nullable": true}),
        Direction::Request,
    );
    assert!(v.is_valid(&json!("x")));
    assert!(v.is_valid(&json!(null)));
}
