//! What a value must satisfy, gathered from a schema and everything it pulls in (`$ref`,
//! `allOf`, chosen `oneOf`/`anyOf` branches) by reference, without copying the schema.
//!
//! The reading mirrors the validator's translation (see `schema::translate`): nullable
//! handling, boolean exclusive bounds, `$ref` siblings applied with their target, malformed
//! keyword values ignored, and `required` read through `schema::required_names` (filtered by
//! direction within each schema's scope, names the schema itself forbids left out).

use serde_json::{Map, Value};

use crate::schema::{Direction, describes_format, has_discriminator, is_nullable, required_names};

/// A schema to read, and whether it lives inside the bundled document (so its address is
/// stable for as long as the document is, and can key caches).
#[derive(Debug, Clone, Copy)]
pub(super) struct Node<'s> {
    pub schema: &'s Value,
    pub in_root: bool,
}

/// JSON types as bits. `number` sets both number bits, so that intersecting with `integer`
/// leaves `integer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Types(pub u8);

impl Types {
    pub const NULL: u8 = 1;
    pub const BOOLEAN: u8 = 2;
    pub const OBJECT: u8 = 4;
    pub const ARRAY: u8 = 8;
    /// Non-integral numbers; always set together with `INTEGER`.
    pub const NUMBER: u8 = 16;
    pub const STRING: u8 = 32;
    pub const INTEGER: u8 = 64;

    pub fn has(self, bits: u8) -> bool {
        self.0 & bits != 0
    }

    fn bits_of(name: &str) -> Option<u8> {
        Some(match name {
            "null" => Self::NULL,
            "boolean" => Self::BOOLEAN,
            "object" => Self::OBJECT,
            "array" => Self::ARRAY,
            "number" => Self::NUMBER | Self::INTEGER,
            "string" => Self::STRING,
            "integer" => Self::INTEGER,
            _ => return None,
        })
    }

    /// The set a `type` keyword allows, `None` when it constrains nothing (absent,
    /// malformed, or Swagger's `file`), exactly as the translation sanitises it.
    fn parse(value: &Value) -> Option<Types> {
        match value {
            Value::String(name) => Self::bits_of(name).map(Types),
            Value::Array(names) => {
                if names.iter().any(|n| n.as_str() == Some("file")) {
                    return None;
                }
                let bits = names
                    .iter()
                    .filter_map(|n| n.as_str().and_then(Self::bits_of));
                let bits = bits.fold(0, |acc, b| acc | b);
                (bits != 0).then_some(Types(bits))
            }
            _ => None,
        }
    }
}

/// A numeric bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

/// A disjunction still to be decided.
#[derive(Debug, Clone, Copy)]
pub(super) enum Choice<'s> {
    /// `oneOf` (`one`) or `anyOf`, with the owner's `discriminator`.
    Branches {
        list: &'s [Value],
        one: bool,
        in_root: bool,
        discriminator: Option<&'s Map<String, Value>>,
    },
    /// A nullable schema built from references or combinators: `null`, or the schema read
    /// without its `nullable`.
    NullOr(Node<'s>),
}

