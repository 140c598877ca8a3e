//! Reference targets translated and compiled once, shared by every validator of a document.
//!
//! The JSON Schema compiler we use expands a `$ref` in place the first time it meets it and
//! defers later ones; each deferred reference then compiles its target, and everything the
//! target reaches, anew the first time an instance gets there. In a description whose
//! schemas all reach each other (Stripe's expandable fields put most of the document behind
//! every object) a single validation could compile the whole document hundreds of times.
//! So validators here do not let the compiler follow references: `$ref` is a keyword of
//! ours that hands the instance to the target's own compiled validator, kept in a table
//! beside the translated targets. Each target is translated once per document and
//! direction, and compiled once, when an instance first reaches it.
//!
//! `unevaluatedProperties` and `unevaluatedItems` would need the compiler to see through
//! references, so they are keywords of ours too, read statically (see
//! [`evaluated_names`]): a property counts as evaluated when any in-place subschema
//! (`allOf`/`anyOf`/`oneOf` branches, `$ref` targets, `if`/`then`/`else`,
//! `dependentSchemas`) declares it, whether or not that branch matched. That reading
//! accepts a little more than the standard one and never less.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::{LazyLocation, Location};
use jsonschema::{Keyword, ValidationError, ValidationOptions, Validator};
use serde_json::{Map, Value};

use super::translate::Translator;
use super::{Direction, SchemaContext, drop_pattern};

/// How many broken patterns one compilation drops before giving up.
const MAX_PATTERN_REPAIRS: usize = 64;

/// References followed without the instance getting any deeper, past which a cycle of
/// bare references (`A: {$ref: B}`, `B: {$ref: A}`) is taken to accept the instance.
const MAX_REF_NESTING: u32 = 512;

/// The prefix of the `$ref` targets in translated documents.
pub(super) const DEF_PREFIX: &str = "#/$defs/d";

/// Message of the error our `$ref` keyword reports: the target index follows. Never shown:
/// [`super::SchemaValidator::validate`] replaces it with the target's own violations.
pub(super) const REF_FAILED: &str = "\u{1}ref-failed:";

thread_local! {
    static REF_NESTING: Cell<u32> = const { Cell::new(0) };
}

/// Translated and compiled `$ref` targets of one document, shared by the validators
/// compiled with it. Keep one per loaded document (it is `Send + Sync`) and hand it to
/// [`super::SchemaValidator::compile_with`]; it starts over when it is handed a different
/// document.
#[derive(Default)]
pub struct SchemaCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// Address of the document the tables belong to.
    root: usize,
    /// One table per direction (translation filters `required` by direction).
    tables: [Option<Arc<Defs>>; 2],
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache").finish_non_exhaustive()
    }
}

impl SchemaCache {
    pub fn new() -> SchemaCache {
        SchemaCache::default()
    }

    /// How many targets the table for `direction` holds, and how many of them are compiled.
    #[cfg(test)]
    pub(crate) fn targets(&self, direction: Direction) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match direction {
            Direction::Request => 0,
            Direction::Response => 1,
        };
        state.tables[index].as_ref().map_or((0, 0), |defs| {
            let table = defs.table.lock().unwrap_or_else(PoisonError::into_inner);
            let compiled = table
                .slots
                .iter()
                .filter(|s| s.compiled.get().is_some())
                .count();
            (table.slots.len(), compiled)
        })
    }

    /// The table for `ctx`'s document and direction.
    pub(super) fn defs(&self, ctx: SchemaContext<'_>) -> Arc<Defs> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let root = ctx.root as *const Value as usize;
        if state.root != root {
            state.tables = [None, None];
            state.root = root;
        }
        let slot = match ctx.direction {
            Direction::Request => 0,
            Direction::Response => 1,
        };
        Arc::clone(state.tables[slot].get_or_insert_with(Defs::new))
    }
}

/// The translated targets of one document and direction, and their compiled validators.
pub(super) struct Defs {
    table: Mutex<Table>,
    /// Compiler options whose `$ref` and `unevaluated*` keywords read this table.
    options: ValidationOptions,
}

#[derive(Default)]
struct Table {
    /// `$ref` string (as written in the source document) to target index.
    names: HashMap<String, usize>,
    slots: Vec<Arc<Slot>>,
}

