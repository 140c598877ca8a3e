//! Reading parameter values in their serialisation styles (simple, label, matrix, form,
//! space/pipe/tab-delimited, deepObject and bracketed names) into raw value trees.

use std::borrow::Cow;
use std::ops::Range;

use indexmap::IndexMap;
use spec::ParamStyle;

use super::shape::{Container, Raw, Shape};

/// Bracket nesting deeper than this (`a[b][c]...`) is refused as malformed: no real API
/// nests that deep, and unbounded nesting would let one request recurse without limit.
pub(crate) const MAX_BRACKET_DEPTH: usize = 32;

/// The delimiter a style puts between list items once the value is decoded.
pub(crate) fn delimiter(style: ParamStyle) -> char {
    match style {
        ParamStyle::SpaceDelimited => ' ',
        ParamStyle::PipeDelimited => '|',
        ParamStyle::TabDelimited => '\t',
        _ => ',',
    }
}

/// Byte ranges of the pieces of `s` between `delim`s.
fn ranges(s: &str, delim: char) -> impl Iterator<Item = Range<usize>> + '_ {
    let base = s.as_ptr() as usize;
    s.split(delim).map(move |piece| {
        let start = piece.as_ptr() as usize - base;
        start..start + piece.len()
    })
}

/// A piece of `text` that borrows from the request when `text` does.
fn slice<'a>(text: &Cow<'a, str>, range: Range<usize>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[range]),
        Cow::Owned(s) => Cow::Owned(s[range].to_owned()),
    }
}

fn trimmed<'a>(text: Cow<'a, str>, trim: bool) -> Cow<'a, str> {
    if !trim || text.trim() == &*text {
        return text;
    }
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

fn pieces<'a>(text: &Cow<'a, str>, delim: char, trim: bool) -> Vec<Cow<'a, str>> {
    ranges(text, delim)
        .map(|r| trimmed(slice(text, r), trim))
        .collect()
}

/// Splits one serialised value: a list by `delim`, an object either as `k=v` items
/// (`kv_items`, exploded simple/label) or as alternating keys and values.
pub(crate) fn split_value<'a>(
    text: Cow<'a, str>,
    delim: char,
    container: Container,
    kv_items: bool,
    trim: bool,
) -> Raw<'a> {
    match container {
        Container::Scalar => Raw::Text(trimmed(text, trim)),
        Container::Array if text.is_empty() => Raw::Many(Vec::new()),
        Container::Array => Raw::Many(
            pieces(&text, delim, trim)
                .into_iter()
                .map(Raw::Text)
                .collect(),
        ),
        Container::Object if text.is_empty() => Raw::Map(IndexMap::new()),
        Container::Object if kv_items => {
            let mut map = IndexMap::new();
            for piece in pieces(&text, delim, trim) {
                let (key, value) = match piece.find('=') {
                    Some(eq) => (slice(&piece, 0..eq), slice(&piece, eq + 1..piece.len())),
                    None => (piece, Cow::Borrowed("")),
                };
                map.insert(key, Raw::Text(value));
            }
            Raw::Map(map)
        }
        Container::Object => {
            let mut map = IndexMap::new();
            let mut parts = pieces(&text, delim, trim).into_iter();
            while let Some(key) = parts.next() {
                let value = parts.next().unwrap_or(Cow::Borrowed(""));
                map.insert(key, Raw::Text(value));
            }
            Raw::Map(map)
        }
    }
}

/// Reads a path parameter (already percent-decoded by the router) in its style. The error
/// says what the value should have looked like.
pub(crate) fn parse_path<'a>(
    value: &'a str,
    name: &str,
    style: ParamStyle,
    explode: bool,
    container: Container,
) -> Result<Raw<'a>, String> {
    match style {
        ParamStyle::Label => {
            let Some(rest) = value.strip_prefix('.') else {
                return Err(format!(
                    "label-style value must start with '.', got '{value}'"
                ));
            };
            let delim = if explode && container != Container::Scalar {
                '.'
            } else {
                ','
            };
            Ok(split_value(
                Cow::Borrowed(rest),
                delim,
                container,
                explode,
                false,
            ))
        }
        ParamStyle::Matrix => parse_matrix(value, name, explode, container),
        other => Ok(split_value(
            Cow::Borrowed(value),
            delimiter(other),
            container,
            explode,
            false,
        )),
    }
}

