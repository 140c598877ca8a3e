//! Turning a `server_url` a tool was given into a mock's admin API (and API) address: a mock
//! this server knows, an admin API itself, or a mock API whose admin API is on the next port.

use serde_json::Value;

use crate::admin::{self, PROBE_TIMEOUT};
use crate::registry::KnownServer;
use crate::{Shared, ToolError, safety};

/// A mock to talk to.
#[derive(Debug, Clone)]
pub struct Mock {
    pub id: String,
    pub admin: String,
    pub api: Option<String>,
}

/// The API URL an admin `/health` names, on the admin URL's host.
pub fn api_url_from_health(admin_url: &str, health: &Value) -> Option<String> {
    let port = health["api"]["port"].as_u64()?;
    let mut url = url::Url::parse(admin_url).ok()?;
    url.set_port(Some(port as u16)).ok()?;
    Some(url.as_str().trim_end_matches('/').to_owned())
}

fn with_port(base: &str, port: u16) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    url.set_port(Some(port)).ok()?;
    Some(url.as_str().trim_end_matches('/').to_owned())
}

fn from_known(known: KnownServer) -> Mock {
    Mock {
        id: known.id,
        admin: known.admin_url,
        api: known.api_url,
    }
}

/// Finds the admin API behind `raw` (checked to be loopback unless allowed).
pub async fn resolve(shared: &Shared, raw: &str, param: &str) -> Result<Mock, ToolError> {
    let url = safety::server_url(raw, shared.settings.allow_remote_servers, param)?;
    if let Some(known) = shared.registry.by_url(&url) {
        return Ok(from_known(known));
    }
    if let Some(health) = admin::health(&url, PROBE_TIMEOUT).await {
        return Ok(from_known(remember(shared, &url, &health)));
    }
    let port = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.port_or_known_default());
    let next = port
        .and_then(|p| p.checked_add(1))
        .and_then(|p| with_port(&url, p));
    if let Some(next) = next
        && let Some(health) = admin::health(&next, PROBE_TIMEOUT).await
    {
        let mut known = remember(shared, &next, &health);
        if known.api_url.is_none() {
            known.api_url = Some(url.clone());
        }
        return Ok(from_known(known));
    }
    Err(ToolError::new(format!(
        "no mockloop admin API answers at '{url}' or on the port after it: pass the admin URL \
         that `mockloop serve` prints as 'admin:' (default http://127.0.0.1:8001), or run \
         discover_mock_servers"
    )))
}

/// Records a mock found by its admin `/health`.
pub fn remember(shared: &Shared, admin_url: &str, health: &Value) -> KnownServer {
    shared.registry.remember(
        KnownServer {
            id: String::new(),
            api_url: api_url_from_health(admin_url, health),
            admin_url: admin_url.to_owned(),
            origin: "discovered",
            project_dir: None,
            spec_file: None,
            pid: None,
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_api_url_comes_from_the_port_health_names() {
        let health = json!({"api": {"address": "0.0.0.0:8000", "port": 8000}});
        assert_eq!(
            api_url_from_health("http://127.0.0.1:8001", &health).as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            api_url_from_health("http://127.0.0.1:8001", &json!({})),
            None
        );
    }
}
