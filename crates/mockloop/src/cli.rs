//! Command-line flags, as clap reads them (the raw layer of configuration).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn an API description into a running mock API that records every request.
#[derive(Debug, Parser)]
#[command(name = "mockloop", version, about, long_about = None)]
pub struct Cli {
    /// Format of diagnostic logs on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text,
        env = "MOCKLOOP_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a mock of an API description and log every request.
    ///
    /// The mock answers on --port; the admin API (health, request log, analysis, live
    /// metrics, the served operations) on --admin-port. Settings come from flags, then MOCKLOOP_*
    /// environment variables, then mockloop.toml, then defaults.
    Serve(ServeArgs),
    /// Query and analyse a request log from the shell.
    Logs(LogsArgs),
    /// Store, change and activate scenarios of a running mock (through its admin API).
    ///
    /// A scenario is a named set of endpoint answers in MockLoop's shape (scenario_name,
    /// endpoints: [{path, method, response_config: {status_code, response_time_ms,
    /// response_data, headers}}]); at most one is active. Scenarios are stored in the
    /// mock's database and stay active across restarts.
    Scenario(ScenarioArgs),
    /// Add, replace and remove overrides of a running mock (kept in memory only).
    ///
    /// An override answers matching requests with its own status, headers, body, delay or
    /// fault; it wins over the active scenario, and the newest override wins over older
    /// ones.
    Override(OverrideArgs),
    /// Show, set or clear the global delay and fault of a running mock.
    Faults(FaultsArgs),
    /// Show, change or turn off auth emulation of a running mock.
    ///
    /// When on, the description's security schemes are enforced: requests without the
    /// credentials an operation requires get 401 with WWW-Authenticate, or 403 when they
    /// are not accepted and the operation declares 403.
    Auth(AuthArgs),
    /// Show the figures of a running mock's response cache, or clear it.
    Cache(CacheArgs),
    /// Inspect, change, reset and seed the items of a stateful mock (through its admin API).
    ///
    /// A mock started with `serve --stateful` remembers writes: POST to a collection stores
    /// an item, GET reads it, PUT replaces, PATCH merges, DELETE removes. Collections are
    /// named by their path's literal segments (`books`, `shelves.books`); an item of a
    /// nested collection is keyed by its parents' values then its id (`1/7`).
    State(StateArgs),
    /// Register, list, test and delete webhooks of a running mock, and read the delivery
    /// history (through its admin API).
    ///
    /// A webhook receives a signed JSON POST for every answered request matching one of its
    /// events: `METHOD /path` (a route template, path or glob; `*` for any method),
    /// `create`, `update`, `delete` (2xx answers to POST, PUT/PATCH, DELETE), or `*`.
    Webhook(WebhookArgs),
    /// Load-test an HTTP server: one URL, a scenario file, or every operation of a
    /// description. Runs are saved for `bench list`, `bench show` and `bench compare`.
    ///
    /// Without a subcommand, `bench` runs a load test: `mockloop bench URL`,
    /// `mockloop bench --scenario FILE`, `mockloop bench --spec SPEC --target BASE_URL`.
    Bench(BenchArgs),
    /// Serve the Model Context Protocol: tools, resources and prompts that let an assistant
    /// generate, start, inspect, reshape and load-test mocks.
    ///
    /// Speaks MCP on stdin/stdout by default (logs go to stderr); with --http, streamable
    /// HTTP at http://ADDR/mcp. Tools reach running mocks through their admin API.
    Mcp(McpArgs),
}

/// Where the running mock's admin API is, and how to print its answers.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Admin API of the running mock.
    #[arg(
        long,
        global = true,
        env = "MOCKLOOP_ADMIN",
        default_value = "http://127.0.0.1:8001"
    )]
    pub admin: String,

    /// Print the admin API's JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: ScenarioAction,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioAction {
    /// List the stored scenarios.
    List,
    /// Show one scenario, by name or id.
    Show { key: String },
    /// Show the active scenario.
    Active,
    /// Store the scenarios of a file (YAML or JSON; one scenario or a list).
    Create { file: PathBuf },
    /// Replace stored scenarios with those of a file, matched by scenario_name.
    Update { file: PathBuf },
    /// Delete a scenario, by name or id (the active one must be deactivated first).
    Delete { key: String },
    /// Make a scenario, by name or id, the active one.
    Activate { key: String },
    /// Leave no scenario active.
    Deactivate,
}

#[derive(Debug, Args)]
pub struct OverrideArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: OverrideAction,
}

