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
//! - `required` leaves out properties that are `readOnly` (request) or `writeOnly`
//!   (response) in the schema's own scope: its `properties` and those of its `allOf` parts;
//! - `format` is kept for the formats we assert (date-time, date, time, email, uuid, uri,
//!   uri-reference, hostname, ipv4, ipv6) and dropped otherwise, so unknown or loosely used
//!   formats never reject a value;
//! - keywords whose values are malformed (`required: true`, `minimum: "1"`) are dropped
//!   rather than failing the whole schema, and so are patterns that do not compile.

mod translate;

use std::fmt::Write as _;

use serde_json::Value;

pub(crate) use translate::{
    ASSERTED_FORMATS, excluded_names, has_discriminator, is_excluded, is_nullable, resolve,
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
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator").finish_non_exhaustive()
    }
}

/// How many broken patterns one compilation drops before giving up.
const MAX_PATTERN_REPAIRS: usize = 64;

impl SchemaValidator {
    /// Compiles `schema` (which may be or contain `$ref`s into `ctx.root`).
    ///
    /// Fails only when the translated schema is still rejected by the JSON Schema compiler,
    /// which malformed-keyword clean-up makes rare.
    pub fn compile(schema: &Value, ctx: SchemaContext<'_>) -> Result<SchemaValidator, String> {
        let mut document = to_json_schema(schema, ctx);
        let options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true);
        for _ in 0..MAX_PATTERN_REPAIRS {
            match options.build(&document) {
                Ok(inner) => return Ok(SchemaValidator { inner }),
                Err(err) => {
                    // A pattern that our regex engine cannot compile (backreferences, exotic
                    // ECMA syntax) would make the whole schema unusable; drop just that
                    // keyword and try again.
                    // Whichever path the error reports (metaschema failures put the schema
                    // location in `instance_path`), its instance is the offending pattern.
                    let removed = match err.instance.as_ref() {
                        Value::String(pattern) => drop_pattern(&mut document, pattern),
                        _ => false,
                    };
                    if !removed {
                        let at = err.instance_path.as_str();
                        return Err(format!("invalid schema at #{at}: {err}"));
                    }
                }
            }
        }
        Err("invalid schema: too many patterns that do not compile".to_owned())
    }

    /// Every violation of `instance`; empty when it is valid.
    pub fn validate(&self, instance: &Value) -> Vec<SchemaViolation> {
        self.inner
            .iter_errors(instance)
            .map(|err| SchemaViolation {
                instance_path: err.instance_path.as_str().to_owned(),
                message: describe(&err),
            })
            .collect()
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
    translate::Translator::new(ctx).run(schema)
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
        Kind::AdditionalProperties { unexpected } => {
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
