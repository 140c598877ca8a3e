//! Spotting `oneOf` branches that cannot be told apart, which the translation and the
//! generator then read as `anyOf` (see the module docs of `schema`).
//!
//! Two branches are indistinct when each accepts every value the other describes, as far
//! as a structural comparison shows: types, `enum`/`const`, `required`, closed objects,
//! the declared properties (compared the same way, a few levels deep) and the other
//! assertions compared for equality. Anything the comparison does not model (nested
//! combinators, `patternProperties`, a `nullable` composite, ...) makes the answer "no",
//! which keeps the strict reading.

use serde_json::{Map, Value};

use super::Direction;
use super::translate::{ASSERTED_FORMATS, is_nullable, required_names};

/// Longest `$ref` / `allOf` chain followed for one branch.
const MAX_HOPS: usize = 16;
/// Property nesting compared; deeper, the schemas must be the very same.
const MAX_DEPTH: usize = 4;
/// Longest `oneOf` compared pair by pair.
const MAX_BRANCHES: usize = 64;

static NULL_VALUE: Value = Value::Null;

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const OBJECT: u8 = 4;
const ARRAY: u8 = 8;
const NUMBER: u8 = 16;
const STRING: u8 = 32;
const INTEGER: u8 = 64;

/// Assertions compared for equality (and `format`, when it is one we assert).
const COMPARED: &[&str] = &[
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Keywords this comparison does not model.
const OPAQUE: &[&str] = &[
    "oneOf",
    "anyOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "prefixItems",
    "additionalItems",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// Whether two branches of `list` each accept every value the other describes.
pub(crate) fn indistinct_branches<'v>(
    root: &'v Value,
    direction: Direction,
    list: &'v [Value],
) -> bool {
    if list.len() < 2 || list.len() > MAX_BRANCHES {
        return false;
    }
    let reader = Reader { root, direction };
    let shapes: Vec<Shape<'_>> = list.iter().map(|b| reader.shape(&[b])).collect();
    shapes.iter().enumerate().any(|(i, a)| {
        shapes[i + 1..].iter().enumerate().any(|(k, b)| {
            list[i] == list[i + 1 + k] || (reader.fits(a, b, 0) && reader.fits(b, a, 0))
        })
    })
}

#[derive(Clone, Copy)]
struct Reader<'v> {
    root: &'v Value,
    direction: Direction,
}

/// What a schema (with its references and `allOf` parts merged) asserts.
#[derive(Default)]
struct Shape<'v> {
    /// Allowed types as bits; `None` when unconstrained.
    types: Option<u8>,
    /// Values an `enum`/`const` allows (every list met must allow them).
    listed: Option<Vec<&'v Value>>,
    props: Vec<(&'v str, &'v Value)>,
    required: Vec<&'v str>,
    closed: bool,
    items: Vec<&'v Value>,
    others: Vec<(&'v str, &'v Value)>,
    /// Something not modelled was met.
    opaque: bool,
}

fn type_bits(name: &str) -> Option<u8> {
    Some(match name {
        "null" => NULL,
        "boolean" => BOOLEAN,
        "object" => OBJECT,
        "array" => ARRAY,
        "number" => NUMBER | INTEGER,
        "string" => STRING,
        "integer" => INTEGER,
        _ => return None,
    })
}

fn parse_types(value: &Value) -> Option<u8> {
    match value {
        Value::String(name) => type_bits(name),
        Value::Array(names) => {
            let bits = names
                .iter()
                .filter_map(|n| n.as_str().and_then(type_bits))
                .fold(0, |a, b| a | b);
            (bits != 0).then_some(bits)
        }
        _ => None,
    }
}

