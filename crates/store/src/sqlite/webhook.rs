//! Webhook and delivery queries of the SQLite backend. Webhook changes open a short-lived
//! connection (an admin call); delivery attempts go through one connection kept by the
//! dispatcher's recorder.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;
use crate::webhook::{DeliveryAttempt, DeliveryFilter, NewWebhook, StoredDelivery, StoredWebhook};

const WEBHOOK_COLUMNS: &str = "id, url, events, secret, headers, description, created_at";

const DELIVERY_COLUMNS: &str = "id, delivery_id, kind, webhook_id, event, method, url, \
     attempt, status, latency_ms, error, outcome, request_id, at";

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, err.into())
    })
}

fn webhook(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredWebhook> {
    let created: String = row.get(6)?;
    Ok(StoredWebhook {
        id: row.get(0)?,
        url: row.get(1)?,
        events: json_column(row, 2)?,
        secret: row.get(3)?,
        headers: json_column(row, 4)?,
        description: row.get(5)?,
        created_at: time(&created),
    })
}

fn delivery(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDelivery> {
    let at: String = row.get(13)?;
    Ok(StoredDelivery {
        id: row.get(0)?,
        attempt: DeliveryAttempt {
            delivery_id: row.get(1)?,
            kind: row.get(2)?,
            webhook_id: row.get(3)?,
            event: row.get(4)?,
            method: row.get(5)?,
            url: row.get(6)?,
            attempt: row.get(7)?,
            status: row.get(8)?,
            latency_ms: row.get(9)?,
            error: row.get(10)?,
            outcome: row.get(11)?,
            request_id: row.get(12)?,
            at: time(&at),
        },
    })
}

pub(super) fn list(conn: &Connection) -> Result<Vec<StoredWebhook>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
        ))
        .map_err(StoreError::database("list webhooks"))?;
    let rows = stmt
        .query_map([], webhook)
        .map_err(StoreError::database("list webhooks"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("read a webhook"))
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<StoredWebhook>, StoreError> {
    conn.query_row(
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"),
        [id],
        webhook,
    )
    .optional()
    .map_err(StoreError::database("read a webhook"))
}

pub(super) fn create(conn: &Connection, new: &NewWebhook) -> Result<StoredWebhook, StoreError> {
    let events = serde_json::to_string(&new.events).unwrap_or_else(|_| "[]".to_owned());
    let headers = serde_json::to_string(&new.headers).unwrap_or_else(|_| "[]".to_owned());
    let id = conn
        .query_row(
            "INSERT INTO webhooks (url, events, secret, headers, description, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            (
                &new.url,
                &events,
                &new.secret,
                &headers,
                &new.description,
                stamp(Utc::now()),
            ),
            |row| row.get::<_, i64>(0),
        )
        .map_err(StoreError::database("create a webhook"))?;
    get(conn, id)?.ok_or(StoreError::Database {
        action: "read a created webhook",
        source: "the new row is missing".into(),
    })
}

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    let deleted = conn
        .execute("DELETE FROM webhooks WHERE id = ?1", [id])
        .map_err(StoreError::database("delete a webhook"))?;
    Ok(deleted > 0)
}

pub(super) fn deliveries(
    conn: &Connection,
    filter: &DeliveryFilter,
) -> Result<Vec<StoredDelivery>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR webhook_id = ?2) \
             ORDER BY id DESC LIMIT ?3"
        ))
        .map_err(StoreError::database("list deliveries"))?;
    let rows = stmt
        .query_map((&filter.kind, filter.webhook_id, filter.limit), delivery)
        .map_err(StoreError::database("list deliveries"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("read a delivery"))
}

pub(super) fn record(conn: &Connection, attempt: &DeliveryAttempt) -> Result<i64, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (delivery_id, kind, webhook_id, event, method, url, \
             attempt, status, latency_ms, error, outcome, request_id, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(StoreError::database("record a delivery"))?;
    stmt.execute((
        &attempt.delivery_id,
        &attempt.kind,
        attempt.webhook_id,
        &attempt.event,
        &attempt.method,
        &attempt.url,
        attempt.attempt,
        attempt.status,
        attempt.latency_ms,
        &attempt.error,
        &attempt.outcome,
        &attempt.request_id,
        stamp(attempt.at),
    ))
    .map_err(StoreError::database("record a delivery"))?;
    Ok(conn.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::migrate;

    fn conn() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate::run(&mut conn, migrate::MIGRATIONS, std::path::Path::new("mem")).unwrap();
        conn
    }

    fn attempt(kind: &str, webhook_id: Option<i64>, n: u32) -> DeliveryAttempt {
        DeliveryAttempt {
            delivery_id: format!("d-{n}"),
            kind: kind.to_owned(),
            webhook_id,
            event: "create".to_owned(),
            method: "POST".to_owned(),
            url: "http://127.0.0.1:9/hook".to_owned(),
            attempt: n,
            status: Some(500),
            latency_ms: Some(1.5),
            error: None,
            outcome: "retrying".to_owned(),
            request_id: Some("r-1".to_owned()),
            at: Utc::now(),
        }
    }

    #[test]
    fn webhooks_round_trip_and_ids_are_not_reused() {
        let conn = conn();
        let new = NewWebhook {
            url: "http://127.0.0.1:9/hook".to_owned(),
            events: vec!["create".to_owned(), "GET /books/*".to_owned()],
            secret: Some("s3".to_owned()),
            headers: vec![("X-Team".to_owned(), "books".to_owned())],
            description: "orders".to_owned(),
        };
        let first = create(&conn, &new).unwrap();
        assert_eq!(first.events, new.events);
        assert_eq!(first.headers, new.headers);
        assert_eq!(first.secret.as_deref(), Some("s3"));
        assert_eq!(list(&conn).unwrap(), vec![first.clone()]);
        assert!(delete(&conn, first.id).unwrap());
        assert!(!delete(&conn, first.id).unwrap());
        let second = create(&conn, &new).unwrap();
        assert!(second.id > first.id);
    }

    #[test]
    fn deliveries_are_listed_newest_first_by_kind_and_webhook() {
        let conn = conn();
        for (i, (kind, hook)) in [
            ("webhook", Some(1)),
            ("callback", None),
            ("webhook", Some(2)),
        ]
        .into_iter()
        .enumerate()
        {
            record(&conn, &attempt(kind, hook, i as u32 + 1)).unwrap();
        }
        let all = deliveries(&conn, &DeliveryFilter::default()).unwrap();
        let attempts: Vec<u32> = all.iter().map(|d| d.attempt.attempt).collect();
        assert_eq!(attempts, [3, 2, 1]);
        let callbacks = DeliveryFilter {
            kind: Some("callback".to_owned()),
            ..DeliveryFilter::default()
        };
        assert_eq!(deliveries(&conn, &callbacks).unwrap().len(), 1);
        let of_one = DeliveryFilter {
            webhook_id: Some(1),
            limit: 10,
            ..DeliveryFilter::default()
        };
        let found = deliveries(&conn, &of_one).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].attempt.latency_ms, Some(1.5));
        assert_eq!(found[0].attempt.status, Some(500));
    }
}
