//! What queries return: pages of request summaries and full stored requests.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capture::{Body, Headers};

/// One page of a listing, newest first, with the number of all matching rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// Rows matching the filter, ignoring `limit` and `offset`.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub items: Vec<RequestSummary>,
}

/// A logged request without its headers and bodies, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    pub id: i64,
    pub timestamp: DateTime<Utc>,
    pub method: String,
    pub path: String,
    /// The matched route template; `None` when no operation matched.
    pub route: Option<String>,
    pub operation_id: Option<String>,
    /// The raw query string without `?`; empty when there was none.
    pub query: String,
    pub status: u16,
    pub duration_us: u64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub session_id: Option<String>,
    pub scenario: String,
    pub server_id: String,
    /// Full request body length in bytes, before truncation.
    pub request_body_size: u64,
    /// Full response body length in bytes, before truncation.
    pub response_body_size: u64,
    /// The fault injected into the answer (`error`, `reset`, `empty`, `slow_body`); a
    /// `reset` request has status 0, as no answer was sent.
    pub fault: Option<String>,
    /// The runtime rule that answered: `override:ID` or `scenario:INDEX` (the endpoint's
    /// place in the active scenario).
    pub rule: Option<String>,
}

/// A logged request with everything that was kept of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRequest {
    #[serde(flatten)]
    pub summary: RequestSummary,
    pub request_headers: Headers,
    pub request_body: Body,
    pub response_headers: Headers,
    pub response_body: Body,
}
