//! Path prefixes the mock serves under, from OAS 3 `servers` and Swagger 2.0 `basePath`.

use serde_json::Value;
use url::Url;

use crate::diagnostics::{child, kind};
use crate::model::{Api, Operation, SpecVersion};
use crate::normalise::Normaliser;

/// Base for server URLs written relative to nothing in particular (a description read from a
/// file): only the path part is used, so the host is never contacted.
const PLACEHOLDER_BASE: &str = "http://localhost/";

pub(crate) fn base_paths_v2(n: &mut Normaliser<'_, '_>) -> Vec<String> {
    match n.root.get("basePath") {
        None => Vec::new(),
        Some(Value::String(base)) => normalise_prefix(base).into_iter().collect(),
        Some(other) => {
            n.error(
                "/basePath",
                format!("'basePath' must be a string, found {}", kind(other)),
            );
            Vec::new()
        }
    }
}

pub(crate) fn base_paths_v3(n: &mut Normaliser<'_, '_>) -> Vec<String> {
    let Some(servers) = n.root.get("servers") else {
        return Vec::new();
    };
    let document = n.docs.first().map(|d| &d.url);
    let mut out = Vec::new();
    match base_paths_of(servers, document) {
        Ok(found) => {
            for item in found {
                match item {
                    Ok(Some(path)) if !out.contains(&path) => out.push(path),
                    Ok(_) => {}
                    Err((i, problem)) => n.warn(&child("/servers", &i.to_string()), problem),
                }
            }
        }
        Err(problem) => n.error("/servers", problem),
    }
    out
}

type ServerResult = Result<Option<String>, (usize, String)>;

/// The path prefix of each server of a `servers` list (`None` for a server at the root).
fn base_paths_of(servers: &Value, document: Option<&Url>) -> Result<Vec<ServerResult>, String> {
    let Value::Array(servers) = servers else {
        return Err(format!(
            "'servers' must be an array, found {}",
            kind(servers)
        ));
    };
    Ok(servers
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let Some(url) = server.get("url").and_then(Value::as_str) else {
                return Err((i, "server has no 'url'; ignored".to_owned()));
            };
            server_prefix(url, server.get("variables"), document).map_err(|problem| (i, problem))
        })
        .collect())
}

/// The path prefix of one server URL, with `{variables}` replaced by their defaults. Relative
/// URLs are relative to the document when it was fetched over http(s).
pub(crate) fn server_prefix(
    template: &str,
    variables: Option<&Value>,
    document: Option<&Url>,
) -> Result<Option<String>, String> {
    let url = substitute(template, variables)?;
    let placeholder = Url::parse(PLACEHOLDER_BASE).map_err(|e| e.to_string())?;
    let base = document
        .filter(|d| matches!(d.scheme(), "http" | "https"))
        .unwrap_or(&placeholder);
    let resolved = base
        .join(&url)
        .map_err(|e| format!("server url '{template}' is not valid: {e}"))?;
    Ok(normalise_prefix(resolved.path()))
}

/// Replaces each `{name}` of a server URL by the variable's default.
fn substitute(template: &str, variables: Option<&Value>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("server url '{template}' has an unclosed '{{'"));
        };
        let name = &rest[open + 1..open + close];
        let default = variables
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("default"));
        match default {
            Some(Value::String(value)) => out.push_str(value),
            Some(Value::Number(value)) => out.push_str(&value.to_string()),
            _ => {
                return Err(format!(
                    "server url '{template}' uses variable '{name}', which has no default; ignored"
                ));
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A prefix without trailing slash; `None` for the root.
fn normalise_prefix(path: &str) -> Option<String> {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or(path)
        .trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    })
}

impl Api {
    /// The path prefixes `op` is served under: its own `servers` if it declares any, else its
    /// path item's, else [`Api::base_paths`]. Some documents send a few operations to another
    /// host with another prefix (uploads, for example).
    pub fn operation_base_paths(&self, op: &Operation) -> Vec<String> {
        if self.version == SpecVersion::Swagger2 {
            return self.base_paths.clone();
        }
        let document = Url::parse(&self.source).ok();
        let item_pointer = op.pointer.rsplit_once('/').map_or("", |(item, _)| item);
        for pointer in [op.pointer.as_str(), item_pointer] {
            let servers = self.root.pointer(pointer).and_then(|v| v.get("servers"));
            let Some(found) = servers.and_then(|s| base_paths_of(s, document.as_ref()).ok()) else {
                continue;
            };
            if found.is_empty() {
                continue;
            }
            let mut out = Vec::new();
            for path in found.into_iter().flatten().flatten() {
                if !out.contains(&path) {
                    out.push(path);
                }
            }
            return out;
        }
        self.base_paths.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn prefix(url: &str, variables: Value) -> Option<String> {
        server_prefix(url, Some(&variables), None).unwrap()
    }

    #[test]
    fn server_urls_keep_only_their_path() {
        assert_eq!(
            prefix("https://api.example.com/v1/", json!({})),
            Some("/v1".to_owned())
        );
        assert_eq!(prefix("https://api.example.com", json!({})), None);
        assert_eq!(prefix("/api/v1", json!({})), Some("/api/v1".to_owned()));
        assert_eq!(prefix("/", json!({})), None);
        assert_eq!(
            prefix("//cdn.example.com/x", json!({})),
            Some("/x".to_owned())
        );
        assert_eq!(prefix("v2", json!({})), Some("/v2".to_owned()));
    }

    #[test]
    fn server_variables_take_their_defaults() {
        let variables = json!({"scheme": {"default": "https"}, "base": {"default": "ds/v1"}});
        assert_eq!(
            prefix("{scheme}://example.com/{base}", variables),
            Some("/ds/v1".to_owned())
        );
    }

    #[test]
    fn variables_without_default_are_reported() {
        let err = server_prefix("https://x/{v}", None, None).unwrap_err();
        assert!(err.contains("'v'"), "{err}");
    }

    #[test]
    fn relative_servers_resolve_against_a_fetched_document() {
        let document = Url::parse("http://127.0.0.1:9/specs/openapi.yaml").unwrap();
        let path = server_prefix("v1", None, Some(&document)).unwrap();
        assert_eq!(path, Some("/specs/v1".to_owned()));
    }

    #[test]
    fn base_paths_lose_trailing_slashes() {
        assert_eq!(normalise_prefix("/v1.56/"), Some("/v1.56".to_owned()));
        assert_eq!(normalise_prefix("/"), None);
        assert_eq!(normalise_prefix("api"), Some("/api".to_owned()));
    }
}
