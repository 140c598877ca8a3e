//! Rules that change the mock while it runs: overrides, the active scenario, latency and
//! faults, compiled into one immutable [`Rules`] snapshot that the server swaps as a whole.
//!
//! Precedence, first match wins: overrides (newest first), then the active scenario's
//! endpoints (in order), then the stateful store of resources when there is one (see
//! [`crate::state`]), then the description's examples or generated data.
//!
//! Compiling does the work once: route templates are resolved to operation indexes, so a
//! request matches them by comparing the index the router already found; globs and regular
//! expressions are compiled; bodies and headers are encoded. A request with no rules pays
//! one emptiness check.
//!
//! Randomness (fault rates, delay distributions) comes from the seed and the request's
//! nonce, so a run with the same seed and the same request order behaves the same.

mod shape;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use globset::GlobMatcher;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use regex::Regex;
use serde_json::Value;

pub use shape::{
    DelaySpec, EndpointConfig, FaultSpec, GlobalFaults, OverrideSpec, ResponseConfig, Scenario,
};

use crate::respond::Engine;

/// Longest delay a rule can produce; a log-normal tail must not hold a request for days.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// A rule that cannot be used, with the field at fault (`endpoints[1].path`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

impl RuleError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> RuleError {
        RuleError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error seen from an enclosing value: `prefix` goes before the field.
    pub fn within(mut self, prefix: &str) -> RuleError {
        self.field = match (prefix.is_empty(), self.field.is_empty()) {
            (true, _) => self.field,
            (false, true) => prefix.to_owned(),
            (false, false) if self.field.starts_with('[') => format!("{prefix}{}", self.field),
            (false, false) => format!("{prefix}.{}", self.field),
        };
        self
    }
}

/// Which layer answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The override with this id.
    Override(u64),
    /// The active scenario's endpoint at this index.
    Scenario(usize),
    /// The stateful store of resources.
    State,
    /// The description: its examples or generated data.
    Description,
}

/// How the server delivers an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole response at once.
    Whole,
    /// Close the connection without answering (HTTP/2: reset the stream).
    Reset,
    /// Send the body at this many bytes per second.
    Slow { bytes_per_second: u64 },
}

/// The engine's answer under a set of rules: the response and how to deliver it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub response: crate::MockResponse,
    /// Wait this long before answering.
    pub delay: Duration,
    pub delivery: Delivery,
    /// The fault that fired, by name, for the request log.
    pub fault: Option<&'static str>,
    pub layer: Layer,
    /// The rule that matched, for the request log: `override:3`, `scenario:0` (the
    /// endpoint's index).
    pub rule: Option<Arc<str>>,
}

impl Answer {
    /// An answer from the description alone, delivered whole at once.
    pub fn plain(response: crate::MockResponse) -> Answer {
        Answer {
            response,
            delay: Duration::ZERO,
            delivery: Delivery::Whole,
            fault: None,
            layer: Layer::Description,
            rule: None,
        }
    }
}

/// Which requests a rule applies to.
#[derive(Debug)]
enum Target {
    /// Operations whose route template the rule names (parameter names aside).
    Ops(Vec<usize>),
    /// One concrete path, also when reached under a base path.
    Path(String),
    Glob(GlobMatcher),
    Regex(Regex),
}

/// A compiled delay.
#[derive(Debug, Clone)]
enum Delay {
    Fixed(Duration),
    /// Microseconds, both ends included.
    Uniform(u64, u64),
    LogNormal {
        distribution: LogNormal<f64>,
        max_ms: Option<u64>,
    },
}

impl Delay {
    fn compile(spec: &DelaySpec) -> Result<Delay, String> {
        spec.check()?;
        Ok(match *spec {
            DelaySpec::Fixed { ms } => Delay::Fixed(Duration::from_millis(ms).min(MAX_DELAY)),
            DelaySpec::Uniform { min_ms, max_ms } => {
                Delay::Uniform(min_ms.saturating_mul(1000), max_ms.saturating_mul(1000))
            }
            DelaySpec::Lognormal {
                median_ms,
                sigma,
                max_ms,
            } => Delay::LogNormal {
                distribution: LogNormal::new(median_ms.ln(), sigma)
                    .map_err(|e| format!("invalid lognormal delay: {e}"))?,
                max_ms,
            },
        })
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        let delay = match self {
            Delay::Fixed(duration) => *duration,
            Delay::Uniform(min, max) => Duration::from_micros(rng.random_range(*min..=*max)),
            Delay::LogNormal {
                distribution,
                max_ms,
            } => {
                let mut ms = distribution.sample(rng);
                if let Some(max) = max_ms {
                    ms = ms.min(*max as f64);
                }
                Duration::from_secs_f64((ms / 1000.0).clamp(0.0, MAX_DELAY.as_secs_f64()))
            }
        };
        delay.min(MAX_DELAY)
    }
}

