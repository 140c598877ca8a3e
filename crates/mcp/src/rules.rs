//! Changing a running mock through its admin API: `manage_mock_data` (overrides, scenarios,
//! faults, stateful data, auth emulation, the response cache, webhooks) and the scenario
//! tools (`validate_scenario_config`, `deploy_scenario`, `switch_scenario`,
//! `list_active_scenarios`).

use engine::runtime::Scenario;
use serde_json::{Map, Value, json};

use crate::admin::{self, Reply};
use crate::params::{
    DataOperation, DeployScenario, ListActiveScenarios, ManageMockData, SwitchScenario,
    ValidateScenarioConfig,
};
use crate::target::{self, Mock};
use crate::{Shared, ToolError, discover, packs, specs};

fn require<'a, T>(value: &'a Option<T>, name: &str, op: &str) -> Result<&'a T, ToolError> {
    value
        .as_ref()
        .ok_or_else(|| ToolError::new(format!("operation '{op}' needs {name}")))
}

/// A path segment for a scenario name or id.
fn segment(key: &str) -> String {
    url::form_urlencoded::byte_serialize(key.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn server_json(mock: &Mock) -> Value {
    json!({ "id": mock.id, "admin_url": mock.admin, "api_url": mock.api })
}

pub async fn manage(shared: &Shared, p: ManageMockData) -> Result<Value, ToolError> {
    let mock = target::resolve(shared, &p.server_url, "server_url").await?;
    let base = &mock.admin;
    let op_name = serde_json::to_value(p.operation)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let op = op_name.as_str();
    let result = match p.operation {
        DataOperation::UpdateResponse => {
            let path = require(&p.endpoint_path, "endpoint_path", op)?;
            let mut rule = json!({ "path": path });
            let fields = [
                ("method", p.method.clone().map(Value::String)),
                ("status", p.status_code.map(Value::from)),
                ("body", p.response_data.clone()),
                ("headers", p.headers.clone()),
                ("delay", p.delay.clone()),
                ("fault", p.fault.clone()),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    rule[key] = value;
                }
            }
            let added = admin::expect_ok("POST", format!("{base}/api/overrides"), Some(rule))
                .await
                .map_err(|e| e.context("the override was refused"))?;
            json!({ "override": added,
                    "note": "overrides win over the active scenario and are kept in memory; \
                             remove it with operation remove_override" })
        }
        DataOperation::ListOverrides => {
            json!({ "overrides":
                admin::expect_ok("GET", format!("{base}/api/overrides"), None).await? })
        }
        DataOperation::RemoveOverride => {
            let id = require(&p.override_id, "override_id", op)?;
            admin::expect_ok("DELETE", format!("{base}/api/overrides/{id}"), None).await?;
            json!({ "removed_override": id })
        }
        DataOperation::ClearOverrides => {
            admin::expect_ok("DELETE", format!("{base}/api/overrides"), None).await?
        }
        DataOperation::CreateScenario => {
            let mut config = require(&p.scenario_config, "scenario_config", op)?.clone();
            if let (Some(name), Some(map)) = (&p.scenario_name, config.as_object_mut()) {
                map.entry("scenario_name")
                    .or_insert_with(|| Value::String(name.clone()));
            }
            let stored = store_scenario(base, config, false).await?;
            json!({ "scenario": stored })
        }
        DataOperation::SwitchScenario => {
            let name = require(&p.scenario_name, "scenario_name", op)?;
            switch_to(base, name, true).await?
        }
        DataOperation::ListScenarios => {
            json!({ "scenarios":
                admin::expect_ok("GET", format!("{base}/api/scenarios"), None).await? })
        }
        DataOperation::GetActiveScenario => {
            json!({ "active":
                admin::expect_ok("GET", format!("{base}/api/scenarios/active"), None).await? })
        }
        DataOperation::DeactivateScenario => {
            admin::expect_ok("POST", format!("{base}/api/scenarios/deactivate"), None).await?
        }
        DataOperation::DeleteScenario => {
            let name = require(&p.scenario_name, "scenario_name", op)?;
            let url = format!("{base}/api/scenarios/{}", segment(name));
            admin::expect_ok("DELETE", url, None).await?;
            json!({ "deleted_scenario": name })
        }
        DataOperation::SetFaults => {
            let mut faults = Map::new();
            if let Some(delay) = &p.delay {
                faults.insert("delay".to_owned(), delay.clone());
            }
            if let Some(fault) = &p.fault {
                faults.insert("fault".to_owned(), fault.clone());
            }
            if faults.is_empty() {
                return Err(ToolError::new(
                    "operation 'set_faults' needs delay or fault",
                ));
            }
            let url = format!("{base}/api/faults");
            json!({ "faults": admin::expect_ok("PUT", url, Some(Value::Object(faults))).await? })
        }
        DataOperation::GetFaults => {
            json!({ "faults": admin::expect_ok("GET", format!("{base}/api/faults"), None).await? })
        }
        DataOperation::ClearFaults => {
            admin::expect_ok("DELETE", format!("{base}/api/faults"), None).await?;
            json!({ "faults": null })
        }
        _ => runtime(base, &p, op).await?,
    };
    Ok(json!({ "server": server_json(&mock), "operation": op, "result": result }))
}

/// The item path of `collection`/`key`, each segment of the key encoded on its own.
fn item_url(base: &str, collection: &str, key: &str) -> Result<String, ToolError> {
    let key = key.trim_matches('/');
    if key.is_empty()
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(ToolError::new(format!(
            "invalid item_key '{key}': expected an id ('7'), or parent values then the id \
             ('2/7')"
        )));
    }
    let encoded: Vec<String> = key.split('/').map(segment).collect();
    Ok(format!(
        "{base}/api/state/{}/{}",
        segment(collection),
        encoded.join("/")
    ))
}