fn parse_matrix<'a>(
    value: &'a str,
    name: &str,
    explode: bool,
    container: Container,
) -> Result<Raw<'a>, String> {
    let expected = || format!("matrix-style value must look like ';{name}=...', got '{value}'");
    let Some(rest) = value.strip_prefix(';') else {
        return Err(expected());
    };
    let segments = rest
        .split(';')
        .map(|seg| seg.split_once('=').unwrap_or((seg, "")));
    match container {
        Container::Object if explode => {
            let map = segments.map(|(k, v)| (Cow::Borrowed(k), Raw::Text(Cow::Borrowed(v))));
            Ok(Raw::Map(map.collect()))
        }
        Container::Array if explode => {
            let items: Vec<Raw<'a>> = segments
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| Raw::Text(Cow::Borrowed(v)))
                .collect();
            if items.is_empty() {
                Err(expected())
            } else {
                Ok(Raw::Many(items))
            }
        }
        _ => {
            let mut segments = segments;
            match segments.find(|(k, _)| *k == name) {
                Some((_, v)) => Ok(split_value(Cow::Borrowed(v), ',', container, false, false)),
                None => Err(expected()),
            }
        }
    }
}

/// Reads a header parameter (simple style). Items are trimmed: HTTP allows optional
/// whitespace after list commas.
pub(crate) fn parse_header(value: Cow<'_, str>, explode: bool, container: Container) -> Raw<'_> {
    split_value(value, ',', container, explode, true)
}

/// One field of a query string, cookie header or form/multipart body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field<'a> {
    pub key: Cow<'a, str>,
    pub value: Raw<'a>,
}

/// The part of a key before its first `[`: `filter[a][b]` and `include[]` have bases
/// `filter` and `include`.
fn base_of(key: &str) -> &str {
    key.find('[').map_or(key, |i| &key[..i])
}

/// Bracket segments of `rest` (`[a][b][]`), as ranges into it; `None` when `rest` is not a
/// clean run of brackets.
fn bracket_segments(rest: &str) -> Result<Option<Vec<Range<usize>>>, TooDeep> {
    let mut segments = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        if rest.as_bytes()[at] != b'[' {
            return Ok(None);
        }
        let Some(close) = rest[at + 1..].find(']') else {
            return Ok(None);
        };
        segments.push(at + 1..at + 1 + close);
        if segments.len() > MAX_BRACKET_DEPTH {
            return Err(TooDeep);
        }
        at += close + 2;
    }
    Ok(Some(segments))
}

/// Bracket nesting beyond [`MAX_BRACKET_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep;

