//! The Model Context Protocol server of `mockloop mcp`: tools that generate, start, inspect,
//! reshape and load-test mocks, resources (the known mocks' specs and ready scenario packs)
//! and prompts, over stdio or streamable HTTP, built on rmcp (the official SDK).
//!
//! Tools talk to running mocks through their admin API over HTTP, the same way the
//! `mockloop scenario|override|faults` commands do; nothing here reaches into a mock's
//! memory or database, so any running `mockloop serve` can be driven.

mod admin;
mod discover;
mod generate;
mod loadtest;
mod logs;
mod packs;
mod params;
mod prompts;
mod registry;
mod resources;
mod rules;
mod safety;
mod specs;
mod target;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptResult, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, PaginatedRequestParams, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler, ServiceExt, prompt, prompt_handler,
    prompt_router, tool, tool_handler, tool_router,
};
use serde_json::Value;

use params::*;
use registry::Registry;

/// How `mockloop mcp` is allowed to act.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Canonical directories spec files (and saved-run databases) may be read from.
    pub allow_dirs: Vec<PathBuf>,
    /// Canonical directory generated projects are written under.
    pub output_root: PathBuf,
    /// Largest spec document fetched or read, in bytes.
    pub max_fetch_bytes: u64,
    /// Time limit for fetching one spec URL.
    pub fetch_timeout: Duration,
    /// Let `server_url` parameters name hosts other than loopback.
    pub allow_remote_servers: bool,
    /// The `mockloop` executable started by `generate_mock_api` with start=true.
    pub executable: PathBuf,
}

impl Settings {
    /// Checks and canonicalises the directories; `executable` is the running program.
    pub fn new(
        allow_dirs: Vec<PathBuf>,
        output_root: PathBuf,
        max_fetch_bytes: u64,
        fetch_timeout: Duration,
        allow_remote_servers: bool,
    ) -> Result<Settings> {
        let allow_dirs = allow_dirs
            .iter()
            .map(|dir| {
                let canonical = std::fs::canonicalize(dir).map_err(|e| {
                    anyhow::anyhow!("invalid --allow-dir '{}': {}", dir.display(), io_reason(&e))
                })?;
                anyhow::ensure!(
                    canonical.is_dir(),
                    "invalid --allow-dir '{}': not a directory",
                    dir.display()
                );
                Ok(canonical)
            })
            .collect::<Result<Vec<_>>>()?;
        let output_root = std::fs::canonicalize(&output_root).map_err(|e| {
            anyhow::anyhow!(
                "invalid --output-root '{}': {}",
                output_root.display(),
                io_reason(&e)
            )
        })?;
        anyhow::ensure!(
            output_root.is_dir(),
            "invalid --output-root '{}': not a directory",
            output_root.display()
        );
        anyhow::ensure!(
            max_fetch_bytes > 0,
            "invalid --max-fetch-bytes '0': must be at least 1"
        );
        anyhow::ensure!(
            !fetch_timeout.is_zero(),
            "invalid --fetch-timeout: must be positive"
        );
        Ok(Settings {
            allow_dirs,
            output_root,
            max_fetch_bytes,
            fetch_timeout,
            allow_remote_servers,
            executable: std::env::current_exe().context("cannot find the mockloop executable")?,
        })
    }
}

/// A lowercase reason for an I/O failure, in the voice of the other messages.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string().to_lowercase(),
    }
}

/// A tool failure, reported to the client as a tool error with this message.
#[derive(Debug)]
pub struct ToolError(pub String);

impl ToolError {
    pub fn new(message: impl Into<String>) -> ToolError {
        ToolError(message.into())
    }

    /// The same failure, explained by what was being done.
    pub fn context(self, doing: &str) -> ToolError {
        ToolError(format!("{doing}: {}", self.0))
    }
}

/// What every session of one `mockloop mcp` process shares.
pub(crate) struct Shared {
    pub settings: Settings,
    pub registry: Registry,
}

