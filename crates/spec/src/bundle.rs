//! Gathers every document a description references and rewrites each `$ref` into a local
//! pointer of the root, so that nothing after loading needs to read another file.
//!
//! External documents are placed under `/x-mockloop-bundled/<n>` of the root (numbered from 1
//! in the order they are first referenced). A `$ref` inside document `n` is resolved against
//! that document's own location, so nested and circular references between files work: each
//! document is read once, keyed by its URL.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use url::Url;

use crate::diagnostics::{BUNDLE_KEY, Diagnostics, Document, escape, split_bundled};
use crate::normalise::MAX_HOPS;
use crate::parse::{decode, parse};
use crate::source::Fetcher;

/// A description that pulls in more documents than this is almost certainly generated in a
/// loop; stop before it exhausts memory.
const MAX_DOCUMENTS: usize = 1000;

/// Formats the engine knows how to generate or check; others get a warning. Numeric formats
/// are included even where the engine goes by `type` alone, since they are not surprising.
const KNOWN_FORMATS: &[&str] = &[
    "binary",
    "byte",
    "date",
    "date-time",
    "decimal",
    "double",
    "duration",
    "email",
    "float",
    "hostname",
    "idn-email",
    "idn-hostname",
    "int8",
    "int16",
    "int32",
    "int64",
    "integer",
    "ipv4",
    "ipv6",
    "iri",
    "iri-reference",
    "json-pointer",
    "long",
    "number",
    "password",
    "regex",
    "relative-json-pointer",
    "time",
    "timestamp",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "unix-time",
    "uri",
    "uri-reference",
    "uri-template",
    "url",
    "uuid",
];

/// How the members of an object are read while looking for references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Members are keywords of an OpenAPI or JSON Schema object; `$ref` is a reference.
    Keywords,
    /// Members are names (`properties`, `paths`, `components/schemas`, ...); each value is an
    /// object of keywords.
    Names,
    /// Members of an OAS 3 `examples` map: Example objects or references to them.
    ExampleNames,
    /// An Example object: its `value` is literal data.
    Example,
}

/// Keywords whose object value maps names to objects rather than holding keywords.
const NAME_MAPS: &[&str] = &[
    "$defs",
    "callbacks",
    "content",
    "definitions",
    "dependentSchemas",
    "encoding",
    "headers",
    "links",
    "mapping",
    "parameters",
    "pathItems",
    "paths",
    "patternProperties",
    "properties",
    "requestBodies",
    "responses",
    "schemas",
    "scopes",
    "securityDefinitions",
    "securitySchemes",
    "variables",
    "webhooks",
];

/// How to read the value under `key` of an object read as `ctx`; `None` when the value is
/// literal data (examples, defaults, enums, extensions) whose `$ref` members mean nothing.
fn child_ctx(ctx: Ctx, key: &str, value: &Value, swagger2: bool) -> Option<Ctx> {
    match ctx {
        Ctx::Names => Some(Ctx::Keywords),
        Ctx::ExampleNames => Some(Ctx::Example),
        Ctx::Example if key == "value" => None,
        Ctx::Keywords | Ctx::Example => {
            if key.starts_with("x-") {
                return None;
            }
            match key {
                // No OpenAPI or JSON Schema object but the Example object has a `value`,
                // and there it is literal data.
                "example" | "default" | "enum" | "const" | "value" => None,
                // Swagger 2.0 response examples map media types to literal bodies; JSON
                // Schema `examples` is a list of literal values.
                "examples" if swagger2 || value.is_array() => None,
                "examples" => Some(Ctx::ExampleNames),
                _ if NAME_MAPS.contains(&key) => Some(Ctx::Names),
                _ => Some(Ctx::Keywords),
            }
        }
    }
}

fn element_ctx(ctx: Ctx) -> Ctx {
    match ctx {
        Ctx::Names => Ctx::Keywords,
        Ctx::ExampleNames => Ctx::Example,
        other => other,
    }
}

/// One step of the path from a document's root to a value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

