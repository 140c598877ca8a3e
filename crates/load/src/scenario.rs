//! Scenario files: a YAML list of weighted requests under one base URL.
//!
//! ```yaml
//! base_url: http://127.0.0.1:8000/v1
//! headers:                  # sent with every request
//!   Accept: application/json
//! requests:
//!   - name: list books
//!     path: /books?limit=5
//!     weight: 3
//!   - name: add a book
//!     method: POST
//!     path: /books
//!     headers: { X-Trace: bench }
//!     body: { title: Dune, isbn: "978-0441172719", genre: fiction, price: 9.99, authorId: 1 }
//! ```
//!
//! A `body` that is a YAML string is sent as written; a mapping or a list is sent as JSON
//! with `Content-Type: application/json` unless the request sets its own. `body_file` reads
//! the body from a file, relative to the scenario file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::target::RequestSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    base_url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    requests: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Option<String>,
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<Value>,
    body_file: Option<PathBuf>,
    #[serde(default = "one")]
    weight: u32,
}

fn get() -> String {
    "GET".to_owned()
}

fn one() -> u32 {
    1
}

/// A scenario, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// `None` when the file leaves it to the command line.
    pub base_url: Option<String>,
    pub requests: Vec<RequestSpec>,
}

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario '{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid scenario '{}': {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Scenario {
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::parse(&text, path)
    }

    /// Parses `text`; `path` names the file in errors and anchors `body_file`.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_owned(),
            message,
        };
        let file: File = serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.requests.is_empty() {
            return Err(invalid("'requests' is empty".to_owned()));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut requests = Vec::with_capacity(file.requests.len());
        for (i, entry) in file.requests.into_iter().enumerate() {
            let method = entry.method.to_ascii_uppercase();
            let name = entry
                .name
                .unwrap_or_else(|| format!("{method} {}", entry.path));
            let at = |message: String| invalid(format!("requests[{i}] ('{name}'): {message}"));
            if entry.weight == 0 {
                return Err(at("weight must be at least 1".to_owned()));
            }
            let own = entry.headers;
            let mut headers: Vec<(String, String)> = file
                .headers
                .iter()
                .filter(|(k, _)| !own.keys().any(|o| o.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            headers.extend(own);
            let has_type = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            let body = match (entry.body, entry.body_file) {
                (Some(_), Some(_)) => {
                    return Err(at("give 'body' or 'body_file', not both".to_owned()));
                }
                (None, Some(file)) => {
                    let file = dir.join(file);
                    std::fs::read(&file).map_err(|e| {
                        at(format!("cannot read body_file '{}': {e}", file.display()))
                    })?
                }
                (Some(Value::String(text)), None) => text.into_bytes(),
                (Some(Value::Null), None) | (None, None) => Vec::new(),
                (Some(value), None) => {
                    let json = serde_json::to_vec(&value)
                        .map_err(|e| at(format!("body cannot be written as JSON: {e}")))?;
                    if !has_type {
                        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                    }
                    json
                }
            };
            requests.push(RequestSpec {
                name,
                method,
                path: entry.path,
                headers,
                body,
                weight: entry.weight,
            });
        }
        Ok(Scenario {
            base_url: file.base_url,
            requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, Path::new("dir/s.yaml"))
    }

    #[test]
    fn entries_get_defaults_shared_headers_and_json_bodies() {
        let s = parse(
            "base_url: http://127.0.0.1:8000/v1
headers: { Accept: application/json, X-Team: a }
requests:
  - path: /books
    weight: 3
  - name: add
    method: post
    path: /books
    headers: { x-team: b }
    body: { title: Dune, tags: [sf] }
  - name: raw
    method: PUT
    path: /notes/1
    headers: { Content-Type: text/plain }
    body: hello
",
        )
        .unwrap();
        assert_eq!(s.base_url.as_deref(), Some("http://127.0.0.1:8000/v1"));
        let [list, add, raw] = &s.requests[..] else {
            panic!("three requests expected: {s:?}");
        };
        assert_eq!(list.name, "GET /books");
        assert_eq!(list.method, "GET");
        assert_eq!(list.weight, 3);
        assert!(list.body.is_empty());
        assert_eq!(list.headers.len(), 2);

        assert_eq!(add.method, "POST");
        assert_eq!(add.weight, 1);
        assert_eq!(add.body, br#"{"title":"Dune","tags":["sf"]}"#.to_vec());
        let headers: Vec<(&str, &str)> = add
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("Accept", "application/json"),
                ("x-team", "b"),
                ("Content-Type", "application/json")
            ]
        );

        assert_eq!(raw.body, b"hello".to_vec());
        let types: Vec<&str> = raw
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(types, ["text/plain"]);
    }

    #[test]
    fn body_file_is_read_beside_the_scenario() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("order.json"), br#"{"qty":2}"#).unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "requests:\n  - { method: POST, path: /orders, body_file: order.json }\n",
        )
        .unwrap();
        let s = Scenario::read(&path).unwrap();
        assert_eq!(s.base_url, None);
        assert_eq!(s.requests[0].body, br#"{"qty":2}"#.to_vec());
    }

    #[test]
    fn mistakes_name_the_file_and_the_entry() {
        let err = parse("requests:\n  - { path: /a, weight: 0 }\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid scenario 'dir/s.yaml': requests[0] ('GET /a'): weight must be at least 1"
        );
        let err = parse("requests: []\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid scenario 'dir/s.yaml': 'requests' is empty"
        );
        let err = parse("requests:\n  - { path: /a, wieght: 2 }\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `wieght`"), "{err}");
        let err = parse("requests:\n  - { path: /a, body: x, body_file: y }\n").unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
        let err = Scenario::read(Path::new("/nonexistent/s.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read scenario '/nonexistent/s.yaml'"
        );
    }
}
