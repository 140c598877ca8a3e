//! What tools may touch: spec files only under the allowed directories, projects only under
//! the output root, admin APIs only on loopback (unless allowed), and no secrets echoed back.

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::{ToolError, io_reason};

/// Resolves `path` (relative to the working directory) and checks that it lies under one of
/// `roots`, which must be canonical. The file must exist: canonicalising follows symbolic
/// links, so a link out of an allowed directory is refused too.
pub fn allowed_file(path: &str, roots: &[PathBuf], what: &str) -> Result<PathBuf, ToolError> {
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| ToolError::new(format!("cannot read {what} '{path}': {}", io_reason(&e))))?;
    if roots.iter().any(|root| canonical.starts_with(root)) {
        return Ok(canonical);
    }
    Err(ToolError::new(format!(
        "{what} '{path}' is outside the allowed directories ({}); start `mockloop mcp` with \
         --allow-dir to allow another",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// A project directory name: one plain path component of letters, digits, `.`, `_` and `-`,
/// not starting with a dot, so that the project can only land directly under the root.
pub fn project_name(name: &str) -> Result<&str, ToolError> {
    let plain = Path::new(name).components().count() == 1
        && matches!(
            Path::new(name).components().next(),
            Some(Component::Normal(_))
        );
    let chars_ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if plain && chars_ok && !name.starts_with('.') {
        Ok(name)
    } else {
        Err(ToolError::new(format!(
            "invalid output_dir_name '{name}': use letters, digits, '.', '_' and '-' only (one \
             directory name, not a path, not starting with '.')"
        )))
    }
}

/// Whether `host` (from a URL) is a loopback address or `localhost`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// Checks a server URL given to a tool: `http://` only, no credentials in it, and a
/// loopback host unless `allow_remote` is set. Returns the URL without a trailing slash.
pub fn server_url(raw: &str, allow_remote: bool, param: &str) -> Result<String, ToolError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        ToolError::new(format!(
            "invalid {param} '{}': {e} (expected e.g. http://127.0.0.1:8000)",
            strip_credentials(raw)
        ))
    })?;
    if url.scheme() != "http" {
        return Err(ToolError::new(format!(
            "invalid {param} '{}': only http:// URLs are supported",
            strip_credentials(raw)
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ToolError::new(format!(
            "invalid {param}: credentials in the URL are not accepted ('{}')",
            strip_credentials(raw)
        )));
    }
    let Some(host) = url.host() else {
        return Err(ToolError::new(format!("invalid {param} '{raw}': no host")));
    };
    if !allow_remote && !is_loopback_host(&host) {
        return Err(ToolError::new(format!(
            "{param} '{raw}' is not on this machine: only loopback hosts (127.0.0.1, ::1, \
             localhost) are allowed unless `mockloop mcp` runs with --allow-remote-servers"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `raw` with any `user:password@` part of a URL replaced, for messages.
pub fn strip_credentials(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// Names whose values are credentials, in headers, query strings and JSON objects.
fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let exact = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "api_key",
    ];
    exact.contains(&lower.as_str())
        || [
            "token",
            "secret",
            "password",
            "passwd",
            "credential",
            "session",
        ]
        .iter()
        .any(|part| lower.contains(part))
}

pub const REDACTED: &str = "[redacted]";

/// Replaces the values of credential-like query parameters (`?api_key=...&token=...`).
pub fn redact_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A URL or path as text without its secrets: user info (`user:pw@`) dropped and the
/// query's credential-like parameters redacted.
fn redact_url(token: &str) -> String {
    let mut out = token.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            out.replace_range(scheme_end + 3..scheme_end + 3 + at + 1, "");
        }
    }
    if let Some(q) = out.find('?') {
        let end = out[q + 1..].find('#').map_or(out.len(), |f| q + 1 + f);
        let redacted = redact_query(&out[q + 1..end]);
        out.replace_range(q + 1..end, &redacted);
    }
    out
}

/// Free text (an error message, a report's target) with the secrets of every URL or path
/// in it removed, as [`redact_url`] does.
pub fn redact_text(text: &str) -> String {
    if !text.contains("://") && !text.contains('?') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\'' | '"' | '(' | ')' | '<' | '>' | '`') {
            out.push_str(&redact_url(&token));
            token.clear();
            out.push(c);
        } else {
            token.push(c);
        }
    }
    out.push_str(&redact_url(&token));
    out
}

/// Walks a JSON value and replaces the values of credential-like keys; `query` strings of
/// logged requests are redacted parameter by parameter, and URLs in other strings lose
/// their user info and credential-like query parameters.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::String(text) if text.contains("://") || text.contains('?') => {
            *text = redact_text(text);
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "query" {
                    if let Value::String(text) = item {
                        *text = redact_query(text);
                    }
                } else if is_secret_name(key) && !matches!(item, Value::Null) {
                    // Counters such as `session_id` stay readable: an id is not a secret.
                    if !key.ends_with("_id") {
                        *item = Value::String(REDACTED.to_owned());
                    }
                } else {
                    redact_value(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    /// Found by a fresh-user run: a load test's target, and error messages, echoed query
    /// credentials and the user info of URLs.
    #[test]
    fn urls_in_text_lose_their_secrets() {
        assert_eq!(
            redact_text("GET http://127.0.0.1:9/api/shelves?api_key=S&page=2&token=T"),
            "GET http://127.0.0.1:9/api/shelves?api_key=[redacted]&page=2&token=[redacted]"
        );
        assert_eq!(
            redact_text("cannot fetch 'http://user:pw@127.0.0.1:8/s.yaml': too large"),
            "cannot fetch 'http://127.0.0.1:8/s.yaml': too large"
        );
        assert_eq!(
            redact_text("/books?token=abc#x"),
            "/books?token=[redacted]#x"
        );
        assert_eq!(redact_text("no url here"), "no url here");
        let mut value = serde_json::json!({ "target": "http://h/p?api_key=1", "n": 2 });
        redact_value(&mut value);
        assert_eq!(value["target"], "http://h/p?api_key=[redacted]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_outside_the_allowed_directories_are_refused() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let inside = allowed.path().join("api.yaml");
        let outside = other.path().join("api.yaml");
        std::fs::write(&inside, "x").unwrap();
        std::fs::write(&outside, "x").unwrap();
        let roots = vec![allowed.path().canonicalize().unwrap()];
        assert!(allowed_file(inside.to_str().unwrap(), &roots, "spec").is_ok());
        let err = allowed_file(outside.to_str().unwrap(), &roots, "spec").unwrap_err();
        assert!(
            err.0.contains("outside the allowed directories"),
            "{}",
            err.0
        );
        let sneaky = allowed
            .path()
            .join("../")
            .join(other.path().file_name().unwrap());
        let sneaky = sneaky.join("api.yaml");
        assert!(allowed_file(sneaky.to_str().unwrap(), &roots, "spec").is_err());
    }

    #[test]
    fn project_names_are_single_plain_components() {
        assert!(project_name("petstore-mock_1.0").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "../x", "/abs", "a b", "x\\y"] {
            assert!(project_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn server_urls_must_be_loopback_http_without_credentials() {
        assert_eq!(
            server_url("http://127.0.0.1:8001/", false, "server_url").unwrap(),
            "http://127.0.0.1:8001"
        );
        assert!(server_url("http://localhost:9", false, "server_url").is_ok());
        assert!(server_url("http://[::1]:9", false, "server_url").is_ok());
        let remote = server_url("http://10.1.2.3:8001", false, "server_url").unwrap_err();
        assert!(remote.0.contains("only loopback hosts"), "{}", remote.0);
        assert!(server_url("http://10.1.2.3:8001", true, "server_url").is_ok());
        assert!(server_url("https://127.0.0.1:1", false, "server_url").is_err());
        let creds = server_url("http://u:pw@127.0.0.1:1", false, "server_url").unwrap_err();
        assert!(!creds.0.contains("pw"), "{}", creds.0);
    }

    #[test]
    fn credentials_are_redacted_from_results() {
        let mut value = json!({
            "query": "page=2&api_key=abc&access_token=xyz",
            "headers": { "Authorization": "Bearer abc", "Accept": "*/*" },
            "session_id": "s-1",
            "items": [{ "password": "hunter2" }]
        });
        redact_value(&mut value);
        assert_eq!(
            value["query"],
            "page=2&api_key=[redacted]&access_token=[redacted]"
        );
        assert_eq!(value["headers"]["Authorization"], REDACTED);
        assert_eq!(value["headers"]["Accept"], "*/*");
        assert_eq!(value["session_id"], "s-1");
        assert_eq!(value["items"][0]["password"], REDACTED);
    }
}
