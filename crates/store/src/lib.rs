//! The request log: what the mock served, stored and queried.
//!
//! The server builds a [`LogRecord`] per request and hands it to a [`LogSink`]; one writer
//! thread batches records into transactions. The admin API and the `logs` command read
//! through [`Store::list`], [`Store::get`] and [`Store::analyze`], which are blocking calls
//! (run them on `spawn_blocking` from async code).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use store::{LogRecord, RequestFilter, Store, StoreOptions, WriterOptions};
//!
//! let store = Store::open("mockloop.db", StoreOptions::default())?;
//! let (sink, writer) = store.start_writer(WriterOptions::default())?;
//! sink.reserve().await?.send(LogRecord::default());
//! let report = writer.shutdown().await;
//! assert!(report.is_complete());
//! let page = store.list(&RequestFilter::from_pairs([("status", "2xx")])?)?;
//! # Ok(()) }
//! ```

mod analysis;
mod backend;
mod bench;
mod capture;
mod error;
mod filter;
mod model;
mod record;
mod resources;
mod scenario;
mod spill;
mod sqlite;
mod stats;
mod webhook;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use analysis::{Analysis, ErrorRates, Latency, MinuteCount, RouteStats, TimeRange};
pub use bench::{BenchRun, BenchRunSummary};
pub use capture::{
    Body, BodyEncoding, Headers, REDACTED, default_redacted_headers, default_redacted_query,
};
pub use error::{BoxError, SinkClosed, StoreError};
pub use filter::{
    DEFAULT_LIMIT, FILTER_KEYS, FilterError, MAX_LIMIT, PathMatch, RequestFilter, StatusMatch,
};
pub use model::{Page, RequestSummary, StoredRequest};
pub use record::LogRecord;
pub use resources::{ResourceChange, ResourceRow, ResourceWriter};
pub use scenario::{NewScenario, StoredScenario};
pub use stats::{WriterMetrics, WriterStats};
pub use webhook::{DeliveryAttempt, DeliveryFilter, NewWebhook, StoredDelivery, StoredWebhook};
pub use writer::{LogPermit, LogSink, WriterHandle, WriterOptions, WriterReport};

use analysis::Aggregator;
use backend::{Backend, DeliveryWriter, ScenarioKey};

/// How a store opens its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a statement waits for another connection's lock before failing (the
    /// writer then retries the batch).
    pub busy_timeout: Duration,
    /// Create the database when it does not exist; read-only tools such as `mockloop logs`
    /// set this to false so that a mistyped path is an error, not a new empty file.
    pub create_if_missing: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(5),
            create_if_missing: true,
        }
    }
}

