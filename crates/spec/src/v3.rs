//! OpenAPI 3.0 and 3.1 operations: parameters, request bodies, responses, callbacks.

use serde_json::{Map, Value};

use crate::diagnostics::{child, kind};
use crate::model::{
    Callback, Encoding, Header, MediaType, Method, ParamLocation, ParamStyle, Parameter,
    RequestBody, Response,
};
use crate::normalise::{Normaliser, Parts, RawParam, default_style, param_style, text};

pub(crate) fn operation<'a>(
    n: &mut Normaliser<'a, '_>,
    op: &'a Map<String, Value>,
    pointer: &str,
    params: Vec<RawParam<'a>>,
) -> Parts {
    let parameters = params.iter().filter_map(|p| parameter(n, p)).collect();
    let request_body = op
        .get("requestBody")
        .and_then(|b| request_body(n, b, &child(pointer, "requestBody")));
    let responses = match op.get("responses") {
        Some(value) => responses(n, value, &child(pointer, "responses")),
        None => Vec::new(),
    };
    let callbacks = match op.get("callbacks") {
        Some(value) => callbacks(n, value, &child(pointer, "callbacks")),
        None => Vec::new(),
    };
    Parts {
        parameters,
        request_body,
        responses,
        callbacks,
    }
}

fn parameter<'a>(n: &mut Normaliser<'a, '_>, raw: &RawParam<'a>) -> Option<Parameter> {
    let (map, at, name) = (raw.map, raw.pointer.as_str(), raw.name);
    let location = match raw.location {
        "path" => ParamLocation::Path,
        "query" => ParamLocation::Query,
        "header" => ParamLocation::Header,
        "cookie" => ParamLocation::Cookie,
        other => {
            n.error(
                &child(at, "in"),
                format!(
                    "parameter '{name}' has an unknown location '{other}' (expected path, query, \
                     header or cookie)"
                ),
            );
            return None;
        }
    };
    // OAS 3: header parameters named Accept, Content-Type or Authorization "SHALL be ignored";
    // they are described by content negotiation and security schemes instead.
    if location == ParamLocation::Header
        && ["accept", "content-type", "authorization"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
    {
        return None;
    }
    let style = style(n, map, at, default_style(location));
    let explode = n
        .flag(map, "explode", at)
        .unwrap_or(style == ParamStyle::Form);
    let required = n.flag(map, "required", at).unwrap_or(false) || location == ParamLocation::Path;
    let (schema, content_type) = match (map.get("schema"), map.get("content")) {
        (Some(schema), _) => (n.schema(schema, &child(at, "schema")), None),
        (None, Some(content)) => {
            let first = content_entries(n, content, &child(at, "content"))
                .into_iter()
                .next();
            match first {
                Some(media) => (media.schema, Some(media.media_type)),
                None => (None, None),
            }
        }
        (None, None) => (None, None),
    };
    let example = match map.get("example") {
        Some(example) => Some(example.clone()),
        None => first_example(n, map, at),
    };
    Some(Parameter {
        name: name.to_owned(),
        location,
        required,
        style,
        explode,
        allow_empty_value: n.flag(map, "allowEmptyValue", at).unwrap_or(false),
        allow_reserved: n.flag(map, "allowReserved", at).unwrap_or(false),
        schema,
        content_type,
        example,
        deprecated: n.flag(map, "deprecated", at).unwrap_or(false),
    })
}

fn style(
    n: &mut Normaliser<'_, '_>,
    map: &Map<String, Value>,
    at: &str,
    default: ParamStyle,
) -> ParamStyle {
    match map.get("style") {
        None => default,
        Some(Value::String(name)) => param_style(name).unwrap_or_else(|| {
            n.warn(
                &child(at, "style"),
                format!("unknown style '{name}'; the default is used"),
            );
            default
        }),
        Some(other) => {
            n.error(
                &child(at, "style"),
                format!("'style' must be a string, found {}", kind(other)),
            );
            default
        }
    }
}

/// The first named example's value of a parameter or header.
fn first_example<'a>(
    n: &mut Normaliser<'a, '_>,
    map: &'a Map<String, Value>,
    at: &str,
) -> Option<Value> {
    let examples = map.get("examples")?;
    n.named_examples(examples, &child(at, "examples"), None)
        .into_iter()
        .next()
        .map(|(_, v)| v)
}

fn request_body<'a>(
    n: &mut Normaliser<'a, '_>,
    value: &'a Value,
    pointer: &str,
) -> Option<RequestBody> {
    let (value, at) = n.deref(value, pointer)?;
    let map = n.object(value, &at, "'requestBody'")?;
    let content = match map.get("content") {
        Some(content) => content_entries(n, content, &child(&at, "content")),
        None => Vec::new(),
    };
    Some(RequestBody {
        required: n.flag(map, "required", &at).unwrap_or(false),
        content,
    })
}

