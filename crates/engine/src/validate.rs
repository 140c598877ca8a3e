//! Request validation: parameters in every serialisation style, JSON, form and multipart
//! bodies, each failure reported with its location.
//!
//! An [`OperationValidator`] is built once per operation: it compiles every schema and
//! computes what string coercion needs ([`shape::Shape`]) up front, so that validating a
//! request only parses the request and runs compiled validators.

mod body;
pub(crate) mod percent;
pub(crate) mod shape;
pub(crate) mod style;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};
use serde::Serialize;
use serde_json::Value;
use spec::{Operation, ParamLocation, ParamStyle, Parameter};

use crate::schema::{Direction, SchemaContext, SchemaValidator, SchemaViolation};
use body::{BodyKind, Broken, MediaPattern, PropEncoding};
use shape::{Container, Raw, Shape, coerce};
use style::{Field, Fields, TooDeep};

/// The parts of a request validation reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Path parameter values as matched by the router, already percent-decoded, by name.
    pub path_params: &'a [(&'a str, String)],
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// One way a request breaks its description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Where: `path`, `query`, `header`, `cookie` or `body`.
    #[serde(rename = "in")]
    pub location: &'static str,
    /// The parameter name, or a JSON pointer into the body (empty for the body itself).
    pub name: String,
    pub message: String,
}

/// The outcome of validating a request. Every variant but `Valid` carries all violations
/// found, not just the one that decided the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// The request is malformed (bad percent-encoding, broken JSON or multipart): 400.
    Malformed(Vec<Violation>),
    /// The body's Content-Type is not one the operation declares: 415.
    UnsupportedMediaType(Vec<Violation>),
    /// The request is well-formed but breaks the description: 422.
    Invalid(Vec<Violation>),
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid)
    }

    /// Every violation found (empty when valid).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Verdict::Valid => &[],
            Verdict::Malformed(v) | Verdict::UnsupportedMediaType(v) | Verdict::Invalid(v) => v,
        }
    }

    /// The HTTP status the verdict calls for: 400, 415 or 422; `None` when valid.
    pub fn status(&self) -> Option<u16> {
        match self {
            Verdict::Valid => None,
            Verdict::Malformed(_) => Some(400),
            Verdict::UnsupportedMediaType(_) => Some(415),
            Verdict::Invalid(_) => Some(422),
        }
    }
}

/// How bad a violation is; the worst one decides the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Invalid,
    Unsupported,
    Malformed,
}

#[derive(Default)]
struct Report {
    violations: Vec<Violation>,
    worst: Option<Severity>,
}

impl Report {
    fn push(
        &mut self,
        severity: Severity,
        location: &'static str,
        name: impl Into<String>,
        message: String,
    ) {
        self.worst = self.worst.max(Some(severity));
        self.violations.push(Violation {
            location,
            name: name.into(),
            message,
        });
    }

    fn verdict(self) -> Verdict {
        match self.worst {
            None => Verdict::Valid,
            Some(Severity::Malformed) => Verdict::Malformed(self.violations),
            Some(Severity::Unsupported) => Verdict::UnsupportedMediaType(self.violations),
            Some(Severity::Invalid) => Verdict::Invalid(self.violations),
        }
    }
}

/// How a parameter's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Serialised in its style, coerced by its schema.
    Styled,
    /// `content` with a JSON media type: the value is JSON text.
    Json,
    /// `content` with another media type: the value is a plain string.
    Text,
}

struct ParamRule {
    name: String,
    location: ParamLocation,
    /// The lowercase header name, for header parameters with a valid name.
    header: Option<HeaderName>,
    required: bool,
    /// `allowEmptyValue`: `?flag=` is accepted whatever the schema says.
    allow_empty: bool,
    style: ParamStyle,
    explode: bool,
    content: Content,
    shape: Shape,
    validator: Option<SchemaValidator>,
}

struct BodyMedia {
    /// As declared, for messages.
    declared: String,
    pattern: MediaPattern,
    shape: Shape,
    encodings: Vec<PropEncoding>,
    validator: Option<SchemaValidator>,
}

struct BodyRule {
    required: bool,
    media: Vec<BodyMedia>,
}

