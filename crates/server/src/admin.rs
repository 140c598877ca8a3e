//! The admin API: health, the request log and its analysis, live metrics (JSON and
//! Prometheus), what the mock serves, the runtime rules (overrides, scenarios, faults;
//! see `runtime`), auth emulation (`auth`), the response cache (`cache`), the stateful
//! store (`state`), and webhooks and their deliveries (`webhooks`).

mod auth;
mod cache;
mod runtime;
mod state;
mod webhooks;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use store::{RequestFilter, Store};

use crate::control::Control;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// What admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    engine: Arc<Engine>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    control: Arc<Control>,
    /// Held across a scenario change's database write and snapshot swap, so that the
    /// stored active flag and the rules requests see change in the same order.
    scenarios: Arc<tokio::sync::Mutex<()>>,
    /// The stateful store; None when the mock is not stateful.
    resources: Option<Arc<engine::state::Resources>>,
    started: std::time::Instant,
    /// The webhook and callback dispatcher; None when the server runs without one.
    hooks: Option<Arc<hooks::Hooks>>,
    /// Where the mock API listens, told by `/health` so that tools can pair the two ports.
    api_addr: Option<std::net::SocketAddr>,
}

impl AdminState {
    pub fn new(
        engine: Arc<Engine>,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        control: Arc<Control>,
    ) -> AdminState {
        AdminState {
            engine,
            store,
            metrics,
            control,
            scenarios: Arc::new(tokio::sync::Mutex::new(())),
            resources: None,
            started: std::time::Instant::now(),
            hooks: None,
            api_addr: None,
        }
    }

    /// Serves the stateful store's endpoints (`/api/state`) on `resources`.
    pub fn with_state(mut self, resources: Arc<engine::state::Resources>) -> AdminState {
        self.resources = Some(resources);
        self
    }

    /// Serves `/api/webhooks` and `/api/deliveries` from this dispatcher, and adds its
    /// figures to the metrics.
    pub fn with_hooks(mut self, hooks: Arc<hooks::Hooks>) -> AdminState {
        self.hooks = Some(hooks);
        self
    }

    /// Names the mock API's address in `/health` (`api.address`, `api.port`).
    pub fn with_api_addr(mut self, addr: std::net::SocketAddr) -> AdminState {
        self.api_addr = Some(addr);
        self
    }
}

/// The admin routes.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/requests", get(list_requests))
        .route("/api/requests/{id}", get(get_request))
        .route("/api/logs/analyze", get(analyze))
        .route("/api/spec", get(spec))
        .route("/api/metrics", get(metrics_json))
        .route("/metrics", get(metrics_prometheus))
        .route("/api/auth", get(auth::get_auth).put(auth::set_auth))
        .route("/api/cache", get(cache::stats).delete(cache::clear))
        .route(
            "/api/overrides",
            get(runtime::list_overrides)
                .post(runtime::add_override)
                .delete(runtime::clear_overrides),
        )
        .route(
            "/api/overrides/{id}",
            get(runtime::get_override)
                .put(runtime::replace_override)
                .delete(runtime::remove_override),
        )
        .route(
            "/api/faults",
            get(runtime::get_faults)
                .put(runtime::set_faults)
                .delete(runtime::clear_faults),
        )
        .route(
            "/api/scenarios",
            get(runtime::list_scenarios).post(runtime::create_scenario),
        )
        .route("/api/scenarios/active", get(runtime::active_scenario))
        .route("/api/scenarios/deactivate", post(runtime::deactivate))
        .route(
            "/api/scenarios/{key}",
            get(runtime::get_scenario)
                .put(runtime::update_scenario)
                .delete(runtime::delete_scenario),
        )
        .route("/api/scenarios/{key}/activate", post(runtime::activate))
        .route(
            "/api/mock-data/scenarios",
            get(runtime::compat::list).post(runtime::compat::create),
        )
        .route(
            "/api/mock-data/scenarios/active",
            get(runtime::compat::active),
        )
        .route(
            "/api/mock-data/scenarios/{id}",
            axum::routing::put(runtime::compat::update).delete(runtime::compat::delete),
        )
        .route(
            "/api/mock-data/scenarios/{id}/activate",
            post(runtime::compat::activate),
        )
        .route(
            "/api/mock-data/scenarios/{id}/deactivate",
            post(runtime::compat::deactivate),
        )
        .route("/api/state", get(state::summary).delete(state::reset_all))
        .route("/api/state/seed", post(state::seed))
        .route(
            "/api/state/{collection}",
            get(state::list).delete(state::reset),
        )
        .route(
            "/api/state/{collection}/{*key}",
            get(state::get_item)
                .put(state::put_item)
                .delete(state::delete_item),
        )
        .route("/api/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/api/webhooks/{id}",
            get(webhooks::get).delete(webhooks::delete),
        )
        .route("/api/webhooks/{id}/test", post(webhooks::test))
        .route(
            "/api/webhooks/{id}/deliveries",
            get(webhooks::webhook_deliveries),
        )
        .route("/api/deliveries", get(webhooks::deliveries))
        .fallback(not_found)
        .layer(axum::middleware::map_response(problem_rejections))
        .layer(axum::extract::DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
        .with_state(state)
}

/// The largest request body the admin API reads (seeds, scenario files), in bytes.
pub const ADMIN_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Turns the plain-text rejections of axum's extractors (a body over the size limit, a
/// body that cannot be read) into `application/problem+json` like every other admin error.
async fn problem_rejections(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() && plain) {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            format!(
                "the request body is larger than the admin API's limit of {ADMIN_BODY_LIMIT} bytes"
            ),
        )
        .into_response();
    }
    let detail = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(text) if !text.is_empty() => String::from_utf8_lossy(&text).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned(),
    };
    ApiError::new(status, detail).into_response()
}

