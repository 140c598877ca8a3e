//! `mockloop serve`: load the description, open the log, start both listeners, and stop
//! cleanly on Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use engine::runtime::Scenario;
use engine::state::{ResourceModel, Resources};
use engine::{Engine, EngineOptions};
use server::{Control, CorsPolicy, MockConfig, StatePersister};
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
    let from_file = match &config.scenarios {
        Some(path) => checked_scenario_file(path, control)?,
        None => Vec::new(),
    };
    // `--scenario` must name a scenario of the file or one already stored; checked before
    // anything is stored, so a refused start leaves the database as it was.
    if let Some(name) = &config.scenario
        && !from_file.iter().any(|(s, _)| &s.scenario_name == name)
        && store.scenario_named(name)?.is_none()
    {
        return Err(Usage(format!("no stored scenario named '{name}' to activate")).into());
    }
    if let Some(path) = &config.scenarios {
        for (scenario, value) in from_file {
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

/// The scenarios of a `--scenarios` file, every one checked against the description and
/// names unique within the file, so that the file is stored whole or not at all.
fn checked_scenario_file(
    path: &std::path::Path,
    control: &Control,
) -> Result<Vec<(Scenario, serde_json::Value)>> {
    let scenarios = crate::scenario_file::read(path).map_err(Usage)?;
    let mut seen = std::collections::HashSet::new();
    for (index, (scenario, _)) in scenarios.iter().enumerate() {
        let name = &scenario.scenario_name;
        if !seen.insert(name.as_str()) {
            return Err(Usage(format!(
                "scenario file '{}': [{index}] repeats the name '{name}'; names must be unique",
                path.display()
            ))
            .into());
        }
        control.compile_scenario(scenario).map_err(|e| {
            Usage(format!(
                "invalid scenario '{name}' ([{index}]) in '{}': {e}; nothing was stored",
                path.display()
            ))
        })?;
    }
    Ok(scenarios)
}

/// The stateful store: the collections of the description, the items stored in the
/// database put back, a persisting thread for later changes, and the seed file stored when
/// the database held no items.
fn prepare_state(
    config: &ServeConfig,
    store: &store::Store,
    api: &spec::Api,
) -> Result<(Arc<Resources>, StatePersister)> {
    let seed = match &config.state_seed {
        Some(path) => Some(crate::state::read_document(path, "seed file").map_err(Usage)?),
        None => None,
    };
    let mut resources = Resources::new(ResourceModel::infer(api), config.seed);
    let restored =
        server::restore_state(store, &resources).context("cannot load the stored resources")?;
    if !restored.unknown.is_empty() {
        tracing::warn!(
            "stored items of collections this description does not have are kept but not \
             served: {}",
            restored.unknown.join(", ")
        );
    }
    if restored.invalid > 0 {
        tracing::warn!(
            items = restored.invalid,
            "stored items that are not JSON objects were skipped"
        );
    }
    let (persister, sink) =
        StatePersister::start(store).context("cannot start persisting the resources")?;
    resources.set_sink(sink);
    // A seed initialises the state: once the database holds items, they are what the mock
    // had when it stopped, and seeding again would undo those changes or add its id-less
    // items a second time.
    let seed = match seed {
        Some(_) if restored.loaded > 0 => {
            tracing::info!(
                items = restored.loaded,
                "seed file not stored: the database already holds items (reset the state \
                 to seed again)"
            );
            None
        }
        seed => seed,
    };
    if let (Some(document), Some(path)) = (seed, &config.state_seed) {
        match resources.seed(&document) {
            Ok(report) => tracing::info!(items = report.stored, "seeded from {}", path.display()),
            Err(err) => {
                persister.shutdown();
                return Err(Usage(format!("invalid seed file '{}': {err}", path.display())).into());
            }
        }
    }
    let names: Vec<&str> = resources
        .model()
        .collections()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    tracing::info!(
        collections = %names.join(", "),
        restored = restored.loaded,
        "stateful mode"
    );
    Ok((Arc::new(resources), persister))
}

/// Says at start what the dispatcher will send: webhooks loaded, callbacks on or off.
fn report_hooks(hooks: &hooks::Hooks, api: &spec::Api) {
    let webhooks = hooks.webhooks().len();
    if webhooks > 0 {
        tracing::info!(webhooks, "webhooks loaded");
    }
    let declared: usize = api.operations.iter().map(|op| op.callbacks.len()).sum();
    if hooks.settings().callbacks {
        tracing::info!(callbacks = declared, "callbacks on");
    } else if declared > 0 {
        tracing::info!(
            callbacks = declared,
            "the description declares callbacks; --callbacks fires them"
        );
    }
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
    // API keys the description sends in the query are redacted like credential headers.
    let mut redact_query = store::default_redacted_query();
    for (_, scheme) in &api.security_schemes {
        if let spec::SecurityScheme::ApiKey {
            name,
            location: spec::ParamLocation::Query,
        } = scheme
        {
            redact_query.push(name.clone());
        }
    }
    let (sink, writer) = store.start_writer(store::WriterOptions {
        max_body_bytes: config.log_body_bytes,
        redact: config.redact,
        redact_query,
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
    config
        .auth
        .policy
        .check_schemes(&api)
        .map_err(|e| Usage(format!("invalid auth setting {e}")))?;
    control.set_auth(config.auth.clone());
    let cache = match &config.cache {
        None => None,
        Some(settings) => Some(Arc::new(
            server::ResponseCache::new(settings.clone(), engine.fingerprint())
                .map_err(|e| Usage(e.to_string()))?,
        )),
    };
    let state = if config.stateful {
        Some(prepare_state(&config, &store, &api)?)
    } else {
        None
    };
    let hooks = hooks::Hooks::start((*store).clone(), &api, config.hooks.clone())
        .context("cannot start the webhook dispatcher")?;
    report_hooks(&hooks, &api);

    let api_listener = bind(config.api_addr, "mock API").await?;
    let admin_listener = bind(config.admin_addr, "admin API").await?;
    let api_addr = api_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let (stop, stopped) = watch::channel(false);
    let mut mock_state = server::MockState::new(
        engine.clone(),
        sink,
        MockConfig {
            max_body_bytes: config.max_body_bytes,
            cors: CorsPolicy::parse(&config.cors),
            limit: config.limit,
            cache,
            ..MockConfig::default()
        },
        control.clone(),
    )
    .with_hooks(hooks.clone());
    let metrics = mock_state.metrics().clone();
    let sampler = metrics
        .start_sampler()
        .context("cannot start the metrics sampler")?;
    let mut admin_state = server::AdminState::new(engine.clone(), store.clone(), metrics, control)
        .with_hooks(hooks.clone())
        .with_api_addr(api_addr);
    let (state_line, persister) = match state {
        Some((resources, persister)) => {
            mock_state = mock_state.with_state(resources.clone());
            admin_state = admin_state.with_state(resources.clone());
            let names: Vec<&str> = resources
                .model()
                .collections()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let line = format!(
                "  state: {} collections ({})\n",
                names.len(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            );
            (line, Some(persister))
        }
        None => (String::new(), None),
    };
    let mock_state = Arc::new(mock_state);
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
         admin: http://{admin_addr}\n  log:   {}\n{}{state_line}  ready in {} ms; Ctrl-C \
         stops\n",
        api.title,
        api.operations.len(),
        api.source,
        config.db.display(),
        feature_lines(&config),
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
    if !hooks.flush(std::time::Duration::from_secs(2)).await {
        tracing::warn!("webhook delivery records not all written before stopping");
    }
    drop(sampler);
    if let Some(persister) = persister {
        match tokio::task::spawn_blocking(move || persister.shutdown()).await {
            Ok(report) if report.lost > 0 => tracing::error!(
                written = report.written,
                lost = report.lost,
                "some resource changes could not be stored"
            ),
            Ok(report) => tracing::info!(changes = report.written, "resources stored"),
            Err(err) => tracing::error!(cause = %err, "the resource writer failed"),
        }
    }
    let report = writer.shutdown().await;
    tracing::info!(rows = report.rows_written, "request log flushed");
    Ok(())
}

/// Banner lines for auth emulation and the cache, when on.
fn feature_lines(config: &ServeConfig) -> String {
    let mut lines = String::new();
    if config.auth.enabled {
        let what = if config.auth.policy.is_presence_only() {
            "presence of credentials checked"
        } else {
            "configured credentials checked"
        };
        lines.push_str(&format!("  auth:  on, {what}\n"));
    }
    if let Some(cache) = &config.cache {
        let level = match cache.backend {
            server::CacheBackend::Memory => "memory".to_owned(),
            server::CacheBackend::Redis => format!("memory + redis (prefix '{}')", cache.prefix),
        };
        lines.push_str(&format!(
            "  cache: {level}, ttl {}\n",
            humantime::format_duration(cache.ttl)
        ));
    }
    lines
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