/// One translated target.
struct Slot {
    schema: Value,
    /// `None` when the target does not compile even without its broken patterns: it then
    /// accepts every value, like a dangling reference.
    compiled: OnceLock<Option<Validator>>,
}

impl Defs {
    // The keyword factories' signature is jsonschema's, large error type included.
    #[allow(clippy::result_large_err)]
    fn new() -> Arc<Defs> {
        Arc::new_cyclic(|me: &Weak<Defs>| {
            let for_ref = Weak::clone(me);
            let for_props = Weak::clone(me);
            let for_items = Weak::clone(me);
            let options = base_options()
                .with_keyword("$ref", move |_parent, value, _location| {
                    ref_keyword(&for_ref, value)
                })
                .with_keyword("unevaluatedProperties", move |parent, value, location| {
                    unevaluated_properties(&for_props, parent, value, &location)
                })
                .with_keyword("unevaluatedItems", move |parent, value, location| {
                    unevaluated_items(&for_items, parent, value, &location)
                });
            Defs {
                table: Mutex::new(Table::default()),
                options,
            }
        })
    }

    /// Translates `schema` for `ctx`, adding the targets it reaches that the table does
    /// not hold yet; returns the translated schema, whose `$ref`s point into the table.
    pub(super) fn translate(&self, schema: &Value, ctx: SchemaContext<'_>) -> Value {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut *table;
        if table.names.len() != table.slots.len() {
            // A translation panicked half-way: forget the targets it did not store.
            let stored = table.slots.len();
            table.names.retain(|_, index| *index < stored);
        }
        let first_new = table.slots.len();
        let (top, mut new) = Translator::new(ctx, &mut table.names).run(schema);
        new.sort_by_key(|(index, _)| *index);
        for (offset, (index, translated)) in new.into_iter().enumerate() {
            debug_assert_eq!(index, first_new + offset);
            table.slots.push(Arc::new(Slot {
                schema: translated,
                compiled: OnceLock::new(),
            }));
        }
        top
    }

    /// Compiles a translated schema with this table's keywords.
    pub(super) fn build(&self, schema: Value) -> Result<Validator, String> {
        build_repairing(&self.options, schema)
    }

    fn slot(&self, index: usize) -> Option<Arc<Slot>> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.slots.get(index).cloned()
    }

    /// The compiled target at `index`, compiled now if it has not been yet.
    pub(super) fn target(&self, index: usize) -> Option<TargetRef> {
        let slot = self.slot(index)?;
        slot.compiled(self);
        Some(TargetRef(slot))
    }
}

impl Slot {
    fn compiled(&self, defs: &Defs) -> Option<&Validator> {
        self.compiled
            .get_or_init(|| defs.build(self.schema.clone()).ok())
            .as_ref()
    }
}

/// A compiled target held alive while it is used.
pub(super) struct TargetRef(Arc<Slot>);

impl TargetRef {
    pub(super) fn validator(&self) -> Option<&Validator> {
        self.0.compiled.get().and_then(Option::as_ref)
    }
}

fn base_options() -> ValidationOptions {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
}

/// Builds `document`, dropping patterns our regex engine cannot compile (backreferences,
/// exotic ECMA syntax) rather than failing the whole schema.
pub(super) fn build_repairing(
    options: &ValidationOptions,
    mut document: Value,
) -> Result<Validator, String> {
    for _ in 0..MAX_PATTERN_REPAIRS {
        match options.build(&document) {
            Ok(validator) => return Ok(validator),
            Err(err) => {
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

/// The target index a translated `$ref` names.
pub(super) fn def_index(reference: &str) -> Option<usize> {
    reference.strip_prefix(DEF_PREFIX)?.parse().ok()
}

fn malformed<'a>(value: &'a Value, location: &Location, what: &str) -> ValidationError<'a> {
    ValidationError::custom(
        location.clone(),
        Location::new(),
        value,
        format!("malformed {what}"),
    )
}

/// Our `$ref`: validates against the target's own compiled validator.
struct RefKeyword {
    defs: Weak<Defs>,
    slot: Weak<Slot>,
    index: usize,
}

#[allow(clippy::result_large_err)] // jsonschema's factory signature
fn ref_keyword<'a>(
    defs: &Weak<Defs>,
    value: &'a Value,
) -> Result<Box<dyn Keyword>, ValidationError<'a>> {
    let location = Location::new().join("$ref");
    let index = value
        .as_str()
        .and_then(def_index)
        .ok_or_else(|| malformed(value, &location, "$ref"))?;
    let slot = defs
        .upgrade()
        .and_then(|d| d.slot(index))
        .ok_or_else(|| malformed(value, &location, "$ref target"))?;
    Ok(Box::new(RefKeyword {
        defs: Weak::clone(defs),
        slot: Arc::downgrade(&slot),
        index,
    }))
}

