//! The dispatcher: the registry of webhooks, the queue from the mock, the worker that
//! turns exchanges into deliveries, the delivery loop with its retries, and the recorder.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use serde::Serialize;
use serde_json::{Map, Value, json};
use spec::Api;
use store::{DeliveryAttempt, DeliveryFilter, NewWebhook, Store, StoredDelivery, StoredWebhook};
use tokio::sync::{Semaphore, mpsc, oneshot};
use url::Url;

use crate::callback::{self, Prepared};
use crate::event::{self, Events, Seen};
use crate::guard::{self, GuardError};
use crate::retry::{Backoff, retryable_status};
use crate::{DELIVERY_HEADER, EVENT_HEADER, expr, sign};

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// Allow loopback and private destinations (link-local and metadata never are).
    pub allow_private: bool,
    /// Fire the OAS callbacks of answered operations.
    pub callbacks: bool,
    /// Attempts per delivery, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles per attempt, with full jitter.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest wait for one attempt's answer, connecting included.
    pub timeout: Duration,
    /// Exchanges waiting for the worker; more are dropped and counted.
    pub queue: usize,
    /// Deliveries in progress at once.
    pub concurrency: usize,
    /// Seed of generated callback bodies.
    pub seed: u64,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            allow_private: false,
            callbacks: false,
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            queue: 1024,
            concurrency: 64,
            seed: 0,
        }
    }
}

/// What can go wrong managing webhooks.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// A bad field of a webhook; `field` names it.
    #[error("{detail}")]
    Invalid { field: &'static str, detail: String },
    #[error(transparent)]
    Refused(#[from] GuardError),
    #[error("no webhook with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Internal(String),
}

/// An answered request, borrowed from the mock; copied only when something listens for it.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeRef<'a> {
    pub method: &'a http::Method,
    pub uri: &'a Uri,
    pub request_headers: &'a HeaderMap,
    pub request_body: &'a Bytes,
    pub status: StatusCode,
    pub response_headers: &'a HeaderMap,
    pub response_body: &'a Bytes,
    pub route: Option<&'a engine::RouteInfo>,
    pub request_id: &'a str,
}

/// Delivery figures since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HookFigures {
    /// Exchanges accepted into the queue.
    pub queued: u64,
    /// Exchanges dropped because the queue was full.
    pub dropped: u64,
    /// Requests sent (every attempt that reached the network).
    pub sent: u64,
    /// Deliveries answered 2xx.
    pub delivered: u64,
    /// Attempts followed by another.
    pub retried: u64,
    /// Deliveries given up (out of attempts, or an answer not worth retrying).
    pub failed: u64,
    /// Attempts refused by the destination guard (nothing sent).
    pub refused: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    sent: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
}

fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed) + 1
}

/// A registered webhook, compiled.
struct Webhook {
    stored: StoredWebhook,
    url: Url,
    events: Events,
    secret: Option<Arc<[u8]>>,
    headers: HeaderMap,
}

#[derive(Default)]
struct Registry {
    hooks: Vec<Arc<Webhook>>,
}

/// What the worker and the delivery tasks share.
struct Shared {
    settings: HookSettings,
    client: reqwest::Client,
    counters: Counters,
    recorder: mpsc::Sender<Record>,
    /// Callbacks by operation index; empty when callbacks are off.
    callbacks: Vec<Vec<Prepared>>,
}