/// The JSON pointer of `path`.
pub(crate) fn pointer_of(path: &[Seg<'_>]) -> String {
    let mut pointer = String::new();
    for seg in path {
        pointer.push('/');
        match seg {
            Seg::Key(key) => pointer.push_str(&escape(key)),
            Seg::Index(i) => pointer.push_str(&i.to_string()),
        }
    }
    pointer
}

enum Frame<'v> {
    Map(serde_json::map::Iter<'v>, Ctx),
    Seq(std::iter::Enumerate<std::slice::Iter<'v, Value>>, Ctx),
}

/// Calls `visit` for every object of `doc` read as keywords (where a `$ref` member is a
/// reference), with its path. Iterative: the depth of a document costs heap, not stack.
#[cfg(test)]
pub(crate) fn walk<'v>(
    doc: &'v Value,
    swagger2: bool,
    visit: impl FnMut(&'v Map<String, Value>, &[Seg<'v>], Ctx),
) {
    walk_from(doc, Ctx::Keywords, swagger2, visit);
}

/// [`walk`] for a document whose top level is read as `start`.
pub(crate) fn walk_from<'v>(
    doc: &'v Value,
    start: Ctx,
    swagger2: bool,
    mut visit: impl FnMut(&'v Map<String, Value>, &[Seg<'v>], Ctx),
) {
    let mut path: Vec<Seg<'v>> = Vec::new();
    let mut stack: Vec<Frame<'v>> = Vec::new();
    let mut enter =
        |value: &'v Value, ctx: Ctx, path: &[Seg<'v>], stack: &mut Vec<Frame<'v>>| match value {
            Value::Object(map) => {
                if matches!(ctx, Ctx::Keywords | Ctx::Example) {
                    visit(map, path, ctx);
                }
                stack.push(Frame::Map(map.iter(), ctx));
                true
            }
            Value::Array(items) => {
                stack.push(Frame::Seq(items.iter().enumerate(), ctx));
                true
            }
            _ => false,
        };
    enter(doc, start, &path, &mut stack);
    while let Some(frame) = stack.last_mut() {
        let next = match frame {
            Frame::Map(iter, ctx) => iter
                .next()
                .map(|(key, value)| (Seg::Key(key), value, child_ctx(*ctx, key, value, swagger2))),
            Frame::Seq(iter, ctx) => iter
                .next()
                .map(|(i, value)| (Seg::Index(i), value, Some(element_ctx(*ctx)))),
        };
        match next {
            None => {
                stack.pop();
                path.pop();
            }
            Some((seg, value, Some(ctx))) if value.is_object() || value.is_array() => {
                path.push(seg);
                enter(value, ctx, &path, &mut stack);
            }
            Some(_) => {}
        }
    }
}

/// Whether a discriminator mapping value is a reference rather than a schema name.
fn mapping_is_ref(value: &str) -> bool {
    value.contains(['#', '/'])
        || [".json", ".yaml", ".yml"]
            .iter()
            .any(|ext| value.to_ascii_lowercase().ends_with(ext))
}

/// The root document with every external document placed in it and every `$ref` made local,
/// plus the documents taking part (index 0 is the root).
pub(crate) struct Bundle {
    pub root: Value,
    pub docs: Vec<Document>,
    /// External documents that could not be read or parsed (already reported).
    failed: HashSet<usize>,
    /// How the top level of each document is read (see [`start_ctx`]).
    start: Vec<Ctx>,
}

/// How an external document was first referenced: from where, and how deep into it.
struct Referrer {
    doc: usize,
    /// Pointer of the `$ref` (or mapping value) in `doc`.
    site: String,
    /// How the object holding the `$ref` was read.
    ctx: Ctx,
    /// Number of tokens of the reference's JSON pointer fragment.
    depth: usize,
}

struct Bundler<'a> {
    fetcher: &'a Fetcher,
    swagger2: bool,
    docs: Vec<Document>,
    /// Document index by URL (without fragment).
    by_url: HashMap<String, usize>,
    /// Where each external document was first referenced (none for the root).
    referrers: Vec<Option<Referrer>>,
    start: Vec<Ctx>,
}

