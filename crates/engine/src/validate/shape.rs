//! What a schema expects of a value, reduced to what turning strings into JSON needs, and
//! the coercion itself.
//!
//! Parameters and form fields arrive as text; a schema says whether `5` is the integer 5 or
//! the string "5". A [`Shape`] is computed once per schema (following `$ref`, `allOf`,
//! `oneOf`/`anyOf` and type arrays) so that requests never walk the raw schema.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};

/// Bit flags of JSON types.
pub(crate) mod ty {
    pub const STRING: u8 = 1;
    pub const INTEGER: u8 = 1 << 1;
    pub const NUMBER: u8 = 1 << 2;
    pub const BOOLEAN: u8 = 1 << 3;
    pub const NULL: u8 = 1 << 4;
    pub const ARRAY: u8 = 1 << 5;
    pub const OBJECT: u8 = 1 << 6;
}

/// Nesting below this depth is treated as "anything": deep enough for Stripe's form bodies,
/// shallow enough that a pathological schema cannot blow up.
const MAX_DEPTH: usize = 24;
/// Upper bound of schema nodes visited for one shape, so that wide, heavily shared schemas
/// stay cheap to precompute.
const NODE_BUDGET: usize = 50_000;

/// The coercion-relevant part of a schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    /// Allowed JSON types; 0 means unconstrained.
    pub types: u8,
    /// A string holding raw bytes (`format: binary`, `contentMediaType`, ...).
    pub binary: bool,
    pub items: Option<Box<Shape>>,
    pub properties: Vec<(String, Shape)>,
    pub additional: Option<Box<Shape>>,
    /// `additionalProperties: false`.
    pub closed: bool,
}

/// The unconstrained shape.
pub(crate) static ANY: Shape = Shape {
    types: 0,
    binary: false,
    items: None,
    properties: Vec::new(),
    additional: None,
    closed: false,
};

/// How a serialised value is split: as one scalar, a list or key/value pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Scalar,
    Array,
    Object,
}

impl Shape {
    /// Computes the shape of `schema`, whose `$ref`s point into `root`.
    pub(crate) fn of(schema: &Value, root: &Value) -> Shape {
        Builder::new(root, MAX_DEPTH).build(schema, 0)
    }

    /// Only the outer levels of `schema`: enough to know its top-level types, for bodies
    /// that arrive typed (JSON) and need no coercion.
    pub(crate) fn shallow(schema: &Value, root: &Value) -> Shape {
        Builder::new(root, 4).build(schema, 0)
    }

    pub(crate) fn allows(&self, bits: u8) -> bool {
        self.types & bits != 0
    }

    pub(crate) fn is_any(&self) -> bool {
        self.types == 0
    }

    pub(crate) fn item_shape(&self) -> &Shape {
        self.items.as_deref().unwrap_or(&ANY)
    }

    /// The shape of property `name`: declared, else `additionalProperties`, else anything.
    pub(crate) fn property(&self, name: &str) -> &Shape {
        self.declared_property(name)
            .or(self.additional.as_deref())
            .unwrap_or(&ANY)
    }

    pub(crate) fn declared_property(&self, name: &str) -> Option<&Shape> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// How text for this shape is split. With `prefer_string`, a shape that also allows a
    /// plain string is read as one; that is the second reading tried for ambiguous unions.
    pub(crate) fn container(&self, prefer_string: bool) -> Container {
        if prefer_string && self.allows(ty::STRING) {
            Container::Scalar
        } else if self.allows(ty::ARRAY) {
            Container::Array
        } else if self.allows(ty::OBJECT) {
            Container::Object
        } else {
            Container::Scalar
        }
    }

    /// Whether reading text as something other than a string could be wrong: the shape
    /// allows a string and something else.
    pub(crate) fn is_ambiguous(&self) -> bool {
        self.allows(ty::STRING) && self.types != ty::STRING && self.types != ty::STRING | ty::NULL
    }

    /// The shape of array items when they are objects or arrays (serialised as nested
    /// brackets or JSON rather than plain text).
    pub(crate) fn has_structured_items(&self) -> bool {
        self.items
            .as_deref()
            .is_some_and(|items| items.allows(ty::ARRAY | ty::OBJECT) && !items.allows(ty::STRING))
    }

