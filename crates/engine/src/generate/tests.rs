//! Tests of generation: every value must validate, and a seed must fix the value.

use serde_json::{Value, json};

use super::*;
use crate::schema::SchemaValidator;

const SEEDS: u64 = 40;

fn ctx(root: &Value, direction: Direction) -> SchemaContext<'_> {
    SchemaContext {
        root,
        legacy: true,
        direction,
    }
}

/// Generates with many seeds and checks each value against the validator; returns them.
fn check_in(root: &Value, schema: &Value, direction: Direction) -> Vec<Value> {
    let ctx = ctx(root, direction);
    let validator = SchemaValidator::compile(schema, ctx).expect("schema compiles");
    let generator = Generator::new(ctx);
    (0..SEEDS)
        .map(|seed| {
            let value = generator.generate(schema, seed);
            let violations = validator.validate(&value);
            assert!(
                violations.is_empty(),
                "seed {seed} gave {value}\nfor {schema}\nviolations: {violations:?}"
            );
            assert_eq!(
                value,
                generator.generate(schema, seed),
                "seed {seed} is not stable"
            );
            value
        })
        .collect()
}

fn check(schema: Value) -> Vec<Value> {
    check_in(&json!({}), &schema, Direction::Response)
}

#[test]
fn scalars_respect_formats_and_bounds() {
    for format in [
        "date-time",
        "date",
        "time",
        "email",
        "uuid",
        "uri",
        "url",
        "hostname",
        "ipv4",
        "ipv6",
        "byte",
        "binary",
        "password",
        "int64",
        "float",
        "something-else",
    ] {
        check(json!({"type": "string", "format": format}));
    }
    check(json!({"type": "string", "format": "byte", "minLength": 8, "maxLength": 12}));
    check(json!({"type": "string", "minLength": 30, "maxLength": 31}));
    check(json!({"type": "string", "maxLength": 2}));
    check(json!({"type": "integer", "format": "int32", "minimum": -5, "maximum": -2}));
    check(
        json!({"type": "integer", "minimum": 10, "exclusiveMinimum": true,
                 "maximum": 12, "exclusiveMaximum": true}),
    );
    check(json!({"type": "integer", "multipleOf": 7, "minimum": 50}));
    check(json!({"type": "integer", "multipleOf": 0.5}));
    check(json!({"type": "number", "multipleOf": 0.01, "maximum": 1}));
    check(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}));
    check(json!({"type": "number", "minimum": 1e12}));
    check(json!({"type": "integer", "format": "int64", "maximum": -9_000_000_000i64}));
}

#[test]
fn patterns_are_matched_within_length_bounds() {
    for (pattern, min, max) in [
        ("^AC[0-9a-fA-F]{32}$", 34, 34),
        (r"^\d{4}-\d{2}$", 0, 100),
        ("^[a-z]+$", 3, 5),
        ("^[A-Z]", 10, 20),
        ("cus_", 0, 5000),
        (r"^(?=.*[0-9])[a-z0-9]{8,12}$", 0, 100),
    ] {
        let values = check(
            json!({"type": "string", "pattern": pattern, "minLength": min, "maxLength": max}),
        );
        assert!(values.iter().all(Value::is_string));
    }
}

#[test]
fn all_of_merges_parts_and_nested_parts() {
    let root = json!({"components": {"schemas": {
        "Named": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 3}}},
        "Aged": {"allOf": [{"$ref": "#/components/schemas/Named"},
                           {"required": ["age"], "properties": {"age": {"type": "integer",
                               "minimum": 0, "maximum": 120}}}]},
        "Person": {"allOf": [{"$ref": "#/components/schemas/Aged"},
                             {"type": "object", "properties": {"name": {"maxLength": 4}}}]}
    }}});
    let schema = json!({"$ref": "#/components/schemas/Person"});
    for value in check_in(&root, &schema, Direction::Response) {
        assert!(
            value.get("name").is_some() && value.get("age").is_some(),
            "{value}"
        );
    }
}