/// The fields of a request part, indexed by key base so that each declared parameter finds
/// its fields without scanning them all.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    fields: Vec<Field<'a>>,
    /// Field indices sorted (stably) by key base.
    by_base: Vec<u32>,
    used: Vec<bool>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(fields: Vec<Field<'a>>) -> Fields<'a> {
        let mut by_base: Vec<u32> = (0..fields.len() as u32).collect();
        by_base.sort_by(|&a, &b| {
            base_of(&fields[a as usize].key).cmp(base_of(&fields[b as usize].key))
        });
        let used = vec![false; fields.len()];
        Fields {
            fields,
            by_base,
            used,
        }
    }

    fn with_base(&self, base: &str) -> &[u32] {
        let start = self
            .by_base
            .partition_point(|&i| base_of(&self.fields[i as usize].key) < base);
        let len = self.by_base[start..]
            .partition_point(|&i| base_of(&self.fields[i as usize].key) == base);
        &self.by_base[start..start + len]
    }

    /// The value of field `i`, marked used. Typed values (file contents) are moved out,
    /// text is cloned (cheap: it mostly borrows from the request).
    fn take(&mut self, i: usize) -> Raw<'a> {
        self.used[i] = true;
        match &mut self.fields[i].value {
            Raw::Value(v) => Raw::Value(std::mem::take(v)),
            other => other.clone(),
        }
    }

    /// Collects the value of parameter `name` serialised in `style`: plain occurrences
    /// (`name=`, also `name[]=`, and `name=` for a parameter declared as `name[]`) and
    /// bracketed keys (`name[a][b]=`, `name[0]=`). `None` when the request has none.
    pub(crate) fn gather(
        &mut self,
        name: &str,
        style: ParamStyle,
        explode: bool,
        container: Container,
    ) -> Result<Option<Raw<'a>>, TooDeep> {
        let declared_base = name.strip_suffix("[]").unwrap_or(name);
        let exact_only = declared_base.contains('[');
        let mut plain = Vec::new();
        let mut nested: Vec<(usize, Vec<Range<usize>>)> = Vec::new();
        let candidates: Vec<u32> = if exact_only {
            (0..self.fields.len() as u32)
                .filter(|&i| self.fields[i as usize].key == name)
                .collect()
        } else {
            self.with_base(declared_base).to_vec()
        };
        for i in candidates {
            let i = i as usize;
            let rest = &self.fields[i].key[declared_base.len()..];
            if exact_only || rest.is_empty() || rest == "[]" {
                plain.push(self.take(i));
            } else if let Some(segments) = bracket_segments(rest)? {
                let offset = declared_base.len();
                let segments = segments
                    .into_iter()
                    .map(|r| r.start + offset..r.end + offset);
                nested.push((i, segments.collect()));
            }
        }

        if !nested.is_empty() {
            let mut map = IndexMap::new();
            for (i, segments) in nested {
                let path: Vec<Cow<'a, str>> = segments
                    .into_iter()
                    .map(|r| slice(&self.fields[i].key, r))
                    .collect();
                let value = self.take(i);
                insert(&mut map, &path, value);
            }
            for value in plain {
                insert(&mut map, &[Cow::Borrowed("")], value);
            }
            return Ok(Some(Raw::Map(map)));
        }
        if plain.is_empty() {
            return Ok(None);
        }
        if plain.len() == 1 && matches!(plain[0], Raw::Value(_)) {
            return Ok(plain.pop());
        }
        let raw = match container {
            Container::Scalar => {
                if plain.len() == 1 {
                    plain.pop().unwrap_or(Raw::Many(Vec::new()))
                } else {
                    Raw::Many(plain)
                }
            }
            Container::Array if explode || style == ParamStyle::DeepObject => Raw::Many(plain),
            Container::Array => {
                let delim = delimiter(style);
                let mut items = Vec::new();
                for value in plain {
                    match split_value_raw(value, delim, Container::Array) {
                        Raw::Many(more) => items.extend(more),
                        other => items.push(other),
                    }
                }
                Raw::Many(items)
            }
            Container::Object if style == ParamStyle::DeepObject => {
                if plain.len() == 1 {
                    plain.pop().unwrap_or(Raw::Many(Vec::new()))
                } else {
                    Raw::Many(plain)
                }
            }
            Container::Object => {
                let first = plain.swap_remove(0);
                split_value_raw(first, delimiter(style), Container::Object)
            }
        };
        Ok(Some(raw))
    }

    /// An exploded form object: each property is a field of its own (`role=admin&name=x`).
    /// Fields that belong to no declared parameter (`claimed`) are swept in only when the
    /// object is free-form, so unrelated query parameters do not land in typed objects.
    pub(crate) fn exploded_object(
        &mut self,
        shape: &Shape,
        claimed: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Raw<'a>>, TooDeep> {
        let mut map = IndexMap::new();
        for (prop, prop_shape) in &shape.properties {
            let container = prop_shape.container(false);
            if let Some(raw) = self.gather(prop, ParamStyle::Form, true, container)? {
                map.insert(Cow::Owned(prop.clone()), raw);
            }
        }
        if !shape.closed && (shape.additional.is_some() || shape.properties.is_empty()) {
            for i in 0..self.fields.len() {
                let key = &self.fields[i].key;
                if self.used[i] || claimed(base_of(key)) || map.contains_key(key.as_ref()) {
                    continue;
                }
                let key = key.clone();
                let value = self.take(i);
                map.insert(key, value);
            }
        }
        Ok(if map.is_empty() {
            None
        } else {
            Some(Raw::Map(map))
        })
    }

    /// Fields no declared parameter or property claimed, grouped by key base: bracketed keys
    /// become nested maps, repeated keys lists.
    pub(crate) fn take_unused(&mut self) -> Result<Vec<(Cow<'a, str>, Raw<'a>)>, TooDeep> {
        let mut out: IndexMap<Cow<'a, str>, Raw<'a>> = IndexMap::new();
        for i in 0..self.fields.len() {
            if self.used[i] {
                continue;
            }
            let key = self.fields[i].key.clone();
            let value = self.take(i);
            let base_len = base_of(&key).len();
            let path: Vec<Cow<'a, str>> = match bracket_segments(&key[base_len..])? {
                Some(segments) if !segments.is_empty() => std::iter::once(slice(&key, 0..base_len))
                    .chain(
                        segments
                            .into_iter()
                            .map(|r| slice(&key, r.start + base_len..r.end + base_len)),
                    )
                    .collect(),
                _ => vec![key],
            };
            insert(&mut out, &path, value);
        }
        Ok(out.into_iter().collect())
    }
}

