//! `cargo xtask bench`: measures `mockloop serve` against the limit of this machine.
//!
//! The limit is `crates/server/examples/limit.rs`, a bare hyper server answering with the
//! very bytes the mock serves on the measured route. Each case starts the mock on a spec,
//! times its start-up to the first 200, loads one route with `mockloop bench` (server and
//! load generator pinned to different cores when `taskset` and two cores are available),
//! reads the peak resident memory, stops the mock and checks that its request log holds
//! exactly one row per request it answered. Then the limit is loaded the same way.
//!
//! The results table is printed and written into `BENCHMARKS.md` between its result
//! markers, with the machine and the date; the prose around it is left alone.

mod measure;
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use measure::{Case, Load, Pinning};

const USAGE: &str = "\
usage: cargo xtask bench [options]

Builds release binaries and measures the mock against the limit (see BENCHMARKS.md).

options:
  --duration SECS      load per measurement [default: 10]
  --connections N      concurrent connections of the load generator [default: 50]
  --soak SECS          instead of the cases, load the example for SECS and sample memory
  --only NAME          run only cases whose name contains NAME
  --no-write           print the results without updating BENCHMARKS.md
  --no-build           use the release binaries already built
";

struct Options {
    load: Load,
    soak: Option<u64>,
    only: Option<String>,
    write: bool,
    build: bool,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let outcome = match args.next().as_deref() {
        Some("bench") => parse(args).and_then(|options| bench(&options)),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return;
        }
        Some(other) => Err(anyhow::anyhow!("unknown task '{other}'\n\n{USAGE}")),
    };
    if let Err(err) = outcome {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        load: Load {
            duration_secs: 10,
            connections: 50,
        },
        soak: None,
        only: None,
        write: true,
        build: true,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--duration" => options.load.duration_secs = number(&flag, &value()?)?,
            "--connections" => options.load.connections = number(&flag, &value()?)?,
            "--soak" => options.soak = Some(number(&flag, &value()?)?),
            "--only" => options.only = Some(value()?),
            "--no-write" => options.write = false,
            "--no-build" => options.build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(flag: &str, raw: &str) -> Result<T> {
    raw.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: '{raw}' is not a number"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn bench(options: &Options) -> Result<()> {
    let root = workspace_root();
    if options.build {
        eprintln!("building release binaries ...");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        for target in [
            ["-p", "mockloop", "--bin", "mockloop"],
            ["-p", "server", "--example", "limit"],
        ] {
            let status = Command::new(&cargo)
                .current_dir(&root)
                .args(["build", "--release", "--locked"])
                .args(target)
                .status()
                .context("cannot run cargo")?;
            if !status.success() {
                bail!("the release build of {} failed", target[3]);
            }
        }
    }
    let bins = measure::Binaries::locate(&root)?;
    let pinning = Pinning::detect();
    eprintln!("{}", pinning.describe());
    let work = tempdir(&root)?;

    if let Some(secs) = options.soak {
        let soak = measure::soak(
            &bins,
            &pinning,
            &work,
            &root,
            secs,
            options.load.connections,
        )?;
        let text = report::soak_section(&soak, &pinning);
        print!("{text}");
        if options.write {
            report::write_section(&root.join("BENCHMARKS.md"), report::SOAK_MARKERS, &text)?;
            eprintln!("BENCHMARKS.md updated");
        }
        return Ok(());
    }

    let corpus = corpus_dir(&root);
    let mut results = Vec::new();
    for case in Case::all(&root, corpus.as_deref()) {
        if options
            .only
            .as_ref()
            .is_some_and(|only| !case.name.contains(only.as_str()))
        {
            continue;
        }
        eprintln!("case: {}", case.name);
        results.push(measure::run_case(
            &bins,
            &pinning,
            &work,
            &case,
            &options.load,
        )?);
    }
    if results.is_empty() {
        bail!("no case selected");
    }
    let text = report::results_section(&results, &pinning, &options.load);
    print!("{text}");
    if options.write {
        report::write_section(&root.join("BENCHMARKS.md"), report::RESULT_MARKERS, &text)?;
        eprintln!("BENCHMARKS.md updated");
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.log_complete())
        .map(|r| r.case.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("the request log is not complete for: {}", failed.join(", "));
    }
    Ok(())
}

/// The corpus of real descriptions: `$MOCKLOOP_CORPUS`, else `../shared/corpus/specs`.
fn corpus_dir(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("MOCKLOOP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus/specs"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: no corpus at '{}' (set MOCKLOOP_CORPUS); its cases are skipped",
            dir.display()
        );
        None
    }
}

/// A fresh working directory under `target/bench`.
fn tempdir(root: &Path) -> Result<PathBuf> {
    let dir = root
        .join("target/bench")
        .join(chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    Ok(dir)
}
