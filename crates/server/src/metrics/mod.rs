//! Live figures of the mock: requests per route, the log writer, the concurrency limit, the
//! process and the host; served as JSON and in the Prometheus text format.
//!
//! Requests only touch their route's cell (relaxed atomics, no lock, no allocation). A
//! sampler thread reads everything once a second into [`history::History`], from which the
//! sliding windows are computed when someone asks; the process and host figures are read
//! there too, never on a request.

mod cells;
mod histogram;
mod history;
mod prometheus;
mod report;
mod system;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use store::WriterStats;

use crate::cache::ResponseCache;
use crate::limit::ConcurrencyLimit;
use cells::RouteCell;
use history::{History, Scalars};
use system::SystemProbe;

pub use prometheus::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;
pub use report::MetricsReport;

/// How often the sampler reads the counters.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The labels of a route cell.
#[derive(Debug, Clone)]
pub struct RouteLabel {
    /// The path template as declared, or `unmatched`.
    pub route: String,
    /// Empty for the unmatched cell, whose requests may use any method.
    pub method: String,
    pub operation_id: Option<String>,
}

/// Every figure of the mock, shared by the listener, the sampler and the admin API.
pub struct Metrics {
    started: Instant,
    labels: Vec<RouteLabel>,
    /// One per operation, in [`spec::Api::operations`] order, then the unmatched cell.
    cells: Box<[RouteCell]>,
    connections_opened: AtomicU64,
    connections_closed: AtomicU64,
    writer: WriterStats,
    limit: Option<Arc<ConcurrencyLimit>>,
    /// The response cache, whose counters it keeps itself; None when off.
    cache: Option<Arc<ResponseCache>>,
    /// Written by the sampler once a second, read by reports; never touched by requests.
    history: Mutex<History>,
    /// Kept by the sampler: the host CPU integral needs the previous reading's time.
    probe: Mutex<ProbeState>,
}

struct ProbeState {
    probe: SystemProbe,
    at: Instant,
    host_cpu_percent_seconds: f64,
}

/// A request counted as in flight on its route until dropped; [`Flight::finish`] records
/// its outcome.
pub struct Flight<'a> {
    cell: &'a RouteCell,
    started: Instant,
}

impl Flight<'_> {
    /// Records the answer's status and the time since the request arrived.
    pub fn finish(self, status: u16) {
        let us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.cell.record(status, us);
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.cell.leave();
    }
}

impl Metrics {
    /// Cells for `api`'s operations plus one for unmatched requests, and a first sample.
    pub fn new(
        api: &spec::Api,
        writer: WriterStats,
        limit: Option<Arc<ConcurrencyLimit>>,
        cache: Option<Arc<ResponseCache>>,
    ) -> Metrics {
        let mut labels: Vec<RouteLabel> = api
            .operations
            .iter()
            .map(|op| RouteLabel {
                route: op.path.clone(),
                method: op.method.as_str().to_owned(),
                operation_id: op.operation_id.clone(),
            })
            .collect();
        labels.push(RouteLabel {
            route: "unmatched".to_owned(),
            method: String::new(),
            operation_id: None,
        });
        let cells: Box<[RouteCell]> = labels.iter().map(|_| RouteCell::new()).collect();
        let started = Instant::now();
        let mut probe = SystemProbe::new();
        let scalars = Scalars {
            writer: writer.snapshot(),
            limit: limit.as_ref().map(|l| l.totals()).unwrap_or_default(),
            system: probe.read(),
            ..Scalars::default()
        };
        Metrics {
            started,
            history: Mutex::new(History::new(cells.len(), started, scalars)),
            labels,
            cells,
            connections_opened: AtomicU64::new(0),
            connections_closed: AtomicU64::new(0),
            writer,
            limit,
            cache,
            probe: Mutex::new(ProbeState {
                probe,
                at: started,
                host_cpu_percent_seconds: 0.0,
            }),
        }
    }

    /// The cell of operation `op`, or of unmatched requests.
    fn cell(&self, op: Option<usize>) -> &RouteCell {
        let unmatched = self.cells.len() - 1;
        &self.cells[op.filter(|&op| op < unmatched).unwrap_or(unmatched)]
    }

    /// Counts a request to operation `op` (None: no operation) as in flight from `started`.
    pub fn start(&self, op: Option<usize>, started: Instant) -> Flight<'_> {
        let cell = self.cell(op);
        cell.enter();
        Flight { cell, started }
    }

    /// The response cache, when there is one.
    pub fn cache(&self) -> Option<&Arc<ResponseCache>> {
        self.cache.as_ref()
    }

    pub fn connection_opened(&self) {
        self.connections_opened.fetch_add(1, Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections_closed.fetch_add(1, Relaxed);
    }

    fn history(&self) -> MutexGuard<'_, History> {
        // A panic while sampling leaves the history usable: every tick is whole.
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads every counter and the system into a new tick. Called by the sampler.
    pub fn sample(&self) {
        let scalars = {
            let mut state = self.probe.lock().unwrap_or_else(|p| p.into_inner());
            let system = state.probe.read();
            let now = Instant::now();
            let interval = now.duration_since(state.at).as_secs_f64();
            state.at = now;
            state.host_cpu_percent_seconds += system.host_cpu_percent * interval;
            Scalars {
                writer: self.writer.snapshot(),
                limit: self.limit.as_ref().map(|l| l.totals()).unwrap_or_default(),
                connections_opened: self.connections_opened.load(Relaxed),
                connections_closed: self.connections_closed.load(Relaxed),
                system,
                host_cpu_percent_seconds: state.host_cpu_percent_seconds,
            }
        };
        self.history().record(Instant::now(), &self.cells, scalars);
    }

    /// Starts the sampler thread; it stops when the returned handle is dropped.
    pub fn start_sampler(self: &Arc<Self>) -> std::io::Result<Sampler> {
        let (stop, stopped) = mpsc::channel::<()>();
        let metrics = self.clone();
        let thread = std::thread::Builder::new()
            .name("mockloop-metrics".to_owned())
            .spawn(move || {
                let mut next = Instant::now() + SAMPLE_INTERVAL;
                loop {
                    let wait = next.saturating_duration_since(Instant::now());
                    match stopped.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                    metrics.sample();
                    // Keep to the grid; after a long stall, start a new one rather than
                    // sampling in a burst.
                    next += SAMPLE_INTERVAL;
                    if next < Instant::now() {
                        next = Instant::now() + SAMPLE_INTERVAL;
                    }
                }
            })?;
        Ok(Sampler {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Everything, as served by `GET /api/metrics`.
    pub fn report(&self) -> MetricsReport {
        report::build(self)
    }

    /// Everything in the Prometheus text format, as served by `GET /metrics`.
    pub fn prometheus(&self) -> String {
        prometheus::render(self)
    }
}

/// The running sampler thread; dropping it stops the thread.
pub struct Sampler {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