/// Validates requests for one operation; build once, use for every request.
pub struct OperationValidator {
    params: Vec<ParamRule>,
    body: Option<BodyRule>,
    /// Key bases of the declared query parameters, so an exploded object does not swallow
    /// a sibling parameter.
    query_bases: Vec<String>,
    has_query: bool,
    has_cookie: bool,
    problems: Vec<String>,
}

/// OpenAPI 3 says header parameters with these names are ignored: the headers are governed
/// by content negotiation and security schemes instead.
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

impl OperationValidator {
    pub fn new(op: &Operation, ctx: SchemaContext<'_>) -> OperationValidator {
        let ctx = SchemaContext {
            direction: Direction::Request,
            ..ctx
        };
        let mut problems = Vec::new();
        let params: Vec<ParamRule> = op
            .parameters
            .iter()
            .filter_map(|p| ParamRule::new(p, ctx, &mut problems))
            .collect();
        let body = op.request_body.as_ref().map(|rb| BodyRule {
            required: rb.required,
            media: rb
                .content
                .iter()
                .map(|m| BodyMedia::new(m, ctx, &mut problems))
                .collect(),
        });
        let query_bases = params
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .map(|p| key_base(&p.name).to_owned())
            .collect();
        OperationValidator {
            has_query: params.iter().any(|p| p.location == ParamLocation::Query),
            has_cookie: params.iter().any(|p| p.location == ParamLocation::Cookie),
            params,
            body,
            query_bases,
            problems,
        }
    }

