//! Request bodies: matching the request's Content-Type against the declared media types and
//! decoding JSON, urlencoded form and multipart bodies into JSON for schema validation.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use serde_json::{Map, Value};
use spec::{MediaType, ParamStyle};

use super::percent::parse_pairs;
use super::shape::{ANY, Container, Raw, Shape, coerce, ty};
use super::style::{Field, Fields, TooDeep};

/// How a declared media type matches request media types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaPattern {
    /// `application/json` (essence, lowercase).
    Exact(String),
    /// `application/*+json`: a type and a structured-syntax suffix.
    Suffix { top: String, suffix: String },
    /// `image/*`.
    Top(String),
    /// `*/*`.
    Any,
}

/// The essence (`type/subtype`, lowercase, no parameters) of a media type.
pub(crate) fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

impl MediaPattern {
    pub(crate) fn parse(declared: &str) -> MediaPattern {
        let essence = essence(declared);
        let (top, sub) = essence.split_once('/').unwrap_or((&essence, ""));
        match (top, sub) {
            ("*", _) => MediaPattern::Any,
            (top, "*") => MediaPattern::Top(top.to_owned()),
            (top, sub) if sub.starts_with("*+") => MediaPattern::Suffix {
                top: top.to_owned(),
                suffix: sub[1..].to_owned(),
            },
            _ => MediaPattern::Exact(essence),
        }
    }

    /// How well `request` (an essence) matches: higher is more specific, `None` is no match.
    /// JSON variants match each other last, so `application/merge-patch+json` finds a
    /// declared `application/json` when nothing closer is declared.
    pub(crate) fn score(&self, request: &str) -> Option<u8> {
        let (top, sub) = request.split_once('/').unwrap_or((request, ""));
        match self {
            MediaPattern::Exact(e) if e == request => Some(4),
            MediaPattern::Suffix { top: t, suffix }
                if t == top && sub.ends_with(suffix.as_str()) =>
            {
                Some(3)
            }
            MediaPattern::Top(t) if t == top => Some(2),
            MediaPattern::Any => Some(1),
            MediaPattern::Exact(e)
                if crate::media::is_json(e) && crate::media::is_json(request) =>
            {
                Some(0)
            }
            _ => None,
        }
    }
}

/// How a request body is read, decided by the request's own Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Form,
    Multipart,
    Text,
    Bytes,
}

impl BodyKind {
    pub(crate) fn of(essence: &str) -> BodyKind {
        if crate::media::is_json(essence) {
            BodyKind::Json
        } else if essence == "application/x-www-form-urlencoded" {
            BodyKind::Form
        } else if essence == "multipart/form-data" {
            BodyKind::Multipart
        } else if essence.starts_with("text/") {
            BodyKind::Text
        } else {
            BodyKind::Bytes
        }
    }
}

/// Per-property settings of a form or multipart body (`encoding`).
#[derive(Debug, Clone)]
pub(crate) struct PropEncoding {
    pub name: String,
    pub style: Option<ParamStyle>,
    pub explode: Option<bool>,
    /// The encoding's content type is JSON: the part holds JSON text.
    pub json: bool,
}

impl PropEncoding {
    pub(crate) fn from_media(media: &MediaType) -> Vec<PropEncoding> {
        media
            .encoding
            .iter()
            .map(|(name, enc)| PropEncoding {
                name: name.clone(),
                style: enc.style,
                explode: enc.explode,
                json: enc
                    .content_type
                    .as_deref()
                    .is_some_and(crate::media::is_json),
            })
            .collect()
    }
}

/// Where decoding a body failed: malformed input, with a pointer-ish name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken {
    pub name: String,
    pub message: String,
}

