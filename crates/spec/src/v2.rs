//! Swagger 2.0 operations mapped onto the OpenAPI 3 shaped model.
//!
//! - `in: body` becomes the request body, one media type per `consumes` entry.
//! - `in: formData` parameters become one object schema (a property per parameter, `type:
//!   file` as a binary string) under `application/x-www-form-urlencoded` and/or
//!   `multipart/form-data`, as `consumes` says; without either, multipart when a file is
//!   uploaded, else urlencoded.
//! - Other parameters get a schema built from their `type`, `format`, `items`, bounds, ...
//!   and a style from `collectionFormat` (see [`crate::ParamStyle`]).
//! - Responses get one media type per `produces` entry, with `examples` keyed by media type.

use serde_json::{Map, Value, json};

use crate::diagnostics::{child, kind};
use crate::model::{
    Encoding, Header, MediaType, ParamLocation, ParamStyle, Parameter, RequestBody, Response,
};
use crate::normalise::{Normaliser, Parts, RawParam, default_style, text};

/// Media types assumed when neither the operation nor the document declares any.
const DEFAULT_MEDIA_TYPE: &str = "application/json";
const URLENCODED: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";

/// Deepest `items` nesting copied from a parameter into its schema.
const MAX_ITEMS_DEPTH: usize = 16;

/// Parameter fields that are JSON Schema keywords too.
const SCHEMA_FIELDS: &[&str] = &[
    "$ref",
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "description",
    "x-nullable",
];

/// The document-wide `consumes` and `produces`.
pub(crate) struct Globals {
    consumes: Vec<String>,
    produces: Vec<String>,
}

pub(crate) fn globals(n: &mut Normaliser<'_, '_>) -> Globals {
    let root = n.root.as_object();
    let mut list = |key: &str| match root {
        Some(root) => media_list(n, root, key, "").unwrap_or_default(),
        None => Vec::new(),
    };
    Globals {
        consumes: list("consumes"),
        produces: list("produces"),
    }
}

fn media_list(
    n: &mut Normaliser<'_, '_>,
    map: &Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Option<Vec<String>> {
    match map.get(key)? {
        Value::Array(items) => Some(items.iter().filter_map(|v| text(Some(v))).collect()),
        other => {
            n.error(
                &child(pointer, key),
                format!("'{key}' must be an array, found {}", kind(other)),
            );
            None
        }
    }
}

pub(crate) fn operation<'a>(
    n: &mut Normaliser<'a, '_>,
    globals: &Globals,
    op: &'a Map<String, Value>,
    pointer: &str,
    params: Vec<RawParam<'a>>,
) -> Parts {
    let consumes =
        media_list(n, op, "consumes", pointer).unwrap_or_else(|| globals.consumes.clone());
    let produces =
        media_list(n, op, "produces", pointer).unwrap_or_else(|| globals.produces.clone());
    let mut parameters = Vec::with_capacity(params.len());
    let mut body: Option<&RawParam<'a>> = None;
    let mut form: Vec<&RawParam<'a>> = Vec::new();
    for param in &params {
        match param.location {
            "body" if body.is_some() => n.warn(
                &param.pointer,
                format!(
                    "second body parameter '{}' ignored: an operation has one body",
                    param.name
                ),
            ),
            "body" => body = Some(param),
            "formData" => form.push(param),
            _ => parameters.extend(parameter(n, param)),
        }
    }
    let request_body = match (body, form.is_empty()) {
        (Some(body), form_is_empty) => {
            if !form_is_empty {
                n.warn(
                    &body.pointer,
                    "formData parameters ignored: the operation also has a body parameter"
                        .to_owned(),
                );
            }
            body_request(n, body, &consumes)
        }
        (None, false) => Some(form_request(n, &form, &consumes)),
        (None, true) => None,
    };
    let responses = match op.get("responses") {
        Some(value) => responses(n, value, &child(pointer, "responses"), &produces),
        None => Vec::new(),
    };
    Parts {
        parameters,
        request_body,
        responses,
        callbacks: Vec::new(),
    }
}

fn parameter(n: &mut Normaliser<'_, '_>, raw: &RawParam<'_>) -> Option<Parameter> {
    let (map, at, name) = (raw.map, raw.pointer.as_str(), raw.name);
    let location = match raw.location {
        "path" => ParamLocation::Path,
        "query" => ParamLocation::Query,
        "header" => ParamLocation::Header,
        other => {
            n.error(
                &child(at, "in"),
                format!(
                    "parameter '{name}' has an unknown location '{other}' (expected path, query, \
                     header, body or formData)"
                ),
            );
            return None;
        }
    };
    let (style, explode) = collection_style(n, map, at, default_style(location));
    Some(Parameter {
        name: name.to_owned(),
        location,
        required: n.flag(map, "required", at).unwrap_or(false) || location == ParamLocation::Path,
        style,
        explode,
        allow_empty_value: n.flag(map, "allowEmptyValue", at).unwrap_or(false),
        allow_reserved: false,
        schema: Some(schema_of(map, 0)),
        content_type: None,
        example: map.get("x-example").cloned(),
        deprecated: false,
    })
}

