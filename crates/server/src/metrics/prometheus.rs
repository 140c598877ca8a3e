//! The Prometheus text exposition format (version 0.0.4) of the figures (`GET /metrics`).
//!
//! Counters are cumulative and windows are left to the Prometheus server (`rate()`); the
//! series of a route appear with its first request. Process and host figures are those of
//! the sampler's last reading, at most a second old.

use std::fmt::{Display, Write as _};
use std::sync::atomic::Ordering::Relaxed;

use crate::cache::LevelCounts;

use super::Metrics;
use super::cells::{PROMETHEUS_BOUNDS_US, STATUS_CLASSES};

/// The media type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes HELP text: backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Seconds from microseconds, as the format wants.
fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

/// Builds the text one metric family at a time.
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

pub(super) fn render(metrics: &Metrics) -> String {
    let mut x = Exposition {
        out: String::with_capacity(16 * 1024),
    };
    http(&mut x, metrics);
    limit(&mut x, metrics);
    cache(&mut x, metrics);
    log_store(&mut x, metrics);
    system(&mut x, metrics);
    x.out
}

fn http(x: &mut Exposition, metrics: &Metrics) {
    // Routes that have had a request or have one in flight, with their labels.
    let active: Vec<(usize, [(&str, &str); 2])> = metrics
        .cells
        .iter()
        .enumerate()
        .filter(|(_, cell)| cell.requests() > 0 || cell.in_flight() > 0)
        .map(|(i, _)| {
            let label = &metrics.labels[i];
            (
                i,
                [
                    ("route", label.route.as_str()),
                    ("method", label.method.as_str()),
                ],
            )
        })
        .collect();

    let name = "mockloop_http_requests_total";
    x.family(
        name,
        "counter",
        "Requests answered on the mock port, by route template, method and status class; \
         route \"unmatched\" (with an empty method) holds requests that reach no operation.",
    );
    let mut reading = super::cells::CellReading::zero();
    for (i, labels) in &active {
        metrics.cells[*i].read_into(&mut reading, false);
        for (class, count) in STATUS_CLASSES.iter().zip(reading.status) {
            if count > 0 {
                let [route, method] = labels;
                x.sample(name, &[*route, *method, ("status_class", class)], count);
            }
        }
    }

    let name = "mockloop_http_request_duration_seconds";
    x.family(
        name,
        "histogram",
        "Time from a request's arrival to its answer being handed to the connection.",
    );
    let bucket = format!("{name}_bucket");
    for (i, labels) in &active {
        let (counts, sum_us) = metrics.cells[*i].prometheus_counts();
        let mut cumulative = 0;
        for (bound, count) in PROMETHEUS_BOUNDS_US.iter().zip(counts) {
            cumulative += count;
            let le = seconds(*bound).to_string();
            x.sample(&bucket, &[labels[0], labels[1], ("le", &le)], cumulative);
        }
        cumulative += counts[PROMETHEUS_BOUNDS_US.len()];
        x.sample(&bucket, &[labels[0], labels[1], ("le", "+Inf")], cumulative);
        x.sample(&format!("{name}_sum"), labels, seconds(sum_us));
        x.sample(&format!("{name}_count"), labels, cumulative);
    }

    let name = "mockloop_http_requests_in_flight";
    x.family(
        name,
        "gauge",
        "Requests being handled now, by route template and method.",
    );
    for (i, labels) in &active {
        x.sample(name, labels, metrics.cells[*i].in_flight());
    }

    let opened = metrics.connections_opened.load(Relaxed);
    let closed = metrics.connections_closed.load(Relaxed);
    x.single(
        "mockloop_http_connections_opened_total",
        "counter",
        "Connections accepted on the mock port.",
        opened,
    );
    x.single(
        "mockloop_http_connections_open",
        "gauge",
        "Connections to the mock port open now.",
        opened.saturating_sub(closed),
    );
}

