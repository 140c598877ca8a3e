//! Analysis of logged requests: distributions, error rates, latency percentiles, per-route
//! figures and requests per minute, computed in one pass over the matching rows.
//!
//! The pass runs in Rust rather than in SQL so that every backend gives the same figures,
//! and so that percentiles are exact.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The figures of an analysis. Latencies are in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub total: u64,
    /// First and last request time; `None` when nothing matched.
    pub time_range: Option<TimeRange>,
    /// Requests per status code; JSON keys are the codes as strings.
    pub status: BTreeMap<u16, u64>,
    /// Requests per method.
    pub methods: BTreeMap<String, u64>,
    pub errors: ErrorRates,
    /// `None` when nothing matched.
    pub latency_us: Option<Latency>,
    /// Per route template, most requested first; `route: null` gathers unmatched requests.
    pub routes: Vec<RouteStats>,
    /// Requests per minute, oldest first; minutes without requests are left out.
    pub per_minute: Vec<MinuteCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeRange {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Error counts and their share of all requests (0 to 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ErrorRates {
    /// 4xx responses.
    pub client_errors: u64,
    /// 5xx responses, and requests that got no answer (status 0, a reset).
    pub server_errors: u64,
    pub client_error_rate: f64,
    pub server_error_rate: f64,
    /// 4xx and 5xx together.
    pub error_rate: f64,
}

/// Latency figures. Percentiles use the nearest-rank method: pN is the smallest observed
/// value with at least N% of the values at or below it, so it is always a real duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub avg: f64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStats {
    pub route: Option<String>,
    pub count: u64,
    /// 4xx and 5xx responses.
    pub errors: u64,
    pub avg_us: f64,
    pub p95_us: u64,
    pub max_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinuteCount {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    pub count: u64,
}

/// The columns an analysis reads of one row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanRow<'a> {
    pub ts_us: i64,
    pub method: &'a str,
    pub status: u16,
    pub route: Option<&'a str>,
    pub duration_us: u64,
}

#[derive(Debug, Default)]
struct Durations {
    count: u64,
    errors: u64,
    sum: u128,
    values: Vec<u64>,
}

impl Durations {
    fn add(&mut self, duration_us: u64, error: bool) {
        self.count += 1;
        self.errors += u64::from(error);
        self.sum += u128::from(duration_us);
        self.values.push(duration_us);
    }

    fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    fn sort(&mut self) {
        self.values.sort_unstable();
    }
}

/// Nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[u64], percent: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len() as u64;
    let rank = (percent * n).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// Gathers rows one at a time; `finish` computes the figures.
#[derive(Debug, Default)]
pub(crate) struct Aggregator {
    all: Durations,
    client_errors: u64,
    server_errors: u64,
    status: BTreeMap<u16, u64>,
    methods: BTreeMap<String, u64>,
    routes: HashMap<String, Durations>,
    unrouted: Durations,
    minutes: BTreeMap<i64, u64>,
    first_us: Option<i64>,
    last_us: Option<i64>,
}

const MINUTE_US: i64 = 60_000_000;

impl Aggregator {
    pub fn add(&mut self, row: ScanRow<'_>) {
        let error = row.status >= 400;
        self.all.add(row.duration_us, error);
        self.client_errors += u64::from((400..500).contains(&row.status));
        // Status 0 (no answer: the connection was closed by a reset fault) is a failure of
        // the server as the client sees it, as in the live metrics.
        self.server_errors += u64::from(row.status == 0 || row.status >= 500);
        *self.status.entry(row.status).or_default() += 1;
        match self.methods.get_mut(row.method) {
            Some(count) => *count += 1,
            None => {
                self.methods.insert(row.method.to_owned(), 1);
            }
        }
        let route = match row.route {
            Some(route) => match self.routes.get_mut(route) {
                Some(durations) => durations,
                None => self.routes.entry(route.to_owned()).or_default(),
            },
            None => &mut self.unrouted,
        };
        route.add(row.duration_us, error);
        *self
            .minutes
            .entry(row.ts_us.div_euclid(MINUTE_US))
            .or_default() += 1;
        self.first_us = Some(
            self.first_us
                .map_or(row.ts_us, |first| first.min(row.ts_us)),
        );
        self.last_us = Some(self.last_us.map_or(row.ts_us, |last| last.max(row.ts_us)));
    }

    pub fn finish(mut self) -> Analysis {
        let total = self.all.count;
        let share = |count: u64| {
            if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            }
        };
        let errors = ErrorRates {
            client_errors: self.client_errors,
            server_errors: self.server_errors,
            client_error_rate: share(self.client_errors),
            server_error_rate: share(self.server_errors),
            error_rate: share(self.client_errors + self.server_errors),
        };
        self.all.sort();
        let latency_us = (total > 0).then(|| Latency {
            avg: self.all.avg(),
            p50: percentile(&self.all.values, 50),
            p95: percentile(&self.all.values, 95),
            p99: percentile(&self.all.values, 99),
            max: self.all.values.last().copied().unwrap_or_default(),
        });
        let time_range = match (self.first_us, self.last_us) {
            (Some(first), Some(last)) => Some(TimeRange {
                first: time(first),
                last: time(last),
            }),
            _ => None,
        };
        let per_minute = self
            .minutes
            .iter()
            .map(|(&minute, &count)| MinuteCount {
                minute: time(minute * MINUTE_US),
                count,
            })
            .collect();
        Analysis {
            total,
            time_range,
            status: self.status,
            methods: self.methods,
            errors,
            latency_us,
            routes: route_stats(self.routes, self.unrouted),
            per_minute,
        }
    }
}