/// What the recorder thread is sent.
enum Record {
    /// An attempt to record, and who waits for its row id.
    Attempt(Box<DeliveryAttempt>, Option<oneshot::Sender<i64>>),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// The webhook and callback dispatcher of one mock.
pub struct Hooks {
    shared: Arc<Shared>,
    registry: ArcSwap<Registry>,
    /// True when a webhook is registered or callbacks are on for an operation that has one:
    /// the one check the request path pays otherwise.
    listening: AtomicBool,
    queue: mpsc::Sender<Exchange>,
    store: Store,
    /// Serialises registry changes (store write, then swap).
    changes: tokio::sync::Mutex<()>,
    /// Rate limit of the "queue full" warning.
    last_drop_warning: Mutex<Option<Instant>>,
    /// The description's route templates, parameter names blanked, to refuse an event
    /// naming a template it does not declare.
    templates: Vec<String>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

/// An owned copy of an answered request and what listens for it.
struct Exchange {
    method: http::Method,
    uri: Uri,
    /// Kept only for callbacks (runtime expressions may read headers).
    request_headers: HeaderMap,
    request_body: Bytes,
    status: u16,
    response_headers: HeaderMap,
    response_body: Bytes,
    template: Option<Arc<str>>,
    request_id: String,
    at: DateTime<Utc>,
    /// Matching webhooks and the event name each matched with.
    targets: Vec<(Arc<Webhook>, String)>,
    /// The operation whose callbacks fire.
    callbacks: Option<usize>,
}

/// One delivery: the request and the attempts it may take.
struct Delivery {
    id: String,
    kind: &'static str,
    webhook_id: Option<i64>,
    event: String,
    method: http::Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
    secret: Option<Arc<[u8]>>,
    request_id: Option<String>,
    max_attempts: u32,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Delivered,
    Retry,
    Fatal,
    Refused,
}

impl Hooks {
    /// Loads the stored webhooks, builds the client, and starts the worker and the
    /// recorder. Call inside a Tokio runtime.
    pub fn start(store: Store, api: &Api, settings: HookSettings) -> Result<Arc<Hooks>, HookError> {
        let client = reqwest::Client::builder()
            .dns_resolver(guard::resolver(settings.allow_private))
            // A proxy would connect on our behalf to addresses the guard never saw.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("mockloop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HookError::Internal(format!("cannot build the delivery client: {e}")))?;
        let callbacks = if settings.callbacks {
            callback::prepare(api, settings.seed)
        } else {
            Vec::new()
        };
        let (recorder, records) = mpsc::channel(4096);
        let log = store.delivery_log()?;
        std::thread::Builder::new()
            .name("mockloop-deliveries".to_owned())
            .spawn(move || record_loop(log, records))
            .map_err(|e| HookError::Internal(format!("cannot start the recorder: {e}")))?;
        let (queue, exchanges) = mpsc::channel(settings.queue.max(1));
        let shared = Arc::new(Shared {
            settings,
            client,
            counters: Counters::default(),
            recorder,
            callbacks,
        });
        let hooks = Arc::new(Hooks {
            shared: shared.clone(),
            registry: ArcSwap::from_pointee(Registry::default()),
            listening: AtomicBool::new(false),
            queue,
            store: store.clone(),
            changes: tokio::sync::Mutex::new(()),
            last_drop_warning: Mutex::new(None),
            templates: api
                .operations
                .iter()
                .map(|op| event::blank_names(&op.path))
                .collect(),
        });
        let mut hooks_list = Vec::new();
        for stored in store.webhooks()? {
            let id = stored.id;
            match compile(stored) {
                Ok(hook) => hooks_list.push(Arc::new(hook)),
                Err(err) => tracing::warn!(id, cause = %err, "stored webhook skipped"),
            }
        }
        hooks.publish(hooks_list);
        tokio::spawn(work(shared, exchanges));
        Ok(hooks)
    }

    /// Whether anything listens: the mock skips [`Hooks::offer`] when not.
    #[inline]
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> &HookSettings {
        &self.shared.settings
    }

