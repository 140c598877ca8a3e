//! Per-task recording of outcomes: HDR latency histograms, status counts and errors by kind,
//! kept apart for each request kind and merged once the tasks are done.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// No TCP connection could be made (refused, unreachable).
    Connect,
    /// No complete answer within the timeout, connecting included.
    Timeout,
    /// The connection was reset or closed before the answer was complete.
    Reset,
    /// Anything else: a malformed answer, a protocol error.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Other,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Other => "other",
        }
    }
}

/// An answered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Body bytes received.
    pub bytes: u64,
}

/// Latencies are recorded in microseconds. The whole-run histogram keeps three significant
/// digits; with several request kinds, each kind's keeps two (within 1%), since a task holds
/// one per kind and a description can have hundreds of operations.
const OVERALL_DIGITS: u8 = 3;
const KIND_DIGITS: u8 = 2;

/// Figures of one request kind, or of a whole run.
#[derive(Debug, Clone)]
pub struct Tally {
    pub latency_us: Histogram<u64>,
    /// `(status, count)`, in order of first appearance; a run sees few distinct statuses, so
    /// a short list beats a map.
    pub statuses: Vec<(u16, u64)>,
    pub errors: [u64; 4],
    pub responses: u64,
    pub bytes: u64,
}

impl Tally {
    fn new(digits: u8) -> Tally {
        Tally {
            // Auto-resizing: memory grows with the largest latency seen, not a fixed bound.
            latency_us: Histogram::new(digits).expect("1 to 5 significant digits is valid"),
            statuses: Vec::new(),
            errors: [0; 4],
            responses: 0,
            bytes: 0,
        }
    }

    pub fn requests(&self) -> u64 {
        self.responses + self.error_count()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }

    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors[kind.index()]
    }

    fn record(&mut self, outcome: Result<Answer, ErrorKind>, latency_us: u64) {
        match outcome {
            Ok(answer) => {
                self.responses += 1;
                self.bytes += answer.bytes;
                let value = latency_us.max(1);
                // `record` grows the histogram as needed; `saturating_record` would clamp
                // to the current top instead.
                if self.latency_us.record(value).is_err() {
                    self.latency_us.saturating_record(value);
                }
                match self.statuses.iter_mut().find(|(s, _)| *s == answer.status) {
                    Some((_, count)) => *count += 1,
                    None => self.statuses.push((answer.status, 1)),
                }
            }
            Err(kind) => self.errors[kind.index()] += 1,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        // Auto-resizing histograms accept any other histogram; the digits of `self` stay.
        self.latency_us
            .add(&other.latency_us)
            .expect("auto-resizing histograms accept any values");
        for &(status, count) in &other.statuses {
            match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, mine)) => *mine += count,
                None => self.statuses.push((status, count)),
            }
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        self.responses += other.responses;
        self.bytes += other.bytes;
    }
}

/// What one task saw: a tally per request kind plus the whole.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub overall: Tally,
    /// Empty when there is a single kind: its tally is the whole, and recording it twice
    /// would double the cost of every request.
    kinds: Vec<Tally>,
    /// Open model: sends that started late (see [`crate::schedule::LATE_AFTER`]).
    pub late: u64,
}

impl Recorder {
    pub fn new(kinds: usize) -> Recorder {
        Recorder {
            overall: Tally::new(OVERALL_DIGITS),
            kinds: if kinds > 1 {
                (0..kinds).map(|_| Tally::new(KIND_DIGITS)).collect()
            } else {
                Vec::new()
            },
            late: 0,
        }
    }

    pub fn record(&mut self, kind: usize, outcome: Result<Answer, ErrorKind>, latency_us: u64) {
        self.overall.record(outcome, latency_us);
        if let Some(tally) = self.kinds.get_mut(kind) {
            tally.record(outcome, latency_us);
        }
    }

    /// The tally of request kind `index`.
    pub fn kind(&self, index: usize) -> &Tally {
        self.kinds.get(index).unwrap_or(&self.overall)
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.overall.merge(&other.overall);
        for (mine, theirs) in self.kinds.iter_mut().zip(&other.kinds) {
            mine.merge(theirs);
        }
        self.late += other.late;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(status: u16) -> Result<Answer, ErrorKind> {
        Ok(Answer { status, bytes: 10 })
    }

    #[test]
    fn merged_recorders_hold_every_value_and_count() {
        let mut a = Recorder::new(2);
        let mut b = Recorder::new(2);
        for us in 1..=500 {
            a.record(0, ok(200), us);
        }
        for us in 501..=1000 {
            b.record(1, ok(200), us);
        }
        b.record(1, ok(404), 2_000_000);
        b.record(0, Err(ErrorKind::Reset), 0);
        a.record(1, Err(ErrorKind::Timeout), 0);
        b.late = 3;

        a.merge(&b);
        let all = &a.overall;
        assert_eq!(all.responses, 1001);
        assert_eq!(all.requests(), 1003);
        assert_eq!(all.bytes, 10_010);
        assert_eq!(all.statuses, [(200, 1000), (404, 1)]);
        assert_eq!(all.errors_of(ErrorKind::Reset), 1);
        assert_eq!(all.errors_of(ErrorKind::Timeout), 1);
        assert_eq!(all.latency_us.len(), 1001);
        assert_eq!(all.latency_us.min(), 1);
        // Three significant digits: the median of 1..=1000 and the 2 s outlier are close.
        assert!((499..=502).contains(&all.latency_us.value_at_quantile(0.5)));
        let max = all.latency_us.max();
        assert!(max.abs_diff(2_000_000) <= 2_000_000 / 1000, "max {max}");

        assert_eq!(a.kind(0).responses, 500);
        assert_eq!(a.kind(0).errors_of(ErrorKind::Reset), 1);
        assert_eq!(a.kind(1).responses, 501);
        assert_eq!(a.kind(1).statuses, [(200, 500), (404, 1)]);
        assert_eq!(a.late, 3);
    }

    #[test]
    fn errors_do_not_enter_the_latency_histogram() {
        let mut r = Recorder::new(1);
        r.record(0, Err(ErrorKind::Connect), 5);
        assert_eq!(r.overall.latency_us.len(), 0);
        assert_eq!(r.overall.requests(), 1);
        assert_eq!(r.overall.error_count(), 1);
        assert_eq!(r.kind(0).requests(), 1);
    }
}