fn route_stats(routes: HashMap<String, Durations>, unrouted: Durations) -> Vec<RouteStats> {
    let unrouted = (unrouted.count > 0).then_some((None, unrouted));
    let all = routes
        .into_iter()
        .map(|(route, d)| (Some(route), d))
        .chain(unrouted);
    let mut stats: Vec<RouteStats> = all
        .map(|(route, mut durations)| {
            durations.sort();
            RouteStats {
                route,
                count: durations.count,
                errors: durations.errors,
                avg_us: durations.avg(),
                p95_us: percentile(&durations.values, 95),
                max_us: durations.values.last().copied().unwrap_or_default(),
            }
        })
        .collect();
    stats.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.route.cmp(&b.route)));
    stats
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 95), 95);
        assert_eq!(percentile(&values, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 95), 4);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn empty_input_gives_zeros_and_no_latency() {
        let analysis = Aggregator::default().finish();
        assert_eq!(analysis.total, 0);
        assert_eq!(analysis.latency_us, None);
        assert_eq!(analysis.time_range, None);
        assert_eq!(analysis.errors, ErrorRates::default());
    }

    #[test]
    fn a_request_that_got_no_answer_is_a_server_error() {
        let mut agg = Aggregator::default();
        for status in [0, 200, 503] {
            agg.add(ScanRow {
                ts_us: 0,
                method: "GET",
                status,
                route: None,
                duration_us: 1,
            });
        }
        let a = agg.finish();
        assert_eq!((a.errors.client_errors, a.errors.server_errors), (0, 2));
    }

    #[test]
    fn rows_are_counted_by_status_method_route_and_minute() {
        let mut agg = Aggregator::default();
        let rows = [
            (0, "GET", 200, Some("/a"), 10),
            (59_999_999, "GET", 404, Some("/a"), 30),
            (60_000_000, "POST", 500, None, 20),
        ];
        for (ts_us, method, status, route, duration_us) in rows {
            agg.add(ScanRow {
                ts_us,
                method,
                status,
                route,
                duration_us,
            });
        }
        let a = agg.finish();
        assert_eq!(a.total, 3);
        assert_eq!(a.status, BTreeMap::from([(200, 1), (404, 1), (500, 1)]));
        assert_eq!(
            a.methods,
            BTreeMap::from([("GET".into(), 2), ("POST".into(), 1)])
        );
        assert_eq!((a.errors.client_errors, a.errors.server_errors), (1, 1));
        assert!((a.errors.error_rate - 2.0 / 3.0).abs() < 1e-12);
        let counts: Vec<_> = a.per_minute.iter().map(|m| m.count).collect();
        assert_eq!(counts, [2, 1]);
        assert_eq!(a.routes[0].route.as_deref(), Some("/a"));
        assert_eq!(
            (a.routes[0].count, a.routes[0].errors, a.routes[0].p95_us),
            (2, 1, 30)
        );
        assert_eq!((a.routes[1].route.as_deref(), a.routes[1].count), (None, 1));
        assert_eq!(a.latency_us.unwrap().max, 30);
    }
}
