//! Auth emulation: checks a request's credentials against its operation's security
//! requirements, as a gateway in front of the real API would, and builds the 401 or 403.
//!
//! An operation lists requirement alternatives; the request passes when one alternative
//! is satisfied, and an alternative is satisfied when every scheme in it is. apiKey
//! schemes look in their header, query parameter or cookie; `http` basic and bearer look
//! in `Authorization`, and so do oauth2 and openIdConnect (as bearer tokens). mutualTLS
//! cannot be seen at this layer and counts as satisfied.
//!
//! What is accepted comes from an [`AuthPolicy`]: with no credentials configured for a
//! kind, any credential of the right shape is accepted (presence only).

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use spec::{ParamLocation, SecurityRequirement, SecurityScheme};

use crate::negotiate::Preferences;
use crate::respond::{Engine, stable_hash};
use crate::{MockRequest, MockResponse, Routed};

/// The credentials auth emulation accepts. An empty list for a kind accepts any
/// credential of that kind that is present and well formed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthPolicy {
    /// API keys accepted by every apiKey scheme without a list of its own.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// API keys of one scheme, by the scheme's name in the description.
    #[serde(default)]
    pub scheme_keys: BTreeMap<String, Vec<String>>,
    /// Tokens accepted by bearer, oauth2 and openIdConnect schemes.
    #[serde(default)]
    pub bearer_tokens: Vec<String>,
    /// `user:password` pairs accepted by basic schemes.
    #[serde(default)]
    pub basic: Vec<String>,
}

impl AuthPolicy {
    /// True when only presence is checked for every kind.
    pub fn is_presence_only(&self) -> bool {
        self.api_keys.is_empty()
            && self.scheme_keys.values().all(Vec::is_empty)
            && self.bearer_tokens.is_empty()
            && self.basic.is_empty()
    }

    /// Checks the values: basic pairs need a colon, and nothing may be empty.
    pub fn check(&self) -> Result<(), String> {
        let empty = |what: &str| format!("{what}: an empty credential would never be sent");
        if self.api_keys.iter().any(String::is_empty) {
            return Err(empty("api_keys"));
        }
        for (scheme, keys) in &self.scheme_keys {
            if keys.iter().any(String::is_empty) {
                return Err(empty(&format!("scheme_keys.{scheme}")));
            }
        }
        if self.bearer_tokens.iter().any(String::is_empty) {
            return Err(empty("bearer_tokens"));
        }
        for pair in &self.basic {
            match pair.split_once(':') {
                Some((user, _)) if !user.is_empty() => {}
                _ => return Err(format!("basic: '{pair}' is not user:password")),
            }
        }
        Ok(())
    }
}

impl AuthPolicy {
    /// Checks that every scheme named in `scheme_keys` is an apiKey scheme `api` declares;
    /// the error names the field and the declared ones.
    pub fn check_schemes(&self, api: &spec::Api) -> Result<(), String> {
        let api_keys: Vec<&str> = api
            .security_schemes
            .iter()
            .filter(|(_, s)| matches!(s, spec::SecurityScheme::ApiKey { .. }))
            .map(|(n, _)| n.as_str())
            .collect();
        match self
            .scheme_keys
            .keys()
            .find(|name| !api_keys.contains(&name.as_str()))
        {
            None => Ok(()),
            Some(name) => Err(format!(
                "scheme_keys.{name}: the description declares no apiKey scheme '{name}'; \
                 declared: {}",
                if api_keys.is_empty() {
                    "none".to_owned()
                } else {
                    api_keys.join(", ")
                }
            )),
        }
    }
}

/// What kind of credential a scheme asks for, and where.
#[derive(Debug, Clone)]
enum Kind {
    ApiKey {
        name: String,
        location: ParamLocation,
    },
    Basic,
    /// bearer, oauth2 and openIdConnect.
    Bearer,
    /// Another `http` scheme (digest, negotiate, ...): only its presence is checked.
    OtherHttp(String),
}

/// One scheme of one requirement alternative, resolved against the description.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    scheme: String,
    kind: Kind,
}

/// The security alternatives of one operation; empty means none is required.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpSecurity {
    alternatives: Vec<Vec<Check>>,
}

