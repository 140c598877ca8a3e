//! The dialect translation behind [`super::to_json_schema`], and the small schema-reading
//! helpers the generator shares with it so that both read a schema the same way.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

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
pub(crate) fn excluded_names<'v>(
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

/// Builds one self-contained 2020-12 document from a schema and what it references.
pub(crate) struct Translator<'a> {
    root: &'a Value,
    direction: Direction,
    /// `$ref` string to index in `defs`.
    names: HashMap<String, usize>,
    /// Translated targets; `Value::Null` until the target has been translated.
    defs: Vec<Value>,
    /// Targets waiting to be translated: (index, reference).
    pending: Vec<(usize, String)>,
}

impl<'a> Translator<'a> {
    pub(crate) fn new(ctx: SchemaContext<'a>) -> Self {
        Translator {
            root: ctx.root,
            direction: ctx.direction,
            names: HashMap::new(),
            defs: Vec::new(),
            pending: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, schema: &Value) -> Value {
        let top = self.schema(schema, 0);
        while let Some((index, reference)) = self.pending.pop() {
            let root = self.root;
            let translated = match spec::resolve_ref(root, &reference) {
                Some(target) => self.schema(target, 0),
                // A dangling reference is a loader warning; accept anything rather than
                // refusing every instance.
                None => Value::Bool(true),
            };
            self.defs[index] = translated;
        }
        if self.defs.is_empty() {
            return top;
        }
        let defs: Map<String, Value> = self
            .defs
            .into_iter()
            .enumerate()
            .map(|(i, d)| (format!("d{i}"), d))
            .collect();
        match top {
            Value::Object(mut map) => {
                map.insert("$defs".to_owned(), Value::Object(defs));
                Value::Object(map)
            }
            other => json!({ "$defs": defs, "allOf": [other] }),
        }
    }

    /// The `$defs` pointer standing for `reference`, queueing its target when new.
    fn def_pointer(&mut self, reference: &str) -> String {
        let index = match self.names.get(reference) {
            Some(&index) => index,
            None => {
                let index = self.defs.len();
                self.defs.push(Value::Null);
                self.names.insert(reference.to_owned(), index);
                self.pending.push((index, reference.to_owned()));
                index
            }
        };
        format!("#/$defs/d{index}")
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
                "oneOf" if has_discriminator(map) => {
                    // The discriminator picks the branch, so branches that overlap (as
                    // they often do) are what the author meant; oneOf would reject them.
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
                "enum" => value.is_array().then(|| value.clone()),
                "const" => Some(value.clone()),
                "pattern" => value.is_string().then(|| value.clone()),
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

    /// `required` as a list of unique names, minus those excluded by direction.
    fn required(&self, map: &Map<String, Value>, value: &Value) -> Option<Value> {
        let Value::Array(names) = value else {
            return None;
        };
        let excluded = excluded_names(self.root, map, self.direction);
        let mut kept: Vec<Value> = Vec::with_capacity(names.len());
        for name in names {
            if let Value::String(s) = name {
                if !excluded.contains(&s.as_str()) && !kept.contains(name) {
                    kept.push(name.clone());
                }
            }
        }
        Some(Value::Array(kept))
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
    map.get("discriminator").and_then(|d| d.get("propertyName")).is_some_and(Value::is_string)
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
        Some(Value::String(t)) => {
            if t != "null" {
                let single = std::mem::take(t);
                map["type"] = json!([single, "null"]);
            }
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(Value::from("null"));
            }
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