/// Everything gathered for one value.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts<'s> {
    /// A `false` schema was met: no value satisfies it.
    pub unsatisfiable: bool,
    pub types: Option<Types>,
    /// Each `enum` list, with whether the owner also allows `null` (nullable enums).
    pub enums: Vec<(&'s [Value], bool)>,
    pub consts: Vec<(&'s Value, bool)>,
    pub format: Option<&'s str>,
    pub patterns: Vec<&'s str>,
    pub min_len: u64,
    pub max_len: Option<u64>,
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
    pub multiple_of: Option<f64>,
    /// Declared properties; a name repeats when several parts declare it.
    pub props: Vec<(&'s str, Node<'s>)>,
    /// More than one part declared properties, so names may repeat.
    pub props_merged: bool,
    pub required: Vec<&'s str>,
    /// Parts with `additionalProperties: false`: only their own properties are allowed.
    pub closed: Vec<&'s Map<String, Value>>,
    /// A part closed the object beside combinators: only declared names may appear.
    pub sealed: bool,
    /// Parts with an `additionalProperties` schema, which applies to names they do not
    /// declare.
    pub additional: Vec<(&'s Map<String, Value>, Node<'s>)>,
    pub property_names: Vec<Node<'s>>,
    pub min_props: u64,
    pub max_props: Option<u64>,
    pub items: Vec<Node<'s>>,
    pub prefix: Option<(&'s [Value], bool)>,
    pub min_items: u64,
    pub max_items: Option<u64>,
    pub unique: bool,
    pub contains: Vec<Node<'s>>,
    pub choices: Vec<Choice<'s>>,
    pub nots: Vec<Node<'s>>,
    /// `discriminator` objects met on parts (the `allOf` inheritance style).
    pub discriminators: Vec<&'s Map<String, Value>>,
    /// `$ref` strings followed, outermost first.
    pub refs: Vec<&'s str>,
    /// Addresses of the reference targets entered, to notice cycles.
    pub targets: Vec<usize>,
    /// `example`, first of `examples`, then `default` values met on the way.
    pub samples: Vec<&'s Value>,
}

/// Longest chain of `$ref` / `allOf` nesting gathered for one value.
const MAX_HOPS: usize = 48;

/// How facts are read: the bundled document and the direction.
#[derive(Clone, Copy)]
pub(super) struct Reader<'s> {
    pub root: &'s Value,
    pub direction: Direction,
}

impl<'s> Facts<'s> {
    /// Gathers `node` into these facts. `without_nullable` reads the schema as if it had
    /// no `nullable` (the non-null side of a [`Choice::NullOr`]).
    pub fn gather(&mut self, reader: Reader<'s>, node: Node<'s>, without_nullable: bool) {
        self.gather_at(reader, node, without_nullable, 0);
    }

    fn gather_at(
        &mut self,
        reader: Reader<'s>,
        node: Node<'s>,
        without_nullable: bool,
        hops: usize,
    ) {
        let map = match node.schema {
            Value::Object(map) => map,
            Value::Bool(false) => {
                self.unsatisfiable = true;
                return;
            }
            _ => return,
        };
        if hops > MAX_HOPS {
            return;
        }
        let nullable = !without_nullable && is_nullable(map);
        if nullable && (!map.contains_key("type") || is_composite(map)) {
            self.choices.push(Choice::NullOr(node));
            return;
        }
        if let Some(types) = map.get("type").and_then(Types::parse) {
            let types = if nullable {
                Types(types.0 | Types::NULL)
            } else {
                types
            };
            self.types = Some(match self.types {
                Some(t) => Types(t.0 & types.0),
                None => types,
            });
        }
        if let Some(Value::String(reference)) = map.get("$ref") {
            // A dangling reference accepts anything, as in the validator.
            if let Some(target) = spec::resolve_ref(reader.root, reference) {
                self.refs.push(reference);
                self.targets.push(target as *const Value as usize);
                let target = Node {
                    schema: target,
                    in_root: true,
                };
                self.gather_at(reader, target, false, hops + 1);
            }
        }
        for (key, value) in map {
            self.keyword(reader, node, map, key, value, nullable, hops);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn keyword(
        &mut self,
        reader: Reader<'s>,
        node: Node<'s>,
        map: &'s Map<String, Value>,
        key: &'s str,
        value: &'s Value,
        nullable: bool,
        hops: usize,
    ) {
        let in_root = node.in_root;
        let sub = |schema: &'s Value| Node { schema, in_root };
        match key {
            "enum" => {
                // An empty list is ignored, as in the translation.
                if let Value::Array(options) = value {
                    if !options.is_empty() {
                        self.enums.push((options, nullable));
                    }
                }
            }
            "const" => self.consts.push((value, nullable)),
            "format" => {
                if let Value::String(format) = value {
                    self.format.get_or_insert(format);
                }
            }
            "pattern" => {
                // A pattern that only describes the format is ignored, as in the translation.
                if let Value::String(pattern) = value {
                    if !describes_format(map, pattern) {
                        self.patterns.push(pattern);
                    }
                }
            }
            "minLength" => self.min_len = self.min_len.max(count(value).unwrap_or(0)),
            "maxLength" => self.max_len = tighter(self.max_len, count(value)),
            "minItems" => self.min_items = self.min_items.max(count(value).unwrap_or(0)),
            "maxItems" => self.max_items = tighter(self.max_items, count(value)),
            "minProperties" => self.min_props = self.min_props.max(count(value).unwrap_or(0)),
            "maxProperties" => self.max_props = tighter(self.max_props, count(value)),
            "uniqueItems" => self.unique |= value.as_bool() == Some(true),
            "minimum" | "exclusiveMinimum" => {
                if let Some(bound) = numeric_bound(map, key, value, "exclusiveMinimum") {
                    self.lower = Some(match self.lower {
                        Some(b) if b.value > bound.value => b,
                        Some(b) if b.value == bound.value => Bound {
                            exclusive: b.exclusive || bound.exclusive,
                            ..b
                        },
                        _ => bound,
                    });
                }
            }
            "maximum" | "exclusiveMaximum" => {
                if let Some(bound) = numeric_bound(map, key, value, "exclusiveMaximum") {
                    self.upper = Some(match self.upper {
                        Some(b) if b.value < bound.value => b,
                        Some(b) if b.value == bound.value => Bound {
                            exclusive: b.exclusive || bound.exclusive,
                            ..b
                        },
                        _ => bound,
                    });
                }
            }
            "multipleOf" => {
                if let Some(m) = value.as_f64().filter(|m| *m > 0.0) {
                    // Two multipleOf constraints rarely meet; keep the larger, which is
                    // usually a multiple of the smaller.
                    self.multiple_of = Some(self.multiple_of.map_or(m, |old: f64| old.max(m)));
                }
            }
            "properties" => {
                if let Value::Object(props) = value {
                    if !self.props.is_empty() && !props.is_empty() {
                        self.props_merged = true;
                    }
                    self.props
                        .extend(props.iter().map(|(k, v)| (k.as_str(), sub(v))));
                }
            }
            "required" => {
                for name in required_names(reader.root, map, reader.direction) {
                    if !self.required.contains(&name) {
                        self.required.push(name);
                    }
                }
            }
            "additionalProperties" => match value {
                // Read as unevaluatedProperties (as the translation does): the merged
                // declarations are the allowed names.
                Value::Bool(false) if is_composite(map) => self.sealed = true,
                Value::Bool(false) => self.closed.push(map),
                Value::Object(_) => self.additional.push((map, sub(value))),
                _ => {}
            },
            "propertyNames" => self.property_names.push(sub(value)),
            "items" => match value {
                Value::Array(list) => {
                    self.prefix.get_or_insert((list, in_root));
                }
                Value::Object(_) | Value::Bool(_) => self.items.push(sub(value)),
                _ => {}
            },
            "prefixItems" => {
                if let Value::Array(list) = value {
                    self.prefix.get_or_insert((list, in_root));
                }
            }
            "contains" => self.contains.push(sub(value)),
            "allOf" => {
                if let Value::Array(parts) = value {
                    for part in parts {
                        self.gather_at(reader, sub(part), false, hops + 1);
                    }
                }
            }
            "oneOf" | "anyOf" => {
                if let Value::Array(list) = value {
                    if !list.is_empty() {
                        let discriminator = match map.get("discriminator") {
                            Some(Value::Object(d)) => Some(d),
                            _ => None,
                        };
                        self.choices.push(Choice::Branches {
                            list,
                            // A discriminated oneOf is read as anyOf, as the translation does.
                            one: key == "oneOf" && !has_discriminator(map),
                            in_root,
                            discriminator,
                        });
                    }
                }
            }
            "not" => self.nots.push(sub(value)),
            "discriminator" => {
                if let Value::Object(d) = value {
                    if !map.contains_key("oneOf") && !map.contains_key("anyOf") {
                        self.discriminators.push(d);
                    }
                }
            }
            "example" => self.samples.push(value),
            "examples" => {
                if let Some(first) = value.as_array().and_then(|e| e.first()) {
                    self.samples.push(first);
                }
            }
            "default" => self.samples.push(value),
            _ => {}
        }
    }

    /// The values `enum`/`const` leave possible, when they say anything: each listed value
    /// allowed by every list.
    pub fn listed_values(&self) -> Option<Vec<&'s Value>> {
        let first: Vec<&'s Value> = match (self.consts.first(), self.enums.first()) {
            (Some((c, _)), _) => vec![*c],
            (None, Some((options, _))) => options.iter().collect(),
            (None, None) => return None,
        };
        let kept = first
            .into_iter()
            .filter(|v| self.listed_allows(v))
            .collect();
        Some(kept)
    }

    /// Whether every `enum`/`const` (with its nullable extension) allows `value`.
    pub fn listed_allows(&self, value: &Value) -> bool {
        self.consts
            .iter()
            .all(|(c, null_ok)| *c == value || (*null_ok && value.is_null()))
            && self
                .enums
                .iter()
                .all(|(options, null_ok)| options.contains(value) || (*null_ok && value.is_null()))
    }

    /// Whether a property `name` may appear: every closed part declares it.
    pub fn allows_name(&self, name: &str) -> bool {
        self.closed
            .iter()
            .all(|part| part.get("properties").and_then(|p| p.get(name)).is_some())
    }
}

/// Whether a schema combines others, so that its `nullable` needs a disjunction (mirrors
/// the translation, which wraps such schemas in `anyOf`).
fn is_composite(map: &Map<String, Value>) -> bool {
    ["$ref", "allOf", "anyOf", "oneOf", "not", "if"]
        .iter()
        .any(|k| map.contains_key(*k))
}

/// A non-negative integer keyword value (`5` or `5.0`), as the translation reads it.
fn count(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

fn tighter(old: Option<u64>, new: Option<u64>) -> Option<u64> {
    match (old, new) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The bound one of `minimum`/`exclusiveMinimum` (or the maximum pair) sets, reading the
/// boolean form of the exclusive keyword as a modifier of the plain one.
fn numeric_bound(
    map: &Map<String, Value>,
    key: &str,
    value: &Value,
    exclusive_key: &str,
) -> Option<Bound> {
    if key == exclusive_key {
        // Numeric 2020-12 form; the boolean form is read with the plain keyword.
        return value.as_f64().map(|v| Bound {
            value: v,
            exclusive: true,
        });
    }
    let v = value.as_f64()?;
    let exclusive = map.get(exclusive_key).and_then(Value::as_bool) == Some(true);
    Some(Bound {
        value: v,
        exclusive,
    })
}
