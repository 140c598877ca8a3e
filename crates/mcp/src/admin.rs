//! Calls to a running mock's admin API over HTTP (loopback unless allowed), run off the
//! async threads, with redirects refused so a call cannot be sent elsewhere.

use std::time::Duration;

use serde_json::Value;

use crate::ToolError;

/// Timeout of ordinary admin calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of a health probe during discovery: a closed port answers at once, a busy mock
/// within this.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// What a call brought back.
#[derive(Debug)]
pub enum Reply {
    /// A 2xx answer: its JSON (`Null` when empty).
    Ok(Value),
    /// A 4xx or 5xx answer: status and the problem's detail (or the text).
    Refused { status: u16, detail: String },
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// Sends `method url` with an optional JSON body. Transport failures and answers that are
/// not JSON are errors; HTTP error statuses come back as [`Reply::Refused`].
pub async fn call(
    method: &str,
    url: String,
    body: Option<Value>,
    timeout: Option<Duration>,
) -> Result<Reply, ToolError> {
    let method = method.to_owned();
    let timeout = timeout.unwrap_or(CALL_TIMEOUT);
    tokio::task::spawn_blocking(move || blocking_call(&method, &url, body.as_ref(), timeout))
        .await
        .map_err(|e| ToolError::new(format!("admin call task failed: {e}")))?
}

fn blocking_call(
    method: &str,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Reply, ToolError> {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.map(Value::to_string).unwrap_or_default())
        .map_err(|e| ToolError::new(format!("invalid URL '{url}': {e}")))?;
    let mut response = agent(timeout)
        .run(request)
        .map_err(|e| ToolError::new(format!("cannot reach '{url}': {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| ToolError::new(format!("cannot read the answer of '{url}': {e}")))?;
    let value: Option<Value> = if text.trim().is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_str(&text).ok()
    };
    if status >= 400 {
        let detail = value
            .as_ref()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(500).collect());
        return Ok(Reply::Refused { status, detail });
    }
    if (300..400).contains(&status) {
        return Err(ToolError::new(format!(
            "'{url}' answered with a redirect ({status}); redirects are not followed"
        )));
    }
    match value {
        Some(value) => Ok(Reply::Ok(value)),
        None => Err(ToolError::new(format!(
            "the answer of '{url}' is not JSON: is this a mockloop admin API?"
        ))),
    }
}

/// Like [`call`], but an HTTP error status is a tool error naming the call.
pub async fn expect_ok(method: &str, url: String, body: Option<Value>) -> Result<Value, ToolError> {
    match call(method, url.clone(), body, None).await? {
        Reply::Ok(value) => Ok(value),
        Reply::Refused { status, detail } => Err(ToolError::new(format!(
            "{method} {url} was refused (HTTP {status}): {detail}"
        ))),
    }
}

/// The admin API's `/health` if `base` is a mockloop admin API, else `None`.
pub async fn health(base: &str, timeout: Duration) -> Option<Value> {
    match call("GET", format!("{base}/health"), None, Some(timeout)).await {
        Ok(Reply::Ok(value)) if is_admin_health(&value) => Some(value),
        _ => None,
    }
}

/// Whether a `/health` answer is a mockloop admin API's (and not a mocked `/health` route).
pub fn is_admin_health(value: &Value) -> bool {
    value["status"] == "ok"
        && value["uptime_seconds"].is_number()
        && value["spec"]["operations"].is_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn admin_health_is_told_from_a_mocked_health_route() {
        let admin = json!({"status": "ok", "version": "0.1.0", "uptime_seconds": 1.5,
            "spec": {"title": "Bookshop", "source": "x", "operations": 11}});
        assert!(is_admin_health(&admin));
        assert!(!is_admin_health(&json!({"status": "ok"})));
    }
}
