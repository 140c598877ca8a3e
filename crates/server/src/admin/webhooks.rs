//! Admin handlers for webhooks (`/api/webhooks`) and the delivery history
//! (`/api/deliveries`, webhooks and callbacks). Secrets are never returned: a webhook shows
//! `"secret": "********"` when it has one, and header values that carry credentials are
//! masked the same way.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hooks::{HookError, Hooks};
use serde_json::{Map, Value, json};
use store::{DeliveryFilter, NewWebhook, StoredWebhook};

use super::{AdminState, ApiError};

/// Shown in place of a secret.
const MASK: &str = "********";

/// The most delivery attempts one listing returns.
const MAX_DELIVERIES: u32 = 1000;

fn hooks(state: &AdminState) -> Result<&Arc<Hooks>, ApiError> {
    state
        .hooks
        .as_ref()
        .ok_or_else(|| ApiError::not_found("webhooks are not available on this server".to_owned()))
}

fn hook_error(err: HookError) -> ApiError {
    match err {
        HookError::Invalid { field, detail } => ApiError {
            status: StatusCode::BAD_REQUEST,
            detail,
            field: Some(field.to_owned()),
        },
        HookError::Refused(err) => ApiError {
            status: StatusCode::BAD_REQUEST,
            detail: err.to_string(),
            field: Some("url".to_owned()),
        },
        HookError::NotFound(id) => ApiError::not_found(format!("no webhook with id {id}")),
        other => ApiError::internal(other),
    }
}

/// A webhook as the API shows it.
pub(super) fn view(hook: &StoredWebhook) -> Value {
    let sensitive = store::default_redacted_headers();
    let mut headers = Map::new();
    for (name, value) in &hook.headers {
        let masked = sensitive
            .iter()
            .any(|s| s.as_str().eq_ignore_ascii_case(name));
        let shown = if masked { MASK } else { value.as_str() };
        headers.insert(name.clone(), Value::String(shown.to_owned()));
    }
    json!({
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "headers": headers,
        "secret": hook.secret.as_ref().map(|_| MASK),
        "description": hook.description,
        "created_at": hook.created_at,
    })
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!("invalid webhook id '{text}': expected an integer"))
    })
}

fn field_error(field: &str, detail: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        detail,
        field: Some(field.to_owned()),
    }
}

/// Reads `{url, events, secret?, headers?, description?}`; `events` may be one string.
fn new_webhook(body: &Bytes) -> Result<NewWebhook, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the request body is not a JSON object: {e}"))
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let known = ["url", "events", "secret", "headers", "description"];
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(field_error(
            unknown,
            format!("unknown field '{unknown}'; expected {}", known.join(", ")),
        ));
    }
    let url = match map.get("url") {
        Some(Value::String(url)) => url.clone(),
        _ => return Err(field_error("url", "'url' must be a string".to_owned())),
    };
    let events = match map.get("events") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| field_error("events", "'events' must hold strings".to_owned()))?,
        _ => {
            return Err(field_error(
                "events",
                "'events' must be a list such as [\"create\", \"POST /books\"]".to_owned(),
            ));
        }
    };
    let secret = match map.get("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(secret)) => Some(secret.clone()),
        Some(_) => {
            return Err(field_error(
                "secret",
                "'secret' must be a string".to_owned(),
            ));
        }
    };
    let mut headers = Vec::new();
    match map.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(pairs)) => {
            for (name, value) in pairs {
                let Some(value) = value.as_str() else {
                    return Err(field_error(
                        "headers",
                        format!("header '{name}' must have a string value"),
                    ));
                };
                headers.push((name.clone(), value.to_owned()));
            }
        }
        Some(_) => {
            return Err(field_error(
                "headers",
                "'headers' must be an object of names to values".to_owned(),
            ));
        }
    }
    let description = match map.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(_) => {
            return Err(field_error(
                "description",
                "'description' must be a string".to_owned(),
            ));
        }
    };
    Ok(NewWebhook {
        url,
        events,
        secret,
        headers,
        description,
    })
}

pub(super) async fn list(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let hooks = hooks(&state)?;
    Ok(Json(Value::Array(
        hooks.webhooks().iter().map(view).collect(),
    )))
}

pub(super) async fn create(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let hooks = hooks(&state)?;
    let new = new_webhook(&body)?;
    let stored = hooks.register(new).await.map_err(hook_error)?;
    Ok((StatusCode::CREATED, Json(view(&stored))).into_response())
}

