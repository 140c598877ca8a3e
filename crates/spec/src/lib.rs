//! Loading API descriptions (OpenAPI 3.0/3.1, Swagger 2.0; JSON or YAML; file or URL) into
//! the normalised [`Api`] model.

mod model;

pub use model::*;

use serde_json::Value;

/// Settings for [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest document accepted, in bytes (each file or URL body).
    pub max_document_bytes: u64,
    /// Time limit for fetching one URL.
    pub fetch_timeout: std::time::Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_document_bytes: 64 * 1024 * 1024,
            fetch_timeout: std::time::Duration::from_secs(30),
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

/// Loads the description at `source` (a file path or an `http(s)://` URL).
pub fn load(source: &str, options: &LoadOptions) -> Result<Api, LoadError> {
    let _ = (source, options);
    Err(LoadError { diagnostics: Vec::new() })
}

/// Resolves a local `$ref` (`#/a/b`) against `root`. Returns `None` for a dangling or
/// non-local reference.
pub fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8().ok()?;
    root.pointer(&decoded)
}
