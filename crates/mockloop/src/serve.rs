//! `mockloop serve`: load the description, open the log, start both listeners, and stop
//! cleanly on Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use engine::runtime::Scenario;
use engine::{Engine, EngineOptions};
use server::{Control, CorsPolicy, MockConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::ServeArgs;
use crate::config::{FileConfig, ServeConfig};
use crate::exit;

/// How many load warnings are printed before the rest are only counted.
const WARNINGS_SHOWN: usize = 10;

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let (file, _) = match FileConfig::read(args.config.as_deref()) {
        Ok(read) => read,
        Err(err) => return Ok(usage_error(&err)),
    };
    let config = match ServeConfig::resolve(args, file) {
        Ok(config) => config,
        Err(err) => return Ok(usage_error(&err)),
    };
    let started = Instant::now();
    let api = match spec::load(&config.spec, &spec::LoadOptions::default()) {
        Ok(api) => api,
        Err(err) => {
            eprintln!("error: cannot load API description '{}'", config.spec);
            for diagnostic in &err.diagnostics {
                eprintln!("  {diagnostic}");
            }
            return Ok(ExitCode::from(exit::SPEC));
        }
    };
    report_warnings(&api);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(serve(config, api, started));
    // The log is flushed by now; do not wait for a warm-up still running in the background.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) if err.is::<Usage>() => Ok(usage_error(&err)),
        Err(err) => Err(err),
    }
}

/// A bad input found while starting (a scenario file, an unknown scenario): exit code 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Stores the scenarios of `--scenarios` (each checked against the description first),
/// activates `--scenario`, and puts the active scenario's rules in place. A stored active
/// scenario that no longer fits the description is deactivated with a warning rather than
/// stopping the start.
fn prepare_scenarios(config: &ServeConfig, store: &store::Store, control: &Control) -> Result<()> {
    if let Some(path) = &config.scenarios {
        let scenarios = crate::scenario_file::read(path).map_err(Usage)?;
        for (scenario, value) in scenarios {
            control.compile_scenario(&scenario).map_err(|e| {
                Usage(format!(
                    "invalid scenario '{}' in '{}': {e}",
                    scenario.scenario_name,
                    path.display()
                ))
            })?;
            let (saved, created) = store.save_scenario(&store::NewScenario {
                name: scenario.scenario_name.clone(),
                description: scenario.description.clone(),
                scenario_type: scenario.scenario_type.clone(),
                config: value,
            })?;
            tracing::info!(
                name = %saved.name,
                id = saved.id,
                "{} scenario from {}",
                if created { "stored" } else { "replaced" },
                path.display()
            );
        }
    }
    if let Some(name) = &config.scenario {
        let found = store
            .scenario_named(name)?
            .ok_or_else(|| Usage(format!("no stored scenario named '{name}' to activate")))?;
        store.activate_scenario(found.id)?;
    }
    let Some(active) = store.active_scenario()? else {
        return Ok(());
    };
    let compiled = Scenario::from_json(active.config.clone())
        .and_then(|scenario| control.compile_scenario(&scenario));
    match compiled {
        Ok(compiled) => {
            tracing::info!(name = %active.name, "scenario active");
            control.set_scenario(Some((active.id, compiled)));
        }
        Err(err) if config.scenario.is_some() => {
            return Err(Usage(format!("scenario '{}' cannot be used: {err}", active.name)).into());
        }
        Err(err) => {
            tracing::warn!(
                name = %active.name,
                cause = %err,
                "the active scenario does not fit this description; deactivated"
            );
            store.deactivate_scenarios()?;
        }
    }
    Ok(())
}

fn usage_error(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    ExitCode::from(exit::USAGE)
}

fn report_warnings(api: &spec::Api) {
    for warning in api.warnings.iter().take(WARNINGS_SHOWN) {
        tracing::warn!("{warning}");
    }
    if api.warnings.len() > WARNINGS_SHOWN {
        tracing::warn!(
            "{} more warnings about '{}' not shown",
            api.warnings.len() - WARNINGS_SHOWN,
            api.source
        );
    }
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the {what}"))
}

