//! Command-line flags, as clap reads them (the raw layer of configuration).

use std::path::PathBuf;

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
