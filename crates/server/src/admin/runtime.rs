//! Admin handlers for the runtime rules: overrides (`/api/overrides`), global faults
//! (`/api/faults`) and scenarios (`/api/scenarios`, and MockLoop's `/api/mock-data/...`
//! paths in `compat`).
//!
//! Scenario changes write the database first and swap the rules after, under one lock, so
//! the stored active flag and what requests see never disagree for long and never in
//! order.

pub(super) mod compat;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use engine::runtime::{GlobalFaults, OverrideSpec, RuleError, Scenario};
use serde_json::{Value, json};
use store::{NewScenario, StoreError, StoredScenario};

use super::{AdminState, ApiError};
use crate::control::{CompiledScenario, Override};

/// A rule error as a 400 naming the field, under `prefix` when the rule sits inside a
/// larger body (`config`).
fn rule_error(err: RuleError, prefix: &str) -> ApiError {
    let err = err.within(prefix);
    ApiError {
        status: StatusCode::BAD_REQUEST,
        detail: err.to_string(),
        field: (!err.field.is_empty()).then_some(err.field),
    }
}

/// The request body as JSON.
fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
    // Derived readers would also take a struct's fields as a list (`[1]` as a delay).
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the request body must be a JSON object, not {}",
            kind_of(&value)
        )));
    }
    Ok(value)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Runs a blocking store call off the async threads; a taken scenario name is a 409.
async fn store_call<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err @ StoreError::DuplicateScenario { .. })) => Err(ApiError {
            status: StatusCode::CONFLICT,
            detail: err.to_string(),
            field: Some("name".to_owned()),
        }),
        Ok(Err(err)) => Err(ApiError::internal(format!("{err}: {}", source_text(&err)))),
        Err(err) => Err(ApiError::internal(format!("store task failed: {err}"))),
    }
}

fn source_text(err: &dyn std::error::Error) -> String {
    err.source().map(|s| s.to_string()).unwrap_or_default()
}

fn parse_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid {what} id '{text}': expected a positive whole number"
        ))
    })
}

// ---- overrides ----

pub(super) async fn list_overrides(State(state): State<AdminState>) -> Json<Vec<Override>> {
    Json(state.control.overrides())
}

