//! Writing values in parameter serialisation styles and as form and multipart bodies: the
//! inverse of what the validator reads.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use spec::ParamStyle;

use crate::validate::shape::{Container, Shape};
use crate::validate::style::delimiter;

/// Everything but unreserved characters is escaped in path values, `.` included, so that a
/// value never fakes a literal suffix such as the `.json` of `/{sid}.json`.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Query keys and values keep unreserved characters and the brackets and commas that the
/// styles use as syntax; everything else is escaped.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~')
    .remove(b'.')
    .remove(b',')
    .remove(b'[')
    .remove(b']');

/// Cookie values may not hold controls, whitespace, `"`, `;`, `\` (RFC 6265); `%` is escaped
/// so that decoding is exact.
const COOKIE: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b';')
    .add(b'\\')
    .add(b'%')
    .add(b'=');

/// A scalar as text: strings as they are, numbers and booleans in JSON notation, null as
/// empty. Nested values (which styles cannot express) fall back to JSON text.
pub(crate) fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        other => Cow::Owned(other.to_string()),
    }
}

fn is_structured(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

fn path_escape(s: &str) -> String {
    utf8_percent_encode(s, PATH_VALUE).to_string()
}

/// A path parameter in its style, percent-encoded (separators stay literal).
pub(crate) fn path(name: &str, value: &Value, style: ParamStyle, explode: bool) -> String {
    let (prefix, item_sep, pair_sep) = match (style, explode) {
        (ParamStyle::Label, true) => (".".to_owned(), ".", "="),
        (ParamStyle::Label, false) => (".".to_owned(), ",", ","),
        (ParamStyle::Matrix, _) => (format!(";{}=", path_escape(name)), ",", ","),
        (other, true) => (String::new(), sep_str(delimiter(other)), "="),
        (other, false) => (
            String::new(),
            sep_str(delimiter(other)),
            sep_str(delimiter(other)),
        ),
    };
    match value {
        Value::Array(items) if style == ParamStyle::Matrix && explode => {
            let key = path_escape(name);
            items
                .iter()
                .map(|v| format!(";{key}={}", path_escape(&text(v))))
                .collect()
        }
        Value::Object(map) if style == ParamStyle::Matrix && explode => map
            .iter()
            .map(|(k, v)| format!(";{}={}", path_escape(k), path_escape(&text(v))))
            .collect(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| path_escape(&text(v))).collect();
            prefix + &items.join(item_sep)
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}{pair_sep}{}", path_escape(k), path_escape(&text(v))))
                .collect();
            prefix + &items.join(item_sep)
        }
        scalar => prefix + &path_escape(&text(scalar)),
    }
}

fn sep_str(c: char) -> &'static str {
    match c {
        ' ' => " ",
        '|' => "|",
        '\t' => "\t",
        _ => ",",
    }
}

/// A header parameter (simple style), unencoded.
pub(crate) fn header(value: &Value, explode: bool) -> String {
    match value {
        Value::Array(items) => items.iter().map(|v| text(v)).collect::<Vec<_>>().join(","),
        Value::Object(map) => {
            let sep = if explode { "=" } else { "," };
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}{sep}{}", text(v)))
                .collect();
            items.join(",")
        }
        scalar => text(scalar).into_owned(),
    }
}

/// A query, cookie or form parameter as unencoded `(key, value)` pairs.
pub(crate) fn pairs(
    name: &str,
    value: &Value,
    style: ParamStyle,
    explode: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let delim = sep_str(delimiter(style));
    match value {
        _ if style == ParamStyle::DeepObject => flatten(name.to_owned(), value, &mut out),
        Value::Array(items) if items.iter().any(is_structured) => {
            flatten(name.to_owned(), value, &mut out)
        }
        Value::Array(items) if explode => {
            out.extend(
                items
                    .iter()
                    .map(|v| (name.to_owned(), text(v).into_owned())),
            );
        }
        Value::Array(items) => {
            let joined: Vec<Cow<'_, str>> = items.iter().map(text).collect();
            out.push((name.to_owned(), joined.join(delim)));
        }
        Value::Object(map) if explode => {
            for (k, v) in map {
                flatten(k.clone(), v, &mut out);
            }
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}{delim}{}", text(v)))
                .collect();
            out.push((name.to_owned(), items.join(delim)));
        }
        scalar => out.push((name.to_owned(), text(scalar).into_owned())),
    }
    out
}

