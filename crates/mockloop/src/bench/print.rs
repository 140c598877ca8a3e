//! Load-test reports, listings of saved runs and comparisons as text for a terminal.

use std::fmt::Write as _;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use load::{Comparison, ErrorCounts, Latency, Report, Verdict};
use store::BenchRunSummary;

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n >= KIB * KIB {
        format!("{:.1} MiB", n / KIB / KIB)
    } else if n >= KIB {
        format!("{:.1} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

fn statuses(map: &std::collections::BTreeMap<u16, u64>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(status, count)| format!("{status}: {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn errors(e: &ErrorCounts) -> String {
    format!(
        "connect {}, timeout {}, reset {}, other {}",
        e.connect, e.timeout, e.reset, e.other
    )
}

fn latency_row(l: &Latency) -> [String; 8] {
    [
        format!("{:.2}", l.mean / 1000.0),
        ms(l.p50),
        ms(l.p90),
        ms(l.p95),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        format!("{:.2}", l.stdev / 1000.0),
    ]
}

pub fn report(out: &mut String, r: &Report) {
    let s = &r.settings;
    let _ = writeln!(out, "{}", r.target);
    let model = match s.rate {
        Some(rate) => format!(
            "open model: {rate} requests/s, up to {} connections",
            s.connections
        ),
        None => {
            let mut m = format!("closed model: {} users", s.connections);
            if s.think_ms > 0 {
                let _ = write!(m, ", think {} ms", s.think_ms);
            }
            if s.ramp_up_ms > 0 {
                let _ = write!(m, ", ramp-up {} ms", s.ramp_up_ms);
            }
            m
        }
    };
    let _ = writeln!(
        out,
        "{model}; ran {:.2} s; timeout {} ms",
        r.elapsed_s, s.timeout_ms
    );
    if let Some(label) = &r.label {
        let _ = writeln!(out, "label: {label}");
    }
    let _ = writeln!(
        out,
        "\nrequests  {} ({:.1}/s), {} answered, {} without answer, {} received",
        r.requests,
        r.rps,
        r.responses,
        r.errors,
        bytes(r.bytes_received)
    );
    let _ = writeln!(out, "status    {}", statuses(&r.status));
    let _ = writeln!(out, "errors    {}", errors(&r.errors_by_kind));
    let _ = writeln!(
        out,
        "failed    {:.2}% (no answer, 4xx or 5xx)",
        r.error_rate * 100.0
    );
    if let Some(o) = &r.open {
        let _ = writeln!(
            out,
            "schedule  {} due, {} sent, {} late (by {} ms or more), {} dropped, {} connections",
            o.scheduled, o.sent, o.late, o.late_after_ms, o.dropped, o.connections
        );
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "latency ms",
        "avg",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "stdev",
    ]);
    let mut row = vec!["all".to_owned()];
    row.extend(latency_row(&r.latency_us));
    table.add_row(row);
    let _ = writeln!(out, "\n{table}");

    if r.kinds.len() > 1 {
        let mut kinds = Table::new();
        kinds.load_preset(UTF8_FULL_CONDENSED).set_header([
            "request", "requests", "rps", "failed %", "p50 ms", "p99 ms", "max ms", "status",
        ]);
        for k in &r.kinds {
            kinds.add_row([
                k.name.clone(),
                k.requests.to_string(),
                format!("{:.1}", k.rps),
                format!("{:.2}", k.error_rate * 100.0),
                ms(k.latency_us.p50),
                ms(k.latency_us.p99),
                ms(k.latency_us.max),
                statuses(&k.status),
            ]);
        }
        let _ = writeln!(out, "{kinds}");
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "skipped {} operations:", r.skipped.len());
        for s in &r.skipped {
            let _ = writeln!(out, "  {}: {}", s.name, s.reason);
        }
    }
    if let Some(id) = r.run_id {
        let _ = writeln!(out, "saved as run {id} (mockloop bench show {id})");
    }
}

pub fn list(out: &mut String, runs: &[BenchRunSummary]) {
    if runs.is_empty() {
        let _ = writeln!(out, "no saved runs");
        return;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "id",
        "started (UTC)",
        "label",
        "target",
        "model",
        "requests",
        "rps",
        "p50 ms",
        "p99 ms",
        "failed %",
    ]);
    for r in runs {
        table.add_row([
            r.id.to_string(),
            r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.label.clone().unwrap_or_default(),
            r.target.clone(),
            r.model.clone(),
            r.requests.to_string(),
            format!("{:.1}", r.rps),
            ms(r.p50_us),
            ms(r.p99_us),
            format!("{:.2}", r.error_rate * 100.0),
        ]);
    }
    let _ = writeln!(out, "{table}");
}

pub fn comparison(out: &mut String, a: i64, b: i64, c: &Comparison) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "figure".to_owned(),
        format!("run {a}"),
        format!("run {b}"),
        "change".to_owned(),
        "verdict".to_owned(),
    ]);
    for change in &c.changes {
        let value = |v: f64| match change.unit {
            "µs" => format!("{:.2} ms", v / 1000.0),
            "%" => format!("{v:.2}%"),
            _ => format!("{v:.1}/s"),
        };
        let verdict = match change.verdict {
            Verdict::Better => "better",
            Verdict::Same => "",
            Verdict::Worse => "worse (not checked)",
            Verdict::Regression => "REGRESSION",
        };
        table.add_row([
            change.metric.clone(),
            value(change.before),
            value(change.after),
            change
                .change_pct
                .map_or_else(|| "-".to_owned(), |p| format!("{p:+.1}%")),
            verdict.to_owned(),
        ]);
    }
    let _ = writeln!(out, "{table}");
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(
        out,
        "{} regression(s) beyond the {}% threshold",
        c.regressions, c.threshold_pct
    );
}