    fn all_of(mut self, other: Shape) -> Shape {
        self.types = match (self.types, other.types) {
            (0, t) | (t, 0) => t,
            (a, b) => {
                let both = widen(a) & widen(b);
                if both == 0 { a | b } else { both }
            }
        };
        self.binary |= other.binary;
        self.closed |= other.closed;
        self.items = merge_boxes(self.items, other.items, Shape::all_of);
        self.additional = merge_boxes(self.additional, other.additional, Shape::all_of);
        merge_properties(&mut self.properties, other.properties, Shape::all_of);
        self
    }

    fn any_of(mut self, other: Shape) -> Shape {
        self.types = if self.types == 0 || other.types == 0 {
            0
        } else {
            self.types | other.types
        };
        self.binary |= other.binary;
        self.closed &= other.closed;
        self.items = merge_boxes(self.items, other.items, Shape::any_of);
        self.additional = match (self.additional, other.additional) {
            (Some(a), Some(b)) => Some(Box::new(a.any_of(*b))),
            _ => None,
        };
        merge_properties(&mut self.properties, other.properties, Shape::any_of);
        self
    }
}

/// An integer is a number: intersecting `number` with `integer` must leave `integer`.
fn widen(types: u8) -> u8 {
    if types & ty::NUMBER != 0 {
        types | ty::INTEGER
    } else {
        types
    }
}

fn merge_boxes(
    a: Option<Box<Shape>>,
    b: Option<Box<Shape>>,
    merge: fn(Shape, Shape) -> Shape,
) -> Option<Box<Shape>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Box::new(merge(*a, *b))),
        (a, b) => a.or(b),
    }
}

fn merge_properties(
    into: &mut Vec<(String, Shape)>,
    from: Vec<(String, Shape)>,
    merge: fn(Shape, Shape) -> Shape,
) {
    for (name, shape) in from {
        match into.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => *existing = merge(std::mem::take(existing), shape),
            None => into.push((name, shape)),
        }
    }
}

struct Builder<'r> {
    root: &'r Value,
    /// `$ref`s being expanded, to cut cycles.
    stack: Vec<&'r str>,
    budget: usize,
    max_depth: usize,
}

impl<'r> Builder<'r> {
    fn new(root: &'r Value, max_depth: usize) -> Builder<'r> {
        Builder {
            root,
            stack: Vec::new(),
            budget: NODE_BUDGET,
            max_depth,
        }
    }

    fn build(&mut self, schema: &'r Value, depth: usize) -> Shape {
        let Some(obj) = schema.as_object() else {
            return Shape::default();
        };
        if depth > self.max_depth || self.budget == 0 {
            return Shape::default();
        }
        self.budget -= 1;

        let mut shape = Shape {
            types: declared_types(obj),
            ..Shape::default()
        };
        shape.binary = is_binary(obj);
        if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
            shape.items = Some(Box::new(self.build(items, depth + 1)));
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let sub = self.build(sub, depth + 1);
                shape.properties.push((name.clone(), sub));
            }
        }
        match obj.get("additionalProperties") {
            Some(Value::Bool(false)) => shape.closed = true,
            Some(sub @ Value::Object(_)) => {
                shape.additional = Some(Box::new(self.build(sub, depth + 1)));
            }
            _ => {}
        }

        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.enter(reference) {
                let target = self.build(target, depth + 1);
                self.stack.pop();
                shape = shape.all_of(target);
            }
        }
        for sub in obj
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let sub = self.build(sub, depth + 1);
            shape = shape.all_of(sub);
        }
        for key in ["oneOf", "anyOf"] {
            let Some(branches) = obj.get(key).and_then(Value::as_array) else {
                continue;
            };
            let mut union: Option<Shape> = None;
            for branch in branches {
                let branch = self.build(branch, depth + 1);
                union = Some(match union {
                    Some(u) => u.any_of(branch),
                    None => branch,
                });
            }
            if let Some(union) = union {
                shape = shape.all_of(union);
            }
        }
        if obj.get("nullable") == Some(&Value::Bool(true)) && shape.types != 0 {
            shape.types |= ty::NULL;
        }
        shape
    }

    fn enter(&mut self, reference: &'r str) -> Option<&'r Value> {
        if self.stack.contains(&reference) {
            return None;
        }
        let target = spec::resolve_ref(self.root, reference)?;
        self.stack.push(reference);
        Some(target)
    }
}

fn type_bit(name: &str) -> u8 {
    match name {
        "string" => ty::STRING,
        "integer" => ty::INTEGER,
        "number" => ty::NUMBER,
        "boolean" => ty::BOOLEAN,
        "null" => ty::NULL,
        "array" => ty::ARRAY,
        "object" => ty::OBJECT,
        // `file` is Swagger 2.0's formData upload type.
        "file" => ty::STRING,
        _ => 0,
    }
}

