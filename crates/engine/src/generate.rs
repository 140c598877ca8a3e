//! Schema-driven data generation, deterministic for a seed.
//!
//! A value is built from the facts gathered for it (see `facts`): `$ref`s and `allOf` parts
//! are merged by reference, never copied; `oneOf`/`anyOf` pick one branch (by
//! `discriminator` where there is one) and a `oneOf` value is checked against the other
//! branches with the validator unless the branches are provably disjoint (or read as
//! `anyOf`, as the translation does when two branches cannot be told apart). A schema's
//! `example` (or `default`) is used when it validates. Circular schemas stay bounded: past
//! a soft depth, inside a reference cycle, or once a value budget is spent, optional
//! properties are left out, arrays take their minimum size, nullable values become `null`
//! and `oneOf`/`anyOf` prefer branches that end the recursion.
//!
//! Determinism: one ChaCha stream per call, seeded from the seed alone; nothing depends on
//! the clock, on hash order or on what the caches already hold.

mod facts;
mod pattern;
mod text;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::schema::{
    ASSERTED_FORMATS, Direction, SchemaCache, SchemaContext, SchemaValidator, indistinct_branches,
    is_excluded,
};
use facts::{Bound, Choice, Facts, Node, Reader, Types};
use pattern::Pattern;

/// Values generated per call before everything turns minimal.
const MAX_VALUES: u32 = 1500;
/// Nesting depth after which only what the schema requires is generated.
const SOFT_DEPTH: u32 = 5;
/// Nesting depth at which generation stops outright (only unsatisfiable schemas get here).
const HARD_DEPTH: u32 = 48;
/// How often a nullable value is `null` when nothing forces it.
const NULL_RATE: f64 = 0.08;
/// Chance of including an optional property, by nesting depth.
const INCLUDE_RATE: [f64; 5] = [0.95, 0.85, 0.65, 0.45, 0.3];
/// Tries at a value that must match exactly one `oneOf` branch or avoid a `not`.
const ATTEMPTS: usize = 6;
/// Disjunctions decided for one value before the rest are ignored.
const MAX_CHOICES: usize = 64;
/// Every type bit.
const ALL_TYPES: u8 = 0x7f;
/// The schema that accepts anything.
static ANYTHING: Value = Value::Bool(true);

/// Compiled patterns and validators reused across calls. Keep one per loaded document
/// (share it between threads) and hand it to [`Generator::with_cache`]; entries are keyed
/// by schema addresses inside the document, and the cache clears itself when it sees a
/// different document.
#[derive(Default)]
pub struct GenCache {
    patterns: RwLock<PatternMap>,
    formats: RwLock<HashMap<Box<str>, Arc<SchemaValidator>>>,
    nodes: RwLock<NodeCache>,
    /// Translated and compiled `$ref` targets, shared by all the validators below.
    schemas: SchemaCache,
}

/// Compiled patterns by source, one per repeat bound asked for.
type PatternMap = HashMap<Box<str>, Vec<(u32, Arc<Pattern>)>>;

#[derive(Default)]
struct NodeCache {
    /// Address of the document the entries belong to.
    root: usize,
    validators: HashMap<(usize, Direction), Option<Arc<SchemaValidator>>>,
    /// Per `oneOf` list: whether a value built from one branch needs no check against the
    /// others.
    unchecked: HashMap<(usize, Direction), bool>,
}

impl std::fmt::Debug for GenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenCache").finish_non_exhaustive()
    }
}

impl GenCache {
    pub fn new() -> GenCache {
        GenCache::default()
    }

    fn pattern(&self, source: &str, max_repeat: u32) -> Arc<Pattern> {
        let read = self.patterns.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = read
            .get(source)
            .and_then(|l| l.iter().find(|(r, _)| *r == max_repeat))
        {
            return Arc::clone(&found.1);
        }
        drop(read);
        let compiled = Arc::new(Pattern::compile(source, max_repeat));
        let mut write = self
            .patterns
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        write
            .entry(source.into())
            .or_default()
            .push((max_repeat, Arc::clone(&compiled)));
        compiled
    }

    /// Whether `text` is a valid `format` as the validator asserts it.
    fn format_ok(&self, format: &str, text: &str) -> bool {
        let read = self.formats.read().unwrap_or_else(PoisonError::into_inner);
        let validator = match read.get(format) {
            Some(v) => Arc::clone(v),
            None => {
                drop(read);
                let schema = serde_json::json!({ "format": format });
                let ctx = SchemaContext {
                    root: &Value::Null,
                    legacy: false,
                    direction: Direction::Request,
                };
                let Ok(compiled) = SchemaValidator::compile(&schema, ctx) else {
                    return true;
                };
                let compiled = Arc::new(compiled);
                let mut write = self.formats.write().unwrap_or_else(PoisonError::into_inner);
                write.insert(format.into(), Arc::clone(&compiled));
                compiled
            }
        };
        validator.is_valid(&Value::String(text.to_owned()))
    }

    /// The validator for one schema. Schemas inside the document are compiled once; others
    /// (inline in the caller's schema) every time.
    fn validator(&self, node: Node<'_>, ctx: SchemaContext<'_>) -> Option<Arc<SchemaValidator>> {
        let compile = || {
            SchemaValidator::compile_with(node.schema, ctx, &self.schemas)
                .ok()
                .map(Arc::new)
        };
        if !node.in_root {
            return compile();
        }
        let key = (node.schema as *const Value as usize, ctx.direction);
        let root = ctx.root as *const Value as usize;
        {
            let read = self.nodes.read().unwrap_or_else(PoisonError::into_inner);
            if read.root == root {
                if let Some(found) = read.validators.get(&key) {
                    return found.clone();
                }
            }
        }
        let compiled = compile();
        let mut write = self.write_nodes(root);
        write.validators.insert(key, compiled.clone());
        compiled
    }

