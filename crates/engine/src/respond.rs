//! Response selection: route, validate, pick status and media type, build the body.
//!
//! Work that does not depend on the request is done once and kept: example bodies, bodies
//! generated for routes without path parameters, header values and validators are built on
//! first use and shared afterwards (`OnceLock`), so a large description starts fast and a
//! hot route costs no rebuilding.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;
use spec::{Api, MediaType, Method, Operation, StatusKey};

use crate::generate::{GenCache, Generator};
use crate::negotiate::{Preferences, choose};
use crate::problem::problem;
use crate::router::{RouteMatch, Router};
use crate::schema::{Direction, SchemaContext};
use crate::validate::{OperationValidator, RequestParts, Verdict};
use crate::{EngineOptions, MockRequest, MockResponse, RouteInfo, media};

/// Per-operation state built lazily.
struct OpState {
    template: Arc<str>,
    operation_id: Option<Arc<str>>,
    /// Whether the template has no parameters, so that generated data (which depends on the
    /// path) is the same for every request.
    literal: bool,
    validator: OnceLock<OperationValidator>,
    responses: Vec<ResponseState>,
    /// Index into `responses` of the one sent when the client states no preference.
    default_response: Option<usize>,
    /// The security alternatives, resolved once for auth emulation.
    security: crate::auth::OpSecurity,
}

struct ResponseState {
    /// The status sent for this response when chosen by default.
    status: StatusCode,
    /// Media types as declared, in order.
    media: Vec<String>,
    /// Bodies that are the same for every request (examples; generated data on literal
    /// routes), per media type.
    fixed: Vec<OnceLock<Bytes>>,
    headers: OnceLock<HeaderMap>,
}

/// A ready mock: the description, its route table and cached responses.
pub struct Engine {
    api: Arc<Api>,
    router: Router,
    ops: Vec<OpState>,
    options: EngineOptions,
    /// Compiled patterns and checks of the generator, built on first use and kept: data
    /// generated per request (routes with path parameters, `Prefer: dynamic=true`) must
    /// not compile a regular expression on every request.
    gen_cache: GenCache,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("source", &self.api.source)
            .field("operations", &self.ops.len())
            .finish()
    }
}

fn empty_response(status: StatusCode) -> MockResponse {
    MockResponse {
        status,
        headers: HeaderMap::new(),
        body: Bytes::new(),
        route: None,
    }
}

/// The status a response key stands for when it is sent without a request for a code.
fn status_for(key: StatusKey) -> StatusCode {
    let code = match key {
        StatusKey::Code(code) => code,
        StatusKey::Range(class) => u16::from(class) * 100,
        StatusKey::Default => 200,
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

/// First 2xx, else `default`, else the first declared.
fn default_response(op: &Operation) -> Option<usize> {
    let success = op.responses.iter().position(|r| match r.status {
        StatusKey::Code(code) => (200..300).contains(&code),
        StatusKey::Range(class) => class == 2,
        StatusKey::Default => false,
    });
    success
        .or_else(|| {
            op.responses
                .iter()
                .position(|r| r.status == StatusKey::Default)
        })
        .or(if op.responses.is_empty() {
            None
        } else {
            Some(0)
        })
}

/// A stable 64-bit hash (FNV-1a): the std hasher may change between releases, and the same
/// seed must give the same data across versions.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub(crate) fn stable_hash(parts: impl Hash) -> u64 {
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    parts.hash(&mut hasher);
    hasher.finish()
}

/// Where a request goes, from [`Engine::route`].
#[derive(Debug)]
pub struct Routed {
    pub(crate) found: RouteMatch,
    /// HEAD, answered without a body.
    pub(crate) no_body: bool,
}

impl Routed {
    /// The operation (index in [`spec::Api::operations`]) the request reaches, if any.
    pub fn op(&self) -> Option<usize> {
        match self.found {
            RouteMatch::Found { op, .. } => Some(op),
            _ => None,
        }
    }

    /// A HEAD request: answered without a body.
    pub fn is_head(&self) -> bool {
        self.no_body
    }
}

/// Data generation left to the caller by [`Engine::respond_deferred`]: the body of a
/// response that is built per request (generated data on a route with parameters), for a
/// server that keeps such bodies in a cache. [`Engine::generate`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    op: usize,
    resp_index: usize,
    media_index: usize,
    seed: u64,
}

