//! The writer thread's SQLite connection: each batch is one transaction of prepared inserts.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};

use super::{FileId, Shared, file_id, open_connection};
use crate::backend::{BatchWriter, WriteError};
use crate::capture::{BodyData, Row, StoredBody};

const INSERT: &str = "INSERT INTO request_logs (
    ts_us, status, duration_us, method, route, path, query, operation_id, server_id, scenario,
    session_id, request_id, client_addr, user_agent, request_body_size, response_body_size,
    request_headers, response_headers, request_body, response_body, fault, rule
) VALUES (
    ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
    ?21, ?22
)";

pub(crate) struct SqliteWriter {
    shared: Arc<Shared>,
    /// `None` after a failure that a fresh connection may get past; reopened on next write.
    conn: Option<Connection>,
    file: Option<FileId>,
}

impl SqliteWriter {
    pub fn open(shared: Arc<Shared>) -> Result<SqliteWriter, crate::StoreError> {
        let conn = open_connection(&shared.path, &shared.options, true)?;
        let file = file_id(&shared.path);
        Ok(SqliteWriter {
            shared,
            conn: Some(conn),
            file,
        })
    }

    fn connection(&mut self) -> Result<&mut Connection, WriteError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let path = &self.shared.path;
                let conn = open_connection(path, &self.shared.options, true).map_err(|err| {
                    WriteError {
                        permanent: false,
                        source: err.into(),
                    }
                })?;
                self.file = file_id(path);
                conn
            }
        };
        Ok(self.conn.insert(conn))
    }

    /// Leaves a database file that was deleted or replaced: closes every connection of ours
    /// on it (and removes its stale `-wal`/`-shm` if it is gone, so the new file does not
    /// adopt them), so that the next write creates and migrates a new file at the path.
    fn follow_file(&mut self) {
        let path = &self.shared.path;
        if self.conn.is_none() || file_id(path) == self.file {
            return;
        }
        let db = path.display();
        tracing::warn!(%db, "database file was deleted or replaced; starting anew");
        let conn = &mut self.conn;
        self.shared.without_reader(|| {
            if let Some(conn) = conn.take() {
                close(conn);
            }
            if !path.exists() {
                remove_companions(path);
            }
        });
    }
}

impl BatchWriter for SqliteWriter {
    fn write(&mut self, rows: &[Row]) -> Result<(), WriteError> {
        self.follow_file();
        let conn = self.connection()?;
        insert(conn, rows).map_err(|err| {
            let code = err.sqlite_error_code();
            let busy = matches!(
                code,
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            );
            let permanent = is_permanent(&err);
            if !busy && !permanent {
                self.conn = None;
            }
            WriteError {
                permanent,
                source: err.into(),
            }
        })
    }

    fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            close(conn);
        }
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        self.shared.writer_active.store(false, Ordering::Release);
    }
}

/// Errors caused by the rows themselves; retrying the same rows cannot help.
fn is_permanent(err: &rusqlite::Error) -> bool {
    match err.sqlite_error_code() {
        Some(code) => matches!(
            code,
            ErrorCode::ConstraintViolation | ErrorCode::TooBig | ErrorCode::TypeMismatch
        ),
        // Not from SQLite: a value that could not be converted.
        None => true,
    }
}

fn close(conn: Connection) {
    if let Err((_, err)) = conn.close() {
        tracing::warn!(cause = %err, "closing the database connection failed");
    }
}

fn remove_companions(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => tracing::info!(file = ?name, "removed the deleted database's companion"),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(file = ?name, cause = %err, "cannot remove stale file"),
        }
    }
}

fn body(body: &StoredBody) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match &body.data {
        BodyData::Text(text) => ValueRef::Text(text),
        BodyData::Binary(bytes) => ValueRef::Blob(bytes),
    })
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Inserts `rows` in one immediate transaction: all or nothing.
pub(crate) fn insert(conn: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(INSERT)?;
        for row in rows {
            stmt.execute(params![
                row.timestamp.timestamp_micros(),
                row.status,
                clamp(row.duration_us),
                row.method,
                row.route,
                row.path,
                row.query,
                row.operation_id,
                row.server_id,
                row.scenario,
                row.session_id,
                row.request_id,
                row.client_addr,
                row.user_agent,
                clamp(row.request_body.size),
                clamp(row.response_body.size),
                row.request_headers,
                row.response_headers,
                body(&row.request_body),
                body(&row.response_body),
                row.fault,
                row.rule,
            ])?;
        }
    }
    tx.commit()
}
