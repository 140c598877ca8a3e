//! Admin handlers of the response cache (`/api/cache`): its figures, and clearing it.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{AdminState, ApiError};

fn off() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "the response cache is off; start the mock with --cache memory or --cache redis",
    )
}

pub(super) async fn stats(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let cache = state.metrics.cache().ok_or_else(off)?;
    Ok(Json(json!(cache.report())))
}

pub(super) async fn clear(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let cache = state.metrics.cache().ok_or_else(off)?;
    let (entries, keys) = cache.clear().await.map_err(ApiError::internal)?;
    tracing::info!(entries, redis_keys = keys, "response cache cleared");
    Ok(Json(
        json!({ "memory_entries": entries, "redis_keys": keys }),
    ))
}
