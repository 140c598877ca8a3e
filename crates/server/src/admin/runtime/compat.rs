//! MockLoop's scenario paths (`/api/mock-data/scenarios`), with the shapes its tools and UI
//! send and expect: `{name, description, config}` in, numeric ids, `is_active`, messages,
//! and 400 where MockLoop answers 400 (a taken name, deleting the active scenario).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoredScenario;

use super::{AdminState, ApiError, json_body, parse_id, store_call};

/// A scenario as MockLoop lists it.
fn view(s: &StoredScenario) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "config": s.config,
        "is_active": s.active,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

/// MockLoop answers a taken name with 400, where our own API says 409.
fn as_mockloop(mut err: ApiError) -> ApiError {
    if err.status == StatusCode::CONFLICT {
        err.status = StatusCode::BAD_REQUEST;
    }
    err
}

#[derive(Deserialize)]
struct Body {
    name: Option<String>,
    description: Option<String>,
    config: Option<Value>,
}

/// The scenario config of a `{name, description, config}` body: `name` and `description`
/// are written into it, so that the stored config and the columns agree.
fn config_of(body: &Bytes) -> Result<Value, ApiError> {
    let body: Body = serde_json::from_value(json_body(body)?)
        .map_err(|e| ApiError::bad_request(format!("invalid scenario body: {e}")))?;
    let name = body
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError {
            status: StatusCode::BAD_REQUEST,
            detail: "name: a scenario name is required".to_owned(),
            field: Some("name".to_owned()),
        })?;
    let mut config = match body.config {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => {
            return Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                detail: "config: expected a JSON object".to_owned(),
                field: Some("config".to_owned()),
            });
        }
    };
    if let Some(map) = config.as_object_mut() {
        map.insert("scenario_name".to_owned(), Value::String(name));
        if let Some(description) = body.description {
            map.insert("description".to_owned(), Value::String(description));
        }
    }
    Ok(config)
}

pub(in crate::admin) async fn list(
    State(state): State<AdminState>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let store = state.store.clone();
    let all = store_call(move || store.scenarios()).await?;
    Ok(Json(all.iter().map(view).collect()))
}

pub(in crate::admin) async fn create(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let config = config_of(&body)?;
    let created = super::create(&state, config, "config")
        .await
        .map_err(as_mockloop)?;
    Ok(Json(view(&created)))
}

pub(in crate::admin) async fn update(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = parse_id(&id, "scenario")?;
    let config = config_of(&body)?;
    let updated = super::update(&state, id, config, "config")
        .await
        .map_err(as_mockloop)?;
    Ok(Json(view(&updated)))
}

pub(in crate::admin) async fn delete(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = parse_id(&id, "scenario")?;
    let deleted = super::delete(&state, id, StatusCode::BAD_REQUEST).await?;
    Ok(Json(json!({
        "message": format!("scenario '{}' deleted", deleted.name),
    })))
}

pub(in crate::admin) async fn activate(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = parse_id(&id, "scenario")?;
    let stored = super::by_id(&state, id).await?;
    let active = super::activate_stored(&state, stored).await?;
    Ok(Json(json!({
        "message": format!("scenario '{}' activated", active.name),
        "active_scenario": { "id": active.id, "name": active.name, "config": active.config },
    })))
}

/// Deactivates scenario `id`; one that is not active is a 400, as in MockLoop.
pub(in crate::admin) async fn deactivate(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = parse_id(&id, "scenario")?;
    let stored = super::by_id(&state, id).await?;
    if !stored.active {
        return Err(ApiError::bad_request(format!(
            "scenario '{}' is not active",
            stored.name
        )));
    }
    super::deactivate_all(&state).await?;
    Ok(Json(json!({
        "message": format!("scenario '{}' deactivated", stored.name),
    })))
}

/// The active scenario, or `null`.
pub(in crate::admin) async fn active(
    State(state): State<AdminState>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let active = store_call(move || store.active_scenario()).await?;
    Ok(Json(active.as_ref().map_or(Value::Null, view)))
}
