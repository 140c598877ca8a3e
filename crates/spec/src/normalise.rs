//! Turns the bundled document into the model: what Swagger 2.0 and OpenAPI 3.x share (paths,
//! parameter merging, operations, security); the dialects live in `v2` and `v3`.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;

use serde_json::{Map, Value};

use crate::diagnostics::{Diagnostics, Document, child, kind};
use crate::model::{
    Callback, Header, MediaType, Method, Operation, ParamLocation, ParamStyle, Parameter,
    RequestBody, Response, SecurityRequirement, SecurityScheme, SpecVersion, StatusKey,
};
use crate::source::Fetcher;
use crate::{servers, v2, v3};

/// Longest chain of `$ref`s to `$ref`s followed for a parameter, response, ...; a longer one
/// is treated as a loop.
pub(crate) const MAX_HOPS: usize = 32;

/// Walks the bundled document with the context every part of normalisation needs.
pub(crate) struct Normaliser<'a, 'd> {
    pub root: &'a Value,
    pub version: SpecVersion,
    pub diags: &'d mut Diagnostics,
    /// The documents of the load, to resolve `externalValue`s relative to the document they
    /// are written in. Empty when normalising after the load (webhooks).
    pub docs: &'d [Document],
    pub fetcher: Option<&'d Fetcher>,
    /// External example values already fetched, by URL (`None`: could not be loaded).
    pub external_examples: HashMap<String, Option<Value>>,
}

/// What normalisation produces besides the document itself.
pub(crate) struct Normalised {
    pub base_paths: Vec<String>,
    pub operations: Vec<Operation>,
    pub security_schemes: Vec<(String, SecurityScheme)>,
    pub security: Vec<SecurityRequirement>,
}

/// The parts of an operation that differ between the dialects.
pub(crate) struct Parts {
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    pub responses: Vec<Response>,
    pub callbacks: Vec<Callback>,
}

/// A parameter object after `$ref`s, with where it is and what identifies it.
pub(crate) struct RawParam<'a> {
    pub map: &'a Map<String, Value>,
    pub pointer: String,
    pub name: &'a str,
    pub location: &'a str,
}

enum Dialect {
    V2(v2::Globals),
    V3,
}

/// The version-specific parts of a Response object: its headers and its content.
pub(crate) type ResponseParts = (Vec<Header>, Vec<MediaType>);

