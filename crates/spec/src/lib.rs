//! Loading API descriptions (OpenAPI 3.0/3.1, Swagger 2.0; JSON or YAML; file or URL) into
//! the normalised [`Api`] model.
//!
//! Loading runs in steps, each in its own module: read the bytes ([`source`]), parse JSON or
//! YAML ([`parse`]), gather referenced documents and make every `$ref` local ([`bundle`]),
//! then turn the bundled document into the model ([`normalise`], with the dialects in [`v2`]
//! and [`v3`]). Errors and warnings are collected on the way ([`diagnostics`]); lines are
//! looked up only when the load fails ([`locate`]).
//!
//! OpenAPI 3.1 `webhooks` are not routes: [`Api::operations`] leaves them out and
//! [`webhooks`] normalises them on demand.

mod bundle;
mod diagnostics;
mod examples;
mod locate;
mod model;
mod normalise;
mod parse;
mod servers;
mod source;
mod v2;
mod v3;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

pub use model::*;

use serde_json::Value;

use crate::diagnostics::{Diagnostics, Document, kind};
use crate::normalise::{Normaliser, text};
use crate::source::Fetcher;

/// Settings for [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest document accepted, in bytes (each file or URL body).
    pub max_document_bytes: u64,
    /// Time limit for fetching one URL.
    pub fetch_timeout: std::time::Duration,
    /// When set, local files (the description and every file it references) are read only
    /// from under these directories, which must be canonical paths.
    pub allowed_dirs: Option<Vec<std::path::PathBuf>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_document_bytes: 64 * 1024 * 1024,
            fetch_timeout: std::time::Duration::from_secs(30),
            allowed_dirs: None,
        }
    }
}

/// Why a description could not be loaded. `Display` names the file, the place and the
/// problem; there may be several problems.
#[derive(Debug, thiserror::Error)]
#[error("{}", .diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    fn single(file: &str, message: String, line: Option<u32>, column: Option<u32>) -> LoadError {
        let file = file.to_owned();
        LoadError {
            diagnostics: vec![Diagnostic {
                file,
                pointer: String::new(),
                line,
                column,
                message,
            }],
        }
    }
}

/// Loads the description at `source` (a file path or an `http(s)://` URL).
pub fn load(source: &str, options: &LoadOptions) -> Result<Api, LoadError> {
    let url = source::root_url(source).map_err(|reason| {
        LoadError::single(source, format!("cannot read: {reason}"), None, None)
    })?;
    let fetcher = Fetcher::new(options);
    let bytes = fetcher.read(&url).map_err(|reason| {
        LoadError::single(source, format!("cannot read: {reason}"), None, None)
    })?;
    let text =
        parse::decode(bytes).map_err(|e| LoadError::single(source, e.message, e.line, e.column))?;
    load_document(source, url, text, &fetcher)
}

