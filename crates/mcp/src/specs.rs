//! Loading an API description a tool names: a file under the allowed directories, or an
//! http(s) URL fetched within the size and time limits.

use crate::{Shared, ToolError, safety};

/// Whether `source` is a URL to fetch rather than a file path.
pub fn is_url(source: &str) -> bool {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The checked source: a URL as given, or the canonical path of an allowed file.
pub fn checked_source(shared: &Shared, source: &str) -> Result<String, ToolError> {
    let source = source.trim();
    if is_url(source) {
        if url::Url::parse(source).is_err() {
            return Err(ToolError::new(format!(
                "invalid spec URL '{}'",
                safety::strip_credentials(source)
            )));
        }
        return Ok(source.to_owned());
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    let canonical = safety::allowed_file(path, &shared.settings.allow_dirs, "spec file")?;
    Ok(canonical.to_string_lossy().into_owned())
}

/// Loads `source` off the async threads; a load failure lists every problem found.
pub async fn load(shared: &Shared, source: &str) -> Result<spec::Api, ToolError> {
    let checked = checked_source(shared, source)?;
    let options = spec::LoadOptions {
        max_document_bytes: shared.settings.max_fetch_bytes,
        fetch_timeout: shared.settings.fetch_timeout,
        allowed_dirs: Some(shared.settings.allow_dirs.clone()),
    };
    let shown = safety::strip_credentials(source);
    tokio::task::spawn_blocking(move || spec::load(&checked, &options))
        .await
        .map_err(|e| ToolError::new(format!("spec loading task failed: {e}")))?
        .map_err(|err| {
            let problems: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
            ToolError::new(format!(
                "cannot load API description '{shown}':\n  {}",
                problems.join("\n  ")
            ))
        })
}