    /// Hands an answered request to the worker if a webhook or callback wants it. Never
    /// waits: with the queue full, the exchange is dropped and counted.
    pub fn offer(&self, exchange: &ExchangeRef<'_>) {
        let status = exchange.status.as_u16();
        let template = exchange.route.map(|r| &*r.template);
        let seen = Seen {
            method: exchange.method,
            path: exchange.uri.path(),
            template,
            status,
        };
        let registry = self.registry.load();
        let targets: Vec<(Arc<Webhook>, String)> = registry
            .hooks
            .iter()
            .filter_map(|hook| hook.events.matching(&seen).map(|e| (hook.clone(), e)))
            .collect();
        let callbacks = exchange
            .route
            .map(|r| r.op)
            .filter(|op| exchange.status.is_success() && self.has_callbacks(*op));
        if targets.is_empty() && callbacks.is_none() {
            return;
        }
        let (request_headers, response_headers) = match callbacks {
            Some(_) => (
                exchange.request_headers.clone(),
                exchange.response_headers.clone(),
            ),
            None => (HeaderMap::new(), HeaderMap::new()),
        };
        let job = Exchange {
            method: exchange.method.clone(),
            uri: exchange.uri.clone(),
            request_headers,
            request_body: capped(exchange.request_body),
            status,
            response_headers,
            response_body: capped(exchange.response_body),
            template: exchange.route.map(|r| r.template.clone()),
            request_id: exchange.request_id.to_owned(),
            at: Utc::now(),
            targets,
            callbacks,
        };
        match self.queue.try_send(job) {
            Ok(()) => {
                bump(&self.shared.counters.queued);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = bump(&self.shared.counters.dropped);
                self.warn_dropped(dropped);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn has_callbacks(&self, op: usize) -> bool {
        self.shared
            .callbacks
            .get(op)
            .is_some_and(|list| !list.is_empty())
    }

    /// At most one warning a second, carrying the running count.
    fn warn_dropped(&self, dropped: u64) {
        let mut last = self
            .last_drop_warning
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            dropped,
            "webhook queue is full; exchanges dropped without delivery"
        );
    }

    fn publish(&self, hooks: Vec<Arc<Webhook>>) {
        let any_callbacks = self.shared.callbacks.iter().any(|list| !list.is_empty());
        let listening = !hooks.is_empty() || any_callbacks;
        self.registry.store(Arc::new(Registry { hooks }));
        self.listening.store(listening, Ordering::Relaxed);
    }

    /// Checks a new webhook (URL, destination, events, headers), stores it and starts
    /// delivering to it.
    pub async fn register(&self, new: NewWebhook) -> Result<StoredWebhook, HookError> {
        let url = guard::parse_url(&new.url)?;
        Events::parse(&new.events).map_err(|detail| HookError::Invalid {
            field: "events",
            detail,
        })?;
        // A template the description does not declare could never fire (an override is
        // refused the same way); concrete paths and globs are left as they are.
        for text in &new.events {
            let Some((_, path)) = text.trim().split_once(char::is_whitespace) else {
                continue;
            };
            let path = path.trim();
            if path.contains('{')
                && !path.contains(['*', '?', '['])
                && !self.templates.contains(&event::blank_names(path))
            {
                return Err(HookError::Invalid {
                    field: "events",
                    detail: format!(
                        "event '{}': route template '{path}' is not declared by the description",
                        text.trim()
                    ),
                });
            }
        }
        header_map(&new.headers)?;
        if new.secret.as_deref() == Some("") {
            return Err(HookError::Invalid {
                field: "secret",
                detail: "the secret is empty; leave it out for unsigned deliveries".to_owned(),
            });
        }
        guard::check_url(&url, self.shared.settings.allow_private).await?;
        let _change = self.changes.lock().await;
        let store = self.store.clone();
        let stored = blocking(move || store.create_webhook(&new)).await?;
        let hook = Arc::new(compile(stored.clone())?);
        let mut hooks = self.registry.load().hooks.clone();
        hooks.push(hook);
        self.publish(hooks);
        Ok(stored)
    }

    /// Deletes a webhook; its delivery history stays. False if there was none.
    pub async fn remove(&self, id: i64) -> Result<bool, HookError> {
        let _change = self.changes.lock().await;
        let store = self.store.clone();
        let deleted = blocking(move || store.delete_webhook(id)).await?;
        let hooks = self
            .registry
            .load()
            .hooks
            .iter()
            .filter(|h| h.stored.id != id)
            .cloned()
            .collect();
        self.publish(hooks);
        Ok(deleted)
    }

    /// The registered webhooks, oldest first.
    pub fn webhooks(&self) -> Vec<StoredWebhook> {
        self.registry
            .load()
            .hooks
            .iter()
            .map(|h| h.stored.clone())
            .collect()
    }

    pub fn webhook(&self, id: i64) -> Option<StoredWebhook> {
        self.registry
            .load()
            .hooks
            .iter()
            .find(|h| h.stored.id == id)
            .map(|h| h.stored.clone())
    }

    /// Sends one test delivery to webhook `id` now (a single attempt, no retries), records
    /// it, and returns the recorded attempt.
    pub async fn test(&self, id: i64) -> Result<StoredDelivery, HookError> {
        let hook = self
            .registry
            .load()
            .hooks
            .iter()
            .find(|h| h.stored.id == id)
            .cloned()
            .ok_or(HookError::NotFound(id))?;
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let payload = json!({
            "event": "test",
            "timestamp": Utc::now().to_rfc3339(),
            "webhook_id": id,
            "delivery_id": delivery_id,
        });
        let delivery = Delivery {
            id: delivery_id,
            kind: "webhook",
            webhook_id: Some(id),
            event: "test".to_owned(),
            method: http::Method::POST,
            url: hook.url.clone(),
            headers: json_headers(&hook.headers),
            body: Bytes::from(payload.to_string()),
            secret: hook.secret.clone(),
            request_id: None,
            max_attempts: 1,
        };
        let (attempt, _) = attempt(&self.shared, &delivery, 1).await;
        let (ack, row) = oneshot::channel();
        self.shared
            .recorder
            .send(Record::Attempt(Box::new(attempt.clone()), Some(ack)))
            .await
            .map_err(|_| HookError::Internal("the delivery recorder has stopped".to_owned()))?;
        let id = row
            .await
            .map_err(|_| HookError::Internal("the test delivery was not recorded".to_owned()))?;
        Ok(StoredDelivery { id, attempt })
    }

    /// Recorded attempts, newest first.
    pub async fn deliveries(
        &self,
        filter: DeliveryFilter,
    ) -> Result<Vec<StoredDelivery>, HookError> {
        let store = self.store.clone();
        blocking(move || store.deliveries(&filter)).await
    }

    /// Waits, at most `limit`, until every attempt made so far is in the database. Called
    /// at shutdown; deliveries still waiting for a retry are abandoned after it.
    pub async fn flush(&self, limit: Duration) -> bool {
        let (done, flushed) = oneshot::channel();
        let flush = async {
            self.shared.recorder.send(Record::Flush(done)).await.is_ok() && flushed.await.is_ok()
        };
        tokio::time::timeout(limit, flush).await.unwrap_or(false)
    }

    pub fn figures(&self) -> HookFigures {
        let c = &self.shared.counters;
        let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
        HookFigures {
            queued: read(&c.queued),
            dropped: read(&c.dropped),
            sent: read(&c.sent),
            delivered: read(&c.delivered),
            retried: read(&c.retried),
            failed: read(&c.failed),
            refused: read(&c.refused),
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, store::StoreError> + Send + 'static,
) -> Result<T, HookError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(HookError::from),
        Err(err) => Err(HookError::Internal(format!("store task failed: {err}"))),
    }
}

/// Headers of a webhook, checked: valid names and values, none that the delivery sets.
fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, HookError> {
    let invalid = |detail: String| HookError::Invalid {
        field: "headers",
        detail,
    };
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("invalid header name '{name}'")))?;
        let reserved = header.as_str().starts_with("x-mockloop-")
            || matches!(
                header.as_str(),
                "host" | "content-length" | "transfer-encoding" | "connection"
            );
        if reserved {
            return Err(invalid(format!(
                "header '{name}' is set by the delivery itself and cannot be given"
            )));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("invalid value of header '{name}'")))?;
        map.append(header, value);
    }
    Ok(map)
}