/// The MCP service: one per session, all sharing [`Shared`].
#[derive(Clone)]
pub struct MockloopMcp {
    shared: Arc<Shared>,
    tool_router: ToolRouter<MockloopMcp>,
    prompt_router: PromptRouter<MockloopMcp>,
}

/// A tool's outcome as MCP wants it: JSON (credentials redacted) or a tool error.
fn finish(outcome: Result<Value, ToolError>) -> Result<CallToolResult, McpError> {
    match outcome {
        Ok(mut value) => {
            safety::redact_value(&mut value);
            Ok(CallToolResult::structured(value))
        }
        Err(err) => {
            let text = safety::redact_text(&err.0);
            tracing::info!(cause = %text, "tool call failed");
            Ok(CallToolResult::error(vec![ContentBlock::text(text)]))
        }
    }
}

fn prompt_failure(err: ToolError) -> McpError {
    McpError::invalid_params(err.0, None)
}

#[tool_router]
impl MockloopMcp {
    fn new(shared: Arc<Shared>) -> MockloopMcp {
        MockloopMcp {
            shared,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }

    #[tool(
        description = "Create a mock API project from an OpenAPI/Swagger spec (file under an \
        allowed directory, or URL) in <output root>/<output_dir_name>: mockloop.toml, the spec, \
        Dockerfile, docker-compose.yml and README.md. With start=true the mock is also started \
        in the background and its mock_url and admin_url are returned; pass admin_url as \
        server_url to the other tools. Ports default to free ones when started."
    )]
    async fn generate_mock_api(
        &self,
        Parameters(p): Parameters<GenerateMockApi>,
    ) -> Result<CallToolResult, McpError> {
        finish(generate::generate(&self.shared, p).await)
    }

    #[tool(
        description = "Read a running mock's request log, newest first: a page of requests \
        (method, path, status, duration, route, scenario, rule that answered), the total \
        matching the filters, and (analyze=true, default) the analysis of all matching \
        requests: status/method distributions, error rates, latency percentiles, per-route \
        figures. Use it to see what a client sent and what it got."
    )]
    async fn query_mock_logs(
        &self,
        Parameters(p): Parameters<QueryMockLogs>,
    ) -> Result<CallToolResult, McpError> {
        finish(logs::query(&self.shared, p).await)
    }

    #[tool(
        description = "Find running mockloop mocks: those this server started, and those \
        whose admin API answers on the given loopback ports (default 8000-8010, 8080, 8081, \
        3000, 5000), each with its mock API URL, admin URL, id and health; plus the projects \
        generated under the output root. Ids (m1, m2...) name the mocks in resource URIs."
    )]
    async fn discover_mock_servers(
        &self,
        Parameters(p): Parameters<DiscoverMockServers>,
    ) -> Result<CallToolResult, McpError> {
        finish(discover::discover(&self.shared, p).await)
    }

    #[tool(
        description = "Change what a running mock answers, without a restart. operation: \
        update_response (override one endpoint: endpoint_path, method, status_code, \
        response_data, headers, delay, fault), list_overrides, remove_override (override_id), \
        clear_overrides, create_scenario (scenario_config), switch_scenario (scenario_name), \
        list_scenarios, get_active_scenario, deactivate_scenario, delete_scenario \
        (scenario_name), set_faults (delay and/or fault for every request), get_faults, \
        clear_faults. Overrides win over the active scenario, which wins over the spec. \
        Stateful data (mock started with --stateful; what POST/PUT/DELETE on the API store): \
        list_collections, list_items (collection), get_item / delete_item (collection, \
        item_key), put_item (collection, item_key, item), reset_state (collection, or all \
        when absent), seed_state (seed: {collection: [items]}). Auth emulation: get_auth, \
        set_auth (auth: api_keys, scheme_keys, bearer_tokens, basic; turns it on, requests \
        without accepted credentials then get 401), auth_off; secrets come back masked. \
        Response cache (--cache): cache_stats, clear_cache. Webhooks: add_webhook (webhook: \
        url, events, secret, headers), list_webhooks, delete_webhook / test_webhook \
        (webhook_id), list_deliveries (webhook_id, kind, limit); the mock refuses loopback \
        and private destinations unless started with --webhooks-allow-private."
    )]
    async fn manage_mock_data(
        &self,
        Parameters(p): Parameters<ManageMockData>,
    ) -> Result<CallToolResult, McpError> {
        finish(rules::manage(&self.shared, p).await)
    }

    #[tool(
        description = "Check a scenario (MockLoop's shape: scenario_name, description, \
        scenario_type, endpoints[].path/method/response_config{status_code, \
        response_time_ms, response_data, headers, delay, fault}) without deploying it. \
        Returns valid and every error with the field at fault. Give spec_url_or_path to \
        compile it exactly against a spec, or server_url to check its endpoints against \
        what a running mock serves."
    )]
    async fn validate_scenario_config(
        &self,
        Parameters(p): Parameters<ValidateScenarioConfig>,
    ) -> Result<CallToolResult, McpError> {
        finish(rules::validate(&self.shared, p).await)
    }

    #[tool(
        description = "Store a scenario on a running mock and (by default) activate it: the \
        next requests get its answers. Give scenario_config (MockLoop's shape) or pack (a \
        ready scenario pack such as errors/server-errors, errors/rate-limits, load/slow-\
        responses, security/unauthorized, generated for the mock's own endpoints). \
        force_deploy=true replaces a stored scenario of the same name."
    )]
    async fn deploy_scenario(
        &self,
        Parameters(p): Parameters<DeployScenario>,
    ) -> Result<CallToolResult, McpError> {
        finish(rules::deploy(&self.shared, p).await)
    }

    #[tool(
        description = "Make a stored scenario the active one on a running mock (the previous \
        one is deactivated); the next request is answered by it. Returns the previous and the \
        new active scenario, verified by reading it back."
    )]
    async fn switch_scenario(
        &self,
        Parameters(p): Parameters<SwitchScenario>,
    ) -> Result<CallToolResult, McpError> {
        finish(rules::switch(&self.shared, p).await)
    }

    #[tool(
        description = "List the active scenario of each running mock: those given in \
        server_urls, else every mock this server knows (started or discovered; \
        discover_servers=true probes the default ports first)."
    )]
    async fn list_active_scenarios(
        &self,
        Parameters(p): Parameters<ListActiveScenarios>,
    ) -> Result<CallToolResult, McpError> {
        finish(rules::list_active(&self.shared, p).await)
    }

    #[tool(
        description = "Send real HTTP load with the built-in load generator to server_url or \
        to its endpoints ('METHOD /path'): closed model by default (target_users each send \
        their next request when answered), or open model with rate (requests/s on a fixed \
        timeline, latency measured from the intended send time so queueing is not hidden). \
        method, headers and body shape the requests. Runs for duration seconds or a number \
        of requests (capped: 200 users or connections, 50000 requests/s, 300 s, 1000000 \
        requests). Returns the report: requests, requests/s, latency \
        percentiles (us), statuses, errors by cause, per-endpoint figures. With db_path the \
        run is saved for compare_test_runs. The requests appear in the mock's request log."
    )]
    async fn run_load_test(
        &self,
        Parameters(p): Parameters<RunLoadTest>,
    ) -> Result<CallToolResult, McpError> {
        finish(loadtest::run(&self.shared, p).await)
    }

    #[tool(
        description = "Live figures of a running mock over a window (10s, 1m, 5m, \
        since_start): requests, requests/s, status classes, error rates, latency (avg, p50, \
        p95, p99, max in us), per route; requests in flight, connections, the request log \
        writer, the concurrency limit and process/host figures."
    )]
    async fn get_performance_metrics(
        &self,
        Parameters(p): Parameters<GetPerformanceMetrics>,
    ) -> Result<CallToolResult, McpError> {
        finish(logs::metrics(&self.shared, p).await)
    }

    #[tool(
        description = "Compare two load test runs, before and after: saved runs by \
        test_run_ids [before, after] from db_path, or two reports from run_load_test. Each \
        headline figure (throughput, p50/p90/p95/p99 latency, error rate) gets its change in \
        percent and a verdict; changes beyond threshold_pct (default 5) in the wrong \
        direction are regressions, listed in regressions."
    )]
    async fn compare_test_runs(
        &self,
        Parameters(p): Parameters<CompareTestRuns>,
    ) -> Result<CallToolResult, McpError> {
        finish(loadtest::compare(&self.shared, p).await)
    }
}

