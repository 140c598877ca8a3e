//! Queries of the SQLite backend: listing, fetching one row, scanning for analysis, plans.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

use crate::analysis::ScanRow;
use crate::capture::{Body, BodyEncoding, Headers};
use crate::error::StoreError;
use crate::filter::{PathMatch, RequestFilter};
use crate::model::{Page, RequestSummary, StoredRequest};

const SUMMARY_COLUMNS: &str = "id, ts_us, method, path, route, operation_id, query, status, \
    duration_us, client_addr, user_agent, request_id, session_id, scenario, server_id, \
    request_body_size, response_body_size, fault, rule";

/// A `WHERE` clause (empty or starting with a space) and its parameters in order.
struct Where {
    sql: String,
    params: Vec<Value>,
}

fn where_clause(filter: &RequestFilter) -> Where {
    let mut conditions: Vec<&str> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut add = |condition, values: &[Value]| {
        conditions.push(condition);
        params.extend_from_slice(values);
    };
    if let Some(method) = &filter.method {
        add("method = ?", &[Value::Text(method.clone())]);
    }
    match &filter.path {
        Some(PathMatch::Contains(text)) => add("instr(path, ?) > 0", &[Value::Text(text.clone())]),
        Some(PathMatch::Regex(pattern)) => add("path REGEXP ?", &[Value::Text(pattern.clone())]),
        None => {}
    }
    if let Some(route) = &filter.route {
        add("route = ?", &[Value::Text(route.clone())]);
    }
    match filter.status.map(|status| status.range()) {
        Some((low, high)) if low == high => add("status = ?", &[Value::Integer(low.into())]),
        Some((low, high)) => add(
            "status BETWEEN ? AND ?",
            &[Value::Integer(low.into()), Value::Integer(high.into())],
        ),
        None => {}
    }
    if let Some(from) = filter.time_from {
        add("ts_us >= ?", &[Value::Integer(from.timestamp_micros())]);
    }
    if let Some(to) = filter.time_to {
        add("ts_us < ?", &[Value::Integer(to.timestamp_micros())]);
    }
    let sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    Where { sql, params }
}

/// The listing query and its parameters, shared by `list` and `explain_list`.
fn list_query(filter: &RequestFilter) -> (String, Vec<Value>) {
    let Where { sql, mut params } = where_clause(filter);
    let query = format!(
        "SELECT {SUMMARY_COLUMNS} FROM request_logs{sql} ORDER BY ts_us DESC, id DESC \
         LIMIT ? OFFSET ?"
    );
    params.push(Value::Integer(filter.limit.into()));
    params.push(Value::Integer(
        i64::try_from(filter.offset).unwrap_or(i64::MAX),
    ));
    (query, params)
}

pub(super) fn list(conn: &mut Connection, filter: &RequestFilter) -> Result<Page, StoreError> {
    // One read transaction so that the total and the page agree.
    let tx = conn
        .transaction()
        .map_err(StoreError::database("begin a read"))?;
    let count = where_clause(filter);
    let total: i64 = tx
        .query_row(
            &format!("SELECT count(*) FROM request_logs{}", count.sql),
            params_from_iter(&count.params),
            |row| row.get(0),
        )
        .map_err(StoreError::database("count requests"))?;
    let (query, params) = list_query(filter);
    let items = {
        let mut stmt = tx
            .prepare_cached(&query)
            .map_err(StoreError::database("list requests"))?;
        let rows = stmt
            .query_map(params_from_iter(&params), summary)
            .map_err(StoreError::database("list requests"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::database("read a request"))?
    };
    tx.commit().map_err(StoreError::database("end a read"))?;
    Ok(Page {
        total: total.max(0) as u64,
        limit: filter.limit,
        offset: filter.offset,
        items,
    })
}

pub(super) fn get(conn: &mut Connection, id: i64) -> Result<Option<StoredRequest>, StoreError> {
    let query = format!(
        "SELECT {SUMMARY_COLUMNS}, request_headers, request_body, response_headers, \
         response_body FROM request_logs WHERE id = ?"
    );
    let mut stmt = conn
        .prepare_cached(&query)
        .map_err(StoreError::database("get a request"))?;
    let mut rows = stmt
        .query([id])
        .map_err(StoreError::database("get a request"))?;
    let Some(row) = rows.next().map_err(StoreError::database("get a request"))? else {
        return Ok(None);
    };
    let detail = |row: &rusqlite::Row<'_>| -> rusqlite::Result<StoredRequest> {
        let summary = summary(row)?;
        Ok(StoredRequest {
            request_headers: headers(row, 19)?,
            request_body: body(row, 20, summary.request_body_size)?,
            response_headers: headers(row, 21)?,
            response_body: body(row, 22, summary.response_body_size)?,
            summary,
        })
    };
    detail(row)
        .map(Some)
        .map_err(StoreError::database("read a request"))
}