impl<'v> Reader<'v> {
    fn shape(&self, schemas: &[&'v Value]) -> Shape<'v> {
        let mut shape = Shape::default();
        for schema in schemas {
            self.gather(schema, 0, &mut shape);
        }
        shape
    }

    fn gather(&self, schema: &'v Value, hops: usize, out: &mut Shape<'v>) {
        let map: &'v Map<String, Value> = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return,
            _ => {
                out.opaque = true;
                return;
            }
        };
        if hops > MAX_HOPS {
            out.opaque = true;
            return;
        }
        let nullable = is_nullable(map);
        let composite = ["$ref", "allOf", "anyOf", "oneOf", "not", "if"]
            .iter()
            .any(|k| map.contains_key(*k));
        if nullable && (!map.contains_key("type") || composite) {
            // Read as `anyOf: [null, ...]`: not modelled.
            out.opaque = true;
            return;
        }
        if let Some(bits) = map.get("type").and_then(parse_types) {
            let bits = if nullable { bits | NULL } else { bits };
            out.types = Some(out.types.map_or(bits, |t| t & bits));
        }
        for (key, value) in map {
            match key.as_str() {
                "$ref" => {
                    if let Value::String(reference) = value {
                        if let Some(target) = spec::resolve_ref(self.root, reference) {
                            self.gather(target, hops + 1, out);
                        }
                    }
                }
                "allOf" => match value {
                    Value::Array(parts) => {
                        for part in parts {
                            self.gather(part, hops + 1, out);
                        }
                    }
                    _ => out.opaque = true,
                },
                "enum" | "const" => {
                    let mut allowed: Vec<&'v Value> = match value {
                        Value::Array(options) if key == "enum" && !options.is_empty() => {
                            options.iter().collect()
                        }
                        _ if key == "const" => vec![value],
                        _ => continue,
                    };
                    if nullable && !allowed.contains(&&NULL_VALUE) {
                        allowed.push(&NULL_VALUE);
                    }
                    out.listed = Some(match out.listed.take() {
                        Some(old) => old.into_iter().filter(|v| allowed.contains(v)).collect(),
                        None => allowed,
                    });
                }
                "properties" => match value {
                    Value::Object(props) => {
                        out.props.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
                    }
                    _ => out.opaque = true,
                },
                "required" => {
                    for name in required_names(self.root, map, self.direction) {
                        if !out.required.contains(&name) {
                            out.required.push(name);
                        }
                    }
                }
                "additionalProperties" => match value {
                    Value::Bool(false) => out.closed = true,
                    Value::Bool(true) => {}
                    Value::Object(m) if m.is_empty() => {}
                    _ => out.opaque = true,
                },
                "items" => match value {
                    Value::Object(_) | Value::Bool(_) => out.items.push(value),
                    _ => out.opaque = true,
                },
                "format"
                    if value
                        .as_str()
                        .is_some_and(|f| ASSERTED_FORMATS.contains(&f)) =>
                {
                    out.others.push(("format", value));
                }
                k if COMPARED.contains(&k) => out.others.push((k, value)),
                k if OPAQUE.contains(&k) => out.opaque = true,
                // Annotations, extensions, and keywords read above.
                _ => {}
            }
        }
    }

    /// Whether every value `a` describes is accepted by `b`, as far as the shapes show.
    fn fits(&self, a: &Shape<'v>, b: &Shape<'v>, depth: usize) -> bool {
        if a.opaque || b.opaque {
            return false;
        }
        match (a.types, b.types) {
            (_, None) => {}
            (None, Some(_)) => return false,
            (Some(ta), Some(tb)) => {
                if ta & !tb != 0 {
                    return false;
                }
            }
        }
        match (&a.listed, &b.listed) {
            (_, None) => {}
            (None, Some(_)) => return false,
            (Some(la), Some(lb)) => {
                if !la.iter().all(|v| lb.contains(v)) {
                    return false;
                }
            }
        }
        if !b.others.iter().all(|other| a.others.contains(other)) {
            return false;
        }
        if !b.required.iter().all(|name| a.required.contains(name)) {
            return false;
        }
        let declared_by =
            |shape: &Shape<'v>, name: &str| shape.props.iter().any(|(n, _)| *n == name);
        if b.closed
            && !a
                .props
                .iter()
                .map(|(n, _)| *n)
                .chain(a.required.iter().copied())
                .all(|name| declared_by(b, name))
        {
            return false;
        }
        let mut compared: Vec<&str> = Vec::new();
        for (name, _) in &b.props {
            if compared.contains(name) {
                continue;
            }
            compared.push(name);
            if !declared_by(a, name) {
                // A value of `a` has this property only if `a` requires it, with any
                // value at all.
                if a.required.contains(name) {
                    return false;
                }
                continue;
            }
            let of = |shape: &Shape<'v>| -> Vec<&'v Value> {
                shape
                    .props
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, s)| *s)
                    .collect()
            };
            if !self.nested_fits(&of(a), &of(b), depth) {
                return false;
            }
        }
        if !b.items.is_empty()
            && (a.items.is_empty() || !self.nested_fits(&a.items, &b.items, depth))
        {
            return false;
        }
        true
    }

    fn nested_fits(&self, a: &[&'v Value], b: &[&'v Value], depth: usize) -> bool {
        // The very same schemas accept the same values, whatever they say.
        let same =
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y) || x == y);
        if same || depth >= MAX_DEPTH {
            return same;
        }
        self.fits(&self.shape(a), &self.shape(b), depth + 1)
    }
}