#[derive(Debug, Subcommand)]
pub enum OverrideAction {
    /// List the overrides, oldest first.
    List,
    /// Add an override.
    Add(OverrideRule),
    /// Replace override ID, keeping its place.
    Replace {
        id: u64,
        #[command(flatten)]
        rule: OverrideRule,
    },
    /// Remove override ID.
    Remove { id: u64 },
    /// Remove every override.
    Clear,
}

/// One override, as flags.
#[derive(Debug, Args)]
pub struct OverrideRule {
    /// HTTP method, or `*` for any.
    pub method: String,

    /// Route template (`/books/{id}`), concrete path (`/books/7`), glob (`/books/*`) or
    /// regular expression (`^/books/[0-9]+$`).
    pub path: String,

    /// Status to answer with.
    #[arg(long)]
    pub status: Option<u16>,

    /// Header to send, as NAME:VALUE; repeat for more.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,

    /// Body to send, as JSON.
    #[arg(long, conflicts_with = "text")]
    pub body: Option<String>,

    /// Body to send as it is (text).
    #[arg(long)]
    pub text: Option<String>,

    /// Delay: `200` (ms), `100..300` (uniform), `lognormal:median=100,sigma=0.5` or
    /// `lognormal:p50=100,p99=800`.
    #[arg(long)]
    pub delay: Option<String>,