    /// Schemas that could not be compiled, one line each. Their values are still coerced
    /// and type-checked, but not validated in full; callers may log these once.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    pub fn validate(&self, parts: RequestParts<'_>) -> Verdict {
        let mut report = Report::default();
        let mut query = self.query_fields(parts.query, &mut report);
        let mut cookies = self.cookie_fields(parts.headers, &mut report);
        for rule in &self.params {
            self.check_param(rule, &parts, &mut query, &mut cookies, &mut report);
        }
        if let Some(body) = &self.body {
            body.check(&parts, &mut report);
        }
        report.verdict()
    }

    /// Decodes the query string. It is checked even when no query parameter is declared:
    /// broken percent-encoding is malformed wherever it is.
    fn query_fields<'r>(&self, query: Option<&'r str>, report: &mut Report) -> Fields<'r> {
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Fields::new(Vec::new());
        };
        let (pairs, errors) = percent::parse_pairs(query);
        for e in errors {
            let message = format!("{} in '{}'", e.error.describe(), e.raw);
            report.push(Severity::Malformed, "query", raw_key(e.raw), message);
        }
        if !self.has_query {
            return Fields::new(Vec::new());
        }
        let fields = pairs.into_iter().map(|p| Field {
            key: p.key,
            value: Raw::Text(p.value),
        });
        Fields::new(fields.collect())
    }

    fn cookie_fields<'r>(&self, headers: &'r HeaderMap, report: &mut Report) -> Fields<'r> {
        if !self.has_cookie {
            return Fields::new(Vec::new());
        }
        let mut pairs = Vec::new();
        for value in headers.get_all(http::header::COOKIE) {
            match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => percent::parse_cookies(text, &mut pairs),
                Err(_) => report.push(
                    Severity::Malformed,
                    "header",
                    "cookie",
                    "cookie header is not valid utf-8".to_owned(),
                ),
            }
        }
        let fields = pairs.into_iter().map(|p| Field {
            key: p.key,
            value: Raw::Text(p.value),
        });
        Fields::new(fields.collect())
    }

    fn check_param<'r>(
        &self,
        rule: &ParamRule,
        parts: &RequestParts<'r>,
        query: &mut Fields<'r>,
        cookies: &mut Fields<'r>,
        report: &mut Report,
    ) {
        let location = rule.location.as_str();
        let raw = match self.extract(rule, parts, query, cookies, false) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                if rule.required {
                    let message = format!("required {location} parameter is missing");
                    report.push(Severity::Invalid, location, &rule.name, message);
                }
                return;
            }
            Err(Problem::Malformed(message)) => {
                return report.push(Severity::Malformed, location, &rule.name, message);
            }
            Err(Problem::Invalid(message)) => {
                return report.push(Severity::Invalid, location, &rule.name, message);
            }
        };

        if rule.allow_empty && matches!(&raw, Raw::Text(t) if t.is_empty()) {
            return;
        }
        let value = match rule.content {
            Content::Styled => {
                if let Raw::Many(items) = &raw {
                    if items.len() > 1 && rule.shape.container(false) == Container::Scalar {
                        let message = format!("expected one value, got {}", items.len());
                        return report.push(Severity::Invalid, location, &rule.name, message);
                    }
                }
                coerce(raw, &rule.shape, false)
            }
            Content::Json | Content::Text => match content_value(raw, rule.content) {
                Ok(value) => value,
                Err(message) => {
                    return report.push(Severity::Malformed, location, &rule.name, message);
                }
            },
        };

        let mut violations = check_schema(rule.validator.as_ref(), &rule.shape, &value);
        if !violations.is_empty() && rule.content == Content::Styled && rule.shape.is_ambiguous() {
            // A union such as `string | integer[]` may have been read the wrong way; a
            // second reading takes the text as a plain string.
            if let Ok(Some(raw)) = self.extract(rule, parts, query, cookies, true) {
                let second = check_schema(
                    rule.validator.as_ref(),
                    &rule.shape,
                    &coerce(raw, &rule.shape, true),
                );
                if second.is_empty() {
                    violations = second;
                }
            }
        }
        for v in violations {
            report.push(Severity::Invalid, location, &rule.name, at_pointer(&v));
        }
    }

    /// Finds and splits a parameter's value; `Ok(None)` when the request lacks it.
    fn extract<'r>(
        &self,
        rule: &ParamRule,
        parts: &RequestParts<'r>,
        query: &mut Fields<'r>,
        cookies: &mut Fields<'r>,
        prefer_string: bool,
    ) -> Result<Option<Raw<'r>>, Problem> {
        let container = match rule.content {
            Content::Styled => rule.shape.container(prefer_string),
            Content::Json | Content::Text => Container::Scalar,
        };
        let too_deep =
            |_: TooDeep| Problem::Malformed("field names nest brackets too deeply".to_owned());
        match rule.location {
            ParamLocation::Path => {
                let Some((_, value)) = parts.path_params.iter().find(|(n, _)| *n == rule.name)
                else {
                    return Ok(None);
                };
                style::parse_path(value, &rule.name, rule.style, rule.explode, container)
                    .map(Some)
                    .map_err(Problem::Invalid)
            }
            ParamLocation::Query => {
                let exploded_object = container == Container::Object
                    && rule.style == ParamStyle::Form
                    && rule.explode;
                if exploded_object {
                    let claimed = |base: &str| self.query_bases.iter().any(|b| b == base);
                    query
                        .exploded_object(&rule.shape, &claimed)
                        .map_err(too_deep)
                } else {
                    query
                        .gather(&rule.name, rule.style, rule.explode, container)
                        .map_err(too_deep)
                }
            }
            ParamLocation::Cookie => cookies
                .gather(&rule.name, ParamStyle::Form, rule.explode, container)
                .map_err(too_deep),
            ParamLocation::Header => {
                let Some(name) = &rule.header else {
                    return Ok(None);
                };
                let Some(value) = header_value(parts.headers, name)? else {
                    return Ok(None);
                };
                Ok(Some(style::parse_header(value, rule.explode, container)))
            }
        }
    }
}

enum Problem {
    Malformed(String),
    Invalid(String),
}

/// All values of a header joined as one list (`a, b`), borrowed when there is only one.
fn header_value<'r>(
    headers: &'r HeaderMap,
    name: &HeaderName,
) -> Result<Option<Cow<'r, str>>, Problem> {
    let not_utf8 = || Problem::Malformed("header value is not valid utf-8".to_owned());
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let first = std::str::from_utf8(first.as_bytes()).map_err(|_| not_utf8())?;
    let mut joined: Option<String> = None;
    for more in values {
        let more = std::str::from_utf8(more.as_bytes()).map_err(|_| not_utf8())?;
        let text = joined.get_or_insert_with(|| first.to_owned());
        text.push(',');
        text.push_str(more);
    }
    Ok(Some(joined.map_or(Cow::Borrowed(first), Cow::Owned)))
}

