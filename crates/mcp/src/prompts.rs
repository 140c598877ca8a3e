//! Prompt templates: analysing a spec for testing, and writing scenario configurations in
//! the shape `deploy_scenario` accepts. Their text is built from the real spec's operations.

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;
use serde_json::Value;

use crate::{Shared, ToolError, admin, packs, specs, target};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AnalyzeArgs {
    /// The API description to analyse: a spec file path (under an allowed directory), an
    /// http(s) URL, the id of a known mock (m1) or a running mock's admin URL.
    pub openapi_spec: String,
    /// What to concentrate on: comprehensive (default), errors, performance or security.
    #[serde(default)]
    pub testing_focus: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ScenarioArgs {
    /// error_simulation, load_testing, security_testing or functional_testing.
    pub scenario_type: String,
    /// The endpoints to cover, as 'METHOD /path' separated by commas or new lines (route
    /// templates such as /books/{id} as the spec writes them).
    #[serde(default)]
    pub endpoints: Option<String>,
    /// Name for the scenario. Default: derived from the type.
    #[serde(default)]
    pub scenario_name: Option<String>,
    /// What the scenario must simulate, in plain words.
    #[serde(default)]
    pub requirements: Option<String>,
}

/// One line per operation: method, path, id, summary and declared statuses.
fn operations_from_api(api: &spec::Api) -> Vec<String> {
    api.operations
        .iter()
        .map(|op| {
            let statuses: Vec<String> = op.responses.iter().map(|r| r.status.to_string()).collect();
            format!(
                "- {} {}{}{} (responses: {})",
                op.method.as_str(),
                op.path,
                op.operation_id
                    .as_deref()
                    .map(|id| format!(" [{id}]"))
                    .unwrap_or_default(),
                op.summary
                    .as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default(),
                statuses.join(", ")
            )
        })
        .collect()
}

fn operations_from_served(spec: &Value) -> Vec<String> {
    spec["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|op| {
            let statuses: Vec<&str> = op["responses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "- {} {}{}{} (responses: {})",
                op["method"].as_str().unwrap_or("?"),
                op["path"].as_str().unwrap_or("?"),
                op["operation_id"]
                    .as_str()
                    .map(|id| format!(" [{id}]"))
                    .unwrap_or_default(),
                op["summary"]
                    .as_str()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default(),
                statuses.join(", ")
            )
        })
        .collect()
}

/// Title and operation lines of a spec named by path, URL, mock id or admin URL.
async fn describe(shared: &Shared, name: &str) -> Result<(String, Vec<String>), ToolError> {
    if let Some(known) = shared.registry.get(name) {
        let spec = admin::expect_ok("GET", format!("{}/api/spec", known.admin_url), None).await?;
        let title = spec["title"].as_str().unwrap_or_default().to_owned();
        return Ok((title, operations_from_served(&spec)));
    }
    // A running mock's URL; anything else that fails to resolve is loaded as a spec.
    if specs::is_url(name)
        && let Ok(mock) = target::resolve(shared, name, "openapi_spec").await
    {
        let spec = admin::expect_ok("GET", format!("{}/api/spec", mock.admin), None).await?;
        let title = spec["title"].as_str().unwrap_or_default().to_owned();
        return Ok((title, operations_from_served(&spec)));
    }
    let api = specs::load(shared, name).await?;
    Ok((api.title.clone(), operations_from_api(&api)))
}

pub async fn analyze(shared: &Shared, args: AnalyzeArgs) -> Result<String, ToolError> {
    let (title, ops) = describe(shared, &args.openapi_spec).await?;
    let focus = args.testing_focus.as_deref().unwrap_or("comprehensive");
    let pack_list: Vec<String> = packs::PACKS
        .iter()
        .map(|p| format!("- {}: {}", p.key(), p.description))
        .collect();
    Ok(format!(
        "Analyse the API '{title}' for testing with mockloop (focus: {focus}).\n\n\
         Its operations ({count}):\n{ops}\n\n\
         Please:\n\
         1. Group the operations by resource and name the critical ones (writes, money, \
         authentication, anything other operations depend on).\n\
         2. For each critical operation list the failure modes a client must survive: the \
         declared error statuses above, plus timeouts, rate limits (429), outages (503) and \
         malformed bodies.\n\
         3. Propose scenarios in mockloop's scenario shape (see the generate_scenario_config \
         prompt), each with its purpose, and which ready packs apply:\n{packs}\n\
         4. Propose a load test: which endpoints (run_load_test endpoints as 'METHOD /path'), \
         how many users and for how long, and what latency and error rate would be \
         acceptable.\n\
         5. Give the tool calls to run it: deploy_scenario (scenario_config or pack), \
         switch_scenario, run_load_test, query_mock_logs with analyze=true, and \
         compare_test_runs for before/after runs.\n",
        count = ops.len(),
        ops = ops.join("\n"),
        packs = pack_list.join("\n"),
    ))
}