impl<'a> Normaliser<'a, '_> {
    pub(crate) fn run(&mut self) -> Normalised {
        let security_schemes = self.security_schemes();
        let known: HashSet<&str> = security_schemes
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let security = match self.root.get("security") {
            Some(value) => self.requirements(value, "/security", &known),
            None => Vec::new(),
        };
        let (base_paths, dialect) = match self.version {
            SpecVersion::Swagger2 => (servers::base_paths_v2(self), Dialect::V2(v2::globals(self))),
            SpecVersion::OpenApi30 | SpecVersion::OpenApi31 => {
                (servers::base_paths_v3(self), Dialect::V3)
            }
        };
        let operations = match self.root.get("paths") {
            Some(paths) => self.operations(paths, "/paths", &dialect, &security, &known),
            None => Vec::new(),
        };
        drop(known);
        Normalised {
            base_paths,
            operations,
            security_schemes,
            security,
        }
    }

    /// The operations of a `paths` (or `webhooks`) map, in document order. Keys that differ
    /// only by a `#fragment` or `?query` map to one route; the first declared operation keeps
    /// it and the others are dropped with a warning.
    fn operations(
        &mut self,
        paths: &'a Value,
        pointer: &str,
        dialect: &Dialect,
        security: &[SecurityRequirement],
        known_schemes: &HashSet<&str>,
    ) -> Vec<Operation> {
        let Some(paths) = self.object(paths, pointer, "'paths'") else {
            return Vec::new();
        };
        let mut operations = Vec::new();
        let mut routes: HashMap<(Method, &'a str), &'a str> = HashMap::new();
        for (key, item) in paths {
            if key.starts_with("x-") {
                continue;
            }
            let item_pointer = child(pointer, key);
            let Some((item, item_pointer)) = self.deref(item, &item_pointer) else {
                continue;
            };
            let Some(item) = self.object(item, &item_pointer, format_args!("path item '{key}'"))
            else {
                continue;
            };
            let route = route_of(key);
            if !route.starts_with('/') && pointer == "/paths" {
                self.warn(
                    &item_pointer,
                    format!("path '{key}' does not start with '/'; ignored"),
                );
                continue;
            }
            let path_params = self.raw_params(item.get("parameters"), &item_pointer);
            for (method_key, op) in item {
                let Some(method) = Method::ALL.into_iter().find(|m| m.key() == method_key) else {
                    continue;
                };
                let op_pointer = child(&item_pointer, method_key);
                let Some(op) = self.object(op, &op_pointer, format_args!("operation '{key}'"))
                else {
                    continue;
                };
                if let Some(first) = routes.get(&(method, route)) {
                    self.warn(
                        &op_pointer,
                        format!(
                            "dropped {} '{key}': the route '{route}' is already declared by \
                             '{first}'",
                            method.as_str()
                        ),
                    );
                    continue;
                }
                routes.insert((method, route), key);
                let op_params = self.raw_params(op.get("parameters"), &op_pointer);
                let params = merge_params(&path_params, op_params);
                let parts = match dialect {
                    Dialect::V2(globals) => v2::operation(self, globals, op, &op_pointer, params),
                    Dialect::V3 => v3::operation(self, op, &op_pointer, params),
                };
                let deprecated = self.flag(op, "deprecated", &op_pointer).unwrap_or(false);
                let security = match op.get("security") {
                    Some(value) => {
                        self.requirements(value, &child(&op_pointer, "security"), known_schemes)
                    }
                    None => security.to_vec(),
                };
                operations.push(Operation {
                    method,
                    path: route.to_owned(),
                    operation_id: text(op.get("operationId")),
                    summary: text(op.get("summary")),
                    pointer: op_pointer,
                    parameters: parts.parameters,
                    request_body: parts.request_body,
                    responses: parts.responses,
                    security,
                    callbacks: parts.callbacks,
                    deprecated,
                    tags: tags(op.get("tags")),
                });
            }
        }
        operations
    }

    /// The parameter objects of a `parameters` list, `$ref`s followed. Entries without a
    /// usable `name` or `in` are reported and left out.
    pub(crate) fn raw_params(
        &mut self,
        list: Option<&'a Value>,
        parent: &str,
    ) -> Vec<RawParam<'a>> {
        let Some(list) = list else { return Vec::new() };
        let pointer = child(parent, "parameters");
        let Value::Array(items) = list else {
            self.error(
                &pointer,
                format!("'parameters' must be an array, found {}", kind(list)),
            );
            return Vec::new();
        };
        let mut params = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some((item, at)) = self.deref(item, &child(&pointer, &i.to_string())) else {
                continue;
            };
            let Some(map) = self.object(item, &at, "a parameter") else {
                continue;
            };
            let name = match map.get("name") {
                Some(Value::String(name)) => name.as_str(),
                Some(other) => {
                    let message =
                        format!("parameter 'name' must be a string, found {}", kind(other));
                    self.error(&child(&at, "name"), message);
                    continue;
                }
                None => {
                    self.error(&at, "parameter has no 'name'".to_owned());
                    continue;
                }
            };
            let location = match map.get("in") {
                Some(Value::String(location)) => location.as_str(),
                Some(other) => {
                    let message = format!(
                        "parameter '{name}': 'in' must be a string, found {}",
                        kind(other)
                    );
                    self.error(&child(&at, "in"), message);
                    continue;
                }
                None => {
                    self.error(&at, format!("parameter '{name}' has no 'in'"));
                    continue;
                }
            };
            params.push(RawParam {
                map,
                pointer: at,
                name,
                location,
            });
        }
        params
    }

    /// Follows `$ref`s from `value`, found at `pointer`, to the object they name. `None` when
    /// a reference dangles or the chain loops or runs on too long: the bundler's check has
    /// reported each of those where the reference is written (as a warning for examples,
    /// which serving does without), so nothing is reported here.
    pub(crate) fn deref(&self, value: &'a Value, pointer: &str) -> Option<(&'a Value, String)> {
        let mut current = value;
        let mut at: Option<String> = None;
        // As many references as the bundler's check lets through: the first and MAX_HOPS more.
        for _ in 0..MAX_HOPS + 2 {
            match current.get("$ref") {
                Some(Value::String(reference)) => {
                    let target = crate::ref_pointer(reference)?;
                    current = if target.is_empty() {
                        self.root
                    } else {
                        self.root.pointer(&target)?
                    };
                    at = Some(target.into_owned());
                }
                _ => return Some((current, at.unwrap_or_else(|| pointer.to_owned()))),
            }
        }
        None
    }

    /// `value` as an object, or an error naming `what` and what was found instead.
    pub(crate) fn object(
        &mut self,
        value: &'a Value,
        pointer: &str,
        what: impl Display,
    ) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.error(
                    pointer,
                    format!("{what} must be an object, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// The boolean `key` of `map` (at `pointer`), `None` when absent; an error when it is not
    /// a boolean.
    pub(crate) fn flag(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        pointer: &str,
    ) -> Option<bool> {
        match map.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                let message = format!("'{key}' must be a boolean, found {}", kind(other));
                self.error(&child(pointer, key), message);
                None
            }
        }
    }

    /// A schema, copied out of the document. JSON Schema allows `true`/`false` too.
    pub(crate) fn schema(&mut self, value: &'a Value, pointer: &str) -> Option<Value> {
        match value {
            Value::Object(_) | Value::Bool(_) => Some(value.clone()),
            other => {
                self.error(
                    pointer,
                    format!("a schema must be an object, found {}", kind(other)),
                );
                None
            }
        }
    }

    pub(crate) fn error(&mut self, pointer: &str, message: String) {
        self.diags.error(pointer, message);
    }

    pub(crate) fn warn(&mut self, pointer: &str, message: String) {
        self.diags.warn(pointer, message);
    }

    /// Reads a `responses` map, the same in every version: extensions are skipped, unknown
    /// status keys warned about and `$ref`s followed; `read` turns one Response object (at
    /// its pointer) into its headers and content, which differ between versions.
    pub(crate) fn responses(
        &mut self,
        value: &'a Value,
        pointer: &str,
        mut read: impl FnMut(&mut Self, &'a Map<String, Value>, &str) -> ResponseParts,
    ) -> Vec<Response> {
        let Some(map) = self.object(value, pointer, "'responses'") else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(map.len());
        for (code, response) in map {
            if code.starts_with("x-") {
                continue;
            }
            let at = child(pointer, code);
            let Some(status) = status_key(code) else {
                self.warn(&at, format!("unknown response status '{code}'; ignored"));
                continue;
            };
            let Some((response, at)) = self.deref(response, &at) else {
                continue;
            };
            let Some(map) = self.object(response, &at, format_args!("response '{code}'")) else {
                continue;
            };
            let (headers, content) = read(self, map, &at);
            out.push(Response {
                status,
                description: text(map.get("description")).unwrap_or_default(),
                headers,
                content,
            });
        }
        out
    }

    fn security_schemes(&mut self) -> Vec<(String, SecurityScheme)> {
        let pointer = match self.version {
            SpecVersion::Swagger2 => "/securityDefinitions",
            SpecVersion::OpenApi30 | SpecVersion::OpenApi31 => "/components/securitySchemes",
        };
        let Some(schemes) = self.root.pointer(pointer) else {
            return Vec::new();
        };
        let Some(schemes) = self.object(schemes, pointer, "security schemes") else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(schemes.len());
        for (name, scheme) in schemes {
            let Some((scheme, at)) = self.deref(scheme, &child(pointer, name)) else {
                continue;
            };
            let Some(map) = self.object(scheme, &at, format_args!("security scheme '{name}'"))
            else {
                continue;
            };
            match security_scheme(map) {
                Ok(scheme) => out.push((name.clone(), scheme)),
                Err(problem) => {
                    self.warn(&at, format!("security scheme '{name}' {problem}; ignored"))
                }
            }
        }
        out
    }

    /// A list of security requirement alternatives. Names no scheme defines are kept (the
    /// model says consumers ignore them) and warned about.
    fn requirements(
        &mut self,
        value: &'a Value,
        pointer: &str,
        known: &HashSet<&str>,
    ) -> Vec<SecurityRequirement> {
        let Value::Array(items) = value else {
            self.error(
                pointer,
                format!("'security' must be an array, found {}", kind(value)),
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = child(pointer, &i.to_string());
            let Some(map) = self.object(item, &at, "a security requirement") else {
                continue;
            };
            let mut requirement = SecurityRequirement::default();
            for (name, scopes) in map {
                if !known.contains(name.as_str()) {
                    self.warn(
                        &child(&at, name),
                        format!(
                            "security requirement names '{name}', which no security scheme defines"
                        ),
                    );
                }
                let scopes = match scopes {
                    Value::Array(scopes) => scopes.iter().filter_map(text_ref).collect(),
                    _ => Vec::new(),
                };
                requirement.schemes.push((name.clone(), scopes));
            }
            out.push(requirement);
        }
        out
    }
}

/// A security scheme object, or what is wrong with it.
fn security_scheme(map: &Map<String, Value>) -> Result<SecurityScheme, String> {
    let field = |key: &str| map.get(key).and_then(Value::as_str);
    let kind = field("type").ok_or("has no 'type'")?;
    Ok(match kind {
        "apiKey" => {
            let name = field("name").ok_or("has no 'name'")?.to_owned();
            let location = match field("in") {
                Some("header") => ParamLocation::Header,
                Some("query") => ParamLocation::Query,
                Some("cookie") => ParamLocation::Cookie,
                Some(other) => return Err(format!("has an unknown location '{other}'")),
                None => return Err("has no 'in'".to_owned()),
            };
            SecurityScheme::ApiKey { name, location }
        }
        "http" => {
            let scheme = field("scheme").ok_or("has no 'scheme'")?;
            SecurityScheme::Http {
                scheme: scheme.to_ascii_lowercase(),
            }
        }
        // Swagger 2.0's name for http basic.
        "basic" => SecurityScheme::Http {
            scheme: "basic".to_owned(),
        },
        "oauth2" => SecurityScheme::OAuth2,
        "openIdConnect" => SecurityScheme::OpenIdConnect,
        "mutualTLS" => SecurityScheme::MutualTls,
        other => return Err(format!("has an unknown type '{other}'")),
    })
}

/// Path-level parameters overridden by operation-level ones of the same name and location
/// (header names compare without case), in path-level order followed by new ones.
fn merge_params<'a>(path_level: &[RawParam<'a>], op_level: Vec<RawParam<'a>>) -> Vec<RawParam<'a>> {
    let mut merged: Vec<RawParam<'a>> = path_level
        .iter()
        .map(|p| RawParam {
            map: p.map,
            pointer: p.pointer.clone(),
            name: p.name,
            location: p.location,
        })
        .collect();
    for param in op_level {
        let same = |p: &RawParam<'_>| {
            p.location == param.location
                && if param.location == "header" {
                    p.name.eq_ignore_ascii_case(param.name)
                } else {
                    p.name == param.name
                }
        };
        match merged.iter().position(same) {
            Some(i) => merged[i] = param,
            None => merged.push(param),
        }
    }
    merged
}

