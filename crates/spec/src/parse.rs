//! Turns a document's text into a JSON value: JSON or YAML, told apart by content.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The syntax a document was read in; kept to find lines again when reporting errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

/// A syntax error with its place in the text.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// Decodes document bytes as UTF-8 (a byte-order mark is dropped).
pub(crate) fn decode(bytes: Vec<u8>) -> Result<String, SyntaxError> {
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        SyntaxError {
            message: "not valid utf-8 text".to_owned(),
            line: u32::try_from(line).ok(),
            column: None,
        }
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Parses `text` as JSON when it looks like JSON (first non-blank character `{` or `[`), else
/// as YAML. YAML aliases are expanded, merge keys (`<<`) applied, and plain scalar mapping
/// keys such as `200` kept as the strings they were written as.
pub(crate) fn parse(text: &str) -> Result<(Value, Format), SyntaxError> {
    let looks_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if looks_like_json {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => return Ok((value, Format::Json)),
            Err(json_err) => {
                // A YAML flow mapping (`{a: 1}`) also starts with a brace: accept it as YAML,
                // but when both fail the JSON message is the one that fits what was written.
                return match parse_yaml(text) {
                    Ok(value) => Ok((value, Format::Yaml)),
                    Err(_) => Err(json_error(&json_err)),
                };
            }
        }
    }
    parse_yaml(text).map(|value| (value, Format::Yaml))
}

fn json_error(err: &serde_json::Error) -> SyntaxError {
    let text = err.to_string();
    // serde_json appends " at line N column M"; the diagnostic prints the place itself.
    let message = match text.rfind(" at line ") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    SyntaxError {
        message: format!("invalid json: {message}"),
        line: u32::try_from(err.line()).ok().filter(|l| *l > 0),
        column: u32::try_from(err.column()).ok().filter(|c| *c > 0),
    }
}

fn parse_yaml(text: &str) -> Result<Value, SyntaxError> {
    // Deserialising straight into `serde_json::Value` skips an intermediate YAML tree: half
    // the allocations of going through `serde_yaml_ng::Value` for the multi-MiB documents.
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let mut value = ValueSeed.deserialize(deserializer).map_err(|e| {
        let location = e.location();
        SyntaxError {
            message: format!("invalid yaml: {e}"),
            line: location.as_ref().and_then(|l| u32::try_from(l.line()).ok()),
            column: location
                .as_ref()
                .and_then(|l| u32::try_from(l.column()).ok()),
        }
    })?;
    // Only a document that spells `<<` somewhere can hold a merge key; skip the walk otherwise.
    if text.contains("<<") {
        apply_merge_keys(&mut value);
    }
    Ok(value)
}