#[prompt_router]
impl MockloopMcp {
    #[prompt(
        name = "analyze_openapi_for_testing",
        description = "Analyse an API description for testing: its operations, failure \
        modes, scenarios and a load test to run with mockloop's tools. Argument openapi_spec: \
        a spec path or URL, a known mock's id (m1) or a running mock's admin URL; \
        testing_focus: comprehensive, errors, performance or security."
    )]
    async fn analyze_openapi_for_testing(
        &self,
        Parameters(args): Parameters<prompts::AnalyzeArgs>,
    ) -> Result<GetPromptResult, McpError> {
        let text = prompts::analyze(&self.shared, args)
            .await
            .map_err(prompt_failure)?;
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description("Analyse an API description for testing"),
        )
    }

    #[prompt(
        name = "generate_scenario_config",
        description = "Write a scenario configuration in the shape deploy_scenario accepts. \
        Arguments: scenario_type (error_simulation, load_testing, security_testing, \
        functional_testing), endpoints ('METHOD /path' list), scenario_name, requirements."
    )]
    async fn generate_scenario_config(
        &self,
        Parameters(args): Parameters<prompts::ScenarioArgs>,
    ) -> Result<GetPromptResult, McpError> {
        let text = prompts::scenario(args);
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description("Write a mockloop scenario configuration"),
        )
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for MockloopMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("mockloop", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "mockloop turns an OpenAPI description into a running mock that logs every \
             request. Start with generate_mock_api (start=true) or discover_mock_servers; pass \
             the mock's admin URL as server_url to the other tools. Reshape answers with \
             deploy_scenario / switch_scenario / manage_mock_data, read what clients did with \
             query_mock_logs, and measure with run_load_test and get_performance_metrics.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::list(
            &self.shared,
        )))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        resources::read(&self.shared, &request.uri)
            .await
            .map(Into::into)
            .map_err(|err| McpError::resource_not_found(err.0, None))
    }
}