fn compile(stored: StoredWebhook) -> Result<Webhook, HookError> {
    let url = guard::parse_url(&stored.url)?;
    let events = Events::parse(&stored.events).map_err(|detail| HookError::Invalid {
        field: "events",
        detail,
    })?;
    let headers = header_map(&stored.headers)?;
    let secret = stored
        .secret
        .as_deref()
        .map(|s| Arc::<[u8]>::from(s.as_bytes()));
    Ok(Webhook {
        stored,
        url,
        events,
        secret,
        headers,
    })
}

/// A webhook's own headers plus `Content-Type: application/json` unless it sets one.
fn json_headers(own: &HeaderMap) -> HeaderMap {
    let mut headers = own.clone();
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers
}

/// The recorder thread: writes attempts until every sender is gone.
fn record_loop(mut log: store::DeliveryLog, mut records: mpsc::Receiver<Record>) {
    while let Some(record) = records.blocking_recv() {
        let (attempt, ack) = match record {
            Record::Attempt(attempt, ack) => (attempt, ack),
            Record::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        match log.record(&attempt) {
            Ok(id) => {
                if let Some(ack) = ack {
                    let _ = ack.send(id);
                }
            }
            Err(err) => tracing::error!(
                cause = %err,
                delivery = %attempt.delivery_id,
                "cannot record a delivery attempt"
            ),
        }
    }
}

/// The worker: fans each exchange out into deliveries, each on a task of its own, with at
/// most `concurrency` in progress.
async fn work(shared: Arc<Shared>, mut exchanges: mpsc::Receiver<Exchange>) {
    let places = Arc::new(Semaphore::new(shared.settings.concurrency.max(1)));
    while let Some(exchange) = exchanges.recv().await {
        for delivery in deliveries(&shared, exchange).await {
            let Ok(place) = places.clone().acquire_owned().await else {
                return;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                deliver(&shared, delivery).await;
                drop(place);
            });
        }
    }
}