pub(super) async fn get(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let hooks = hooks(&state)?;
    hooks
        .webhook(id)
        .map(|hook| Json(view(&hook)))
        .ok_or_else(|| ApiError::not_found(format!("no webhook with id {id}")))
}

pub(super) async fn delete(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let hooks = hooks(&state)?;
    if hooks.remove(id).await.map_err(hook_error)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no webhook with id {id}")))
    }
}

pub(super) async fn test(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<store::StoredDelivery>, ApiError> {
    let id = parse_id(&id)?;
    let hooks = hooks(&state)?;
    Ok(Json(hooks.test(id).await.map_err(hook_error)?))
}

/// `kind` (webhook or callback), `webhook` (an id) and `limit` (default 50, at most 1000).
fn delivery_filter(params: &[(String, String)]) -> Result<DeliveryFilter, ApiError> {
    let mut filter = DeliveryFilter::default();
    for (key, value) in params {
        match key.as_str() {
            "kind" => match value.as_str() {
                "webhook" | "callback" => filter.kind = Some(value.clone()),
                other => {
                    return Err(field_error(
                        "kind",
                        format!("invalid kind '{other}': expected webhook or callback"),
                    ));
                }
            },
            "webhook" => filter.webhook_id = Some(parse_id(value)?),
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DELIVERIES).contains(n))
                    .ok_or_else(|| {
                        field_error(
                            "limit",
                            format!("invalid limit '{value}': expected 1 to {MAX_DELIVERIES}"),
                        )
                    })?;
            }
            other => {
                return Err(field_error(
                    other,
                    format!("unknown filter '{other}'; expected kind, webhook or limit"),
                ));
            }
        }
    }
    Ok(filter)
}

pub(super) async fn deliveries(
    State(state): State<AdminState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<store::StoredDelivery>>, ApiError> {
    let hooks = hooks(&state)?;
    let filter = delivery_filter(&params)?;
    Ok(Json(hooks.deliveries(filter).await.map_err(hook_error)?))
}

pub(super) async fn webhook_deliveries(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<store::StoredDelivery>>, ApiError> {
    let id = parse_id(&id)?;
    let hooks = hooks(&state)?;
    if hooks.webhook(id).is_none() {
        return Err(ApiError::not_found(format!("no webhook with id {id}")));
    }
    let mut filter = delivery_filter(&params)?;
    filter.webhook_id = Some(id);
    Ok(Json(hooks.deliveries(filter).await.map_err(hook_error)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_credential_headers_are_masked() {
        let hook = StoredWebhook {
            id: 3,
            url: "http://127.0.0.1:9/h".to_owned(),
            events: vec!["create".to_owned()],
            secret: Some("s3cret".to_owned()),
            headers: vec![
                ("Authorization".to_owned(), "Bearer abc".to_owned()),
                ("X-Team".to_owned(), "books".to_owned()),
            ],
            description: String::new(),
            created_at: chrono::Utc::now(),
        };
        let shown = view(&hook).to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("Bearer abc"), "{shown}");
        assert!(shown.contains("books"), "{shown}");
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let field = |body: &str| {
            new_webhook(&Bytes::from(body.to_owned()))
                .unwrap_err()
                .field
        };
        assert_eq!(field(r#"{"events": ["create"]}"#).as_deref(), Some("url"));
        assert_eq!(
            field(r#"{"url": "http://a", "events": 3}"#).as_deref(),
            Some("events")
        );
        assert_eq!(
            field(r#"{"url": "http://a", "events": "*", "secrt": "x"}"#).as_deref(),
            Some("secrt")
        );
        assert_eq!(
            field(r#"{"url": "http://a", "events": "*", "headers": {"a": 1}}"#).as_deref(),
            Some("headers")
        );
    }

    #[test]
    fn delivery_filters_are_checked() {
        let pairs = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            delivery_filter(&pairs("kind", "callback"))
                .ok()
                .unwrap()
                .kind
                .as_deref(),
            Some("callback")
        );
        assert!(delivery_filter(&pairs("kind", "email")).is_err());
        assert!(delivery_filter(&pairs("limit", "0")).is_err());
        assert!(delivery_filter(&pairs("limit", "5000")).is_err());
        assert_eq!(delivery_filter(&pairs("limit", "7")).ok().unwrap().limit, 7);
        assert!(delivery_filter(&pairs("status", "500")).is_err());
    }
}