#[test]
fn one_of_values_match_exactly_one_branch() {
    check(json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}));
    check(json!({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}));
    check(json!({"oneOf": [
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
        {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}}
    ]}));
    check(json!({"oneOf": [
        {"type": "object", "properties": {"kind": {"enum": ["x"]}}, "required": ["kind"]},
        {"type": "object", "properties": {"kind": {"enum": ["y"]}}, "required": ["kind"]}
    ]}));
}

#[test]
fn discriminator_mapping_names_the_branch() {
    let root = json!({"components": {"schemas": {
        "Cat": {"type": "object", "required": ["petType"], "properties": {
            "petType": {"type": "string"}, "meow": {"type": "boolean"}}},
        "Dog": {"type": "object", "required": ["petType"], "properties": {
            "petType": {"type": "string"}, "bark": {"type": "boolean"}}},
        "Pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"},
            {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "petType",
                                  "mapping": {"cat": "#/components/schemas/Cat", "dog": "Dog"}}}
    }}});
    let schema = json!({"$ref": "#/components/schemas/Pet"});
    let ctx = ctx(&root, Direction::Response);
    let generator = Generator::new(ctx);
    let mut seen = Vec::new();
    for seed in 0..SEEDS {
        let value = generator.generate(&schema, seed);
        let tag = value["petType"].as_str().expect("tag").to_owned();
        assert!(tag == "cat" || tag == "dog", "{value}");
        let other = if tag == "cat" { "bark" } else { "meow" };
        assert!(value.get(other).is_none(), "{value}");
        seen.push(tag);
    }
    assert!(seen.contains(&"cat".to_owned()) && seen.contains(&"dog".to_owned()));
}

#[test]
fn nullable_forms_are_understood() {
    let root = json!({"definitions": {"Thing": {"type": "object",
        "properties": {"a": {"type": "string"}}}}});
    for schema in [
        json!({"type": "string", "nullable": true, "enum": ["a", "b"]}),
        json!({"$ref": "#/definitions/Thing", "nullable": true}),
        json!({"allOf": [{"$ref": "#/definitions/Thing"}], "x-nullable": true}),
        json!({"type": ["integer", "null"]}),
        json!({"anyOf": [{"$ref": "#/definitions/Thing"}, {"type": "null"}]}),
    ] {
        let values = check_in(&root, &schema, Direction::Response);
        assert!(values.iter().any(|v| !v.is_null()), "{schema}: only nulls");
    }
}

#[test]
fn circular_schemas_stay_bounded() {
    let root = json!({"components": {"schemas": {
        "Node": {"type": "object", "required": ["value", "children"], "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Node"},
            "next": {"allOf": [{"$ref": "#/components/schemas/Node"}], "nullable": true}
        }},
        "Expr": {"anyOf": [
            {"type": "object", "required": ["op", "args"], "properties": {
                "op": {"type": "string"},
                "args": {"type": "array", "minItems": 1,
                    "items": {"$ref": "#/components/schemas/Expr"}}}},
            {"type": "number"}
        ]}
    }}});
    for name in ["Node", "Expr"] {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        for value in check_in(&root, &schema, Direction::Response) {
            assert!(value.to_string().len() < 200_000, "{name} grew too large");
        }
    }
}

#[test]
fn read_only_and_write_only_follow_the_direction() {
    let root = json!({"components": {"schemas": {"User": {"type": "object",
    "required": ["id", "password", "name"],
    "properties": {
        "id": {"type": "integer", "readOnly": true},
        "password": {"type": "string", "writeOnly": true},
        "name": {"type": "string"}
    }}}}});
    let schema = json!({"$ref": "#/components/schemas/User"});
    for value in check_in(&root, &schema, Direction::Request) {
        assert!(
            value.get("id").is_none() && value.get("password").is_some(),
            "{value}"
        );
    }
    for value in check_in(&root, &schema, Direction::Response) {
        assert!(
            value.get("password").is_none() && value.get("id").is_some(),
            "{value}"
        );
    }
}

