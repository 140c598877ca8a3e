//! JSON Schema dialects: turning OpenAPI 3.0 / Swagger schemas into JSON Schema 2020-12 and
//! validating instances against them.
//!
//! A schema is translated into one self-contained 2020-12 document: every `$ref` it reaches
//! (into [`SchemaContext::root`]) becomes an entry of a top-level `$defs`, so circular
//! references are ordinary references inside one document and nothing is inlined without
//! limit. Dialect differences are settled during that translation:
//!
//! - `nullable: true` / `x-nullable: true` (in any version; 3.1 documents still use it) add
//!   `"null"` to `type` (and to `enum`), or wrap the schema in `anyOf: [{type: null}, ...]`
//!   when it has no `type` or is built from `$ref`/`allOf`/`anyOf`/`oneOf`/`not`;
//! - boolean `exclusiveMinimum` / `exclusiveMaximum` become the numeric 2020-12 form;
//! - Swagger `type: file` accepts anything; an `items` array becomes `prefixItems`;
//! - `$ref` siblings apply together with the target, as in 2020-12 (most 3.0 tools do the
//!   same, and the generator reads them that way too);
//! - annotations (`discriminator`, `xml`, `example`, `description`, `x-*`, ...) are dropped;
//! - `additionalProperties: false` beside `allOf`/`oneOf`/`anyOf`/`$ref` becomes
//!   `unevaluatedProperties: false`, so the properties the parts declare stay allowed (the
//!   literal reading makes such schemas, common in real descriptions, unsatisfiable);
//! - `oneOf` with a `discriminator` becomes `anyOf`: the tag, not an exclusive match,
//!   selects the branch, and real descriptions routinely have branches that overlap
//!   (read strictly, every instance would match several and be rejected);
//! - so does a `oneOf` two of whose branches cannot be told apart, each accepting every
//!   value the other describes as far as a structural comparison shows (branches that
//!   differ only in annotations, open objects that require nothing setting them apart):
//!   read strictly, a value built from either matches both and is rejected (see
//!   `overlap`);
//! - `required` leaves out properties that are `readOnly` (request) or `writeOnly`
//!   (response) in the schema's own scope: its `properties` and those of its `allOf` parts;
//! - `required` also leaves out names the schema forbids itself: it has
//!   `additionalProperties: false` and neither its `properties`/`patternProperties` nor,
//!   beside `$ref`/`allOf`/`anyOf`/`oneOf`, its parts declare them (read literally, no
//!   value could be valid);
//! - `format` is kept for the formats we assert (date-time, date, time, email, uuid, uri,
//!   uri-reference, hostname, ipv4, ipv6) and dropped otherwise, so unknown or loosely used
//!   formats never reject a value;
//! - a `pattern` that only describes an asserted `format`, a literal holding characters no
//!   value of the format can contain (`YYYY-MM-DD` beside `format: date`, `HH:mm:SS`
//!   beside `format: time`), is dropped: as a regex it would reject every valid value;
//! - keywords whose values are malformed (`required: true`, `minimum: "1"`, an empty
//!   `enum`) are dropped rather than failing the whole schema, and so are patterns that do
//!   not compile.
//!
//! Validation follows `$ref`s through a table of translated targets shared by the
//! validators of a document ([`SchemaCache`]): each target is compiled once, when an
//! instance first reaches it, however densely the schemas reference each other (see
//! `shared`). A target that does not compile accepts every value, like a dangling
//! reference. For the same reason `unevaluatedProperties` / `unevaluatedItems` are read
//! statically: whatever any in-place subschema declares counts as evaluated, whether or not
//! that branch matched (slightly more lenient than the standard reading, never stricter).

mod overlap;
mod shared;
mod translate;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use shared::Defs;
pub use shared::SchemaCache;

pub(crate) use overlap::indistinct_branches;
pub(crate) use translate::{
    ASSERTED_FORMATS, describes_format, has_discriminator, is_excluded, is_nullable,
    required_names, resolve,
};

