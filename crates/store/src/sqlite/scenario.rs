//! Scenario queries of the SQLite backend. Writes open their own short-lived connection:
//! they are rare (an admin call), and the read connection is read-only.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use crate::error::StoreError;
use crate::scenario::{NewScenario, StoredScenario};

const COLUMNS: &str =
    "id, name, description, scenario_type, config, active, created_at, updated_at";

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn scenario(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScenario> {
    let config: String = row.get(4)?;
    let created: String = row.get(6)?;
    let updated: String = row.get(7)?;
    Ok(StoredScenario {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        scenario_type: row.get(3)?,
        config: serde_json::from_str(&config).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, err.into())
        })?,
        active: row.get(5)?,
        created_at: time(&created),
        updated_at: time(&updated),
    })
}

/// A unique-name violation becomes `DuplicateScenario`.
fn duplicate_or(name: &str, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |err| match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::DuplicateScenario {
            name: name.to_owned(),
        },
        _ => StoreError::database(action)(err),
    }
}

pub(super) fn list(conn: &Connection) -> Result<Vec<StoredScenario>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM scenarios ORDER BY id"))
        .map_err(StoreError::database("list scenarios"))?;
    let rows = stmt
        .query_map([], scenario)
        .map_err(StoreError::database("list scenarios"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("read a scenario"))
}

/// One scenario by id, by name, or the active one.
pub(super) enum Key<'a> {
    Id(i64),
    Name(&'a str),
    Active,
}

pub(super) fn get(conn: &Connection, key: Key<'_>) -> Result<Option<StoredScenario>, StoreError> {
    let query = |condition: &str| format!("SELECT {COLUMNS} FROM scenarios WHERE {condition}");
    let found = match key {
        Key::Id(id) => conn.query_row(&query("id = ?1"), [id], scenario),
        Key::Name(name) => conn.query_row(&query("name = ?1"), [name], scenario),
        Key::Active => conn.query_row(&query("active = 1"), [], scenario),
    };
    found
        .optional()
        .map_err(StoreError::database("read a scenario"))
}

pub(super) fn create(conn: &Connection, new: &NewScenario) -> Result<StoredScenario, StoreError> {
    let stamp = now();
    let config = new.config.to_string();
    let id = conn
        .query_row(
            "INSERT INTO scenarios (name, description, scenario_type, config, active, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) RETURNING id",
            (
                &new.name,
                &new.description,
                &new.scenario_type,
                &config,
                &stamp,
            ),
            |row| row.get::<_, i64>(0),
        )
        .map_err(duplicate_or(&new.name, "create a scenario"))?;
    get(conn, Key::Id(id))?.ok_or(StoreError::Database {
        action: "read a created scenario",
        source: "the new row is missing".into(),
    })
}

pub(super) fn update(
    conn: &Connection,
    id: i64,
    new: &NewScenario,
) -> Result<Option<StoredScenario>, StoreError> {
    let changed = conn
        .execute(
            "UPDATE scenarios SET name = ?1, description = ?2, scenario_type = ?3, config = ?4, \
             updated_at = ?5 WHERE id = ?6",
            (
                &new.name,
                &new.description,
                &new.scenario_type,
                new.config.to_string(),
                now(),
                id,
            ),
        )
        .map_err(duplicate_or(&new.name, "update a scenario"))?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, Key::Id(id))
}

/// Creates or replaces the scenario named `new.name`; true when it was created.
pub(super) fn save(
    conn: &mut Connection,
    new: &NewScenario,
) -> Result<(StoredScenario, bool), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::database("save a scenario"))?;
    let existing = get(&tx, Key::Name(&new.name))?;
    let saved = match existing {
        Some(old) => (update(&tx, old.id, new)?, false),
        None => (Some(create(&tx, new)?), true),
    };
    tx.commit()
        .map_err(StoreError::database("save a scenario"))?;
    match saved {
        (Some(row), created) => Ok((row, created)),
        (None, _) => Err(StoreError::Database {
            action: "save a scenario",
            source: "the row vanished".into(),
        }),
    }
}

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM scenarios WHERE id = ?1", [id])
        .map(|n| n > 0)
        .map_err(StoreError::database("delete a scenario"))
}

/// Makes `id` the only active scenario, in one transaction.
pub(super) fn activate(
    conn: &mut Connection,
    id: i64,
) -> Result<Option<StoredScenario>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::database("activate a scenario"))?;
    if get(&tx, Key::Id(id))?.is_none() {
        return Ok(None);
    }
    tx.execute(
        "UPDATE scenarios SET active = 0 WHERE active = 1 AND id != ?1",
        [id],
    )
    .and_then(|_| tx.execute("UPDATE scenarios SET active = 1 WHERE id = ?1", [id]))
    .map_err(StoreError::database("activate a scenario"))?;
    let row = get(&tx, Key::Id(id))?;
    tx.commit()
        .map_err(StoreError::database("activate a scenario"))?;
    Ok(row)
}

/// Leaves no scenario active; returns the one that was.
pub(super) fn deactivate(conn: &mut Connection) -> Result<Option<StoredScenario>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::database("deactivate scenarios"))?;
    let active = get(&tx, Key::Active)?;
    tx.execute("UPDATE scenarios SET active = 0 WHERE active = 1", [])
        .map_err(StoreError::database("deactivate scenarios"))?;
    tx.commit()
        .map_err(StoreError::database("deactivate scenarios"))?;
    Ok(active.map(|s| StoredScenario { active: false, ..s }))
}