/// A compiled fault.
#[derive(Debug, Clone)]
struct Fault {
    rate: f64,
    name: &'static str,
    kind: FaultKind,
}

#[derive(Debug, Clone)]
enum FaultKind {
    Error {
        status: StatusCode,
        body: Option<RuleBody>,
    },
    Reset,
    Empty,
    Slow {
        bytes_per_second: u64,
    },
}

impl Fault {
    fn compile(spec: &FaultSpec) -> Result<Fault, RuleError> {
        spec.check().map_err(|m| RuleError::new("", m))?;
        let kind = match spec {
            FaultSpec::Error { status, body, .. } => FaultKind::Error {
                status: StatusCode::from_u16(*status)
                    .map_err(|_| RuleError::new("status", format!("{status} is not a status")))?,
                body: body.as_ref().map(RuleBody::from_value),
            },
            FaultSpec::Reset { .. } => FaultKind::Reset,
            FaultSpec::Empty { .. } => FaultKind::Empty,
            FaultSpec::SlowBody {
                bytes_per_second, ..
            } => FaultKind::Slow {
                bytes_per_second: *bytes_per_second,
            },
        };
        Ok(Fault {
            rate: spec.rate(),
            name: spec.name(),
            kind,
        })
    }

    /// Draws whether the fault fires for this request. A draw is made whatever the rate, so
    /// that the draws after it do not depend on the rate.
    fn fires(&self, rng: &mut ChaCha8Rng) -> bool {
        let draw: f64 = rng.random();
        draw < self.rate
    }
}

/// A body a rule sends, encoded once.
#[derive(Debug, Clone)]
pub(crate) struct RuleBody {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: HeaderValue,
}

impl RuleBody {
    /// A string is sent as it is (text); anything else as JSON.
    fn from_value(value: &Value) -> RuleBody {
        match value {
            Value::String(text) => RuleBody {
                bytes: Bytes::from(text.clone()),
                content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
            },
            other => RuleBody {
                bytes: Bytes::from(serde_json::to_vec(other).unwrap_or_default()),
                content_type: HeaderValue::from_static("application/json"),
            },
        }
    }
}

/// One compiled override or scenario endpoint.
#[derive(Debug)]
pub struct Rule {
    layer: Layer,
    /// How the log names this rule.
    label: Arc<str>,
    /// `None` for any method.
    method: Option<http::Method>,
    target: Target,
    status: Option<StatusCode>,
    headers: HeaderMap,
    body: Option<RuleBody>,
    delay: Option<Delay>,
    fault: Option<Fault>,
}

impl Rule {
    /// Whether this rule changes the response itself rather than only its timing or delivery.
    fn shapes_response(&self) -> bool {
        self.status.is_some() || self.body.is_some()
    }

    fn matches(
        &self,
        method: &http::Method,
        op: Option<usize>,
        path: &str,
        bases: &[String],
    ) -> bool {
        let method_ok = match &self.method {
            None => true,
            Some(m) => m == method || (*m == http::Method::GET && method == http::Method::HEAD),
        };
        if !method_ok {
            return false;
        }
        let test = |candidate: &str| match &self.target {
            Target::Ops(_) => false,
            Target::Path(p) => p == candidate,
            Target::Glob(glob) => glob.is_match(candidate),
            Target::Regex(regex) => regex.is_match(candidate),
        };
        match &self.target {
            Target::Ops(ops) => op.is_some_and(|op| ops.contains(&op)),
            _ => test(path) || without_base(path, bases).is_some_and(test),
        }
    }
}

