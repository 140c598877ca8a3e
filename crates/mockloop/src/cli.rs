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
