//! Admin handlers for the stateful store (`/api/state`): collections and counts, items by
//! key, replacing and removing items, resets and seeds. A nested collection's item key is
//! its parents' path values then its id, as in the item's URL (`/api/state/shelves.books/1/7`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use engine::state::{Resources, StateError};
use serde_json::{Value, json};

use super::{AdminState, ApiError};

fn resources(state: &AdminState) -> Result<&Resources, ApiError> {
    state.resources.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "the mock is not stateful: start it with 'mockloop serve --stateful'",
        )
    })
}

fn state_error(err: StateError) -> ApiError {
    let status = match &err {
        StateError::UnknownCollection { .. } => StatusCode::NOT_FOUND,
        StateError::Conflict { .. } => StatusCode::CONFLICT,
        StateError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, err)
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))
}

pub(super) async fn summary(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let summaries = resources(&state)?.summaries();
    let items: usize = summaries.iter().map(|s| s.count).sum();
    Ok(Json(json!({ "collections": summaries, "items": items })))
}

/// Paging of `GET /api/state/{collection}`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// Items listed when the request names no limit, and the most one page holds.
const DEFAULT_LIMIT: usize = 1_000;
const MAX_LIMIT: usize = 10_000;

pub(super) async fn list(
    State(state): State<AdminState>,
    Path(collection): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<Json<Value>, ApiError> {
    let limit = paging.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "invalid limit {limit}: must be between 1 and {MAX_LIMIT}"
        )));
    }
    resources(&state)?;
    // Copying and encoding a page is work for a blocking thread, not for the runtime that
    // answers the mock's requests.
    let answer = tokio::task::spawn_blocking(move || {
        let store = resources(&state)?;
        let (total, items) = store
            .items_page(&collection, paging.offset, limit)
            .map_err(state_error)?;
        let summary = store
            .summaries()
            .into_iter()
            .find(|s| s.collection.name == collection);
        let mut body = serde_json::to_value(summary).unwrap_or(Value::Null);
        if let Some(map) = body.as_object_mut() {
            map.insert("count".to_owned(), Value::from(total));
            map.insert("offset".to_owned(), Value::from(paging.offset));
            map.insert("limit".to_owned(), Value::from(limit));
            map.insert("items".to_owned(), json!(items));
        }
        Ok::<Value, ApiError>(body)
    })
    .await
    .map_err(|e| ApiError::internal(format!("listing the collection failed: {e}")))??;
    Ok(Json(answer))
}

pub(super) async fn get_item(
    State(state): State<AdminState>,
    Path((collection, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match resources(&state)?
        .get_key(&collection, &key)
        .map_err(state_error)?
    {
        Some(item) => Ok(Json(json!(item))),
        None => Err(ApiError::not_found(format!(
            "no item '{key}' in '{collection}'"
        ))),
    }
}

pub(super) async fn put_item(
    State(state): State<AdminState>,
    Path((collection, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = json_body(&body)?;
    let (item, created) = resources(&state)?
        .put_key(&collection, &key, value)
        .map_err(state_error)?;
    tracing::info!(%collection, %key, created, "item stored through the admin API");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(item))).into_response())
}

pub(super) async fn delete_item(
    State(state): State<AdminState>,
    Path((collection, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if resources(&state)?
        .delete_key(&collection, &key)
        .map_err(state_error)?
    {
        tracing::info!(%collection, %key, "item removed through the admin API");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no item '{key}' in '{collection}'"
        )))
    }
}

pub(super) async fn reset(
    State(state): State<AdminState>,
    Path(collection): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let removed = resources(&state)?
        .clear(Some(&collection))
        .map_err(state_error)?;
    tracing::info!(%collection, removed, "collection reset");
    Ok(Json(json!({ "removed": removed })))
}

pub(super) async fn reset_all(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let removed = resources(&state)?.clear(None).map_err(state_error)?;
    tracing::info!(removed, "state reset");
    Ok(Json(json!({ "removed": removed })))
}

pub(super) async fn seed(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let document = json_body(&body)?;
    let report = resources(&state)?.seed(&document).map_err(state_error)?;
    tracing::info!(stored = report.stored, "state seeded through the admin API");
    Ok(Json(json!(report)))
}
