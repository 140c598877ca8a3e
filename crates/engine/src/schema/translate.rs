//! The dialect translation behind [`super::to_json_schema`], and the small schema-reading
//! helpers the generator shares with it so that both read a schema the same way.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::overlap::indistinct_branches;
use super::shared::DEF_PREFIX;
use super::{Direction, SchemaContext};

/// Longest `$ref` chain or `allOf` nesting followed while reading flags; deeper is a cycle.
const MAX_HOPS: usize = 32;

/// Deepest inline nesting translated; anything deeper accepts every value.
const MAX_NESTING: usize = 200;

/// Formats whose values are checked; others are annotations only.
pub(crate) const ASSERTED_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "email",
    "uuid",
    "uri",
    "uri-reference",
    "hostname",
    "ipv4",
    "ipv6",
];

const JSON_TYPES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// Follows `$ref` chains from `schema`. `None` for a dangling reference or a cycle of bare
/// references. Siblings of `$ref` are not looked at here.
pub(crate) fn resolve<'v>(root: &'v Value, mut schema: &'v Value) -> Option<&'v Value> {
    for _ in 0..MAX_HOPS {
        match schema.get("$ref") {
            Some(Value::String(reference)) => schema = spec::resolve_ref(root, reference)?,
            _ => return Some(schema),
        }
    }
    None
}

/// Whether `schema` says `nullable: true` (OpenAPI 3.0) or `x-nullable: true` (Swagger).
pub(crate) fn is_nullable(schema: &Map<String, Value>) -> bool {
    matches!(schema.get("nullable"), Some(Value::Bool(true)))
        || matches!(schema.get("x-nullable"), Some(Value::Bool(true)))
}

/// The flag that keeps a property out of a message in `direction`.
fn exclusion_flag(direction: Direction) -> &'static str {
    match direction {
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
    }
}

/// Whether a property schema is `readOnly` (request) or `writeOnly` (response), looking
/// through `$ref`s and `allOf` parts.
pub(crate) fn is_excluded(root: &Value, schema: &Value, direction: Direction) -> bool {
    has_flag(root, schema, exclusion_flag(direction), 0)
}

fn has_flag(root: &Value, schema: &Value, flag: &str, hops: usize) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    if hops > MAX_HOPS {
        return false;
    }
    if matches!(map.get(flag), Some(Value::Bool(true))) {
        return true;
    }
    if let Some(Value::String(reference)) = map.get("$ref") {
        if let Some(target) = spec::resolve_ref(root, reference) {
            if has_flag(root, target, flag, hops + 1) {
                return true;
            }
        }
    }
    match map.get("allOf") {
        Some(Value::Array(parts)) => parts.iter().any(|p| has_flag(root, p, flag, hops + 1)),
        _ => false,
    }
}

/// The names in `schema`'s `required` that its own scope (its `properties`, its `$ref`
/// target and its `allOf` parts, recursively) marks as excluded for `direction`.
fn excluded_names<'v>(
    root: &'v Value,
    schema: &'v Map<String, Value>,
    direction: Direction,
) -> Vec<&'v str> {
    let Some(Value::Array(required)) = schema.get("required") else {
        return Vec::new();
    };
    let flag = exclusion_flag(direction);
    required
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| name_has_flag(root, schema, name, flag, 0))
        .collect()
}

/// Whether some declaration of property `name` in the scope of `schema` carries `flag`.
fn name_has_flag(
    root: &Value,
    schema: &Map<String, Value>,
    name: &str,
    flag: &str,
    hops: usize,
) -> bool {
    if hops > MAX_HOPS {
        return false;
    }
    if let Some(prop) = schema.get("properties").and_then(|p| p.get(name)) {
        if has_flag(root, prop, flag, 0) {
            return true;
        }
    }
    let in_part = |part: &Value| match part {
        Value::Object(map) => name_has_flag(root, map, name, flag, hops + 1),
        _ => false,
    };
    if let Some(Value::String(reference)) = schema.get("$ref") {
        if spec::resolve_ref(root, reference).is_some_and(in_part) {
            return true;
        }
    }
    match schema.get("allOf") {
        Some(Value::Array(parts)) => parts.iter().any(in_part),
        _ => false,
    }
}