/// How to read the top level of an external document, judged from its first reference. A
/// document holds what its referrers expect: an Example object (whose `value` is data) or a
/// map of them when an example refers to it, a map of names (schemas, parameters, path
/// items ...) when a one-token pointer such as `#/Pet` picks from it and it is not itself an
/// OpenAPI document, else an object of keywords.
fn start_ctx(referrer: Option<&Referrer>, doc: &Value) -> Ctx {
    let Some(referrer) = referrer else {
        return Ctx::Keywords;
    };
    let is_description = doc.get("openapi").is_some() || doc.get("swagger").is_some();
    match (referrer.ctx, referrer.depth) {
        (Ctx::Example, 0) => Ctx::Example,
        (Ctx::Example, 1) => Ctx::ExampleNames,
        (_, 1) if !is_description && doc.is_object() => Ctx::Names,
        _ => Ctx::Keywords,
    }
}

/// Loads every document reachable through `$ref` from `root` and bundles them into it.
pub(crate) fn bundle(
    root: Value,
    root_doc: Document,
    fetcher: &Fetcher,
    swagger2: bool,
    diags: &mut Diagnostics,
) -> Bundle {
    let mut by_url = HashMap::new();
    by_url.insert(without_fragment(&root_doc.url), 0);
    let mut bundler = Bundler {
        fetcher,
        swagger2,
        docs: vec![root_doc],
        by_url,
        referrers: vec![None],
        start: Vec::new(),
    };
    let mut values: Vec<Option<Value>> = vec![Some(root)];
    let mut failed = HashSet::new();
    let mut current = 0;
    while current < bundler.docs.len() {
        if current > 0 {
            match bundler.read(current, diags) {
                Some(value) => values.push(Some(value)),
                None => {
                    failed.insert(current);
                    values.push(None);
                }
            }
        }
        let start = match values[current].as_ref() {
            Some(value) => start_ctx(bundler.referrers[current].as_ref(), value),
            None => Ctx::Keywords,
        };
        bundler.start.push(start);
        if let Some(value) = values[current].as_mut() {
            bundler.rewrite_refs(value, current, start, diags);
        }
        current += 1;
    }

    let mut values = values.into_iter();
    let mut root = values.next().flatten().unwrap_or(Value::Null);
    if bundler.docs.len() > 1 {
        let bundled: Map<String, Value> = values
            .enumerate()
            .map(|(i, value)| ((i + 1).to_string(), value.unwrap_or(Value::Null)))
            .collect();
        if let Value::Object(map) = &mut root {
            if map.contains_key(BUNDLE_KEY) {
                diags.error_in(
                    0,
                    &format!("/{BUNDLE_KEY}"),
                    format!("'{BUNDLE_KEY}' is reserved for documents the loader bundles"),
                );
            }
            map.insert(BUNDLE_KEY.to_owned(), Value::Object(bundled));
        }
    }
    Bundle {
        root,
        docs: bundler.docs,
        failed,
        start: bundler.start,
    }
}

