//! Resources: the specs of the mocks this server knows (`mockloop://servers/{id}/spec`) and
//! the scenario packs, generic (`mockloop://scenario-packs/{category}/{name}`) or generated
//! for a known mock's endpoints (`mockloop://servers/{id}/scenario-packs/...`).

use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde_json::{Value, json};

use crate::packs::{self, PACKS};
use crate::{Shared, ToolError, admin};

const PACKS_INDEX: &str = "mockloop://scenario-packs";

pub fn list(shared: &Shared) -> Vec<Resource> {
    let mut out = vec![
        Resource::new(PACKS_INDEX, "scenario-packs")
            .with_description("Index of the ready scenario packs and how to use them")
            .with_mime_type("application/json"),
    ];
    for pack in PACKS {
        out.push(
            Resource::new(format!("{PACKS_INDEX}/{}", pack.key()), pack.key())
                .with_description(format!(
                    "{} (any endpoint, as the glob /**)",
                    pack.description
                ))
                .with_mime_type("application/json"),
        );
    }
    for server in shared.registry.all() {
        out.push(
            Resource::new(
                format!("mockloop://servers/{}/spec", server.id),
                format!("{} spec", server.id),
            )
            .with_description(format!(
                "The operations served by the mock at {} (and its spec file when started here)",
                server.admin_url
            ))
            .with_mime_type("application/json"),
        );
    }
    out
}

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("mockloop://servers/{id}/spec", "mock spec")
            .with_description(
                "The spec a known mock serves (ids from discover_mock_servers or \
                 generate_mock_api)",
            )
            .with_mime_type("application/json"),
        ResourceTemplate::new(
            "mockloop://servers/{id}/scenario-packs/{category}/{name}",
            "scenario pack for a mock",
        )
        .with_description(
            "A ready scenario pack generated for a known mock's endpoints, in MockLoop's \
             scenario shape: pass it to deploy_scenario as scenario_config. Packs: see \
             mockloop://scenario-packs",
        )
        .with_mime_type("application/json"),
    ]
}

fn json_contents(uri: &str, value: &Value) -> ResourceContents {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    ResourceContents::text(text, uri).with_mime_type("application/json")
}

fn pack_or_error(key: &str) -> Result<&'static packs::Pack, ToolError> {
    packs::find(key).ok_or_else(|| ToolError::new(format!("no scenario pack '{key}'")))
}

pub async fn read(shared: &Shared, uri: &str) -> Result<ReadResourceResult, ToolError> {
    if uri == PACKS_INDEX {
        let index: Vec<Value> = PACKS
            .iter()
            .map(|p| {
                json!({ "pack": p.key(), "scenario_type": p.scenario_type,
                        "description": p.description,
                        "uri": format!("{PACKS_INDEX}/{}", p.key()) })
            })
            .collect();
        let body = json!({
            "packs": index,
            "usage": "deploy_scenario with pack=<pack> generates the pack for that mock's \
                      endpoints; or read mockloop://servers/{id}/scenario-packs/<pack> and pass \
                      it (edited as needed) as scenario_config",
        });
        return Ok(ReadResourceResult::new(vec![json_contents(uri, &body)]));
    }
    if let Some(key) = uri.strip_prefix("mockloop://scenario-packs/") {
        let pack = pack_or_error(key)?;
        let scenario = pack.scenario(&packs::any_endpoint());
        return Ok(ReadResourceResult::new(vec![json_contents(uri, &scenario)]));
    }
    let Some(rest) = uri.strip_prefix("mockloop://servers/") else {
        return Err(ToolError::new(format!("no resource '{uri}'")));
    };
    let (id, what) = rest
        .split_once('/')
        .ok_or_else(|| ToolError::new(format!("no resource '{uri}'")))?;
    let server = shared.registry.get(id).ok_or_else(|| {
        ToolError::new(format!(
            "no known mock '{id}': run discover_mock_servers or generate_mock_api first"
        ))
    })?;
    let served = admin::expect_ok("GET", format!("{}/api/spec", server.admin_url), None).await?;
    if what == "spec" {
        let mut contents = vec![json_contents(uri, &served)];
        if let Some(text) = server
            .spec_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
        {
            let mime = if text.trim_start().starts_with('{') {
                "application/json"
            } else {
                "application/yaml"
            };
            contents.push(ResourceContents::text(text, uri).with_mime_type(mime));
        }
        return Ok(ReadResourceResult::new(contents));
    }
    if let Some(key) = what.strip_prefix("scenario-packs/") {
        let pack = pack_or_error(key)?;
        let scenario = pack.scenario(&packs::endpoints_of(&served));
        return Ok(ReadResourceResult::new(vec![json_contents(uri, &scenario)]));
    }
    Err(ToolError::new(format!("no resource '{uri}'")))
}