/// The names of `schema`'s `required` that a value must have: those excluded for
/// `direction` (see [`excluded_names`]) and those the schema itself forbids (see
/// [`forbids`]) left out, duplicates removed. The translation and the generator
/// both read `required` through this.
pub(crate) fn required_names<'v>(
    root: &'v Value,
    schema: &'v Map<String, Value>,
    direction: Direction,
) -> Vec<&'v str> {
    let Some(Value::Array(required)) = schema.get("required") else {
        return Vec::new();
    };
    let excluded = excluded_names(root, schema, direction);
    let mut kept: Vec<&'v str> = Vec::with_capacity(required.len());
    for name in required.iter().filter_map(Value::as_str) {
        if !excluded.contains(&name) && !kept.contains(&name) && !forbids(root, schema, name) {
            kept.push(name);
        }
    }
    kept
}

/// Whether `schema` closes the object (`additionalProperties: false`) without declaring
/// `name` anywhere a value could get it from: its own `properties` and
/// `patternProperties`, or, beside `$ref`/`allOf`/`anyOf`/`oneOf` (read as
/// `unevaluatedProperties`), those of its parts. Requiring such a name makes the schema
/// unsatisfiable, so it is dropped from `required` instead.
fn forbids(root: &Value, schema: &Map<String, Value>, name: &str) -> bool {
    schema.get("additionalProperties") == Some(&Value::Bool(false))
        && !may_declare(root, schema, name, 0)
}

/// Whether `schema` or one of its in-place parts may let property `name` through:
/// declares it, has `patternProperties`, or has an `additionalProperties` other than
/// `false`. Conservative: `true` when too deep to tell.
fn may_declare(root: &Value, schema: &Map<String, Value>, name: &str, hops: usize) -> bool {
    if hops > MAX_HOPS {
        return true;
    }
    if schema.get("properties").and_then(|p| p.get(name)).is_some()
        || schema.contains_key("patternProperties")
        || (hops > 0
            && schema
                .get("additionalProperties")
                .is_some_and(|a| *a != Value::Bool(false)))
    {
        return true;
    }
    let in_part = |part: &Value| match part {
        Value::Object(map) => may_declare(root, map, name, hops + 1),
        // A boolean part (or a malformed one) constrains no names here.
        _ => false,
    };
    if let Some(Value::String(reference)) = schema.get("$ref") {
        match spec::resolve_ref(root, reference) {
            Some(target) if in_part(target) => return true,
            Some(_) => {}
            // A dangling reference accepts anything.
            None => return true,
        }
    }
    ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|key| match schema.get(*key) {
            Some(Value::Array(parts)) => parts.iter().any(in_part),
            _ => false,
        })
}

/// Whether `pattern` is the description of `schema`'s asserted `format` rather than a
/// constraint: a literal (no regex syntax but `.` wildcards) holding a character no value
/// of that format can contain, such as `YYYY-MM-DDThh:mm:ssZ` beside `format: date-time`.
/// Read as a regex, it would reject every valid value; it is ignored instead.
pub(crate) fn describes_format(schema: &Map<String, Value>, pattern: &str) -> bool {
    const SYNTAX: &[char] = &[
        '\\', '^', '$', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}',
    ];
    let Some(format) = schema.get("format").and_then(Value::as_str) else {
        return false;
    };
    if pattern.is_empty() || pattern.contains(SYNTAX) {
        return false;
    }
    let fits: fn(char) -> bool = match format {
        "date" => |c| c.is_ascii_digit() || c == '-',
        "time" => |c| c.is_ascii_digit() || matches!(c, ':' | '.' | '+' | '-' | 'Z' | 'z'),
        "date-time" => |c| {
            c.is_ascii_digit() || matches!(c, ':' | '.' | '+' | '-' | 'T' | 't' | 'Z' | 'z' | ' ')
        },
        "uuid" => |c| c.is_ascii_hexdigit() || c == '-',
        "ipv4" => |c| c.is_ascii_digit() || c == '.',
        "ipv6" => |c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%'),
        // Other formats take almost any character.
        _ => return false,
    };
    pattern.chars().any(|c| c != '.' && !fits(c))
}