pub fn scenario(args: ScenarioArgs) -> String {
    let endpoints: Vec<String> = args
        .endpoints
        .as_deref()
        .unwrap_or_default()
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let name = args
        .scenario_name
        .clone()
        .unwrap_or_else(|| args.scenario_type.replace('_', "-"));
    let endpoints_text = if endpoints.is_empty() {
        "every endpoint (use the path glob \"/**\" with no method)".to_owned()
    } else {
        endpoints.join(", ")
    };
    let requirements = args
        .requirements
        .as_deref()
        .map(|r| format!("\nRequirements: {r}\n"))
        .unwrap_or_default();
    format!(
        "Write a mockloop scenario named '{name}' of type {kind} covering {endpoints_text}.\
         {requirements}\n\
         Answer with one JSON object in exactly this shape (unknown fields are refused):\n\
         {{\n  \"scenario_name\": \"{name}\",\n  \"description\": \"what it simulates\",\n  \
         \"scenario_type\": \"{kind}\",\n  \"endpoints\": [\n    {{\n      \"path\": \
         \"/books/{{id}}\",\n      \"method\": \"GET\",\n      \"response_config\": {{\n        \
         \"status_code\": 503,\n        \"response_time_ms\": 200,\n        \"response_data\": \
         {{\"error\": \"maintenance\"}},\n        \"headers\": {{\"Retry-After\": \"30\"}}\n      \
         }}\n    }}\n  ],\n  \"test_parameters\": {{\"concurrent_users\": 10, \"duration\": \
         60}}\n}}\n\n\
         Rules:\n\
         - path: a route template exactly as the spec declares it (/books/{{id}}), a concrete \
         path (/books/7), a glob (/books/* within a segment, /** across segments) or a regular \
         expression starting with ^. A template must exist in the spec, and method must be one \
         the spec declares for it; omit method (or use \"*\") for any method.\n\
         - response_config fields are all optional: status_code; response_data (a JSON string \
         is sent as text, anything else as JSON); headers (name to string value); either \
         response_time_ms (a fixed delay) or delay ({{\"kind\": \"uniform\", \"min_ms\": 100, \
         \"max_ms\": 300}} or {{\"kind\": \"lognormal\", \"p50_ms\": 50, \"p99_ms\": 500}}); \
         fault ({{\"kind\": \"error\", \"status\": 503, \"rate\": 0.2}}, {{\"kind\": \"reset\"}}, \
         {{\"kind\": \"empty\"}} or {{\"kind\": \"slow_body\", \"bytes_per_second\": 100}}; \
         rate 0 to 1).\n\
         - With a status_code and no response_data the spec's own response for that status is \
         sent; with neither, the spec answers and the rule only adds headers, delay or fault.\n\
         - Endpoints are tried in order; the first that matches answers.\n\n\
         Then call validate_scenario_config with the object (and server_url or \
         spec_url_or_path to check the endpoints), fix what it reports, and deploy it with \
         deploy_scenario.\n",
        kind = args.scenario_type,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_prompt_example_is_a_valid_scenario() {
        let text = scenario(ScenarioArgs {
            scenario_type: "error_simulation".to_owned(),
            endpoints: Some("GET /books/{id}, POST /orders".to_owned()),
            scenario_name: Some("outage".to_owned()),
            requirements: None,
        });
        assert!(text.contains("GET /books/{id}, POST /orders"), "{text}");
        let start = text.find("{\n").unwrap();
        let end = text.find("\n}\n").unwrap() + 2;
        let example: Value = serde_json::from_str(&text[start..end]).unwrap();
        engine::runtime::Scenario::from_json(example).unwrap();
    }
}