/// The deliveries an exchange causes: one per matching webhook, one per callback.
async fn deliveries(shared: &Shared, exchange: Exchange) -> Vec<Delivery> {
    let mut out = Vec::with_capacity(exchange.targets.len());
    let max_attempts = shared.settings.max_attempts.max(1);
    for (hook, event) in &exchange.targets {
        let id = uuid::Uuid::new_v4().to_string();
        let payload = payload(&exchange, event, hook.stored.id, &id);
        out.push(Delivery {
            id,
            kind: "webhook",
            webhook_id: Some(hook.stored.id),
            event: event.clone(),
            method: http::Method::POST,
            url: hook.url.clone(),
            headers: json_headers(&hook.headers),
            body: Bytes::from(payload.to_string()),
            secret: hook.secret.clone(),
            request_id: Some(exchange.request_id.clone()),
            max_attempts,
        });
    }
    let Some(op) = exchange.callbacks else {
        return out;
    };
    let url = full_url(&exchange);
    let params = match &exchange.template {
        Some(template) => expr::path_params(template, exchange.uri.path()),
        None => Vec::new(),
    };
    let source = expr::Source {
        method: exchange.method.as_str(),
        url: &url,
        status: exchange.status,
        query: exchange.uri.query(),
        path_params: &params,
        request_headers: &exchange.request_headers,
        request_body: &exchange.request_body,
        response_headers: &exchange.response_headers,
        response_body: &exchange.response_body,
    };
    for prepared in &shared.callbacks[op] {
        let id = uuid::Uuid::new_v4().to_string();
        let target = expr::resolve(&prepared.expression, &source)
            .map_err(|e| format!("cannot resolve the callback URL: {e}"))
            .and_then(|text| guard::parse_url(&text).map_err(|e| e.to_string()));
        let target = match target {
            Ok(url) => url,
            Err(error) => {
                // Nothing can be sent; the failure is recorded where its history is read.
                bump(&shared.counters.failed);
                let attempt = DeliveryAttempt {
                    delivery_id: id,
                    kind: "callback".to_owned(),
                    webhook_id: None,
                    event: prepared.name.clone(),
                    method: prepared.method.to_string(),
                    url: prepared.expression.clone(),
                    attempt: 1,
                    status: None,
                    latency_ms: None,
                    error: Some(error),
                    outcome: "failed".to_owned(),
                    request_id: Some(exchange.request_id.clone()),
                    at: Utc::now(),
                };
                let _ = shared
                    .recorder
                    .send(Record::Attempt(Box::new(attempt), None))
                    .await;
                continue;
            }
        };
        let mut headers = HeaderMap::new();
        if let Some(Ok(value)) = prepared.content_type.as_deref().map(HeaderValue::from_str) {
            headers.insert(http::header::CONTENT_TYPE, value);
        }
        out.push(Delivery {
            id,
            kind: "callback",
            webhook_id: None,
            event: prepared.name.clone(),
            method: prepared.method.clone(),
            url: target,
            headers,
            body: prepared.body.clone(),
            secret: None,
            request_id: Some(exchange.request_id.clone()),
            max_attempts,
        });
    }
    out
}

