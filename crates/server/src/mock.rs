//! The mock API listener: every request goes through the engine and into the request log.
//!
//! The hot path: route the request (so its figures land in its route's cell), take a place
//! under the concurrency limit if one is set, reserve a slot in the log queue (this is where
//! backpressure waits when the writer falls behind), read the body within the limit, ask the
//! engine, send the response. The log record is handed over without waiting; serialising it
//! is the writer's job.
//!
//! Runtime rules (overrides, the active scenario, faults) come from one snapshot loaded
//! atomically per request. Their delays wait on the timer, never on a worker thread; a
//! reset ends the connection by failing the service; a slow body is a body that yields
//! slices on a timer. In stateful mode the engine answers the collections' requests from
//! the in-memory store, whose changes are persisted behind the response.
//!
//! Auth emulation, when on, is checked first (a denial is logged with the rule `auth`).
//! With a response cache, bodies the engine generates per request are looked up in it
//! before they are generated; without one the request path has no cache code.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::runtime::{Answer, Delivery, Rules};
use engine::state::Resources;
use engine::{Engine, MockRequest, MockResponse, Routed};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use store::{LogPermit, LogRecord, LogSink};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cache::{Lookup, ResponseCache};
use crate::control::Control;
use crate::cors::CorsPolicy;
use crate::limit::{Admission, ConcurrencyLimit, LimitConfig};
use crate::metrics::{Flight, Metrics};

/// Settings of the mock listener.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    pub cors: CorsPolicy,
    /// Header whose value is stored as the session id of each request.
    pub session_header: HeaderName,
    /// Identifies this instance in the log.
    pub server_id: String,
    /// How long in-flight requests may take to finish at shutdown.
    pub grace: Duration,
    /// At most this many requests at once, with a queue; None for no limit.
    pub limit: Option<LimitConfig>,
    /// The response cache; None when off.
    pub cache: Option<Arc<ResponseCache>>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            max_body_bytes: 10 * 1024 * 1024,
            cors: CorsPolicy::Any,
            session_header: HeaderName::from_static("x-session-id"),
            server_id: "mockloop".to_owned(),
            grace: Duration::from_secs(10),
            limit: None,
            cache: None,
        }
    }
}

/// Everything a request handler needs, shared by all connections.
pub struct MockState {
    engine: Arc<Engine>,
    sink: LogSink,
    config: MockConfig,
    /// Request counter: the nonce for dynamic data and the tail of generated request ids.
    counter: AtomicU64,
    /// Per-process random prefix of generated request ids.
    id_prefix: String,
    server_id: Arc<str>,
    /// Overrides, the active scenario and faults.
    control: Arc<Control>,
    metrics: Arc<Metrics>,
    /// None when no limit is set: requests then pay nothing for it.
    limit: Option<Arc<ConcurrencyLimit>>,
    /// The stateful store; None when the mock is not stateful, and then requests pay one
    /// check for it.
    resources: Option<Arc<Resources>>,
    /// Webhooks and callbacks; requests check one flag when nothing listens.
    hooks: Option<Arc<hooks::Hooks>>,
}

impl MockState {
    /// The state, with a metrics cell for each of the engine's operations.
    pub fn new(
        engine: Arc<Engine>,
        sink: LogSink,
        config: MockConfig,
        control: Arc<Control>,
    ) -> MockState {
        let id_prefix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let server_id = Arc::from(config.server_id.as_str());
        let limit = config.limit.map(|c| Arc::new(ConcurrencyLimit::new(c)));
        let metrics = Arc::new(Metrics::new(
            engine.api(),
            sink.stats().clone(),
            limit.clone(),
            config.cache.clone(),
        ));
        if let Some(cache) = &config.cache {
            control.attach_cache(cache.clone());
        }
        MockState {
            engine,
            sink,
            config,
            counter: AtomicU64::new(0),
            id_prefix,
            server_id,
            control,
            metrics,
            limit,
            resources: None,
            hooks: None,
        }
    }

    /// Answers requests to the inferred collections from `resources` (stateful mode).
    pub fn with_state(mut self, resources: Arc<Resources>) -> MockState {
        self.resources = Some(resources);
        self
    }

