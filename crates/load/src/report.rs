//! The report of a run, as printed with `--json` and saved: its fields and units are
//! documented in docs/bench-report.md, which must change with them.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::record::{ErrorKind, Recorder, Tally};
use crate::{Load, Plan};

/// Version of the report's shape; raised when a field changes meaning or goes away.
pub const REPORT_SCHEMA: u32 = 1;

/// How a run was set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `closed` or `open`.
    pub model: String,
    /// Closed model: virtual users. Open model: the most connections allowed.
    pub connections: u32,
    /// Open model: requests per second; `None` in the closed model.
    pub rate: Option<f64>,
    pub think_ms: u64,
    pub ramp_up_ms: u64,
    pub duration_ms: Option<u64>,
    pub requests: Option<u64>,
    pub timeout_ms: u64,
    pub seed: u64,
}

impl Settings {
    fn of(plan: &Plan) -> Settings {
        let ms = |d: Duration| d.as_millis() as u64;
        let (model, connections, rate, think, ramp_up) = match plan.load {
            Load::Closed {
                users,
                think,
                ramp_up,
            } => ("closed", users, None, think, ramp_up),
            Load::Open {
                rate,
                max_connections,
            } => (
                "open",
                max_connections,
                Some(rate),
                Duration::ZERO,
                Duration::ZERO,
            ),
        };
        Settings {
            model: model.to_owned(),
            connections,
            rate,
            think_ms: ms(think),
            ramp_up_ms: ms(ramp_up),
            duration_ms: plan.stop.duration.map(ms),
            requests: plan.stop.requests,
            timeout_ms: ms(plan.timeout),
            seed: plan.seed,
        }
    }
}

/// Latency of answered requests, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Latency {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            min: h.min(),
            mean: h.mean(),
            stdev: h.stdev(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Requests that got no answer, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub reset: u64,
    pub other: u64,
}

impl ErrorCounts {
    fn of(t: &Tally) -> ErrorCounts {
        ErrorCounts {
            connect: t.errors_of(ErrorKind::Connect),
            timeout: t.errors_of(ErrorKind::Timeout),
            reset: t.errors_of(ErrorKind::Reset),
            other: t.errors_of(ErrorKind::Other),
        }
    }

    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.reset + self.other
    }
}

/// Open model only: how well the schedule was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenStats {
    /// Requests due within the run.
    pub scheduled: u64,
    /// Requests sent.
    pub sent: u64,
    /// Sent `late_after_ms` or more after their intended time.
    pub late: u64,
    /// Due within the run but never sent: the run ended first.
    pub dropped: u64,
    /// Connections opened to keep up.
    pub connections: u32,
    pub late_after_ms: u64,
}

/// Figures of one request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindReport {
    pub name: String,
    pub method: String,
    pub path: String,
    pub requests: u64,
    pub responses: u64,
    pub errors: u64,
    pub rps: f64,
    pub error_rate: f64,
    pub latency_us: Latency,
    pub status: BTreeMap<u16, u64>,
    pub errors_by_kind: ErrorCounts,
}

/// A request kind that could not be built (with `--spec`) and was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    /// The id of the saved run; `None` when it was not saved.
    #[serde(default)]
    pub run_id: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    pub started_at: DateTime<Utc>,
    pub target: String,
    pub settings: Settings,
    pub elapsed_s: f64,
    pub requests: u64,
    pub responses: u64,
    pub errors: u64,
    pub rps: f64,
    pub bytes_received: u64,
    pub error_rate: f64,
    pub latency_us: Latency,
    pub status: BTreeMap<u16, u64>,
    pub errors_by_kind: ErrorCounts,
    pub open: Option<OpenStats>,
    pub kinds: Vec<KindReport>,
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Failed share: no answer at all, or an answer with a 4xx or 5xx status.
fn error_rate(t: &Tally) -> f64 {
    let requests = t.requests();
    if requests == 0 {
        return 0.0;
    }
    let bad_status: u64 = t
        .statuses
        .iter()
        .filter(|(s, _)| *s >= 400)
        .map(|(_, n)| n)
        .sum();
    (t.error_count() + bad_status) as f64 / requests as f64
}

