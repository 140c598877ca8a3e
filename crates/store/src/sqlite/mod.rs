//! The SQLite backend: connection setup, the shared read connection, and tracking of the
//! database file so that a deleted file is noticed.

mod bench;
mod migrate;
mod read;
mod resources;
mod scenario;
mod webhook;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::StoreOptions;
use crate::analysis::ScanRow;
use crate::backend::{Backend, BatchWriter, DeliveryWriter, ScenarioKey};
use crate::bench::{BenchRun, BenchRunSummary};
use crate::capture::Row;
use crate::error::{BoxError, StoreError};
use crate::filter::{RequestFilter, compile_regex};
use crate::model::{Page, StoredRequest};
use crate::resources::{ResourceRow, ResourceWriter};
use crate::scenario::{NewScenario, StoredScenario};
use crate::webhook::{DeliveryAttempt, DeliveryFilter, NewWebhook, StoredDelivery, StoredWebhook};

pub(crate) use migrate::MIGRATIONS;

/// The store's side of one SQLite file.
pub(crate) struct SqliteBackend {
    shared: Arc<Shared>,
}

/// What the backend and its writer share.
pub(crate) struct Shared {
    path: PathBuf,
    options: StoreOptions,
    read: Mutex<ReadSlot>,
    /// While a writer runs, only the writer moves connections to a new file (see
    /// `SqliteWriter::follow_file`); readers then keep the old file until it has.
    writer_active: AtomicBool,
}

/// The read connection, opened on first use and again after the file changed.
struct ReadSlot {
    conn: Option<Connection>,
    file: Option<FileId>,
}

/// Identity of the database file, to notice that it was deleted or replaced: SQLite keeps
/// writing to an unlinked file in WAL mode without error, which would lose every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    device: u64,
    inode: u64,
}

#[cfg(unix)]
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

// NOTE: without inode numbers only deletion is noticed, not replacement.
#[cfg(not(unix))]
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    path.exists().then_some(FileId {
        device: 0,
        inode: 0,
    })
}

/// Opens a connection in WAL mode with the schema migrated and `regexp` registered.
pub(crate) fn open_connection(
    path: &Path,
    options: &StoreOptions,
    create: bool,
) -> Result<Connection, StoreError> {
    if !create && !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    let open_err = |source: BoxError| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    // A new database holds nothing that a crash could lose, so it is set up without
    // fsyncs: creating it would otherwise cost several syncs (about 10 ms) at start-up.
    let fresh = std::fs::metadata(path).map_or(true, |meta| meta.len() == 0);
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(e.into()))?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| open_err(e.into()))?;
    configure(&conn).map_err(|e| open_err(e.into()))?;
    if fresh {
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(|e| open_err(e.into()))?;
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| open_err(e.into()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(
            format!("journal mode is '{mode}' where WAL is required").into(),
        ));
    }
    migrate::run(&mut conn, MIGRATIONS, path)?;
    if fresh {
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| open_err(e.into()))?;
    }
    Ok(conn)
}

/// Settings every connection needs. `synchronous = NORMAL` is durable against process
/// crashes in WAL mode and only risks the last commits on power loss, which suits a log.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(32);
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            // The compiled pattern is kept by SQLite for the whole statement.
            let regex = ctx.get_or_create_aux(0, |pattern| -> Result<_, BoxError> {
                Ok(compile_regex(pattern.as_str()?)?)
            })?;
            Ok(match ctx.get_raw(1) {
                ValueRef::Text(text) => std::str::from_utf8(text).is_ok_and(|t| regex.is_match(t)),
                _ => false,
            })
        },
    )
}