/// `path` without the first base path it starts with.
pub(crate) fn without_base<'p>(path: &'p str, bases: &[String]) -> Option<&'p str> {
    bases.iter().find_map(|base| {
        let base = base.trim_end_matches('/');
        let rest = path.strip_prefix(base)?;
        if base.is_empty() {
            return None;
        }
        match rest {
            "" => Some("/"),
            rest if rest.starts_with('/') => Some(rest),
            _ => None,
        }
    })
}

/// Global latency and fault, compiled.
#[derive(Debug, Default, Clone)]
pub struct GlobalPlan {
    delay: Option<Delay>,
    fault: Option<Fault>,
}

/// Everything that shapes answers at one moment: overrides, the active scenario and global
/// faults. Immutable; the server replaces the whole snapshot on every change.
#[derive(Debug, Default)]
pub struct Rules {
    /// Overrides newest first, then the scenario's endpoints in order.
    rules: Vec<Arc<Rule>>,
    scenario: Arc<str>,
    global: GlobalPlan,
    /// Auth emulation's policy when it is on. Checked by the server before the rules, as
    /// a gateway in front of the API would.
    auth: Option<Arc<crate::auth::AuthPolicy>>,
}

impl Rules {
    /// A snapshot of `overrides` (newest first), the active scenario (its name and rules)
    /// and the global plan.
    pub fn new(
        overrides: impl IntoIterator<Item = Arc<Rule>>,
        scenario: Option<(Arc<str>, Vec<Arc<Rule>>)>,
        global: GlobalPlan,
    ) -> Rules {
        let mut rules: Vec<Arc<Rule>> = overrides.into_iter().collect();
        let name = match scenario {
            Some((name, endpoints)) => {
                rules.extend(endpoints);
                name
            }
            None => Arc::from(""),
        };
        Rules {
            rules,
            scenario: name,
            global,
            auth: None,
        }
    }

    /// The same rules with auth emulation on under `policy`, or off.
    pub fn with_auth(mut self, policy: Option<Arc<crate::auth::AuthPolicy>>) -> Rules {
        self.auth = policy;
        self
    }

    /// Auth emulation's policy; None when it is off.
    pub fn auth(&self) -> Option<&crate::auth::AuthPolicy> {
        self.auth.as_deref()
    }

    /// True when no rule and no global fault exists: requests are answered as described.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.global.delay.is_none() && self.global.fault.is_none()
    }

    /// The active scenario's name; empty when none is active.
    pub fn scenario(&self) -> &Arc<str> {
        &self.scenario
    }

    fn find(
        &self,
        method: &http::Method,
        op: Option<usize>,
        path: &str,
        bases: &[String],
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .map(|rule| &**rule)
            .find(|rule| rule.matches(method, op, path, bases))
    }
}

/// What a rule's parts are, whichever shape they came in.
struct RuleParts<'a> {
    method: Option<&'a str>,
    path: &'a str,
    status: Option<u16>,
    headers: &'a indexmap::IndexMap<String, String>,
    body: Option<&'a Value>,
    delay: Option<DelaySpec>,
    fault: Option<&'a FaultSpec>,
    /// Where the response fields sit in the shape: `""` or `"response_config."`.
    prefix: &'static str,
    /// The status field's name in the shape.
    status_name: &'static str,
}

impl Engine {
    /// Compiles an override; its errors name the field.
    pub fn compile_override(&self, id: u64, spec: &OverrideSpec) -> Result<Rule, RuleError> {
        self.compile_rule(
            Layer::Override(id),
            RuleParts {
                method: spec.method.as_deref(),
                path: &spec.path,
                status: spec.status,
                headers: &spec.headers,
                body: spec.body.as_ref(),
                delay: spec.delay.clone(),
                fault: spec.fault.as_ref(),
                prefix: "",
                status_name: "status",
            },
        )
    }