fn split_value_raw(value: Raw<'_>, delim: char, container: Container) -> Raw<'_> {
    match value {
        Raw::Text(text) => split_value(text, delim, container, false, false),
        other => other,
    }
}

/// Puts `value` at `path` in a bracket tree. A key seen twice becomes a list; a key used
/// both as a leaf and as a parent keeps the leaf under the empty key.
fn insert<'a>(map: &mut IndexMap<Cow<'a, str>, Raw<'a>>, path: &[Cow<'a, str>], value: Raw<'a>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match map.get_mut(first) {
            None => {
                map.insert(first.clone(), value);
            }
            Some(Raw::Many(items)) => items.push(value),
            Some(Raw::Map(inner)) => insert(inner, &[Cow::Borrowed("")], value),
            Some(slot) => {
                let old = std::mem::replace(slot, Raw::Many(Vec::new()));
                *slot = Raw::Many(vec![old, value]);
            }
        }
        return;
    }
    let slot = map
        .entry(first.clone())
        .or_insert_with(|| Raw::Map(IndexMap::new()));
    if !matches!(slot, Raw::Map(_)) {
        let old = std::mem::replace(slot, Raw::Map(IndexMap::new()));
        if let Raw::Map(inner) = slot {
            inner.insert(Cow::Borrowed(""), old);
        }
    }
    if let Raw::Map(inner) = slot {
        insert(inner, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::percent::parse_pairs;
    use super::super::shape::coerce;
    use super::*;

    fn shape(schema: Value) -> Shape {
        Shape::of(&schema, &json!({}))
    }

    fn path_value(
        value: &str,
        style: ParamStyle,
        explode: bool,
        schema: Value,
    ) -> Result<Value, String> {
        let shape = shape(schema);
        let raw = parse_path(value, "id", style, explode, shape.container(false))?;
        Ok(coerce(raw, &shape, false))
    }

    fn query_value(
        query: &str,
        name: &str,
        style: ParamStyle,
        explode: bool,
        schema: Value,
    ) -> Option<Value> {
        let shape = shape(schema);
        let (pairs, errors) = parse_pairs(query);
        assert!(errors.is_empty());
        let fields = pairs.into_iter().map(|p| Field {
            key: p.key,
            value: Raw::Text(p.value),
        });
        let mut fields = Fields::new(fields.collect());
        let raw = if style == ParamStyle::Form
            && explode
            && shape.container(false) == Container::Object
        {
            fields.exploded_object(&shape, &|k| k == "other").unwrap()
        } else {
            fields
                .gather(name, style, explode, shape.container(false))
                .unwrap()
        };
        raw.map(|raw| coerce(raw, &shape, false))
    }

    fn ints() -> Value {
        json!({"type": "array", "items": {"type": "integer"}})
    }

    fn person() -> Value {
        json!({"type": "object", "properties": {"role": {"type": "string"},
            "age": {"type": "integer"}}})
    }

    #[test]
    fn reads_simple_label_and_matrix_paths() {
        use ParamStyle::*;
        let int = json!({"type": "integer"});
        let cases: Vec<(&str, ParamStyle, bool, Value, Value)> = vec![
            ("5", Simple, false, int.clone(), json!(5)),
            ("3,4,5", Simple, false, ints(), json!([3, 4, 5])),
            ("3,4,5", Simple, true, ints(), json!([3, 4, 5])),
            (
                "role,admin,age,7",
                Simple,
                false,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (
                "role=admin,age=7",
                Simple,
                true,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (".5", Label, false, int.clone(), json!(5)),
            (".3,4,5", Label, false, ints(), json!([3, 4, 5])),
            (".3.4.5", Label, true, ints(), json!([3, 4, 5])),
            (
                ".role,admin,age,7",
                Label,
                false,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (
                ".role=admin.age=7",
                Label,
                true,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (";id=5", Matrix, false, int.clone(), json!(5)),
            (";id=3,4,5", Matrix, false, ints(), json!([3, 4, 5])),
            (";id=3;id=4;id=5", Matrix, true, ints(), json!([3, 4, 5])),
            (
                ";id=role,admin,age,7",
                Matrix,
                false,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (
                ";role=admin;age=7",
                Matrix,
                true,
                person(),
                json!({"role": "admin", "age": 7}),
            ),
            (";id", Matrix, false, ints(), json!([])),
        ];
        for (input, style, explode, schema, expected) in cases {
            let got = path_value(input, style, explode, schema);
            assert_eq!(got, Ok(expected), "{input:?} {style:?} explode={explode}");
        }
    }

    #[test]
    fn refuses_paths_that_miss_their_prefix() {
        let int = json!({"type": "integer"});
        assert!(path_value("5", ParamStyle::Label, false, int.clone()).is_err());
        assert!(path_value("5", ParamStyle::Matrix, false, int.clone()).is_err());
        assert!(path_value(";other=5", ParamStyle::Matrix, false, int).is_err());
    }

    #[test]
    fn reads_query_styles() {
        use ParamStyle::*;
        let cases: Vec<(&str, ParamStyle, bool, Value, Option<Value>)> = vec![
            (
                "id=5",
                Form,
                true,
                json!({"type": "integer"}),
                Some(json!(5)),
            ),
            (
                "id=3&id=4&x=1&id=5",
                Form,
                true,
                ints(),
                Some(json!([3, 4, 5])),
            ),
            ("id=3,4,5", Form, false, ints(), Some(json!([3, 4, 5]))),
            ("id=", Form, false, ints(), Some(json!([]))),
            (
                "id=role,admin,age,7",
                Form,
                false,
                person(),
                Some(json!({"role": "admin", "age": 7})),
            ),
            (
                "role=admin&age=7&other=1",
                Form,
                true,
                person(),
                Some(json!({"role": "admin", "age": 7})),
            ),
            (
                "id=3%204+5",
                SpaceDelimited,
                false,
                ints(),
                Some(json!([3, 4, 5])),
            ),
            (
                "id=3&id=4",
                SpaceDelimited,
                true,
                ints(),
                Some(json!([3, 4])),
            ),
            (
                "id=3|4|5",
                PipeDelimited,
                false,
                ints(),
                Some(json!([3, 4, 5])),
            ),
            (
                "id=3%7C4",
                PipeDelimited,
                false,
                ints(),
                Some(json!([3, 4])),
            ),
            ("id=3%094", TabDelimited, false, ints(), Some(json!([3, 4]))),
            (
                "id[role]=admin&id[age]=7",
                DeepObject,
                true,
                person(),
                Some(json!({"role": "admin", "age": 7})),
            ),
            (
                "id%5Brole%5D=admin",
                DeepObject,
                true,
                person(),
                Some(json!({"role": "admin"})),
            ),
            ("id[]=3&id[]=4", Form, true, ints(), Some(json!([3, 4]))),
            (
                "id[0]=3&id[1]=4",
                DeepObject,
                true,
                ints(),
                Some(json!([3, 4])),
            ),
            ("idx=3", Form, true, ints(), None),
            ("", Form, true, ints(), None),
        ];
        for (input, style, explode, schema, expected) in cases {
            let got = query_value(input, "id", style, explode, schema);
            assert_eq!(got, expected, "{input:?} {style:?} explode={explode}");
        }
    }

    #[test]
    fn reads_stripe_style_nested_deep_objects() {
        let schema = json!({"type": "object", "properties": {
            "created": {"type": "object", "properties": {"gt": {"type": "integer"}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "price": {"type": "string"}, "quantity": {"type": "integer"}}}},
            "expand": {"type": "array", "items": {"type": "string"}},
            "metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}},
                                   {"type": "string", "enum": [""]}]}
        }});
        let query = "f[created][gt]=10&f[items][0][price]=p1&f[items][1][price]=p2\
                     &f[items][0][quantity]=2&f[expand][]=a&f[expand][]=b&f[metadata][k]=v";
        let got = query_value(query, "f", ParamStyle::DeepObject, true, schema.clone());
        assert_eq!(
            got,
            Some(json!({
                "created": {"gt": 10},
                "items": [{"price": "p1", "quantity": 2}, {"price": "p2"}],
                "expand": ["a", "b"],
                "metadata": {"k": "v"}
            }))
        );
        let cleared = query_value("f[metadata]=", "f", ParamStyle::DeepObject, true, schema);
        assert_eq!(cleared, Some(json!({"metadata": ""})));
    }

    #[test]
    fn reads_names_declared_with_brackets() {
        let got = query_value(
            "include[]=a&include[]=b",
            "include[]",
            ParamStyle::Form,
            true,
            json!({"type": "array", "items": {"type": "string"}}),
        );
        assert_eq!(got, Some(json!(["a", "b"])));
        let got = query_value(
            "include=a",
            "include[]",
            ParamStyle::Form,
            true,
            json!({"type": "array", "items": {"type": "string"}}),
        );
        assert_eq!(got, Some(json!(["a"])));
    }

    #[test]
    fn refuses_runaway_bracket_nesting() {
        let key = format!("a{}", "[x]".repeat(MAX_BRACKET_DEPTH + 1));
        let mut fields = Fields::new(vec![Field {
            key: Cow::Owned(key),
            value: Raw::Text(Cow::Borrowed("1")),
        }]);
        assert_eq!(
            fields.gather("a", ParamStyle::DeepObject, true, Container::Object),
            Err(TooDeep)
        );
    }

    #[test]
    fn groups_unclaimed_fields() {
        let (pairs, _) = parse_pairs("a=1&m[x]=2&m[y]=3&t=4&t=5");
        let fields = pairs.into_iter().map(|p| Field {
            key: p.key,
            value: Raw::Text(p.value),
        });
        let mut fields = Fields::new(fields.collect());
        fields
            .gather("a", ParamStyle::Form, true, Container::Scalar)
            .unwrap();
        let rest = fields.take_unused().unwrap();
        let keys: Vec<&str> = rest.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["m", "t"]);
        assert!(matches!(&rest[1].1, Raw::Many(items) if items.len() == 2));
    }

    #[test]
    fn trims_header_list_items() {
        let shape = shape(ints());
        let raw = parse_header(Cow::Borrowed("3, 4 ,5"), false, shape.container(false));
        assert_eq!(coerce(raw, &shape, false), json!([3, 4, 5]));
    }
}