impl Keyword for RefKeyword {
    fn validate<'i>(
        &self,
        instance: &'i Value,
        location: &LazyLocation,
    ) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            return Ok(());
        }
        Err(ValidationError::custom(
            Location::new(),
            location.into(),
            instance,
            format!("{REF_FAILED}{}", self.index),
        ))
    }

    fn is_valid(&self, instance: &Value) -> bool {
        let (Some(defs), Some(slot)) = (self.defs.upgrade(), self.slot.upgrade()) else {
            return true;
        };
        let Some(validator) = slot.compiled(&defs) else {
            return true;
        };
        let nesting = Nesting::enter();
        nesting.depth > MAX_REF_NESTING || validator.is_valid(instance)
    }
}

/// One level of [`REF_NESTING`], left when dropped (unwinding included).
struct Nesting {
    depth: u32,
}

impl Nesting {
    fn enter() -> Nesting {
        let depth = REF_NESTING.with(|n| {
            let depth = n.get() + 1;
            n.set(depth);
            depth
        });
        Nesting { depth }
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        REF_NESTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// What the in-place subschemas of a schema evaluate, read statically.
#[derive(Default)]
struct Evaluated {
    /// Every property (or item) counts as evaluated.
    all: bool,
    names: Vec<String>,
    patterns: Vec<String>,
    /// Leading items covered by `prefixItems`.
    prefix: usize,
}

/// Collects what `schema` and its in-place subschemas evaluate; `seen` guards against
/// reference cycles.
fn evaluated_names(
    defs: &Defs,
    schema: &Map<String, Value>,
    items: bool,
    nested: bool,
    seen: &mut Vec<usize>,
    out: &mut Evaluated,
) {
    if out.all {
        return;
    }
    if items {
        if schema.contains_key("items") || schema.contains_key("contains") {
            out.all = true;
        }
        if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
            out.prefix = out.prefix.max(prefix.len());
        }
    } else {
        if let Some(Value::Object(props)) = schema.get("properties") {
            out.names.extend(props.keys().cloned());
        }
        if let Some(Value::Object(patterns)) = schema.get("patternProperties") {
            out.patterns.extend(patterns.keys().cloned());
        }
        if schema
            .get("additionalProperties")
            .is_some_and(|a| *a != Value::Bool(false))
        {
            out.all = true;
        }
    }
    let own = if items {
        "unevaluatedItems"
    } else {
        "unevaluatedProperties"
    };
    // A nested `unevaluated*` other than `false` evaluates whatever is left in its scope.
    if nested && schema.get(own).is_some_and(|u| *u != Value::Bool(false)) {
        out.all = true;
    }
    let visit = |sub: &Value, out: &mut Evaluated, seen: &mut Vec<usize>| {
        if let Value::Object(map) = sub {
            evaluated_names(defs, map, items, true, seen, out);
        }
    };
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(parts)) = schema.get(key) {
            for part in parts {
                visit(part, out, seen);
            }
        }
    }
    for key in ["if", "then", "else"] {
        if let Some(sub) = schema.get(key) {
            visit(sub, out, seen);
        }
    }
    if let Some(Value::Object(dependent)) = schema.get("dependentSchemas") {
        for sub in dependent.values() {
            visit(sub, out, seen);
        }
    }
    if let Some(index) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(def_index)
    {
        if !seen.contains(&index) {
            seen.push(index);
            if let Some(slot) = defs.slot(index) {
                visit(&slot.schema, out, seen);
            }
        }
    }
}

/// Our `unevaluatedProperties`: names no in-place subschema declares must match its schema.
struct UnevaluatedProperties {
    evaluated: Evaluated,
    /// Pattern matchers for `evaluated.patterns`.
    patterns: Vec<Validator>,
    /// `None` for `false`.
    rest: Option<Validator>,
}