/// A collection name, checked so it cannot name another admin route.
fn collection<'a>(p: &'a ManageMockData, op: &str) -> Result<&'a str, ToolError> {
    let name = require(&p.collection, "collection", op)?.trim();
    if name.is_empty() || name.contains('/') || name == "seed" || name.starts_with('.') {
        return Err(ToolError::new(format!(
            "invalid collection '{name}': give a name as list_collections shows it ('books', \
             'shelves.books')"
        )));
    }
    Ok(name)
}

/// Explains a refusal by the feature being off on the mock.
fn off_hint(err: ToolError, what: &str, flag: &str) -> ToolError {
    if err.0.contains("HTTP 409") {
        ToolError::new(format!(
            "{}; {what} needs the mock started with {flag}",
            err.0
        ))
    } else {
        err
    }
}

/// The operations on stateful resources, auth emulation, the response cache and webhooks.
async fn runtime(base: &str, p: &ManageMockData, op: &str) -> Result<Value, ToolError> {
    let state_off = |e| off_hint(e, "stateful data", "--stateful");
    let cache_off = |e| off_hint(e, "the response cache", "--cache memory (or redis)");
    let value = match p.operation {
        DataOperation::ListCollections => {
            let url = format!("{base}/api/state");
            json!({ "state": admin::expect_ok("GET", url, None).await.map_err(state_off)? })
        }
        DataOperation::ListItems => {
            let url = format!("{base}/api/state/{}", segment(collection(p, op)?));
            json!({ "items": admin::expect_ok("GET", url, None).await.map_err(state_off)? })
        }
        DataOperation::GetItem => {
            let key = require(&p.item_key, "item_key", op)?;
            let url = item_url(base, collection(p, op)?, key)?;
            json!({ "item": admin::expect_ok("GET", url, None).await.map_err(state_off)? })
        }
        DataOperation::PutItem => {
            let key = require(&p.item_key, "item_key", op)?;
            let item = require(&p.item, "item", op)?;
            if !item.is_object() {
                return Err(ToolError::new(
                    "invalid item: expected a JSON object such as {\"name\": \"Poetry\"}",
                ));
            }
            let url = item_url(base, collection(p, op)?, key)?;
            let stored = admin::expect_ok("PUT", url, Some(item.clone()))
                .await
                .map_err(state_off)?;
            json!({ "stored": stored })
        }
        DataOperation::DeleteItem => {
            let key = require(&p.item_key, "item_key", op)?;
            let name = collection(p, op)?;
            let url = item_url(base, name, key)?;
            admin::expect_ok("DELETE", url, None)
                .await
                .map_err(state_off)?;
            json!({ "deleted": { "collection": name, "item_key": key } })
        }
        DataOperation::ResetState => {
            let (url, scope) = match &p.collection {
                Some(_) => {
                    let name = collection(p, op)?;
                    (format!("{base}/api/state/{}", segment(name)), json!(name))
                }
                None => (format!("{base}/api/state"), json!("every collection")),
            };
            let answer = admin::expect_ok("DELETE", url, None)
                .await
                .map_err(state_off)?;
            json!({ "reset": scope, "answer": answer })
        }
        DataOperation::SeedState => {
            let seed = require(&p.seed, "seed", op)?;
            if !seed.is_object() {
                return Err(ToolError::new(
                    "invalid seed: expected an object of collection to list of items",
                ));
            }
            let url = format!("{base}/api/state/seed");
            json!({ "seeded": admin::expect_ok("POST", url, Some(seed.clone()))
                .await
                .map_err(state_off)? })
        }
        DataOperation::GetAuth => {
            json!({ "auth": admin::expect_ok("GET", format!("{base}/api/auth"), None).await? })
        }
        DataOperation::SetAuth => {
            let mut change = match &p.auth {
                None => Map::new(),
                Some(Value::Object(map)) => map.clone(),
                Some(_) => {
                    return Err(ToolError::new(
                        "invalid auth: expected an object with api_keys, scheme_keys, \
                         bearer_tokens or basic",
                    ));
                }
            };
            if change.contains_key("enabled") {
                return Err(ToolError::new(
                    "invalid auth: 'enabled' is set by the operation (set_auth turns auth \
                     on, auth_off turns it off)",
                ));
            }
            change.insert("enabled".to_owned(), Value::Bool(true));
            let url = format!("{base}/api/auth");
            json!({ "auth": admin::expect_ok("PUT", url, Some(Value::Object(change)))
                .await
                .map_err(|e| e.context("the auth settings were refused"))? })
        }
        DataOperation::AuthOff => {
            let url = format!("{base}/api/auth");
            json!({ "auth": admin::expect_ok("PUT", url, Some(json!({ "enabled": false })))
                .await? })
        }
        DataOperation::CacheStats => {
            let url = format!("{base}/api/cache");
            json!({ "cache": admin::expect_ok("GET", url, None).await.map_err(cache_off)? })
        }
        DataOperation::ClearCache => {
            let url = format!("{base}/api/cache");
            json!({ "cleared": admin::expect_ok("DELETE", url, None)
                .await
                .map_err(cache_off)? })
        }
        DataOperation::AddWebhook => {
            let webhook = require(&p.webhook, "webhook", op)?;
            let url = format!("{base}/api/webhooks");
            json!({ "webhook": admin::expect_ok("POST", url, Some(webhook.clone()))
                .await
                .map_err(|e| e.context("the webhook was refused"))? })
        }
        DataOperation::ListWebhooks => {
            let url = format!("{base}/api/webhooks");
            json!({ "webhooks": admin::expect_ok("GET", url, None).await? })
        }
        DataOperation::DeleteWebhook => {
            let id = require(&p.webhook_id, "webhook_id", op)?;
            admin::expect_ok("DELETE", format!("{base}/api/webhooks/{id}"), None).await?;
            json!({ "deleted_webhook": id })
        }
        DataOperation::TestWebhook => {
            let id = require(&p.webhook_id, "webhook_id", op)?;
            let url = format!("{base}/api/webhooks/{id}/test");
            json!({ "delivery": admin::expect_ok("POST", url, None).await? })
        }
        DataOperation::ListDeliveries => {
            let query = {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                if let Some(kind) = &p.kind {
                    query.append_pair("kind", kind);
                }
                if let Some(limit) = p.limit {
                    query.append_pair("limit", &limit.to_string());
                }
                query.finish()
            };
            let path = match p.webhook_id {
                Some(id) => format!("{base}/api/webhooks/{id}/deliveries"),
                None => format!("{base}/api/deliveries"),
            };
            let url = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            json!({ "deliveries": admin::expect_ok("GET", url, None).await? })
        }
        _ => {
            return Err(ToolError::new(format!(
                "operation '{op}' is not a runtime control"
            )));
        }
    };
    Ok(value)
}