fn content_value(raw: Raw<'_>, content: Content) -> Result<Value, String> {
    let text = match raw {
        Raw::Text(text) => text,
        Raw::Value(value) => return Ok(value),
        Raw::Many(items) => return Err(format!("expected one value, got {}", items.len())),
        Raw::Map(_) => return Err("expected one value, got bracketed fields".to_owned()),
    };
    match content {
        Content::Json => serde_json::from_str(&text).map_err(|e| format!("invalid json: {e}")),
        _ => Ok(Value::String(text.into_owned())),
    }
}

fn check_schema(
    validator: Option<&SchemaValidator>,
    shape: &Shape,
    value: &Value,
) -> Vec<SchemaViolation> {
    match validator {
        // Valid requests are the common case; the full walk only runs for invalid ones.
        Some(validator) if validator.is_valid(value) => Vec::new(),
        Some(validator) => validator.validate(value),
        None if shape::type_matches(value, shape) => Vec::new(),
        None => vec![SchemaViolation {
            instance_path: String::new(),
            message: format!("{value} is not of the expected type"),
        }],
    }
}

fn at_pointer(v: &SchemaViolation) -> String {
    if v.instance_path.is_empty() {
        v.message.clone()
    } else {
        format!("at {}: {}", v.instance_path, v.message)
    }
}

fn key_base(name: &str) -> &str {
    name.find('[').map_or(name, |i| &name[..i])
}

/// The key of a raw `key=value` segment, for naming a pair that could not be decoded.
fn raw_key(segment: &str) -> String {
    segment
        .split_once('=')
        .map_or(segment, |(k, _)| k)
        .to_owned()
}

fn compile(
    schema: Option<&Value>,
    ctx: SchemaContext<'_>,
    what: impl FnOnce() -> String,
    problems: &mut Vec<String>,
) -> Option<SchemaValidator> {
    match SchemaValidator::compile(schema?, ctx) {
        Ok(validator) => Some(validator),
        Err(e) => {
            problems.push(format!("{}: {e}", what()));
            None
        }
    }
}

impl ParamRule {
    fn new(p: &Parameter, ctx: SchemaContext<'_>, problems: &mut Vec<String>) -> Option<ParamRule> {
        let header = if p.location == ParamLocation::Header {
            let lower = p.name.to_ascii_lowercase();
            if IGNORED_HEADERS.contains(&lower.as_str()) {
                return None;
            }
            HeaderName::from_bytes(lower.as_bytes()).ok()
        } else {
            None
        };
        let content = match p.content_type.as_deref() {
            None => Content::Styled,
            Some(ct) if crate::media::is_json(ct) => Content::Json,
            Some(_) => Content::Text,
        };
        let what = || format!("{} parameter '{}'", p.location.as_str(), p.name);
        Some(ParamRule {
            name: p.name.clone(),
            location: p.location,
            header,
            // Path parameters are always required, whatever the document says.
            required: p.required || p.location == ParamLocation::Path,
            allow_empty: p.allow_empty_value,
            style: p.style,
            explode: p.explode,
            content,
            shape: p
                .schema
                .as_ref()
                .map(|s| Shape::of(s, ctx.root))
                .unwrap_or_default(),
            validator: compile(p.schema.as_ref(), ctx, what, problems),
        })
    }
}

impl BodyMedia {
    fn new(m: &spec::MediaType, ctx: SchemaContext<'_>, problems: &mut Vec<String>) -> BodyMedia {
        let what = || format!("request body '{}'", m.media_type);
        // JSON arrives typed; its shape only serves the type check used when the schema
        // does not compile, so the outer levels are enough.
        let shape = match &m.schema {
            Some(s) if crate::media::is_json(&m.media_type) => Shape::shallow(s, ctx.root),
            Some(s) => Shape::of(s, ctx.root),
            None => Shape::default(),
        };
        BodyMedia {
            declared: m.media_type.clone(),
            pattern: MediaPattern::parse(&m.media_type),
            shape,
            encodings: PropEncoding::from_media(m),
            validator: compile(m.schema.as_ref(), ctx, what, problems),
        }
    }
}