fn limit(x: &mut Exposition, metrics: &Metrics) {
    let Some(limit) = &metrics.limit else {
        return;
    };
    let config = limit.config();
    let totals = limit.totals();
    x.single(
        "mockloop_limit_max_concurrency",
        "gauge",
        "Requests the mock handles at once.",
        config.max_concurrency,
    );
    x.single(
        "mockloop_limit_queue_capacity",
        "gauge",
        "Requests that may wait for a place before more are rejected.",
        config.queue,
    );
    x.single(
        "mockloop_limit_in_flight",
        "gauge",
        "Requests holding a place now.",
        limit.in_flight(),
    );
    x.single(
        "mockloop_limit_waiting",
        "gauge",
        "Requests waiting for a place now.",
        limit.waiting(),
    );
    x.single(
        "mockloop_limit_queued_total",
        "counter",
        "Requests that had to wait for a place.",
        totals.queued,
    );
    x.single(
        "mockloop_limit_rejected_total",
        "counter",
        "Requests answered 503 because every place and the whole queue were taken.",
        totals.rejected,
    );
    x.single(
        "mockloop_limit_queue_wait_seconds_total",
        "counter",
        "Time spent waiting for a place, by waits that have ended.",
        seconds(totals.queue_wait_us),
    );
}

/// Reads one figure of a cache level.
type ReadCount = fn(&LevelCounts) -> u64;

fn cache(x: &mut Exposition, metrics: &Metrics) {
    let Some(cache) = &metrics.cache else {
        return;
    };
    let report = cache.report();
    let mut levels = vec![("memory", report.memory.counts)];
    if let Some(redis) = &report.redis {
        levels.push(("redis", redis.counts));
    }
    let families: [(&str, &str, ReadCount); 3] = [
        (
            "mockloop_cache_hits_total",
            "Generated bodies served from the response cache, by level.",
            |c| c.hits,
        ),
        (
            "mockloop_cache_misses_total",
            "Lookups that found nothing in the response cache, by level.",
            |c| c.misses,
        ),
        (
            "mockloop_cache_errors_total",
            "Failed calls to a response cache level (Redis); the body was generated instead.",
            |c| c.errors,
        ),
    ];
    for (name, help, read) in families {
        x.family(name, "counter", help);
        for (level, counts) in &levels {
            x.sample(name, &[("level", level)], read(counts));
        }
    }
    x.single(
        "mockloop_cache_bypassed_total",
        "counter",
        "Requests whose Cache-Control (no-cache, no-store) skipped the response cache.",
        report.bypassed,
    );
    x.single(
        "mockloop_cache_entries",
        "gauge",
        "Entries in the memory level of the response cache.",
        report.memory.entries,
    );
    x.single(
        "mockloop_cache_bytes",
        "gauge",
        "Bytes held by the memory level of the response cache (keys and bodies).",
        report.memory.bytes,
    );
}

fn log_store(x: &mut Exposition, metrics: &Metrics) {
    let w = metrics.writer.snapshot();
    let counters = [
        (
            "mockloop_log_rows_accepted_total",
            "Request log rows handed to the writer.",
            w.rows_accepted,
        ),
        (
            "mockloop_log_rows_written_total",
            "Request log rows committed to the database.",
            w.rows_written,
        ),
        (
            "mockloop_log_rows_spilled_total",
            "Request log rows written to the spill file instead of the database.",
            w.rows_spilled,
        ),
        (
            "mockloop_log_rows_lost_total",
            "Request log rows neither written nor spilled.",
            w.rows_lost,
        ),
        (
            "mockloop_log_batches_written_total",
            "Batches (transactions) committed by the request log writer.",
            w.batches_written,
        ),
        (
            "mockloop_log_write_errors_total",
            "Failed attempts to write a batch.",
            w.write_errors,
        ),
        (
            "mockloop_log_backpressure_waits_total",
            "Requests that found the log queue full and waited for room.",
            w.backpressure_waits,
        ),
    ];
    for (name, help, value) in counters {
        x.single(name, "counter", help, value);
    }
    x.single(
        "mockloop_log_write_seconds_total",
        "counter",
        "Time spent in committed batch transactions.",
        seconds(w.write_us_total),
    );
    x.single(
        "mockloop_log_backpressure_wait_seconds_total",
        "counter",
        "Time requests spent waiting for room in the log queue, by waits that have ended.",
        seconds(w.backpressure_wait_us_total),
    );
    let gauges = [
        (
            "mockloop_log_queue_depth",
            "Rows in the log queue, not yet taken by the writer.",
            w.queue_depth,
        ),
        (
            "mockloop_log_queue_capacity",
            "Rows the log queue holds.",
            w.queue_capacity,
        ),
        (
            "mockloop_log_rows_pending",
            "Rows accepted and not yet written: the queue and the batch being written.",
            w.rows_pending,
        ),
        (
            "mockloop_log_backpressure_waiting",
            "Requests waiting for room in the log queue now.",
            w.backpressure_waiting,
        ),
        (
            "mockloop_log_batch_size_max",
            "The largest batch written so far, in rows.",
            w.max_batch_size,
        ),
    ];
    for (name, help, value) in gauges {
        x.single(name, "gauge", help, value);
    }
}