/// Stores a scenario; with `replace`, one of the same name is replaced instead of refused.
async fn store_scenario(base: &str, config: Value, replace: bool) -> Result<Value, ToolError> {
    let name = config["scenario_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match admin::call(
        "POST",
        format!("{base}/api/scenarios"),
        Some(config.clone()),
        None,
    )
    .await?
    {
        Reply::Ok(stored) => Ok(stored),
        Reply::Refused { status: 409, .. } if replace => {
            let url = format!("{base}/api/scenarios/{}", segment(&name));
            admin::expect_ok("PUT", url, Some(config)).await
        }
        Reply::Refused {
            status: 409,
            detail,
        } => Err(ToolError::new(format!(
            "a scenario named '{name}' is already stored ({detail}); pass force_deploy=true \
             to replace it, or choose another scenario_name"
        ))),
        Reply::Refused { status, detail } => Err(ToolError::new(format!(
            "the mock refused scenario '{name}' (HTTP {status}): {detail}"
        ))),
    }
}

async fn switch_to(base: &str, name: &str, verify: bool) -> Result<Value, ToolError> {
    let before = admin::expect_ok("GET", format!("{base}/api/scenarios/active"), None).await?;
    let url = format!("{base}/api/scenarios/{}/activate", segment(name));
    let activated = match admin::call("POST", url, None, None).await? {
        Reply::Ok(value) => value,
        Reply::Refused { status: 404, .. } => {
            let stored = admin::expect_ok("GET", format!("{base}/api/scenarios"), None).await?;
            let names: Vec<&str> = stored
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["name"].as_str())
                .collect();
            return Err(ToolError::new(format!(
                "no stored scenario named '{name}'; stored: [{}] (deploy_scenario stores one)",
                names.join(", ")
            )));
        }
        Reply::Refused { status, detail } => {
            return Err(ToolError::new(format!(
                "cannot activate scenario '{name}' (HTTP {status}): {detail}"
            )));
        }
    };
    let mut result = json!({
        "previous": before["name"],
        "active": activated["name"],
        "scenario": activated,
    });
    if verify {
        let now = admin::expect_ok("GET", format!("{base}/api/scenarios/active"), None).await?;
        let verified = now["name"] == activated["name"];
        if !verified {
            return Err(ToolError::new(format!(
                "switched to '{name}' but the mock reports '{}' as active (another client may \
                 have switched it since)",
                now["name"].as_str().unwrap_or("none")
            )));
        }
        result["verified"] = json!(true);
    }
    Ok(result)
}

