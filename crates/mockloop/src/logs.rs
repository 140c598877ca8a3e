//! `mockloop logs`: the request log from the shell, as a table or JSON.

use std::process::ExitCode;

use std::fmt::Write as _;

use anyhow::{Context, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use store::{Analysis, Page, RequestFilter, Store};

use crate::cli::LogsArgs;
use crate::exit;

pub fn run(args: LogsArgs) -> Result<ExitCode> {
    let filter = match filter_from(&args) {
        Ok(filter) => filter,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    if !args.db.exists() {
        eprintln!(
            "error: no request log at '{}' (set --db or MOCKLOOP_DB)",
            args.db.display()
        );
        return Ok(ExitCode::from(exit::USAGE));
    }
    let store = Store::open(&args.db, store::StoreOptions::default())
        .with_context(|| format!("cannot open the request log '{}'", args.db.display()))?;
    let mut out = String::new();
    if args.analyze {
        let analysis = store.analyze(&filter)?;
        if args.json {
            out = serde_json::to_string_pretty(&analysis)?;
            out.push('\n');
        } else {
            print_analysis(&mut out, &analysis);
        }
    } else {
        let page = store.list(&filter)?;
        if args.json {
            out = serde_json::to_string_pretty(&page)?;
            out.push('\n');
        } else {
            print_page(&mut out, &page);
        }
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to stdout. A reader that goes away early (`| head`) is not an error.
pub(crate) fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

fn filter_from(args: &LogsArgs) -> Result<RequestFilter, store::FilterError> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut push = |key, value: &Option<String>| {
        if let Some(v) = value {
            pairs.push((key, v.clone()));
        }
    };
    push("method", &args.method);
    push("status", &args.status);
    push("time_from", &args.time_from);
    push("time_to", &args.time_to);
    push("path", &args.path);
    push("path_regex", &args.path_regex);
    pairs.push(("limit", args.limit.to_string()));
    pairs.push(("offset", args.offset.to_string()));
    RequestFilter::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

fn print_page(out: &mut String, page: &Page) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "id",
        "time (UTC)",
        "method",
        "path",
        "status",
        "ms",
        "route",
        "client",
    ]);
    for row in &page.items {
        let path = if row.query.is_empty() {
            row.path.clone()
        } else {
            format!("{}?{}", row.path, row.query)
        };
        table.add_row([
            row.id.to_string(),
            row.timestamp.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            row.method.clone(),
            path,
            row.status.to_string(),
            format!("{:.2}", row.duration_us as f64 / 1000.0),
            row.route.clone().unwrap_or_default(),
            row.client_addr.clone().unwrap_or_default(),
        ]);
    }
    let _ = writeln!(out, "{table}");
    let _ = writeln!(
        out,
        "{} of {} matching requests (offset {})",
        page.items.len(),
        page.total,
        page.offset
    );
}

fn print_analysis(out: &mut String, a: &Analysis) {
    let _ = writeln!(out, "requests: {}", a.total);
    if a.total == 0 {
        return;
    }
    if let Some(range) = &a.time_range {
        let _ = writeln!(out, "from {} to {}", range.first, range.last);
    }
    let e = &a.errors;
    let _ = writeln!(
        out,
        "error rate: {:.2}% (4xx {} = {:.2}%, 5xx {} = {:.2}%)",
        e.error_rate * 100.0,
        e.client_errors,
        e.client_error_rate * 100.0,
        e.server_errors,
        e.server_error_rate * 100.0
    );
    if let Some(l) = &a.latency_us {
        let _ = writeln!(
            out,
            "latency ms: avg {:.2}  p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
            l.avg / 1000.0,
            l.p50 as f64 / 1000.0,
            l.p95 as f64 / 1000.0,
            l.p99 as f64 / 1000.0,
            l.max as f64 / 1000.0
        );
    }
    let mut statuses = Table::new();
    statuses
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["status", "count"]);
    for (status, count) in &a.status {
        statuses.add_row([status.to_string(), count.to_string()]);
    }
    let mut methods = Table::new();
    methods
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["method", "count"]);
    for (method, count) in &a.methods {
        methods.add_row([method.clone(), count.to_string()]);
    }
    let _ = writeln!(out, "{statuses}\n{methods}");
    let mut routes = Table::new();
    routes
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["route", "count", "errors", "avg ms", "p95 ms", "max ms"]);
    for r in &a.routes {
        routes.add_row([
            r.route.clone().unwrap_or_else(|| "(unmatched)".to_owned()),
            r.count.to_string(),
            r.errors.to_string(),
            format!("{:.2}", r.avg_us / 1000.0),
            format!("{:.2}", r.p95_us as f64 / 1000.0),
            format!("{:.2}", r.max_us as f64 / 1000.0),
        ]);
    }
    let _ = writeln!(out, "{routes}");
    if !a.per_minute.is_empty() {
        let mut minutes = Table::new();
        minutes
            .load_preset(UTF8_FULL_CONDENSED)
            .set_header(["minute (UTC)", "requests"]);
        for m in &a.per_minute {
            minutes.add_row([
                m.minute.format("%Y-%m-%d %H:%M").to_string(),
                m.count.to_string(),
            ]);
        }
        let _ = writeln!(out, "{minutes}");
    }
}