#[test]
fn examples_and_defaults_are_used_when_valid() {
    let values = check(json!({"type": "string", "example": "hello"}));
    assert!(values.iter().all(|v| v == "hello"));
    let values = check(json!({"type": "integer", "maximum": 5, "example": 9, "default": 4}));
    assert!(values.iter().all(|v| v == 4));
    let values = check(json!({"type": "string", "format": "email", "example": "not-an-email"}));
    assert!(values.iter().all(|v| v != "not-an-email"));
    let values = check(json!({"const": "fixed"}));
    assert!(values.iter().all(|v| v == "fixed"));
}

#[test]
fn objects_honour_additional_and_property_counts() {
    check(json!({"type": "object", "additionalProperties": {"type": "integer"}}));
    check(
        json!({"type": "object", "minProperties": 3, "additionalProperties": {"type": "string"}}),
    );
    check(json!({"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "maxProperties": 1}));
    check(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
                 "additionalProperties": false, "minProperties": 1}),
    );
    check(json!({"type": "object", "additionalProperties": true,
                 "propertyNames": {"pattern": "^[a-z]{3}$"}, "minProperties": 2}));
}

#[test]
fn arrays_honour_counts_and_uniqueness() {
    check(
        json!({"type": "array", "items": {"type": "boolean"}, "uniqueItems": true, "minItems": 2}),
    );
    check(
        json!({"type": "array", "items": {"enum": [1, 2, 3]}, "uniqueItems": true, "minItems": 3}),
    );
    check(json!({"type": "array", "items": {"type": "string"}, "minItems": 5, "maxItems": 5}));
    check(json!({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}));
    check(json!({"type": "array", "maxItems": 0}));
}

#[test]
fn not_is_respected_where_it_can_be() {
    check(json!({"not": {"type": "string"}}));
    check(json!({"type": "integer", "minimum": 1, "maximum": 3, "not": {"const": 2}}));
}

#[test]
fn property_names_suggest_realistic_values() {
    let schema = json!({"type": "object", "required": ["email", "website"], "properties": {
        "email": {"type": "string"}, "website": {"type": "string"}}});
    for value in check(schema) {
        assert!(
            value["email"].as_str().is_some_and(|e| e.contains('@')),
            "{value}"
        );
        assert!(
            value["website"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "{value}"
        );
    }
}

#[test]
fn different_seeds_give_different_values() {
    let schema = json!({"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "string"}, "b": {"type": "integer"}}});
    let values = check(schema);
    assert!(values.iter().any(|v| *v != values[0]));
}

#[test]
fn a_pattern_that_only_describes_the_format_is_ignored() {
    // From a payments webhook description: the display form `HH:mm:SS` written as the
    // pattern of a `format: time` string. As a regex no time matches it.
    let values = check(
        json!({"type": "object", "required": ["closingTime"], "properties": {
            "closingTime": {"type": "string", "format": "time", "pattern": "HH:mm:SS"}
        }}),
    );
    assert!(
        values
            .iter()
            .all(|v| v["closingTime"].as_str().is_some_and(|t| t != "HH:mm:SS"))
    );
    // A pattern the format can meet still gets a value that satisfies both.
    let values = check(
        json!({"type": "object", "required": ["day"], "properties": {
            "day": {"type": "string", "format": "date", "pattern": "^20"}
        }}),
    );
    assert!(
        values
            .iter()
            .all(|v| v["day"].as_str().is_some_and(|d| d.starts_with("20")))
    );
}

#[test]
fn a_pattern_that_breaks_the_format_leaves_an_optional_property_out() {
    // A real regex that no value of the format can match: nothing valid exists, so an
    // optional property is left out rather than sent broken.
    let values = check(json!({"type": "object", "properties": {
        "day": {"type": "string", "format": "date", "pattern": "^[a-z]+$"},
        "name": {"type": "string"}
    }}));
    assert!(values.iter().all(|v| v.get("day").is_none()));
}

#[test]
fn an_empty_enum_is_ignored() {
    // From a chat platform description: `enum: []` beside the real list in `allOf`.
    let root = json!({"components": {"schemas": {
        "Status": {"type": "integer", "enum": [0, 1, 2]}
    }}});
    let schema = json!({"type": "integer", "enum": [],
        "allOf": [{"$ref": "#/components/schemas/Status"}]});
    for value in check_in(&root, &schema, Direction::Request) {
        assert!(
            value.as_i64().is_some_and(|n| (0..=2).contains(&n)),
            "{value}"
        );
    }
}

#[test]
fn a_required_name_the_schema_forbids_is_not_generated() {
    // From an issue-tracker description: `defaultScreen` is required, but the schema is
    // closed and declares no such property.
    let values = check(json!({
        "type": "object",
        "required": ["defaultScreen"],
        "properties": {"edit": {"type": "integer"}, "default": {"type": "integer"}},
        "additionalProperties": false
    }));
    assert!(values.iter().all(|v| v.get("defaultScreen").is_none()));
    // Declared by a part, the name stays required.
    let root = json!({"definitions": {
        "Base": {"type": "object", "properties": {"id": {"type": "string"}}}
    }});
    let schema = json!({
        "allOf": [{"$ref": "#/definitions/Base"}],
        "required": ["id"],
        "additionalProperties": false
    });
    for value in check_in(&root, &schema, Direction::Response) {
        assert!(value.get("id").is_some(), "{value}");
    }
}

#[test]
fn not_required_pairs_are_avoided() {
    // From an AI platform description: an image given by URL or by file id, never both.
    let values = check(json!({
        "type": "object",
        "properties": {
            "image_url": {"type": "string", "format": "uri"},
            "file_id": {"type": "string"}
        },
        "anyOf": [{"required": ["image_url"]}, {"required": ["file_id"]}],
        "not": {"required": ["image_url", "file_id"]},
        "additionalProperties": false
    }));
    for value in values {
        let both = value.get("image_url").is_some() && value.get("file_id").is_some();
        assert!(!both, "{value}");
    }
}

#[test]
fn one_of_branches_that_cannot_be_told_apart_are_read_as_any_of() {
    // Reduced from an incident-management description. Two branches that differ only in
    // their examples: every value matches both.
    let root = json!({"components": {"schemas": {
        "Ref": {"type": "object", "required": ["type", "id"], "properties": {
            "id": {"type": "string", "example": "P123"},
            "type": {"type": "string", "example": "service_reference"}
        }},
        "UserRef": {"allOf": [{"$ref": "#/components/schemas/Ref"}, {
            "type": "object", "properties": {"type": {"type": "string", "enum": ["user_reference"]}}
        }]}
    }}});
    let agent = json!({"type": "object", "required": ["agent"], "properties": {"agent": {
        "oneOf": [
            {"$ref": "#/components/schemas/UserRef"},
            {"$ref": "#/components/schemas/Ref"},
            {"type": "object", "required": ["type", "id"], "properties": {
                "id": {"type": "string", "example": "PT4KHRS"},
                "type": {"type": "string", "example": "incident_workflow_reference"}
            }}
        ]
    }}});
    check_in(&root, &agent, Direction::Response);
    // Open objects that require nothing: any object matches every branch.
    check(
        json!({"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
        "oneOf": [
            {"title": "Nagios", "type": "object", "properties": {
                "type": {"type": "string"}, "host": {"type": "string"},
                "details": {"type": "object"}}},
            {"title": "Api", "type": "object", "properties": {
                "type": {"type": "string"}, "service_key": {"type": "string"},
                "details": {"type": "object"}}},
            {"title": "WebTrigger", "type": "object", "properties": {
                "type": {"type": "string"}, "details": {"type": "string"}}}
        ]}),
    );
    // The same, one level down, around a nested oneOf that can be made exclusive.
    let value = json!({"oneOf": [
        {"type": "object", "properties": {"value": {"type": "boolean", "nullable": true}}},
        {"type": "object", "properties": {"value": {"type": "number", "nullable": true}}}
    ]});
    check(json!({"oneOf": [
        {"type": "object", "title": "By name", "properties": {
            "name": {"type": "string", "maxLength": 50}, "value": value.clone()}},
        {"type": "object", "title": "By id", "properties": {
            "id": {"type": "string"}, "value": value}}
    ]}));
}