/// A request log database: queries, plus the starting point of its writer.
///
/// Clones share one read connection (concurrent queries take turns) and one writer.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the SQLite database at `path` in WAL mode, creating it if allowed, and applies
    /// missing schema migrations.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let backend = sqlite::SqliteBackend::open(path, options)?;
        Ok(Store {
            path: backend.path().to_owned(),
            backend: Arc::new(backend),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the one writer of this database: a dedicated thread with its own
    /// connection. Fails if a writer is already running for this store.
    pub fn start_writer(
        &self,
        options: WriterOptions,
    ) -> Result<(LogSink, WriterHandle), StoreError> {
        let spill_dir = match &options.spill_dir {
            Some(dir) => dir.clone(),
            None => match self.path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => PathBuf::from("."),
            },
        };
        let db_name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let spill = spill::Spill::new(&spill_dir, &db_name);
        writer::start(self.backend.writer()?, options, spill, &self.path)
    }

    /// One page of matching requests, newest first, and the number of all matches.
    pub fn list(&self, filter: &RequestFilter) -> Result<Page, StoreError> {
        self.backend.list(filter)
    }

    /// One request with its headers and bodies; `None` if there is no such id.
    pub fn get(&self, id: i64) -> Result<Option<StoredRequest>, StoreError> {
        self.backend.get(id)
    }

    /// Figures over all requests matching `filter` (its `limit` and `offset` are ignored).
    pub fn analyze(&self, filter: &RequestFilter) -> Result<Analysis, StoreError> {
        let mut aggregator = Aggregator::default();
        self.backend.scan(filter, &mut |row| aggregator.add(row))?;
        Ok(aggregator.finish())
    }

    /// The database's plan for the listing query with this filter, one line per step, for
    /// `mockloop db advise` and for checking that indexes are used.
    pub fn explain_list(&self, filter: &RequestFilter) -> Result<Vec<String>, StoreError> {
        self.backend.explain_list(filter)
    }

    /// Inserts the rows of a spill file (see `WriterReport::spill_file`) and returns how
    /// many there were. Importing the same file twice inserts its rows twice.
    pub fn import_spill(&self, path: impl AsRef<Path>) -> Result<u64, StoreError> {
        let rows = spill::read(path.as_ref())?;
        self.backend.insert(&rows)?;
        Ok(rows.len() as u64)
    }

    /// Every stored scenario, oldest first.
    pub fn scenarios(&self) -> Result<Vec<StoredScenario>, StoreError> {
        self.backend.scenarios()
    }

    pub fn scenario(&self, id: i64) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.scenario(ScenarioKey::Id(id))
    }

    pub fn scenario_named(&self, name: &str) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.scenario(ScenarioKey::Name(name))
    }

    /// The active scenario, if one is.
    pub fn active_scenario(&self) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.scenario(ScenarioKey::Active)
    }

    /// Stores a new, inactive scenario; a name already taken is
    /// [`StoreError::DuplicateScenario`].
    pub fn create_scenario(&self, new: &NewScenario) -> Result<StoredScenario, StoreError> {
        self.backend.create_scenario(new)
    }

    /// Replaces scenario `id` (its active flag stays); `None` if there is no such id.
    pub fn update_scenario(
        &self,
        id: i64,
        new: &NewScenario,
    ) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.update_scenario(id, new)
    }

    /// Creates the scenario or replaces the one of the same name; true when created.
    pub fn save_scenario(&self, new: &NewScenario) -> Result<(StoredScenario, bool), StoreError> {
        self.backend.save_scenario(new)
    }

    /// Deletes scenario `id`; false if there was none.
    pub fn delete_scenario(&self, id: i64) -> Result<bool, StoreError> {
        self.backend.delete_scenario(id)
    }

    /// Makes scenario `id` the only active one; `None` if there is no such id.
    pub fn activate_scenario(&self, id: i64) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.activate_scenario(id)
    }

    /// Leaves no scenario active and returns the one that was.
    pub fn deactivate_scenarios(&self) -> Result<Option<StoredScenario>, StoreError> {
        self.backend.deactivate_scenarios()
    }

    /// Every stored item of the stateful mode, by collection and in insertion order.
    pub fn load_resources(&self) -> Result<Vec<ResourceRow>, StoreError> {
        self.backend.load_resources()
    }

    /// A writer of resource changes with a connection of its own, for the one thread that
    /// persists them (a response never waits for it).
    pub fn resource_writer(&self) -> Result<Box<dyn ResourceWriter>, StoreError> {
        self.backend.resource_writer()
    }

    /// Saves a load-test run (its `summary.id` is ignored) and returns the id it was given.
    pub fn save_bench_run(&self, run: &BenchRun) -> Result<i64, StoreError> {
        self.backend.save_bench_run(run)
    }

    /// Saved load-test runs, newest first, at most `limit` of them.
    pub fn list_bench_runs(&self, limit: u32) -> Result<Vec<BenchRunSummary>, StoreError> {
        self.backend.list_bench_runs(limit)
    }

    /// One saved load-test run; `None` if there is no such id.
    pub fn get_bench_run(&self, id: i64) -> Result<Option<BenchRun>, StoreError> {
        self.backend.get_bench_run(id)
    }

    /// Every registered webhook, oldest first.
    pub fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        self.backend.webhooks()
    }

    /// One webhook; `None` if there is no such id.
    pub fn webhook(&self, id: i64) -> Result<Option<StoredWebhook>, StoreError> {
        self.backend.webhook(id)
    }

    /// Stores a webhook (checked by the caller) and returns it with its id.
    pub fn create_webhook(&self, new: &NewWebhook) -> Result<StoredWebhook, StoreError> {
        self.backend.create_webhook(new)
    }

    /// Deletes webhook `id`, keeping its delivery history; false if there was none.
    pub fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        self.backend.delete_webhook(id)
    }

    /// Recorded delivery attempts, newest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<StoredDelivery>, StoreError> {
        self.backend.deliveries(filter)
    }

    /// A connection of its own for recording delivery attempts (blocking; keep it on one
    /// thread off the request path).
    pub fn delivery_log(&self) -> Result<DeliveryLog, StoreError> {
        Ok(DeliveryLog {
            writer: self.backend.delivery_writer()?,
        })
    }

    /// The highest applied schema migration.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.backend.schema_version()
    }

    /// Every migration version this build knows, in order (not necessarily contiguous:
    /// features take their own numbers).
    pub fn known_schema_versions() -> Vec<i64> {
        sqlite::MIGRATIONS.iter().map(|m| m.version).collect()
    }

    /// The migration version this build brings databases to.
    pub fn latest_schema_version() -> i64 {
        sqlite::MIGRATIONS.last().map_or(0, |m| m.version)
    }
}

/// Records delivery attempts through a connection of its own (see [`Store::delivery_log`]).
pub struct DeliveryLog {
    writer: Box<dyn DeliveryWriter>,
}

impl std::fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLog").finish_non_exhaustive()
    }
}

impl DeliveryLog {
    /// Inserts one attempt and returns its row id.
    pub fn record(&mut self, attempt: &DeliveryAttempt) -> Result<i64, StoreError> {
        self.writer.record(attempt)
    }
}
