//! The log writer: a bounded queue feeding one thread that batches rows into transactions,
//! retries failed writes, and spills what it cannot write at shutdown.
//!
//! The queue is the backpressure: `LogSink::reserve` waits only while it is full, and that
//! wait is counted. The writer thread owns the database connection and runs a small
//! single-threaded runtime of its own, so blocking database calls never stall the server's
//! runtime, and the server's runtime never delays a flush.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use http::HeaderName;
use serde::Serialize;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument as _;

use crate::backend::BatchWriter;
use crate::capture::{Capture, Row, default_redacted_headers, default_redacted_query};
use crate::error::{SinkClosed, StoreError};
use crate::record::LogRecord;
use crate::spill::Spill;
use crate::stats::WriterStats;

/// How the writer queues, batches, captures and retries.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Rows the queue holds before `reserve` waits. At least 1.
    pub queue_capacity: usize,
    /// Rows committed in one transaction at most. At least 1.
    pub batch_size: usize,
    /// How long the first row of a batch may wait for others before the batch is committed.
    pub flush_interval: Duration,
    /// Bodies are cut to this many bytes; their full length is kept.
    pub max_body_bytes: usize,
    /// Replace the values of `redact_headers` with `[redacted]`.
    pub redact: bool,
    pub redact_headers: Vec<HeaderName>,
    /// Query parameters (names compared without case) whose values are redacted too.
    pub redact_query: Vec<String>,
    /// First pause after a failed write; doubles up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// After shutdown is asked for: how long to keep retrying a failing write, and to wait
    /// for rows whose permits are still out, before the rest goes to the spill file.
    pub shutdown_timeout: Duration,
    /// Where spill files go; `None` means the database's directory.
    pub spill_dir: Option<PathBuf>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue_capacity: 8192,
            batch_size: 512,
            flush_interval: Duration::from_millis(50),
            max_body_bytes: 64 * 1024,
            redact: true,
            redact_headers: default_redacted_headers(),
            redact_query: default_redacted_query(),
            retry_initial: Duration::from_millis(10),
            retry_max: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(5),
            spill_dir: None,
        }
    }
}

/// How long the writer lets rows gather after a receive that did not fill its batch.
const GATHER_PAUSE: Duration = Duration::from_millis(1);

// Records travel inline: a queue slot is larger than a pointer, but boxing would cost an
// allocation per request on the hot path.
#[allow(clippy::large_enum_variant)]
enum Message {
    Record(LogRecord),
    Flush(oneshot::Sender<()>),
}

/// Where the server sends its log records. Cheap to clone; every clone feeds the same
/// writer.
#[derive(Debug, Clone)]
pub struct LogSink {
    tx: mpsc::Sender<Message>,
    stats: WriterStats,
}

/// A reserved place in the queue; sending through it never waits.
#[derive(Debug)]
pub struct LogPermit {
    permit: mpsc::OwnedPermit<Message>,
    stats: WriterStats,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Record(_) => "Record",
            Message::Flush(_) => "Flush",
        })
    }
}

impl LogSink {
    /// Reserves a place in the queue, waiting only while the queue is full (the wait is
    /// counted as backpressure). Fails once the writer has stopped.
    pub async fn reserve(&self) -> Result<LogPermit, SinkClosed> {
        let permit = match self.tx.clone().try_reserve_owned() {
            Ok(permit) => permit,
            Err(TrySendError::Full(tx)) => {
                let _wait = self.stats.backpressure();
                tx.reserve_owned().await.map_err(|_| SinkClosed)?
            }
            Err(TrySendError::Closed(_)) => return Err(SinkClosed),
        };
        Ok(LogPermit {
            permit,
            stats: self.stats.clone(),
        })
    }

    /// `reserve` then `send`.
    pub async fn send(&self, record: LogRecord) -> Result<(), SinkClosed> {
        self.reserve().await?.send(record);
        Ok(())
    }

    /// Waits until every row sent before this call is committed (or, if the writer gives
    /// up at shutdown, spilled). Fails if the writer stopped first.
    pub async fn flush(&self) -> Result<(), SinkClosed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Message::Flush(done))
            .await
            .map_err(|_| SinkClosed)?;
        wait.await.map_err(|_| SinkClosed)
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