fn statuses(t: &Tally) -> BTreeMap<u16, u64> {
    t.statuses.iter().copied().collect()
}

impl Report {
    pub(crate) fn build(
        plan: &Plan,
        started_at: DateTime<Utc>,
        elapsed: Duration,
        merged: &Recorder,
        open: Option<OpenStats>,
    ) -> Report {
        let all = &merged.overall;
        let kinds = plan
            .target
            .kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| (kind, merged.kind(i)))
            .map(|(kind, t)| KindReport {
                name: kind.name.clone(),
                method: kind.method.to_string(),
                path: kind.path().to_owned(),
                requests: t.requests(),
                responses: t.responses,
                errors: t.error_count(),
                rps: per_second(t.requests(), elapsed),
                error_rate: error_rate(t),
                latency_us: Latency::of(&t.latency_us),
                status: statuses(t),
                errors_by_kind: ErrorCounts::of(t),
            })
            .collect();
        Report {
            schema: REPORT_SCHEMA,
            run_id: None,
            label: None,
            started_at,
            target: plan.target.description.clone(),
            settings: Settings::of(plan),
            elapsed_s: elapsed.as_secs_f64(),
            requests: all.requests(),
            responses: all.responses,
            errors: all.error_count(),
            rps: per_second(all.requests(), elapsed),
            bytes_received: all.bytes,
            error_rate: error_rate(all),
            latency_us: Latency::of(&all.latency_us),
            status: statuses(all),
            errors_by_kind: ErrorCounts::of(all),
            open,
            kinds,
            skipped: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Answer;
    use crate::{Stop, Target};

    #[test]
    fn figures_come_from_the_merged_recorder() {
        let target = Target::single("http://127.0.0.1:1/a", "GET", &[], Vec::new()).unwrap();
        let plan = Plan {
            target,
            load: Load::Closed {
                users: 2,
                think: Duration::ZERO,
                ramp_up: Duration::from_millis(1500),
            },
            stop: Stop {
                duration: None,
                requests: Some(10),
            },
            timeout: Duration::from_secs(3),
            seed: 9,
        };
        let mut r = Recorder::new(1);
        for us in [100, 200, 300, 400, 500, 600, 700] {
            r.record(
                0,
                Ok(Answer {
                    status: 200,
                    bytes: 5,
                }),
                us,
            );
        }
        r.record(
            0,
            Ok(Answer {
                status: 503,
                bytes: 0,
            }),
            800,
        );
        r.record(0, Err(ErrorKind::Connect), 0);
        r.record(0, Err(ErrorKind::Timeout), 0);
        let report = Report::build(&plan, Utc::now(), Duration::from_secs(2), &r, None);
        assert_eq!(report.requests, 10);
        assert_eq!(report.responses, 8);
        assert_eq!(report.errors, 2);
        assert_eq!(report.rps, 5.0);
        assert_eq!(report.bytes_received, 35);
        assert!((report.error_rate - 0.3).abs() < 1e-9);
        assert_eq!(report.status, BTreeMap::from([(200, 7), (503, 1)]));
        assert_eq!(report.errors_by_kind.connect, 1);
        assert_eq!(report.errors_by_kind.timeout, 1);
        assert_eq!(report.latency_us.count, 8);
        assert_eq!(report.latency_us.min, 100);
        assert_eq!(report.latency_us.max, 800);
        assert_eq!(report.latency_us.p50, 400);
        assert_eq!(report.kinds[0].name, "GET /a");
        assert_eq!(report.kinds[0].requests, 10);
        assert_eq!(report.settings.ramp_up_ms, 1500);
        assert_eq!(report.settings.requests, Some(10));
        assert_eq!(report.settings.model, "closed");

        let text = serde_json::to_string(&report).unwrap();
        let mut back: Report = serde_json::from_str(&text).unwrap();
        // JSON keeps floats to about 15 digits; the last digit of a deviation may move.
        let mut report = report;
        for r in [&mut back, &mut report] {
            r.latency_us.stdev = r.latency_us.stdev.round();
            r.kinds[0].latency_us.stdev = r.kinds[0].latency_us.stdev.round();
        }
        assert_eq!(back, report);
    }
}
