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
    /// The mock answers on --port; the admin API (health, request log, analysis, the
    /// served operations) on --admin-port. Settings come from flags, then MOCKLOOP_*
    /// environment variables, then mockloop.toml, then defaults.
    Serve(ServeArgs),
    /// Query and analyse a request log from the shell.
    Logs(LogsArgs),
    /// Load-test an HTTP server: one URL, a scenario file, or every operation of a
    /// description. Runs are saved for `bench list`, `bench show` and `bench compare`.
    ///
    /// Without a subcommand, `bench` runs a load test: `mockloop bench URL`,
    /// `mockloop bench --scenario FILE`, `mockloop bench --spec SPEC --target BASE_URL`.
    Bench(BenchArgs),
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