impl Bundler<'_> {
    /// Reads and parses external document `index`; problems are reported and give `None`.
    fn read(&mut self, index: usize, diags: &mut Diagnostics) -> Option<Value> {
        let url = self.docs[index].url.clone();
        let bytes = match self.fetcher.read(&url) {
            Ok(bytes) => bytes,
            Err(reason) => {
                let name = &self.docs[index].name;
                let message = format!("cannot read '{name}': {reason}");
                match &self.referrers[index] {
                    Some(referrer) => diags.error_in(referrer.doc, &referrer.site, message),
                    None => diags.error_in(index, "", message),
                }
                return None;
            }
        };
        let parsed = decode(bytes).and_then(|text| {
            let parsed = parse(&text);
            let doc = &mut self.docs[index];
            doc.text = text;
            parsed.map(|(value, format)| {
                doc.format = format;
                value
            })
        });
        match parsed {
            // Empty text, or only comments.
            Ok(Value::Null) => {
                diags.error_in(index, "", "the document is empty".to_owned());
                None
            }
            Ok(value) => Some(value),
            Err(err) => {
                diags.error_at(index, "", err.message, err.line, err.column);
                None
            }
        }
    }

    /// Rewrites the `$ref`s of document `index` to point into the bundled root, registering
    /// the documents they name.
    fn rewrite_refs(
        &mut self,
        value: &mut Value,
        index: usize,
        start: Ctx,
        diags: &mut Diagnostics,
    ) {
        let mut edits: Vec<(String, String)> = Vec::new();
        walk_from(value, start, self.swagger2, |map, path, ctx| {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let site = || format!("{}/$ref", pointer_of(path));
                match self.target(reference, index, ctx, &site) {
                    Ok(Some(local)) => edits.push((site(), local)),
                    Ok(None) => {}
                    Err(message) => diags.error_in(index, &site(), message),
                }
            }
            let mapping = map.get("discriminator").and_then(|d| d.get("mapping"));
            if let Some(Value::Object(mapping)) = mapping {
                for (name, target) in mapping {
                    let Value::String(reference) = target else {
                        continue;
                    };
                    if !mapping_is_ref(reference) {
                        continue;
                    }
                    let site = || {
                        format!(
                            "{}/discriminator/mapping/{}",
                            pointer_of(path),
                            escape(name)
                        )
                    };
                    match self.target(reference, index, Ctx::Keywords, &site) {
                        Ok(Some(local)) => edits.push((site(), local)),
                        Ok(None) => {}
                        Err(message) => diags.warn_in(index, &site(), message),
                    }
                }
            }
        });
        for (site, local) in edits {
            if let Some(slot) = value.pointer_mut(&site) {
                *slot = Value::String(local);
            }
        }
    }

    /// The local form of `reference` found in document `index`, or `None` when it is already
    /// local to the root.
    fn target(
        &mut self,
        reference: &str,
        index: usize,
        ctx: Ctx,
        site: &dyn Fn() -> String,
    ) -> Result<Option<String>, String> {
        let (doc_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        if !fragment.is_empty() && !fragment.starts_with('/') {
            return Err(format!(
                "unsupported $ref '{reference}': only json pointer fragments ('#/...') are \
                    supported"
            ));
        }
        let target = if doc_part.is_empty() {
            index
        } else {
            let referrer_url = &self.docs[index].url;
            let url = referrer_url
                .join(doc_part)
                .map_err(|e| format!("invalid $ref '{reference}': {e}"))?;
            // A description fetched from a server must not read files of the machine that
            // loads it.
            if url.scheme() == "file" && referrer_url.scheme() != "file" {
                return Err(format!(
                    "$ref '{reference}' names a local file, which a document read over {} \
                     cannot refer to",
                    referrer_url.scheme()
                ));
            }
            let referrer = Referrer {
                doc: index,
                site: String::new(),
                ctx,
                depth: fragment.matches('/').count(),
            };
            self.register(url, referrer, site)?
        };
        Ok(match (index, target) {
            (0, 0) if doc_part.is_empty() => None,
            (_, 0) => Some(format!("#{fragment}")),
            (_, n) => Some(format!("#/{BUNDLE_KEY}/{n}{fragment}")),
        })
    }

    fn register(
        &mut self,
        url: Url,
        mut referrer: Referrer,
        site: &dyn Fn() -> String,
    ) -> Result<usize, String> {
        let key = without_fragment(&url);
        if let Some(&known) = self.by_url.get(&key) {
            return Ok(known);
        }
        if self.docs.len() >= MAX_DOCUMENTS {
            return Err(format!(
                "too many referenced documents (more than {MAX_DOCUMENTS})"
            ));
        }
        let index = self.docs.len();
        self.by_url.insert(key, index);
        self.docs.push(Document::new(url, None));
        referrer.site = site();
        self.referrers.push(Some(referrer));
        Ok(index)
    }
}

fn without_fragment(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.into()
}

