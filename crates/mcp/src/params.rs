//! The arguments of every tool, with the JSON schema descriptions a model reads to use them.
//! Names follow those MockLoop users already pass where such names exist.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateMockApi {
    /// The API description (OpenAPI 3.0/3.1 or Swagger 2.0, JSON or YAML): a file path under
    /// an allowed directory, or an http(s) URL (fetched with size and time limits).
    pub spec_url_or_path: String,
    /// Name of the project directory created under the output root (letters, digits, '.',
    /// '_' and '-'). Default: derived from the API title.
    #[serde(default)]
    pub output_dir_name: Option<String>,
    /// Port of the mock API written into mockloop.toml and used when started. Default: 8000
    /// in the project files; a free port when started.
    #[serde(default)]
    pub business_port: Option<u16>,
    /// Port of the admin API (health, request log, scenarios, metrics). Default: 8001 in the
    /// project files; a free port when started.
    #[serde(default)]
    pub admin_port: Option<u16>,
    /// Start the mock in the background right away and return its URLs. Default false.
    #[serde(default)]
    pub start: bool,
    /// Replace the files of an existing project directory of the same name. Default false.
    #[serde(default)]
    pub overwrite: bool,
    /// Keep the request log (mockloop always logs; false is refused rather than ignored).
    #[serde(default)]
    pub storage_enabled: Option<bool>,
    /// The admin API is always served by mockloop; false is refused rather than ignored.
    #[serde(default)]
    pub admin_ui_enabled: Option<bool>,
    /// Accepted for compatibility; reported back as not applied by this build.
    #[serde(default)]
    pub auth_enabled: Option<bool>,
    /// Accepted for compatibility; reported back as not applied by this build.
    #[serde(default)]
    pub webhooks_enabled: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryMockLogs {
    /// The mock's admin API URL (e.g. http://127.0.0.1:8001), or its API URL when the admin
    /// API is on the next port or the mock was started or discovered by this server.
    pub server_url: String,
    /// Rows to return, newest first (1 to 1000). Default 100.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Rows to skip. Default 0.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Only this HTTP method (GET, POST, ...).
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths containing this text; a pattern starting with '^' is a regular expression,
    /// and one with '*' a glob ('*' within a segment, '**' across segments).
    #[serde(default)]
    pub path_pattern: Option<String>,
    /// Only this status ("404") or class ("4xx"); "0" selects requests that got no answer.
    #[serde(default)]
    pub status: Option<String>,
    /// Only requests at or after this instant (RFC 3339 with a zone, e.g.
    /// 2026-01-01T00:00:00Z).
    #[serde(default)]
    pub time_from: Option<String>,
    /// Only requests before this instant (RFC 3339 with a zone).
    #[serde(default)]
    pub time_to: Option<String>,
    /// Also return the analysis of all matching requests (status and method distributions,
    /// error rates, latency percentiles, per-route figures). Default true.
    #[serde(default)]
    pub analyze: Option<bool>,
    /// Accepted for compatibility: admin API calls are never in the request log.
    #[serde(default)]
    pub include_admin: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverMockServers {
    /// Loopback ports to probe (at most 200) besides the mocks this server started. Default:
    /// 8000-8010, 8080, 8081, 3000 and 5000.
    #[serde(default)]
    pub ports: Option<Vec<u16>>,
    /// Ask each server for its health. Default true.
    #[serde(default)]
    pub check_health: Option<bool>,
    /// Also list the projects generated under the output root. Default true.
    #[serde(default)]
    pub include_generated: Option<bool>,
}

/// What `manage_mock_data` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataOperation {
    /// Add an override: endpoint_path (+ method) answers with status_code, headers,
    /// response_data, delay or fault until removed. Kept in memory by the mock.
    UpdateResponse,
    /// List the overrides.
    ListOverrides,
    /// Remove override override_id.
    RemoveOverride,
    /// Remove every override.
    ClearOverrides,
    /// Store scenario_config (MockLoop shape) as a scenario, without activating it.
    CreateScenario,
    /// Make scenario_name the active scenario.
    SwitchScenario,
    /// List the stored scenarios, with the active one marked.
    ListScenarios,
    /// Show the active scenario.
    GetActiveScenario,
    /// Leave no scenario active.
    DeactivateScenario,
    /// Delete scenario_name (deactivate it first if active).
    DeleteScenario,
    /// Set the global delay and/or fault (for requests no rule gives its own).
    SetFaults,
    /// Show the global delay and fault.
    GetFaults,
    /// Remove the global delay and fault.
    ClearFaults,
    /// Stateful mocks (`serve --stateful`): list the collections and their item counts.
    ListCollections,
    /// List the stored items of `collection`.
    ListItems,
    /// Show one item: `collection` and `item_key`.
    GetItem,
    /// Store `item` (a JSON object) at `collection`/`item_key`, replacing an item there;
    /// the mock serves it at once (a GET on its URL returns it).
    PutItem,
    /// Remove the item at `collection`/`item_key`.
    DeleteItem,
    /// Remove every item of `collection`, or of every collection when it is absent.
    ResetState,
    /// Store the items of `seed` (an object of collection to list of items), replacing
    /// stored items of the same id.
    SeedState,
    /// Auth emulation: show whether it is on and the configured credentials (masked).
    GetAuth,
    /// Turn auth emulation on with the credentials of `auth`: fields given replace the
    /// current ones, the others stay (an empty list clears a kind, so any credential of
    /// that kind passes); without `auth` it is turned on with the credentials it has.
    SetAuth,
    /// Turn auth emulation off; the credentials are kept for the next set_auth.
    AuthOff,
    /// Response cache (`serve --cache`): hits, misses, errors, entries and bytes per level.
    CacheStats,
    /// Empty the response cache (memory, and the shared Redis keys).
    ClearCache,
    /// Register `webhook` ({"url", "events", "secret", "headers", "description"}); the mock
    /// POSTs every answered request matching an event to url.
    AddWebhook,
    /// List the webhooks (secrets and credential headers masked).
    ListWebhooks,
    /// Delete webhook `webhook_id` (its delivery history stays).
    DeleteWebhook,
    /// Send one test delivery to webhook `webhook_id` now and return its recorded attempt.
    TestWebhook,
    /// List delivery attempts, newest first: of webhook `webhook_id` if given, else of
    /// all; filtered by `kind` and bounded by `limit`.
    ListDeliveries,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManageMockData {
    /// The mock's admin API URL (or its API URL; see query_mock_logs).
    pub server_url: String,
    /// The operation to run.
    pub operation: DataOperation,
    /// update_response: a route template of the spec ('/books/{id}'), a concrete path, a glob
    /// ('/books/*') or a regular expression starting with '^'.
    #[serde(default)]
    pub endpoint_path: Option<String>,
    /// update_response: the HTTP method, or '*' / absent for any.
    #[serde(default)]
    pub method: Option<String>,
    /// update_response: the status to answer with.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// update_response: the body; a JSON string is sent as text, anything else as JSON.
    #[serde(default)]
    pub response_data: Option<Value>,
    /// update_response: headers to send, as an object of name to value.
    #[serde(default)]
    pub headers: Option<Value>,
    /// update_response / set_faults: a delay in ms (200), or {"kind": "uniform", "min_ms":
    /// 100, "max_ms": 300}, or {"kind": "lognormal", "p50_ms": 50, "p99_ms": 500}.
    #[serde(default)]
    pub delay: Option<Value>,
    /// update_response / set_faults: {"kind": "error", "status": 503, "rate": 0.2},
    /// {"kind": "reset"}, {"kind": "empty"} or {"kind": "slow_body", "bytes_per_second": 100};
    /// rate is 0 to 1 (default 1).
    #[serde(default)]
    pub fault: Option<Value>,
    /// switch_scenario / delete_scenario: the scenario's name (or id).
    #[serde(default)]
    pub scenario_name: Option<String>,
    /// create_scenario: the scenario in MockLoop's shape ({"scenario_name", "description",
    /// "endpoints": [{"path", "method", "response_config": {"status_code",
    /// "response_time_ms", "response_data", "headers"}}]}).
    #[serde(default)]
    pub scenario_config: Option<Value>,
    /// remove_override: the override's id (from update_response or list_overrides).
    #[serde(default)]
    pub override_id: Option<u64>,
    /// list_items / get_item / put_item / delete_item / reset_state: a collection's name as
    /// list_collections shows it: the literal segments of its path joined by dots
    /// ('books', 'shelves.books').
    #[serde(default)]
    pub collection: Option<String>,
    /// get_item / put_item / delete_item: the item's id, as in its URL ("7"); an item of a
    /// nested collection is keyed by its parents' values then its id ("2/7" for
    /// /shelves/2/books/7).
    #[serde(default)]
    pub item_key: Option<String>,
    /// put_item: the item, a JSON object ({"name": "Poetry"}), stored under item_key.
    #[serde(default)]
    pub item: Option<Value>,
    /// seed_state: an object of collection to list of items, e.g. {"shelves": [{"id": 1,
    /// "name": "Poetry"}]}; keys may also be a template ('/shelves/{shelfId}/books') or a
    /// concrete path ('/shelves/2/books'). A seed that does not fit is refused whole.
    #[serde(default)]
    pub seed: Option<Value>,
    /// set_auth: any of "api_keys" (list), "scheme_keys" (object of apiKey scheme name to
    /// list), "bearer_tokens" (list), "basic" (list of "user:password"); kinds with nothing
    /// configured accept any credential of that kind, and requests without an accepted
    /// credential get 401 (or 403). Answers never show a secret.
    #[serde(default)]
    pub auth: Option<Value>,
    /// add_webhook: {"url": "http://host/path", "events": ["create", "update", "delete",
    /// "*", or "METHOD /path" such as "GET /books/{id}"], "secret": signs deliveries
    /// (HMAC-SHA256), "headers": {name: value}, "description": text}. Loopback and private
    /// destinations need the mock started with --webhooks-allow-private.
    #[serde(default)]
    pub webhook: Option<Value>,
    /// delete_webhook / test_webhook / list_deliveries: a webhook's id (from add_webhook or
    /// list_webhooks).
    #[serde(default)]
    pub webhook_id: Option<u64>,
    /// list_deliveries: only "webhook" or "callback" deliveries.
    #[serde(default)]
    pub kind: Option<String>,
    /// list_deliveries: most attempts returned, 1 to 1000. Default 50.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateScenarioConfig {
    /// The scenario in MockLoop's shape, or a list of scenarios.
    pub scenario_config: Value,
    /// Check the endpoints against a spec: compiled exactly against spec_url_or_path, or
    /// checked against the operations a running server_url serves. Default true when
    /// either is given.
    #[serde(default)]
    pub check_endpoints: Option<bool>,
    /// A running mock to check the endpoints against.
    #[serde(default)]
    pub server_url: Option<String>,
    /// A spec (allowed path or URL) to compile the scenario against.
    #[serde(default)]
    pub spec_url_or_path: Option<String>,
    /// Accepted for compatibility: unknown fields are always refused.
    #[serde(default)]
    pub strict_validation: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployScenario {
    /// The mock's admin API URL (or its API URL; see query_mock_logs).
    pub server_url: String,
    /// The scenario in MockLoop's shape (see validate_scenario_config). Give this or pack.
    #[serde(default)]
    pub scenario_config: Option<Value>,
    /// Instead of scenario_config: a scenario pack generated for this server's endpoints,
    /// e.g. "errors/server-errors" (see the mockloop://scenario-packs resources).
    #[serde(default)]
    pub pack: Option<String>,
    /// Replace a stored scenario of the same name. Default false (a taken name is an error).
    #[serde(default)]
    pub force_deploy: Option<bool>,
    /// Activate it after storing. Default true.
    #[serde(default)]
    pub activate: Option<bool>,
    /// Check it against the server's operations first. Default true. The mock checks it
    /// again when storing it.
    #[serde(default)]
    pub validate_before_deploy: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchScenario {
    /// The mock's admin API URL (or its API URL; see query_mock_logs).
    pub server_url: String,
    /// The stored scenario to activate, by name (or id).
    pub scenario_name: String,
    /// Read the active scenario back after switching. Default true.
    #[serde(default)]
    pub verify_switch: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListActiveScenarios {
    /// Mocks to ask (admin or API URLs). Default: every mock known to this server.
    #[serde(default)]
    pub server_urls: Option<Vec<String>>,
    /// Also probe the default loopback ports for mocks first. Default false.
    #[serde(default)]
    pub discover_servers: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLoadTest {
    /// The mock API's base URL (e.g. http://127.0.0.1:8000), or a full URL to load.
    pub server_url: String,
    /// Requests to send, as "METHOD /path" or "/path" (GET), relative to server_url; spread
    /// evenly. Default: GET server_url itself.
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
    /// Virtual users (closed model: each sends its next request when answered), 1 to 200.
    /// Default 10.
    #[serde(default)]
    pub target_users: Option<u32>,
    /// Seconds to run, up to 300. Default 10 unless requests is given.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Stop after this many requests (at most 1000000).
    #[serde(default)]
    pub requests: Option<u64>,
    /// Seconds over which users start. Default 0.
    #[serde(default)]
    pub ramp_up_time: Option<f64>,
    /// Seconds a user waits between an answer and its next request. Default 0.
    #[serde(default)]
    pub think_time: Option<f64>,
    /// A name saved with the run.
    #[serde(default)]
    pub label: Option<String>,
    /// Open model instead of users: send this many requests per second on a fixed
    /// timeline whatever the answers take (0 < rate <= 50000); latency counts from each
    /// request's intended send time, so a slow server cannot hide its queueing
    /// (coordinated omission corrected). target_users then caps the connections opened
    /// (default 100); think_time and ramp_up_time do not apply.
    #[serde(default)]
    pub rate: Option<f64>,
    /// HTTP method of the requests to server_url, and of endpoints given as '/path' only.
    /// Default GET.
    #[serde(default)]
    pub method: Option<String>,
    /// Headers sent with every request, as an object of name to string value.
    #[serde(default)]
    pub headers: Option<Value>,
    /// Body sent with every request (at most 1 MiB): a JSON string is sent as text, any
    /// other value as JSON with Content-Type application/json unless headers set one.
    #[serde(default)]
    pub body: Option<Value>,
    /// SQLite file (under an allowed directory) to save the run in, as `mockloop bench`
    /// does, for compare_test_runs; created if missing. Default: not saved.
    #[serde(default)]
    pub db_path: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPerformanceMetrics {
    /// The mock's admin API URL (or its API URL; see query_mock_logs).
    pub server_url: String,
    /// Window of the figures: "10s", "1m", "5m" or "since_start". Default "1m".
    #[serde(default)]
    pub window: Option<String>,
    /// Include per-route figures. Default true.
    #[serde(default)]
    pub include_routes: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareTestRuns {
    /// Two saved run ids, [before, after], from db_path.
    #[serde(default)]
    pub test_run_ids: Option<Vec<i64>>,
    /// SQLite file (under an allowed directory) holding the saved runs.
    #[serde(default)]
    pub db_path: Option<String>,
    /// Instead of ids: the report of the run before (as run_load_test returns it).
    #[serde(default)]
    pub baseline_report: Option<Value>,
    /// Instead of ids: the report of the run after.
    #[serde(default)]
    pub candidate_report: Option<Value>,
    /// Changes smaller than this, in percent, are noise. Default 5.
    #[serde(default)]
    pub threshold_pct: Option<f64>,
}