/// The request's URL as the client used it: the Host header and the path and query.
fn full_url(exchange: &Exchange) -> String {
    if exchange.uri.scheme().is_some() {
        return exchange.uri.to_string();
    }
    let host = exchange
        .request_headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let path = exchange.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{path}")
}

/// Most bytes of a request or response body a delivery carries, as in the request log.
pub const MAX_DELIVERY_BODY: usize = 64 * 1024;

/// A body within [`MAX_DELIVERY_BODY`]: a longer one is cut, and copied, so that a queued
/// delivery never keeps a large upload alive.
fn capped(body: &Bytes) -> Bytes {
    if body.len() <= MAX_DELIVERY_BODY {
        body.clone()
    } else {
        Bytes::copy_from_slice(&body[..MAX_DELIVERY_BODY])
    }
}

/// A body as JSON when it is JSON, else as text; null when empty.
fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The query string as an object; a repeated name holds an array.
fn query_value(query: Option<&str>) -> Value {
    let mut map = Map::new();
    for (key, value) in query.map(expr::form_pairs).into_iter().flatten() {
        match map.get_mut(&key) {
            None => {
                map.insert(key, Value::String(value));
            }
            Some(Value::Array(items)) => items.push(Value::String(value)),
            Some(first) => {
                let first = first.take();
                map.insert(key, Value::Array(vec![first, Value::String(value)]));
            }
        }
    }
    Value::Object(map)
}

fn payload(exchange: &Exchange, event: &str, webhook_id: i64, delivery_id: &str) -> Value {
    json!({
        "event": event,
        "timestamp": exchange.at.to_rfc3339(),
        "request_id": exchange.request_id,
        "webhook_id": webhook_id,
        "delivery_id": delivery_id,
        "request": {
            "method": exchange.method.as_str(),
            "path": exchange.uri.path(),
            "route": exchange.template.as_deref(),
            "query": query_value(exchange.uri.query()),
            "body": body_value(&exchange.request_body),
        },
        "response": {
            "status": exchange.status,
            "body": body_value(&exchange.response_body),
        },
    })
}