/// Translates a schema and the `$ref` targets it reaches that `names` does not know yet.
/// Every `$ref` becomes a pointer into a table of targets (`#/$defs/d<index>`); `names`
/// maps each reference, as written in the source document, to its index.
pub(crate) struct Translator<'a, 'n> {
    root: &'a Value,
    direction: Direction,
    /// `$ref` string to target index, for every target known, translated or queued.
    names: &'n mut HashMap<String, usize>,
    /// Targets translated by this run: (index, translation).
    defs: Vec<(usize, Value)>,
    /// Targets waiting to be translated: (index, reference).
    pending: Vec<(usize, String)>,
}

impl<'a, 'n> Translator<'a, 'n> {
    /// A translator for `ctx` that numbers new targets after those already in `names`.
    pub(crate) fn new(ctx: SchemaContext<'a>, names: &'n mut HashMap<String, usize>) -> Self {
        Translator {
            root: ctx.root,
            direction: ctx.direction,
            names,
            defs: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The translated schema, and the targets it reached that were new to `names`.
    pub(crate) fn run(mut self, schema: &Value) -> (Value, Vec<(usize, Value)>) {
        let top = self.schema(schema, 0);
        while let Some((index, reference)) = self.pending.pop() {
            let root = self.root;
            let translated = match spec::resolve_ref(root, &reference) {
                Some(target) => self.schema(target, 0),
                // A dangling reference is a loader warning; accept anything rather than
                // refusing every instance.
                None => Value::Bool(true),
            };
            self.defs.push((index, translated));
        }
        (top, self.defs)
    }

    /// The pointer standing for `reference`, queueing its target when new.
    fn def_pointer(&mut self, reference: &str) -> String {
        let index = match self.names.get(reference) {
            Some(&index) => index,
            None => {
                let index = self.names.len();
                self.names.insert(reference.to_owned(), index);
                self.pending.push((index, reference.to_owned()));
                index
            }
        };
        format!("{DEF_PREFIX}{index}")
    }

    fn schema(&mut self, schema: &Value, depth: usize) -> Value {
        match schema {
            Value::Bool(b) => Value::Bool(*b),
            Value::Object(map) if depth <= MAX_NESTING => self.object(map, depth),
            // Not a schema at all (or absurdly deep): accept anything.
            _ => Value::Bool(true),
        }
    }

    fn schema_map(&mut self, value: &Value, depth: usize) -> Option<Value> {
        let Value::Object(entries) = value else {
            return None;
        };
        let out: Map<String, Value> = entries
            .iter()
            .map(|(k, v)| (k.clone(), self.schema(v, depth + 1)))
            .collect();
        Some(Value::Object(out))
    }

    fn schema_list(&mut self, value: &Value, depth: usize) -> Option<Value> {
        match value {
            // 2020-12 requires at least one subschema.
            Value::Array(items) if !items.is_empty() => Some(Value::Array(
                items.iter().map(|v| self.schema(v, depth + 1)).collect(),
            )),
            _ => None,
        }
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::with_capacity(map.len());
        let mut exclusive_min = false;
        let mut exclusive_max = false;
        for (key, value) in map {
            let translated = match key.as_str() {
                "$ref" => match value {
                    Value::String(reference) => Some(Value::String(self.def_pointer(reference))),
                    _ => None,
                },
                "properties" | "patternProperties" | "dependentSchemas" => {
                    self.schema_map(value, depth)
                }
                "additionalProperties"
                | "additionalItems"
                | "contains"
                | "not"
                | "if"
                | "then"
                | "else"
                | "propertyNames"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "contentSchema" => match value {
                    Value::Bool(_) | Value::Object(_) => Some(self.schema(value, depth + 1)),
                    _ => None,
                },
                "items" => match value {
                    Value::Array(_) => {
                        // Draft 4 tuple form: the positions become prefixItems and
                        // additionalItems (handled below) becomes items.
                        if let Some(prefix) = self.schema_list(value, depth) {
                            out.insert("prefixItems".to_owned(), prefix);
                        }
                        None
                    }
                    Value::Bool(_) | Value::Object(_) => Some(self.schema(value, depth + 1)),
                    _ => None,
                },
                "oneOf" if self.one_of_as_any_of(map, value) => {
                    // The discriminator picks the branch, so branches that overlap (as
                    // they often do) are what the author meant; oneOf would reject them.
                    // Branches that cannot be told apart at all get the same reading.
                    if let Some(list) = self.schema_list(value, depth) {
                        if map.contains_key("anyOf") {
                            let all = out.entry("allOf").or_insert_with(|| json!([]));
                            if let Value::Array(all) = all {
                                all.push(json!({ "anyOf": list }));
                            }
                        } else {
                            out.insert("anyOf".to_owned(), list);
                        }
                    }
                    None
                }
                "allOf" => {
                    // Parts may already have been added by a discriminated oneOf above.
                    match (self.schema_list(value, depth), out.remove("allOf")) {
                        (Some(Value::Array(mut parts)), Some(Value::Array(extra))) => {
                            parts.extend(extra);
                            Some(Value::Array(parts))
                        }
                        (parts, extra) => parts.or(extra),
                    }
                }
                "anyOf" | "oneOf" | "prefixItems" => self.schema_list(value, depth),
                "type" => sanitize_type(value),
                "required" => self.required(map, value),
                "exclusiveMinimum" | "exclusiveMaximum" => match value {
                    Value::Bool(flag) => {
                        if key == "exclusiveMinimum" {
                            exclusive_min = *flag;
                        } else {
                            exclusive_max = *flag;
                        }
                        None
                    }
                    Value::Number(_) => Some(value.clone()),
                    _ => None,
                },
                "minimum" | "maximum" => value.is_number().then(|| value.clone()),
                "multipleOf" => value.as_f64().filter(|m| *m > 0.0).map(|_| value.clone()),
                "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
                | "maxProperties" | "minContains" | "maxContains" => count(value).map(Value::from),
                "uniqueItems" => value.is_boolean().then(|| value.clone()),
                // An empty list allows nothing: read as a malformed keyword, not as `false`.
                "enum" => value
                    .as_array()
                    .is_some_and(|options| !options.is_empty())
                    .then(|| value.clone()),
                "const" => Some(value.clone()),
                "pattern" => match value {
                    Value::String(pattern) if !describes_format(map, pattern) => {
                        Some(value.clone())
                    }
                    _ => None,
                },
                "format" => match value {
                    Value::String(f) if ASSERTED_FORMATS.contains(&f.as_str()) => {
                        Some(value.clone())
                    }
                    _ => None,
                },
                "dependentRequired" => value.is_object().then(|| value.clone()),
                // Everything else is an annotation (description, example, xml,
                // discriminator, readOnly, ...), an extension, or a keyword that would
                // change how references resolve ($id, $schema, $anchor, nested $defs whose
                // targets are reached through $ref anyway).
                _ => None,
            };
            if let Some(translated) = translated {
                out.insert(key.clone(), translated);
            }
        }
        if map.get("items").is_some_and(Value::is_array) {
            out.remove("additionalItems")
                .map(|rest| out.insert("items".to_owned(), rest));
        } else {
            // additionalItems without a tuple means nothing in 2020-12 either.
            out.remove("additionalItems");
        }
        if exclusive_min {
            if let Some(min) = out.remove("minimum") {
                out.insert("exclusiveMinimum".to_owned(), min);
            }
        }
        if exclusive_max {
            if let Some(max) = out.remove("maximum") {
                out.insert("exclusiveMaximum".to_owned(), max);
            }
        }
        if out.get("additionalProperties") == Some(&Value::Bool(false)) && is_composite(map) {
            // Beside allOf/oneOf/anyOf/$ref, authors mean "nothing beyond what the parts
            // declare"; read literally, additionalProperties would forbid the parts' own
            // properties and make the schema unsatisfiable.
            out.remove("additionalProperties");
            out.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
        }
        if is_nullable(map) {
            return allow_null(out);
        }
        Value::Object(out)
    }

    /// Whether the `oneOf` of `map` is read as `anyOf`: it has a discriminator, or two of
    /// its branches cannot be told apart (see [`indistinct_branches`]).
    fn one_of_as_any_of(&self, map: &Map<String, Value>, list: &Value) -> bool {
        has_discriminator(map)
            || list
                .as_array()
                .is_some_and(|l| indistinct_branches(self.root, self.direction, l))
    }

    /// `required` as a list of unique names, minus those excluded by direction and those
    /// the schema forbids (see [`required_names`]).
    fn required(&self, map: &Map<String, Value>, value: &Value) -> Option<Value> {
        if !value.is_array() {
            return None;
        }
        let kept = required_names(self.root, map, self.direction);
        Some(Value::Array(kept.into_iter().map(Value::from).collect()))
    }
}

/// A `type` keyword with only known type names; `None` when nothing useful is left
/// (including Swagger's `file`, which accepts anything).
fn sanitize_type(value: &Value) -> Option<Value> {
    match value {
        Value::String(t) if JSON_TYPES.contains(&t.as_str()) => Some(value.clone()),
        Value::Array(types) => {
            if types.iter().any(|t| t.as_str() == Some("file")) {
                return None;
            }
            let mut kept: Vec<Value> = Vec::with_capacity(types.len());
            for t in types {
                if t.as_str().is_some_and(|t| JSON_TYPES.contains(&t)) && !kept.contains(t) {
                    kept.push(t.clone());
                }
            }
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

/// A non-negative integer keyword value (`5` or `5.0`).
fn count(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

/// Whether a schema has a `discriminator` naming its property, which turns its `oneOf`
/// into a choice by tag rather than by exclusive match.
pub(crate) fn has_discriminator(map: &Map<String, Value>) -> bool {
    map.get("discriminator")
        .and_then(|d| d.get("propertyName"))
        .is_some_and(Value::is_string)
}

/// Whether a translated schema combines others, so that adding `null` to `type` would not
/// be enough to let `null` through.
fn is_composite(map: &Map<String, Value>) -> bool {
    ["$ref", "allOf", "anyOf", "oneOf", "not", "if"]
        .iter()
        .any(|k| map.contains_key(*k))
}

/// The translated schema, also accepting `null`.
fn allow_null(mut map: Map<String, Value>) -> Value {
    if !map.contains_key("type") || is_composite(&map) {
        return json!({ "anyOf": [{ "type": "null" }, Value::Object(map)] });
    }
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let single = std::mem::take(t);
            map["type"] = json!([single, "null"]);
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(Value::from("null"));
        }
        _ => {}
    }
    if let Some(Value::Array(options)) = map.get_mut("enum") {
        if !options.contains(&Value::Null) {
            options.push(Value::Null);
        }
    }
    if let Some(constant) = map.remove("const") {
        if constant.is_null() {
            map.insert("const".to_owned(), constant);
        } else {
            map.insert("enum".to_owned(), json!([constant, null]));
        }
    }
    Value::Object(map)
}