    /// Hands answered requests to the webhook and callback dispatcher.
    pub fn with_hooks(mut self, hooks: Arc<hooks::Hooks>) -> MockState {
        self.hooks = Some(hooks);
        self
    }

    /// The figures of this listener, for the admin API and the sampler.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Serves the mock API on `listener` until `shutdown` fires, then drains in-flight requests
/// within the grace period.
pub async fn serve(
    listener: TcpListener,
    state: Arc<MockState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Running out of file descriptors must not end the server.
                        tracing::warn!(cause = %err, "failed to accept a connection");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                state.metrics.connection_opened();
                let metrics = state.metrics.clone();
                let state = state.clone();
                let service = service_fn(move |req| handle(state.clone(), req, peer));
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(cause = %err, %peer, "connection ended with an error");
                    }
                    metrics.connection_closed();
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let grace = state.config.grace;
    tokio::select! {
        _ = graceful.shutdown() => tracing::debug!("in-flight requests drained"),
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "grace period ran out with requests \
                in flight");
        }
    }
}

/// Where a request goes: a CORS preflight the server answers itself, or the engine.
enum Plan {
    Preflight(Vec<spec::Method>),
    Engine(Routed),
}

impl Plan {
    fn of(state: &MockState, parts: &http::request::Parts) -> Plan {
        let cors = &state.config.cors;
        if cors.is_preflight(&parts.method, &parts.headers) {
            if let Some(methods) = state.engine.router().methods_at(parts.uri.path()) {
                return Plan::Preflight(methods);
            }
        }
        Plan::Engine(state.engine.route(&parts.method, parts.uri.path()))
    }

    /// The operation the request reaches; preflights are counted as unmatched.
    fn op(&self) -> Option<usize> {
        match self {
            Plan::Preflight(_) => None,
            Plan::Engine(routed) => routed.op(),
        }
    }
}

/// What the mock sends: the whole body at once, or slowly.
type MockBody = Either<Full<Bytes>, SlowBody>;

/// The service's error for a `reset` fault: hyper closes the connection (HTTP/2: resets the
/// stream) without sending a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by a reset fault")]
struct ResetFault;

async fn handle(
    state: Arc<MockState>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<MockBody>, ResetFault> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let plan = Plan::of(&state, &parts);
    let flight = state.metrics.start(plan.op(), arrived);
    // The place is taken before the body is read: a slow upload holds a place like any
    // other work, and a refused request is answered without reading its body.
    let _place = match &state.limit {
        None => None,
        Some(limit) => match limit.admit().await {
            Admission::Admitted(place) => Some(place),
            Admission::Rejected => {
                let entry = LogEntry::reserve(&state).await;
                let response = too_busy(&state, &parts, limit, plan.op());
                let scenario = state.control.rules().scenario().clone();
                let answer = Answer::plain(response);
                return finish(
                    &state,
                    entry,
                    parts,
                    Bytes::new(),
                    answer,
                    scenario,
                    peer,
                    flight,
                );
            }
        },
    };
    let mut entry = LogEntry::reserve(&state).await;
    let (body, early) = match read_body(&parts.headers, body, state.config.max_body_bytes).await {
        Ok(bytes) => (bytes, None),
        Err(resp) => (Bytes::new(), Some(resp)),
    };
    let rules = state.control.rules();
    let (answer, pending) = match early {
        Some(resp) => (Answer::plain(resp), None),
        None => answer(&state, &parts, &body, entry.nonce, plan, &rules),
    };
    let scenario = rules.scenario().clone();
    drop(rules);
    let answer = match (pending, &state.config.cache) {
        (Some(pending), Some(cache)) => cached(&state, cache, &parts, answer, pending).await,
        _ => answer,
    };
    if !answer.delay.is_zero() {
        // A delayed request gives its log slot back while it waits, so that many slow
        // answers cannot fill the queue that every other request reserves from.
        let held = entry.permit.take().is_some();
        // A client that hangs up during the delay makes hyper drop this future; the guard
        // then logs the request as unanswered (status 0), so it is not lost.
        let guard = Unanswered::arm(&state, &entry, &parts, &body, &answer, &scenario, peer);
        tokio::time::sleep(answer.delay).await;
        guard.disarm();
        if held {
            entry.permit = state.sink.reserve().await.ok();
        }
    }
    finish(&state, entry, parts, body, answer, scenario, peer, flight)
}
/// The log row of a delayed request, written if the request is dropped before it is
/// answered (the client closed the connection during the delay). Only delayed requests
/// build one, so the plain request path pays nothing for it.
struct Unanswered {
    sink: LogSink,
    record: Option<LogRecord>,
    started: Instant,
}