/// Reports every `$ref` of the bundled root that points nowhere or only ever to other
/// references (a cycle), and formats nobody knows. A reference to an example that cannot be
/// resolved is a warning (the example is left out); any other is an error.
pub(crate) fn check(bundle: &Bundle, swagger2: bool, diags: &mut Diagnostics) {
    let root = &bundle.root;
    let mut unknown_formats: HashMap<&str, (String, usize)> = HashMap::new();
    let mut cycles: HashSet<String> = HashSet::new();
    let bundled = root.get(BUNDLE_KEY);
    for (index, start) in bundle.start.iter().enumerate() {
        if bundle.failed.contains(&index) {
            continue;
        }
        // The root's walk skips the bundled documents (an `x-` member); each is walked on
        // its own, read the way the bundler read it.
        let (doc, prefix) = if index == 0 {
            (Some(root), String::new())
        } else {
            let key = index.to_string();
            (
                bundled.and_then(|b| b.get(&key)),
                format!("/{BUNDLE_KEY}/{key}"),
            )
        };
        let Some(doc) = doc else { continue };
        walk_from(doc, *start, swagger2, |map, path, ctx| {
            let at = || format!("{prefix}{}", pointer_of(path));
            match map.get("$ref") {
                // The bundler made every reference it could use local (`#` or `#/...`); it
                // has reported the others already.
                Some(Value::String(reference))
                    if reference != "#" && !reference.starts_with("#/") => {}
                Some(Value::String(reference)) => match follow(root, reference) {
                    Chain::Value => {}
                    Chain::Dangling(reference) => {
                        report_dangling(bundle, reference, &at(), ctx, diags);
                    }
                    Chain::Cycle(members) => {
                        report_cycle(bundle, members, ctx, &mut cycles, diags);
                    }
                    Chain::TooLong => {
                        let message = format!(
                            "$ref '{reference}' starts a chain of more than {MAX_HOPS} \
                             references to references"
                        );
                        report(&format!("{}/$ref", at()), message, ctx, diags);
                    }
                },
                Some(other) => diags.error(
                    &format!("{}/$ref", at()),
                    format!(
                        "'$ref' must be a string, found {}",
                        crate::diagnostics::kind(other)
                    ),
                ),
                None => {}
            }
            if ctx == Ctx::Keywords {
                if let Some(Value::String(format)) = map.get("format") {
                    if !KNOWN_FORMATS.contains(&format.as_str()) {
                        unknown_formats
                            .entry(format)
                            .or_insert_with(|| (format!("{}/format", at()), 0))
                            .1 += 1;
                    }
                }
            }
        });
    }
    let mut unknown: Vec<_> = unknown_formats.into_iter().collect();
    unknown.sort_by(|a, b| a.1.0.cmp(&b.1.0));
    for (format, (pointer, count)) in unknown {
        let uses = if count == 1 {
            "once".to_owned()
        } else {
            format!("{count} times")
        };
        diags.warn(
            &pointer,
            format!("unknown format '{format}' (used {uses}): values follow the type alone"),
        );
    }
}

/// Where a chain of references ends.
enum Chain<'v> {
    /// At something that is not a reference.
    Value,
    /// At this reference, which points nowhere.
    Dangling(&'v str),
    /// Back at an object already passed: the pointers of the objects in the loop, in order.
    Cycle(Vec<String>),
    /// Nowhere within [`MAX_HOPS`] steps.
    TooLong,
}

/// Follows `reference` (local to the bundled root), and on through targets that are
/// references themselves.
fn follow<'v>(root: &'v Value, reference: &'v str) -> Chain<'v> {
    let mut passed: Vec<String> = Vec::new();
    let mut reference = reference;
    loop {
        // A later link that dangles is reported where it is written, not at each reference
        // that leads to it.
        let first_link = passed.is_empty();
        let dangling = move |reference| {
            if first_link {
                Chain::Dangling(reference)
            } else {
                Chain::Value
            }
        };
        let Some(pointer) = crate::ref_pointer(reference) else {
            return dangling(reference);
        };
        if let Some(first) = passed.iter().position(|p| **p == *pointer) {
            passed.drain(..first);
            return Chain::Cycle(passed);
        }
        if passed.len() > MAX_HOPS {
            return Chain::TooLong;
        }
        let target = if pointer.is_empty() {
            Some(root)
        } else {
            root.pointer(&pointer)
        };
        let Some(target) = target else {
            return dangling(reference);
        };
        match target.get("$ref") {
            Some(Value::String(next)) => {
                passed.push(pointer.into_owned());
                reference = next;
            }
            _ => return Chain::Value,
        }
    }
}

