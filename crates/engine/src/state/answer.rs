//! Answers from the stateful store: a request routed to an operation of an inferred
//! collection, once validated, reads or changes the store and gets the stored item (or the
//! page of items) in the operation's declared success response. What the store cannot
//! answer (a body that is not JSON, a client that accepts no JSON, an explicit
//! `Prefer: code=` or `example=`) is left to the description.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use spec::StatusKey;

use super::infer::{Action, ListPlan, ListShape, OpRole};
use super::items::{Resources, StateError};
use crate::media::is_json;
use crate::negotiate::{Preferences, choose};
use crate::problem::problem;
use crate::respond::{content_type_for, stable_hash};
use crate::router::RouteMatch;
use crate::{Engine, MockRequest, MockResponse, Routed};

/// Characters of an id kept as they are in a `Location` path.
const ID_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Status and headers of a success answer, settled before the store changes, so that a
/// change is never made for an answer that cannot be sent.
struct Frame {
    status: StatusCode,
    headers: HeaderMap,
    /// 1xx, 204, 205, 304: no body whatever the item.
    no_content: bool,
}

impl Frame {
    fn with_body(self, body: Bytes) -> MockResponse {
        MockResponse {
            status: self.status,
            headers: self.headers,
            body: if self.no_content { Bytes::new() } else { body },
            route: None,
        }
    }
}