pub async fn switch(shared: &Shared, p: SwitchScenario) -> Result<Value, ToolError> {
    let mock = target::resolve(shared, &p.server_url, "server_url").await?;
    let mut result = switch_to(
        &mock.admin,
        &p.scenario_name,
        p.verify_switch.unwrap_or(true),
    )
    .await?;
    result["server"] = server_json(&mock);
    Ok(result)
}

/// Problems of one scenario's endpoints against a served spec's operations (from
/// `/api/spec`): template paths the spec does not declare, methods it does not declare on
/// them. Globs, expressions and concrete paths cannot be checked this way and pass.
pub fn endpoint_problems(scenario: &Scenario, spec: &Value) -> Vec<String> {
    let ops: Vec<(String, String)> = packs::endpoints_of(spec)
        .into_iter()
        .map(|e| (e.method.unwrap_or_default(), e.path))
        .collect();
    let mut problems = Vec::new();
    for (i, endpoint) in scenario.endpoints.iter().enumerate() {
        if !endpoint.path.contains('{') {
            continue;
        }
        let same_path: Vec<&(String, String)> =
            ops.iter().filter(|(_, p)| *p == endpoint.path).collect();
        if same_path.is_empty() {
            problems.push(format!(
                "endpoints[{i}].path: route template '{}' is not declared by the spec",
                endpoint.path
            ));
            continue;
        }
        if let Some(method) = endpoint.method.as_deref().filter(|m| *m != "*") {
            let declared = same_path.iter().any(|(m, _)| {
                m.eq_ignore_ascii_case(method)
                    || (method.eq_ignore_ascii_case("HEAD") && m == "GET")
            });
            if !declared {
                problems.push(format!(
                    "endpoints[{i}].method: '{}' declares no {method} operation",
                    endpoint.path
                ));
            }
        }
    }
    problems
}

pub async fn validate(shared: &Shared, p: ValidateScenarioConfig) -> Result<Value, ToolError> {
    let scenarios = match Scenario::many_from_json(p.scenario_config.clone()) {
        Ok(scenarios) => scenarios,
        Err(err) => {
            return Ok(json!({ "valid": false, "errors": [err.to_string()],
                              "checked_against": "shape" }));
        }
    };
    let check = p.check_endpoints.unwrap_or(true);
    let mut errors = Vec::new();
    let mut checked = "shape";
    if check && let Some(source) = &p.spec_url_or_path {
        let api = specs::load(shared, source).await?;
        let engine = engine::Engine::new(std::sync::Arc::new(api), Default::default());
        for scenario in &scenarios {
            if let Err(err) = engine.compile_scenario(scenario) {
                errors.push(format!("{}: {err}", scenario.scenario_name));
            }
        }
        checked = "spec";
    } else if check && let Some(server) = &p.server_url {
        let mock = target::resolve(shared, server, "server_url").await?;
        let spec = admin::expect_ok("GET", format!("{}/api/spec", mock.admin), None).await?;
        for scenario in &scenarios {
            for problem in endpoint_problems(scenario, &spec) {
                errors.push(format!("{}: {problem}", scenario.scenario_name));
            }
        }
        checked = "server";
    }
    let note = (p.strict_validation == Some(false))
        .then_some("strict_validation=false has no effect: unknown fields are always refused");
    Ok(json!({
        "valid": errors.is_empty(),
        "errors": errors,
        "note": note,
        "checked_against": checked,
        "scenarios": scenarios.iter().map(|s| json!({
            "scenario_name": s.scenario_name,
            "scenario_type": s.scenario_type,
            "endpoints": s.endpoints.len(),
        })).collect::<Vec<_>>(),
    }))
}