impl OpSecurity {
    /// Resolves scheme names; names that are not defined are ignored, and so is
    /// mutualTLS. An alternative left empty (`{}`) lets anonymous requests through.
    pub(crate) fn compile(
        requirements: &[SecurityRequirement],
        schemes: &[(String, SecurityScheme)],
    ) -> OpSecurity {
        let mut alternatives = Vec::with_capacity(requirements.len());
        for requirement in requirements {
            let mut checks = Vec::new();
            for (name, _) in &requirement.schemes {
                let Some((_, scheme)) = schemes.iter().find(|(n, _)| n == name) else {
                    continue;
                };
                let kind = match scheme {
                    SecurityScheme::ApiKey { name, location } => Kind::ApiKey {
                        name: name.clone(),
                        location: *location,
                    },
                    SecurityScheme::Http { scheme } if scheme == "basic" => Kind::Basic,
                    SecurityScheme::Http { scheme } if scheme == "bearer" => Kind::Bearer,
                    SecurityScheme::Http { scheme } => Kind::OtherHttp(scheme.clone()),
                    SecurityScheme::OAuth2 | SecurityScheme::OpenIdConnect => Kind::Bearer,
                    SecurityScheme::MutualTls => continue,
                };
                checks.push(Check {
                    scheme: name.clone(),
                    kind,
                });
            }
            if checks.is_empty() {
                // Anonymous access is one of the alternatives: nothing is required.
                return OpSecurity::default();
            }
            alternatives.push(checks);
        }
        OpSecurity { alternatives }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Accepted,
    Missing,
    Rejected,
}

/// Why a request was denied, for the response.
struct Denial<'a> {
    outcome: Outcome,
    check: &'a Check,
}

impl Check {
    /// Where the credential is looked for, in words: `header 'X-API-Key'`.
    fn place(&self) -> String {
        match &self.kind {
            Kind::ApiKey { name, location } => format!("{} '{name}'", location.as_str()),
            _ => "header 'Authorization'".to_owned(),
        }
    }

    fn evaluate(&self, req: &MockRequest<'_>, policy: &AuthPolicy) -> Outcome {
        match &self.kind {
            Kind::ApiKey { name, location } => {
                let Some(value) = find_value(req, *location, name) else {
                    return Outcome::Missing;
                };
                let accepted = policy
                    .scheme_keys
                    .get(&self.scheme)
                    .filter(|keys| !keys.is_empty())
                    .unwrap_or(&policy.api_keys);
                judge(accepted.is_empty() || accepted.contains(&value))
            }
            Kind::Basic => {
                let Some(credentials) = authorization(req.headers, "basic") else {
                    return Outcome::Missing;
                };
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(credentials)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                match decoded {
                    Some(pair) if pair.contains(':') => {
                        judge(policy.basic.is_empty() || policy.basic.contains(&pair))
                    }
                    _ => Outcome::Rejected,
                }
            }
            Kind::Bearer => match authorization(req.headers, "bearer") {
                None => Outcome::Missing,
                Some(token) => judge(
                    policy.bearer_tokens.is_empty()
                        || policy.bearer_tokens.iter().any(|t| t == token),
                ),
            },
            Kind::OtherHttp(scheme) => match authorization(req.headers, scheme) {
                None => Outcome::Missing,
                Some(_) => Outcome::Accepted,
            },
        }
    }

    /// The `WWW-Authenticate` challenge of this scheme.
    fn challenge(&self, realm: &str, rejected: bool) -> String {
        match &self.kind {
            Kind::Basic => format!("Basic realm=\"{realm}\""),
            Kind::Bearer if rejected => {
                format!("Bearer realm=\"{realm}\", error=\"invalid_token\"")
            }
            Kind::Bearer => format!("Bearer realm=\"{realm}\""),
            Kind::OtherHttp(scheme) => format!("{} realm=\"{realm}\"", capitalise(scheme)),
            Kind::ApiKey { name, location } => format!(
                "ApiKey realm=\"{realm}\", in=\"{}\", name=\"{}\"",
                location.as_str(),
                quoted(name)
            ),
        }
    }
}

fn judge(accepted: bool) -> Outcome {
    if accepted {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Text safe inside a quoted string of a header value.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect()
}

/// The credentials of `Authorization: <scheme> <credentials>`, the scheme compared
/// without case; None when absent, of another scheme, or empty.
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|value| {
            let (given, rest) = value.trim().split_once(' ')?;
            let rest = rest.trim();
            (given.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then_some(rest)
        })
}