impl BodyRule {
    fn check(&self, parts: &RequestParts<'_>, report: &mut Report) {
        // An empty body is no body: clients often send a Content-Type with nothing after it.
        if parts.body.is_empty() {
            if self.required {
                report.push(
                    Severity::Invalid,
                    "body",
                    "",
                    "request body is required".to_owned(),
                );
            }
            return;
        }
        if self.media.is_empty() {
            return;
        }
        let header = match parts.headers.get(http::header::CONTENT_TYPE) {
            None => None,
            Some(value) => match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => Some(text),
                Err(_) => {
                    let message = "content-type header is not valid utf-8".to_owned();
                    return report.push(Severity::Malformed, "header", "content-type", message);
                }
            },
        };
        let essence = match header {
            Some(text) => match text.parse::<mime::Mime>() {
                Ok(m) => m.essence_str().to_ascii_lowercase(),
                Err(_) => {
                    let message = format!("content-type '{text}' is not a valid media type");
                    return report.push(Severity::Malformed, "header", "content-type", message);
                }
            },
            // Without a Content-Type a body is just bytes; only a wildcard or octet-stream
            // declaration takes it.
            None => "application/octet-stream".to_owned(),
        };
        let Some(media) = self
            .media
            .iter()
            .filter_map(|m| m.pattern.score(&essence).map(|s| (s, m)))
            .max_by_key(|(score, _)| *score)
            .map(|(_, m)| m)
        else {
            let declared: Vec<&str> = self.media.iter().map(|m| m.declared.as_str()).collect();
            let message = match header {
                Some(text) => format!(
                    "content-type '{text}' is not accepted; expected {}",
                    declared.join(", ")
                ),
                None => format!(
                    "request body has no content-type; expected {}",
                    declared.join(", ")
                ),
            };
            return report.push(Severity::Unsupported, "header", "content-type", message);
        };

        let mut broken = Vec::new();
        let value = match BodyKind::of(&essence) {
            BodyKind::Json => body::decode_json(parts.body)
                .map_err(|b| broken.push(b))
                .ok(),
            BodyKind::Form => {
                body::decode_form(parts.body, &media.shape, &media.encodings, &mut broken)
            }
            BodyKind::Multipart => {
                let header = header.unwrap_or_default();
                body::decode_multipart(
                    parts.body,
                    header,
                    &media.shape,
                    &media.encodings,
                    &mut broken,
                )
            }
            BodyKind::Text => body::decode_text(parts.body, &media.shape).unwrap_or_else(|b| {
                broken.push(b);
                None
            }),
            BodyKind::Bytes => None,
        };
        for Broken { name, message } in broken {
            report.push(Severity::Malformed, "body", name, message);
        }
        if let Some(value) = value {
            if media.validator.is_none() && media.shape.is_any() {
                return;
            }
            // A form or multipart body is a set of named fields. When the description gives
            // it a schema that is not an object (`type: string, format: binary` for an
            // upload, say), only its well-formedness is checked.
            let form_like = matches!(BodyKind::of(&essence), BodyKind::Form | BodyKind::Multipart);
            if form_like && !media.shape.allows(shape::ty::OBJECT) {
                return;
            }
            for v in check_schema(media.validator.as_ref(), &media.shape, &value) {
                report.push(Severity::Invalid, "body", v.instance_path, v.message);
            }
        }
    }
}

/// The essence (`type/subtype`, lowercase) of a media type.
pub(crate) fn media_essence(media_type: &str) -> String {
    body::essence(media_type)
}

/// Whether a form or multipart body decodes to exactly `value`: the sampler keeps only
/// bodies that the validator reads as they were meant.
pub(crate) fn body_reads_back(
    media: &spec::MediaType,
    shape: &Shape,
    content_type: &str,
    bytes: &[u8],
    value: &Value,
) -> bool {
    let encodings = PropEncoding::from_media(media);
    let mut broken = Vec::new();
    let decoded = if body::essence(content_type) == "multipart/form-data" {
        body::decode_multipart(bytes, content_type, shape, &encodings, &mut broken)
    } else {
        body::decode_form(bytes, shape, &encodings, &mut broken)
    };
    broken.is_empty() && decoded.as_ref() == Some(value)
}

#[cfg(test)]
mod tests;