/// Style and explode of a parameter from its `collectionFormat` (csv when absent). Only
/// arrays have a collection format; other values keep the location's default.
fn collection_style(
    n: &mut Normaliser<'_, '_>,
    map: &Map<String, Value>,
    at: &str,
    default: ParamStyle,
) -> (ParamStyle, bool) {
    if map.get("type").and_then(Value::as_str) != Some("array") {
        return (default, default == ParamStyle::Form);
    }
    match map
        .get("collectionFormat")
        .and_then(Value::as_str)
        .unwrap_or("csv")
    {
        "csv" => (default, false),
        "ssv" => (ParamStyle::SpaceDelimited, false),
        "tsv" => (ParamStyle::TabDelimited, false),
        "pipes" => (ParamStyle::PipeDelimited, false),
        "multi" if default == ParamStyle::Form => (ParamStyle::Form, true),
        "multi" => {
            n.warn(
                &child(at, "collectionFormat"),
                "collectionFormat 'multi' applies to query and formData parameters only; read as \
                 csv"
                .to_owned(),
            );
            (default, false)
        }
        other => {
            n.warn(
                &child(at, "collectionFormat"),
                format!("unknown collectionFormat '{other}'; read as csv"),
            );
            (default, false)
        }
    }
}

/// The JSON Schema of a non-body parameter, an `items` object or a response header.
fn schema_of(map: &Map<String, Value>, depth: usize) -> Value {
    let mut schema = Map::new();
    for field in SCHEMA_FIELDS {
        let Some(value) = map.get(*field) else {
            continue;
        };
        let value = match (value, *field) {
            (Value::Object(items), "items") if depth < MAX_ITEMS_DEPTH => {
                schema_of(items, depth + 1)
            }
            _ => value.clone(),
        };
        schema.insert((*field).to_owned(), value);
    }
    file_as_binary(&mut schema);
    Value::Object(schema)
}

/// Swagger's `type: file` as the JSON Schema OpenAPI 3 uses for uploads and downloads.
fn file_as_binary(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) == Some("file") {
        schema.insert("type".to_owned(), Value::String("string".to_owned()));
        schema.insert("format".to_owned(), Value::String("binary".to_owned()));
    }
}

fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or(media_type)
        .trim()
        .to_ascii_lowercase()
}

fn body_request<'a>(
    n: &mut Normaliser<'a, '_>,
    body: &RawParam<'a>,
    consumes: &[String],
) -> Option<RequestBody> {
    let schema = match body.map.get("schema") {
        Some(schema) => n.schema(schema, &child(&body.pointer, "schema")),
        None => {
            n.error(
                &body.pointer,
                format!("body parameter '{}' has no 'schema'", body.name),
            );
            None
        }
    };
    let schema = schema.map(|mut schema| {
        if let Value::Object(map) = &mut schema {
            file_as_binary(map);
        }
        schema
    });
    let types: Vec<&str> = if consumes.is_empty() {
        vec![DEFAULT_MEDIA_TYPE]
    } else {
        consumes.iter().map(String::as_str).collect()
    };
    let content = types
        .into_iter()
        .map(|media_type| MediaType {
            media_type: media_type.to_owned(),
            schema: schema.clone(),
            example: None,
            examples: Vec::new(),
            encoding: Vec::new(),
        })
        .collect();
    Some(RequestBody {
        required: n.flag(body.map, "required", &body.pointer).unwrap_or(false),
        content,
    })
}