impl Engine {
    /// Builds the route table. Cheap: responses are built on first use.
    pub fn new(api: Arc<Api>, options: EngineOptions) -> Engine {
        let router = Router::new(
            api.operations
                .iter()
                .enumerate()
                .map(|(i, op)| (i, op.method, op.path.as_str())),
            &api.base_paths,
        );
        let ops = api
            .operations
            .iter()
            .map(|op| OpState {
                template: Arc::from(op.path.as_str()),
                operation_id: op.operation_id.as_deref().map(Arc::from),
                literal: !op.path.contains('{'),
                validator: OnceLock::new(),
                responses: op
                    .responses
                    .iter()
                    .map(|r| ResponseState {
                        status: status_for(r.status),
                        media: r.content.iter().map(|m| m.media_type.clone()).collect(),
                        fixed: r.content.iter().map(|_| OnceLock::new()).collect(),
                        headers: OnceLock::new(),
                    })
                    .collect(),
                default_response: default_response(op),
                security: crate::auth::OpSecurity::compile(&op.security, &api.security_schemes),
            })
            .collect();
        Engine {
            api,
            router,
            ops,
            options,
            gen_cache: GenCache::new(),
        }
    }

    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The route of operation `op` as responses carry it, for answers the server gives
    /// itself (such as a refusal when it is too busy).
    pub fn route_info(&self, op: usize) -> Option<RouteInfo> {
        let state = self.ops.get(op)?;
        Some(RouteInfo {
            op,
            template: state.template.clone(),
            operation_id: state.operation_id.clone(),
        })
    }

    /// A fingerprint of the description and the seed: a cache shared by several instances
    /// keeps the entries of each apart unless both are the same.
    pub fn fingerprint(&self) -> u64 {
        let text = serde_json::to_string(&*self.api.root).unwrap_or_default();
        stable_hash((self.options.seed, text))
    }

    pub(crate) fn security(&self, op: usize) -> &crate::auth::OpSecurity {
        &self.ops[op].security
    }