    /// Fault: `reset`, `empty`, `error=503`, `slow=BYTES_PER_SECOND`, each with an optional
    /// `@RATE` (`error=503@0.2`).
    #[arg(long)]
    pub fault: Option<String>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: StateAction,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// List the collections with the number of items each holds.
    List,
    /// Show the items of one collection.
    Show {
        collection: String,
        /// Items to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Items to show (1 to 10000).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Show one item, by key (`7`, or `1/7` in a collection nested under another).
    Get { collection: String, key: String },
    /// Create or replace one item with a JSON object (its id field is set from the key).
    Put {
        collection: String,
        key: String,
        /// The item, as JSON.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        body: Option<String>,
        /// A file holding the item (JSON or YAML).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Remove one item, by key.
    Delete { collection: String, key: String },
    /// Remove every item of one collection, or of every collection.
    Reset { collection: Option<String> },
    /// Store the items of a seed file (JSON or YAML: `{collection: [item, ...]}`); items
    /// with an id replace the stored one.
    Seed { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: WebhookAction,
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Register a webhook.
    Add {
        /// Where deliveries are POSTed (http or https).
        url: String,
        /// An event to deliver; repeat for more [default: *].
        #[arg(long = "event", short = 'e', value_name = "EVENT")]
        events: Vec<String>,
        /// Sign deliveries with HMAC-SHA256 under this secret.
        #[arg(long, env = "MOCKLOOP_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// A header sent with every delivery, as NAME:VALUE; repeat for more.
        #[arg(long = "header", value_name = "NAME:VALUE")]
        headers: Vec<String>,
        /// A note kept with the webhook.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the webhooks.
    List,
    /// Show webhook ID.
    Show { id: i64 },
    /// Delete webhook ID (its delivery history stays).
    Delete { id: i64 },
    /// Send one test delivery to webhook ID now and show how it went.
    Test { id: i64 },
    /// Show delivery attempts, newest first: of webhook ID, or of all webhooks and
    /// callbacks.
    Deliveries {
        id: Option<i64>,
        /// Only `webhook` or `callback` deliveries.
        #[arg(long)]
        kind: Option<String>,
        /// Attempts to show (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub struct FaultsArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: FaultsAction,
}

#[derive(Debug, Subcommand)]
pub enum FaultsAction {
    /// Show the global delay and fault.
    Show,
    /// Set the global delay and fault, for requests that no rule gives their own.
    Set {
        /// Delay, as for `override add --delay`.
        #[arg(long)]
        delay: Option<String>,
        /// Fault, as for `override add --fault`.
        #[arg(long)]
        fault: Option<String>,
    },
    /// Remove the global delay and fault.
    Clear,
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: AuthAction,
}

#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Show whether auth emulation is on and what it accepts (secrets masked).
    Show,
    /// Turn auth emulation on; credentials given replace those of their kind.
    Set(AuthCredentials),
    /// Turn auth emulation off (the credentials are kept for the next `set`).
    Off,
}

/// Accepted credentials, as flags. A kind with none accepts any credential present.
#[derive(Debug, Args, Default)]
pub struct AuthCredentials {
    /// An API key accepted by every apiKey scheme without keys of its own; repeat for more.
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_keys: Vec<String>,

    /// An API key of one apiKey scheme, as SCHEME=KEY; repeat for more.
    #[arg(long = "scheme-key", value_name = "SCHEME=KEY")]
    pub scheme_keys: Vec<String>,

    /// A token accepted by bearer, oauth2 and openIdConnect schemes; repeat for more.
    #[arg(long = "bearer", value_name = "TOKEN")]
    pub bearer_tokens: Vec<String>,

    /// A user:password pair accepted by basic schemes; repeat for more.
    #[arg(long = "basic", value_name = "USER:PASSWORD")]
    pub basic: Vec<String>,

    /// Forget every configured credential: only presence is checked.
    #[arg(long, conflicts_with_all = ["api_keys", "scheme_keys", "bearer_tokens", "basic"])]
    pub presence_only: bool,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Hits, misses and errors per level, entries and bytes held.
    Stats,
    /// Drop every entry (memory, and the Redis keys under the prefix).
    Clear,
}

/// Levels of the response cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    Off,
    Memory,
    Redis,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The API description: a file path or an http(s) URL (OpenAPI 3.0/3.1 or Swagger 2.0,
    /// JSON or YAML).
    #[arg(env = "MOCKLOOP_SPEC")]
    pub spec: Option<String>,

    /// Configuration file [default: ./mockloop.toml when present].
    #[arg(long, env = "MOCKLOOP_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address the mock API listens on [default: 127.0.0.1].
    #[arg(long, env = "MOCKLOOP_HOST")]
    pub host: Option<String>,

    /// Port of the mock API; 0 picks a free one [default: 8000].
    #[arg(long, short, env = "MOCKLOOP_PORT")]
    pub port: Option<u16>,

    /// Address the admin API listens on [default: 127.0.0.1].
    #[arg(long, env = "MOCKLOOP_ADMIN_HOST")]
    pub admin_host: Option<String>,

    /// Port of the admin API; 0 picks a free one [default: 8001].
    #[arg(long, env = "MOCKLOOP_ADMIN_PORT")]
    pub admin_port: Option<u16>,

    /// SQLite file of the request log [default: ./mockloop.db].
    #[arg(long, env = "MOCKLOOP_DB")]
    pub db: Option<PathBuf>,

    /// Seed of generated data: the same seed gives the same responses [default: 0].
    #[arg(long, env = "MOCKLOOP_SEED")]
    pub seed: Option<u64>,

    /// Largest request body accepted, in bytes [default: 10485760].
    #[arg(long, env = "MOCKLOOP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Bodies longer than this are cut in the log (the full length is kept) [default: 65536].
    #[arg(long, env = "MOCKLOOP_LOG_BODY_BYTES")]
    pub log_body_bytes: Option<usize>,

    /// Do not validate requests against the description.
    #[arg(long, env = "MOCKLOOP_NO_VALIDATE")]
    pub no_validate: bool,

    /// Store credentials (Authorization, Cookie, API keys) in the log as sent.
    #[arg(long, env = "MOCKLOOP_NO_REDACT")]
    pub no_redact: bool,

    /// Origins allowed by CORS: `*`, `off`, or a comma-separated list [default: *].
    #[arg(long, env = "MOCKLOOP_CORS")]
    pub cors: Option<String>,

    /// Handle at most N requests at once; more wait in a queue (--queue), and beyond that
    /// get 503 with Retry-After. 0 means no limit [default: 0].
    #[arg(long, value_name = "N", env = "MOCKLOOP_MAX_CONCURRENCY")]
    pub max_concurrency: Option<usize>,

    /// Requests that may wait for a place under --max-concurrency [default: 0].
    #[arg(long, value_name = "M", env = "MOCKLOOP_QUEUE")]
    pub queue: Option<usize>,

    /// Scenario file (YAML or JSON; one scenario or a list) stored at start; scenarios of
    /// the same name are replaced.
    #[arg(long, env = "MOCKLOOP_SCENARIOS")]
    pub scenarios: Option<PathBuf>,

    /// Activate this stored scenario at start [default: the one active when last stopped].
    #[arg(long, env = "MOCKLOOP_SCENARIO")]
    pub scenario: Option<String>,

    /// Enforce the description's security schemes (auth emulation). Giving any --auth-*
    /// credential turns it on too.
    #[arg(long, env = "MOCKLOOP_AUTH")]
    pub auth: bool,

    /// An API key accepted by apiKey schemes; repeat for more [default: any key].
    #[arg(
        long,
        value_name = "KEY",
        env = "MOCKLOOP_AUTH_API_KEYS",
        value_delimiter = ','
    )]
    pub auth_api_key: Vec<String>,

    /// A token accepted by bearer, oauth2 and openIdConnect schemes; repeat for more
    /// [default: any token].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MOCKLOOP_AUTH_BEARER",
        value_delimiter = ','
    )]
    pub auth_bearer: Vec<String>,

