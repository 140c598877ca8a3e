//! Turning a value into the bytes of a media type (JSON, XML, text, forms, binary, images).
//!
//! JSON is the common case and is written directly. Other types get the closest sensible
//! body: a string value is sent as it is (an XML or CSV example written as text in the
//! description); structured values become XML elements (named as the schema's `xml`
//! annotations say), form fields, CSV rows or plain text; images that have no example of
//! their own get a tiny valid image of the declared type.

use std::fmt::Write as _;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::schema::{SchemaContext, resolve};

/// Whether `media_type` is JSON (`application/json`, `*+json`, `text/json`).
pub fn is_json(media_type: &str) -> bool {
    let essence = essence(media_type);
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

/// Whether `media_type` is XML (`application/xml`, `text/xml`, `*+xml`).
pub fn is_xml(media_type: &str) -> bool {
    let essence = essence(media_type);
    essence == "application/xml" || essence == "text/xml" || essence.ends_with("+xml")
}

fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Encodes `value` as a body of `media_type`. `schema` guides non-JSON encodings (XML names,
/// attributes and wrapping).
pub fn encode_body(
    media_type: &str,
    value: &Value,
    schema: Option<&Value>,
    ctx: SchemaContext<'_>,
) -> Bytes {
    let essence = essence(media_type);
    if is_json(&essence) || essence.is_empty() {
        return json(value);
    }
    if is_xml(&essence) {
        return match value {
            Value::String(text) => Bytes::from(text.clone()),
            _ => Bytes::from(to_xml(value, schema, ctx)),
        };
    }
    if let Some(image) = placeholder_image(&essence) {
        // A generated string is not an image; a declared example is used as written.
        return match value {
            Value::String(text) if looks_like_image(text) => Bytes::from(text.clone()),
            _ => Bytes::from_static(image),
        };
    }
    match essence.as_str() {
        "application/x-www-form-urlencoded" => match value {
            Value::Object(map) => Bytes::from(to_form(map)),
            other => text(other),
        },
        "text/csv" => match value {
            Value::String(text) => Bytes::from(text.clone()),
            other => Bytes::from(to_csv(other)),
        },
        _ => text(value),
    }
}

fn json(value: &Value) -> Bytes {
    // Serialising a `Value` cannot fail: its keys are strings and its numbers finite.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// Strings as they are, other scalars in their usual spelling, structures as JSON text.
fn text(value: &Value) -> Bytes {
    match value {
        Value::String(text) => Bytes::from(text.clone()),
        Value::Null => Bytes::new(),
        Value::Bool(_) | Value::Number(_) => Bytes::from(value.to_string()),
        Value::Array(_) | Value::Object(_) => json(value),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn to_form(map: &Map<String, Value>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                for item in items {
                    form.append_pair(key, &scalar_text(item));
                }
            }
            Value::Object(_) => {
                form.append_pair(key, &value.to_string());
            }
            other => {
                form.append_pair(key, &scalar_text(other));
            }
        }
    }
    form.finish()
}

/// An array of objects becomes a header row and one row per object; anything else one row.
fn to_csv(value: &Value) -> String {
    let rows: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut columns: Vec<&str> = Vec::new();
    for row in &rows {
        if let Value::Object(map) = row {
            for key in map.keys() {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    let mut out = String::new();
    if !columns.is_empty() {
        let header: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
    }
    for row in rows {
        let fields: Vec<String> = match row {
            Value::Object(map) => columns
                .iter()
                .map(|c| csv_field(&map.get(*c).map(scalar_text).unwrap_or_default()))
                .collect(),
            Value::Array(items) => items.iter().map(|v| csv_field(&scalar_text(v))).collect(),
            other => vec![csv_field(&scalar_text(other))],
        };
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

// 1x1 images, the smallest valid files of each type.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];
const SVG: &[u8] =
    b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\" viewBox=\"0 0 1 1\"/>";

fn placeholder_image(essence: &str) -> Option<&'static [u8]> {
    match essence {
        "image/png" | "image/*" => Some(PNG),
        "image/gif" => Some(GIF),
        "image/svg+xml" => Some(SVG),
        _ => None,
    }
}

/// Whether a declared string plausibly holds the image itself (an inline SVG, say) rather
/// than a description or a generated placeholder.
fn looks_like_image(text: &str) -> bool {
    text.starts_with("<svg") || text.starts_with("<?xml") || text.starts_with("\u{89}PNG")
}

const MAX_XML_DEPTH: usize = 64;

fn to_xml(value: &Value, schema: Option<&Value>, ctx: SchemaContext<'_>) -> String {
    let schema = schema.and_then(|s| resolve(ctx.root, s).map(|r| (s, r)));
    let name = match schema {
        Some((declared, resolved)) => xml_name(resolved)
            .or_else(|| ref_name(declared))
            .unwrap_or("root"),
        None => "root",
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let resolved = schema.map(|(_, r)| r);
    if value.is_array() && !is_wrapped(resolved) {
        // A bare array has no single element to stand for it: wrap it in the root name.
        let _ = write!(out, "<{}>", element_name(name));
        write_element(&mut out, "item", value, resolved, ctx, 1);
        let _ = write!(out, "</{}>", element_name(name));
    } else {
        write_element(&mut out, name, value, resolved, ctx, 0);
    }
    out
}

fn xml_annotation(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("xml").and_then(Value::as_object)
}

fn xml_name(schema: &Value) -> Option<&str> {
    xml_annotation(schema)?.get("name")?.as_str()
}

fn is_wrapped(schema: Option<&Value>) -> bool {
    schema
        .and_then(xml_annotation)
        .and_then(|x| x.get("wrapped"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn is_attribute(schema: Option<&Value>) -> bool {
    schema
        .and_then(xml_annotation)
        .and_then(|x| x.get("attribute"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.rsplit('/').next()
}

/// The schema of property `key`: in `properties`, or in those of the `allOf` parts.
fn property_schema<'v>(schema: &'v Value, key: &str, ctx: SchemaContext<'v>) -> Option<&'v Value> {
    if let Some(found) = schema.get("properties").and_then(|p| p.get(key)) {
        return resolve(ctx.root, found);
    }
    schema
        .get("allOf")?
        .as_array()?
        .iter()
        .filter_map(|part| resolve(ctx.root, part))
        .find_map(|part| property_schema(part, key, ctx))
}

fn write_element(
    out: &mut String,
    name: &str,
    value: &Value,
    schema: Option<&Value>,
    ctx: SchemaContext<'_>,
    depth: usize,
) {
    let tag = element_name(name);
    if depth > MAX_XML_DEPTH {
        let _ = write!(out, "<{tag}/>");
        return;
    }
    match value {
        Value::Array(items) => {
            let items_schema = schema
                .and_then(|s| s.get("items"))
                .and_then(|i| resolve(ctx.root, i));
            let item_name = items_schema.and_then(xml_name).unwrap_or(name);
            if is_wrapped(schema) {
                let _ = write!(out, "<{tag}>");
                for item in items {
                    write_element(out, item_name, item, items_schema, ctx, depth + 1);
                }
                let _ = write!(out, "</{tag}>");
            } else {
                for item in items {
                    write_element(out, item_name, item, items_schema, ctx, depth + 1);
                }
            }
        }
        Value::Object(map) => {
            let _ = write!(out, "<{tag}");
            let mut children = Vec::with_capacity(map.len());
            for (key, child) in map {
                let child_schema = schema.and_then(|s| property_schema(s, key, ctx));
                let child_name = child_schema.and_then(xml_name).unwrap_or(key);
                if is_attribute(child_schema) && !child.is_object() && !child.is_array() {
                    let _ = write!(
                        out,
                        " {}=\"{}\"",
                        element_name(child_name),
                        escape(&scalar_text(child))
                    );
                } else {
                    children.push((child_name, child, child_schema));
                }
            }
            out.push('>');
            for (child_name, child, child_schema) in children {
                write_element(out, child_name, child, child_schema, ctx, depth + 1);
            }
            let _ = write!(out, "</{tag}>");
        }
        Value::Null => {
            let _ = write!(out, "<{tag}/>");
        }
        scalar => {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape(&scalar_text(scalar)));
        }
    }
}

/// A valid XML element name for `name`: characters outside the name alphabet become `_`,
/// and a name that cannot start an element gets a leading `_`.
fn element_name(name: &str) -> std::borrow::Cow<'_, str> {
    let valid_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    let valid_rest = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if valid_start && valid_rest {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut fixed = String::with_capacity(name.len() + 1);
    if !valid_start {
        fixed.push('_');
    }
    for c in name.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
            fixed.push(c);
        } else {
            fixed.push('_');
        }
    }
    std::borrow::Cow::Owned(fixed)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::Direction;

    fn ctx(root: &Value) -> SchemaContext<'_> {
        SchemaContext {
            root,
            legacy: true,
            direction: Direction::Response,
        }
    }

    #[test]
    fn json_types_are_serialised() {
        let root = json!({});
        let body = encode_body(
            "application/vnd.api+json",
            &json!({"a": 1}),
            None,
            ctx(&root),
        );
        assert_eq!(&body[..], br#"{"a":1}"#);
    }

    #[test]
    fn xml_follows_the_schema_annotations() {
        let root = json!({"components": {"schemas": {
            "Pet": {
                "type": "object",
                "xml": {"name": "pet"},
                "properties": {
                    "id": {"type": "integer", "xml": {"attribute": true}},
                    "name": {"type": "string"},
                    "tags": {
                        "type": "array",
                        "xml": {"wrapped": true},
                        "items": {"type": "string", "xml": {"name": "tag"}}
                    }
                }
            }
        }}});
        let schema = json!({"$ref": "#/components/schemas/Pet"});
        let value = json!({"id": 7, "name": "Rex & co", "tags": ["a", "b"]});
        let body = encode_body("application/xml", &value, Some(&schema), ctx(&root));
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <pet id=\"7\"><name>Rex &amp; co</name><tags><tag>a</tag><tag>b</tag></tags></pet>"
        );
    }

    #[test]
    fn xml_without_a_schema_uses_neutral_names() {
        let root = json!({});
        let body = encode_body("text/xml", &json!([1, {"2x": null}]), None, ctx(&root));
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <root><item>1</item><item><_2x/></item></root>"
        );
    }

    #[test]
    fn string_examples_are_sent_as_written() {
        let root = json!({});
        for media in [
            "application/xml",
            "text/plain",
            "text/csv",
            "application/octet-stream",
        ] {
            let body = encode_body(media, &json!("<a/>"), None, ctx(&root));
            assert_eq!(&body[..], b"<a/>", "{media}");
        }
    }

    #[test]
    fn images_without_examples_are_real_images() {
        let root = json!({});
        let png = encode_body("image/png", &json!("c29tZQ=="), None, ctx(&root));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let gif = encode_body("image/gif", &json!(null), None, ctx(&root));
        assert!(gif.starts_with(b"GIF89a"));
    }

    #[test]
    fn forms_and_csv_are_encoded() {
        let root = json!({});
        let form = encode_body(
            "application/x-www-form-urlencoded",
            &json!({"a": "x y", "b": [1, 2]}),
            None,
            ctx(&root),
        );
        assert_eq!(&form[..], b"a=x+y&b=1&b=2");
        let csv = encode_body(
            "text/csv",
            &json!([{"id": 1, "note": "a,b"}, {"id": 2}]),
            None,
            ctx(&root),
        );
        assert_eq!(&csv[..], b"id,note\r\n1,\"a,b\"\r\n2,\r\n");
    }

    #[test]
    fn text_scalars_are_plain() {
        let root = json!({});
        assert_eq!(
            &encode_body("text/plain", &json!(42), None, ctx(&root))[..],
            b"42"
        );
        assert_eq!(
            &encode_body("text/plain", &json!(null), None, ctx(&root))[..],
            b""
        );
    }
}