/// Whether a schema is read for a request (readOnly properties are not expected) or for a
/// response (writeOnly properties are not expected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Request,
    Response,
}

/// What a schema is read against: the bundled document its `$ref`s point into and its
/// dialect.
#[derive(Debug, Clone, Copy)]
pub struct SchemaContext<'a> {
    pub root: &'a Value,
    /// OpenAPI 3.0 / Swagger 2.0 dialect (`nullable`, boolean exclusive bounds).
    pub legacy: bool,
    pub direction: Direction,
}

/// One way an instance fails its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the instance (empty for the instance itself).
    pub instance_path: String,
    pub message: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.instance_path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.instance_path, self.message)
        }
    }
}

/// A compiled schema, ready to validate many instances. `Send + Sync`: share it.
pub struct SchemaValidator {
    inner: jsonschema::Validator,
    /// The `$ref` targets `inner` reaches (see [`SchemaCache`]).
    defs: Arc<Defs>,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator").finish_non_exhaustive()
    }
}

/// Nesting of `$ref` targets followed while listing violations.
const MAX_REPORT_NESTING: usize = 64;

impl SchemaValidator {
    /// Compiles `schema` (which may be or contain `$ref`s into `ctx.root`) on its own.
    /// Compiling many schemas of one document? Use [`SchemaValidator::compile_with`].
    ///
    /// Fails only when the translated schema is still rejected by the JSON Schema compiler,
    /// which malformed-keyword clean-up makes rare. `$ref` targets are compiled when an
    /// instance first reaches them; one that does not compile accepts every value.
    pub fn compile(schema: &Value, ctx: SchemaContext<'_>) -> Result<SchemaValidator, String> {
        SchemaValidator::compile_with(schema, ctx, &SchemaCache::new())
    }

    /// Compiles `schema` sharing the translated and compiled `$ref` targets of
    /// `ctx.root` kept in `cache`: each target is then translated and compiled once for all
    /// the validators of the document.
    pub fn compile_with(
        schema: &Value,
        ctx: SchemaContext<'_>,
        cache: &SchemaCache,
    ) -> Result<SchemaValidator, String> {
        let defs = cache.defs(ctx);
        let translated = defs.translate(schema, ctx);
        let inner = defs.build(translated)?;
        Ok(SchemaValidator { inner, defs })
    }

    /// Every violation of `instance`; empty when it is valid.
    pub fn validate(&self, instance: &Value) -> Vec<SchemaViolation> {
        let mut out = Vec::new();
        self.collect(&self.inner, instance, "", 0, &mut out);
        out
    }

    /// Adds the violations of `instance` (at `prefix`) against `validator`, replacing a
    /// failed `$ref` with the violations its target reports.
    fn collect(
        &self,
        validator: &jsonschema::Validator,
        instance: &Value,
        prefix: &str,
        nesting: usize,
        out: &mut Vec<SchemaViolation>,
    ) {
        for err in validator.iter_errors(instance) {
            let instance_path = format!("{prefix}{}", err.instance_path.as_str());
            let target = match &err.kind {
                jsonschema::error::ValidationErrorKind::Custom { message } => message
                    .strip_prefix(shared::REF_FAILED)
                    .and_then(|index| index.parse().ok())
                    .and_then(|index| self.defs.target(index)),
                _ => None,
            };
            match target {
                Some(target) => match target.validator() {
                    Some(inner) if nesting < MAX_REPORT_NESTING => {
                        let before = out.len();
                        self.collect(inner, &err.instance, &instance_path, nesting + 1, out);
                        if out.len() == before {
                            out.push(SchemaViolation {
                                instance_path,
                                message: "does not match its schema".to_owned(),
                            });
                        }
                    }
                    _ => out.push(SchemaViolation {
                        instance_path,
                        message: "does not match its schema".to_owned(),
                    }),
                },
                None => out.push(SchemaViolation {
                    instance_path,
                    message: describe(&err),
                }),
            }
        }
    }