fn system(x: &mut Exposition, metrics: &Metrics) {
    let latest = *metrics.history().latest();
    let s = latest.system;
    x.single(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent by the process, in seconds.",
        s.process_cpu_seconds_total,
    );
    x.single(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of the process, in bytes.",
        s.process_resident_memory_bytes,
    );
    x.single(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory of the process, in bytes.",
        s.process_virtual_memory_bytes,
    );
    x.single(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch, in seconds.",
        s.process_start_time_seconds,
    );
    if let Some(fds) = s.process_open_fds {
        x.single(
            "process_open_fds",
            "gauge",
            "Open file descriptors of the process.",
            fds,
        );
    }
    x.single(
        "mockloop_process_disk_read_bytes_total",
        "counter",
        "Bytes the process read from storage.",
        s.process_disk_read_bytes_total,
    );
    x.single(
        "mockloop_process_disk_written_bytes_total",
        "counter",
        "Bytes the process wrote to storage.",
        s.process_disk_written_bytes_total,
    );
    x.single(
        "mockloop_host_cpu_usage_ratio",
        "gauge",
        "Busy share of all host CPUs over the last sampling interval, 0 to 1.",
        s.host_cpu_percent / 100.0,
    );
    x.single(
        "mockloop_host_memory_total_bytes",
        "gauge",
        "Memory of the host, in bytes.",
        s.host_memory_total_bytes,
    );
    x.single(
        "mockloop_host_memory_used_bytes",
        "gauge",
        "Memory of the host in use, in bytes.",
        s.host_memory_used_bytes,
    );
    x.single(
        "mockloop_host_network_received_bytes_total",
        "counter",
        "Bytes received by all network interfaces of the host, loopback included.",
        s.host_network_received_bytes_total,
    );
    x.single(
        "mockloop_host_network_transmitted_bytes_total",
        "counter",
        "Bytes sent by all network interfaces of the host, loopback included.",
        s.host_network_transmitted_bytes_total,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"/a"b\c"#), r#"/a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn samples_are_written_with_labels_and_plain_numbers() {
        let mut x = Exposition { out: String::new() };
        x.family("m_total", "counter", "Things.");
        x.sample("m_total", &[("route", "/a/{id}"), ("method", "GET")], 3);
        x.sample("m_total", &[], 0.000_1);
        x.sample("m_seconds", &[("le", "+Inf")], seconds(2_500_000));
        assert_eq!(
            x.out,
            "# HELP m_total Things.\n# TYPE m_total counter\n\
             m_total{route=\"/a/{id}\",method=\"GET\"} 3\nm_total 0.0001\n\
             m_seconds{le=\"+Inf\"} 2.5\n"
        );
    }

    #[test]
    fn bucket_bounds_print_as_plain_seconds() {
        let bounds: Vec<String> = PROMETHEUS_BOUNDS_US
            .iter()
            .map(|b| seconds(*b).to_string())
            .collect();
        assert_eq!(bounds[0], "0.0001");
        assert_eq!(bounds[3], "0.001");
        assert_eq!(bounds[15], "10");
    }
}
