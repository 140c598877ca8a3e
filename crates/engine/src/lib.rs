//! The mock's brain: route table, response selection, data generation and request
//! validation. Pure: no I/O, no clock, no global state; the caller hands in everything a
//! response depends on.

pub mod auth;
pub mod generate;
pub mod media;
pub mod negotiate;
pub mod problem;
mod respond;
pub mod router;
pub mod runtime;
pub mod sample;
pub mod schema;
pub mod state;
pub mod validate;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

pub use respond::{Engine, Pending, Routed};

/// How the engine behaves; fixed for the engine's life.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Seed of all generated data: the same seed, operation and request path give the same
    /// body.
    pub seed: u64,
    /// Validate requests against the description.
    pub validate: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            seed: 0,
            validate: true,
        }
    }
}

/// What the engine reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct MockRequest<'a> {
    pub method: &'a http::Method,
    /// The raw (percent-encoded) path, without the query.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// A value unique to this request, used as the seed when fresh data is asked for
    /// (`Prefer: dynamic=true`).
    pub nonce: u64,
}

/// The operation a request was routed to.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    /// Index in [`spec::Api::operations`].
    pub op: usize,
    /// The route template, e.g. `/users/{id}`.
    pub template: Arc<str>,
    pub operation_id: Option<Arc<str>>,
}

/// The engine's answer.
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Set when the request matched an operation.
    pub route: Option<RouteInfo>,
}