/// The route of a path key: some documents tell operations on one URL apart with a
/// `#fragment` or `?query` in the key, which no request carries.
fn route_of(key: &str) -> &str {
    let end = key.find(['#', '?']).unwrap_or(key.len());
    &key[..end]
}

/// The key of a `responses` map as a status.
pub(crate) fn status_key(key: &str) -> Option<StatusKey> {
    if key == "default" {
        return Some(StatusKey::Default);
    }
    let bytes = key.as_bytes();
    if bytes.len() != 3 {
        return None;
    }
    if bytes[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&bytes[0]) {
        return Some(StatusKey::Range(bytes[0] - b'0'));
    }
    match key.parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Some(StatusKey::Code(code)),
        _ => None,
    }
}

/// The serialisation style named `name`.
pub(crate) fn param_style(name: &str) -> Option<ParamStyle> {
    Some(match name {
        "simple" => ParamStyle::Simple,
        "label" => ParamStyle::Label,
        "matrix" => ParamStyle::Matrix,
        "form" => ParamStyle::Form,
        "spaceDelimited" => ParamStyle::SpaceDelimited,
        "pipeDelimited" => ParamStyle::PipeDelimited,
        "deepObject" => ParamStyle::DeepObject,
        _ => return None,
    })
}

/// The style a parameter has when it names none: form for query and cookie, simple for path
/// and header.
pub(crate) fn default_style(location: ParamLocation) -> ParamStyle {
    match location {
        ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
        ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
    }
}