/// Builds a `serde_json::Value` from YAML like serde_json's own visitor, except that
/// integers beyond 64 bits (`minimum: -9223372036854776000` in a real document) become
/// floats instead of failing the whole load, and non-finite floats become null.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any yaml value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(match (i64::try_from(v), u64::try_from(v)) {
            (Ok(small), _) => Value::Number(small.into()),
            (_, Ok(small)) => Value::Number(small.into()),
            // Precision is lost, as any JSON reader without big numbers would lose it.
            #[allow(clippy::cast_precision_loss)]
            _ => float(v as f64),
        })
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(match u64::try_from(v) {
            Ok(small) => Value::Number(small.into()),
            #[allow(clippy::cast_precision_loss)]
            Err(_) => float(v as f64),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    /// A node with a local tag (`!include x`, `!Ref y`): the tag means nothing to a
    /// description, so the node is read as if it had none. (Core tags such as `!!str` are
    /// applied by the parser and never get here.)
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_tag, content) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(content, ValueSeed)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        // Keys are asked for as strings: serde_yaml_ng then hands over any scalar key as the
        // text it was written as, so `200:` becomes "200".
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Applies YAML merge keys everywhere in `value`: the entries of the mapping (or list of
/// mappings) under `<<` are added where the `<<` stood, unless the mapping has its own entry
/// of that name; among several sources the first one wins.
fn apply_merge_keys(value: &mut Value) {
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                merge_into(map);
                stack.extend(map.values_mut());
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

fn merge_into(map: &mut Map<String, Value>) {
    let Some(sources) = map.get("<<") else { return };
    let well_formed = match sources {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().all(Value::is_object),
        _ => false,
    };
    if !well_formed {
        // Not a merge in the YAML sense; keep the entry as data.
        return;
    }
    let old = std::mem::take(map);
    let mut sources = Vec::new();
    let mut own = Vec::with_capacity(old.len());
    for (key, value) in old {
        if key == "<<" {
            own.push(None);
            match value {
                Value::Object(source) => sources.push(source),
                Value::Array(items) => sources.extend(items.into_iter().filter_map(|v| match v {
                    Value::Object(source) => Some(source),
                    _ => None,
                })),
                _ => {}
            }
        } else {
            own.push(Some((key, value)));
        }
    }
    // A source may itself merge others (a chain of anchors); resolve it before copying. The
    // depth is bounded by the document's nesting, which the parser already limits.
    for source in &mut sources {
        merge_into(source);
    }
    let own_keys: std::collections::HashSet<&String> =
        own.iter().flatten().map(|(key, _)| key).collect();
    let mut merged = Map::new();
    for source in sources {
        for (key, value) in source {
            if !own_keys.contains(&key) && !merged.contains_key(&key) {
                merged.insert(key, value);
            }
        }
    }
    drop(own_keys);
    let mut merged = Some(merged);
    for entry in own {
        match entry {
            Some((key, value)) => {
                map.insert(key, value);
            }
            None => {
                if let Some(merged) = merged.take() {
                    map.extend(merged);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integer_keys_stay_strings_in_declaration_order() {
        let (value, format) = parse("responses:\n  201: {description: made}\n  200: ok\n").unwrap();
        assert_eq!(format, Format::Yaml);
        let keys: Vec<&String> = value["responses"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["201", "200"]);
    }

    #[test]
    fn aliases_and_merge_keys_are_resolved() {
        let text = "\
base: &base {type: string, format: uuid}
named: &named
  <<: *base
  format: email
both:
  <<: [*named, {minLength: 3, type: integer}]
  maxLength: 9
copy: *base
";
        let (value, _) = parse(text).unwrap();
        assert_eq!(value["named"], json!({"type": "string", "format": "email"}));
        assert_eq!(
            value["both"],
            json!({"type": "string", "format": "email", "minLength": 3, "maxLength": 9})
        );
        assert_eq!(value["copy"], json!({"type": "string", "format": "uuid"}));
        let order: Vec<&String> = value["named"].as_object().unwrap().keys().collect();
        assert_eq!(order, ["type", "format"]);
    }

    #[test]
    fn local_tags_are_dropped() {
        let (value, _) = parse("a: !name text\nb: !list [1, 2]\nc: !map {d: !!int '3'}\n").unwrap();
        assert_eq!(value, json!({"a": "text", "b": [1, 2], "c": {"d": 3}}));
    }

    #[test]
    fn integers_beyond_64_bits_become_floats() {
        let (value, _) =
            parse("minimum: -9223372036854776000\nmaximum: 18446744073709551615\n").unwrap();
        assert_eq!(value["minimum"], json!(-9.223372036854776e18));
        assert_eq!(value["maximum"], json!(18446744073709551615u64));
    }

    #[test]
    fn json_is_detected_by_content() {
        let (value, format) = parse("  {\"openapi\": \"3.0.0\"}").unwrap();
        assert_eq!(format, Format::Json);
        assert_eq!(value["openapi"], "3.0.0");
    }

    #[test]
    fn yaml_flow_mappings_starting_with_a_brace_still_parse() {
        let (value, format) = parse("{openapi: 3.1.0, paths: {}}").unwrap();
        assert_eq!(format, Format::Yaml);
        assert_eq!(value["openapi"], "3.1.0");
    }

    #[test]
    fn broken_yaml_reports_line_and_column() {
        let err = parse("openapi: 3.0.0\ninfo:\n  title: x\n  - broken\n").unwrap_err();
        assert!(err.message.starts_with("invalid yaml: "), "{}", err.message);
        assert_eq!(err.line, Some(4));
        assert!(err.column.is_some());
    }

    #[test]
    fn broken_json_reports_line_and_column_without_repeating_them() {
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.column, Some(7));
        assert_eq!(err.message, "invalid json: expected `:`");
    }

    #[test]
    fn byte_order_marks_are_dropped() {
        let text = decode(b"\xef\xbb\xbfopenapi: 3.0.0".to_vec()).unwrap();
        assert_eq!(text, "openapi: 3.0.0");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = decode(b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(err.line, Some(2));
    }
}