/// The request body as a JSON object, if it is one.
fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn state_problem(err: &StateError) -> MockResponse {
    let status = match err {
        StateError::Conflict { .. } => StatusCode::CONFLICT,
        StateError::UnknownCollection { .. } => StatusCode::NOT_FOUND,
        StateError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    problem(status, &err.to_string(), None)
}

impl Engine {
    /// Answers a routed request from `state` when its operation belongs to a collection;
    /// true when the store answered, false when the description did. With `defer`, a
    /// description answer generated per request is left to the caller (see
    /// [`Engine::respond_deferred`]).
    pub(crate) fn respond_with_state(
        &self,
        routed: Routed,
        req: &MockRequest<'_>,
        state: &Resources,
        defer: bool,
    ) -> (MockResponse, bool, Option<crate::Pending>) {
        let handled = match &routed.found {
            RouteMatch::Found { op, params } => state
                .model()
                .role(*op)
                .map(|role| (*op, params.as_slice(), role)),
            _ => None,
        };
        let Some((op, params, role)) = handled else {
            let (response, pending) = self.respond_deferred(routed, req, defer);
            return (response, false, pending);
        };
        let defer = defer && !routed.no_body;
        let (mut response, answered, pending) = match self.check(op, params, req) {
            Err(rejection) => (*rejection, false, None),
            Ok(prefs) => {
                let stateful = if prefs.code.is_none() && prefs.example.is_none() {
                    self.state_response(op, params, role, req, state)
                } else {
                    None
                };
                match stateful {
                    Some(mut response) => {
                        response.route = self.route_info(op);
                        (response, true, None)
                    }
                    None => {
                        let (response, pending) =
                            self.respond_checked_deferred(op, params, req, &prefs, defer);
                        (response, false, pending)
                    }
                }
            }
        };
        if routed.no_body {
            response.body = Bytes::new();
        }
        (response, answered, pending)
    }

    fn state_response(
        &self,
        op: usize,
        params: &[(String, String)],
        role: &OpRole,
        req: &MockRequest<'_>,
        state: &Resources,
    ) -> Option<MockResponse> {
        let c = role.collection;
        if !state.is_live(c) {
            return None;
        }
        let collection = &state.model().collections()[c];
        let parents = collection.parents.len();
        let scope: Vec<String> = params
            .get(..parents)?
            .iter()
            .map(|(_, v)| v.clone())
            .collect();
        let id = params.get(parents).map(|(_, v)| collection.key_of(v));
        let accept = req
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let missing = |id: &str| self.state_not_found(op, accept, &collection.name, id);
        Some(match &role.action {
            Action::List(plan) => {
                let frame = self.state_frame(op, None, accept)?;
                self.state_list(op, params, plan, frame, req, accept, state, c, &scope)
            }
            Action::Read => {
                let id = id?;
                let frame = self.state_frame(op, None, accept)?;
                match state.get(c, &scope, &id) {
                    Some(item) => frame.with_body(item.bytes.clone()),
                    None => missing(&id),
                }
            }
            Action::Create => {
                let item = json_object(req.body)?;
                let frame = self.state_frame(op, Some(201), accept)?;
                match state.create(c, scope, item) {
                    Ok((id, stored)) => {
                        let mut response = frame.with_body(stored.bytes.clone());
                        if collection.item_template.is_some() {
                            let location = format!(
                                "{}/{}",
                                req.path.trim_end_matches('/'),
                                utf8_percent_encode(&id, ID_SET)
                            );
                            if let Ok(value) = HeaderValue::from_str(&location) {
                                response.headers.insert(header::LOCATION, value);
                            }
                        }
                        response
                    }
                    Err(err) => state_problem(&err),
                }
            }
            Action::Replace => {
                let id = id?;
                let item = json_object(req.body)?;
                let frame = self.state_frame(op, None, accept)?;
                let created_frame = self
                    .declares(op, 201)
                    .then(|| self.state_frame(op, Some(201), accept))
                    .flatten();
                if let Err(err) = state.check_body_id(c, &id, &item) {
                    return Some(state_problem(&err));
                }
                let (stored, created) = state.upsert(c, scope, &id, item);
                match (created, created_frame) {
                    (true, Some(created_frame)) => created_frame.with_body(stored.bytes.clone()),
                    _ => frame.with_body(stored.bytes.clone()),
                }
            }
            Action::Patch => {
                let id = id?;
                let patch: Value = serde_json::from_slice(req.body).ok()?;
                if !patch.is_object() {
                    return None;
                }
                let frame = self.state_frame(op, None, accept)?;
                match state.patch(c, &scope, &id, &patch) {
                    Some(stored) => frame.with_body(stored.bytes.clone()),
                    None => missing(&id),
                }
            }
            Action::Delete => {
                let id = id?;
                let frame = self.state_frame(op, None, accept)?;
                match state.remove(c, &scope, &id) {
                    Some(removed) => frame.with_body(removed.bytes.clone()),
                    None => missing(&id),
                }
            }
        })
    }

    /// Whether operation `op` declares the status `code` itself.
    fn declares(&self, op: usize, code: u16) -> bool {
        self.api().operations[op]
            .responses
            .iter()
            .any(|r| r.status == StatusKey::Code(code))
    }

    /// The success answer's status and headers: the declared `prefer` status when the
    /// operation has it (201 for a creation), else its usual response. None when the
    /// response's content is not JSON or the client accepts none of it.
    fn state_frame(&self, op: usize, prefer: Option<u16>, accept: Option<&str>) -> Option<Frame> {
        let declared = &self.api().operations[op].responses;
        let chosen = prefer
            .filter(|code| self.declares(op, *code))
            .and_then(|code| {
                let index = declared
                    .iter()
                    .position(|r| r.status == StatusKey::Code(code))?;
                Some((index, StatusCode::from_u16(code).ok()?))
            })
            .or_else(|| self.default_choice(op));
        let (mut headers, status, media) = match chosen {
            Some((index, status)) => (
                self.declared_headers(op, index),
                status,
                self.response_media(op, index),
            ),
            None => (HeaderMap::new(), StatusCode::OK, &[][..]),
        };
        // A declared example of Location would name some other item.
        headers.remove(header::LOCATION);
        let no_content = status.is_informational() || matches!(status.as_u16(), 204 | 205 | 304);
        if !no_content {
            let content_type = if media.is_empty() {
                "application/json".to_owned()
            } else {
                let declared = &media[choose(accept, media)?];
                if !is_json(declared) {
                    return None;
                }
                content_type_for(declared)
            };
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&content_type).ok()?,
            );
        }
        Some(Frame {
            status,
            headers,
            no_content,
        })
    }

    /// No such item: the operation's declared 404 (its example or generated data), else a
    /// problem naming the item.
    fn state_not_found(
        &self,
        op: usize,
        accept: Option<&str>,
        collection: &str,
        id: &str,
    ) -> MockResponse {
        let declared = self.api().operations[op]
            .responses
            .iter()
            .position(|r| r.status == StatusKey::Code(404));
        if let Some(index) = declared {
            let seed = stable_hash((self.options().seed, op, "state-404"));
            let response = self.render(
                op,
                index,
                StatusCode::NOT_FOUND,
                accept,
                &Preferences::default(),
                seed,
            );
            if response.status == StatusCode::NOT_FOUND {
                return response;
            }
        }
        problem(
            StatusCode::NOT_FOUND,
            &format!("no item with id '{id}' in '{collection}'"),
            None,
        )
    }

    /// A page of a scope's items in the listing's declared shape.
    #[allow(clippy::too_many_arguments)]
    fn state_list(
        &self,
        op: usize,
        params: &[(String, String)],
        plan: &ListPlan,
        frame: Frame,
        req: &MockRequest<'_>,
        accept: Option<&str>,
        state: &Resources,
        c: usize,
        scope: &[String],
    ) -> MockResponse {
        let query: Vec<(Cow<'_, str>, Cow<'_, str>)> =
            form_urlencoded::parse(req.query.unwrap_or("").as_bytes()).collect();
        let number = |name: Option<&str>| {
            let name = name?;
            query
                .iter()
                .find(|(key, _)| key == name)
                .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        };
        let limit = number(plan.limit.as_deref())
            .and_then(|n| usize::try_from(n).ok())
            .or(plan.default_limit);
        let mut page = None;
        let offset = if let Some(offset) = number(plan.offset.as_deref()) {
            usize::try_from(offset).unwrap_or(usize::MAX)
        } else if let Some((name, first)) = &plan.page {
            let number = number(Some(name)).unwrap_or(*first).max(*first);
            page = Some(number);
            let before = usize::try_from(number - first).unwrap_or(usize::MAX);
            before.saturating_mul(limit.unwrap_or(usize::MAX))
        } else {
            0
        };
        let (total, items) = state.page(c, scope, offset, limit);
        let body = match &plan.shape {
            ListShape::Array => {
                let mut body =
                    Vec::with_capacity(2 + items.iter().map(|i| i.bytes.len() + 1).sum::<usize>());
                body.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(&item.bytes);
                }
                body.push(b']');
                Bytes::from(body)
            }
            ListShape::Object {
                items: field,
                total: total_field,
                limit: limit_field,
                offset: offset_field,
                page: page_field,
                has_more,
            } => {
                let mut object = self.list_base(op, params, accept);
                let shown = items.len();
                object.insert(
                    field.clone(),
                    Value::Array(items.iter().map(|i| i.value.clone()).collect()),
                );
                if let Some(name) = total_field {
                    object.insert(name.clone(), Value::from(total));
                }
                if let (Some(name), Some(limit)) = (limit_field, limit) {
                    object.insert(name.clone(), Value::from(limit));
                }
                if let Some(name) = offset_field {
                    object.insert(name.clone(), Value::from(offset.min(total)));
                }
                if let (Some(name), Some(page)) = (page_field, page) {
                    object.insert(name.clone(), Value::from(page));
                }
                if let Some(name) = has_more {
                    let more = offset.saturating_add(shown) < total;
                    object.insert(name.clone(), Value::Bool(more));
                }
                Bytes::from(serde_json::to_vec(&Value::Object(object)).unwrap_or_default())
            }
        };
        let mut response = frame.with_body(body);
        let count_header = response
            .headers
            .keys()
            .find(|name| name.as_str() == "x-total-count")
            .cloned();
        if let Some(name) = count_header {
            response.headers.insert(name, HeaderValue::from(total));
        }
        response
    }

    /// The description's own listing body as an object, so that members the store knows
    /// nothing of (`object: "list"`, links) keep their described values.
    fn list_base(
        &self,
        op: usize,
        params: &[(String, String)],
        accept: Option<&str>,
    ) -> Map<String, Value> {
        let Some((index, status)) = self.default_choice(op) else {
            return Map::new();
        };
        let seed = stable_hash((self.options().seed, op, params));
        let described = self.render(op, index, status, accept, &Preferences::default(), seed);
        match serde_json::from_slice(&described.body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}