    /// A user:password pair accepted by basic schemes; repeat for more [default: any].
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        env = "MOCKLOOP_AUTH_BASIC",
        value_delimiter = ','
    )]
    pub auth_basic: Vec<String>,

    /// Cache bodies generated per request: in memory, or in memory and Redis [default: off].
    #[arg(long, value_enum, env = "MOCKLOOP_CACHE")]
    pub cache: Option<CacheMode>,

    /// How long a cached body is served, e.g. 30s or 5m [default: 60s].
    #[arg(long, value_parser = duration, env = "MOCKLOOP_CACHE_TTL")]
    pub cache_ttl: Option<Duration>,

    /// Bytes the memory level may hold, keys included [default: 67108864].
    #[arg(long, value_name = "BYTES", env = "MOCKLOOP_CACHE_MAX_BYTES")]
    pub cache_max_bytes: Option<u64>,

    /// Redis of the shared level, with --cache redis [default: redis://127.0.0.1:6379].
    #[arg(long, value_name = "URL", env = "MOCKLOOP_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Start of every Redis key; instances on the same prefix share entries
    /// [default: mockloop].
    #[arg(long, value_name = "PREFIX", env = "MOCKLOOP_CACHE_PREFIX")]
    pub cache_prefix: Option<String>,
    /// Remember writes: POST stores an item of the collection, GET reads and lists what was
    /// stored, PUT replaces, PATCH merges, DELETE removes. Items are kept in --db.
    #[arg(long, env = "MOCKLOOP_STATEFUL")]
    pub stateful: bool,

    /// Seed file stored at start with --stateful when the database holds no items yet
    /// (JSON or YAML: `{collection: [item, ...]}`).
    #[arg(long, value_name = "FILE", env = "MOCKLOOP_STATE_SEED")]
    pub state_seed: Option<PathBuf>,
    /// Let webhooks and callbacks reach loopback and private addresses (127/8, 10/8,
    /// 172.16/12, 192.168/16, 100.64/10, ::1, fc00::/7). Link-local and cloud metadata
    /// addresses are always refused.
    #[arg(long, env = "MOCKLOOP_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,

    /// Fire the OAS 3 callbacks an operation declares after answering it 2xx (the mock then
    /// sends requests to URLs taken from the requests it receives).
    #[arg(long, env = "MOCKLOOP_CALLBACKS")]
    pub callbacks: bool,

    /// Attempts per webhook or callback delivery, the first included [default: 5].
    #[arg(long, value_name = "N", env = "MOCKLOOP_WEBHOOK_ATTEMPTS")]
    pub webhook_attempts: Option<u32>,

    /// Backoff before the second attempt; it doubles per attempt (at most 30s), with full
    /// jitter [default: 500ms].
    #[arg(long, value_name = "DURATION", value_parser = duration,
        env = "MOCKLOOP_WEBHOOK_BACKOFF")]
    pub webhook_backoff: Option<Duration>,

    /// Longest wait for one delivery attempt's answer, connecting included [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration,
        env = "MOCKLOOP_WEBHOOK_TIMEOUT")]
    pub webhook_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// SQLite file of the request log.
    #[arg(long, env = "MOCKLOOP_DB", default_value = "mockloop.db")]
    pub db: PathBuf,

    /// Only this HTTP method.
    #[arg(long)]
    pub method: Option<String>,

    /// Only paths containing this text.
    #[arg(long)]
    pub path: Option<String>,

    /// Only paths matching this regular expression (unanchored).
    #[arg(long)]
    pub path_regex: Option<String>,

    /// Only this status (`404`) or class (`4xx`).
    #[arg(long)]
    pub status: Option<String>,

    /// Only requests at or after this instant (RFC 3339 with zone).
    #[arg(long = "from", alias = "time-from")]
    pub time_from: Option<String>,

    /// Only requests before this instant (RFC 3339 with zone).
    #[arg(long = "to", alias = "time-to")]
    pub time_to: Option<String>,

    /// Rows to show.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,

    /// Rows to skip (newest first).
    #[arg(long, default_value_t = 0)]
    pub offset: u32,

    /// Show the analysis (distributions, error rate, latency, routes) instead of rows.
    #[arg(long)]
    pub analyze: bool,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,

    #[command(flatten)]
    pub run: BenchRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// List saved runs, newest first.
    List(BenchListArgs),
    /// Show a saved run.
    Show(BenchShowArgs),
    /// Compare two saved runs and flag regressions beyond a noise threshold.
    Compare(BenchCompareArgs),
}