    /// Operations that share method and path with an earlier one and are never served, as
    /// `(shadowed, kept)` indexes.
    pub fn shadowed(&self) -> &[(usize, usize)] {
        self.router.shadowed()
    }

    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    fn context(&self, direction: Direction) -> SchemaContext<'_> {
        SchemaContext {
            root: &self.api.root,
            legacy: self.api.version.is_legacy_schema_dialect(),
            direction,
        }
    }

    /// Answers one request: [`Engine::route`] then [`Engine::respond_routed`].
    pub fn respond(&self, req: &MockRequest<'_>) -> MockResponse {
        self.respond_routed(self.route(req.method, req.path), req)
    }

    /// Finds where a request goes without looking at its headers or body, so that a server
    /// can learn the operation (for per-route figures, or to answer without reading the
    /// body) and route only once.
    pub fn route(&self, method: &http::Method, path: &str) -> Routed {
        let wire = Method::from_wire(method.as_str());
        let lookup = |m: Method| self.router.lookup(m, path);
        let (found, head_as_get) = match wire {
            Some(m) => match lookup(m) {
                // HEAD is answered like GET without a body when only GET is declared.
                RouteMatch::MethodNotAllowed { allow }
                    if m == Method::Head && allow.contains(&Method::Get) =>
                {
                    (lookup(Method::Get), true)
                }
                other => (other, false),
            },
            None => match self.router.methods_at(path) {
                Some(allow) => (RouteMatch::MethodNotAllowed { allow }, false),
                None => (RouteMatch::NotFound, false),
            },
        };
        Routed {
            found,
            no_body: head_as_get || wire == Some(Method::Head),
        }
    }

    /// Answers a request routed by [`Engine::route`] with the same method and path.
    pub fn respond_routed(&self, routed: Routed, req: &MockRequest<'_>) -> MockResponse {
        match self.respond_deferred(routed, req, false) {
            (response, None) => response,
            (mut response, Some(pending)) => {
                response.body = self.generate(&pending);
                response
            }
        }
    }

    /// [`Engine::respond_routed`], except that with `defer` a body generated per request
    /// is not built: the response comes with an empty body and the [`Pending`] work, for
    /// the caller to fill from a cache or with [`Engine::generate`]. Everything else
    /// (validation, the choice of response, its status and headers) is done.
    pub fn respond_deferred(
        &self,
        routed: Routed,
        req: &MockRequest<'_>,
        defer: bool,
    ) -> (MockResponse, Option<Pending>) {
        let Routed { found, no_body } = routed;
        let mut pending = None;
        let mut response = match found {
            RouteMatch::Found { op, params } => {
                let (response, deferred) = self.respond_to(op, &params, req, defer && !no_body);
                pending = deferred;
                response
            }
            RouteMatch::NotFound => problem(
                StatusCode::NOT_FOUND,
                &format!("no operation is declared for path '{}'", req.path),
                None,
            ),
            RouteMatch::MethodNotAllowed { allow } => {
                let list: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
                let mut resp = problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!(
                        "method {} is not declared for path '{}'; declared: {}",
                        req.method,
                        req.path,
                        list.join(", ")
                    ),
                    None,
                );
                if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
                    resp.headers.insert(header::ALLOW, value);
                }
                resp
            }
            RouteMatch::BadEncoding { segment } => problem(
                StatusCode::BAD_REQUEST,
                &format!("path segment '{segment}' is not valid percent-encoded UTF-8"),
                None,
            ),
        };
        if no_body {
            response.body = Bytes::new();
        }
        (response, pending)
    }

    /// The body of a deferred response.
    pub fn generate(&self, pending: &Pending) -> Bytes {
        self.body(
            pending.op,
            pending.resp_index,
            pending.media_index,
            pending.seed,
            false,
        )
    }

    /// The answer a runtime rule gives: its own body when it has one; else, for a status,
    /// the operation's response declared for it (example or generated data), else an empty
    /// body. The rule's headers go on top. Requests are not validated: the rule decides.
    pub(crate) fn shaped(
        &self,
        routed: Routed,
        req: &MockRequest<'_>,
        status: Option<StatusCode>,
        body: Option<&crate::runtime::RuleBody>,
        headers: &HeaderMap,
    ) -> MockResponse {
        let found = match &routed.found {
            RouteMatch::Found { op, params } => Some((*op, params.as_slice())),
            _ => None,
        };
        let route = found.and_then(|(op, _)| self.route_info(op));
        let default_status = || {
            found
                .and_then(|(op, _)| self.ops[op].default_response)
                .zip(found)
                .map_or(StatusCode::OK, |(i, (op, _))| {
                    self.ops[op].responses[i].status
                })
        };
        let mut response = match (body, status, found) {
            (Some(body), status, _) => {
                let mut own = HeaderMap::new();
                own.insert(header::CONTENT_TYPE, body.content_type.clone());
                MockResponse {
                    status: status.unwrap_or_else(default_status),
                    headers: own,
                    body: body.bytes.clone(),
                    route: None,
                }
            }
            (None, Some(status), Some((op, params))) => {
                let prefs = Preferences {
                    code: Some(status.as_u16()),
                    ..Preferences::default()
                };
                match self.choose_response(op, &prefs) {
                    Ok(Some((resp_index, _))) => {
                        let accept = req
                            .headers
                            .get(header::ACCEPT)
                            .and_then(|v| v.to_str().ok());
                        let seed = stable_hash((self.options.seed, op, params));
                        self.render(op, resp_index, status, accept, &prefs, seed)
                    }
                    _ => empty_response(status),
                }
            }
            (None, Some(status), None) => empty_response(status),
            (None, None, _) => return self.respond_routed(routed, req),
        };
        crate::runtime::overlay(&mut response.headers, headers);
        response.route = route;
        if routed.no_body {
            response.body = Bytes::new();
        }
        response
    }

    /// The headers declared for response `resp_index` of operation `index`, built once.
    pub(crate) fn declared_headers(&self, index: usize, resp_index: usize) -> HeaderMap {
        let declared = &self.api.operations[index].responses[resp_index];
        self.ops[index].responses[resp_index]
            .headers
            .get_or_init(|| {
                self.build_headers(
                    declared,
                    stable_hash((self.options.seed, index, resp_index)),
                )
            })
            .clone()
    }

    /// The response sent by default (first 2xx, else `default`, else the first), with the
    /// status it is sent with.
    pub(crate) fn default_choice(&self, index: usize) -> Option<(usize, StatusCode)> {
        let state = &self.ops[index];
        state
            .default_response
            .map(|i| (i, state.responses[i].status))
    }

    /// The media types declared for response `resp_index` of operation `index`.
    pub(crate) fn response_media(&self, index: usize, resp_index: usize) -> &[String] {
        &self.ops[index].responses[resp_index].media
    }

    /// Builds now what the first requests would otherwise build: for every operation, the
    /// default response's headers and its fixed bodies (examples, and data generated for
    /// routes without parameters). The server runs it on a background thread right after
    /// it starts listening, so start-up stays fast and the first request to a route does not
    /// pay for it. Calling it is optional; answers are the same either way. Validators are
    /// left to first use: compiled, they hold the schemas they reach, which for a large
    /// description costs far more memory than its bodies.
    pub fn prewarm(&self) {
        for (index, state) in self.ops.iter().enumerate() {
            let Some(resp_index) = state.default_response else {
                continue;
            };
            let declared = &self.api.operations[index].responses[resp_index];
            let response = &state.responses[resp_index];
            response.headers.get_or_init(|| {
                self.build_headers(
                    declared,
                    stable_hash((self.options.seed, index, resp_index)),
                )
            });
            let no_content = response.status.is_informational()
                || matches!(response.status.as_u16(), 204 | 205 | 304);
            if no_content {
                continue;
            }
            // The seed a parameterless route's request gets (see `respond_to`).
            let no_params: &[(String, String)] = &[];
            let seed = stable_hash((self.options.seed, index, no_params));
            for media_index in 0..declared.content.len() {
                let media = &declared.content[media_index];
                let has_example = media.example.is_some()
                    || !media.examples.is_empty()
                    || media
                        .schema
                        .as_ref()
                        .and_then(|s| schema_example(s, &self.api.root))
                        .is_some();
                if has_example || state.literal {
                    self.body(index, resp_index, media_index, seed, false);
                }
            }
        }
    }

    fn respond_to(
        &self,
        index: usize,
        params: &[(String, String)],
        req: &MockRequest<'_>,
        defer: bool,
    ) -> (MockResponse, Option<Pending>) {
        match self.check(index, params, req) {
            Ok(prefs) => self.respond_checked_deferred(index, params, req, &prefs, defer),
            Err(rejection) => (*rejection, None),
        }
    }

    /// Reads the client's `Prefer` and validates the request against operation `index`; an
    /// error is the answer to send (a 400, or the operation's own 422/400).
    pub(crate) fn check(
        &self,
        index: usize,
        params: &[(String, String)],
        req: &MockRequest<'_>,
    ) -> Result<Preferences, Box<MockResponse>> {
        let op = &self.api.operations[index];
        let state = &self.ops[index];
        let with_route = |mut resp: MockResponse| {
            resp.route = self.route_info(index);
            Box::new(resp)
        };
        let prefer = req
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let prefs = match Preferences::parse(prefer) {
            Ok(prefs) => prefs,
            Err(message) => {
                return Err(with_route(problem(StatusCode::BAD_REQUEST, &message, None)));
            }
        };

        if self.options.validate {
            let validator = state
                .validator
                .get_or_init(|| OperationValidator::new(op, self.context(Direction::Request)));
            let named: Vec<(&str, String)> = params
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            let parts = RequestParts {
                path_params: &named,
                query: req.query,
                headers: req.headers,
                body: req.body,
            };
            let rejected = match validator.validate(parts) {
                Verdict::Valid => None,
                Verdict::Malformed(violations) => Some((
                    StatusCode::BAD_REQUEST,
                    "the request is malformed",
                    violations,
                )),
                Verdict::UnsupportedMediaType(violations) => Some((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "the request body's media type is not declared",
                    violations,
                )),
                Verdict::Invalid(violations) => Some((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the request does not match the description",
                    violations,
                )),
            };
            if let Some((status, detail, violations)) = rejected {
                let accept = req
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok());
                return Err(with_route(self.rejection(
                    index,
                    status,
                    detail,
                    &violations,
                    accept,
                )));
            }
        }
        Ok(prefs)
    }

    /// The description's answer to a request that passed [`Engine::check`]; with `defer`, a
    /// body generated per request is left to the caller (see [`Engine::respond_deferred`]).
    pub(crate) fn respond_checked_deferred(
        &self,
        index: usize,
        params: &[(String, String)],
        req: &MockRequest<'_>,
        prefs: &Preferences,
        defer: bool,
    ) -> (MockResponse, Option<Pending>) {
        let route = self.route_info(index).expect("a routed operation exists");
        let accept = req
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let with_route = |mut resp: MockResponse| {
            resp.route = Some(route.clone());
            (resp, None)
        };
        let seed_path = stable_hash((self.options.seed, index, params));
        let chosen = match self.choose_response(index, prefs) {
            Ok(chosen) => chosen,
            Err(message) => return with_route(problem(StatusCode::BAD_REQUEST, &message, None)),
        };
        let Some((resp_index, status)) = chosen else {
            // An operation without responses: an empty success.
            return with_route(MockResponse {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                body: Bytes::new(),
                route: None,
            });
        };
        let seed = if prefs.dynamic {
            stable_hash((seed_path, req.nonce))
        } else {
            seed_path
        };
        let (mut resp, pending) =
            self.render_deferred(index, resp_index, status, accept, prefs, seed, defer);
        resp.route = Some(route);
        (resp, pending)
    }

    /// The response index and status to send: the client's `Prefer: code` or `example`
    /// when given, else the default choice.
    fn choose_response(
        &self,
        index: usize,
        prefs: &Preferences,
    ) -> Result<Option<(usize, StatusCode)>, String> {
        let op = &self.api.operations[index];
        let state = &self.ops[index];
        if let Some(code) = prefs.code {
            let exact = op
                .responses
                .iter()
                .position(|r| r.status == StatusKey::Code(code));
            let covering = exact
                .or_else(|| {
                    op.responses
                        .iter()
                        .position(|r| r.status == StatusKey::Range((code / 100) as u8))
                })
                .or_else(|| {
                    op.responses
                        .iter()
                        .position(|r| r.status == StatusKey::Default)
                });
            return match covering {
                Some(i) => Ok(Some((
                    i,
                    StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
                ))),
                None => Err(format!(
                    "prefer code={code} is not declared for {} {}; declared: {}",
                    op.method.as_str(),
                    op.path,
                    declared_codes(op)
                )),
            };
        }
        if let Some(name) = &prefs.example {
            let default = state.default_response;
            // The default response first, then any other that has the example.
            let order = default
                .into_iter()
                .chain((0..op.responses.len()).filter(|i| Some(*i) != default));
            for i in order {
                if op.responses[i]
                    .content
                    .iter()
                    .any(|m| m.examples.iter().any(|(n, _)| n == name))
                {
                    return Ok(Some((i, state.responses[i].status)));
                }
            }
            let names: Vec<&str> = op
                .responses
                .iter()
                .flat_map(|r| {
                    r.content
                        .iter()
                        .flat_map(|m| m.examples.iter().map(|(n, _)| n.as_str()))
                })
                .collect();
            return Err(format!(
                "prefer example='{name}' is not declared for {} {}; declared: {}",
                op.method.as_str(),
                op.path,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
        Ok(state
            .default_response
            .map(|i| (i, state.responses[i].status)))
    }

    /// The operation's own 422 or 400 response when it declares one, else a problem listing
    /// every violation.
    fn rejection(
        &self,
        index: usize,
        status: StatusCode,
        detail: &str,
        violations: &[crate::validate::Violation],
        accept: Option<&str>,
    ) -> MockResponse {
        let op = &self.api.operations[index];
        // An invalid request may get the operation's 400 when it declares no 422. Malformed
        // input is always a 400 and a 415 only ever the operation's own 415: anything else
        // would hide the cause.
        let fallbacks: &[u16] = if status == StatusCode::UNPROCESSABLE_ENTITY {
            &[400]
        } else {
            &[]
        };
        let own = std::iter::once(status.as_u16())
            .chain(fallbacks.iter().copied())
            .find_map(|code| {
                op.responses
                    .iter()
                    .position(|r| r.status == StatusKey::Code(code))
                    .map(|i| (i, code))
            });
        if let Some((resp_index, code)) = own {
            let status = StatusCode::from_u16(code).unwrap_or(status);
            let seed = stable_hash((self.options.seed, index, "rejection"));
            let resp = self.render(
                index,
                resp_index,
                status,
                accept,
                &Preferences::default(),
                seed,
            );
            if resp.status != StatusCode::NOT_ACCEPTABLE {
                // The description's own error body says nothing of what was wrong: the
                // violations travel in a header, as compact JSON.
                let mut resp = resp;
                if let Ok(list) = serde_json::to_string(violations)
                    && let Ok(value) = HeaderValue::from_str(&truncate_header(list))
                {
                    resp.headers.insert(VIOLATIONS_HEADER, value);
                }
                return resp;
            }
        }
        let list = serde_json::to_value(violations).unwrap_or(Value::Null);
        problem(status, detail, Some(("errors", list)))
    }

    /// Builds the response `resp_index` of operation `index` with `status`.
    pub(crate) fn render(
        &self,
        index: usize,
        resp_index: usize,
        status: StatusCode,
        accept: Option<&str>,
        prefs: &Preferences,
        seed: u64,
    ) -> MockResponse {
        self.render_deferred(index, resp_index, status, accept, prefs, seed, false)
            .0
    }

    /// [`Engine::render`]; with `defer`, a body generated per request is left to the
    /// caller (see [`Engine::respond_deferred`]).
    #[allow(clippy::too_many_arguments)]
    fn render_deferred(
        &self,
        index: usize,
        resp_index: usize,
        status: StatusCode,
        accept: Option<&str>,
        prefs: &Preferences,
        seed: u64,
        defer: bool,
    ) -> (MockResponse, Option<Pending>) {
        let op = &self.api.operations[index];
        let declared = &op.responses[resp_index];
        let state = &self.ops[index].responses[resp_index];
        let mut headers = state
            .headers
            .get_or_init(|| {
                self.build_headers(
                    declared,
                    stable_hash((self.options.seed, index, resp_index)),
                )
            })
            .clone();
        // 1xx, 204, 205 and 304 carry no content in HTTP, whatever the description says.
        let no_content = status.is_informational() || matches!(status.as_u16(), 204 | 205 | 304);
        if declared.content.is_empty() || no_content {
            let response = MockResponse {
                status,
                headers,
                body: Bytes::new(),
                route: None,
            };
            return (response, None);
        }
        let Some(media_index) = choose(accept, &state.media) else {
            let response = problem(
                StatusCode::NOT_ACCEPTABLE,
                &format!(
                    "no declared media type fits accept '{}'; declared: {}",
                    accept.unwrap_or(""),
                    state.media.join(", ")
                ),
                None,
            );
            return (response, None);
        };
        let media = &declared.content[media_index];
        let content_type = content_type_for(&media.media_type);
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        if defer && prefs.example.is_none() && !prefs.dynamic && self.per_request(index, media) {
            let pending = Pending {
                op: index,
                resp_index,
                media_index,
                seed,
            };
            let response = MockResponse {
                status,
                headers,
                body: Bytes::new(),
                route: None,
            };
            return (response, Some(pending));
        }
        let body = if let Some(name) = &prefs.example {
            match media.examples.iter().find(|(n, _)| n == name) {
                Some((_, value)) => self.encode(&content_type, value, media),
                None => self.body(index, resp_index, media_index, seed, prefs.dynamic),
            }
        } else {
            self.body(index, resp_index, media_index, seed, prefs.dynamic)
        };
        let response = MockResponse {
            status,
            headers,
            body,
            route: None,
        };
        (response, None)
    }

    /// Whether a media type's body is generated for each request: no declared example and
    /// a route with parameters (bodies of literal routes are built once and kept).
    fn per_request(&self, index: usize, media: &MediaType) -> bool {
        let declared = media.example.is_some()
            || !media.examples.is_empty()
            || media
                .schema
                .as_ref()
                .and_then(|s| schema_example(s, &self.api.root))
                .is_some();
        !declared && !self.ops[index].literal
    }

    /// The body for a media type: example, first named example, schema example, else
    /// generated data.
    fn body(
        &self,
        index: usize,
        resp_index: usize,
        media_index: usize,
        seed: u64,
        dynamic: bool,
    ) -> Bytes {
        let media = &self.api.operations[index].responses[resp_index].content[media_index];
        let content_type = content_type_for(&media.media_type);
        let declared = media
            .example
            .as_ref()
            .or_else(|| media.examples.first().map(|(_, v)| v))
            .or_else(|| {
                media
                    .schema
                    .as_ref()
                    .and_then(|s| schema_example(s, &self.api.root))
            });
        let fixed = &self.ops[index].responses[resp_index].fixed[media_index];
        if let Some(value) = declared {
            return fixed
                .get_or_init(|| self.encode(&content_type, value, media))
                .clone();
        }
        let generate = |seed| {
            let value = match &media.schema {
                Some(schema) => {
                    Generator::with_cache(self.context(Direction::Response), &self.gen_cache)
                        .generate(schema, seed)
                }
                None => Value::Null,
            };
            if value.is_null() && media.schema.is_none() && media::is_json(&content_type) {
                return Bytes::new();
            }
            self.encode(&content_type, &value, media)
        };
        if self.ops[index].literal && !dynamic {
            fixed.get_or_init(|| generate(seed)).clone()
        } else {
            generate(seed)
        }
    }

    fn encode(&self, content_type: &str, value: &Value, media: &MediaType) -> Bytes {
        media::encode_body(
            content_type,
            value,
            media.schema.as_ref(),
            self.context(Direction::Response),
        )
    }

    fn build_headers(&self, declared: &spec::Response, seed: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let generator = Generator::with_cache(self.context(Direction::Response), &self.gen_cache);
        for (i, h) in declared.headers.iter().enumerate() {
            let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
                continue;
            };
            if is_managed_header(&name) {
                continue;
            }
            let value = match (&h.example, &h.schema) {
                (Some(example), _) => example.clone(),
                (None, Some(schema)) => generator.generate(schema, stable_hash((seed, i))),
                (None, None) => Value::String(String::new()),
            };
            if let Ok(value) = HeaderValue::from_str(&header_text(&value)) {
                headers.append(name, value);
            }
        }
        headers
    }
}

/// Headers the server sets itself; a description declaring them must not break framing.
fn is_managed_header(name: &HeaderName) -> bool {
    [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
    ]
    .contains(name)
}

/// The `Content-Type` sent for a declared media type. Wildcards cannot be sent as they are.
pub(crate) fn content_type_for(declared: &str) -> String {
    let essence = crate::negotiate::essence(declared);
    match essence.as_str() {
        "*/*" | "" => "application/json".to_owned(),
        "text/*" => "text/plain".to_owned(),
        "image/*" => "image/png".to_owned(),
        "application/*" => "application/octet-stream".to_owned(),
        _ => declared.trim().to_owned(),
    }
}

/// A header value in the simple style: arrays joined by commas, objects as `k,v` pairs.
fn header_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(header_text).collect::<Vec<_>>().join(","),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| [k.clone(), header_text(v)])
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// A schema's own `example`, following a top-level `$ref`.
fn schema_example<'a>(schema: &'a Value, root: &'a Value) -> Option<&'a Value> {
    let mut current = schema;
    for _ in 0..16 {
        if let Some(example) = current.get("example") {
            return Some(example);
        }
        let reference = current.get("$ref")?.as_str()?;
        current = spec::resolve_ref(root, reference)?;
    }
    None
}

/// Header that lists the violations when the operation's own 400/422 is sent.
pub const VIOLATIONS_HEADER: &str = "x-mockloop-violations";

/// A header value from JSON text: non-ASCII characters become `\u` escapes (still valid
/// JSON), and the value stays under 4 KiB, a size every client and proxy accepts.
fn truncate_header(json: String) -> String {
    const LIMIT: usize = 4096;
    let mut text = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            text.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                text.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    if text.len() > LIMIT {
        let mut cut = LIMIT - 3;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

fn declared_codes(op: &Operation) -> String {
    op.responses
        .iter()
        .map(|r| r.status.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON body of a problem detail, for tests.
#[cfg(test)]
fn body_json(resp: &MockResponse) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests;
