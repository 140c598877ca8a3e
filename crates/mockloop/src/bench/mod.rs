//! `mockloop bench`: run a load test and save it, or list, show and compare saved runs.

mod plan;
mod print;

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use load::{LoadError, Plan, Progress, Report};
use store::{BenchRun, BenchRunSummary, Store, StoreOptions};

use crate::cli::{
    BenchArgs, BenchCommand, BenchCompareArgs, BenchListArgs, BenchRunArgs, BenchShowArgs,
};
use crate::exit;
use crate::logs::write_stdout;
use plan::PlanError;

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    match args.command {
        None => run_load(args.run),
        Some(BenchCommand::List(args)) => list(args),
        Some(BenchCommand::Show(args)) => show(args),
        Some(BenchCommand::Compare(args)) => compare(args),
    }
}

fn usage_error(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    ExitCode::from(exit::USAGE)
}

fn run_load(args: BenchRunArgs) -> Result<ExitCode> {
    let resolved = match plan::resolve(&args) {
        Ok(resolved) => resolved,
        Err(PlanError::Usage(err)) => return Ok(usage_error(&err)),
        Err(PlanError::Spec(err)) => {
            eprintln!(
                "error: cannot load API description '{}'",
                args.spec.as_deref().unwrap_or_default()
            );
            for diagnostic in &err.diagnostics {
                eprintln!("  {diagnostic}");
            }
            return Ok(ExitCode::from(exit::SPEC));
        }
    };
    for skipped in &resolved.skipped {
        eprintln!(
            "warning: skipped operation {}: {}",
            skipped.name, skipped.reason
        );
    }
    let runtime = runtime(resolved.threads)?;
    let progress = Arc::new(Progress::default());
    let display = ProgressDisplay::start(&resolved.plan, progress.clone());
    let outcome = runtime.block_on(load::run(&resolved.plan, progress));
    drop(display);
    let mut report = match outcome {
        Ok(report) => report,
        Err(err @ LoadError::Plan(_)) => return Ok(usage_error(&err.into())),
        Err(err) => return Err(err.into()),
    };
    report.label = args.label;
    report.skipped = resolved.skipped;

    let saved = if args.no_save {
        Ok(())
    } else {
        save(&args.db.db, &report).map(|id| report.run_id = Some(id))
    };
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&report)?;
        out.push('\n');
    } else {
        print::report(&mut out, &report);
    }
    write_stdout(&out)?;
    saved?;
    if report.requests > 0 && report.responses == 0 {
        let e = &report.errors_by_kind;
        eprintln!(
            "error: no request was answered ({} connect, {} timeout, {} reset, {} other errors)",
            e.connect, e.timeout, e.reset, e.other
        );
        return Ok(ExitCode::from(exit::FAILURE));
    }
    Ok(ExitCode::SUCCESS)
}

