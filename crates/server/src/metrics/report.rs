//! The JSON form of the figures (`GET /api/metrics`). Field names are part of the API.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use store::WriterMetrics;

use super::cells::{CellReading, STATUS_CLASSES};
use super::history::{History, Span, Window};
use super::system::SystemReading;
use super::{Metrics, SAMPLE_INTERVAL};
use crate::limit::LimitTotals;

/// The sliding windows served, with their names in the JSON.
const WINDOWS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// One figure over the last 10 seconds, minute and five minutes, and since start. A window
/// is shorter than its name while the server is younger; `seconds` says what it covers.
#[derive(Debug, Serialize)]
pub struct Windows<T> {
    #[serde(rename = "10s")]
    pub last_10s: T,
    #[serde(rename = "1m")]
    pub last_1m: T,
    #[serde(rename = "5m")]
    pub last_5m: T,
    pub since_start: T,
}

impl<T> Windows<T> {
    fn build(windows: &[Window; 3], since_start: T, mut each: impl FnMut(&Window) -> T) -> Self {
        Windows {
            last_10s: each(&windows[0]),
            last_1m: each(&windows[1]),
            last_5m: each(&windows[2]),
            since_start,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MetricsReport {
    pub uptime_seconds: f64,
    /// Windows end at the sampler's last reading, at most this long ago; `since_start`
    /// request figures are read at the moment of the call.
    pub sample_interval_seconds: f64,
    pub http: HttpReport,
    /// Null when no limit is set.
    pub concurrency_limit: Option<LimitReport>,
    /// The response cache's figures; null when it is off.
    pub cache: Option<crate::cache::CacheReport>,
    pub log_store: LogStoreReport,
    pub system: SystemReport,
}

#[derive(Debug, Serialize)]
pub struct HttpReport {
    /// Requests being handled now, those waiting for a place under the limit included.
    pub in_flight: u64,
    pub connections: Connections,
    pub overall: Windows<Figures>,
    /// Routes that have had requests or have one in flight, in the description's order;
    /// requests that reach no operation (404, 405, CORS preflights) last, as route
    /// `unmatched`.
    pub routes: Vec<RouteReport>,
}

#[derive(Debug, Serialize)]
pub struct Connections {
    pub open: u64,
    pub opened_total: u64,
    pub closed_total: u64,
}

#[derive(Debug, Serialize)]
pub struct RouteReport {
    pub route: String,
    pub method: Option<String>,
    pub operation_id: Option<String>,
    pub in_flight: u64,
    pub windows: Windows<Figures>,
}

/// Request figures over a window.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub seconds: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    /// Counts per status class, `1xx` to `5xx`.
    pub status: BTreeMap<&'static str, u64>,
    pub client_errors: u64,
    pub server_errors: u64,
    pub client_error_rate: f64,
    pub server_error_rate: f64,
    /// Null when the window has no requests.
    pub latency_us: Option<Latency>,
}

/// Latency in microseconds, from the request's arrival to its answer being handed to the
/// connection. Percentiles are within 3.1 % of the true value (see the histogram module);
/// the average and the maximum are exact.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub avg: f64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn per_second(count: f64, seconds: f64) -> f64 {
    if seconds <= 0.0 { 0.0 } else { count / seconds }
}

impl Figures {
    pub fn of(span: &Span, seconds: f64) -> Figures {
        let requests = span.requests();
        let latency = (requests > 0).then(|| {
            let quantile = |q| span.latency.quantile(q, span.max_us).unwrap_or(0);
            Latency {
                avg: ratio(span.sum_us, requests),
                p50: quantile(0.50),
                p95: quantile(0.95),
                p99: quantile(0.99),
                max: span.max_us,
            }
        });
        Figures {
            seconds,
            requests,
            requests_per_second: per_second(requests as f64, seconds),
            status: STATUS_CLASSES.into_iter().zip(span.status).collect(),
            client_errors: span.status[3],
            server_errors: span.status[4],
            client_error_rate: ratio(span.status[3], requests),
            server_error_rate: ratio(span.status[4], requests),
            latency_us: latency,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LimitReport {
    pub max_concurrency: usize,
    pub queue: usize,
    /// Requests holding a place now.
    pub in_flight: u64,
    /// Requests waiting in line now.
    pub waiting: u64,
    pub totals: LimitTotals,
    pub windows: Windows<LimitWindow>,
}

#[derive(Debug, Serialize)]
pub struct LimitWindow {
    pub seconds: f64,
    pub queued: u64,
    pub rejected: u64,
    pub rejected_per_second: f64,
    /// Average time in line of the waits that ended in the window, µs.
    pub avg_queue_wait_us: f64,
}

impl LimitWindow {
    fn of(first: &LimitTotals, last: &LimitTotals, seconds: f64) -> LimitWindow {
        let queued = last.queued.saturating_sub(first.queued);
        let rejected = last.rejected.saturating_sub(first.rejected);
        let waited = last.queue_wait_us.saturating_sub(first.queue_wait_us);
        LimitWindow {
            seconds,
            queued,
            rejected,
            rejected_per_second: per_second(rejected as f64, seconds),
            avg_queue_wait_us: ratio(waited, queued),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LogStoreReport {
    /// Rows in the queue, not yet taken by the writer.
    pub queue_depth: u64,
    pub queue_capacity: u64,
    /// Rows accepted but not yet written: the queue plus the batch being written.
    pub rows_pending: u64,
    /// Requests waiting for room in the queue now.
    pub backpressure_waiting: u64,
    pub totals: WriterMetrics,
    pub windows: Windows<LogWindow>,
}

#[derive(Debug, Serialize)]
pub struct LogWindow {
    pub seconds: f64,
    pub rows_written: u64,
    pub rows_written_per_second: f64,
    pub batches_written: u64,
    pub avg_batch_size: f64,
    /// Average time of one batch transaction, µs.
    pub avg_write_us: f64,
    pub write_errors: u64,
    pub backpressure_waits: u64,
    /// Time requests spent waiting for room in the queue (waits that ended), µs.
    pub backpressure_wait_us: u64,
}

impl LogWindow {
    fn of(first: &WriterMetrics, last: &WriterMetrics, seconds: f64) -> LogWindow {
        let rows = last.rows_written.saturating_sub(first.rows_written);
        let batches = last.batches_written.saturating_sub(first.batches_written);
        LogWindow {
            seconds,
            rows_written: rows,
            rows_written_per_second: per_second(rows as f64, seconds),
            batches_written: batches,
            avg_batch_size: ratio(rows, batches),
            avg_write_us: ratio(
                last.write_us_total.saturating_sub(first.write_us_total),
                batches,
            ),
            write_errors: last.write_errors.saturating_sub(first.write_errors),
            backpressure_waits: last
                .backpressure_waits
                .saturating_sub(first.backpressure_waits),
            backpressure_wait_us: last
                .backpressure_wait_us_total
                .saturating_sub(first.backpressure_wait_us_total),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SystemReport {
    /// The sampler's last reading.
    pub latest: SystemReading,
    pub process_memory_percent: f64,
    pub host_memory_percent: f64,
    /// Connections to the mock port open now.
    pub open_connections: u64,
    /// Rates over the sampler's last interval.
    pub last_interval: SystemWindow,
    pub windows: Windows<SystemWindow>,
}

/// Rates over a window. CPU percentages count one core as 100 for the process, and all
/// cores together as 100 for the host.
#[derive(Debug, Serialize)]
pub struct SystemWindow {
    pub seconds: f64,
    pub process_cpu_percent: f64,
    pub host_cpu_percent: f64,
    pub process_disk_read_bytes_per_second: f64,
    pub process_disk_written_bytes_per_second: f64,
    pub host_network_received_bytes_per_second: f64,
    pub host_network_transmitted_bytes_per_second: f64,
}

impl SystemWindow {
    fn of(window: &Window) -> SystemWindow {
        let (first, last, seconds) = (&window.first.system, &window.last.system, window.seconds);
        let rate = |a: u64, b: u64| per_second(b.saturating_sub(a) as f64, seconds);
        let cpu = last.process_cpu_seconds_total - first.process_cpu_seconds_total;
        let host_cpu = window.last.host_cpu_percent_seconds - window.first.host_cpu_percent_seconds;
        SystemWindow {
            seconds,
            process_cpu_percent: per_second(cpu.max(0.0) * 100.0, seconds),
            host_cpu_percent: per_second(host_cpu.max(0.0), seconds),
            process_disk_read_bytes_per_second: rate(
                first.process_disk_read_bytes_total,
                last.process_disk_read_bytes_total,
            ),
            process_disk_written_bytes_per_second: rate(
                first.process_disk_written_bytes_total,
                last.process_disk_written_bytes_total,
            ),
            host_network_received_bytes_per_second: rate(
                first.host_network_received_bytes_total,
                last.host_network_received_bytes_total,
            ),
            host_network_transmitted_bytes_per_second: rate(
                first.host_network_transmitted_bytes_total,
                last.host_network_transmitted_bytes_total,
            ),
        }
    }
}

/// Cumulative readings of every cell that has had requests or has one in flight, with its
/// largest latency.
pub(super) fn live_spans(metrics: &Metrics, history: &History) -> BTreeMap<usize, Span> {
    let mut spans = BTreeMap::new();
    let mut reading = CellReading::zero();
    for (index, cell) in metrics.cells.iter().enumerate() {
        cell.read_into(&mut reading, false);
        if reading.requests() == 0 && cell.in_flight() == 0 {
            continue;
        }
        cell.read_into(&mut reading, true);
        let max_us = history.max_us(index).max(cell.pending_max());
        spans.insert(index, Span::from_reading(&reading, max_us));
    }
    spans
}

pub(super) fn build(metrics: &Metrics) -> MetricsReport {
    let uptime = metrics.started.elapsed().as_secs_f64();
    let history = metrics.history();
    let windows = WINDOWS.map(|length| history.window(length));
    let since_start = live_spans(metrics, &history);
    let latest = *history.latest();
    let last_interval = SystemWindow::of(&history.window(SAMPLE_INTERVAL));
    let system_since_start = SystemWindow::of(&history.since_origin());
    drop(history);

    let overall = Windows::build(
        &windows,
        Figures::of(&Span::total(since_start.values()), uptime),
        |w| Figures::of(&Span::total(w.cells.values()), w.seconds),
    );
    let zero = Span::zero();
    let routes = since_start
        .iter()
        .map(|(&index, span)| {
            let label = &metrics.labels[index];
            RouteReport {
                route: label.route.clone(),
                method: (!label.method.is_empty()).then(|| label.method.clone()),
                operation_id: label.operation_id.clone(),
                in_flight: metrics.cells[index].in_flight(),
                windows: Windows::build(&windows, Figures::of(span, uptime), |w| {
                    Figures::of(w.cells.get(&index).unwrap_or(&zero), w.seconds)
                }),
            }
        })
        .collect();
    let opened = metrics
        .connections_opened
        .load(std::sync::atomic::Ordering::Relaxed);
    let closed = metrics
        .connections_closed
        .load(std::sync::atomic::Ordering::Relaxed);
    let open = opened.saturating_sub(closed);
    let http = HttpReport {
        in_flight: metrics.cells.iter().map(|c| c.in_flight()).sum(),
        connections: Connections {
            open,
            opened_total: opened,
            closed_total: closed,
        },
        overall,
        routes,
    };

    let concurrency_limit = metrics.limit.as_ref().map(|limit| {
        let totals = limit.totals();
        let config = limit.config();
        LimitReport {
            max_concurrency: config.max_concurrency,
            queue: config.queue,
            in_flight: limit.in_flight(),
            waiting: limit.waiting(),
            totals,
            windows: Windows::build(
                &windows,
                LimitWindow::of(&LimitTotals::default(), &totals, uptime),
                |w| LimitWindow::of(&w.first.limit, &w.last.limit, w.seconds),
            ),
        }
    });

    let writer = metrics.writer.snapshot();
    let log_store = LogStoreReport {
        queue_depth: writer.queue_depth,
        queue_capacity: writer.queue_capacity,
        rows_pending: writer.rows_pending,
        backpressure_waiting: writer.backpressure_waiting,
        totals: writer,
        windows: Windows::build(
            &windows,
            LogWindow::of(&WriterMetrics::default(), &writer, uptime),
            |w| LogWindow::of(&w.first.writer, &w.last.writer, w.seconds),
        ),
    };

    let reading = latest.system;
    let memory_total = reading.host_memory_total_bytes;
    let system = SystemReport {
        latest: reading,
        process_memory_percent: ratio(reading.process_resident_memory_bytes, memory_total) * 100.0,
        host_memory_percent: ratio(reading.host_memory_used_bytes, memory_total) * 100.0,
        open_connections: open,
        last_interval,
        windows: Windows::build(&windows, system_since_start, SystemWindow::of),
    };

    MetricsReport {
        uptime_seconds: uptime,
        sample_interval_seconds: SAMPLE_INTERVAL.as_secs_f64(),
        http,
        concurrency_limit,
        cache: metrics.cache.as_ref().map(|cache| cache.report()),
        log_store,
        system,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::cells::RouteCell;

    #[test]
    fn figures_of_a_span() {
        let cell = RouteCell::new();
        for us in [100, 200, 300] {
            cell.record(200, us);
        }
        cell.record(404, 1_000);
        cell.record(503, 400);
        let mut reading = CellReading::zero();
        cell.read_into(&mut reading, true);
        let figures = Figures::of(&Span::from_reading(&reading, cell.take_max()), 2.0);
        assert_eq!((figures.requests, figures.requests_per_second), (5, 2.5));
        assert_eq!((figures.client_errors, figures.server_errors), (1, 1));
        assert_eq!(
            (figures.client_error_rate, figures.server_error_rate),
            (0.2, 0.2)
        );
        assert_eq!(figures.status["2xx"], 3);
        let latency = figures.latency_us.expect("latency");
        assert_eq!((latency.avg, latency.max), (400.0, 1_000));
        // 300 lies in the bucket 288..=303, reported as its middle.
        assert_eq!((latency.p50, latency.p99), (295, 1_000));

        let empty = Figures::of(&Span::zero(), 0.0);
        assert_eq!(
            (empty.requests_per_second, empty.client_error_rate),
            (0.0, 0.0)
        );
        assert!(empty.latency_us.is_none());
    }

    #[test]
    fn log_window_rates_and_averages() {
        let first = WriterMetrics {
            rows_written: 100,
            batches_written: 10,
            write_us_total: 5_000,
            backpressure_wait_us_total: 7,
            ..WriterMetrics::default()
        };
        let last = WriterMetrics {
            rows_written: 400,
            batches_written: 13,
            write_us_total: 8_000,
            backpressure_wait_us_total: 1_007,
            ..WriterMetrics::default()
        };
        let window = LogWindow::of(&first, &last, 10.0);
        assert_eq!(
            (window.rows_written, window.rows_written_per_second),
            (300, 30.0)
        );
        assert_eq!(
            (window.avg_batch_size, window.avg_write_us),
            (100.0, 1_000.0)
        );
        assert_eq!(window.backpressure_wait_us, 1_000);
    }
}