/// Makes the attempts of one delivery, recording each.
async fn deliver(shared: &Shared, delivery: Delivery) {
    let backoff = Backoff {
        base: shared.settings.base_delay,
        max: shared.settings.max_delay,
    };
    for number in 1..=delivery.max_attempts {
        let (mut attempt, ending) = attempt(shared, &delivery, number).await;
        let again = ending == Ending::Retry && number < delivery.max_attempts;
        if again {
            attempt.outcome = "retrying".to_owned();
            bump(&shared.counters.retried);
        } else if ending != Ending::Delivered {
            attempt.outcome = match ending {
                Ending::Refused => "refused",
                _ => "failed",
            }
            .to_owned();
            bump(&shared.counters.failed);
        }
        if shared
            .recorder
            .send(Record::Attempt(Box::new(attempt), None))
            .await
            .is_err()
        {
            tracing::error!(delivery = %delivery.id, "the delivery recorder has stopped");
        }
        if !again {
            return;
        }
        let wait = backoff.delay(number, &mut rand::rng());
        tokio::time::sleep(wait).await;
    }
}

/// One attempt: the guard, the signed request, the answer. The attempt's record comes back
/// with outcome `delivered` or `failed`; the caller decides about retrying.
async fn attempt(shared: &Shared, delivery: &Delivery, number: u32) -> (DeliveryAttempt, Ending) {
    let mut record = DeliveryAttempt {
        delivery_id: delivery.id.clone(),
        kind: delivery.kind.to_owned(),
        webhook_id: delivery.webhook_id,
        event: delivery.event.clone(),
        method: delivery.method.to_string(),
        url: delivery.url.to_string(),
        attempt: number,
        status: None,
        latency_ms: None,
        error: None,
        outcome: "failed".to_owned(),
        request_id: delivery.request_id.clone(),
        at: Utc::now(),
    };
    // Names are checked again by the client's resolver at connect time; this catches IP
    // literals (which are not resolved) and refuses early with a clear reason.
    if let Err(err) = guard::check_literal(&delivery.url, shared.settings.allow_private) {
        bump(&shared.counters.refused);
        record.error = Some(err.to_string());
        record.outcome = "refused".to_owned();
        return (record, Ending::Refused);
    }
    let mut headers = delivery.headers.clone();
    if let Ok(value) = HeaderValue::from_str(&delivery.event) {
        headers.insert(EVENT_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_str(&delivery.id) {
        headers.insert(DELIVERY_HEADER, value);
    }
    if let Some(secret) = &delivery.secret {
        let timestamp = Utc::now().timestamp();
        let signature = sign::signature(secret, timestamp, &delivery.body);
        headers.insert(sign::TIMESTAMP_HEADER, HeaderValue::from(timestamp));
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert(sign::SIGNATURE_HEADER, value);
        }
    }
    let request = shared
        .client
        .request(delivery.method.clone(), delivery.url.clone())
        .headers(headers)
        .body(delivery.body.clone());
    bump(&shared.counters.sent);
    let started = Instant::now();
    let sent = request.send().await;
    record.latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    let ending = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            record.status = Some(status);
            // Read (a bounded part of) the answer so that the connection can be reused.
            drain(response).await;
            if (200..300).contains(&status) {
                Ending::Delivered
            } else {
                record.error = Some(if (300..400).contains(&status) {
                    format!("answered {status}; redirects are not followed")
                } else {
                    format!("answered {status}")
                });
                if retryable_status(status) {
                    Ending::Retry
                } else {
                    Ending::Fatal
                }
            }
        }
        Err(err) => {
            record.error = Some(error_chain(&err));
            if refused_by_guard(&err) {
                bump(&shared.counters.refused);
                record.latency_ms = None;
                Ending::Refused
            } else {
                Ending::Retry
            }
        }
    };
    if ending == Ending::Delivered {
        bump(&shared.counters.delivered);
        record.outcome = "delivered".to_owned();
    }
    (record, ending)
}

/// Reads up to 64 KiB of an answer's body and drops the rest.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0usize;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > 64 * 1024 {
            break;
        }
    }
}