impl Unanswered {
    fn arm(
        state: &MockState,
        entry: &LogEntry,
        parts: &http::request::Parts,
        body: &Bytes,
        answer: &Answer,
        scenario: &Arc<str>,
        peer: SocketAddr,
    ) -> Unanswered {
        let (route, operation_id) = route_columns(answer.response.route.as_ref());
        let request_id = request_id(state, &parts.headers, entry.nonce);
        let session_id = session_id(state, &parts.headers);
        Unanswered {
            sink: state.sink.clone(),
            record: Some(LogRecord {
                timestamp: entry.received,
                server_id: state.server_id.clone(),
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                route,
                operation_id,
                request_headers: parts.headers.clone(),
                request_body: body.clone(),
                status: answer.response.status,
                client_addr: Some(peer),
                request_id,
                session_id,
                scenario: scenario.clone(),
                fault: answer.fault,
                rule: answer.rule.clone(),
                aborted: true,
                ..LogRecord::default()
            }),
            started: entry.started,
        }
    }

    fn disarm(mut self) {
        self.record = None;
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        let Some(mut record) = self.record.take() else {
            return;
        };
        record.duration = self.started.elapsed();
        let sink = self.sink.clone();
        // Dropped on a runtime thread by hyper; waiting for room in the queue is the
        // writer's backpressure as for any row, so it happens on a task of its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if sink.send(record).await.is_err() {
                    tracing::error!("request log writer is gone; unanswered request not logged");
                }
            });
        }
    }
}

/// A reserved place in the request log, and when the request's logged time starts.
struct LogEntry {
    /// None when the log writer is gone.
    permit: Option<LogPermit>,
    received: chrono::DateTime<chrono::Utc>,
    started: Instant,
    /// Request counter: the nonce for dynamic data and the tail of generated request ids.
    nonce: u64,
}