fn form_request(
    n: &mut Normaliser<'_, '_>,
    form: &[&RawParam<'_>],
    consumes: &[String],
) -> RequestBody {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut encoding = Vec::new();
    let mut uploads_file = false;
    for param in form {
        let schema = schema_of(param.map, 0);
        uploads_file |= param.map.get("type").and_then(Value::as_str) == Some("file");
        if param.map.get("type").and_then(Value::as_str) == Some("array") {
            let (style, explode) = collection_style(n, param.map, &param.pointer, ParamStyle::Form);
            encoding.push((
                param.name.to_owned(),
                Encoding {
                    content_type: None,
                    style: Some(style),
                    explode: Some(explode),
                },
            ));
        }
        if n.flag(param.map, "required", &param.pointer)
            .unwrap_or(false)
        {
            required.push(Value::String(param.name.to_owned()));
        }
        properties.insert(param.name.to_owned(), schema);
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    let mut types: Vec<String> = consumes
        .iter()
        .filter(|m| matches!(essence(m).as_str(), URLENCODED | MULTIPART))
        .cloned()
        .collect();
    if types.is_empty() {
        types.push(if uploads_file { MULTIPART } else { URLENCODED }.to_owned());
    }
    let content = types
        .into_iter()
        .map(|media_type| MediaType {
            media_type,
            schema: Some(schema.clone()),
            example: None,
            examples: Vec::new(),
            encoding: encoding.clone(),
        })
        .collect();
    let required = form
        .iter()
        .any(|p| p.map.get("required").and_then(Value::as_bool) == Some(true));
    RequestBody { required, content }
}

fn responses<'a>(
    n: &mut Normaliser<'a, '_>,
    value: &'a Value,
    pointer: &str,
    produces: &[String],
) -> Vec<Response> {
    n.responses(value, pointer, |n, map, at| {
        let schema = map
            .get("schema")
            .and_then(|s| n.schema(s, &child(at, "schema")));
        let schema = schema.map(|mut schema| {
            if let Value::Object(map) = &mut schema {
                file_as_binary(map);
            }
            schema
        });
        let examples = match map.get("examples") {
            Some(Value::Object(examples)) => Some(examples),
            Some(other) => {
                let message = format!(
                    "'examples' must be an object keyed by media type, found {}",
                    kind(other)
                );
                n.warn(&child(at, "examples"), message);
                None
            }
            None => None,
        };
        let content = response_content(schema, examples, produces);
        let headers = match map.get("headers") {
            Some(headers) => headers_of(n, headers, &child(at, "headers")),
            None => Vec::new(),
        };
        (headers, content)
    })
}

/// One media type per `produces` entry (JSON when there is none), each with the response
/// schema and the example given for it; examples for media types not in `produces` add
/// media types of their own. No schema and no examples means no body.
fn response_content(
    schema: Option<Value>,
    examples: Option<&Map<String, Value>>,
    produces: &[String],
) -> Vec<MediaType> {
    if schema.is_none() && examples.is_none_or(Map::is_empty) {
        return Vec::new();
    }
    let example_for = |media_type: &str| {
        let wanted = essence(media_type);
        examples?
            .iter()
            .find(|(key, _)| essence(key) == wanted)
            .map(|(_, v)| v.clone())
    };
    let mut types: Vec<String> = if produces.is_empty() {
        vec![DEFAULT_MEDIA_TYPE.to_owned()]
    } else {
        produces.to_vec()
    };
    if let Some(examples) = examples {
        for key in examples.keys() {
            if !types.iter().any(|t| essence(t) == essence(key)) {
                types.push(key.clone());
            }
        }
    }
    types
        .into_iter()
        .map(|media_type| MediaType {
            example: example_for(&media_type),
            media_type,
            schema: schema.clone(),
            examples: Vec::new(),
            encoding: Vec::new(),
        })
        .collect()
}

fn headers_of(n: &mut Normaliser<'_, '_>, value: &Value, pointer: &str) -> Vec<Header> {
    let Value::Object(map) = value else {
        n.error(
            pointer,
            format!("'headers' must be an object, found {}", kind(value)),
        );
        return Vec::new();
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, header) in map {
        if name.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let Value::Object(header) = header else {
            n.error(
                &child(pointer, name),
                format!("header '{name}' must be an object, found {}", kind(header)),
            );
            continue;
        };
        out.push(Header {
            name: name.clone(),
            required: false,
            schema: Some(schema_of(header, 0)),
            example: header.get("x-example").cloned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_fields_become_a_schema() {
        let param = json!({
            "name": "tags", "in": "query", "type": "array", "collectionFormat": "csv",
            "items": {"type": "string", "enum": ["a", "b"], "x-internal": true},
            "maxItems": 3, "required": true
        });
        assert_eq!(
            schema_of(param.as_object().unwrap(), 0),
            json!({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "maxItems": 3})
        );
    }

    #[test]
    fn file_parameters_become_binary_strings() {
        let param = json!({"name": "upload", "in": "formData", "type": "file"});
        assert_eq!(
            schema_of(param.as_object().unwrap(), 0),
            json!({"type": "string", "format": "binary"})
        );
    }

    #[test]
    fn response_examples_for_undeclared_media_types_add_media_types() {
        let examples = json!({"application/json": {"a": 1}, "text/plain": "a=1"});
        let content = response_content(
            Some(json!({"type": "object"})),
            examples.as_object(),
            &["application/json; charset=utf-8".to_owned()],
        );
        let types: Vec<&str> = content.iter().map(|m| m.media_type.as_str()).collect();
        assert_eq!(types, ["application/json; charset=utf-8", "text/plain"]);
        assert_eq!(content[0].example, Some(json!({"a": 1})));
        assert_eq!(content[1].example, Some(json!("a=1")));
    }

    #[test]
    fn responses_without_schema_or_examples_have_no_body() {
        assert!(response_content(None, None, &["application/json".to_owned()]).is_empty());
    }
}
