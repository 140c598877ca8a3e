//! The sampler's record of the last five minutes, from which sliding windows are computed.
//!
//! Every second the sampler reads the cumulative counters. Scalar totals (log writer,
//! concurrency limit, connections, system) are kept as they are read, so a window's figure
//! is the difference between the newest tick and the tick one window earlier. Route
//! histograms are too large to copy every second for every route, so a tick keeps only
//! what changed since the previous one (the routes that saw requests, and of those the
//! buckets that moved); a window adds up the ticks inside it. Both give the same numbers.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use store::WriterMetrics;

use super::cells::{CellReading, RouteCell};
use super::histogram::Counts;
use super::system::SystemReading;
use crate::limit::LimitTotals;

/// The longest window served.
pub const KEPT: Duration = Duration::from_secs(300);

/// How far a tick may be off its place for a window still to start at it (ticks come about
/// a second apart, a little late under load).
const TOLERANCE: Duration = Duration::from_millis(500);

/// Cumulative totals that are not per route, as read at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scalars {
    pub writer: WriterMetrics,
    pub limit: LimitTotals,
    pub connections_opened: u64,
    pub connections_closed: u64,
    pub system: SystemReading,
    /// Host CPU percent integrated over time (percent × seconds), so that a window's
    /// average is a difference like the other totals.
    pub host_cpu_percent_seconds: f64,
}

/// What one route did between two ticks.
#[derive(Debug)]
struct CellDelta {
    cell: usize,
    status: [u64; 5],
    sum_us: u64,
    max_us: u64,
    /// Buckets that moved: (index, added count).
    buckets: Vec<(u16, u64)>,
}

#[derive(Debug)]
struct Tick {
    at: Instant,
    cells: Vec<CellDelta>,
    scalars: Scalars,
}

/// Figures of one route, or of all, over a stretch of time.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub status: [u64; 5],
    pub sum_us: u64,
    pub max_us: u64,
    pub latency: Counts,
}

impl Span {
    pub fn zero() -> Span {
        Span {
            status: [0; 5],
            sum_us: 0,
            max_us: 0,
            latency: Counts::zero(),
        }
    }

    pub fn requests(&self) -> u64 {
        self.status.iter().sum()
    }

    fn add(&mut self, other: &Span) {
        for (mine, theirs) in self.status.iter_mut().zip(other.status) {
            *mine += theirs;
        }
        self.sum_us += other.sum_us;
        self.max_us = self.max_us.max(other.max_us);
        for (mine, theirs) in self.latency.buckets.iter_mut().zip(&other.latency.buckets) {
            *mine += theirs;
        }
    }

    fn add_delta(&mut self, delta: &CellDelta) {
        for (mine, theirs) in self.status.iter_mut().zip(delta.status) {
            *mine += theirs;
        }
        self.sum_us += delta.sum_us;
        self.max_us = self.max_us.max(delta.max_us);
        for &(index, count) in &delta.buckets {
            self.latency.buckets[usize::from(index)] += count;
        }
    }

    /// A cumulative reading with its largest value as a span since start.
    pub fn from_reading(reading: &CellReading, max_us: u64) -> Span {
        Span {
            status: reading.status,
            sum_us: reading.sum_us,
            max_us,
            latency: reading.latency.clone(),
        }
    }

    /// The sum of `spans`.
    pub fn total<'a>(spans: impl IntoIterator<Item = &'a Span>) -> Span {
        let mut total = Span::zero();
        for span in spans {
            total.add(span);
        }
        total
    }
}

/// A window's figures: per route (only routes with requests in it) and the scalar totals at
/// both ends.
#[derive(Debug)]
pub struct Window {
    pub seconds: f64,
    pub cells: BTreeMap<usize, Span>,
    pub first: Scalars,
    pub last: Scalars,
}

/// Ticks of the last [`KEPT`], oldest first, and what the sampler needs to compute the next.
#[derive(Debug)]
pub struct History {
    ticks: VecDeque<Tick>,
    /// The cumulative reading of each cell at the newest tick.
    previous: Vec<CellReading>,
    /// The largest latency of each cell up to the newest tick.
    max_us: Vec<u64>,
    /// Scratch space for one cell's reading.
    scratch: CellReading,
    /// The first tick's time and scalars, for figures since start.
    origin: (Instant, Scalars),
}

impl History {
    /// Starts with a tick of all zeros at `at`, the base of every window until more come.
    pub fn new(cells: usize, at: Instant, scalars: Scalars) -> History {
        let mut ticks = VecDeque::with_capacity(KEPT.as_secs() as usize + 2);
        ticks.push_back(Tick {
            at,
            cells: Vec::new(),
            scalars,
        });
        History {
            ticks,
            previous: vec![CellReading::zero(); cells],
            max_us: vec![0; cells],
            scratch: CellReading::zero(),
            origin: (at, scalars),
        }
    }

