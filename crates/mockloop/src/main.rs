//! The `mockloop` command: parse flags, set up diagnostics, hand over to a subcommand.

mod access;
mod bench;
mod cli;
mod config;
mod logs;
mod mcp_cmd;
mod remote;
mod rules;
mod scenario_file;
mod serve;
mod state;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, LogFormat};

/// Exit codes scripts can rely on (also listed in the README).
pub mod exit {
    /// Something failed while running (a port in use, an unwritable database, ...).
    pub const FAILURE: u8 = 1;
    /// Bad usage or configuration (clap uses 2 for bad flags too).
    pub const USAGE: u8 = 2;
    /// The API description could not be loaded.
    pub const SPEC: u8 = 3;
    /// `bench compare --fail-on-regression` found a regression.
    pub const REGRESSION: u8 = 4;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Scenario(args) => rules::scenario(args),
        Command::Override(args) => rules::overrides(args),
        Command::Faults(args) => rules::faults(args),
        Command::Auth(args) => access::auth(args),
        Command::Cache(args) => access::cache(args),
        Command::State(args) => state::run(args),
        Command::Webhook(args) => webhook::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Mcp(args) => mcp_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// What is logged when `MOCKLOOP_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "warn,mockloop=info,server=info,mcp=info";

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOCKLOOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(
                std::env::var_os("NO_COLOR").is_none()
                    && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            )
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}
