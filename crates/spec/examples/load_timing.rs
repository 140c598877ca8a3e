//! Measures how long loading descriptions takes.
//!
//! ```text
//! cargo run --release -p spec --example load_timing -- [--runs N] FILE_OR_URL...
//! ```
//!
//! For each description it prints the load time (with `--runs N`, the fastest and the median
//! of N loads), the number of operations and warnings, then each warning; at the end, the
//! process's peak resident memory (Linux). Exits with failure if any description does not
//! load, after printing why.

use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: load_timing [--runs N] FILE_OR_URL...";

fn main() -> ExitCode {
    let mut runs = 1usize;
    let mut sources = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
                Some(n) => runs = n,
                None => {
                    eprintln!("--runs needs a positive number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => sources.push(arg),
        }
    }
    if sources.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }

    let options = spec::LoadOptions::default();
    let mut failed = false;
    for source in &sources {
        let mut times = Vec::with_capacity(runs);
        let mut outcome = timed(source, &options, &mut times);
        // A failed load is not repeated: the first failure tells all.
        while outcome.is_ok() && times.len() < runs {
            // Freed first, so that the peak memory is that of one loaded description.
            drop(outcome);
            outcome = timed(source, &options, &mut times);
        }
        let timing = describe(&mut times);
        match outcome {
            Ok(api) => {
                println!(
                    "{source}: loaded in {timing}; {} operations, {} warnings",
                    api.operations.len(),
                    api.warnings.len()
                );
                for warning in &api.warnings {
                    println!("  warning: {warning}");
                }
            }
            Err(err) => {
                failed = true;
                println!("{source}: failed after {timing}\n{err}");
            }
        }
    }
    if let Some(peak) = peak_rss_kib() {
        println!("peak resident memory: {:.1} MiB", peak as f64 / 1024.0);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Loads `source` once, adding the time it took to `times`.
fn timed(
    source: &str,
    options: &spec::LoadOptions,
    times: &mut Vec<Duration>,
) -> Result<spec::Api, spec::LoadError> {
    let started = Instant::now();
    let outcome = spec::load(source, options);
    times.push(started.elapsed());
    outcome
}

/// "12.3 ms", or "min 11.0 ms, median 12.3 ms over 5 runs".
fn describe(times: &mut [Duration]) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    times.sort_unstable();
    match times {
        [] => "no time".to_owned(),
        [only] => ms(*only),
        _ => format!(
            "min {}, median {} over {} runs",
            ms(times[0]),
            ms(times[times.len() / 2]),
            times.len()
        ),
    }
}

/// `VmHWM` from /proc (Linux only): the most resident memory the process has held.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