async fn serve(config: ServeConfig, api: spec::Api, started: Instant) -> Result<()> {
    // Listen for signals before anything is announced, so that a stop request sent as soon
    // as the addresses are printed is never missed.
    let signals = Signals::listen()?;
    let store = Arc::new(
        store::Store::open(&config.db, store::StoreOptions::default())
            .with_context(|| format!("cannot open the request log '{}'", config.db.display()))?,
    );
    let (sink, writer) = store.start_writer(store::WriterOptions {
        max_body_bytes: config.log_body_bytes,
        redact: config.redact,
        ..store::WriterOptions::default()
    })?;
    let api = Arc::new(api);
    let engine = Arc::new(Engine::new(
        api.clone(),
        EngineOptions {
            seed: config.seed,
            validate: config.validate,
        },
    ));
    for (shadowed, kept) in engine.shadowed() {
        let (s, k) = (&api.operations[*shadowed], &api.operations[*kept]);
        tracing::warn!(
            "{} {} at #{} is never served: #{} declares the same route",
            s.method.as_str(),
            s.path,
            s.pointer,
            k.pointer
        );
    }

    let control = Arc::new(Control::new(engine.clone()));
    prepare_scenarios(&config, &store, &control)?;

    let api_listener = bind(config.api_addr, "mock API").await?;
    let admin_listener = bind(config.admin_addr, "admin API").await?;
    let api_addr = api_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let (stop, stopped) = watch::channel(false);
    let mock_state = Arc::new(server::MockState::new(
        engine.clone(),
        sink,
        MockConfig {
            max_body_bytes: config.max_body_bytes,
            cors: CorsPolicy::parse(&config.cors),
            limit: config.limit,
            ..MockConfig::default()
        },
        control.clone(),
    ));
    let metrics = mock_state.metrics().clone();
    let sampler = metrics
        .start_sampler()
        .context("cannot start the metrics sampler")?;
    let admin_state = server::AdminState::new(engine.clone(), store.clone(), metrics, control)
        .with_api_addr(api_addr);
    let mock_task = tokio::spawn(server::serve_mock(
        api_listener,
        mock_state,
        stopped.clone(),
    ));
    let admin_task = tokio::spawn(server::serve_admin(admin_listener, admin_state, stopped));

    // The banner is written in one go, and a reader that has gone away (a closed pipe) is
    // not a reason to stop serving.
    let banner = format!(
        "mockloop: serving '{}' ({} operations) from {}\n  api:   http://{api_addr}\n  \
         admin: http://{admin_addr}\n  log:   {}\n  ready in {} ms; Ctrl-C stops\n",
        api.title,
        api.operations.len(),
        api.source,
        config.db.display(),
        started.elapsed().as_millis()
    );
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(err) = stdout
            .write_all(banner.as_bytes())
            .and_then(|()| stdout.flush())
        {
            tracing::debug!(cause = %err, "cannot write the banner to stdout");
        }
    }

    // Build fixed bodies and validators now, off the request path, rather than on each
    // route's first request.
    let warm = engine.clone();
    tokio::task::spawn_blocking(move || warm.prewarm());

    signals.wait().await;
    tracing::info!("stopping: no new connections, draining requests in flight");
    let _ = stop.send(true);
    let _ = mock_task.await;
    let _ = admin_task.await;
    drop(sampler);
    let report = writer.shutdown().await;
    tracing::info!(rows = report.rows_written, "request log flushed");
    Ok(())
}

/// Ctrl-C and SIGTERM, registered up front.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn listen() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn listen() -> Result<Signals> {
        Ok(Signals {})
    }

    /// Resolves on the first Ctrl-C or SIGTERM.
    #[cfg(unix)]
    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(cause = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