/// One thread runs everything on a single-threaded scheduler, which avoids waking tasks
/// across threads; more threads use the work-stealing one.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The live progress bar on stderr, drawn from its own thread so that it takes nothing from
/// the tasks that send; only shown when stderr is a terminal.
struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressDisplay {
    fn start(plan: &Plan, progress: Arc<Progress>) -> Option<ProgressDisplay> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        use indicatif::{ProgressBar, ProgressStyle};
        let by_count = plan.stop.duration.is_none();
        let (length, template) = match (plan.stop.requests, plan.stop.duration) {
            (Some(n), None) => (n, "{bar:40} {pos}/{len} requests  {msg}"),
            (_, Some(d)) => (d.as_millis() as u64, "{bar:40} {elapsed}  {msg}"),
            (None, None) => (0, "{msg}"),
        };
        let bar = ProgressBar::new(length);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let began = Instant::now();
            while !stopping.load(Ordering::Relaxed) {
                let done = progress.completed();
                let secs = began.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(if by_count {
                    done
                } else {
                    began.elapsed().as_millis() as u64
                });
                bar.set_message(format!(
                    "{done} done, {:.0}/s, {} without answer",
                    done as f64 / secs,
                    progress.errors()
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Some(ProgressDisplay {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn save(db: &Path, report: &Report) -> Result<i64> {
    let store = Store::open(db, StoreOptions::default())
        .with_context(|| format!("cannot open '{}' to save the run", db.display()))?;
    let run = BenchRun {
        summary: BenchRunSummary {
            id: 0,
            started_at: report.started_at,
            label: report.label.clone(),
            target: report.target.clone(),
            model: report.settings.model.clone(),
            requests: report.requests,
            rps: report.rps,
            p50_us: report.latency_us.p50,
            p99_us: report.latency_us.p99,
            error_rate: report.error_rate,
        },
        settings: serde_json::to_value(&report.settings)?,
        report: serde_json::to_value(report)?,
    };
    store
        .save_bench_run(&run)
        .with_context(|| format!("cannot save the run to '{}'", db.display()))
}

/// Opens an existing database of saved runs; a missing file is a usage error.
fn open_existing(db: &Path) -> Result<Result<Store, ExitCode>> {
    if !db.exists() {
        return Ok(Err(usage_error(&anyhow!(
            "no database at '{}' (set --db or MOCKLOOP_DB)",
            db.display()
        ))));
    }
    let options = StoreOptions {
        create_if_missing: false,
        ..StoreOptions::default()
    };
    let store = Store::open(db, options)
        .with_context(|| format!("cannot open the database '{}'", db.display()))?;
    Ok(Ok(store))
}

/// A saved run's report; `Err` holds the exit code when there is no such run.
fn saved_report(store: &Store, id: i64) -> Result<Result<Report, ExitCode>> {
    let Some(run) = store.get_bench_run(id)? else {
        return Ok(Err(usage_error(&anyhow!(
            "no saved run {id} in '{}' (see mockloop bench list)",
            store.path().display()
        ))));
    };
    let mut report: Report = serde_json::from_value(run.report)
        .with_context(|| format!("saved run {id} holds a report this build cannot read"))?;
    report.run_id = Some(id);
    Ok(Ok(report))
}

fn list(args: BenchListArgs) -> Result<ExitCode> {
    let store = match open_existing(&args.db.db)? {
        Ok(store) => store,
        Err(code) => return Ok(code),
    };
    let runs = store.list_bench_runs(args.limit)?;
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&runs)?;
        out.push('\n');
    } else {
        print::list(&mut out, &runs);
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn show(args: BenchShowArgs) -> Result<ExitCode> {
    let store = match open_existing(&args.db.db)? {
        Ok(store) => store,
        Err(code) => return Ok(code),
    };
    let report = match saved_report(&store, args.id)? {
        Ok(report) => report,
        Err(code) => return Ok(code),
    };
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&report)?;
        out.push('\n');
    } else {
        print::report(&mut out, &report);
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn compare(args: BenchCompareArgs) -> Result<ExitCode> {
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        return Ok(usage_error(&anyhow!(
            "invalid --threshold '{}': must be a percentage of 0 or more",
            args.threshold
        )));
    }
    let store = match open_existing(&args.db.db)? {
        Ok(store) => store,
        Err(code) => return Ok(code),
    };
    let (a, b) = match (saved_report(&store, args.a)?, saved_report(&store, args.b)?) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(code), _) | (_, Err(code)) => return Ok(code),
    };
    let comparison = load::compare(&a, &b, args.threshold);
    let mut out = String::new();
    if args.json {
        let doc = serde_json::json!({ "a": args.a, "b": args.b, "comparison": comparison });
        out = serde_json::to_string_pretty(&doc)?;
        out.push('\n');
    } else {
        print::comparison(&mut out, args.a, args.b, &comparison);
    }
    write_stdout(&out)?;
    if args.fail_on_regression && comparison.regressions > 0 {
        return Ok(ExitCode::from(exit::REGRESSION));
    }
    Ok(ExitCode::SUCCESS)
}