    /// Whether `instance` is valid; cheaper than [`SchemaValidator::validate`] when the
    /// violations themselves are not needed.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.inner.is_valid(instance)
    }
}

/// The self-contained JSON Schema 2020-12 document `schema` stands for in `ctx`: the
/// dialect translated, every reachable `$ref` target under `$defs` (see the module docs).
/// Useful wherever a plain JSON Schema is needed (tool schemas, documentation).
pub fn to_json_schema(schema: &Value, ctx: SchemaContext<'_>) -> Value {
    let mut names = HashMap::new();
    let (top, mut defs) = translate::Translator::new(ctx, &mut names).run(schema);
    if defs.is_empty() {
        return top;
    }
    defs.sort_by_key(|(index, _)| *index);
    let defs: Map<String, Value> = defs
        .into_iter()
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

/// Removes every `pattern` keyword and `patternProperties` entry spelled `pattern` from a
/// translated document. Returns whether something was removed.
fn drop_pattern(document: &mut Value, pattern: &str) -> bool {
    match document {
        Value::Object(map) => {
            let mut removed = false;
            if map.get("pattern").and_then(Value::as_str) == Some(pattern) {
                map.remove("pattern");
                removed = true;
            }
            if let Some(Value::Object(props)) = map.get_mut("patternProperties") {
                removed |= props.remove(pattern).is_some();
            }
            for value in map.values_mut() {
                removed |= drop_pattern(value, pattern);
            }
            removed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |removed, item| drop_pattern(item, pattern) | removed),
        _ => false,
    }
}

/// Longest rendering of an instance inside a violation message.
const MAX_SHOWN: usize = 80;

/// A short rendering of `value` for messages: long objects and strings are cut.
fn shown(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > MAX_SHOWN {
        let mut cut = MAX_SHOWN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// A one-line message for a violation that never dumps a whole document.
fn describe(err: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    let instance = shown(&err.instance);
    match &err.kind {
        Kind::Required { property } => format!("missing required property {property}"),
        Kind::Type { kind } => {
            let expected = match kind {
                jsonschema::error::TypeKind::Single(t) => t.to_string(),
                jsonschema::error::TypeKind::Multiple(ts) => {
                    let mut out = String::new();
                    for (i, t) in ts.iter().enumerate() {
                        if i > 0 {
                            out.push_str(" or ");
                        }
                        let _ = write!(out, "{t}");
                    }
                    out
                }
            };
            format!("{instance} is not of type {expected}")
        }
        Kind::AdditionalProperties { unexpected } | Kind::UnevaluatedProperties { unexpected } => {
            format!("unexpected properties: {}", unexpected.join(", "))
        }
        Kind::AnyOf { .. } => format!("{instance} matches none of the allowed schemas (anyOf)"),
        Kind::OneOfNotValid { .. } => {
            format!("{instance} matches none of the alternatives (oneOf)")
        }
        Kind::OneOfMultipleValid { .. } => {
            format!("{instance} matches more than one alternative (oneOf)")
        }
        Kind::Not { .. } => format!("{instance} matches a schema it must not match (not)"),
        Kind::Enum { options } => format!("{instance} is not one of {}", shown(options)),
        Kind::Constant { expected_value } => {
            format!(
                "{instance} is not the expected value {}",
                shown(expected_value)
            )
        }
        Kind::MinProperties { limit } => format!("object has fewer than {limit} properties"),
        Kind::MaxProperties { limit } => format!("object has more than {limit} properties"),
        Kind::MinItems { limit } => format!("array has fewer than {limit} items"),
        Kind::MaxItems { limit } => format!("array has more than {limit} items"),
        Kind::UniqueItems => "array items are not unique".to_owned(),
        Kind::Format { format } => format!("{instance} is not a valid {format}"),
        _ => {
            // The remaining kinds are about scalars, so the stock message stays short.
            let text = err.to_string();
            if text.len() > 2 * MAX_SHOWN {
                let mut cut = 2 * MAX_SHOWN;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{}...", &text[..cut])
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests;
