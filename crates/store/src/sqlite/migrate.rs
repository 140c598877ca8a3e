//! Versioned schema migrations for SQLite, recorded in `schema_migrations`.
//!
//! Versions are applied by set, not by high-water mark: a database that has 1 and 3 gets 2
//! when a build that knows 2 opens it. Features developed side by side take their own
//! version numbers and land in any order.

use std::path::Path;

use chrono::Utc;
use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// One step of the schema. Versions only grow; an applied step is never edited, a change
/// is a new step.
#[derive(Debug, Clone)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create request_logs",
        sql: REQUEST_LOGS,
    },
    Migration {
        version: 2,
        name: "create bench_runs",
        sql: BENCH_RUNS,
    },
    Migration {
        version: 3,
        name: "create scenarios, add request_logs.fault and rule",
        sql: SCENARIOS,
    },
    Migration {
        version: 4,
        name: "create resources",
        sql: RESOURCES,
    },
    Migration {
        version: 5,
        name: "create webhooks and webhook_deliveries",
        sql: WEBHOOKS,
    },
];

/// Small columns come first and headers and bodies last: SQLite reads a row's columns in
/// order and follows overflow pages to reach those after a large value, so scans of the
/// small columns (listings, analyses) never touch body pages.
///
/// Indexes serve the admin API's queries: `ts_us` for newest-first paging and time ranges
/// (its entries end with the rowid, which breaks ties in the same order), `(status, ts_us)`
/// and `(route, ts_us)` for those filters with the same ordering. Method and path filters
/// are too unselective or unindexable (substring, regex) to pay for an index on every
/// insert.
const REQUEST_LOGS: &str = "
CREATE TABLE request_logs (
    id                 INTEGER PRIMARY KEY,
    ts_us              INTEGER NOT NULL,
    status             INTEGER NOT NULL,
    duration_us        INTEGER NOT NULL,
    method             TEXT NOT NULL,
    route              TEXT,
    path               TEXT NOT NULL,
    query              TEXT NOT NULL,
    operation_id       TEXT,
    server_id          TEXT NOT NULL,
    scenario           TEXT NOT NULL DEFAULT '',
    session_id         TEXT,
    request_id         TEXT NOT NULL,
    client_addr        TEXT,
    user_agent         TEXT,
    request_body_size  INTEGER NOT NULL,
    response_body_size INTEGER NOT NULL,
    request_headers    TEXT NOT NULL,
    response_headers   TEXT NOT NULL,
    request_body       BLOB NOT NULL,
    response_body      BLOB NOT NULL
);
CREATE INDEX idx_request_logs_ts ON request_logs (ts_us);
CREATE INDEX idx_request_logs_status_ts ON request_logs (status, ts_us);
CREATE INDEX idx_request_logs_route_ts ON request_logs (route, ts_us);
";

/// Scenarios survive restarts here. Ids are never reused (`AUTOINCREMENT`): clients keep
/// them, and a deleted scenario's id must not come to name another. `config` is the
/// scenario as JSON, kept as it was given; `name` and `description` are also columns so that
/// listings need not parse it. The partial unique index makes "at most one active" a rule of
/// the database itself.
///
/// `fault` names the fault injected into a logged request's answer and `rule` the runtime
/// rule that answered it; both NULL for most rows.
const SCENARIOS: &str = "
CREATE TABLE scenarios (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    scenario_type TEXT NOT NULL DEFAULT '',
    config        TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_scenarios_one_active ON scenarios (active) WHERE active = 1;
ALTER TABLE request_logs ADD COLUMN fault TEXT;
ALTER TABLE request_logs ADD COLUMN rule TEXT;
";

/// Items of the stateful mode's collections, so that a restart finds them again. `scope` is
/// a JSON array of the parent path values of a nested collection (`[]` at the top level);
/// `seq` is the insertion order within the collection, which listings keep. The primary key
/// is the item's identity, so that a replaced item is one upsert.
const RESOURCES: &str = "
CREATE TABLE resources (
    collection TEXT NOT NULL,
    scope      TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (collection, scope, item_id)
) WITHOUT ROWID;
";

/// Registered webhooks and the record of every delivery attempt (webhooks, test deliveries
/// and OAS callbacks). Webhook ids are never reused. `events` is a JSON array of event
/// patterns and `headers` a JSON array of `[name, value]` pairs. A delivery row is one
/// attempt; `delivery_id` groups the attempts of one delivery. Rows keep `webhook_id` after
/// the webhook is deleted, so that the history stays readable.
const WEBHOOKS: &str = "
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT,
    headers     TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    webhook_id  INTEGER,
    event       TEXT NOT NULL,
    method      TEXT NOT NULL,
    url         TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER,
    latency_ms  REAL,
    error       TEXT,
    outcome     TEXT NOT NULL,
    request_id  TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX idx_webhook_deliveries_kind ON webhook_deliveries (kind, id);
";

/// Saved load-test runs (`mockloop bench`). The settings and the full report are JSON
/// documents; the few figures that listings show are copied into columns so that a listing
/// reads no JSON. `started_at` is RFC 3339 in UTC, so text order is time order.
const BENCH_RUNS: &str = "
CREATE TABLE bench_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    label       TEXT,
    target      TEXT NOT NULL,
    model       TEXT NOT NULL,
    requests    INTEGER NOT NULL,
    rps         REAL NOT NULL,
    p50_us      INTEGER NOT NULL,
    p99_us      INTEGER NOT NULL,
    error_rate  REAL NOT NULL,
    settings    TEXT NOT NULL,
    report      TEXT NOT NULL
);
CREATE INDEX idx_bench_runs_started ON bench_runs (started_at);
";