    /// Whether the `oneOf` at `list` needs no exclusivity check, computed once per list
    /// inside the document.
    fn unchecked(
        &self,
        list: &[Value],
        in_root: bool,
        ctx: SchemaContext<'_>,
        compute: impl FnOnce() -> bool,
    ) -> bool {
        if !in_root {
            return compute();
        }
        let key = (list.as_ptr() as usize, ctx.direction);
        let root = ctx.root as *const Value as usize;
        {
            let read = self.nodes.read().unwrap_or_else(PoisonError::into_inner);
            if read.root == root {
                if let Some(&found) = read.unchecked.get(&key) {
                    return found;
                }
            }
        }
        let result = compute();
        self.write_nodes(root).unchecked.insert(key, result);
        result
    }

    fn write_nodes(&self, root: usize) -> std::sync::RwLockWriteGuard<'_, NodeCache> {
        let mut write = self.nodes.write().unwrap_or_else(PoisonError::into_inner);
        if write.root != root {
            write.validators.clear();
            write.unchecked.clear();
            write.root = root;
        }
        write
    }
}

enum CacheSlot<'a> {
    Owned(Box<GenCache>),
    Shared(&'a GenCache),
}

/// Generates instances of schemas read in one context.
pub struct Generator<'a> {
    ctx: SchemaContext<'a>,
    cache: CacheSlot<'a>,
}

impl std::fmt::Debug for Generator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("direction", &self.ctx.direction)
            .finish_non_exhaustive()
    }
}

impl<'a> Generator<'a> {
    /// A generator with its own, initially empty cache: fine for one-off use. On a hot
    /// path, build the [`GenCache`] once and use [`Generator::with_cache`].
    pub fn new(ctx: SchemaContext<'a>) -> Self {
        Generator {
            ctx,
            cache: CacheSlot::Owned(Box::default()),
        }
    }

    /// A generator over a cache kept by the caller for `ctx.root`; cheap to build per call.
    pub fn with_cache(ctx: SchemaContext<'a>, cache: &'a GenCache) -> Self {
        Generator {
            ctx,
            cache: CacheSlot::Shared(cache),
        }
    }

    /// An instance of `schema`; the same `seed` gives the same value.
    pub fn generate(&self, schema: &Value, seed: u64) -> Value {
        let cache: &GenCache = match &self.cache {
            CacheSlot::Owned(cache) => cache,
            CacheSlot::Shared(cache) => cache,
        };
        let mut run = Run {
            ctx: self.ctx,
            cache,
            rng: ChaCha8Rng::seed_from_u64(seed),
            depth: 0,
            budget: MAX_VALUES,
            open: Vec::new(),
            invalid: false,
        };
        run.value(
            &[Node {
                schema,
                in_root: false,
            }],
            None,
        )
    }
}

/// The state of one `generate` call.
struct Run<'g, 's> {
    ctx: SchemaContext<'s>,
    cache: &'g GenCache,
    rng: ChaCha8Rng,
    /// Container nesting of the value being built.
    depth: u32,
    /// Values left before everything turns minimal.
    budget: u32,
    /// Reference targets entered by enclosing values: meeting one again is a cycle.
    open: Vec<usize>,
    /// The value just built is known to break its schema (a contradiction, a `oneOf` that
    /// could not be made exclusive). Callers clear it before building a value and check
    /// it after: an optional property or array item that failed is left out, a failed
    /// branch is retried.
    invalid: bool,
}

