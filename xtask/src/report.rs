//! The Markdown written into `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::measure::{CaseResult, Load, Pinning, Soak};

pub const RESULT_MARKERS: (&str, &str) = ("<!-- bench:results -->", "<!-- /bench:results -->");
pub const SOAK_MARKERS: (&str, &str) = ("<!-- bench:soak -->", "<!-- /bench:soak -->");

fn machine(pinning: &Pinning) -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or_else(String::new, |kib| format!(", {} GiB", kib / (1024 * 1024)));
    format!(
        "{model}, {} logical CPUs{memory}, {} {}",
        pinning.cpus,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

pub fn results_section(results: &[CaseResult], pinning: &Pinning, load: &Load) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} on {}.\n{}; `mockloop bench -c {} -d {}s` per row, HTTP/1.1 keep-alive.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(pinning),
        capitalise(&pinning.describe()),
        load.connections,
        load.duration_secs
    );
    out.push_str(
        "| case | limit rps | mock rps | ratio | limit p50 / p99 ms | mock p50 / p99 ms | \
         p99 over limit ms | start-up to first 200 ms | peak RSS MiB | log rows / served |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:+.2} | {:.1} | \
             {:.1} | {} / {}{} |",
            r.case,
            r.limit.rps,
            r.mock.rps,
            r.mock.rps / r.limit.rps,
            r.limit.p50_ms,
            r.limit.p99_ms,
            r.mock.p50_ms,
            r.mock.p99_ms,
            r.mock.p99_ms - r.limit.p99_ms,
            r.startup_ms,
            r.peak_rss_kib as f64 / 1024.0,
            r.rows,
            r.served,
            if r.log_complete() {
                ""
            } else {
                " **MISMATCH**"
            }
        );
    }
    let errors: u64 = results.iter().map(|r| r.mock.errors + r.limit.errors).sum();
    let _ = writeln!(out, "\nLoad generator errors over all rows: {errors}.");
    out
}

pub fn soak_section(soak: &Soak, pinning: &Pinning) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} on {}.\nThe example's fixed route under `mockloop bench -c {}` for {} s: \
         {:.0} rps, p99 {:.2} ms, {} log rows for {} requests served.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(pinning),
        soak.connections,
        soak.samples.last().map_or(0, |s| s.0),
        soak.figures.rps,
        soak.figures.p99_ms,
        soak.rows,
        soak.served
    );
    out.push_str("| seconds into the load | resident MiB |\n|---:|---:|\n");
    for (secs, kib) in &soak.samples {
        let _ = writeln!(out, "| {secs} | {:.1} |", *kib as f64 / 1024.0);
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Replaces the text between `markers` in `file`, keeping everything else.
pub fn write_section(file: &Path, markers: (&str, &str), text: &str) -> Result<()> {
    let current = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read '{}'", file.display()))?;
    let (Some(start), Some(end)) = (current.find(markers.0), current.find(markers.1)) else {
        bail!(
            "'{}' lacks the markers {} and {}",
            file.display(),
            markers.0,
            markers.1
        );
    };
    if end < start {
        bail!(
            "'{}': {} comes before {}",
            file.display(),
            markers.1,
            markers.0
        );
    }
    let updated = format!(
        "{}{}\n{}{}",
        &current[..start + markers.0.len()],
        "\n",
        text,
        &current[end..]
    );
    std::fs::write(file, updated).with_context(|| format!("cannot write '{}'", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_section_replaces_only_between_markers() {
        let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("B.md");
        std::fs::write(
            &file,
            "intro\n<!-- bench:results -->\nold\n<!-- /bench:results -->\nend\n",
        )
        .unwrap();
        write_section(&file, RESULT_MARKERS, "new table\n").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            "intro\n<!-- bench:results -->\n\nnew table\n<!-- /bench:results -->\nend\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_section_refuses_a_file_without_markers() {
        let dir = std::env::temp_dir().join(format!("xtask-nomark-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("B.md");
        std::fs::write(&file, "no markers\n").unwrap();
        let err = write_section(&file, RESULT_MARKERS, "x").unwrap_err();
        assert!(err.to_string().contains("lacks the markers"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