/// The database that keeps saved runs: the request log's.
#[derive(Debug, Args)]
pub struct BenchDb {
    /// SQLite file where runs are saved (the same file as the request log).
    #[arg(long, env = "MOCKLOOP_DB", default_value = "mockloop.db")]
    pub db: PathBuf,
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (write it like 10s, 500ms or 2m)"))
}

#[derive(Debug, Args)]
pub struct BenchRunArgs {
    /// The URL to load (http only).
    pub url: Option<String>,

    /// HTTP method of the URL's requests [default: GET].
    #[arg(short = 'X', long)]
    pub method: Option<String>,

    /// A header for every request, `'Name: value'`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Body of the URL's requests: the text itself, or @FILE for a file's bytes.
    #[arg(long, value_name = "DATA|@FILE")]
    pub body: Option<String>,

    /// A YAML file of weighted requests under one base URL.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "spec"])]
    pub scenario: Option<PathBuf>,

    /// An API description: every operation it declares is sent, with valid generated
    /// parameters and bodies.
    #[arg(long, value_name = "SPEC", conflicts_with = "url")]
    pub spec: Option<String>,

    /// Base URL for --spec (required) or --scenario (overrides its base_url).
    #[arg(long, value_name = "BASE_URL")]
    pub target: Option<String>,

    /// Virtual users; with --rate, the most connections opened [default: 10; 100 with
    /// --rate].
    #[arg(short = 'c', long)]
    pub connections: Option<u32>,

    /// Stop after this long [default: 10s unless -n is given].
    #[arg(short = 'd', long, value_parser = duration)]
    pub duration: Option<Duration>,

    /// Stop after this many requests.
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,

    /// Open model: send this many requests per second on a fixed timeline, whatever the
    /// answers take; latency counts from each request's intended time.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// Pause of each user between an answer and its next request (closed model).
    #[arg(long, value_parser = duration)]
    pub think: Option<Duration>,

    /// Start the users spread over this long (closed model).
    #[arg(long, value_parser = duration)]
    pub ramp_up: Option<Duration>,

    /// Longest wait for one answer, connecting included.
    #[arg(long, value_parser = duration, default_value = "10s")]
    pub timeout: Duration,

    /// Seed of the choice between weighted requests and of generated --spec requests.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Threads that send requests [default: the cores this process may use].
    #[arg(long)]
    pub threads: Option<usize>,

    /// Print the report as one JSON document (see docs/bench-report.md).
    #[arg(long)]
    pub json: bool,

    /// A name kept with the saved run.
    #[arg(long)]
    pub label: Option<String>,

    /// Do not save the run.
    #[arg(long)]
    pub no_save: bool,

    #[command(flatten)]
    pub db: BenchDb,
}

#[derive(Debug, Args)]
pub struct BenchListArgs {
    /// Runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub db: BenchDb,
}

#[derive(Debug, Args)]
pub struct BenchShowArgs {
    /// The run's id (see `bench list`).
    pub id: i64,

    /// Print the saved report as JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub db: BenchDb,
}

#[derive(Debug, Args)]
pub struct BenchCompareArgs {
    /// The run to compare against (before).
    pub a: i64,

    /// The run to judge (after).
    pub b: i64,

    /// Changes smaller than this, in percent, are noise.
    #[arg(long, value_name = "PCT", default_value_t = 5.0)]
    pub threshold: f64,

    /// Exit with code 4 when a regression is found.
    #[arg(long)]
    pub fail_on_regression: bool,

    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub db: BenchDb,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve streamable HTTP on this loopback address (e.g. 127.0.0.1:8765; port 0 picks a
    /// free one) instead of stdio.
    #[arg(long, value_name = "ADDR", env = "MOCKLOOP_MCP_HTTP")]
    pub http: Option<String>,

    /// A directory spec files and saved-run databases may be read from; repeat for more
    /// [default: the working directory].
    #[arg(long = "allow-dir", value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,

    /// Where generate_mock_api writes projects [default: the working directory].
    #[arg(long, value_name = "DIR", env = "MOCKLOOP_MCP_OUTPUT_ROOT")]
    pub output_root: Option<PathBuf>,

    /// Largest spec document read or fetched, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_fetch_bytes: u64,

    /// Time limit for fetching a spec URL.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "30s")]
    pub fetch_timeout: Duration,

    /// Let server_url arguments name hosts other than loopback (127.0.0.1, ::1, localhost).
    #[arg(long)]
    pub allow_remote_servers: bool,
}