    /// Compiles every endpoint of a scenario; errors name the endpoint and field
    /// (`endpoints[2].response_config.status_code`).
    pub fn compile_scenario(&self, scenario: &Scenario) -> Result<Vec<Arc<Rule>>, RuleError> {
        scenario
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| {
                let config = &endpoint.response_config;
                let delay = match (config.response_time_ms, &config.delay) {
                    (Some(_), Some(_)) => {
                        return Err(RuleError::new(
                            format!("endpoints[{i}].response_config.delay"),
                            "give response_time_ms or delay, not both",
                        ));
                    }
                    (Some(ms), None) => Some(DelaySpec::Fixed { ms }),
                    (None, delay) => delay.clone(),
                };
                let parts = RuleParts {
                    method: endpoint.method.as_deref(),
                    path: &endpoint.path,
                    status: config.status_code,
                    headers: &config.headers,
                    body: config.response_data.as_ref(),
                    delay,
                    fault: config.fault.as_ref(),
                    prefix: "response_config.",
                    status_name: "status_code",
                };
                self.compile_rule(Layer::Scenario(i), parts)
                    .map(Arc::new)
                    .map_err(|e| e.within(&format!("endpoints[{i}]")))
            })
            .collect()
    }

    /// Compiles global latency and fault.
    pub fn compile_global(&self, faults: &GlobalFaults) -> Result<GlobalPlan, RuleError> {
        Ok(GlobalPlan {
            delay: faults
                .delay
                .as_ref()
                .map(Delay::compile)
                .transpose()
                .map_err(|m| RuleError::new("delay", m))?,
            fault: faults
                .fault
                .as_ref()
                .map(Fault::compile)
                .transpose()
                .map_err(|e| e.within("fault"))?,
        })
    }

    fn compile_rule(&self, layer: Layer, parts: RuleParts<'_>) -> Result<Rule, RuleError> {
        let field = |name: &str| format!("{}{name}", parts.prefix);
        let method =
            match parts.method.map(str::trim) {
                None | Some("" | "*") => None,
                Some(name) => {
                    let upper = name.to_ascii_uppercase();
                    let known = spec::Method::from_wire(&upper).is_some();
                    if !known {
                        return Err(RuleError::new(
                            "method",
                            format!("unknown method '{name}': expected GET, POST, ... or *"),
                        ));
                    }
                    Some(http::Method::from_bytes(upper.as_bytes()).map_err(|_| {
                        RuleError::new("method", format!("unknown method '{name}'"))
                    })?)
                }
            };
        let target = self.target(parts.path)?;
        // A template only matches requests routed to its operations: a method none of them
        // declares would make a rule that never fires (such requests get 405 before any
        // rule is looked at), so it is refused rather than accepted silently.
        if let (Some(method), Target::Ops(ops)) = (&method, &target) {
            let declared: Vec<spec::Method> = ops
                .iter()
                .map(|&op| self.api().operations[op].method)
                .collect();
            let wanted = spec::Method::from_wire(method.as_str());
            let head_as_get =
                wanted == Some(spec::Method::Head) && declared.contains(&spec::Method::Get);
            if !head_as_get && !wanted.is_some_and(|m| declared.contains(&m)) {
                let names: Vec<&str> = declared.iter().map(|m| m.as_str()).collect();
                return Err(RuleError::new(
                    "method",
                    format!(
                        "{method} is not declared for '{}' (declared: {}); to answer requests \
                         the description does not route, use a glob or a regular expression \
                         as the path",
                        parts.path,
                        names.join(", ")
                    ),
                ));
            }
        }
        let status = parts
            .status
            .map(|code| {
                StatusCode::from_u16(code).map_err(|_| {
                    RuleError::new(
                        field(parts.status_name),
                        format!("{code} is not an HTTP status (100 to 999)"),
                    )
                })
            })
            .transpose()?;
        let mut headers = HeaderMap::new();
        for (name, value) in parts.headers {
            let at = || field(&format!("headers.{name}"));
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| RuleError::new(at(), "not a valid header name"))?;
            if [
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::CONNECTION,
                header::UPGRADE,
            ]
            .contains(&header_name)
            {
                return Err(RuleError::new(at(), "this header is set by the server"));
            }
            let header_value = HeaderValue::from_str(value)
                .map_err(|_| RuleError::new(at(), format!("'{value}' is not a valid value")))?;
            headers.append(header_name, header_value);
        }
        let delay = parts
            .delay
            .as_ref()
            .map(Delay::compile)
            .transpose()
            .map_err(|m| RuleError::new(field("delay"), m))?;
        let fault = parts
            .fault
            .map(Fault::compile)
            .transpose()
            .map_err(|e| e.within(&field("fault")))?;
        let label = match layer {
            Layer::Override(id) => format!("override:{id}"),
            Layer::Scenario(index) => format!("scenario:{index}"),
            Layer::State | Layer::Description => String::new(),
        };
        Ok(Rule {
            layer,
            label: Arc::from(label),
            method,
            target,
            status,
            headers,
            body: parts.body.map(RuleBody::from_value),
            delay,
            fault,
        })
    }

    /// Reads a rule's `path`: a regular expression when it starts with `^`, a glob when it
    /// holds `*`, a route template when it names one of the description's operations, and
    /// otherwise a concrete path. A template (with `{...}`) that names no operation is an
    /// error: it could never match.
    fn target(&self, path: &str) -> Result<Target, RuleError> {
        let path = path.trim();
        if path.is_empty() {
            return Err(RuleError::new("path", "must not be empty"));
        }
        if path.starts_with('^') {
            return Regex::new(path)
                .map(Target::Regex)
                .map_err(|e| RuleError::new("path", format!("invalid regular expression: {e}")));
        }
        if path.contains('*') {
            // `*` stays within a segment and `**` crosses them, as in shells.
            return globset::GlobBuilder::new(path)
                .literal_separator(true)
                .build()
                .map(|glob| Target::Glob(glob.compile_matcher()))
                .map_err(|e| RuleError::new("path", format!("invalid glob: {e}")));
        }
        if !path.starts_with('/') {
            return Err(RuleError::new(
                "path",
                format!("'{path}' must start with '/' (or '^' for a regular expression)"),
            ));
        }
        let bases = &self.api().base_paths;
        let key = template_key(path);
        let mut ops = self.ops_with_template(&key);
        if ops.is_empty()
            && let Some(rest) = without_base(path, bases)
        {
            ops = self.ops_with_template(&template_key(rest));
        }
        if !ops.is_empty() {
            return Ok(Target::Ops(ops));
        }
        if path.contains('{') {
            return Err(RuleError::new(
                "path",
                format!("route template '{path}' is not declared by the description"),
            ));
        }
        Ok(Target::Path(path.to_owned()))
    }

    /// Operations whose template, with parameter names dropped, is `key`.
    fn ops_with_template(&self, key: &str) -> Vec<usize> {
        self.api()
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| template_key(&op.path) == key)
            .map(|(i, _)| i)
            .collect()
    }

    /// Answers one request under `rules`: overrides, then the active scenario, then the
    /// description. Faults and delays come from the matching rule, else from the global
    /// plan.
    pub fn answer(&self, req: &crate::MockRequest<'_>, rules: &Rules) -> Answer {
        self.answer_routed(self.route(req.method, req.path), req, rules)
    }

    /// [`Engine::answer`] for a request already routed by [`Engine::route`] with the same
    /// method and path.
    pub fn answer_routed(
        &self,
        routed: crate::Routed,
        req: &crate::MockRequest<'_>,
        rules: &Rules,
    ) -> Answer {
        self.answer_with_state(routed, req, rules, None)
    }

    /// [`Engine::answer_routed`] with the stateful store of resources between the rules and
    /// the description: a request that no rule answers itself, to an operation of an
    /// inferred collection, is answered from `state`. With `state` None this is
    /// [`Engine::answer_routed`].
    pub fn answer_with_state(
        &self,
        routed: crate::Routed,
        req: &crate::MockRequest<'_>,
        rules: &Rules,
        state: Option<&crate::state::Resources>,
    ) -> Answer {
        match self.answer_deferred(routed, req, rules, state, false) {
            (answer, None) => answer,
            (mut answer, Some(pending)) => {
                answer.response.body = self.generate(&pending);
                answer
            }
        }
    }

    /// [`Engine::answer_with_state`]; with `defer`, an answer of the description (no rule
    /// matched, no fault fired, the store did not answer) whose body is generated per
    /// request comes without its body and with the [`crate::Pending`] work, as
    /// [`Engine::respond_deferred`] does.
    pub fn answer_deferred(
        &self,
        routed: crate::Routed,
        req: &crate::MockRequest<'_>,
        rules: &Rules,
        state: Option<&crate::state::Resources>,
        defer: bool,
    ) -> (Answer, Option<crate::Pending>) {
        if rules.is_empty() {
            let (response, answered, pending) = self.respond_layered(routed, req, state, defer);
            let mut answer = Answer::plain(response);
            if let (true, Some(state)) = (answered, state) {
                answer.layer = Layer::State;
                answer.rule = Some(state.label().clone());
            }
            return (answer, pending);
        }
        let op = routed.op();
        let rule = rules.find(req.method, op, req.path, &self.api().base_paths);
        let fault = rule
            .and_then(|r| r.fault.as_ref())
            .or(rules.global.fault.as_ref());
        let delay = rule
            .and_then(|r| r.delay.as_ref())
            .or(rules.global.delay.as_ref());
        // Seeded only when something is drawn; the fault's draw always comes first.
        let (fault, delay) = if fault.is_some() || delay.is_some() {
            let mut rng = ChaCha8Rng::seed_from_u64(crate::respond::stable_hash((
                self.options().seed,
                req.nonce,
                "runtime",
            )));
            (
                fault.filter(|fault| fault.fires(&mut rng)),
                delay.map_or(Duration::ZERO, |d| d.sample(&mut rng)),
            )
        } else {
            (None, Duration::ZERO)
        };
        let mut layer = rule.map_or(Layer::Description, |r| r.layer);
        let mut label = rule.map(|r| r.label.clone());
        let no_headers = HeaderMap::new();
        let rule_headers = rule.map_or(&no_headers, |r| &r.headers);
        let mut pending = None;
        let mut response = match (fault.map(|f| &f.kind), rule) {
            (Some(FaultKind::Error { status, body }), _) => {
                self.shaped(routed, req, Some(*status), body.as_ref(), &no_headers)
            }
            (_, Some(rule)) if rule.shapes_response() => {
                self.shaped(routed, req, rule.status, rule.body.as_ref(), rule_headers)
            }
            (_, Some(rule)) => {
                let (mut response, _, _) = self.respond_layered(routed, req, state, false);
                overlay(&mut response.headers, &rule.headers);
                response
            }
            (fired, None) => {
                // Only an answer no fault touches may leave its body to a cache.
                let defer = defer && fired.is_none();
                let (response, answered, deferred) =
                    self.respond_layered(routed, req, state, defer);
                pending = deferred;
                if let (true, Some(state)) = (answered, state) {
                    layer = Layer::State;
                    label = Some(state.label().clone());
                }
                response
            }
        };
        let delivery = match fault.map(|f| &f.kind) {
            Some(FaultKind::Reset) => Delivery::Reset,
            Some(FaultKind::Slow { bytes_per_second }) => Delivery::Slow {
                bytes_per_second: *bytes_per_second,
            },
            Some(FaultKind::Empty) => {
                response.body = Bytes::new();
                Delivery::Whole
            }
            _ => Delivery::Whole,
        };
        let answer = Answer {
            response,
            delay,
            delivery,
            fault: fault.map(|f| f.name),
            layer,
            rule: label,
        };
        (answer, pending)
    }

    /// The stateful store's answer when it has one for this request, else the
    /// description's (its body possibly deferred); true when the store answered.
    fn respond_layered(
        &self,
        routed: crate::Routed,
        req: &crate::MockRequest<'_>,
        state: Option<&crate::state::Resources>,
        defer: bool,
    ) -> (crate::MockResponse, bool, Option<crate::Pending>) {
        match state {
            None => {
                let (response, pending) = self.respond_deferred(routed, req, defer);
                (response, false, pending)
            }
            Some(state) => self.respond_with_state(routed, req, state, defer),
        }
    }
}

/// Sets every header of `extra` on `headers`, replacing values of the same name.
pub(crate) fn overlay(headers: &mut HeaderMap, extra: &HeaderMap) {
    for name in extra.keys() {
        headers.remove(name);
    }
    for (name, value) in extra {
        headers.append(name.clone(), value.clone());
    }
}

/// A route template without parameter names (`/books/{}`), so that `/books/{id}` names the
/// operation declared as `/books/{bookId}`.
pub(crate) fn template_key(path: &str) -> String {
    let mut key = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    key.push('{');
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    key.push('}');
                }
            }
            _ if depth > 0 => {}
            _ => key.push(c),
        }
    }
    if key.len() > 1 {
        key.truncate(key.trim_end_matches('/').len());
    }
    key
}

#[cfg(test)]
mod tests;
