//! Write-behind persistence of the stateful store: changes accepted in memory are handed to
//! one thread over an unbounded channel (a request never waits for it), written in batches,
//! and flushed at shutdown. At start, stored items are loaded back into memory.

use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use engine::state::{Change, Resources, RestoreReport};
use store::{ResourceChange, ResourceRow, ResourceWriter, Store, StoreError};

/// Most changes written in one transaction.
const BATCH: usize = 512;
/// Attempts at a failing batch before its changes are given up.
const ATTEMPTS: u32 = 5;

enum Message {
    Change(Change),
    Stop,
}

/// What the persisting thread did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PersistReport {
    /// Changes written to the database.
    pub written: u64,
    /// Changes the database refused after every retry (memory still has them).
    pub lost: u64,
}

/// The thread that writes the store's changes to the database.
pub struct StatePersister {
    tx: mpsc::Sender<Message>,
    thread: Option<JoinHandle<PersistReport>>,
}

impl std::fmt::Debug for StatePersister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatePersister").finish_non_exhaustive()
    }
}

/// Loads the items stored in `store` into `resources` (before it gets a sink).
pub fn restore(store: &Store, resources: &Resources) -> Result<RestoreReport, StoreError> {
    let mut report = RestoreReport::default();
    for row in store.load_resources()? {
        resources.restore(
            &mut report,
            &row.collection,
            row.scope,
            row.id,
            row.seq,
            &row.body,
        );
    }
    Ok(report)
}

impl StatePersister {
    /// Starts the persisting thread on a connection of its own; gives it and the sink to
    /// hand to [`Resources::set_sink`].
    pub fn start(
        store: &Store,
    ) -> Result<(StatePersister, impl Fn(Change) + Send + Sync + 'static), StoreError> {
        let writer = store.resource_writer()?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mockloop-state".to_owned())
            .spawn(move || run(writer, rx))
            .map_err(StoreError::StartWriter)?;
        let sender = tx.clone();
        let sink = move |change| {
            // The receiver lives until shutdown, after the listeners have stopped.
            let _ = sender.send(Message::Change(change));
        };
        Ok((
            StatePersister {
                tx,
                thread: Some(thread),
            },
            sink,
        ))
    }

    /// Writes every change handed over so far and stops the thread. Blocking.
    pub fn shutdown(mut self) -> PersistReport {
        let _ = self.tx.send(Message::Stop);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

fn convert(change: Change) -> ResourceChange {
    match change {
        Change::Put {
            collection,
            scope,
            id,
            seq,
            body,
        } => ResourceChange::Put(ResourceRow {
            collection,
            scope,
            id,
            seq,
            body: String::from_utf8_lossy(&body).into_owned(),
        }),
        Change::Delete {
            collection,
            scope,
            id,
        } => ResourceChange::Delete {
            collection,
            scope,
            id,
        },
        Change::Clear { collection } => ResourceChange::Clear { collection },
    }
}

fn run(mut writer: Box<dyn ResourceWriter>, rx: Receiver<Message>) -> PersistReport {
    let mut report = PersistReport::default();
    let mut batch = Vec::new();
    loop {
        let mut stop = match rx.recv() {
            Ok(Message::Change(change)) => {
                batch.push(convert(change));
                false
            }
            Ok(Message::Stop) | Err(_) => true,
        };
        // Whatever else is already waiting goes into the same transaction.
        while !stop && batch.len() < BATCH {
            match rx.try_recv() {
                Ok(Message::Change(change)) => batch.push(convert(change)),
                Ok(Message::Stop) | Err(TryRecvError::Disconnected) => stop = true,
                Err(TryRecvError::Empty) => break,
            }
        }
        if stop {
            while let Ok(Message::Change(change)) = rx.try_recv() {
                batch.push(convert(change));
            }
        }
        for chunk in batch.chunks(BATCH) {
            write(&mut *writer, chunk, &mut report);
        }
        batch.clear();
        if stop {
            return report;
        }
    }
}

fn write(writer: &mut dyn ResourceWriter, changes: &[ResourceChange], report: &mut PersistReport) {
    let mut wait = Duration::from_millis(20);
    for attempt in 1..=ATTEMPTS {
        match writer.apply(changes) {
            Ok(()) => {
                report.written += changes.len() as u64;
                return;
            }
            Err(err) => {
                let cause = std::error::Error::source(&err)
                    .map_or_else(|| err.to_string(), |s| format!("{err}: {s}"));
                tracing::warn!(attempt, %cause, "cannot store resource changes; retrying");
                if attempt < ATTEMPTS {
                    std::thread::sleep(wait);
                    wait *= 2;
                }
            }
        }
    }
    tracing::error!(
        changes = changes.len(),
        "resource changes not stored in the database after {ATTEMPTS} attempts; the mock \
         keeps them in memory until it stops"
    );
    report.lost += changes.len() as u64;
}