#[allow(clippy::result_large_err)] // jsonschema's factory signature
fn unevaluated_properties<'a>(
    defs: &Weak<Defs>,
    parent: &'a Map<String, Value>,
    value: &'a Value,
    location: &Location,
) -> Result<Box<dyn Keyword>, ValidationError<'a>> {
    let defs = defs
        .upgrade()
        .ok_or_else(|| malformed(value, location, "unevaluatedProperties"))?;
    let mut evaluated = Evaluated::default();
    evaluated_names(&defs, parent, false, false, &mut Vec::new(), &mut evaluated);
    let patterns = evaluated
        .patterns
        .iter()
        .filter_map(|p| {
            base_options()
                .build(&serde_json::json!({ "pattern": p }))
                .ok()
        })
        .collect();
    let rest = match value {
        Value::Bool(false) => None,
        _ => Some(
            defs.build(value.clone())
                .map_err(|_| malformed(value, location, "unevaluatedProperties"))?,
        ),
    };
    Ok(Box::new(UnevaluatedProperties {
        evaluated,
        patterns,
        rest,
    }))
}

impl UnevaluatedProperties {
    /// The properties of `map` that nothing evaluates and the keyword's schema rejects.
    fn stray<'v>(&self, map: &'v Map<String, Value>) -> impl Iterator<Item = &'v String> {
        map.iter()
            .filter(|(name, value)| {
                let declared = self.evaluated.all
                    || self.evaluated.names.iter().any(|n| n == *name)
                    || self
                        .patterns
                        .iter()
                        .any(|p| p.is_valid(&Value::String((*name).clone())));
                !declared && !self.rest.as_ref().is_some_and(|r| r.is_valid(value))
            })
            .map(|(name, _)| name)
    }
}

impl Keyword for UnevaluatedProperties {
    fn validate<'i>(
        &self,
        instance: &'i Value,
        location: &LazyLocation,
    ) -> Result<(), ValidationError<'i>> {
        let Value::Object(map) = instance else {
            return Ok(());
        };
        let unexpected: Vec<String> = self.stray(map).cloned().collect();
        if unexpected.is_empty() {
            return Ok(());
        }
        Err(ValidationError {
            instance: Cow::Borrowed(instance),
            kind: ValidationErrorKind::UnevaluatedProperties { unexpected },
            instance_path: location.into(),
            schema_path: Location::new(),
        })
    }

    fn is_valid(&self, instance: &Value) -> bool {
        match instance {
            Value::Object(map) => self.stray(map).next().is_none(),
            _ => true,
        }
    }
}

/// Our `unevaluatedItems`: items past what in-place subschemas cover must match its schema.
struct UnevaluatedItems {
    evaluated: Evaluated,
    rest: Option<Validator>,
}

#[allow(clippy::result_large_err)] // jsonschema's factory signature
fn unevaluated_items<'a>(
    defs: &Weak<Defs>,
    parent: &'a Map<String, Value>,
    value: &'a Value,
    location: &Location,
) -> Result<Box<dyn Keyword>, ValidationError<'a>> {
    let defs = defs
        .upgrade()
        .ok_or_else(|| malformed(value, location, "unevaluatedItems"))?;
    let mut evaluated = Evaluated::default();
    evaluated_names(&defs, parent, true, false, &mut Vec::new(), &mut evaluated);
    let rest = match value {
        Value::Bool(false) => None,
        _ => Some(
            defs.build(value.clone())
                .map_err(|_| malformed(value, location, "unevaluatedItems"))?,
        ),
    };
    Ok(Box::new(UnevaluatedItems { evaluated, rest }))
}

impl UnevaluatedItems {
    fn stray(&self, items: &[Value]) -> bool {
        !self.evaluated.all
            && items
                .iter()
                .skip(self.evaluated.prefix)
                .any(|item| !self.rest.as_ref().is_some_and(|r| r.is_valid(item)))
    }
}

impl Keyword for UnevaluatedItems {
    fn validate<'i>(
        &self,
        instance: &'i Value,
        location: &LazyLocation,
    ) -> Result<(), ValidationError<'i>> {
        match instance {
            Value::Array(items) if self.stray(items) => Err(ValidationError::custom(
                Location::new(),
                location.into(),
                instance,
                "array has unevaluated items",
            )),
            _ => Ok(()),
        }
    }

    fn is_valid(&self, instance: &Value) -> bool {
        match instance {
            Value::Array(items) => !self.stray(items),
            _ => true,
        }
    }
}