/// The media types of a `content` map. Entries that are not media type objects are warned
/// about and left out.
pub(crate) fn content_entries<'a>(
    n: &mut Normaliser<'a, '_>,
    value: &'a Value,
    pointer: &str,
) -> Vec<MediaType> {
    let Some(map) = n.object(value, pointer, "'content'") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(map.len());
    for (media_type, entry) in map {
        let at = child(pointer, media_type);
        if !media_type.contains('/') {
            // One real document has a stray `examples: {}` beside its media types.
            n.warn(
                &at,
                format!("content entry '{media_type}' is not a media type; ignored"),
            );
            continue;
        }
        let Some((entry, at)) = n.deref(entry, &at) else {
            continue;
        };
        let Value::Object(entry) = entry else {
            n.warn(
                &at,
                format!(
                    "content entry '{media_type}' is {}, not a media type object; ignored",
                    kind(entry)
                ),
            );
            continue;
        };
        let schema = entry
            .get("schema")
            .and_then(|s| n.schema(s, &child(&at, "schema")));
        let examples = match entry.get("examples") {
            Some(examples) => n.named_examples(examples, &child(&at, "examples"), Some(media_type)),
            None => Vec::new(),
        };
        let encoding = match entry.get("encoding") {
            Some(encoding) => encodings(n, encoding, &child(&at, "encoding")),
            None => Vec::new(),
        };
        out.push(MediaType {
            media_type: media_type.clone(),
            schema,
            example: entry.get("example").cloned(),
            examples,
            encoding,
        });
    }
    out
}

fn encodings(n: &mut Normaliser<'_, '_>, value: &Value, pointer: &str) -> Vec<(String, Encoding)> {
    let Value::Object(map) = value else {
        n.warn(
            pointer,
            format!(
                "'encoding' must be an object, found {}; ignored",
                kind(value)
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::with_capacity(map.len());
    for (property, entry) in map {
        let Value::Object(entry) = entry else {
            continue;
        };
        let at = child(pointer, property);
        let style = match entry.get("style").and_then(Value::as_str) {
            Some(name) => param_style(name).or_else(|| {
                n.warn(
                    &child(&at, "style"),
                    format!("unknown style '{name}'; ignored"),
                );
                None
            }),
            None => None,
        };
        out.push((
            property.clone(),
            Encoding {
                content_type: text(entry.get("contentType")),
                style,
                explode: entry.get("explode").and_then(Value::as_bool),
            },
        ));
    }
    out
}

fn responses<'a>(n: &mut Normaliser<'a, '_>, value: &'a Value, pointer: &str) -> Vec<Response> {
    n.responses(value, pointer, |n, map, at| {
        let headers = match map.get("headers") {
            Some(headers) => headers_of(n, headers, &child(at, "headers")),
            None => Vec::new(),
        };
        let content = match map.get("content") {
            Some(content) => content_entries(n, content, &child(at, "content")),
            None => Vec::new(),
        };
        (headers, content)
    })
}

fn headers_of<'a>(n: &mut Normaliser<'a, '_>, value: &'a Value, pointer: &str) -> Vec<Header> {
    let Some(map) = n.object(value, pointer, "'headers'") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, header) in map {
        // The specs say a Content-Type response header is ignored: the media type sets it.
        if name.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let Some((header, at)) = n.deref(header, &child(pointer, name)) else {
            continue;
        };
        let Some(header) = n.object(header, &at, format_args!("header '{name}'")) else {
            continue;
        };
        let schema = match (header.get("schema"), header.get("content")) {
            (Some(schema), _) => n.schema(schema, &child(&at, "schema")),
            (None, Some(content)) => content_entries(n, content, &child(&at, "content"))
                .into_iter()
                .next()
                .and_then(|media| media.schema),
            (None, None) => None,
        };
        let example = match header.get("example") {
            Some(example) => Some(example.clone()),
            None => first_example(n, header, &at),
        };
        out.push(Header {
            name: name.clone(),
            required: n.flag(header, "required", &at).unwrap_or(false),
            schema,
            example,
        });
    }
    out
}

/// Callbacks: each named callback maps runtime expressions to path items whose operations
/// describe the requests the API would send.
fn callbacks<'a>(n: &mut Normaliser<'a, '_>, value: &'a Value, pointer: &str) -> Vec<Callback> {
    let Some(map) = n.object(value, pointer, "'callbacks'") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, callback) in map {
        let Some((callback, at)) = n.deref(callback, &child(pointer, name)) else {
            continue;
        };
        let Some(expressions) = n.object(callback, &at, format_args!("callback '{name}'")) else {
            continue;
        };
        for (expression, item) in expressions {
            if expression.starts_with("x-") {
                continue;
            }
            let Some((item, item_at)) = n.deref(item, &child(&at, expression)) else {
                continue;
            };
            let Some(item) = n.object(
                item,
                &item_at,
                format_args!("callback path item '{expression}'"),
            ) else {
                continue;
            };
            for (method_key, op) in item {
                let Some(method) = Method::ALL.into_iter().find(|m| m.key() == method_key) else {
                    continue;
                };
                let op_at = child(&item_at, method_key);
                let Some(op) = n.object(op, &op_at, "a callback operation") else {
                    continue;
                };
                let request_body = op
                    .get("requestBody")
                    .and_then(|b| request_body(n, b, &child(&op_at, "requestBody")));
                out.push(Callback {
                    name: name.clone(),
                    expression: expression.clone(),
                    method,
                    request_body,
                });
            }
        }
    }
    out
}
