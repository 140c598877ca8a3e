//! Saved load-test runs in SQLite: one row per run in `bench_runs`.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::bench::{BenchRun, BenchRunSummary};
use crate::error::StoreError;

const SUMMARY_COLUMNS: &str =
    "id, started_at, label, target, model, requests, rps, p50_us, p99_us, error_rate";

pub(super) fn save(conn: &Connection, run: &BenchRun) -> Result<i64, StoreError> {
    let s = &run.summary;
    conn.execute(
        "INSERT INTO bench_runs (started_at, label, target, model, requests, rps, p50_us, \
         p99_us, error_rate, settings, report) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            s.started_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            s.label,
            s.target,
            s.model,
            i64::try_from(s.requests).unwrap_or(i64::MAX),
            s.rps,
            i64::try_from(s.p50_us).unwrap_or(i64::MAX),
            i64::try_from(s.p99_us).unwrap_or(i64::MAX),
            s.error_rate,
            run.settings.to_string(),
            run.report.to_string(),
        ],
    )
    .map_err(StoreError::database("save a bench run"))?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn list(conn: &mut Connection, limit: u32) -> Result<Vec<BenchRunSummary>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM bench_runs ORDER BY started_at DESC, id DESC LIMIT ?"
        ))
        .map_err(StoreError::database("list bench runs"))?;
    let rows = stmt
        .query_map([limit], summary)
        .map_err(StoreError::database("list bench runs"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("read a bench run"))
}

pub(super) fn get(conn: &mut Connection, id: i64) -> Result<Option<BenchRun>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS}, settings, report FROM bench_runs WHERE id = ?"
        ))
        .map_err(StoreError::database("get a bench run"))?;
    stmt.query_row([id], |row| {
        Ok(BenchRun {
            summary: summary(row)?,
            settings: json(row, 10)?,
            report: json(row, 11)?,
        })
    })
    .optional()
    .map_err(StoreError::database("read a bench run"))
}

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<BenchRunSummary> {
    let started: String = row.get(1)?;
    let started_at = DateTime::parse_from_rfc3339(&started)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, err.into())
        })?;
    Ok(BenchRunSummary {
        id: row.get(0)?,
        started_at,
        label: row.get(2)?,
        target: row.get(3)?,
        model: row.get(4)?,
        requests: row.get::<_, i64>(5)?.max(0) as u64,
        rps: row.get(6)?,
        p50_us: row.get::<_, i64>(7)?.max(0) as u64,
        p99_us: row.get::<_, i64>(8)?.max(0) as u64,
        error_rate: row.get(9)?,
    })
}

fn json(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, err.into())
    })
}