/// An error, or a warning for an example (which serving can do without).
fn report(site: &str, message: String, ctx: Ctx, diags: &mut Diagnostics) {
    if ctx == Ctx::Example {
        diags.warn(site, message);
    } else {
        diags.error(site, message);
    }
}

/// Reports a cycle once, at the `$ref` of its member with the smallest pointer, whichever
/// reference led into it.
fn report_cycle(
    bundle: &Bundle,
    mut members: Vec<String>,
    ctx: Ctx,
    reported: &mut HashSet<String>,
    diags: &mut Diagnostics,
) {
    let Some(first) = members
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cmp(b.1))
        .map(|(i, _)| i)
    else {
        return;
    };
    members.rotate_left(first);
    if !reported.insert(members[0].clone()) {
        return;
    }
    let (site_doc, _) = split_bundled(&members[0]);
    let mut steps: Vec<String> = members
        .iter()
        .map(|member| shown(bundle, site_doc, member))
        .collect();
    steps.push(steps[0].clone());
    let message = format!("$ref cycle never reaches a value: {}", steps.join(" -> "));
    report(&format!("{}/$ref", members[0]), message, ctx, diags);
}

/// How a pointer of the bundled root is named in a message about document `site_doc`: a
/// plain `#/...` in that document, else the other document's name with the pointer.
fn shown(bundle: &Bundle, site_doc: usize, pointer: &str) -> String {
    let (doc, pointer) = split_bundled(pointer);
    if doc == site_doc {
        format!("#{pointer}")
    } else {
        let name = bundle.docs.get(doc).map_or("", |d| d.name.as_str());
        format!("{name}#{pointer}")
    }
}

fn report_dangling(bundle: &Bundle, reference: &str, at: &str, ctx: Ctx, diags: &mut Diagnostics) {
    let target = crate::ref_pointer(reference).unwrap_or(std::borrow::Cow::Borrowed(reference));
    let (target_doc, _) = split_bundled(&target);
    if bundle.failed.contains(&target_doc) {
        // The document itself could not be read; that was reported once already.
        return;
    }
    let site = format!("{at}/$ref");
    let (site_doc, _) = split_bundled(&site);
    let shown = shown(bundle, site_doc, &target);
    if ctx == Ctx::Example {
        diags.warn(
            &site,
            format!("example $ref '{shown}' points to nothing; example left out"),
        );
    } else {
        diags.error(&site, format!("dangling $ref '{shown}': nothing is there"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn visited(doc: &Value, swagger2: bool) -> Vec<String> {
        let mut seen = Vec::new();
        walk(doc, swagger2, |map, path, _| {
            if map.contains_key("$ref") {
                seen.push(pointer_of(path));
            }
        });
        seen
    }

    #[test]
    fn references_inside_literal_data_are_not_references() {
        let doc = json!({
            "components": {"schemas": {"A": {
                "properties": {
                    "$ref": {"$ref": "#/x"},
                    "example": {"$ref": "#/y"}
                },
                "example": {"$ref": "not/a/ref"},
                "default": {"$ref": "nor/this"},
                "enum": [{"$ref": "nor/this"}],
                "x-vendor": {"$ref": "nor/this"}
            }}},
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
                "examples": {"one": {"$ref": "#/e"}, "two": {"value": {"$ref": "data"}}}
            }}}}}}}
        });
        assert_eq!(
            visited(&doc, false),
            [
                "/components/schemas/A/properties/$ref",
                "/components/schemas/A/properties/example",
                "/paths/~1a/get/responses/200/content/application~1json/examples/one",
            ]
        );
    }

    #[test]
    fn swagger2_response_examples_are_literal() {
        let doc = json!({"responses": {"200": {"examples": {"application/json": {"$ref": "x"}}}}});
        assert!(visited(&doc, true).is_empty());
        assert_eq!(visited(&doc, false).len(), 1);
    }

    #[test]
    fn discriminator_mapping_values_are_told_from_names() {
        assert!(mapping_is_ref("#/components/schemas/Cat"));
        assert!(mapping_is_ref("cat.yaml"));
        assert!(!mapping_is_ref("Cat"));
    }
}