impl LogPermit {
    /// Queues the record. Never waits; the writer takes it from here.
    pub fn send(self, record: LogRecord) {
        self.stats.accepted();
        self.permit.send(Message::Record(record));
    }
}

/// What the writer did over its life, returned by `WriterHandle::shutdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriterReport {
    pub rows_written: u64,
    pub batches_written: u64,
    pub write_errors: u64,
    /// Rows put in the spill file rather than the database.
    pub rows_spilled: u64,
    /// The spill file, when any row went there.
    pub spill_file: Option<PathBuf>,
    /// Rows accepted and neither written nor spilled.
    pub rows_lost: u64,
}

impl WriterReport {
    /// Every accepted row is in the database.
    pub fn is_complete(&self) -> bool {
        self.rows_spilled == 0 && self.rows_lost == 0
    }
}

/// Owns the writer thread. `shutdown` stops it cleanly; dropping the handle instead also
/// tells the writer to stop (it still flushes and spills), but nobody waits for it.
#[derive(Debug)]
pub struct WriterHandle {
    stop: Option<oneshot::Sender<()>>,
    report: Option<oneshot::Receiver<WriterReport>>,
    thread: Option<JoinHandle<WriterReport>>,
    stats: WriterStats,
}

impl WriterHandle {
    /// Stops taking rows, writes everything queued (retrying up to `shutdown_timeout`,
    /// then spilling), and joins the thread.
    pub async fn shutdown(mut self) -> WriterReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let report = match self.report.take() {
            Some(report) => report.await.ok(),
            None => None,
        };
        // The thread sends its report as its last act, so this join is immediate.
        let joined = self.thread.take().map(JoinHandle::join);
        match (report, joined) {
            (Some(report), _) | (None, Some(Ok(report))) => report,
            _ => self.abandoned_report(),
        }
    }

    /// `shutdown` for callers outside an async context; blocks the calling thread.
    pub fn shutdown_blocking(mut self) -> WriterReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(report)) => report,
            _ => self.abandoned_report(),
        }
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// The report when the thread died without making one: all pending rows are lost.
    fn abandoned_report(&self) -> WriterReport {
        let m = self.stats.snapshot();
        tracing::error!(
            rows = m.rows_pending,
            "log writer thread died; pending rows are lost"
        );
        WriterReport {
            rows_written: m.rows_written,
            batches_written: m.batches_written,
            write_errors: m.write_errors,
            rows_spilled: m.rows_spilled,
            spill_file: None,
            rows_lost: m.rows_pending + m.rows_lost,
        }
    }
}

/// Starts the writer thread over `backend_writer`.
pub(crate) fn start(
    backend_writer: Box<dyn BatchWriter>,
    options: WriterOptions,
    spill: Spill,
    db: &std::path::Path,
) -> Result<(LogSink, WriterHandle), StoreError> {
    let capacity = options.queue_capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (report_tx, report_rx) = oneshot::channel();
    let stats = WriterStats::new(capacity);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(StoreError::StartWriter)?;
    let capture = Capture {
        max_body_bytes: options.max_body_bytes,
        redact: if options.redact {
            options.redact_headers.clone()
        } else {
            Vec::new()
        },
        redact_query: if options.redact {
            options
                .redact_query
                .iter()
                .map(|name| name.to_ascii_lowercase())
                .collect()
        } else {
            Vec::new()
        },
    };
    let writer = Writer {
        rx,
        stop: stop_rx,
        stop_deadline: None,
        backend: backend_writer,
        capture,
        batch: Vec::with_capacity(options.batch_size.max(1)),
        flush_waiters: Vec::new(),
        spill,
        stats: stats.clone(),
        options,
    };
    let span = tracing::info_span!("log_writer", db = %db.display());
    let thread = std::thread::Builder::new()
        .name("mockloop-log-writer".into())
        .spawn(move || {
            let report = runtime.block_on(writer.run().instrument(span));
            let _ = report_tx.send(report.clone());
            report
        })
        .map_err(StoreError::StartWriter)?;
    let handle = WriterHandle {
        stop: Some(stop_tx),
        report: Some(report_rx),
        thread: Some(thread),
        stats: stats.clone(),
    };
    Ok((LogSink { tx, stats }, handle))
}

