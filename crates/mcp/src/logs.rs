//! `query_mock_logs` and `get_performance_metrics`: the request log, its analysis and the
//! live figures of a running mock, read through its admin API.

use serde_json::{Value, json};

use crate::params::{GetPerformanceMetrics, QueryMockLogs};
use crate::{Shared, ToolError, admin, target};

/// Most rows one call returns.
const MAX_LIMIT: u32 = 1000;

/// Turns a glob into an anchored regular expression: `*` stays within a segment, `**`
/// crosses segments, everything else is literal.
pub fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                out.push_str(".*");
            } else {
                out.push_str("[^/]*");
            }
        } else {
            let mut buf = [0u8; 4];
            out.push_str(&regex_escape(c.encode_utf8(&mut buf)));
        }
    }
    out.push('$');
    out
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The admin API's filter pairs for the tool's arguments.
pub fn filter_pairs(p: &QueryMockLogs) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(method) = &p.method {
        pairs.push(("method", method.clone()));
    }
    if let Some(pattern) = p.path_pattern.as_deref().filter(|s| !s.is_empty()) {
        if pattern.starts_with('^') {
            pairs.push(("path_regex", pattern.to_owned()));
        } else if pattern.contains('*') {
            pairs.push(("path_regex", glob_to_regex(pattern)));
        } else {
            pairs.push(("path", pattern.to_owned()));
        }
    }
    for (key, value) in [
        ("status", &p.status),
        ("time_from", &p.time_from),
        ("time_to", &p.time_to),
    ] {
        if let Some(value) = value {
            pairs.push((key, value.clone()));
        }
    }
    pairs
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let mut url = url::Url::parse("http://x/").expect("static URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

pub async fn query(shared: &Shared, p: QueryMockLogs) -> Result<Value, ToolError> {
    let mock = target::resolve(shared, &p.server_url, "server_url").await?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ToolError::new(format!(
            "invalid limit {limit}: must be 1 to {MAX_LIMIT}"
        )));
    }
    let filters = filter_pairs(&p);
    let mut page_pairs = filters.clone();
    page_pairs.push(("limit", limit.to_string()));
    page_pairs.push(("offset", p.offset.unwrap_or(0).to_string()));
    let page_url = format!("{}/api/requests?{}", mock.admin, query_string(&page_pairs));
    let page = admin::expect_ok("GET", page_url, None).await?;
    let mut result = json!({
        "server": { "id": mock.id, "admin_url": mock.admin, "api_url": mock.api },
        "total": page["total"],
        "limit": page["limit"],
        "offset": page["offset"],
        "returned": page["items"].as_array().map_or(0, Vec::len),
        "items": page["items"],
        "filters": filters.iter().map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>(),
    });
    if p.include_admin == Some(true) {
        result["note"] = json!("include_admin has no effect: admin API calls are never logged");
    }
    if p.analyze.unwrap_or(true) {
        let url = format!("{}/api/logs/analyze?{}", mock.admin, query_string(&filters));
        result["analysis"] = admin::expect_ok("GET", url, None).await?;
    }
    Ok(result)
}

pub async fn metrics(shared: &Shared, p: GetPerformanceMetrics) -> Result<Value, ToolError> {
    let mock = target::resolve(shared, &p.server_url, "server_url").await?;
    let window = p.window.as_deref().unwrap_or("1m");
    if !["10s", "1m", "5m", "since_start"].contains(&window) {
        return Err(ToolError::new(format!(
            "invalid window '{window}': use 10s, 1m, 5m or since_start"
        )));
    }
    let all = admin::expect_ok("GET", format!("{}/api/metrics", mock.admin), None).await?;
    let http = &all["http"];
    let mut result = json!({
        "server": { "id": mock.id, "admin_url": mock.admin, "api_url": mock.api },
        "window": window,
        "overall": http["overall"][window],
        "in_flight": http["in_flight"],
        "connections": http["connections"],
    });
    if p.include_routes.unwrap_or(true) {
        let routes: Value = match &http["routes"] {
            Value::Array(routes) => routes
                .iter()
                .map(|r| {
                    json!({
                        "route": r["route"], "method": r["method"],
                        "operation_id": r["operation_id"], "in_flight": r["in_flight"],
                        "figures": r["windows"][window]
                    })
                })
                .collect(),
            other => other.clone(),
        };
        result["routes"] = routes;
    }
    for key in ["uptime_seconds", "log_store", "concurrency_limit", "system"] {
        if !all[key].is_null() {
            result[key] = all[key].clone();
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_expressions() {
        assert_eq!(glob_to_regex("/books/*"), "^/books/[^/]*$");
        assert_eq!(glob_to_regex("/a/**.json"), "^/a/.*\\.json$");
    }

    #[test]
    fn a_path_pattern_is_a_substring_a_glob_or_an_expression() {
        let mut p: QueryMockLogs = serde_json::from_value(serde_json::json!({
            "server_url": "http://127.0.0.1:1", "path_pattern": "/books"
        }))
        .unwrap();
        assert_eq!(filter_pairs(&p), vec![("path", "/books".to_owned())]);
        p.path_pattern = Some("^/books/[0-9]+$".to_owned());
        assert_eq!(filter_pairs(&p)[0].0, "path_regex");
        p.path_pattern = Some("/books/*".to_owned());
        assert_eq!(
            filter_pairs(&p)[0],
            ("path_regex", "^/books/[^/]*$".to_owned())
        );
    }
}