pub(super) async fn get_override(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Override>, ApiError> {
    let id: u64 = parse_id(&id, "override")?;
    state
        .control
        .overrides()
        .into_iter()
        .find(|o| o.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no override with id {id}")))
}

pub(super) async fn add_override(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec = OverrideSpec::from_json(json_body(&body)?).map_err(|e| rule_error(e, ""))?;
    let added = state
        .control
        .add_override(spec)
        .map_err(|e| rule_error(e, ""))?;
    tracing::info!(id = added.id, path = %added.spec.path, "override added");
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

pub(super) async fn replace_override(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Override>, ApiError> {
    let id: u64 = parse_id(&id, "override")?;
    let spec = OverrideSpec::from_json(json_body(&body)?).map_err(|e| rule_error(e, ""))?;
    match state.control.replace_override(id, spec) {
        Ok(Some(replaced)) => Ok(Json(replaced)),
        Ok(None) => Err(ApiError::not_found(format!("no override with id {id}"))),
        Err(err) => Err(rule_error(err, "")),
    }
}

pub(super) async fn remove_override(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: u64 = parse_id(&id, "override")?;
    if state.control.remove_override(id) {
        tracing::info!(id, "override removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no override with id {id}")))
    }
}

pub(super) async fn clear_overrides(State(state): State<AdminState>) -> Json<Value> {
    let removed = state.control.clear_overrides();
    tracing::info!(removed, "overrides cleared");
    Json(json!({ "removed": removed }))
}

// ---- global faults ----

pub(super) async fn get_faults(State(state): State<AdminState>) -> Json<GlobalFaults> {
    Json(state.control.faults())
}

pub(super) async fn set_faults(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Json<GlobalFaults>, ApiError> {
    let faults = GlobalFaults::from_json(json_body(&body)?).map_err(|e| rule_error(e, ""))?;
    let faults = state
        .control
        .set_faults(faults)
        .map_err(|e| rule_error(e, ""))?;
    tracing::info!(
        delay = ?faults.delay,
        fault = ?faults.fault,
        "global faults set"
    );
    Ok(Json(faults))
}

pub(super) async fn clear_faults(State(state): State<AdminState>) -> StatusCode {
    // Empty faults always compile.
    let _ = state.control.set_faults(GlobalFaults::default());
    tracing::info!("global faults cleared");
    StatusCode::NO_CONTENT
}

// ---- scenarios, shared by both APIs ----

/// Reads and compiles a scenario; errors name the field under `prefix`.
fn compile(
    state: &AdminState,
    config: &Value,
    prefix: &str,
) -> Result<(Scenario, CompiledScenario), ApiError> {
    let scenario = Scenario::from_json(config.clone()).map_err(|e| rule_error(e, prefix))?;
    let compiled = state
        .control
        .compile_scenario(&scenario)
        .map_err(|e| rule_error(e, prefix))?;
    Ok((scenario, compiled))
}

fn new_scenario(scenario: &Scenario, config: Value) -> NewScenario {
    NewScenario {
        name: scenario.scenario_name.clone(),
        description: scenario.description.clone(),
        scenario_type: scenario.scenario_type.clone(),
        config,
    }
}

async fn create(
    state: &AdminState,
    config: Value,
    prefix: &str,
) -> Result<StoredScenario, ApiError> {
    let (scenario, _) = compile(state, &config, prefix)?;
    let new = new_scenario(&scenario, config);
    let store = state.store.clone();
    let created = store_call(move || store.create_scenario(&new)).await?;
    tracing::info!(id = created.id, name = %created.name, "scenario created");
    Ok(created)
}

async fn update(
    state: &AdminState,
    id: i64,
    config: Value,
    prefix: &str,
) -> Result<StoredScenario, ApiError> {
    let (scenario, compiled) = compile(state, &config, prefix)?;
    let new = new_scenario(&scenario, config);
    let _guard = state.scenarios.lock().await;
    let store = state.store.clone();
    let updated = store_call(move || store.update_scenario(id, &new))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no scenario with id {id}")))?;
    if state.control.active_scenario() == Some(id) {
        state.control.set_scenario(Some((id, compiled)));
    }
    tracing::info!(id, name = %updated.name, "scenario updated");
    Ok(updated)
}

/// Deletes a scenario; the active one is refused with `refused` (MockLoop answers 400).
async fn delete(
    state: &AdminState,
    id: i64,
    refused: StatusCode,
) -> Result<StoredScenario, ApiError> {
    let _guard = state.scenarios.lock().await;
    let store = state.store.clone();
    let found = store_call(move || store.scenario(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no scenario with id {id}")))?;
    if found.active {
        return Err(ApiError::new(
            refused,
            format!("scenario '{}' is active; deactivate it first", found.name),
        ));
    }
    let store = state.store.clone();
    store_call(move || store.delete_scenario(id)).await?;
    tracing::info!(id, name = %found.name, "scenario deleted");
    Ok(found)
}

/// Makes a stored scenario the active one. It is compiled first: a scenario that no longer
/// fits the description (another description since it was stored) is refused and nothing
/// changes.
async fn activate_stored(
    state: &AdminState,
    stored: StoredScenario,
) -> Result<StoredScenario, ApiError> {
    let (_, compiled) = compile(state, &stored.config, "config")?;
    let _guard = state.scenarios.lock().await;
    let store = state.store.clone();
    let id = stored.id;
    let active = store_call(move || store.activate_scenario(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no scenario with id {id}")))?;
    state.control.set_scenario(Some((id, compiled)));
    tracing::info!(id, name = %active.name, "scenario activated");
    Ok(active)
}

/// Leaves no scenario active; returns the one that was.
async fn deactivate_all(state: &AdminState) -> Result<Option<StoredScenario>, ApiError> {
    let _guard = state.scenarios.lock().await;
    let store = state.store.clone();
    let was = store_call(move || store.deactivate_scenarios()).await?;
    state.control.set_scenario(None);
    if let Some(was) = &was {
        tracing::info!(id = was.id, name = %was.name, "scenario deactivated");
    }
    Ok(was)
}

async fn by_id(state: &AdminState, id: i64) -> Result<StoredScenario, ApiError> {
    let store = state.store.clone();
    store_call(move || store.scenario(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no scenario with id {id}")))
}

/// A scenario by name, else by id when `key` is a number.
async fn by_key(state: &AdminState, key: &str) -> Result<StoredScenario, ApiError> {
    let store = state.store.clone();
    let name = key.to_owned();
    if let Some(found) = store_call(move || store.scenario_named(&name)).await? {
        return Ok(found);
    }
    match key.parse::<i64>() {
        Ok(id) => by_id(state, id).await,
        Err(_) => Err(ApiError::not_found(format!("no scenario named '{key}'"))),
    }
}

// ---- scenarios, our own API ----

pub(super) async fn list_scenarios(
    State(state): State<AdminState>,
) -> Result<Json<Vec<StoredScenario>>, ApiError> {
    let store = state.store.clone();
    Ok(Json(store_call(move || store.scenarios()).await?))
}

pub(super) async fn get_scenario(
    State(state): State<AdminState>,
    Path(key): Path<String>,
) -> Result<Json<StoredScenario>, ApiError> {
    Ok(Json(by_key(&state, &key).await?))
}

/// The body is the scenario itself (`scenario_name`, `endpoints`, ...).
pub(super) async fn create_scenario(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let created = create(&state, json_body(&body)?, "").await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub(super) async fn update_scenario(
    State(state): State<AdminState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<StoredScenario>, ApiError> {
    let config = json_body(&body)?;
    let id = by_key(&state, &key).await?.id;
    Ok(Json(update(&state, id, config, "").await?))
}

pub(super) async fn delete_scenario(
    State(state): State<AdminState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = by_key(&state, &key).await?.id;
    delete(&state, id, StatusCode::CONFLICT).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn activate(
    State(state): State<AdminState>,
    Path(key): Path<String>,
) -> Result<Json<StoredScenario>, ApiError> {
    let stored = by_key(&state, &key).await?;
    Ok(Json(activate_stored(&state, stored).await?))
}

pub(super) async fn deactivate(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let was = deactivate_all(&state).await?;
    Ok(Json(json!({ "deactivated": was.map(|s| s.name) })))
}

/// The active scenario, or `null`.
pub(super) async fn active_scenario(
    State(state): State<AdminState>,
) -> Result<Json<Option<StoredScenario>>, ApiError> {
    let store = state.store.clone();
    Ok(Json(store_call(move || store.active_scenario()).await?))
}
