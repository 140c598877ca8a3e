//! Loads descriptions and prints how long each took, how many operations and warnings it
//! gave, and the process's peak memory: `cargo run -p spec --release --example load_timing
//! -- FILE...`.

use std::time::Instant;

fn main() -> std::process::ExitCode {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let started = Instant::now();
        match spec::load(&path, &spec::LoadOptions::default()) {
            Ok(api) => {
                let elapsed = started.elapsed();
                println!(
                    "{path}: {} operations, {} warnings in {:.1} ms",
                    api.operations.len(),
                    api.warnings.len(),
                    elapsed.as_secs_f64() * 1000.0
                );
                for warning in &api.warnings {
                    println!("  warning: {warning}");
                }
            }
            Err(err) => {
                failed = true;
                println!(
                    "{path}: failed after {:.1} ms\n{err}",
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
        }
    }
    if let Some(peak) = peak_rss_kib() {
        println!("peak resident memory: {:.1} MiB", peak as f64 / 1024.0);
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// `VmHWM` from /proc (Linux only): the most resident memory the process has held.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