/// The value of an apiKey parameter; None when absent or empty.
fn find_value(req: &MockRequest<'_>, location: ParamLocation, name: &str) -> Option<String> {
    let value = match location {
        ParamLocation::Header => req
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned()),
        ParamLocation::Query => form_urlencoded::parse(req.query?.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned()),
        ParamLocation::Cookie => req
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim().trim_matches('"').to_owned()),
        ParamLocation::Path => None,
    };
    value.filter(|v| !v.is_empty())
}

impl Engine {
    /// Checks the request's credentials against its operation's security under `policy`.
    /// None when it may pass (no operation, nothing required, or an alternative
    /// satisfied); otherwise the 401 or 403 to send.
    ///
    /// Missing credentials get 401 with a challenge for every scheme that would do.
    /// Credentials present but not accepted get 403 when the operation declares a 403,
    /// else 401. The body is the operation's declared 401 or 403 when it has one, else an
    /// `application/problem+json` naming the scheme and where the credential was sought.
    pub fn authorize(
        &self,
        routed: &Routed,
        req: &MockRequest<'_>,
        policy: &AuthPolicy,
    ) -> Option<MockResponse> {
        let op = routed.op()?;
        let security = self.security(op);
        if security.alternatives.is_empty() {
            return None;
        }
        let mut worst: Option<Denial<'_>> = None;
        for alternative in &security.alternatives {
            // The alternative's first failing check, rejection before absence.
            let mut failed: Option<Denial<'_>> = None;
            for check in alternative {
                let outcome = check.evaluate(req, policy);
                if outcome != Outcome::Accepted
                    && failed.as_ref().is_none_or(|f| outcome > f.outcome)
                {
                    failed = Some(Denial { outcome, check });
                }
            }
            // An alternative with nothing failing lets the request through.
            let failed = failed?;
            if worst.as_ref().is_none_or(|w| failed.outcome > w.outcome) {
                worst = Some(failed);
            }
        }
        let denial = worst?;
        let mut response = self.denied(op, &security.alternatives, &denial, req);
        response.route = self.route_info(op);
        if routed.is_head() {
            response.body = Bytes::new();
        }
        Some(response)
    }

    fn denied(
        &self,
        op: usize,
        alternatives: &[Vec<Check>],
        denial: &Denial<'_>,
        req: &MockRequest<'_>,
    ) -> MockResponse {
        let rejected = denial.outcome == Outcome::Rejected;
        let declared = |code: u16| {
            self.api().operations[op]
                .responses
                .iter()
                .position(|r| r.status == spec::StatusKey::Code(code))
        };
        let status = if rejected && declared(403).is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        let accept = req
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let own = declared(status.as_u16()).map(|resp_index| {
            let seed = stable_hash((self.options().seed, op, "auth"));
            self.render(
                op,
                resp_index,
                status,
                accept,
                &Preferences::default(),
                seed,
            )
        });
        let mut response = match own {
            Some(resp) if resp.status == status => resp,
            _ => self.auth_problem(status, denial),
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers.remove(header::WWW_AUTHENTICATE);
            let realm = quoted(&self.api().title);
            let realm = if realm.is_empty() { "mockloop" } else { &realm };
            let mut seen: Vec<&str> = Vec::new();
            // The failing scheme's challenge first, then every other that would do.
            let others = alternatives.iter().flatten();
            for check in std::iter::once(denial.check).chain(others) {
                if seen.contains(&check.scheme.as_str()) {
                    continue;
                }
                seen.push(&check.scheme);
                let is_failing = std::ptr::eq(check, denial.check);
                let text = check.challenge(realm, rejected && is_failing);
                if let Ok(value) = HeaderValue::from_str(&text) {
                    response.headers.append(header::WWW_AUTHENTICATE, value);
                }
            }
        }
        response
    }

    fn auth_problem(&self, status: StatusCode, denial: &Denial<'_>) -> MockResponse {
        let check = denial.check;
        let detail = match denial.outcome {
            Outcome::Rejected => format!(
                "the credentials for security scheme '{}' in {} are not accepted",
                check.scheme,
                check.place()
            ),
            _ => format!(
                "missing credentials for security scheme '{}': expected in {}",
                check.scheme,
                check.place()
            ),
        };
        let location = match &check.kind {
            Kind::ApiKey { name, location } => json!({ "in": location.as_str(), "name": name }),
            _ => json!({ "in": "header", "name": "Authorization" }),
        };
        crate::problem::problem(
            status,
            &detail,
            Some((
                "security",
                json!({ "scheme": check.scheme, "credential": location }),
            )),
        )
    }
}

#[cfg(test)]
mod tests;