/// Loads a description held in memory. `source` names it in messages and is the location
/// relative `$ref`s and `externalValue`s are resolved against (a file path or URL; the file
/// need not exist).
pub fn load_str(text: &str, source: &str, options: &LoadOptions) -> Result<Api, LoadError> {
    let url = source::root_url(source).map_err(|reason| {
        LoadError::single(source, format!("not a usable name: {reason}"), None, None)
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).to_owned();
    load_document(source, url, text, &Fetcher::new(options))
}

/// The operations under an OpenAPI 3.1 document's `webhooks` (requests the API would send,
/// not routes it serves), normalised like path operations with the webhook's name as
/// [`Operation::path`]. Empty for other documents. Computed on each call.
pub fn webhooks(api: &Api) -> Vec<Operation> {
    normalise::webhooks(&api.root, api.version)
}

fn load_document(
    source: &str,
    url: url::Url,
    body: String,
    fetcher: &Fetcher,
) -> Result<Api, LoadError> {
    let mut root_doc = Document::new(url, Some(source.to_owned()));
    let parsed = parse::parse(&body);
    root_doc.text = body;
    let (value, format) =
        parsed.map_err(|e| LoadError::single(source, e.message, e.line, e.column))?;
    root_doc.format = format;

    let mut diags = Diagnostics::default();
    let Some(version) = version_of(&value, &mut diags) else {
        let docs = [root_doc];
        return Err(LoadError {
            diagnostics: diags.finish(&docs).err().unwrap_or_default(),
        });
    };
    let swagger2 = version == SpecVersion::Swagger2;
    let bundle = bundle::bundle(value, root_doc, fetcher, swagger2, &mut diags);
    bundle::check(&bundle, swagger2, &mut diags);
    let (root, docs) = (bundle.root, bundle.docs);

    let normalised = Normaliser {
        root: &root,
        version,
        diags: &mut diags,
        docs: &docs,
        fetcher: Some(fetcher),
        external_examples: HashMap::new(),
    }
    .run();
    let warnings = diags
        .finish(&docs)
        .map_err(|diagnostics| LoadError { diagnostics })?;
    drop(docs);
    let info = root.get("info");
    Ok(Api {
        source: source.to_owned(),
        version,
        title: text(info.and_then(|i| i.get("title"))).unwrap_or_default(),
        api_version: text(info.and_then(|i| i.get("version"))).unwrap_or_default(),
        base_paths: normalised.base_paths,
        operations: normalised.operations,
        security_schemes: normalised.security_schemes,
        security: normalised.security,
        root: Arc::new(root),
        warnings,
    })
}

/// Which description `root` is, from its `openapi` or `swagger` field.
fn version_of(root: &Value, diags: &mut Diagnostics) -> Option<SpecVersion> {
    if root.is_null() {
        // Empty text, blank lines or only comments.
        let message = "the document is empty: expected an openapi or swagger description";
        diags.error_in(0, "", message.to_owned());
        return None;
    }
    let Value::Object(map) = root else {
        let message = format!(
            "not an openapi or swagger document: the top level is {}, not a mapping",
            kind(root)
        );
        diags.error_in(0, "", message);
        return None;
    };
    if let Some(field) = map.get("openapi") {
        let Some(version) = version_text(field) else {
            let message = format!(
                "'openapi' must be a version such as '3.0.3', found {}",
                kind(field)
            );
            diags.error_in(0, "/openapi", message);
            return None;
        };
        let mut parts = version.split('.');
        return match (parts.next(), parts.next().map(str::parse::<u32>)) {
            (Some("3"), Some(Ok(0))) => Some(SpecVersion::OpenApi30),
            (Some("3"), Some(Ok(1))) => Some(SpecVersion::OpenApi31),
            (Some("3"), Some(Ok(_))) => {
                diags.warn_in(
                    0,
                    "/openapi",
                    format!("openapi version '{version}' is newer than 3.1; read as 3.1"),
                );
                Some(SpecVersion::OpenApi31)
            }
            _ => {
                let message = format!(
                    "unsupported openapi version '{version}' (supported: 3.0.x, 3.1.x and \
                        swagger 2.0)"
                );
                diags.error_in(0, "/openapi", message);
                None
            }
        };
    }
    if let Some(field) = map.get("swagger") {
        let version = version_text(field).unwrap_or_default();
        // YAML reads an unquoted `swagger: 2.0` as the number 2.0, which prints as "2.0".
        if version == "2.0" || version == "2" {
            return Some(SpecVersion::Swagger2);
        }
        let message = format!("unsupported swagger version '{version}' (only 2.0 is supported)");
        diags.error_in(0, "/swagger", message);
        return None;
    }
    let message =
        "not an openapi or swagger document: it has neither an 'openapi' nor a 'swagger' field";
    diags.error_in(0, "", message.to_owned());
    None
}

fn version_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The JSON pointer of a local `$ref` (`#/a/b` gives `/a/b`), percent-decoded.
pub(crate) fn ref_pointer(reference: &str) -> Option<Cow<'_, str>> {
    let pointer = reference.strip_prefix('#')?;
    if !pointer.contains('%') {
        return Some(Cow::Borrowed(pointer));
    }
    percent_encoding::percent_decode_str(pointer)
        .decode_utf8()
        .ok()
}

/// Resolves a local `$ref` (`#/a/b`) against `root`. Returns `None` for a dangling or
/// non-local reference.
pub fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = ref_pointer(reference)?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(&pointer)
}