fn refused_by_guard(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<GuardError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// An error and its causes, joined: reqwest's own message alone rarely says what failed.
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by a fresh-user run: 30 deliveries of 9 MB uploads to a receiver that hung
    /// held every upload in memory (19 MB to 371 MB). A delivery now keeps at most
    /// `MAX_DELIVERY_BODY` bytes of each body, in an allocation of its own.
    #[test]
    fn delivery_bodies_are_cut_and_copied() {
        let upload = Bytes::from(vec![b'x'; 9 << 20]);
        let kept = capped(&upload);
        assert_eq!(kept.len(), MAX_DELIVERY_BODY);
        assert_ne!(kept.as_ptr(), upload.as_ptr());
        let small = Bytes::from_static(b"{}");
        assert_eq!(capped(&small).as_ptr(), small.as_ptr());
    }

    const SPEC: &str = "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /books:\n    \
        post:\n      responses:\n        '201': { description: created }\n";

    /// On a single-threaded runtime the worker cannot run while the test offers, so the
    /// queue fills: the first exchange is taken, the rest are dropped and counted, and
    /// `offer` returns each time without waiting.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("api.yaml");
        std::fs::write(&spec, SPEC).unwrap();
        let api = spec::load(spec.to_str().unwrap(), &spec::LoadOptions::default()).unwrap();
        let store = Store::open(dir.path().join("h.db"), store::StoreOptions::default()).unwrap();
        let settings = HookSettings {
            allow_private: true,
            queue: 1,
            ..HookSettings::default()
        };
        let hooks = Hooks::start(store, &api, settings).unwrap();
        assert!(!hooks.listening(), "nothing registered yet");
        // A listener of the test's own; the runtime ends before anything is delivered.
        let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", receiver.local_addr().unwrap());
        hooks
            .register(NewWebhook {
                url,
                events: vec!["create".to_owned()],
                secret: None,
                headers: Vec::new(),
                description: String::new(),
            })
            .await
            .unwrap();
        assert!(hooks.listening());
        let (headers, body) = (HeaderMap::new(), Bytes::from_static(b"{}"));
        let uri: Uri = "/books".parse().unwrap();
        let exchange = ExchangeRef {
            method: &http::Method::POST,
            uri: &uri,
            request_headers: &headers,
            request_body: &body,
            status: StatusCode::CREATED,
            response_headers: &headers,
            response_body: &body,
            route: None,
            request_id: "r-1",
        };
        for _ in 0..3 {
            hooks.offer(&exchange);
        }
        let not_matching = ExchangeRef {
            method: &http::Method::GET,
            status: StatusCode::OK,
            ..exchange
        };
        hooks.offer(&not_matching);
        let figures = hooks.figures();
        assert_eq!((figures.queued, figures.dropped), (1, 2), "{figures:?}");
        // The recorder answers a flush once what was sent before it is written.
        assert!(hooks.flush(Duration::from_secs(10)).await);
    }

    #[test]
    fn query_strings_become_objects_with_arrays_for_repeats() {
        assert_eq!(
            query_value(Some("a=1&b=x+y&a=2&a=3")),
            json!({ "a": ["1", "2", "3"], "b": "x y" })
        );
        assert_eq!(query_value(None), json!({}));
    }

    #[test]
    fn bodies_are_json_when_they_parse_else_text() {
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(body_value(br#"{"a":1}"#), json!({ "a": 1 }));
        assert_eq!(body_value(b"plain"), json!("plain"));
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let pairs = |n: &str, v: &str| vec![(n.to_owned(), v.to_owned())];
        assert!(header_map(&pairs("X-Team", "books")).is_ok());
        for (name, value) in [
            ("X-Mockloop-Signature", "x"),
            ("Host", "x"),
            ("bad name", "x"),
            ("X-Ok", "line\nbreak"),
        ] {
            let err = header_map(&pairs(name, value)).unwrap_err();
            assert!(
                matches!(
                    err,
                    HookError::Invalid {
                        field: "headers",
                        ..
                    }
                ),
                "{name}"
            );
        }
    }
}