    /// Reads every cell and stores what changed since the previous tick, with `scalars`.
    pub fn record(&mut self, at: Instant, cells: &[RouteCell], scalars: Scalars) {
        let mut deltas = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
            let previous = &mut self.previous[index];
            cell.read_into(&mut self.scratch, false);
            let max_us = cell.take_max();
            if self.scratch.status == previous.status && max_us == 0 {
                continue;
            }
            cell.read_into(&mut self.scratch, true);
            let mut delta = CellDelta {
                cell: index,
                status: [0; 5],
                sum_us: self.scratch.sum_us.saturating_sub(previous.sum_us),
                max_us,
                buckets: Vec::new(),
            };
            for (slot, (now, before)) in delta
                .status
                .iter_mut()
                .zip(self.scratch.status.iter().zip(previous.status))
            {
                *slot = now.saturating_sub(before);
            }
            let now = &self.scratch.latency.buckets;
            for (bucket, (&now, &before)) in now.iter().zip(&previous.latency.buckets).enumerate() {
                if now > before {
                    // Bucket indexes fit in u16: there are fewer than 500.
                    delta.buckets.push((bucket as u16, now - before));
                }
            }
            std::mem::swap(previous, &mut self.scratch);
            self.max_us[index] = self.max_us[index].max(max_us);
            deltas.push(delta);
        }
        self.ticks.push_back(Tick {
            at,
            cells: deltas,
            scalars,
        });
        let newest = at;
        while self.ticks.len() > 2 && newest.duration_since(self.ticks[1].at) >= KEPT {
            self.ticks.pop_front();
        }
    }

    /// The scalars of the newest tick.
    pub fn latest(&self) -> &Scalars {
        &self
            .ticks
            .back()
            .expect("history starts with a tick")
            .scalars
    }

    /// The scalars between the first tick and the newest, as a window.
    pub fn since_origin(&self) -> Window {
        let last = self.ticks.back().expect("history starts with a tick");
        Window {
            seconds: last.at.duration_since(self.origin.0).as_secs_f64(),
            cells: BTreeMap::new(),
            first: self.origin.1,
            last: last.scalars,
        }
    }

    /// The largest latency of `cell` up to the newest tick.
    pub fn max_us(&self, cell: usize) -> u64 {
        self.max_us[cell]
    }

    /// The figures between the tick about `length` before the newest one and the newest.
    /// Shorter when the history is: right after start a window covers the time since.
    pub fn window(&self, length: Duration) -> Window {
        let last = self.ticks.back().expect("history starts with a tick");
        let first_index = self
            .ticks
            .iter()
            .position(|tick| last.at.duration_since(tick.at) <= length + TOLERANCE)
            .unwrap_or(self.ticks.len() - 1);
        let first = &self.ticks[first_index];
        let mut cells: BTreeMap<usize, Span> = BTreeMap::new();
        // A tick holds what changed up to it, so the first tick's own changes are outside.
        for tick in self.ticks.iter().skip(first_index + 1) {
            for delta in &tick.cells {
                cells
                    .entry(delta.cell)
                    .or_insert_with(Span::zero)
                    .add_delta(delta);
            }
        }
        Window {
            seconds: last.at.duration_since(first.at).as_secs_f64(),
            cells,
            first: first.scalars,
            last: last.scalars,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(rows: u64) -> Scalars {
        Scalars {
            writer: WriterMetrics {
                rows_written: rows,
                ..WriterMetrics::default()
            },
            ..Scalars::default()
        }
    }

    /// Two routes; each second `second` requests of `second` ms go to route 0, and one
    /// 404 of 50 µs to route 1 every other second.
    fn run(seconds: u64) -> (History, Instant) {
        let cells = [RouteCell::new(), RouteCell::new()];
        let start = Instant::now();
        let mut history = History::new(2, start, scalars(0));
        for second in 1..=seconds {
            for _ in 0..second {
                cells[0].record(200, second * 1000);
            }
            if second % 2 == 0 {
                cells[1].record(404, 50);
            }
            let at = start + Duration::from_secs(second);
            history.record(at, &cells, scalars(second * 10));
        }
        (history, start)
    }

    #[test]
    fn windows_are_differences_between_ticks() {
        let (history, _) = run(20);
        let window = history.window(Duration::from_secs(10));
        assert_eq!(window.seconds, 10.0);
        // Seconds 11..=20: 11 + 12 + ... + 20 requests to route 0, five 404s to route 1.
        let route = &window.cells[&0];
        assert_eq!(route.requests(), (11..=20).sum::<u64>());
        assert_eq!(route.status[1], route.requests());
        assert_eq!(route.max_us, 20_000);
        assert_eq!(route.latency.total(), route.requests());
        assert_eq!(window.cells[&1].status[3], 5);
        assert_eq!(
            window.last.writer.rows_written - window.first.writer.rows_written,
            100
        );
        // The slowest 12 of 155 requests took 20 ms, so p95 lies in the 20 ms bucket.
        let p95 = route.latency.quantile(0.95, route.max_us).unwrap();
        assert!((19_400..=20_000).contains(&p95), "{p95}");
    }

    #[test]
    fn a_young_history_gives_a_shorter_window() {
        let (history, _) = run(3);
        let window = history.window(Duration::from_secs(60));
        assert_eq!(window.seconds, 3.0);
        assert_eq!(window.cells[&0].requests(), 6);
        assert_eq!(window.cells[&1].requests(), 1);
        let empty = History::new(1, Instant::now(), Scalars::default());
        let window = empty.window(Duration::from_secs(10));
        assert_eq!((window.seconds, window.cells.len()), (0.0, 0));
    }

    #[test]
    fn old_ticks_are_dropped_but_five_minutes_stay() {
        let (history, _) = run(400);
        assert_eq!(history.ticks.len(), 301);
        let window = history.window(KEPT);
        assert_eq!(window.seconds, 300.0);
        assert_eq!(window.cells[&0].requests(), (101..=400).sum::<u64>());
        assert_eq!(history.max_us(0), 400_000);
        assert_eq!(history.max_us(1), 50);
    }

    #[test]
    fn quiet_routes_leave_no_trace_in_a_tick() {
        let (history, _) = run(3);
        // Route 1 answered only in second 2.
        let routes: Vec<Vec<usize>> = history
            .ticks
            .iter()
            .map(|t| t.cells.iter().map(|d| d.cell).collect())
            .collect();
        assert_eq!(routes, [vec![], vec![0], vec![0, 1], vec![0]]);
    }
}
