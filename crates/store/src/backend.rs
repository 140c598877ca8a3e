//! The seam between the store and a database: what a backend must provide.
//!
//! SQLite is the only backend today. PostgreSQL or MySQL would add a module implementing
//! these two traits and a constructor on `Store`; the writer loop, filters, analysis and
//! spill handling stay as they are.

use crate::analysis::ScanRow;
use crate::bench::{BenchRun, BenchRunSummary};
use crate::capture::Row;
use crate::error::{BoxError, StoreError};
use crate::filter::RequestFilter;
use crate::model::{Page, StoredRequest};
use crate::resources::{ResourceRow, ResourceWriter};
use crate::scenario::{NewScenario, StoredScenario};
use crate::webhook::{DeliveryAttempt, DeliveryFilter, NewWebhook, StoredDelivery, StoredWebhook};

/// Reads and one-off writes; shared by every caller of a `Store`.
pub(crate) trait Backend: Send + Sync {
    /// Opens the connection the writer thread will own.
    fn writer(&self) -> Result<Box<dyn BatchWriter>, StoreError>;
    fn list(&self, filter: &RequestFilter) -> Result<Page, StoreError>;
    fn get(&self, id: i64) -> Result<Option<StoredRequest>, StoreError>;
    /// Calls `visit` for every row matching `filter`, in no particular order.
    fn scan(
        &self,
        filter: &RequestFilter,
        visit: &mut dyn FnMut(ScanRow<'_>),
    ) -> Result<(), StoreError>;
    /// The query plan of the listing query, one line per step.
    fn explain_list(&self, filter: &RequestFilter) -> Result<Vec<String>, StoreError>;
    /// Inserts rows in one transaction, outside the writer.
    fn insert(&self, rows: &[Row]) -> Result<(), StoreError>;
    fn schema_version(&self) -> Result<i64, StoreError>;
    fn scenarios(&self) -> Result<Vec<StoredScenario>, StoreError>;
    fn scenario(&self, key: ScenarioKey<'_>) -> Result<Option<StoredScenario>, StoreError>;
    fn create_scenario(&self, new: &NewScenario) -> Result<StoredScenario, StoreError>;
    fn update_scenario(
        &self,
        id: i64,
        new: &NewScenario,
    ) -> Result<Option<StoredScenario>, StoreError>;
    fn save_scenario(&self, new: &NewScenario) -> Result<(StoredScenario, bool), StoreError>;
    fn delete_scenario(&self, id: i64) -> Result<bool, StoreError>;
    fn activate_scenario(&self, id: i64) -> Result<Option<StoredScenario>, StoreError>;
    fn deactivate_scenarios(&self) -> Result<Option<StoredScenario>, StoreError>;
    /// Every stored resource item, by collection and in insertion order.
    fn load_resources(&self) -> Result<Vec<ResourceRow>, StoreError>;
    /// Opens the connection the resource-persisting thread will own.
    fn resource_writer(&self) -> Result<Box<dyn ResourceWriter>, StoreError>;
    /// Inserts a load-test run and returns its id.
    fn save_bench_run(&self, run: &BenchRun) -> Result<i64, StoreError>;
    /// Newest first.
    fn list_bench_runs(&self, limit: u32) -> Result<Vec<BenchRunSummary>, StoreError>;
    fn get_bench_run(&self, id: i64) -> Result<Option<BenchRun>, StoreError>;
    /// Every webhook, oldest first.
    fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError>;
    fn webhook(&self, id: i64) -> Result<Option<StoredWebhook>, StoreError>;
    fn create_webhook(&self, new: &NewWebhook) -> Result<StoredWebhook, StoreError>;
    fn delete_webhook(&self, id: i64) -> Result<bool, StoreError>;
    /// Delivery attempts, newest first.
    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<StoredDelivery>, StoreError>;
    /// Opens a connection of its own for recording delivery attempts.
    fn delivery_writer(&self) -> Result<Box<dyn DeliveryWriter>, StoreError>;
}

/// The connection that records delivery attempts, owned by one recorder.
pub(crate) trait DeliveryWriter: Send {
    fn record(&mut self, attempt: &DeliveryAttempt) -> Result<i64, StoreError>;
}

/// How a scenario is looked up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScenarioKey<'a> {
    Id(i64),
    Name(&'a str),
    Active,
}

/// The writer thread's connection.
pub(crate) trait BatchWriter: Send {
    /// Inserts all rows in one transaction, or none of them.
    fn write(&mut self, rows: &[Row]) -> Result<(), WriteError>;
    /// Closes the connection, reporting problems through tracing.
    fn close(&mut self);
}

/// A failed batch write.
#[derive(Debug)]
pub(crate) struct WriteError {
    /// A permanent error comes from the rows themselves (a constraint, a size limit), so
    /// retrying the same batch cannot succeed; anything else (locks, a full disk, a vanished
    /// file) may pass and is retried.
    pub permanent: bool,
    pub source: BoxError,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source)
    }
}