/// How gathering a batch ended.
#[derive(Debug, PartialEq, Eq)]
enum Gathered {
    /// Full, timed out, or a flush asked for it: commit and go on.
    Ready,
    /// The queue is closed and empty, or the shutdown drain ran out of time: commit and end.
    Finished,
}

struct Writer {
    rx: mpsc::Receiver<Message>,
    stop: oneshot::Receiver<()>,
    /// Set when shutdown starts: the end of retries and of waiting for outstanding permits.
    stop_deadline: Option<Instant>,
    backend: Box<dyn BatchWriter>,
    capture: Capture,
    batch: Vec<Row>,
    flush_waiters: Vec<oneshot::Sender<()>>,
    spill: Spill,
    stats: WriterStats,
    options: WriterOptions,
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Writer {
    async fn run(mut self) -> WriterReport {
        let mut messages = Vec::with_capacity(self.batch.capacity());
        loop {
            let gathered = self.gather(&mut messages).await;
            if !self.commit().await {
                self.give_up();
                break;
            }
            if gathered == Gathered::Finished {
                break;
            }
        }
        // Rows sent after the drain ended, through permits reserved before it.
        self.rx.close();
        self.take_queued();
        if !self.commit().await {
            self.give_up();
        }
        self.backend.close();
        self.report()
    }

    fn begin_stop(&mut self) {
        if self.stop_deadline.is_none() {
            tracing::debug!("log writer stopping");
            self.stop_deadline = Some(Instant::now() + self.options.shutdown_timeout);
            // Refuses new reservations; rows already queued or reserved still arrive.
            self.rx.close();
        }
    }

    /// Fills the batch until it is full, its first row has waited `flush_interval`, a flush
    /// is asked for, or the queue ends.
    async fn gather(&mut self, messages: &mut Vec<Message>) -> Gathered {
        let batch_size = self.options.batch_size.max(1);
        let mut time_bound: Option<Instant> = None;
        loop {
            // `recv_many` with no room would return 0, which reads as a closed queue.
            let room = batch_size.saturating_sub(self.batch.len());
            if room == 0 {
                return Gathered::Ready;
            }
            let stopping = self.stop_deadline.is_some();
            tokio::select! {
                biased;
                _ = &mut self.stop, if !stopping => self.begin_stop(),
                _ = until(self.stop_deadline), if stopping => return Gathered::Finished,
                received = self.rx.recv_many(messages, room) => {
                    if received == 0 {
                        return Gathered::Finished;
                    }
                    let flush = self.take(messages);
                    if flush || self.batch.len() >= batch_size {
                        return Gathered::Ready;
                    }
                    if time_bound.is_none() && !self.batch.is_empty() {
                        time_bound = Some(Instant::now() + self.options.flush_interval);
                    }
                    // Let rows gather before asking for more: waiting on an empty queue
                    // means a wake-up per row sent, and under load those wake-ups (a
                    // futex call on the request path and a context switch each) cost more
                    // than the inserts. A pause per partial receive bounds them to about a
                    // thousand a second.
                    if !stopping {
                        tokio::time::sleep(GATHER_PAUSE).await;
                    }
                }
                _ = until(time_bound), if time_bound.is_some() && !stopping => {
                    return Gathered::Ready;
                }
            }
        }
    }

    /// Moves received messages into the batch; returns whether one asked for a flush.
    fn take(&mut self, messages: &mut Vec<Message>) -> bool {
        let mut flush = false;
        let mut records = 0;
        for message in messages.drain(..) {
            match message {
                Message::Record(record) => {
                    records += 1;
                    self.batch.push(Row::capture(record, &self.capture));
                }
                Message::Flush(done) => {
                    self.flush_waiters.push(done);
                    flush = true;
                }
            }
        }
        self.stats.received(records);
        flush
    }

    /// Takes what is left in a closed queue without waiting.
    fn take_queued(&mut self) {
        let mut messages = Vec::new();
        while let Ok(message) = self.rx.try_recv() {
            messages.push(message);
        }
        self.take(&mut messages);
    }

    /// Writes the batch, retrying with backoff. Returns false when shutdown's deadline
    /// passed with the batch still unwritten; the batch is then left for `give_up`.
    async fn commit(&mut self) -> bool {
        let mut delay = self.options.retry_initial;
        let mut attempts = 0u32;
        while !self.batch.is_empty() {
            let started = Instant::now();
            let Err(err) = self.backend.write(&self.batch) else {
                self.stats
                    .batch_written(self.batch.len(), started.elapsed());
                self.batch.clear();
                break;
            };
            self.stats.write_failed();
            attempts += 1;
            if err.permanent {
                tracing::warn!(
                    cause = %err,
                    rows = self.batch.len(),
                    "log batch refused; writing rows one by one"
                );
                self.write_singly();
                continue;
            }
            let stopping = self.stop_deadline.is_some();
            if self
                .stop_deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                return false;
            }
            tracing::warn!(
                cause = %err,
                rows = self.batch.len(),
                attempts,
                stopping,
                retry_in_ms = delay.as_millis() as u64,
                "cannot write log batch; retrying"
            );
            self.backoff(delay).await;
            delay = (delay * 2).min(self.options.retry_max);
        }
        for done in self.flush_waiters.drain(..) {
            let _ = done.send(());
        }
        true
    }

