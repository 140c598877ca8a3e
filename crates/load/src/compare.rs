//! Two reports side by side: how much each headline figure moved, and which moves are
//! regressions beyond the noise threshold.

use serde::Serialize;

use crate::report::{Latency, Report};

/// Which way a change went, judged against the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Better beyond the threshold.
    Better,
    /// Within the threshold either way.
    Same,
    /// Worse beyond the threshold on a figure that is only shown (p99.9, max).
    Worse,
    /// Worse beyond the threshold on a figure that is checked.
    Regression,
}

/// One figure of both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub metric: String,
    pub unit: &'static str,
    pub before: f64,
    pub after: f64,
    /// `(after - before) / before` in percent; `None` when `before` is zero.
    pub change_pct: Option<f64>,
    pub verdict: Verdict,
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub threshold_pct: f64,
    pub changes: Vec<Change>,
    pub regressions: usize,
    /// Differences of setup that make the figures less comparable.
    pub notes: Vec<String>,
}

/// Smallest rise of the error rate (0 to 1) that can count as a regression: going from no
/// errors to one in ten thousand requests is noise, not a regression.
const ERROR_RATE_FLOOR: f64 = 0.001;

#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

/// Compares run `b` (after) with run `a` (before). Throughput, the median and the p90, p95
/// and p99 latencies and the error rate are checked: each is a regression when it is worse
/// by more than `threshold_pct` percent of its value in `a` (the error rate must also rise
/// by at least 0.1 percentage point). The p99.9 and maximum latencies are shown but not
/// checked: a single slow request moves them.
pub fn compare(a: &Report, b: &Report, threshold_pct: f64) -> Comparison {
    let mut changes = Vec::new();
    let t = threshold_pct / 100.0;
    let mut push = |metric: &str, unit, before: f64, after: f64, better, checked: bool| {
        let change_pct = (before != 0.0).then(|| (after - before) / before * 100.0);
        let worse_by = match better {
            Better::Higher => before - after,
            Better::Lower => after - before,
        };
        let bound = before.abs() * t;
        let verdict = if worse_by > bound && worse_by > 0.0 {
            if checked {
                Verdict::Regression
            } else {
                Verdict::Worse
            }
        } else if -worse_by > bound && worse_by < 0.0 {
            Verdict::Better
        } else {
            Verdict::Same
        };
        changes.push(Change {
            metric: metric.to_owned(),
            unit,
            before,
            after,
            change_pct,
            verdict,
        });
    };
    push("rps", "req/s", a.rps, b.rps, Better::Higher, true);
    let latency = |l: &Latency| {
        [
            ("p50", l.p50, true),
            ("p90", l.p90, true),
            ("p95", l.p95, true),
            ("p99", l.p99, true),
            ("p99.9", l.p99_9, false),
            ("max", l.max, false),
        ]
    };
    for ((name, before, checked), (_, after, _)) in latency(&a.latency_us)
        .into_iter()
        .zip(latency(&b.latency_us))
    {
        push(
            name,
            "µs",
            before as f64,
            after as f64,
            Better::Lower,
            checked,
        );
    }

    let (before, after) = (a.error_rate, b.error_rate);
    let rise = after - before;
    let verdict = if rise > (before * t).max(ERROR_RATE_FLOOR) {
        Verdict::Regression
    } else if -rise > (before * t).max(ERROR_RATE_FLOOR) {
        Verdict::Better
    } else {
        Verdict::Same
    };
    changes.push(Change {
        metric: "error rate".to_owned(),
        unit: "%",
        before: before * 100.0,
        after: after * 100.0,
        change_pct: (before != 0.0).then(|| rise / before * 100.0),
        verdict,
    });

    let regressions = changes
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .count();
    Comparison {
        threshold_pct,
        changes,
        regressions,
        notes: notes(a, b),
    }
}