const CREATE_MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The highest applied version; 0 for a new database.
pub(crate) fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |row| row.get(0),
    )?;
    if tables == 0 {
        return Ok(0);
    }
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
}

/// The applied versions, in order; empty for a new database.
fn applied_versions(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    if current_version(conn)? == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |row| row.get(0))?;
    rows.collect()
}

/// Applies the missing migrations, lowest version first, in one transaction and returns the
/// resulting highest version. An up-to-date database is only read, so opening one takes no
/// write lock. A database whose highest version is above this build's is refused; versions
/// this build does not know below that are left alone.
pub(crate) fn run(
    conn: &mut Connection,
    migrations: &[Migration],
    path: &Path,
) -> Result<i64, StoreError> {
    let known = migrations.last().map_or(0, |m| m.version);
    let missing = |applied: &[i64]| -> Vec<&Migration> {
        migrations
            .iter()
            .filter(|m| applied.binary_search(&m.version).is_err())
            .collect()
    };
    let applied =
        applied_versions(conn).map_err(StoreError::database("read the schema version"))?;
    let found = applied.last().copied().unwrap_or(0);
    if found <= known && missing(&applied).is_empty() {
        return Ok(found);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::database("lock the database for migrations"))?;
    tx.execute_batch(CREATE_MIGRATIONS_TABLE)
        .map_err(StoreError::database("create the schema_migrations table"))?;
    // Read again under the lock: another process may have migrated in between.
    let applied = applied_versions(&tx).map_err(StoreError::database("read the schema version"))?;
    let found = applied.last().copied().unwrap_or(0);
    if found > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            known,
        });
    }
    for migration in missing(&applied) {
        let failed = |source: rusqlite::Error| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source: Box::new(source),
        };
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (migration.version, migration.name, Utc::now().to_rfc3339()),
        )
        .map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    tx.commit()
        .map_err(StoreError::database("commit migrations"))?;
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[Migration] = &[
        Migration {
            version: 1,
            name: "one",
            sql: "CREATE TABLE one (x)",
        },
        Migration {
            version: 2,
            name: "two",
            sql: "CREATE TABLE two (x)",
        },
    ];

    fn versions(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY 1")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn migrations_apply_in_steps_and_only_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new("mem");
        assert_eq!(run(&mut conn, &STEPS[..1], path).unwrap(), 1);
        assert_eq!(run(&mut conn, STEPS, path).unwrap(), 2);
        assert_eq!(run(&mut conn, STEPS, path).unwrap(), 2);
        assert_eq!(versions(&conn), [1, 2]);
    }

    #[test]
    fn a_version_landing_below_an_applied_one_is_still_applied() {
        let with_gap = [
            Migration {
                version: 1,
                name: "one",
                sql: "CREATE TABLE one (x)",
            },
            Migration {
                version: 3,
                name: "three",
                sql: "CREATE TABLE three (x)",
            },
        ];
        let complete = [
            with_gap[0].clone(),
            Migration {
                version: 2,
                name: "two",
                sql: "CREATE TABLE two (x)",
            },
            with_gap[1].clone(),
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new("mem");
        assert_eq!(run(&mut conn, &with_gap, path).unwrap(), 3);
        assert_eq!(versions(&conn), [1, 3]);
        assert_eq!(run(&mut conn, &complete, path).unwrap(), 3);
        assert_eq!(versions(&conn), [1, 2, 3]);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('one', 'two', 'three')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);
        // A build that lacks version 2 still opens the database: 2 is below its own latest.
        assert_eq!(run(&mut conn, &with_gap, path).unwrap(), 3);
    }

    #[test]
    fn the_shipped_migrations_apply_to_a_new_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            run(&mut conn, MIGRATIONS, Path::new("mem")).unwrap(),
            MIGRATIONS.last().unwrap().version
        );
        conn.execute(
            "INSERT INTO scenarios (name, config, active, created_at, updated_at) \
             VALUES ('a', '{}', 1, '', ''), ('b', '{}', 0, '', '')",
            [],
        )
        .unwrap();
        let second_active = conn.execute("UPDATE scenarios SET active = 1 WHERE name = 'b'", []);
        assert!(second_active.is_err(), "two scenarios were active at once");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, STEPS, Path::new("mem")).unwrap();
        let err = run(&mut conn, &STEPS[..1], Path::new("new.db")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "database 'new.db' is at schema version 2, newer than this build knows (1)"
        );
    }

    #[test]
    fn a_failing_migration_is_named_and_leaves_nothing_behind() {
        let broken = [
            Migration {
                version: 1,
                name: "one",
                sql: "CREATE TABLE one (x)",
            },
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE",
            },
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        let err = run(&mut conn, &broken, Path::new("mem")).unwrap_err();
        assert_eq!(err.to_string(), "migration 2 (broken) failed");
        assert_eq!(current_version(&conn).unwrap(), 0);
    }
}