fn value_bit(value: &Value) -> u8 {
    match value {
        Value::Null => ty::NULL,
        Value::Bool(_) => ty::BOOLEAN,
        Value::Number(n) if n.is_f64() => ty::NUMBER,
        Value::Number(_) => ty::INTEGER,
        Value::String(_) => ty::STRING,
        Value::Array(_) => ty::ARRAY,
        Value::Object(_) => ty::OBJECT,
    }
}

/// The types a schema object allows by its `type`, or inferred from its other keywords
/// when it has none (a bare `enum: [1, 2]` still means integers).
fn declared_types(obj: &Map<String, Value>) -> u8 {
    match obj.get("type") {
        Some(Value::String(t)) => return type_bit(t),
        Some(Value::Array(ts)) => {
            return ts
                .iter()
                .filter_map(Value::as_str)
                .fold(0, |acc, t| acc | type_bit(t));
        }
        _ => {}
    }
    let mut types = 0;
    for (key, value) in obj {
        types |= match key.as_str() {
            "properties"
            | "additionalProperties"
            | "patternProperties"
            | "minProperties"
            | "maxProperties" => ty::OBJECT,
            "items" | "prefixItems" | "minItems" | "maxItems" | "uniqueItems" => ty::ARRAY,
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
                ty::NUMBER
            }
            "minLength" | "maxLength" | "pattern" => ty::STRING,
            "format" => match value.as_str() {
                Some("int32" | "int64") => ty::INTEGER,
                Some("float" | "double") => ty::NUMBER,
                _ => ty::STRING,
            },
            "enum" => value
                .as_array()
                .into_iter()
                .flatten()
                .fold(0, |acc, v| acc | value_bit(v)),
            "const" => value_bit(value),
            _ => 0,
        };
    }
    types
}

fn is_binary(obj: &Map<String, Value>) -> bool {
    obj.get("format").and_then(Value::as_str) == Some("binary")
        || obj.get("type").and_then(Value::as_str) == Some("file")
        || obj.contains_key("contentMediaType")
}

/// A value as it arrived, before coercion: text, repeated occurrences, bracketed keys, or
/// an already typed value (a JSON part of a multipart body).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw<'a> {
    Text(Cow<'a, str>),
    Many(Vec<Raw<'a>>),
    Map(IndexMap<Cow<'a, str>, Raw<'a>>),
    Value(Value),
}

/// Turns `raw` into JSON as `shape` expects. Never fails: what cannot be read as the
/// expected type stays a string, so the schema validator reports it with its own words.
pub(crate) fn coerce(raw: Raw<'_>, shape: &Shape, prefer_string: bool) -> Value {
    match raw {
        Raw::Text(text) => coerce_text(text, shape, prefer_string),
        Raw::Value(value) => value,
        Raw::Many(mut items) => {
            // `p=` alone is the bracket convention for "empty": a list of structures cannot
            // hold an empty string, so it is the empty list, or the string itself when the
            // schema also allows a string (Stripe's `anyOf: [array, enum: [""]]`).
            if let [Raw::Text(only)] = items.as_slice()
                && only.is_empty()
                && shape.allows(ty::ARRAY)
            {
                if shape.allows(ty::STRING) {
                    return Value::String(String::new());
                }
                let item = shape.item_shape();
                if item.types != 0 && !item.allows(ty::STRING) {
                    return Value::Array(Vec::new());
                }
            }
            if shape.is_any() || shape.allows(ty::ARRAY) {
                let item = shape.item_shape();
                Value::Array(
                    items
                        .into_iter()
                        .map(|r| coerce(r, item, prefer_string))
                        .collect(),
                )
            } else if items.len() == 1 {
                let only = items.pop().unwrap_or(Raw::Text(Cow::Borrowed("")));
                coerce(only, shape, prefer_string)
            } else {
                Value::Array(
                    items
                        .into_iter()
                        .map(|r| coerce(r, &ANY, prefer_string))
                        .collect(),
                )
            }
        }
        Raw::Map(entries) => {
            if shape.allows(ty::ARRAY) && entries.keys().all(|k| is_index(k)) {
                Value::Array(indexed_items(entries, shape.item_shape(), prefer_string))
            } else {
                let object = entries
                    .into_iter()
                    .map(|(k, r)| {
                        let value = coerce(r, shape.property(&k), prefer_string);
                        (k.into_owned(), value)
                    })
                    .collect();
                Value::Object(object)
            }
        }
    }
}

/// Keys of array items in bracket notation: `a[]` (empty) or `a[0]`.
fn is_index(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_digit()) && key.len() <= 9
}