fn notes(a: &Report, b: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    if a.target != b.target {
        notes.push(format!("targets differ: '{}' and '{}'", a.target, b.target));
    }
    let (x, y) = (&a.settings, &b.settings);
    if x.model != y.model {
        notes.push(format!("load models differ: {} and {}", x.model, y.model));
    }
    if x.connections != y.connections {
        notes.push(format!(
            "connections differ: {} and {}",
            x.connections, y.connections
        ));
    }
    if x.rate != y.rate {
        notes.push("arrival rates differ".to_owned());
    }
    if x.think_ms != y.think_ms {
        notes.push(format!(
            "think times differ: {} ms and {} ms",
            x.think_ms, y.think_ms
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ErrorCounts, Settings};
    use chrono::Utc;

    fn report(rps: f64, p99: u64, error_rate: f64) -> Report {
        Report {
            schema: 1,
            run_id: None,
            label: None,
            started_at: Utc::now(),
            target: "GET http://127.0.0.1:1/".to_owned(),
            settings: Settings {
                model: "closed".to_owned(),
                connections: 10,
                rate: None,
                think_ms: 0,
                ramp_up_ms: 0,
                duration_ms: Some(1000),
                requests: None,
                timeout_ms: 1000,
                seed: 0,
            },
            elapsed_s: 1.0,
            requests: 1000,
            responses: 1000,
            errors: 0,
            rps,
            bytes_received: 0,
            error_rate,
            latency_us: Latency {
                count: 1000,
                min: 10,
                mean: 100.0,
                stdev: 5.0,
                p50: 100,
                p90: 150,
                p95: 180,
                p99,
                p99_9: p99 * 2,
                max: p99 * 3,
            },
            status: Default::default(),
            errors_by_kind: ErrorCounts::default(),
            open: None,
            kinds: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn verdict(c: &Comparison, metric: &str) -> Verdict {
        c.changes
            .iter()
            .find(|x| x.metric == metric)
            .unwrap()
            .verdict
    }

    #[test]
    fn changes_within_the_threshold_are_the_same() {
        let c = compare(&report(1000.0, 300, 0.0), &report(970.0, 310, 0.0005), 5.0);
        assert_eq!(c.regressions, 0);
        assert!(
            c.changes.iter().all(|x| x.verdict == Verdict::Same),
            "{c:?}"
        );
        assert!(c.notes.is_empty());
    }

    #[test]
    fn lower_throughput_higher_latency_and_more_errors_are_regressions() {
        let c = compare(&report(1000.0, 300, 0.001), &report(800.0, 400, 0.05), 5.0);
        assert_eq!(verdict(&c, "rps"), Verdict::Regression);
        assert_eq!(verdict(&c, "p99"), Verdict::Regression);
        assert_eq!(verdict(&c, "p99.9"), Verdict::Worse);
        assert_eq!(verdict(&c, "max"), Verdict::Worse);
        assert_eq!(verdict(&c, "error rate"), Verdict::Regression);
        assert_eq!(verdict(&c, "p50"), Verdict::Same);
        assert_eq!(c.regressions, 3);
        let rps = &c.changes[0];
        assert_eq!(rps.change_pct, Some(-20.0));
    }

    #[test]
    fn improvements_are_better_and_a_wider_threshold_hides_noise() {
        let c = compare(&report(1000.0, 300, 0.02), &report(1200.0, 200, 0.0), 5.0);
        assert_eq!(verdict(&c, "rps"), Verdict::Better);
        assert_eq!(verdict(&c, "p99"), Verdict::Better);
        assert_eq!(verdict(&c, "error rate"), Verdict::Better);
        assert_eq!(c.regressions, 0);
        let c = compare(&report(1000.0, 300, 0.0), &report(850.0, 300, 0.0), 20.0);
        assert_eq!(c.regressions, 0);
    }

    #[test]
    fn different_setups_are_noted() {
        let a = report(1.0, 1, 0.0);
        let mut b = report(1.0, 1, 0.0);
        b.settings.connections = 50;
        b.target = "other".to_owned();
        let c = compare(&a, &b, 5.0);
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
    }
}