impl Broken {
    fn new(name: impl Into<String>, message: impl Into<String>) -> Broken {
        Broken {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// Parses a JSON body.
pub(crate) fn decode_json(body: &[u8]) -> Result<Value, Broken> {
    serde_json::from_slice(body).map_err(|e| Broken::new("", format!("invalid json: {e}")))
}

/// Decodes a urlencoded form body into an object shaped by `shape`. Every broken pair is
/// reported; the value is built from the rest.
pub(crate) fn decode_form(
    body: &[u8],
    shape: &Shape,
    encodings: &[PropEncoding],
    broken: &mut Vec<Broken>,
) -> Option<Value> {
    let Ok(text) = std::str::from_utf8(body) else {
        broken.push(Broken::new("", "form body is not valid utf-8"));
        return None;
    };
    let (pairs, errors) = parse_pairs(text);
    for e in errors {
        broken.push(Broken::new(
            field_name(e.raw),
            format!("{} in '{}'", e.error.describe(), e.raw),
        ));
    }
    let fields = pairs.into_iter().map(|p| Field {
        key: p.key,
        value: Raw::Text(p.value),
    });
    let mut fields = Fields::new(fields.collect());
    match assemble(&mut fields, shape, encodings) {
        Ok(value) => Some(value),
        Err(TooDeep) => {
            broken.push(Broken::new("", "form field names nest brackets too deeply"));
            None
        }
    }
}

fn field_name(raw_pair: &str) -> String {
    let key = raw_pair.split_once('=').map_or(raw_pair, |(k, _)| k);
    super::percent::decode(key, true).map_or_else(|_| key.to_owned(), Cow::into_owned)
}

/// Decodes a multipart/form-data body. `content_type` is the full request header value
/// (for the boundary).
pub(crate) fn decode_multipart(
    body: &[u8],
    content_type: &str,
    shape: &Shape,
    encodings: &[PropEncoding],
    broken: &mut Vec<Broken>,
) -> Option<Value> {
    let boundary = match multer::parse_boundary(content_type) {
        Ok(b) => b,
        Err(_) => {
            broken.push(Broken::new(
                "",
                "multipart content-type has no boundary parameter",
            ));
            return None;
        }
    };
    let parts = match read_parts(body, boundary) {
        Ok(parts) => parts,
        Err(message) => {
            broken.push(Broken::new("", format!("broken multipart body: {message}")));
            return None;
        }
    };
    let mut fields = Vec::with_capacity(parts.len());
    for part in parts {
        let Some(name) = part.name.clone() else {
            broken.push(Broken::new("", "multipart part without a name"));
            continue;
        };
        match part_value(&part, &name, shape, encodings) {
            Ok(value) => fields.push(Field {
                key: Cow::Owned(name),
                value,
            }),
            Err(message) => broken.push(Broken::new(name, message)),
        }
    }
    let mut fields = Fields::new(fields);
    match assemble(&mut fields, shape, encodings) {
        Ok(value) => Some(value),
        Err(TooDeep) => {
            broken.push(Broken::new(
                "",
                "multipart part names nest brackets too deeply",
            ));
            None
        }
    }
}

/// One part of a multipart body.
#[derive(Debug)]
struct Part {
    name: Option<String>,
    file_name: Option<String>,
    /// Essence of the part's Content-Type, if it has one.
    content_type: Option<String>,
    data: Bytes,
}

/// Reads all parts. multer is asynchronous; the whole body is already in memory, so every
/// future it returns is ready on first poll and a no-op waker drives it. A future that is
/// still pending means multer wanted more input than there is: an incomplete body.
fn read_parts(body: &[u8], boundary: String) -> Result<Vec<Part>, String> {
    let chunk = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::iter([Ok::<Bytes, Infallible>(chunk)]);
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    loop {
        let field = match poll_now(multipart.next_field()) {
            Some(Ok(Some(field))) => field,
            Some(Ok(None)) => return Ok(parts),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("incomplete multipart stream".to_owned()),
        };
        let name = field.name().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .map(|m| m.essence_str().to_ascii_lowercase());
        let data = match poll_now(field.bytes()) {
            Some(Ok(data)) => data,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("incomplete multipart stream".to_owned()),
        };
        parts.push(Part {
            name,
            file_name,
            content_type,
            data,
        });
    }
}

fn poll_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// What a part holds: JSON when it says so (its own or the encoding's Content-Type) or when
/// an object is expected and it looks like JSON (the OpenAPI default for object
/// properties); bytes for files and non-text parts; otherwise text to coerce.
fn part_value(
    part: &Part,
    name: &str,
    shape: &Shape,
    encodings: &[PropEncoding],
) -> Result<Raw<'static>, String> {
    let bracketed = name.contains('[');
    let prop = if bracketed {
        &ANY
    } else {
        shape.property(name)
    };
    let encoding = encodings.iter().find(|e| e.name == name);
    let declared_json = part
        .content_type
        .as_deref()
        .is_some_and(crate::media::is_json)
        || encoding.is_some_and(|e| e.json);
    let structured = prop.container(false) == Container::Object || prop.has_structured_items();
    let looks_json = matches!(part.data.first(), Some(b'{' | b'['));
    let textual = part
        .content_type
        .as_deref()
        .is_none_or(|ct| ct.starts_with("text/"));

    if declared_json || (structured && textual && part.file_name.is_none() && looks_json) {
        return serde_json::from_slice(&part.data)
            .map(Raw::Value)
            .map_err(|e| format!("part is not valid json: {e}"));
    }
    if part.file_name.is_some() || prop.binary || !textual {
        // File contents are binary strings to the schema; invalid UTF-8 is expected here.
        return Ok(Raw::Value(Value::String(
            String::from_utf8_lossy(&part.data).into_owned(),
        )));
    }
    match std::str::from_utf8(&part.data) {
        Ok(text) => Ok(Raw::Text(Cow::Owned(text.to_owned()))),
        Err(_) => Err("text part is not valid utf-8".to_owned()),
    }
}

/// Builds the body object: declared properties read in their encoding style (objects and
/// arrays of objects in bracket notation unless an encoding says otherwise), the remaining
/// fields as they are, so `additionalProperties: false` can reject them.
fn assemble(
    fields: &mut Fields<'_>,
    shape: &Shape,
    encodings: &[PropEncoding],
) -> Result<Value, TooDeep> {
    let mut object = Map::new();
    for (name, prop) in &shape.properties {
        let encoding = encodings.iter().find(|e| e.name == *name);
        let container = prop.container(false);
        let default_style = if container == Container::Object {
            ParamStyle::DeepObject
        } else {
            ParamStyle::Form
        };
        let style = encoding.and_then(|e| e.style).unwrap_or(default_style);
        let explode = encoding.and_then(|e| e.explode).unwrap_or(true);
        if let Some(raw) = fields.gather(name, style, explode, container)? {
            object.insert(name.clone(), coerce(raw, prop, false));
        }
    }
    for (key, raw) in fields.take_unused()? {
        if !object.contains_key(key.as_ref()) {
            let value = coerce(raw, shape.property(&key), false);
            object.insert(key.into_owned(), value);
        }
    }
    Ok(Value::Object(object))
}

/// A text body, checked against the schema only when the schema is a plain string.
pub(crate) fn decode_text(body: &[u8], shape: &Shape) -> Result<Option<Value>, Broken> {
    if shape.types & !ty::NULL != ty::STRING {
        return Ok(None);
    }
    match std::str::from_utf8(body) {
        Ok(text) => Ok(Some(Value::String(text.to_owned()))),
        Err(_) => Err(Broken::new("", "text body is not valid utf-8")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape(schema: Value) -> Shape {
        Shape::of(&schema, &json!({}))
    }

    #[test]
    fn matches_media_types_by_specificity() {
        let cases = [
            ("application/json", "application/json", Some(4)),
            ("application/*+json", "application/vnd.api+json", Some(3)),
            ("application/*", "application/xml", Some(2)),
            ("*/*", "image/png", Some(1)),
            ("application/json", "application/merge-patch+json", Some(0)),
            ("application/json", "text/plain", None),
            ("application/xml", "application/json", None),
            (
                "Application/JSON; charset=utf-8",
                "application/json",
                Some(4),
            ),
        ];
        for (declared, request, expected) in cases {
            assert_eq!(
                MediaPattern::parse(declared).score(request),
                expected,
                "{declared} vs {request}"
            );
        }
    }

    #[test]
    fn decodes_form_bodies_with_encodings() {
        let schema = shape(json!({"type": "object", "properties": {
            "amount": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ids": {"type": "array", "items": {"type": "integer"}},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}}
        }}));
        let encodings = vec![PropEncoding {
            name: "ids".into(),
            style: Some(ParamStyle::PipeDelimited),
            explode: Some(false),
            json: false,
        }];
        let mut broken = Vec::new();
        let body = b"amount=5&tags=a&tags=b&ids=1|2&meta[k]=v&extra=x";
        let got = decode_form(body, &schema, &encodings, &mut broken);
        assert!(broken.is_empty(), "{broken:?}");
        assert_eq!(
            got,
            Some(
                json!({"amount": 5, "tags": ["a", "b"], "ids": [1, 2], "meta": {"k": "v"},
                    "extra": "x"})
            )
        );
    }

    /// A test part: name, file name, content type, data.
    type TestPart<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn multipart(parts: &[TestPart<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, ct, data) in parts {
            out.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
            if let Some(file) = file {
                out.extend_from_slice(format!("; filename=\"{file}\"").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            if let Some(ct) = ct {
                out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    #[test]
    fn decodes_multipart_bodies() {
        let schema = shape(json!({"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"},
            "count": {"type": "integer"},
            "meta": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "string"}}
        }}));
        let body = multipart(&[
            (
                "file",
                Some("a.bin"),
                Some("application/octet-stream"),
                &[0xff, 0x00, 0x41],
            ),
            ("count", None, None, b"3"),
            ("meta", None, Some("application/json"), br#"{"a":1}"#),
            ("tags", None, None, b"x"),
            ("tags", None, None, b"y"),
        ]);
        let mut broken = Vec::new();
        let got = decode_multipart(
            &body,
            "multipart/form-data; boundary=XyZ",
            &schema,
            &[],
            &mut broken,
        );
        assert!(broken.is_empty(), "{broken:?}");
        let got = got.unwrap();
        assert_eq!(got["count"], json!(3));
        assert_eq!(got["meta"], json!({"a": 1}));
        assert_eq!(got["tags"], json!(["x", "y"]));
        assert!(got["file"].is_string());
    }

    #[test]
    fn reports_broken_multipart_bodies() {
        let schema = shape(json!({"type": "object"}));
        let good = multipart(&[("a", None, None, b"1")]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                good[..good.len() - 9].to_vec(),
                "multipart/form-data; boundary=XyZ",
            ),
            (b"garbage".to_vec(), "multipart/form-data; boundary=XyZ"),
            (good.clone(), "multipart/form-data"),
            (good.clone(), "multipart/form-data; boundary=Other"),
            (
                multipart(&[("a", None, Some("application/json"), b"{")]),
                "multipart/form-data; boundary=XyZ",
            ),
            (
                multipart(&[("a", None, None, &[0xff, 0xfe])]),
                "multipart/form-data; boundary=XyZ",
            ),
        ];
        for (body, ct) in cases {
            let mut broken = Vec::new();
            decode_multipart(&body, ct, &schema, &[], &mut broken);
            assert!(
                !broken.is_empty(),
                "accepted {:?} with {ct}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
