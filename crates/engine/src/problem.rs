//! Errors from the mock itself, as `application/problem+json` (RFC 9457).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::MockResponse;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem response with `title` from the status and the given detail and extra members.
pub fn problem(status: StatusCode, detail: &str, extra: Option<(&str, Value)>) -> MockResponse {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some((key, value)), Some(map)) = (extra, body.as_object_mut()) {
        map.insert(key.to_owned(), value);
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    MockResponse {
        status,
        headers,
        body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        route: None,
    }
}
