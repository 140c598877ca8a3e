//! A small client of a running mock's admin API, for the commands that change it.

use std::time::Duration;

use serde_json::Value;

/// Why an admin call failed.
#[derive(Debug)]
pub enum CallError {
    /// The admin API could not be reached or answered with something other than JSON.
    Unreachable(String),
    /// The admin API refused the call (its problem detail).
    Refused { status: u16, detail: String },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable(text) => f.write_str(text),
            CallError::Refused { status, detail } => write!(f, "{detail} (HTTP {status})"),
        }
    }
}

pub struct Admin {
    base: String,
    agent: ureq::Agent,
}

impl Admin {
    pub fn new(base: &str) -> Admin {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Admin {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// Sends `method path` with an optional JSON body; the answer's JSON, `Value::Null` for
    /// an empty answer.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, CallError> {
        let url = format!("{}{path}", self.base);
        let body = body.map(Value::to_string).unwrap_or_default();
        // Refused here rather than by a server that closes the connection mid-upload,
        // which a client sees as a broken pipe.
        if body.len() > server::ADMIN_BODY_LIMIT {
            return Err(CallError::Refused {
                status: 413,
                detail: format!(
                    "the request body is {} bytes; the admin API takes at most {} bytes \
                     (split the seed or the file)",
                    body.len(),
                    server::ADMIN_BODY_LIMIT
                ),
            });
        }
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| {
                CallError::Unreachable(format!("invalid admin URL '{}': {e}", self.base))
            })?;
        let mut response = self.agent.run(request).map_err(|e| {
            CallError::Unreachable(format!(
                "cannot reach the admin API at '{}': {e} (is mockloop serve running? set \
                 --admin or MOCKLOOP_ADMIN)",
                self.base
            ))
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| CallError::Unreachable(format!("cannot read the answer of {url}: {e}")))?;
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                CallError::Unreachable(format!("the answer of {url} is not JSON: {e}"))
            })?
        };
        if status >= 400 {
            let detail = value["detail"]
                .as_str()
                .map_or_else(|| text.clone(), str::to_owned);
            return Err(CallError::Refused { status, detail });
        }
        Ok(value)
    }
}
