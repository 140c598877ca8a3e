//! Finds the line and column of a JSON pointer in a document's text, only to report errors.
//!
//! Nothing here runs while a good description loads: positions are looked up again from the
//! text once something has gone wrong, so the happy path keeps no position tables.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::parse::Format;

/// 1-based line and column (in characters) of what `pointer` names: the key of an object
/// member, the start of an array element. When the pointer goes further than the text (a
/// missing member, say), the deepest part that exists is given. `None` if the text cannot be
/// read at all.
pub(crate) fn locate(text: &str, format: Format, pointer: &str) -> Option<(u32, u32)> {
    let tokens = tokens(pointer);
    match format {
        Format::Json => {
            let offset = json_offset(text, &tokens)?;
            Some(line_and_column(text, offset))
        }
        Format::Yaml => yaml_position(text, &tokens),
    }
}

fn tokens(pointer: &str) -> Vec<Cow<'_, str>> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|t| {
            if t.contains('~') {
                Cow::Owned(t.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(t)
            }
        })
        .collect()
}

fn line_and_column(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Byte offset of the deepest existing part of `tokens` in JSON `text`.
fn json_offset(text: &str, tokens: &[Cow<'_, str>]) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = skip_blank(bytes, 0);
    let mut found = pos;
    for token in tokens {
        match bytes.get(pos)? {
            b'{' => {
                pos += 1;
                loop {
                    pos = skip_blank(bytes, pos);
                    if bytes.get(pos) != Some(&b'"') {
                        return Some(found);
                    }
                    let key_start = pos;
                    let (key, after) = json_string(text, pos)?;
                    pos = skip_blank(bytes, after);
                    if bytes.get(pos) != Some(&b':') {
                        return Some(found);
                    }
                    pos = skip_blank(bytes, pos + 1);
                    if key == *token {
                        found = key_start;
                        break;
                    }
                    pos = skip_blank(bytes, skip_json_value(bytes, pos)?);
                    if bytes.get(pos) != Some(&b',') {
                        return Some(found);
                    }
                    pos += 1;
                }
            }
            b'[' => {
                let Ok(index) = token.parse::<usize>() else {
                    return Some(found);
                };
                pos = skip_blank(bytes, pos + 1);
                for _ in 0..index {
                    if bytes.get(pos) == Some(&b']') {
                        return Some(found);
                    }
                    pos = skip_blank(bytes, skip_json_value(bytes, pos)?);
                    if bytes.get(pos) != Some(&b',') {
                        return Some(found);
                    }
                    pos = skip_blank(bytes, pos + 1);
                }
                if matches!(bytes.get(pos), None | Some(b']')) {
                    return Some(found);
                }
                found = pos;
            }
            _ => return Some(found),
        }
    }
    Some(found)
}

fn skip_blank(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// The decoded string starting at `start` (a `"`) and the offset after its closing quote.
fn json_string(text: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let end = json_string_end(text.as_bytes(), start)?;
    let raw = &text[start + 1..end - 1];
    if raw.contains('\\') {
        let decoded: String = serde_json::from_str(&text[start..end]).ok()?;
        Some((Cow::Owned(decoded), end))
    } else {
        Some((Cow::Borrowed(raw), end))
    }
}

fn json_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut pos = start + 1;
    loop {
        match bytes.get(pos)? {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
}

/// The offset just after the value starting at `pos`. Nesting is tracked with a counter, not
/// recursion, so deep documents cannot exhaust the stack.
fn skip_json_value(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match bytes.get(pos)? {
            b'"' => pos = json_string_end(bytes, pos)?,
            b'{' | b'[' => {
                depth += 1;
                pos += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                pos += 1;
            }
            _ if depth == 0 => {
                while !matches!(
                    bytes.get(pos),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    pos += 1;
                }
                return Some(pos);
            }
            _ => pos += 1,
        }
        if depth == 0 {
            return Some(pos);
        }
    }
}

/// serde_yaml_ng reports positions only through errors, so the walk stops on purpose with
/// an error at the node it was looking for and reads the position from that error.
const FOUND: &str = "\u{0}mockloop-found";
const MISSING: &str = "\u{0}mockloop-missing:";

fn yaml_position(text: &str, tokens: &[Cow<'_, str>]) -> Option<(u32, u32)> {
    if tokens.is_empty() {
        return Some((1, 1));
    }
    let mut depth = tokens.len();
    // At most two passes: the whole pointer, then (when part of it is missing) the deepest
    // prefix that exists.
    for _ in 0..2 {
        let seek = Seek {
            tokens: &tokens[..depth],
            depth: 0,
        };
        let err = match seek.deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
            Ok(()) => return None,
            Err(err) => err,
        };
        // The message carries the path walked so far before our marker.
        let message = err.to_string();
        if message.contains(FOUND) {
            let location = err.location()?;
            return Some((
                u32::try_from(location.line()).ok()?,
                u32::try_from(location.column()).ok()?,
            ));
        }
        let missing_at: usize = message
            .split_once(MISSING)?
            .1
            .split(' ')
            .next()?
            .parse()
            .ok()?;
        if missing_at == 0 {
            return Some((1, 1));
        }
        depth = missing_at;
    }
    None
}

/// Walks toward `tokens[depth..]`.
struct Seek<'t, 'p> {
    tokens: &'t [Cow<'p, str>],
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth == self.tokens.len() {
            deserializer.deserialize_any(Found)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl Seek<'_, '_> {
    fn missing<E: de::Error>(&self) -> E {
        E::custom(format!("{MISSING}{}", self.depth))
    }

    fn deeper(&self) -> Self {
        Seek {
            tokens: self.tokens,
            depth: self.depth + 1,
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping or sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let token = &self.tokens[self.depth];
        let last = self.depth + 1 == self.tokens.len();
        while let Some(matched) = map.next_key_seed(Key { token, last })? {
            if matched {
                return map.next_value_seed(self.deeper());
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(self.missing())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Ok(index) = self.tokens[self.depth].parse::<usize>() else {
            return Err(self.missing());
        };
        for _ in 0..index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(self.missing());
            }
        }
        match seq.next_element_seed(self.deeper())? {
            Some(()) => Ok(()),
            None => Err(self.missing()),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.missing())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(self.missing())
    }
}

/// A mapping key: `true` when it is the token looked for. The last token stops right at the
/// key, so the position reported is the key's line (`get:`), not its value's.
struct Key<'a> {
    token: &'a str,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key == self.token && self.last {
            return Err(E::custom(FOUND));
        }
        Ok(key == self.token)
    }
}

/// Stops at whatever node it is given.
struct Found;

impl Found {
    fn stop<E: de::Error>() -> Result<(), E> {
        Err(E::custom(FOUND))
    }
}

impl<'de> Visitor<'de> for Found {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any node")
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Found::stop()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Found::stop()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Found::stop()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Found::stop()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Found::stop()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Found::stop()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Found::stop()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Found::stop()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Found::stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
openapi: 3.0.0
paths:
  /pets/{id}:
    get:
      parameters:
        - name: id
          in: path
        - in: query
      responses:
        200: {description: ok}
";

    #[test]
    fn yaml_member_keys_are_found() {
        assert_eq!(
            locate(YAML, Format::Yaml, "/paths/~1pets~1{id}/get"),
            Some((4, 5))
        );
        assert_eq!(
            locate(YAML, Format::Yaml, "/paths/~1pets~1{id}/get/responses/200"),
            Some((10, 9))
        );
    }

    #[test]
    fn yaml_array_elements_are_found() {
        assert_eq!(
            locate(YAML, Format::Yaml, "/paths/~1pets~1{id}/get/parameters/1"),
            Some((8, 11))
        );
    }

    #[test]
    fn yaml_missing_members_fall_back_to_the_deepest_existing_part() {
        assert_eq!(
            locate(
                YAML,
                Format::Yaml,
                "/paths/~1pets~1{id}/get/parameters/1/name"
            ),
            Some((8, 11))
        );
        assert_eq!(locate(YAML, Format::Yaml, "/nothing/here"), Some((1, 1)));
    }

    #[test]
    fn json_members_and_elements_are_found() {
        let text =
            "{\n  \"a\": {\"b\\/c\": [1, {\"d\": 2}]},\n  \"e\": [\n    true,\n    {}\n  ]\n}";
        assert_eq!(locate(text, Format::Json, "/a"), Some((2, 3)));
        assert_eq!(locate(text, Format::Json, "/a/b~1c/1/d"), Some((2, 22)));
        assert_eq!(locate(text, Format::Json, "/e/1"), Some((5, 5)));
        assert_eq!(locate(text, Format::Json, "/e/7"), Some((3, 3)));
        assert_eq!(locate(text, Format::Json, ""), Some((1, 1)));
    }

    #[test]
    fn minified_json_gives_a_column() {
        let text = r#"{"paths":{"/x":{"get":{"responses":"oops"}}}}"#;
        assert_eq!(
            locate(text, Format::Json, "/paths/~1x/get/responses"),
            Some((1, 24))
        );
    }
}