impl<'s> Run<'_, 's> {
    fn reader(&self) -> Reader<'s> {
        Reader {
            root: self.ctx.root,
            direction: self.ctx.direction,
        }
    }

    fn pressure(&self, facts: &Facts<'s>) -> bool {
        self.depth >= SOFT_DEPTH
            || self.budget == 0
            || facts.targets.iter().any(|t| self.open.contains(t))
    }

    /// A value satisfying every schema in `nodes`; `hint` is the property name it is for.
    fn value(&mut self, nodes: &[Node<'s>], hint: Option<&'s str>) -> Value {
        self.budget = self.budget.saturating_sub(1);
        let reader = self.reader();
        let mut base = Facts::default();
        for node in nodes {
            base.gather(reader, *node, false);
        }
        if self.depth >= HARD_DEPTH {
            self.invalid = true;
            return minimal(&base);
        }
        if let Some(sample) = self.usable_sample(nodes, &base) {
            return sample;
        }
        let pressure = self.pressure(&base);
        if base.choices.is_empty() && base.nots.is_empty() {
            return self.concrete(&base, hint, None, pressure);
        }
        // Whatever was flagged before belongs to the caller, who clears it before asking.
        debug_assert!(!self.invalid);
        let mut last = Value::Null;
        // The first pick of each decision, so that retries move on to other branches.
        let mut first_picks: Vec<usize> = Vec::new();
        for attempt in 0..ATTEMPTS {
            let mut facts = base.clone();
            let mut one_ofs: Vec<(&'s [Value], bool, usize)> = Vec::new();
            let mut forced_null = false;
            let mut tag = None;
            let mut next = 0;
            while next < facts.choices.len() && next < MAX_CHOICES {
                let choice = facts.choices[next];
                next += 1;
                match choice {
                    Choice::NullOr(node) => {
                        let null_ok = facts.types.is_none_or(|t| t.has(Types::NULL));
                        if null_ok && (pressure || self.rng.random_bool(NULL_RATE)) {
                            forced_null = true;
                        } else {
                            facts.gather(reader, node, true);
                        }
                    }
                    Choice::Branches {
                        list,
                        one,
                        in_root,
                        discriminator,
                    } => {
                        let first = match first_picks.get(next - 1) {
                            Some(&first) => first,
                            None => {
                                let first = self.pick_branch(list, pressure);
                                first_picks.push(first);
                                first
                            }
                        };
                        let index = self.compatible_branch(&facts, list, in_root, first + attempt);
                        let branch = &list[index];
                        if let Some(found) =
                            discriminator.and_then(|d| discriminator_tag(d, branch))
                        {
                            tag = Some(found);
                        }
                        facts.gather(
                            reader,
                            Node {
                                schema: branch,
                                in_root,
                            },
                            false,
                        );
                        if one && list.len() > 1 {
                            one_ofs.push((list, in_root, index));
                        }
                    }
                }
            }
            self.invalid = false;
            let value = if forced_null {
                Value::Null
            } else {
                let pressure = pressure || self.pressure(&facts);
                self.concrete(&facts, hint, tag, pressure)
            };
            let fine = !self.invalid
                && one_ofs
                    .iter()
                    .all(|&(list, in_root, index)| self.only_branch(list, in_root, index, &value))
                && self.passes_nots(&base.nots, &value);
            if fine {
                self.invalid = false;
                return value;
            }
            last = value;
        }
        self.invalid = true;
        last
    }

    /// An `example`/`default` met while gathering, when it satisfies the whole schema.
    fn usable_sample(&mut self, nodes: &[Node<'s>], facts: &Facts<'s>) -> Option<Value> {
        for &sample in &facts.samples {
            let ok = match sample {
                Value::Object(_) | Value::Array(_) => {
                    // Containers need the full validator, which is only cached for
                    // schemas inside the document.
                    nodes.iter().all(|n| n.in_root)
                        && nodes.iter().all(|n| {
                            self.cache
                                .validator(*n, self.ctx)
                                .is_some_and(|v| v.is_valid(sample))
                        })
                }
                _ => self.scalar_ok(facts, sample),
            };
            if ok {
                return Some(sample.clone());
            }
        }
        None
    }

    /// Whether a scalar satisfies `facts`, checked the way the validator would; `false`
    /// whenever the facts hold something this quick check does not model.
    fn scalar_ok(&self, facts: &Facts<'s>, value: &Value) -> bool {
        if !facts.choices.is_empty() || !facts.nots.is_empty() || facts.unsatisfiable {
            return false;
        }
        if facts.types.is_some_and(|t| !t.has(type_bits(value))) || !facts.listed_allows(value) {
            return false;
        }
        match value {
            Value::Number(n) => {
                let Some(x) = n.as_f64() else { return false };
                facts.multiple_of.is_none() && within(x, facts.lower, facts.upper)
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                len >= facts.min_len
                    && facts.max_len.is_none_or(|max| len <= max)
                    && facts
                        .patterns
                        .iter()
                        .all(|p| self.cache.pattern(p, 8).is_match(s))
                    && facts.format.is_none_or(|f| {
                        !ASSERTED_FORMATS.contains(&f) || self.cache.format_ok(f, s)
                    })
            }
            _ => true,
        }
    }

    /// Picks a `oneOf`/`anyOf` branch: at random, avoiding a bare `null` branch most of
    /// the time, and under pressure the branch that ends the recursion soonest.
    fn pick_branch(&mut self, list: &'s [Value], pressure: bool) -> usize {
        let n = list.len();
        if pressure {
            let costs: Vec<u8> = list.iter().map(|b| self.branch_cost(b)).collect();
            let best = costs.iter().copied().min().unwrap_or(0);
            return (0..n).find(|&i| costs[i] == best).unwrap_or(0);
        }
        let mut index = self.rng.random_range(0..n);
        if n > 1 && is_null_schema(&list[index]) && !self.rng.random_bool(NULL_RATE) {
            index = (index + 1) % n;
        }
        index
    }

    /// The first branch from `start` (cyclically) that does not contradict `facts` in
    /// type or listed values; `start` itself when every branch does.
    fn compatible_branch(
        &self,
        facts: &Facts<'s>,
        list: &'s [Value],
        in_root: bool,
        start: usize,
    ) -> usize {
        let n = list.len();
        (0..n)
            .map(|offset| (start + offset) % n)
            .find(|&i| {
                let mut branch = Facts::default();
                branch.gather(
                    self.reader(),
                    Node {
                        schema: &list[i],
                        in_root,
                    },
                    false,
                );
                compatible(facts, &branch)
            })
            .unwrap_or(start % n)
    }

    /// How far a branch leads: 0 for scalars and `null`, 2 for containers, 3 for a
    /// reference back into a schema being built.
    fn branch_cost(&self, branch: &'s Value) -> u8 {
        if let Some(Value::String(reference)) = branch.get("$ref") {
            if let Some(target) = spec::resolve_ref(self.ctx.root, reference) {
                if self.open.contains(&(target as *const Value as usize)) {
                    return 3;
                }
            }
        }
        let Some(target) = crate::schema::resolve(self.ctx.root, branch) else {
            return 0;
        };
        let Value::Object(map) = target else { return 0 };
        let container = match map.get("type") {
            Some(Value::String(t)) => t == "object" || t == "array",
            Some(Value::Array(ts)) => !ts.iter().any(|t| t != "object" && t != "array"),
            _ => ["properties", "items", "allOf", "oneOf", "anyOf"]
                .iter()
                .any(|k| map.contains_key(*k)),
        };
        if container { 2 } else { 0 }
    }

    /// Whether `value` (built from branch `index`) matches no other branch of a `oneOf`,
    /// or need not: the branches are provably disjoint, or two of them cannot be told
    /// apart, which makes the translation read the `oneOf` as `anyOf`.
    fn only_branch(
        &mut self,
        list: &'s [Value],
        in_root: bool,
        index: usize,
        value: &Value,
    ) -> bool {
        let reader = self.reader();
        if self.cache.unchecked(list, in_root, self.ctx, || {
            branches_disjoint(reader, list, in_root)
                || indistinct_branches(reader.root, reader.direction, list)
        }) {
            return true;
        }
        list.iter()
            .enumerate()
            .filter(|&(j, _)| j != index)
            .all(|(_, branch)| {
                let node = Node {
                    schema: branch,
                    in_root,
                };
                self.cache
                    .validator(node, self.ctx)
                    .is_none_or(|v| !v.is_valid(value))
            })
    }

    fn passes_nots(&self, nots: &[Node<'s>], value: &Value) -> bool {
        nots.iter().all(|node| match only_types(node.schema) {
            Some(types) => !types.has(type_bits(value)),
            None => self
                .cache
                .validator(*node, self.ctx)
                .is_none_or(|v| !v.is_valid(value)),
        })
    }

    /// A value for facts whose disjunctions are all decided.
    fn concrete(
        &mut self,
        facts: &Facts<'s>,
        hint: Option<&'s str>,
        tag: Option<(&'s str, String)>,
        pressure: bool,
    ) -> Value {
        if facts.unsatisfiable || facts.types == Some(Types(0)) {
            self.invalid = true;
            return Value::Null;
        }
        if let Some(listed) = facts.listed_values() {
            let fits: Vec<&Value> = listed
                .iter()
                .copied()
                .filter(|v| facts.types.is_none_or(|t| t.has(type_bits(v))))
                .filter(|v| !v.is_null() || pressure || listed.len() == 1)
                .collect();
            if !fits.is_empty() {
                return fits[self.rng.random_range(0..fits.len())].clone();
            }
            // Nothing listed fits the other constraints; null may still be allowed.
            if facts.listed_allows(&Value::Null) && facts.types.is_none_or(|t| t.has(Types::NULL)) {
                return Value::Null;
            }
            self.invalid = true;
            if let Some(first) = listed.first() {
                return (*first).clone();
            }
            return Value::Null;
        }
        match self.choose_type(facts, pressure) {
            Types::NULL => Value::Null,
            Types::BOOLEAN => Value::Bool(self.rng.random_bool(0.5)),
            Types::OBJECT => self.object(facts, tag, pressure),
            Types::ARRAY => self.array(facts, hint, pressure),
            Types::INTEGER => self.integer(facts, hint),
            Types::NUMBER => self.number(facts),
            _ => self.string(facts, hint),
        }
    }

    fn choose_type(&mut self, facts: &Facts<'s>, pressure: bool) -> u8 {
        let excluded = facts
            .nots
            .iter()
            .filter_map(|n| only_types(n.schema))
            .fold(0, |a, t| a | t.0);
        let allowed = match facts.types {
            Some(t) if t.0 & !excluded != 0 => t.0 & !excluded,
            Some(t) => t.0,
            None => match inferred_types(facts) & !excluded {
                // What the keywords suggest is ruled out: anything else will do.
                0 => ALL_TYPES & !excluded,
                inferred => inferred,
            },
        };
        let null_ok = allowed & Types::NULL != 0;
        if null_ok && pressure {
            return Types::NULL;
        }
        let mut options = [0u8; 6];
        let mut count = 0;
        for bit in [Types::OBJECT, Types::ARRAY, Types::STRING, Types::BOOLEAN] {
            if allowed & bit != 0 {
                options[count] = bit;
                count += 1;
            }
        }
        if allowed & Types::NUMBER != 0 {
            options[count] = Types::NUMBER;
            count += 1;
        } else if allowed & Types::INTEGER != 0 {
            options[count] = Types::INTEGER;
            count += 1;
        }
        if count == 0 || null_ok && self.rng.random_bool(NULL_RATE) {
            return if null_ok { Types::NULL } else { Types::STRING };
        }
        options[self.rng.random_range(0..count)]
    }

    fn object(
        &mut self,
        facts: &Facts<'s>,
        tag: Option<(&'s str, String)>,
        pressure: bool,
    ) -> Value {
        let tag = tag.or_else(|| inherited_tag(facts));
        let max_props = facts.max_props.map_or(usize::MAX, |m| m as usize);
        let rate = INCLUDE_RATE[(self.depth as usize).min(INCLUDE_RATE.len() - 1)];
        let mark = self.open.len();
        self.open.extend_from_slice(&facts.targets);
        self.depth += 1;
        let mut out = Map::new();
        let groups = property_groups(facts);
        let forbidden = self.forbidden_sets(facts);
        for (name, nodes) in &groups {
            if out.contains_key(*name) {
                continue;
            }
            let required = facts.required.contains(name);
            let tagged = tag.as_ref().is_some_and(|(p, _)| p == name);
            if !required {
                let skip = !facts.allows_name(name)
                    || nodes
                        .iter()
                        .any(|n| is_excluded(self.ctx.root, n.schema, self.ctx.direction))
                    || out.len() >= max_props
                    || completes_forbidden(&forbidden, facts, &out, name)
                    || !tagged && (pressure || !self.rng.random_bool(rate));
                if skip {
                    continue;
                }
            }
            let failed_before = std::mem::take(&mut self.invalid);
            let value = match &tag {
                Some((_, tag_value)) if tagged && self.tag_fits(nodes, tag_value) => {
                    Value::String(tag_value.clone())
                }
                _ => self.property(facts, name, nodes),
            };
            // An optional property that came out invalid is simply left out.
            let failed = std::mem::replace(&mut self.invalid, failed_before);
            if failed && !required {
                continue;
            }
            self.invalid |= failed;
            out.insert((*name).to_owned(), value);
        }
        // Required names no `properties` entry declares still need a value.
        for name in &facts.required {
            if !out.contains_key(*name) {
                if !facts.allows_name(name) {
                    // Required yet forbidden by a closed part: the object cannot be valid.
                    self.invalid = true;
                }
                let value = self.property(facts, name, &[]);
                out.insert((*name).to_owned(), value);
            }
        }
        // Top up to minProperties with the remaining declared names, then made-up ones.
        for (name, nodes) in &groups {
            if out.len() >= facts.min_props as usize {
                break;
            }
            if !out.contains_key(*name)
                && facts.allows_name(name)
                && !completes_forbidden(&forbidden, facts, &out, name)
            {
                let failed_before = std::mem::take(&mut self.invalid);
                let value = self.property(facts, name, nodes);
                let failed = std::mem::replace(&mut self.invalid, failed_before);
                if !failed {
                    out.insert((*name).to_owned(), value);
                }
            }
        }
        let open = facts.closed.is_empty() && !facts.sealed;
        let map_like = groups.is_empty() && !facts.additional.is_empty();
        let wanted = if map_like && !pressure {
            self.rng.random_range(1..=2)
        } else {
            0
        };
        let target = (facts.min_props as usize)
            .max(out.len() + wanted)
            .min(max_props);
        let mut n = 0;
        while open && out.len() < target && n < target + 8 {
            n += 1;
            let key = self.extra_key(facts, n);
            if !out.contains_key(&key) && !groups.iter().any(|(g, _)| *g == key) {
                let nodes: Vec<Node<'s>> = facts.additional.iter().map(|(_, node)| *node).collect();
                let value = self.value(&nodes, None);
                out.insert(key, value);
            }
        }
        self.depth -= 1;
        self.open.truncate(mark);
        Value::Object(out)
    }

    /// The name sets a `not: {required: [...]}` forbids an object to have all of.
    fn forbidden_sets(&self, facts: &Facts<'s>) -> Vec<&'s [Value]> {
        facts
            .nots
            .iter()
            .filter_map(|node| crate::schema::resolve(self.ctx.root, node.schema))
            .filter_map(|schema| match schema {
                Value::Object(map) => {
                    let only_required = map.keys().all(|k| {
                        matches!(k.as_str(), "required" | "type" | "description" | "title")
                    }) && map.get("type").is_none_or(|t| t == "object");
                    match map.get("required") {
                        Some(Value::Array(names)) if only_required && !names.is_empty() => {
                            Some(names.as_slice())
                        }
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect()
    }

    /// The value of property `name`: its declarations plus the `additionalProperties`
    /// schemas of parts that do not declare it.
    fn property(&mut self, facts: &Facts<'s>, name: &'s str, nodes: &[Node<'s>]) -> Value {
        let extra = facts
            .additional
            .iter()
            .filter(|(part, _)| !declares(part, name));
        if extra.clone().next().is_none() {
            return self.value(nodes, Some(name));
        }
        let all: Vec<Node<'s>> = nodes
            .iter()
            .copied()
            .chain(extra.map(|(_, n)| *n))
            .collect();
        self.value(&all, Some(name))
    }

    fn extra_key(&mut self, facts: &Facts<'s>, n: usize) -> String {
        if !facts.property_names.is_empty() {
            if let Value::String(key) = self.value(&facts.property_names.clone(), None) {
                return key;
            }
        }
        format!("key{n}")
    }

    /// Whether the discriminator value `tag` suits the property declared by `nodes`.
    fn tag_fits(&self, nodes: &[Node<'s>], tag: &str) -> bool {
        let mut facts = Facts::default();
        for node in nodes {
            facts.gather(self.reader(), *node, false);
        }
        self.scalar_ok(&facts, &Value::String(tag.to_owned()))
    }

    fn array(&mut self, facts: &Facts<'s>, hint: Option<&'s str>, pressure: bool) -> Value {
        let min = facts.min_items as usize;
        let max = facts.max_items.map_or(usize::MAX, |m| m as usize).max(min);
        let len = if pressure {
            min
        } else {
            let lo = min.max(1).min(max);
            let hi = max.min(min.max(3));
            self.rng.random_range(lo..=hi.max(lo))
        };
        let mark = self.open.len();
        self.open.extend_from_slice(&facts.targets);
        self.depth += 1;
        let mut items: Vec<Value> = Vec::with_capacity(len);
        let mut tries = 0;
        let patience = 4 * len + 32;
        while items.len() < len && tries < patience {
            tries += 1;
            let position = items.len();
            let failed_before = std::mem::take(&mut self.invalid);
            let item = match facts.prefix {
                Some((list, in_root)) if position < list.len() => self.value(
                    &[Node {
                        schema: &list[position],
                        in_root,
                    }],
                    hint,
                ),
                _ if position == 0 && !facts.contains.is_empty() => {
                    let nodes: Vec<Node<'s>> =
                        facts.items.iter().chain(&facts.contains).copied().collect();
                    self.value(&nodes, hint)
                }
                _ if facts.items.is_empty() => self.value(
                    &[Node {
                        schema: &ANYTHING,
                        in_root: true,
                    }],
                    hint,
                ),
                _ => self.value(&facts.items, hint),
            };
            let failed = std::mem::replace(&mut self.invalid, failed_before);
            if failed {
                // An item that cannot be valid: stop if the array is long enough without it.
                if items.len() >= min {
                    break;
                }
                self.invalid = true;
            }
            // Duplicates are retried until patience runs out.
            if facts.unique && items.contains(&item) {
                continue;
            }
            items.push(item);
        }
        if items.len() < min {
            self.invalid = true;
        }
        self.depth -= 1;
        self.open.truncate(mark);
        Value::Array(items)
    }

    fn string(&mut self, facts: &Facts<'s>, hint: Option<&'s str>) -> Value {
        let min = facts.min_len as usize;
        let max = facts.max_len.map_or(usize::MAX, |m| m as usize).max(min);
        if let Some(first) = facts.patterns.first() {
            let pattern = self.cache.pattern(first, max_repeat(min, max));
            // What a sample of the first pattern must still be checked for: the other
            // patterns, and an asserted format.
            let rest_ok = |run: &Self, text: &str| {
                facts.patterns[1..]
                    .iter()
                    .all(|p| run.cache.pattern(p, 8).is_match(text))
                    && facts.format.is_none_or(|f| {
                        !ASSERTED_FORMATS.contains(&f) || run.cache.format_ok(f, text)
                    })
            };
            let mut fallback = None;
            if let Some(text) = pattern.sample(&mut self.rng, min, max) {
                if rest_ok(self, &text) {
                    return Value::String(text);
                }
                fallback = Some(text);
            }
            // The pattern could not be sampled in the window: maybe an ordinary value fits.
            let candidates = [
                facts
                    .format
                    .and_then(|f| text::for_format(&mut self.rng, f, min, max)),
                hint.and_then(|h| text::for_name(&mut self.rng, h)),
                Some(text::filler(&mut self.rng, min, max)),
            ];
            for candidate in candidates.into_iter().flatten() {
                let fits = (min..=max).contains(&candidate.chars().count());
                if fits && pattern.is_match(&candidate) && rest_ok(self, &candidate) {
                    return Value::String(candidate);
                }
                fallback.get_or_insert(candidate);
            }
            // Nothing satisfies everything (the schema may well be unsatisfiable): say so,
            // so that an optional property is left out rather than sent broken.
            self.invalid = true;
            return Value::String(fallback.unwrap_or_default());
        }
        let fits = |text: &String| (min..=max).contains(&text.chars().count());
        if let Some(format) = facts.format {
            if let Some(text) = text::for_format(&mut self.rng, format, min, max).filter(fits) {
                return Value::String(text);
            }
        }
        if let Some(text) = hint
            .and_then(|h| text::for_name(&mut self.rng, h))
            .filter(fits)
        {
            return Value::String(text);
        }
        Value::String(text::fit(text::filler(&mut self.rng, min, max), min, max))
    }

    fn integer(&mut self, facts: &Facts<'s>, hint: Option<&'s str>) -> Value {
        let mut lo = facts.lower.map_or(i128::MIN, |b| {
            let v = b.value;
            if b.exclusive {
                v.floor() as i128 + 1
            } else {
                v.ceil() as i128
            }
        });
        let mut hi = facts.upper.map_or(i128::MAX, |b| {
            let v = b.value;
            if b.exclusive {
                v.ceil() as i128 - 1
            } else {
                v.floor() as i128
            }
        });
        let (format_lo, format_hi) = match facts.format {
            Some("int32") => (i128::from(i32::MIN), i128::from(i32::MAX)),
            Some("uint32") => (0, i128::from(u32::MAX)),
            Some("uint64") => (0, i128::from(i64::MAX)),
            _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
        };
        lo = lo.max(format_lo);
        hi = hi.min(format_hi);
        if lo > hi {
            return Value::from(lo.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        }
        let time_like = matches!(facts.format, Some("unix-time" | "timestamp" | "date-time"))
            || hint.is_some_and(is_time_name);
        let preferred = if time_like {
            (1_600_000_000, 1_750_000_000)
        } else {
            (1, 1000)
        };
        let (a, b) = window(lo, hi, preferred);
        let step = facts.multiple_of.and_then(integer_step);
        let n = match step {
            Some(step) => {
                let pick = |rng: &mut ChaCha8Rng, a: i128, b: i128| {
                    let (k_lo, k_hi) = (div_ceil(a, step), div_floor(b, step));
                    (k_lo <= k_hi).then(|| rng.random_range(k_lo..=k_hi) * step)
                };
                pick(&mut self.rng, a, b)
                    .or_else(|| pick(&mut self.rng, lo, hi))
                    .unwrap_or(lo)
            }
            None => self.rng.random_range(a..=b),
        };
        Value::from(n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    fn number(&mut self, facts: &Facts<'s>) -> Value {
        let lo = facts.lower.map_or(f64::NEG_INFINITY, |b| b.value);
        let hi = facts.upper.map_or(f64::INFINITY, |b| b.value);
        let (a, b) = if lo.is_finite() || hi.is_finite() {
            match (lo.is_finite(), hi.is_finite()) {
                (true, true) => (lo, hi),
                (true, false) => (lo, lo.max(0.0) + 1000.0),
                _ => ((hi - 1000.0).max(hi.min(0.0)), hi),
            }
        } else {
            (0.0, 1000.0)
        };
        if let Some(m) = facts.multiple_of {
            // The validator rejects negative multiples of fractional steps, so prefer k >= 0.
            let k_lo = (a / m)
                .ceil()
                .max(if b >= 0.0 { 0.0 } else { f64::NEG_INFINITY });
            let k_hi = (b / m).floor().min(k_lo + 1000.0);
            let decimals = decimals(m);
            for _ in 0..8 {
                let k = if k_lo <= k_hi {
                    self.rng.random_range(k_lo..=k_hi).round()
                } else {
                    k_lo
                };
                let v = round_to(k * m, decimals);
                if within(v, facts.lower, facts.upper) {
                    return number_value(v);
                }
            }
            return number_value(round_to(k_lo * m, decimals));
        }
        for _ in 0..8 {
            let v = round_to(
                if a < b {
                    self.rng.random_range(a..=b)
                } else {
                    a
                },
                2,
            );
            if within(v, facts.lower, facts.upper) {
                return number_value(v);
            }
        }
        number_value((a + b) / 2.0)
    }
}

/// The largest repeat count the pattern sampler may add, chosen so samples tend to land in
/// the length window.
fn max_repeat(min: usize, max: usize) -> u32 {
    if max < usize::MAX {
        max.clamp(1, 32) as u32
    } else if min > 8 {
        (min * 2).min(256) as u32
    } else {
        8
    }
}

/// A sampling window inside `lo..=hi`, preferring `preferred` when they overlap.
fn window(lo: i128, hi: i128, preferred: (i128, i128)) -> (i128, i128) {
    let (a, b) = (lo.max(preferred.0), hi.min(preferred.1));
    if a <= b {
        (a, b)
    } else if lo > preferred.1 {
        (lo, hi.min(lo.saturating_add(1000)))
    } else {
        (lo.max(hi.saturating_sub(1000)), hi)
    }
}

/// The integer step an integer must be a multiple of to satisfy `multipleOf: m`.
fn integer_step(m: f64) -> Option<i128> {
    (1..=1000)
        .map(f64::from)
        .map(|q| m * q)
        .find(|s| (s - s.round()).abs() < 1e-9)
        .map(|s| (s.round() as i128).max(1))
}

fn div_floor(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

fn div_ceil(a: i128, b: i128) -> i128 {
    -(-a).div_euclid(b)
}

/// Decimal places in the shortest rendering of `m`.
fn decimals(m: f64) -> i32 {
    let text = format!("{m}");
    text.split_once('.')
        .map_or(0, |(_, frac)| frac.len().min(12) as i32)
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

fn within(x: f64, lower: Option<Bound>, upper: Option<Bound>) -> bool {
    let above = lower.is_none_or(|b| {
        if b.exclusive {
            x > b.value
        } else {
            x >= b.value
        }
    });
    let below = upper.is_none_or(|b| {
        if b.exclusive {
            x < b.value
        } else {
            x <= b.value
        }
    });
    above && below
}

fn number_value(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::from(0), Value::Number)
}

fn is_time_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "created"
        || lower == "updated"
        || lower.ends_with("_at")
        || lower.ends_with("timestamp")
        || lower.ends_with("time")
}

/// The type bit of a JSON value (integral numbers count as integers).
fn type_bits(value: &Value) -> u8 {
    match value {
        Value::Null => Types::NULL,
        Value::Bool(_) => Types::BOOLEAN,
        Value::Object(_) => Types::OBJECT,
        Value::Array(_) => Types::ARRAY,
        Value::String(_) => Types::STRING,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                Types::INTEGER
            } else {
                Types::NUMBER
            }
        }
    }
}

/// The type a schema with no `type` most likely wants, from the keywords it uses.
fn inferred_types(facts: &Facts<'_>) -> u8 {
    if !facts.props.is_empty()
        || !facts.required.is_empty()
        || !facts.additional.is_empty()
        || !facts.closed.is_empty()
        || facts.min_props > 0
    {
        Types::OBJECT
    } else if !facts.items.is_empty()
        || facts.prefix.is_some()
        || !facts.contains.is_empty()
        || facts.min_items > 0
    {
        Types::ARRAY
    } else if !facts.patterns.is_empty() || facts.min_len > 0 || facts.max_len.is_some() {
        Types::STRING
    } else if matches!(facts.format, Some("int32" | "int64")) {
        Types::INTEGER
    } else if facts.lower.is_some() || facts.upper.is_some() || facts.multiple_of.is_some() {
        Types::NUMBER | Types::INTEGER
    } else {
        Types::STRING
    }
}

/// The types a `not` schema rejects when it says nothing but `type`.
fn only_types(schema: &Value) -> Option<Types> {
    let Value::Object(map) = schema else {
        return None;
    };
    let mut keys = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "description" | "title"));
    if keys.next().map(String::as_str) != Some("type") || keys.next().is_some() {
        return None;
    }
    let mut facts = Facts::default();
    let reader = Reader {
        root: &Value::Null,
        direction: Direction::Request,
    };
    facts.gather(
        reader,
        Node {
            schema,
            in_root: false,
        },
        false,
    );
    facts.types
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// A last-resort value when nesting is out of hand.
fn minimal(facts: &Facts<'_>) -> Value {
    let Some(types) = facts.types else {
        return Value::Null;
    };
    if types.has(Types::NULL) {
        Value::Null
    } else if types.has(Types::OBJECT) {
        Value::Object(Map::new())
    } else if types.has(Types::ARRAY) {
        Value::Array(Vec::new())
    } else if types.has(Types::STRING) {
        Value::String(String::new())
    } else if types.has(Types::BOOLEAN) {
        Value::Bool(false)
    } else {
        Value::from(facts.lower.map_or(0.0, |b| b.value.ceil()) as i64)
    }
}

/// Declared properties grouped by name, in first-declaration order.
fn property_groups<'s>(facts: &Facts<'s>) -> Vec<(&'s str, Vec<Node<'s>>)> {
    if !facts.props_merged {
        return facts
            .props
            .iter()
            .map(|(name, node)| (*name, vec![*node]))
            .collect();
    }
    let mut groups: Vec<(&'s str, Vec<Node<'s>>)> = Vec::new();
    let mut index: HashMap<&'s str, usize> = HashMap::new();
    for (name, node) in &facts.props {
        match index.get(name) {
            Some(&i) => groups[i].1.push(*node),
            None => {
                index.insert(name, groups.len());
                groups.push((name, vec![*node]));
            }
        }
    }
    groups
}

/// Whether adding property `name` to `out` (which will also get every required name)
/// would give it all the names of one of the `forbidden` sets.
fn completes_forbidden(
    forbidden: &[&[Value]],
    facts: &Facts<'_>,
    out: &Map<String, Value>,
    name: &str,
) -> bool {
    forbidden.iter().any(|set| {
        set.iter().any(|n| n.as_str() == Some(name))
            && set.iter().all(|n| {
                n.as_str().is_some_and(|n| {
                    n == name || out.contains_key(n) || facts.required.contains(&n)
                })
            })
    })
}

fn declares(part: &Map<String, Value>, name: &str) -> bool {
    part.get("properties").and_then(|p| p.get(name)).is_some()
}

/// The discriminator property and value naming `branch` (a `$ref`): the `mapping` key
/// that points to it, else the referenced schema's name.
fn discriminator_tag<'s>(
    discriminator: &'s Map<String, Value>,
    branch: &'s Value,
) -> Option<(&'s str, String)> {
    let property = discriminator.get("propertyName")?.as_str()?;
    let reference = branch.get("$ref")?.as_str()?;
    let name = reference.rsplit('/').next()?;
    if let Some(Value::Object(mapping)) = discriminator.get("mapping") {
        for (key, target) in mapping {
            if target.as_str().is_some_and(|t| t == reference || t == name) {
                return Some((property, key.clone()));
            }
        }
    }
    Some((property, name.to_owned()))
}

/// The discriminator value of a schema that inherits a `discriminator` through `allOf`:
/// named after the outermost schema referenced.
fn inherited_tag<'s>(facts: &Facts<'s>) -> Option<(&'s str, String)> {
    let discriminator = facts.discriminators.first()?;
    let reference = *facts.refs.first()?;
    let property = discriminator.get("propertyName")?.as_str()?;
    let name = reference.rsplit('/').next()?;
    if let Some(Value::Object(mapping)) = discriminator.get("mapping") {
        for (key, target) in mapping {
            if target.as_str().is_some_and(|t| t == reference || t == name) {
                return Some((property, key.clone()));
            }
        }
    }
    Some((property, name.to_owned()))
}

/// Whether facts `a` and `b` can hold together as far as types and `enum`/`const` values
/// show.
fn compatible(a: &Facts<'_>, b: &Facts<'_>) -> bool {
    if a.unsatisfiable || b.unsatisfiable {
        return false;
    }
    let types = match (a.types, b.types) {
        (Some(x), Some(y)) if x.0 & y.0 == 0 => return false,
        (Some(x), Some(y)) => Some(x.0 & y.0),
        (x, y) => x.or(y).map(|t| t.0),
    };
    let fits = |v: &Value| types.is_none_or(|t| t & type_bits(v) != 0);
    match (a.listed_values(), b.listed_values()) {
        (Some(values), _) => values.into_iter().any(|v| fits(v) && b.listed_allows(v)),
        (None, Some(values)) => values.into_iter().any(|v| fits(v) && a.listed_allows(v)),
        (None, None) => true,
    }
}

/// Whether no value can match two branches of `list`, judged from their types, their
/// `enum`/`const` values, and required properties with disjoint `enum`/`const` values or
/// forbidden by the other branch. Conservative: `false` when unsure.
fn branches_disjoint<'s>(reader: Reader<'s>, list: &'s [Value], in_root: bool) -> bool {
    let facts: Vec<Facts<'s>> = list
        .iter()
        .map(|branch| {
            let mut f = Facts::default();
            f.gather(
                reader,
                Node {
                    schema: branch,
                    in_root,
                },
                false,
            );
            f
        })
        .collect();
    for (i, a) in facts.iter().enumerate() {
        for b in &facts[i + 1..] {
            if !pair_disjoint(reader, a, b) {
                return false;
            }
        }
    }
    true
}

fn pair_disjoint<'s>(reader: Reader<'s>, a: &Facts<'s>, b: &Facts<'s>) -> bool {
    let common = match (a.types, b.types) {
        (Some(ta), Some(tb)) => Some(ta.0 & tb.0),
        _ => None,
    };
    if common == Some(0) {
        return true;
    }
    if let (Some(va), Some(vb)) = (a.listed_values(), b.listed_values()) {
        if !va.iter().any(|v| vb.contains(v)) {
            return true;
        }
    }
    // `required` and property values only bind objects, so the remaining arguments hold
    // only when both branches admit nothing but objects.
    if common != Some(Types::OBJECT) {
        return false;
    }
    let values = |f: &Facts<'s>, name: &str| {
        let mut p = Facts::default();
        for (_, node) in f.props.iter().filter(|(n, _)| *n == name) {
            p.gather(reader, *node, false);
        }
        p.listed_values()
    };
    for name in &a.required {
        if !b.allows_name(name) {
            return true;
        }
        if b.required.contains(name) {
            if let (Some(va), Some(vb)) = (values(a, name), values(b, name)) {
                if !va.iter().any(|v| vb.contains(v)) {
                    return true;
                }
            }
        }
    }
    b.required.iter().any(|name| !a.allows_name(name))
}

#[cfg(test)]
mod tests;