/// Items of `a[]=x` (key "") in order of arrival and of `a[0]=x` in index order. Indices
/// are only sorted, never used to place items, so `a[999999999]` allocates nothing.
fn indexed_items(
    entries: IndexMap<Cow<'_, str>, Raw<'_>>,
    item: &Shape,
    prefer_string: bool,
) -> Vec<Value> {
    let mut numbered: Vec<(u32, Raw<'_>)> = Vec::new();
    let mut appended: Vec<Raw<'_>> = Vec::new();
    for (key, raw) in entries {
        match key.parse::<u32>() {
            Ok(index) => numbered.push((index, raw)),
            Err(_) => match raw {
                Raw::Many(items) => appended.extend(items),
                other => appended.push(other),
            },
        }
    }
    numbered.sort_by_key(|(i, _)| *i);
    numbered
        .into_iter()
        .map(|(_, raw)| raw)
        .chain(appended)
        .map(|raw| coerce(raw, item, prefer_string))
        .collect()
}

fn coerce_text(text: Cow<'_, str>, shape: &Shape, prefer_string: bool) -> Value {
    let t = shape.types;
    let s: &str = &text;
    if t == 0 || (prefer_string && t & ty::STRING != 0) {
        return Value::String(text.into_owned());
    }
    if t & ty::NULL != 0 && (s == "null" || (s.is_empty() && t & ty::STRING == 0)) {
        return Value::Null;
    }
    if t & ty::INTEGER != 0 {
        if let Some(n) = parse_integer(s) {
            return Value::Number(n);
        }
    }
    if t & ty::NUMBER != 0 {
        if let Some(n) = parse_number(s) {
            return Value::Number(n);
        }
    }
    if t & ty::BOOLEAN != 0 {
        match s {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    if t & ty::STRING == 0 && t & (ty::ARRAY | ty::OBJECT) != 0 {
        // An empty value clears a list or map (Stripe's `metadata=`); one value where a
        // list is expected is a list of one.
        if s.is_empty() {
            return if t & ty::ARRAY != 0 {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
        }
        if t & ty::ARRAY != 0 {
            return Value::Array(vec![coerce_text(text, shape.item_shape(), prefer_string)]);
        }
    }
    Value::String(text.into_owned())
}

fn parse_integer(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Number::from(u));
    }
    None
}

fn parse_number(s: &str) -> Option<Number> {
    // Rust's float parser also takes `inf`, `NaN` and `infinity`; JSON numbers do not.
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    if let Some(n) = parse_integer(s) {
        return Some(n);
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

/// A cheap stand-in for schema validation when a schema could not be compiled: whether the
/// value's JSON type is one the shape allows.
pub(crate) fn type_matches(value: &Value, shape: &Shape) -> bool {
    if shape.is_any() {
        return true;
    }
    let bit = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => ty::INTEGER,
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => ty::INTEGER,
        other => value_bit(other),
    };
    shape.allows(bit) || (bit == ty::INTEGER && shape.allows(ty::NUMBER))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape(schema: Value) -> Shape {
        Shape::of(&schema, &json!({}))
    }

    fn text(s: &str) -> Raw<'_> {
        Raw::Text(Cow::Borrowed(s))
    }

    #[test]
    fn reads_types_from_type_arrays_nullable_and_keywords() {
        assert_eq!(
            shape(json!({"type": ["integer", "null"]})).types,
            ty::INTEGER | ty::NULL
        );
        assert_eq!(
            shape(json!({"type": "string", "nullable": true})).types,
            ty::STRING | ty::NULL
        );
        assert_eq!(shape(json!({"enum": [1, 2]})).types, ty::INTEGER);
        assert_eq!(
            shape(json!({"enum": ["a", null]})).types,
            ty::STRING | ty::NULL
        );
        assert_eq!(
            shape(json!({"items": {"type": "integer"}})).types,
            ty::ARRAY
        );
        assert_eq!(shape(json!({"description": "anything"})).types, 0);
    }

    #[test]
    fn follows_refs_all_of_and_unions() {
        let root = json!({"components": {"schemas": {
            "Id": {"type": "integer"},
            "Pet": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"}}},
            "Loop": {"type": "object",
                "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}
        }}});
        let pet = Shape::of(
            &json!({"allOf": [{"$ref": "#/components/schemas/Pet"},
                              {"properties": {"tag": {"type": "string"}}}]}),
            &root,
        );
        assert_eq!(pet.types, ty::OBJECT);
        assert_eq!(pet.property("id").types, ty::INTEGER);
        assert_eq!(pet.property("tag").types, ty::STRING);

        let union = shape(json!({"oneOf": [{"type": "integer"}, {"type": "array",
                "items": {"type": "boolean"}}]}));
        assert_eq!(union.types, ty::INTEGER | ty::ARRAY);
        assert_eq!(union.item_shape().types, ty::BOOLEAN);

        let narrowed = shape(json!({"allOf": [{"type": "number"}, {"type": "integer"}]}));
        assert_eq!(narrowed.types, ty::INTEGER);

        // The cycle is cut where it closes: the inner reference reads as "anything".
        let cyclic = Shape::of(&json!({"$ref": "#/components/schemas/Loop"}), &root);
        assert_eq!(cyclic.types, ty::OBJECT);
        assert!(cyclic.property("next").is_any());
    }

    #[test]
    fn coerces_text_to_the_expected_scalar() {
        let cases = [
            (json!({"type": "integer"}), "42", json!(42)),
            (json!({"type": "integer"}), "-7", json!(-7)),
            (json!({"type": "integer"}), "4.5", json!("4.5")),
            (json!({"type": "number"}), "4.5", json!(4.5)),
            (json!({"type": "number"}), "1e3", json!(1000.0)),
            (json!({"type": "number"}), "NaN", json!("NaN")),
            (json!({"type": "number"}), "inf", json!("inf")),
            (json!({"type": "boolean"}), "true", json!(true)),
            (json!({"type": "boolean"}), "yes", json!("yes")),
            (json!({"type": ["integer", "null"]}), "", json!(null)),
            (json!({"type": ["integer", "null"]}), "null", json!(null)),
            (json!({"type": ["string", "null"]}), "", json!("")),
            (json!({"type": "string"}), "42", json!("42")),
            (
                json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
                "42",
                json!(42),
            ),
            (
                json!({"type": "array", "items": {"type": "integer"}}),
                "3",
                json!([3]),
            ),
            (json!({"type": "array"}), "", json!([])),
            (json!({"type": "object"}), "", json!({})),
            (json!({}), "x", json!("x")),
        ];
        for (schema, input, expected) in cases {
            let got = coerce(text(input), &shape(schema.clone()), false);
            assert_eq!(got, expected, "{input:?} as {schema}");
        }
    }

    #[test]
    fn prefers_strings_on_the_second_reading() {
        let union = shape(json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}));
        assert!(union.is_ambiguous());
        assert_eq!(coerce(text("42"), &union, true), json!("42"));
        assert!(!shape(json!({"type": ["string", "null"]})).is_ambiguous());
    }

    #[test]
    fn coerces_bracket_maps_to_objects_and_arrays() {
        let schema = shape(json!({
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"type": "object",
                    "properties": {"qty": {"type": "integer"}}}},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        }));
        let mut first = IndexMap::new();
        first.insert(Cow::Borrowed("qty"), text("2"));
        let mut second = IndexMap::new();
        second.insert(Cow::Borrowed("qty"), text("1"));
        let mut items = IndexMap::new();
        items.insert(Cow::Borrowed("10"), Raw::Map(first));
        items.insert(Cow::Borrowed("2"), Raw::Map(second));
        let mut tags = IndexMap::new();
        tags.insert(Cow::Borrowed(""), Raw::Many(vec![text("a"), text("b")]));
        let mut body = IndexMap::new();
        body.insert(Cow::Borrowed("items"), Raw::Map(items));
        body.insert(Cow::Borrowed("tags"), Raw::Map(tags));
        let got = coerce(Raw::Map(body), &schema, false);
        assert_eq!(
            got,
            json!({"items": [{"qty": 1}, {"qty": 2}], "tags": ["a", "b"]})
        );
    }

    #[test]
    fn checks_types_without_a_compiled_schema() {
        assert!(type_matches(&json!(3), &shape(json!({"type": "number"}))));
        assert!(!type_matches(
            &json!("3"),
            &shape(json!({"type": "integer"}))
        ));
        assert!(type_matches(
            &json!(null),
            &shape(json!({"type": "integer", "nullable": true}))
        ));
    }
}
