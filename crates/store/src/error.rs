//! Errors of the store: one enum for the library, one small type for a stopped writer.

use std::path::PathBuf;

/// Backend errors are boxed so that the public type names no database driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong opening, migrating, querying or importing into a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database '{}'", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    #[error("database '{}' does not exist", path.display())]
    Missing { path: PathBuf },
    #[error(
        "database '{}' is at schema version {found}, newer than this build knows ({known})",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("migration {version} ({name}) failed")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: BoxError,
    },
    /// A query or statement failed; `action` says what was being done.
    #[error("cannot {action}")]
    Database {
        action: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("a scenario named '{name}' already exists")]
    DuplicateScenario { name: String },
    #[error("a log writer is already running for '{}'", path.display())]
    WriterRunning { path: PathBuf },
    #[error("cannot start the log writer thread")]
    StartWriter(#[source] std::io::Error),
    #[error("cannot read spill file '{}'", path.display())]
    SpillRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spill file '{}' line {line} is not a log row", path.display())]
    SpillFormat {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// Wraps a driver error with what was being attempted, for `map_err`.
    pub(crate) fn database<E>(action: &'static str) -> impl FnOnce(E) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |source| StoreError::Database {
            action,
            source: Box::new(source),
        }
    }
}

/// The log writer has stopped, so the row cannot be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the log writer has stopped")]
pub struct SinkClosed;