impl Shared {
    fn new(settings: Settings) -> Arc<Shared> {
        Arc::new(Shared {
            settings,
            registry: Registry::default(),
        })
    }
}

/// Serves MCP on stdin/stdout until the client closes it or `shutdown` resolves (a
/// signal); stops the mocks it started either way.
pub async fn serve_stdio(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let shared = Shared::new(settings);
    let service = MockloopMcp::new(shared.clone())
        .serve(rmcp::transport::stdio())
        .await
        .context("cannot start the MCP session on stdio")?;
    let outcome = tokio::select! {
        outcome = service.waiting() => outcome
            .map(drop)
            .context("the MCP session ended with an error"),
        () = shutdown => {
            tracing::info!("stopping on a signal");
            Ok(())
        }
    };
    stop_started(&shared).await;
    outcome
}

/// Serves MCP over streamable HTTP at `/mcp` on `listener` until `shutdown` resolves;
/// every session shares the known mocks. Stops the mocks it started.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let shared = Shared::new(settings);
    let factory = shared.clone();
    let service = StreamableHttpService::new(
        move || Ok(MockloopMcp::new(factory.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let outcome = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    stop_started(&shared).await;
    outcome.context("the MCP HTTP server stopped with an error")
}

async fn stop_started(shared: &Arc<Shared>) {
    let shared = shared.clone();
    let _ = tokio::task::spawn_blocking(move || shared.registry.stop_started()).await;
}