pub(super) fn scan(
    conn: &mut Connection,
    filter: &RequestFilter,
    visit: &mut dyn FnMut(ScanRow<'_>),
) -> Result<(), StoreError> {
    let Where { sql, params } = where_clause(filter);
    let query = format!("SELECT ts_us, method, status, route, duration_us FROM request_logs{sql}");
    let mut stmt = conn
        .prepare(&query)
        .map_err(StoreError::database("scan requests"))?;
    let mut rows = stmt
        .query(params_from_iter(&params))
        .map_err(StoreError::database("scan requests"))?;
    while let Some(row) = rows.next().map_err(StoreError::database("scan requests"))? {
        scan_row(row, visit).map_err(StoreError::database("read a request"))?;
    }
    Ok(())
}

fn scan_row(row: &rusqlite::Row<'_>, visit: &mut dyn FnMut(ScanRow<'_>)) -> rusqlite::Result<()> {
    let route = match row.get_ref(3)? {
        ValueRef::Text(text) => Some(std::str::from_utf8(text).unwrap_or_default()),
        _ => None,
    };
    visit(ScanRow {
        ts_us: row.get(0)?,
        method: row.get_ref(1)?.as_str()?,
        status: row.get(2)?,
        route,
        duration_us: row.get(4)?,
    });
    Ok(())
}

pub(super) fn explain_list(
    conn: &mut Connection,
    filter: &RequestFilter,
) -> Result<Vec<String>, StoreError> {
    let (query, params) = list_query(filter);
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
        .map_err(StoreError::database("explain the listing query"))?;
    let rows = stmt
        .query_map(params_from_iter(&params), |row| row.get::<_, String>(3))
        .map_err(StoreError::database("explain the listing query"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::database("explain the listing query"))
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<RequestSummary> {
    Ok(RequestSummary {
        id: row.get(0)?,
        timestamp: time(row.get(1)?),
        method: row.get(2)?,
        path: row.get(3)?,
        route: row.get(4)?,
        operation_id: row.get(5)?,
        query: row.get(6)?,
        status: row.get(7)?,
        duration_us: row.get(8)?,
        client_addr: row.get(9)?,
        user_agent: row.get(10)?,
        request_id: row.get(11)?,
        session_id: row.get(12)?,
        scenario: row.get(13)?,
        server_id: row.get(14)?,
        request_body_size: row.get(15)?,
        response_body_size: row.get(16)?,
        fault: row.get(17)?,
        rule: row.get(18)?,
    })
}

fn headers(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Headers> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, err.into())
    })
}

/// Text columns hold bodies that were UTF-8, blobs the others (see `capture`).
fn body(row: &rusqlite::Row<'_>, index: usize, size: u64) -> rusqlite::Result<Body> {
    let (encoding, data, kept) = match row.get_ref(index)? {
        ValueRef::Text(text) => (
            BodyEncoding::Utf8,
            String::from_utf8_lossy(text).into_owned(),
            text.len(),
        ),
        ValueRef::Blob(bytes) => (BodyEncoding::Base64, BASE64.encode(bytes), bytes.len()),
        _ => (BodyEncoding::Utf8, String::new(), 0),
    };
    Ok(Body {
        encoding,
        data,
        size,
        truncated: (kept as u64) < size,
    })
}