impl LogEntry {
    async fn reserve(state: &MockState) -> LogEntry {
        // Backpressure: this waits only when the log queue is full.
        // The sink closes only after the listeners have stopped, so a failure here means
        // the writer died; the request is still answered and the loss is reported.
        let permit = state.sink.reserve().await.ok();
        LogEntry {
            permit,
            received: chrono::Utc::now(),
            started: Instant::now(),
            nonce: state.counter.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Adds the request id, records the request's figures and logs it.
#[allow(clippy::too_many_arguments)]
fn finish(
    state: &MockState,
    entry: LogEntry,
    parts: http::request::Parts,
    body: Bytes,
    answer: Answer,
    scenario: Arc<str>,
    peer: SocketAddr,
    flight: Flight<'_>,
) -> Result<Response<MockBody>, ResetFault> {
    let LogEntry {
        permit,
        received,
        started,
        nonce,
    } = entry;
    let Answer {
        response,
        delivery,
        fault,
        rule,
        ..
    } = answer;
    let request_id = request_id(state, &parts.headers, nonce);
    let out_body = match delivery {
        Delivery::Slow { bytes_per_second } => {
            Either::Right(SlowBody::new(response.body.clone(), bytes_per_second))
        }
        Delivery::Whole | Delivery::Reset => Either::Left(Full::new(response.body.clone())),
    };
    let mut out = Response::new(out_body);
    *out.status_mut() = response.status;
    let mut headers = response.headers;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    *out.headers_mut() = headers;
    let aborted = delivery == Delivery::Reset;
    // A reset is counted as a server-side failure: the client got no answer.
    flight.finish(if aborted { 0 } else { response.status.as_u16() });

    if let Some(hooks) = &state.hooks
        && hooks.listening()
        && !aborted
    {
        // After the response is built and before the log takes the request's parts: the
        // dispatcher copies what it needs only when a webhook or callback wants it.
        hooks.offer(&hooks::ExchangeRef {
            method: &parts.method,
            uri: &parts.uri,
            request_headers: &parts.headers,
            request_body: &body,
            status: response.status,
            response_headers: out.headers(),
            response_body: &response.body,
            route: response.route.as_ref(),
            request_id: &request_id,
        });
    }
    let session_id = session_id(state, &parts.headers);
    let (route, operation_id) = route_columns(response.route.as_ref());
    let Some(permit) = permit else {
        tracing::error!(%request_id, "request log writer is gone; request not logged");
        return if aborted { Err(ResetFault) } else { Ok(out) };
    };
    permit.send(LogRecord {
        timestamp: received,
        server_id: state.server_id.clone(),
        method: parts.method,
        uri: parts.uri,
        route,
        operation_id,
        request_headers: parts.headers,
        request_body: body,
        status: response.status,
        response_headers: out.headers().clone(),
        response_body: response.body,
        duration: started.elapsed(),
        client_addr: Some(peer),
        request_id,
        session_id,
        scenario,
        fault,
        rule,
        aborted,
    });
    if aborted { Err(ResetFault) } else { Ok(out) }
}

/// The client's `X-Request-Id`, else one made from the process prefix and the counter.
fn request_id(state: &MockState, headers: &HeaderMap, nonce: u64) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-{nonce:x}", state.id_prefix))
}

fn session_id(state: &MockState, headers: &HeaderMap) -> Option<String> {
    headers
        .get(&state.config.session_header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The log's route template and operation id of an answer.
fn route_columns(route: Option<&engine::RouteInfo>) -> (Option<Arc<str>>, Option<Arc<str>>) {
    match route {
        Some(route) => (Some(route.template.clone()), route.operation_id.clone()),
        None => (None, None),
    }
}

/// The answer to a request refused by the concurrency limit: 503 with `Retry-After`.
fn too_busy(
    state: &MockState,
    parts: &http::request::Parts,
    limit: &ConcurrencyLimit,
    op: Option<usize>,
) -> MockResponse {
    let config = limit.config();
    let mut response = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "the mock is at its concurrency limit ({} in flight, {} waiting); retry later",
            config.max_concurrency, config.queue
        ),
    );
    response
        .headers
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response.route = op.and_then(|op| state.engine.route_info(op));
    state
        .config
        .cors
        .decorate(&parts.headers, &mut response.headers);
    response
}

/// Header telling where a cacheable body came from: `hit; level=memory`,
/// `hit; level=redis`, `miss` or `bypass`.
const CACHE_HEADER: &str = "x-mockloop-cache";

/// Fills a deferred body from the cache, or generates it and keeps it there.
/// `Cache-Control: no-cache` skips the lookup (the fresh body is still kept); `no-store`
/// skips both.
async fn cached(
    state: &MockState,
    cache: &ResponseCache,
    parts: &http::request::Parts,
    mut answer: Answer,
    pending: engine::Pending,
) -> Answer {
    let (no_cache, no_store) = cache_control(&parts.headers);
    let key = cache.key(parts);
    let (body, mark) = if no_cache || no_store {
        cache.bypassed();
        let body = state.engine.generate(&pending);
        if !no_store {
            cache.put(key, body.clone());
        }
        (body, "bypass")
    } else {
        match cache.get(&key).await {
            (Some(body), Lookup::Memory) => (body, "hit; level=memory"),
            (Some(body), _) => (body, "hit; level=redis"),
            (None, _) => {
                let body = state.engine.generate(&pending);
                cache.put(key, body.clone());
                (body, "miss")
            }
        }
    };
    answer.response.body = body;
    answer
        .response
        .headers
        .insert(CACHE_HEADER, HeaderValue::from_static(mark));
    answer
}

/// Whether `Cache-Control` says `no-cache` and `no-store`.
fn cache_control(headers: &HeaderMap) -> (bool, bool) {
    let (mut no_cache, mut no_store) = (false, false);
    let directives = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for directive in directives {
        let name = directive.trim().split('=').next().unwrap_or("");
        no_cache |= name.eq_ignore_ascii_case("no-cache");
        no_store |= name.eq_ignore_ascii_case("no-store");
    }
    (no_cache, no_store)
}

/// The engine's answer under the runtime rules, or the CORS preflight answer, with CORS
/// headers added. Auth emulation, when on, comes first. With a cache, a body generated per
/// request is left to do (the `Pending` work).
fn answer(
    state: &MockState,
    parts: &http::request::Parts,
    body: &Bytes,
    nonce: u64,
    plan: Plan,
    rules: &Rules,
) -> (Answer, Option<engine::Pending>) {
    let cors = &state.config.cors;
    let routed = match plan {
        Plan::Preflight(methods) => {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            let (status, headers) = cors.preflight(&parts.headers, &names);
            let answer = Answer::plain(MockResponse {
                status,
                headers,
                body: Bytes::new(),
                route: None,
            });
            return (answer, None);
        }
        Plan::Engine(routed) => routed,
    };
    let request = MockRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
        nonce,
    };
    if let Some(policy) = rules.auth()
        && let Some(mut denied) = state.engine.authorize(&routed, &request, policy)
    {
        cors.decorate(&parts.headers, &mut denied.headers);
        let mut answer = Answer::plain(denied);
        answer.rule = Some(Arc::from("auth"));
        return (answer, None);
    }
    let resources = state.resources.as_deref();
    let (mut answer, pending) = match &state.config.cache {
        None => (
            state
                .engine
                .answer_with_state(routed, &request, rules, resources),
            None,
        ),
        Some(_) => state
            .engine
            .answer_deferred(routed, &request, rules, resources, true),
    };
    cors.decorate(&parts.headers, &mut answer.response.headers);
    (answer, pending)
}

/// A body sent in slices on a timer, about ten a second, at `bytes_per_second` on
/// average. The first slice goes at once. Its length is known, so `Content-Length` is
/// still sent.
pub(crate) struct SlowBody {
    rest: Bytes,
    slice: usize,
    interval: Duration,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SlowBody {
    fn new(data: Bytes, bytes_per_second: u64) -> SlowBody {
        let bytes_per_second = bytes_per_second.max(1);
        let slice = (bytes_per_second / 10).max(1);
        SlowBody {
            rest: data,
            slice: usize::try_from(slice).unwrap_or(usize::MAX),
            interval: Duration::from_secs_f64(slice as f64 / bytes_per_second as f64),
            wait: None,
        }
    }
}

impl hyper::body::Body for SlowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(wait) = this.wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
        }
        let slice = this.rest.split_to(this.slice.min(this.rest.len()));
        this.wait = Some(Box::pin(tokio::time::sleep(this.interval)));
        Poll::Ready(Some(Ok(hyper::body::Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// Reads the whole body within `limit` bytes.
async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, MockResponse> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(err) => Err(problem(
            StatusCode::BAD_REQUEST,
            &format!("the request body could not be read: {err}"),
        )),
    }
}

fn problem(status: StatusCode, detail: &str) -> MockResponse {
    engine::problem::problem(status, detail, None)
}

#[cfg(test)]
mod tests {
    use super::cache_control;
    use http::HeaderMap;

    fn directives(values: &[&str]) -> (bool, bool) {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(http::header::CACHE_CONTROL, value.parse().unwrap());
        }
        cache_control(&headers)
    }

    #[test]
    fn cache_control_directives_are_read_from_every_value_without_case() {
        assert_eq!(directives(&[]), (false, false));
        assert_eq!(directives(&["max-age=0, No-Cache"]), (true, false));
        assert_eq!(directives(&["private", "no-store"]), (false, true));
        assert_eq!(directives(&["no-cache=\"set-cookie\""]), (true, false));
        assert_eq!(directives(&["no-cacheable"]), (false, false));
    }
}
