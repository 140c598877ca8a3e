//! `discover_mock_servers`: the mocks this server started, mocks answering on loopback
//! ports (an admin API is told by its `/health`, which names its API port), and the
//! projects generated under the output root.

use serde_json::{Value, json};

use crate::admin::{self, PROBE_TIMEOUT};
use crate::params::DiscoverMockServers;
use crate::{Shared, ToolError, target};

/// Ports probed when none are given: mockloop's defaults and common development ports.
pub const DEFAULT_PORTS: [u16; 15] = [
    8000, 8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008, 8009, 8010, 8080, 8081, 3000, 5000,
];
/// Most ports one call may probe.
const MAX_PORTS: usize = 200;

/// Probes `127.0.0.1:port/health` for every port at once and remembers the admin APIs
/// found; returns them with their health.
pub async fn probe_ports(shared: &Shared, ports: &[u16]) -> Vec<(String, Value)> {
    let probes = ports.iter().map(|port| {
        let base = format!("http://127.0.0.1:{port}");
        async move { admin::health(&base, PROBE_TIMEOUT).await.map(|h| (base, h)) }
    });
    let found: Vec<(String, Value)> = join_all(probes).await.into_iter().flatten().collect();
    for (base, health) in &found {
        target::remember(shared, base, health);
    }
    found
}

/// Runs futures concurrently as tasks (few and short: one per port).
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(value) = handle.await {
            out.push(value);
        }
    }
    out
}

pub async fn discover(shared: &Shared, p: DiscoverMockServers) -> Result<Value, ToolError> {
    let ports: Vec<u16> = p.ports.unwrap_or_else(|| DEFAULT_PORTS.to_vec());
    if ports.len() > MAX_PORTS {
        return Err(ToolError::new(format!(
            "too many ports ({}): probe at most {MAX_PORTS} at once",
            ports.len()
        )));
    }
    probe_ports(shared, &ports).await;
    let check = p.check_health.unwrap_or(true);
    let mut servers = Vec::new();
    for known in shared.registry.all() {
        let mut entry = serde_json::to_value(&known).unwrap_or_default();
        if check {
            match admin::health(&known.admin_url, PROBE_TIMEOUT).await {
                Some(health) => {
                    entry["healthy"] = json!(true);
                    entry["health"] = health;
                }
                None => entry["healthy"] = json!(false),
            }
        }
        entry["resources"] = json!({
            "spec": format!("mockloop://servers/{}/spec", known.id),
            "scenario_packs": format!("mockloop://servers/{}/scenario-packs/{{category}}/{{name}}",
                known.id),
        });
        servers.push(entry);
    }
    let mut result = json!({
        "servers": servers,
        "probed_ports": ports,
    });
    if p.include_generated.unwrap_or(true) {
        result["generated_projects"] = json!(generated_projects(&shared.settings.output_root));
    }
    Ok(result)
}

/// Directories right under the output root that hold a `mockloop.toml`, with its ports.
pub fn generated_projects(root: &std::path::Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut projects: Vec<Value> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let config = entry.path().join("mockloop.toml");
            let text = std::fs::read_to_string(&config).ok()?;
            let table: toml::Table = toml::from_str(&text).ok()?;
            Some(json!({
                "name": entry.file_name().to_string_lossy(),
                "path": entry.path(),
                "spec": table.get("spec").and_then(|v| v.as_str()),
                "port": table.get("port").and_then(|v| v.as_integer()),
                "admin_port": table.get("admin_port").and_then(|v| v.as_integer()),
            }))
        })
        .collect();
    projects.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    projects
}
