//! Resource queries of the SQLite backend: loading every stored item at start and applying
//! batches of changes from the thread that persists them.

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;
use crate::resources::{ResourceChange, ResourceRow, ResourceWriter};

/// A scope as stored: a JSON array of the parent values (`[]` at the top level).
fn scope_text(scope: &[String]) -> String {
    serde_json::to_string(scope).unwrap_or_else(|_| "[]".to_owned())
}

/// Every stored item, by collection and then in insertion order.
pub(super) fn load(conn: &Connection) -> Result<Vec<ResourceRow>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT collection, scope, item_id, seq, body FROM resources \
             ORDER BY collection, seq",
        )
        .map_err(StoreError::database("list stored resources"))?;
    let rows = stmt
        .query_map([], |row| {
            let scope: String = row.get(1)?;
            Ok(ResourceRow {
                collection: row.get(0)?,
                scope: serde_json::from_str(&scope).map_err(|err| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        Box::new(err),
                    )
                })?,
                id: row.get(2)?,
                seq: row.get(3)?,
                body: row.get(4)?,
            })
        })
        .map_err(StoreError::database("list stored resources"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("read a stored resource"))
}

/// The persisting thread's connection.
pub(super) struct SqliteResourceWriter {
    pub(super) conn: Connection,
}

impl ResourceWriter for SqliteResourceWriter {
    fn apply(&mut self, changes: &[ResourceChange]) -> Result<(), StoreError> {
        let failed = StoreError::database("store resources");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::database("store resources"))?;
        let stamp = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        for change in changes {
            let done = match change {
                ResourceChange::Put(row) => tx
                    .prepare_cached(
                        "INSERT INTO resources (collection, scope, item_id, seq, body, \
                         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                         ON CONFLICT (collection, scope, item_id) DO UPDATE SET \
                         seq = excluded.seq, body = excluded.body, \
                         updated_at = excluded.updated_at",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute((
                            &row.collection,
                            scope_text(&row.scope),
                            &row.id,
                            row.seq,
                            &row.body,
                            &stamp,
                        ))
                    }),
                ResourceChange::Delete {
                    collection,
                    scope,
                    id,
                } => tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE collection = ?1 AND scope = ?2 \
                         AND item_id = ?3",
                    )
                    .and_then(|mut stmt| stmt.execute((collection, scope_text(scope), id))),
                ResourceChange::Clear {
                    collection: Some(collection),
                } => tx.execute("DELETE FROM resources WHERE collection = ?1", [collection]),
                ResourceChange::Clear { collection: None } => {
                    tx.execute("DELETE FROM resources", [])
                }
            };
            if let Err(err) = done {
                return Err(StoreError::database("store resources")(err));
            }
        }
        tx.commit().map_err(failed)
    }
}