/// A text field; numbers and booleans (YAML reads `version: 1.0` as a number) as written.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_ref(value: &Value) -> Option<String> {
    text(Some(value))
}

fn tags(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(text_ref).collect(),
        _ => Vec::new(),
    }
}

/// The operations of the document's 3.1 `webhooks`, normalised like paths (the webhook name
/// is the operation's `path`). Problems are not reported: loading already accepted the
/// document, and webhooks are not served.
pub(crate) fn webhooks(root: &Value, version: SpecVersion) -> Vec<Operation> {
    let Some(hooks) = root.get("webhooks") else {
        return Vec::new();
    };
    let mut diags = Diagnostics::default();
    let mut normaliser = Normaliser {
        root,
        version,
        diags: &mut diags,
        docs: &[],
        fetcher: None,
        external_examples: HashMap::new(),
    };
    let known_names: Vec<String> = normaliser
        .security_schemes()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let known: HashSet<&str> = known_names.iter().map(String::as_str).collect();
    let security = match root.get("security") {
        Some(value) => normaliser.requirements(value, "/security", &known),
        None => Vec::new(),
    };
    normaliser.operations(hooks, "/webhooks", &Dialect::V3, &security, &known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keys_cover_codes_ranges_and_default() {
        assert_eq!(status_key("200"), Some(StatusKey::Code(200)));
        assert_eq!(status_key("4XX"), Some(StatusKey::Range(4)));
        assert_eq!(status_key("5xx"), Some(StatusKey::Range(5)));
        assert_eq!(status_key("default"), Some(StatusKey::Default));
        assert_eq!(status_key("6XX"), None);
        assert_eq!(status_key("099"), None);
        assert_eq!(status_key("ok"), None);
    }

    #[test]
    fn fragments_and_queries_are_cut_from_routes() {
        assert_eq!(route_of("/files/{id}#get_shared_link"), "/files/{id}");
        assert_eq!(route_of("/responses/{id}?beta=true"), "/responses/{id}");
        assert_eq!(route_of("/plain"), "/plain");
    }
}