/// Serves the admin API until `shutdown` fires.
pub async fn serve(listener: TcpListener, state: AdminState, mut shutdown: watch::Receiver<bool>) {
    let app = router(state);
    let stop = async move {
        let _ = shutdown.changed().await;
    };
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(cause = %err, "admin API stopped with an error");
    }
}

/// An admin error as `application/problem+json`; `field` names the bad input field.
struct ApiError {
    status: StatusCode,
    detail: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl ToString) -> ApiError {
        ApiError {
            status,
            detail: detail.to_string(),
            field: None,
        }
    }
    fn bad_request(detail: impl ToString) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }
    fn internal(detail: impl ToString) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }
    fn not_found(detail: impl ToString) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(field), Some(map)) = (self.field, body.as_object_mut()) {
            map.insert("field".to_owned(), Value::String(field));
        }
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no admin endpoint at '{}'", uri.path()))
}

async fn health(State(state): State<AdminState>) -> Json<Value> {
    let api = state.engine.api();
    let mut body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "spec": { "title": api.title, "source": api.source, "operations": api.operations.len() },
    });
    if let (Some(addr), Some(map)) = (state.api_addr, body.as_object_mut()) {
        let api = json!({ "address": addr.to_string(), "port": addr.port() });
        map.insert("api".to_owned(), api);
    }
    Json(body)
}

fn filter_from(params: &[(String, String)]) -> Result<RequestFilter, ApiError> {
    RequestFilter::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::bad_request)
}

/// Runs a blocking store query off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::internal),
        Err(err) => Err(ApiError::internal(format!("query task failed: {err}"))),
    }
}

async fn list_requests(
    State(state): State<AdminState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<store::Page>, ApiError> {
    let filter = filter_from(&params)?;
    let store = state.store.clone();
    Ok(Json(blocking(move || store.list(&filter)).await?))
}

async fn get_request(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<store::StoredRequest>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request(format!("invalid request id '{id}': expected an integer"))
    })?;
    let store = state.store.clone();
    match blocking(move || store.get(id)).await? {
        Some(row) => Ok(Json(row)),
        None => Err(ApiError::not_found(format!("no request with id {id}"))),
    }
}

async fn analyze(
    State(state): State<AdminState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<store::Analysis>, ApiError> {
    let filter = filter_from(&params)?;
    let store = state.store.clone();
    Ok(Json(blocking(move || store.analyze(&filter)).await?))
}

async fn metrics_json(State(state): State<AdminState>) -> Response {
    let report = state.metrics.report();
    let Some(hooks) = &state.hooks else {
        return Json(report).into_response();
    };
    let mut value = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("webhooks".to_owned(), json!(hooks.figures()));
    }
    Json(value).into_response()
}

async fn metrics_prometheus(State(state): State<AdminState>) -> Response {
    let mut body = state.metrics.prometheus();
    if let Some(hooks) = &state.hooks {
        webhook_prometheus(&mut body, hooks.figures());
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::PROMETHEUS_CONTENT_TYPE,
        )],
        body,
    )
        .into_response()
}

#[derive(Serialize)]
struct SpecOperation<'a> {
    method: &'static str,
    path: &'a str,
    operation_id: Option<&'a str>,
    summary: Option<&'a str>,
    tags: &'a [String],
    responses: Vec<String>,
    served: bool,
}

async fn spec(State(state): State<AdminState>) -> Json<Value> {
    let api = state.engine.api();
    let shadowed: Vec<usize> = state.engine.shadowed().iter().map(|(s, _)| *s).collect();
    let operations: Vec<SpecOperation<'_>> = api
        .operations
        .iter()
        .enumerate()
        .map(|(i, op)| SpecOperation {
            method: op.method.as_str(),
            path: &op.path,
            operation_id: op.operation_id.as_deref(),
            summary: op.summary.as_deref(),
            tags: &op.tags,
            responses: op.responses.iter().map(|r| r.status.to_string()).collect(),
            served: !shadowed.contains(&i),
        })
        .collect();
    Json(json!({
        "title": api.title,
        "version": api.api_version,
        "source": api.source,
        "spec_version": api.version,
        "base_paths": api.base_paths,
        "warnings": api.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        "operations": operations,
    }))
}

/// The dispatcher's counters in the Prometheus text format.
fn webhook_prometheus(out: &mut String, figures: hooks::HookFigures) {
    use std::fmt::Write as _;
    let counters = [
        (
            "queued",
            "Answered requests queued for webhooks or callbacks.",
            figures.queued,
        ),
        (
            "dropped",
            "Answered requests dropped because the queue was full.",
            figures.dropped,
        ),
        ("sent", "Delivery attempts sent.", figures.sent),
        ("delivered", "Deliveries answered 2xx.", figures.delivered),
        (
            "retried",
            "Delivery attempts followed by another.",
            figures.retried,
        ),
        ("failed", "Deliveries given up.", figures.failed),
        (
            "refused",
            "Delivery attempts refused by the destination guard.",
            figures.refused,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP mockloop_webhook_{name}_total {help}");
        let _ = writeln!(out, "# TYPE mockloop_webhook_{name}_total counter");
        let _ = writeln!(out, "mockloop_webhook_{name}_total {value}");
    }
}