impl SqliteBackend {
    /// Opens (creating when allowed) and migrates the database, failing early on a bad path
    /// or a schema from a newer build.
    pub fn open(path: &Path, options: StoreOptions) -> Result<SqliteBackend, StoreError> {
        let shared = Shared {
            path: path.to_owned(),
            options,
            read: Mutex::new(ReadSlot {
                conn: None,
                file: None,
            }),
            writer_active: AtomicBool::new(false),
        };
        shared.with_reader(|_| Ok(()))?;
        Ok(SqliteBackend {
            shared: Arc::new(shared),
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

impl Shared {
    /// Runs `f` on the read connection, reopening it first if the file changed and no
    /// writer is there to do it.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        let writer_active = self.writer_active.load(Ordering::Acquire);
        if slot.conn.is_some() && !writer_active && file_id(&self.path) != slot.file {
            tracing::info!(db = %self.path.display(), "database file changed; reopening");
            slot.conn = None;
        }
        let conn = match slot.conn.take() {
            Some(conn) => conn,
            None => {
                let conn =
                    open_connection(&self.path, &self.options, self.options.create_if_missing)?;
                conn.pragma_update(None, "query_only", true)
                    .map_err(StoreError::database("make the read connection read-only"))?;
                slot.file = file_id(&self.path);
                conn
            }
        };
        f(slot.conn.insert(conn))
    }

    /// A connection for a one-off change outside the log writer (scenarios).
    fn control(&self) -> Result<Connection, StoreError> {
        open_connection(&self.path, &self.options, true)
    }

    /// Closes the read connection and runs `f` while readers wait, so that the writer can
    /// leave a deleted file with no connection of ours still on it.
    fn without_reader<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut slot = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        slot.conn = None;
        slot.file = None;
        f()
    }
}

impl Backend for SqliteBackend {
    fn writer(&self) -> Result<Box<dyn BatchWriter>, StoreError> {
        if self.shared.writer_active.swap(true, Ordering::AcqRel) {
            return Err(StoreError::WriterRunning {
                path: self.shared.path.clone(),
            });
        }
        match write::SqliteWriter::open(self.shared.clone()) {
            Ok(writer) => Ok(Box::new(writer)),
            Err(err) => {
                self.shared.writer_active.store(false, Ordering::Release);
                Err(err)
            }
        }
    }

    fn list(&self, filter: &RequestFilter) -> Result<Page, StoreError> {
        self.shared.with_reader(|conn| read::list(conn, filter))
    }

    fn get(&self, id: i64) -> Result<Option<StoredRequest>, StoreError> {
        self.shared.with_reader(|conn| read::get(conn, id))
    }

    fn scan(
        &self,
        filter: &RequestFilter,
        visit: &mut dyn FnMut(ScanRow<'_>),
    ) -> Result<(), StoreError> {
        self.shared
            .with_reader(|conn| read::scan(conn, filter, visit))
    }

    fn explain_list(&self, filter: &RequestFilter) -> Result<Vec<String>, StoreError> {
        self.shared
            .with_reader(|conn| read::explain_list(conn, filter))
    }

    fn insert(&self, rows: &[Row]) -> Result<(), StoreError> {
        let mut conn = open_connection(&self.shared.path, &self.shared.options, true)?;
        write::insert(&mut conn, rows).map_err(StoreError::database("insert rows"))
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        self.shared.with_reader(|conn| {
            migrate::current_version(conn).map_err(StoreError::database("read the schema version"))
        })
    }

    fn scenarios(&self) -> Result<Vec<StoredScenario>, StoreError> {
        self.shared.with_reader(|conn| scenario::list(conn))
    }

    fn scenario(&self, key: ScenarioKey<'_>) -> Result<Option<StoredScenario>, StoreError> {
        let key = match key {
            ScenarioKey::Id(id) => scenario::Key::Id(id),
            ScenarioKey::Name(name) => scenario::Key::Name(name),
            ScenarioKey::Active => scenario::Key::Active,
        };
        self.shared.with_reader(|conn| scenario::get(conn, key))
    }

    fn create_scenario(&self, new: &NewScenario) -> Result<StoredScenario, StoreError> {
        scenario::create(&self.shared.control()?, new)
    }

    fn update_scenario(
        &self,
        id: i64,
        new: &NewScenario,
    ) -> Result<Option<StoredScenario>, StoreError> {
        scenario::update(&self.shared.control()?, id, new)
    }

    fn save_scenario(&self, new: &NewScenario) -> Result<(StoredScenario, bool), StoreError> {
        scenario::save(&mut self.shared.control()?, new)
    }

    fn delete_scenario(&self, id: i64) -> Result<bool, StoreError> {
        scenario::delete(&self.shared.control()?, id)
    }

    fn activate_scenario(&self, id: i64) -> Result<Option<StoredScenario>, StoreError> {
        scenario::activate(&mut self.shared.control()?, id)
    }

    fn deactivate_scenarios(&self) -> Result<Option<StoredScenario>, StoreError> {
        scenario::deactivate(&mut self.shared.control()?)
    }

    fn load_resources(&self) -> Result<Vec<ResourceRow>, StoreError> {
        self.shared.with_reader(|conn| resources::load(conn))
    }

    fn resource_writer(&self) -> Result<Box<dyn ResourceWriter>, StoreError> {
        Ok(Box::new(resources::SqliteResourceWriter {
            conn: self.shared.control()?,
        }))
    }

    fn save_bench_run(&self, run: &BenchRun) -> Result<i64, StoreError> {
        let conn = open_connection(&self.shared.path, &self.shared.options, true)?;
        bench::save(&conn, run)
    }

    fn list_bench_runs(&self, limit: u32) -> Result<Vec<BenchRunSummary>, StoreError> {
        self.shared.with_reader(|conn| bench::list(conn, limit))
    }

    fn get_bench_run(&self, id: i64) -> Result<Option<BenchRun>, StoreError> {
        self.shared.with_reader(|conn| bench::get(conn, id))
    }

    fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        self.shared.with_reader(|conn| webhook::list(conn))
    }

    fn webhook(&self, id: i64) -> Result<Option<StoredWebhook>, StoreError> {
        self.shared.with_reader(|conn| webhook::get(conn, id))
    }

    fn create_webhook(&self, new: &NewWebhook) -> Result<StoredWebhook, StoreError> {
        webhook::create(&self.shared.control()?, new)
    }

    fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        webhook::delete(&self.shared.control()?, id)
    }

    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<StoredDelivery>, StoreError> {
        self.shared
            .with_reader(|conn| webhook::deliveries(conn, filter))
    }

    fn delivery_writer(&self) -> Result<Box<dyn DeliveryWriter>, StoreError> {
        Ok(Box::new(SqliteDeliveries {
            conn: self.shared.control()?,
        }))
    }
}

/// The recorder's own connection.
struct SqliteDeliveries {
    conn: Connection,
}

impl DeliveryWriter for SqliteDeliveries {
    fn record(&mut self, attempt: &DeliveryAttempt) -> Result<i64, StoreError> {
        webhook::record(&self.conn, attempt)
    }
}