/// Bracket notation: `p[a][b]=v` for objects, `p[]=v` for lists of scalars and `p[0][a]=v`
/// for lists of structures; an empty list or object is `p=` (the convention Stripe uses).
pub(crate) fn flatten(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if map.is_empty() => out.push((prefix, String::new())),
        Value::Array(items) if items.is_empty() => out.push((prefix, String::new())),
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{prefix}[{k}]"), v, out);
            }
        }
        Value::Array(items) if items.iter().any(is_structured) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(items) => {
            out.extend(
                items
                    .iter()
                    .map(|v| (format!("{prefix}[]"), text(v).into_owned())),
            );
        }
        scalar => out.push((prefix, text(scalar).into_owned())),
    }
}

/// `k=v&k2=v2` with query escaping.
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(k, QUERY));
        out.push('=');
        out.extend(utf8_percent_encode(v, QUERY));
    }
    out
}

/// `k=v; k2=v2` with cookie escaping.
pub(crate) fn encode_cookies(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(k);
        out.push('=');
        out.extend(utf8_percent_encode(v, COOKIE));
    }
    out
}

/// How a form or multipart property is written, by the same defaults the validator reads
/// with: objects in bracket notation unless an encoding says otherwise, lists exploded.
pub(crate) fn property_style(
    prop: &Shape,
    style: Option<ParamStyle>,
    explode: Option<bool>,
) -> (ParamStyle, bool) {
    let default = if prop.container(false) == Container::Object {
        ParamStyle::DeepObject
    } else {
        ParamStyle::Form
    };
    (style.unwrap_or(default), explode.unwrap_or(true))
}

/// An urlencoded form body for an object value.
pub(crate) fn form_body(
    value: &Value,
    shape: &Shape,
    encodings: &[(String, Option<ParamStyle>, Option<bool>)],
) -> Vec<u8> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    let mut all = Vec::new();
    for (name, v) in map {
        let encoding = encodings.iter().find(|(n, _, _)| n == name);
        let (style, explode) = property_style(
            shape.property(name),
            encoding.and_then(|e| e.1),
            encoding.and_then(|e| e.2),
        );
        let style = if matches!(v, Value::Object(_)) && explode {
            ParamStyle::DeepObject
        } else {
            style
        };
        all.extend(pairs(name, v, style, explode));
    }
    encode_query(&all).into_bytes()
}

/// One part of a multipart body.
pub(crate) struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Cow<'a, [u8]>,
}

/// A multipart/form-data body for an object value: files for binary properties, JSON parts
/// for structures, repeated parts for lists of scalars, text parts otherwise.
pub(crate) fn multipart_parts<'a>(
    value: &'a Value,
    shape: &Shape,
    part_types: &[(String, String)],
) -> Vec<Part<'a>> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    for (name, v) in map {
        let prop = shape.property(name);
        let declared_type = part_types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str());
        let json_declared = declared_type.is_some_and(crate::media::is_json);
        match v {
            _ if json_declared => parts.push(json_part(name, v)),
            Value::Object(_) => parts.push(json_part(name, v)),
            Value::Array(items) if items.is_empty() || items.iter().any(is_structured) => {
                parts.push(json_part(name, v));
            }
            Value::Array(items) => {
                let binary = prop.item_shape().binary;
                for item in items {
                    parts.push(scalar_part(name, item, binary, declared_type));
                }
            }
            scalar => parts.push(scalar_part(name, scalar, prop.binary, declared_type)),
        }
    }
    parts
}

fn json_part<'a>(name: &'a str, value: &Value) -> Part<'a> {
    Part {
        name,
        file_name: None,
        content_type: Some("application/json".to_owned()),
        data: Cow::Owned(value.to_string().into_bytes()),
    }
}

fn scalar_part<'a>(
    name: &'a str,
    value: &'a Value,
    binary: bool,
    declared: Option<&str>,
) -> Part<'a> {
    let data = match text(value) {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    };
    if !binary {
        return Part {
            name,
            file_name: None,
            content_type: None,
            data,
        };
    }
    let content_type = declared
        .and_then(|t| t.split(',').next())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.contains('*') && !t.is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Part {
        name,
        file_name: Some(format!("{name}.bin")),
        content_type: Some(content_type),
        data,
    }
}

/// Joins parts with `boundary`.
pub(crate) fn multipart_body(parts: &[Part<'_>], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let name = quote(part.name);
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(file) = &part.file_name {
            out.extend_from_slice(format!("; filename=\"{}\"", quote(file)).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &part.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Header parameter values in Content-Disposition are quoted strings; a name with a quote
/// or line break would end the header early.
fn quote(s: &str) -> Cow<'_, str> {
    if s.contains(['"', '\r', '\n', '\\']) {
        Cow::Owned(s.replace(['"', '\r', '\n', '\\'], "_"))
    } else {
        Cow::Borrowed(s)
    }
}