pub async fn deploy(shared: &Shared, p: DeployScenario) -> Result<Value, ToolError> {
    let mock = target::resolve(shared, &p.server_url, "server_url").await?;
    let base = &mock.admin;
    let config = match (&p.scenario_config, &p.pack) {
        (Some(config), None) => config.clone(),
        (None, Some(key)) => {
            let pack = packs::find(key).ok_or_else(|| {
                ToolError::new(format!(
                    "no scenario pack '{key}'; packs: {}",
                    packs::PACKS
                        .iter()
                        .map(packs::Pack::key)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let spec = admin::expect_ok("GET", format!("{base}/api/spec"), None).await?;
            pack.scenario(&packs::endpoints_of(&spec))
        }
        _ => {
            return Err(ToolError::new(
                "give exactly one of scenario_config and pack",
            ));
        }
    };
    let scenario = Scenario::from_json(config.clone())
        .map_err(|e| ToolError::new(format!("invalid scenario_config: {e}")))?;
    if p.validate_before_deploy.unwrap_or(true) {
        let spec = admin::expect_ok("GET", format!("{base}/api/spec"), None).await?;
        let problems = endpoint_problems(&scenario, &spec);
        if !problems.is_empty() {
            return Err(ToolError::new(format!(
                "scenario '{}' does not fit the served spec: {}",
                scenario.scenario_name,
                problems.join("; ")
            )));
        }
    }
    let stored = store_scenario(base, config, p.force_deploy.unwrap_or(false)).await?;
    let mut result = json!({ "server": server_json(&mock), "stored": stored });
    if p.activate.unwrap_or(true) {
        result["switch"] = switch_to(base, &scenario.scenario_name, true).await?;
    }
    Ok(result)
}

pub async fn list_active(shared: &Shared, p: ListActiveScenarios) -> Result<Value, ToolError> {
    if p.discover_servers.unwrap_or(false) {
        discover::probe_ports(shared, &discover::DEFAULT_PORTS).await;
    }
    let mocks: Vec<Mock> = match &p.server_urls {
        Some(urls) => {
            let mut mocks = Vec::new();
            for url in urls {
                mocks.push(target::resolve(shared, url, "server_urls[]").await?);
            }
            mocks
        }
        None => shared
            .registry
            .all()
            .into_iter()
            .map(|k| Mock {
                id: k.id,
                admin: k.admin_url,
                api: k.api_url,
            })
            .collect(),
    };
    let mut servers = Vec::new();
    for mock in mocks {
        let url = format!("{}/api/scenarios/active", mock.admin);
        let entry = match admin::expect_ok("GET", url, None).await {
            Ok(active) => json!({ "server": server_json(&mock),
                                  "active_scenario": active["name"], "scenario": active }),
            Err(err) => json!({ "server": server_json(&mock), "error": err.0 }),
        };
        servers.push(entry);
    }
    let note = servers.is_empty().then_some(
        "no mock is known yet: pass server_urls, set discover_servers=true, or start one with \
         generate_mock_api",
    );
    Ok(json!({ "servers": servers, "note": note }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_are_encoded_per_segment_and_empty_segments_refused() {
        let base = "http://127.0.0.1:9";
        assert_eq!(
            item_url(base, "shelves.books", "2/a b").unwrap(),
            "http://127.0.0.1:9/api/state/shelves.books/2/a%20b"
        );
        assert!(item_url(base, "books", "../x").is_err());
        assert!(item_url(base, "books", "./7").is_err());
        assert!(item_url(base, "books", "").is_err());
        assert!(item_url(base, "books", "2//7").is_err());
    }

    #[test]
    fn scenario_endpoints_are_checked_against_served_operations() {
        let spec = json!({ "operations": [
            { "method": "GET", "path": "/books/{id}", "served": true },
            { "method": "GET", "path": "/books", "served": true },
        ]});
        let scenario = Scenario::from_json(json!({
            "scenario_name": "s",
            "endpoints": [
                { "path": "/books/{id}", "method": "GET" },
                { "path": "/books/{id}", "method": "DELETE" },
                { "path": "/authors/{id}" },
                { "path": "/anything/*" },
            ]
        }))
        .unwrap();
        let problems = endpoint_problems(&scenario, &spec);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("endpoints[1].method"));
        assert!(problems[1].starts_with("endpoints[2].path"));
    }
}