    /// After a permanent error: each row alone, so that only the rows at fault are spilled.
    /// A transient error puts the rest back for `commit` to retry.
    fn write_singly(&mut self) {
        let mut rows = std::mem::take(&mut self.batch).into_iter();
        while let Some(row) = rows.next() {
            let started = Instant::now();
            match self.backend.write(std::slice::from_ref(&row)) {
                Ok(()) => self.stats.batch_written(1, started.elapsed()),
                Err(err) if err.permanent => {
                    self.stats.write_failed();
                    tracing::error!(
                        cause = %err,
                        request_id = %row.request_id,
                        "log row refused by the database; spilling it"
                    );
                    self.spill_rows(vec![row]);
                }
                Err(_) => {
                    self.stats.write_failed();
                    self.batch.push(row);
                    self.batch.extend(rows);
                    return;
                }
            }
        }
    }

    /// Sleeps before a retry, waking early when shutdown starts so its deadline applies.
    async fn backoff(&mut self, delay: Duration) {
        let wake = Instant::now() + delay;
        let wake = self
            .stop_deadline
            .map_or(wake, |deadline| wake.min(deadline));
        let stopping = self.stop_deadline.is_some();
        tokio::select! {
            _ = sleep_until(wake) => {}
            _ = &mut self.stop, if !stopping => self.begin_stop(),
        }
    }

    /// Shutdown ran out of time: the batch and everything still queued go to the spill file.
    fn give_up(&mut self) {
        self.rx.close();
        self.take_queued();
        let rows = std::mem::take(&mut self.batch);
        tracing::error!(
            rows = rows.len(),
            "log database still failing at shutdown; spilling"
        );
        self.spill_rows(rows);
        self.flush_waiters.clear();
    }

    fn spill_rows(&mut self, rows: Vec<Row>) {
        if rows.is_empty() {
            return;
        }
        let count = rows.len() as u64;
        match self.spill.append(&rows) {
            Ok(()) => {
                self.stats.spilled(count);
                let file = self.spill.path().display();
                tracing::warn!(rows = count, %file, "log rows spilled");
            }
            Err(err) => {
                self.stats.lost(count);
                let file = self.spill.path().display();
                tracing::error!(cause = %err, rows = count, %file, "cannot spill; rows lost");
            }
        }
    }

    fn report(&self) -> WriterReport {
        let m = self.stats.snapshot();
        let report = WriterReport {
            rows_written: m.rows_written,
            batches_written: m.batches_written,
            write_errors: m.write_errors,
            rows_spilled: m.rows_spilled,
            spill_file: (self.spill.rows() > 0).then(|| self.spill.path().to_owned()),
            rows_lost: m.rows_pending + m.rows_lost,
        };
        tracing::info!(
            rows = report.rows_written,
            batches = report.batches_written,
            spilled = report.rows_spilled,
            lost = report.rows_lost,
            "log writer stopped"
        );
        report
    }
}
