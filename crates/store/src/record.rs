//! `LogRecord`: what the server hands over for each request it served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode, Uri};

/// One served request, as the server saw it.
///
/// Building one must stay cheap because it happens on the hot path: the fields are the
/// server's own values (`HeaderMap`, `Bytes`, `Uri` and `Arc<str>` clone by reference
/// count). Splitting the URI, serialising headers, redaction and truncation all happen
/// later on the writer thread.
///
/// `Default` gives an empty record, so callers can write
/// `LogRecord { method, uri, status, ..Default::default() }` and keep compiling when
/// fields are added.
#[derive(Debug, Clone, Default)]
pub struct LogRecord {
    /// When the request arrived; stored in UTC with microsecond precision.
    pub timestamp: DateTime<Utc>,
    /// Which server instance served it (several instances may share one database).
    pub server_id: Arc<str>,
    pub method: Method,
    /// The request target as received; the path and the query string are taken from it.
    pub uri: Uri,
    /// The matched route template, e.g. `/users/{id}`; `None` when no operation matched.
    pub route: Option<Arc<str>>,
    pub operation_id: Option<Arc<str>>,
    /// Request headers; the `user_agent` column is taken from these.
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub status: StatusCode,
    pub response_headers: HeaderMap,
    pub response_body: Bytes,
    /// Time from the request's arrival to the response; stored in microseconds.
    pub duration: Duration,
    pub client_addr: Option<SocketAddr>,
    pub request_id: String,
    pub session_id: Option<String>,
    /// Name of the active scenario; empty when none is active.
    pub scenario: Arc<str>,
    /// The fault injected into this request's answer (`error`, `reset`, `empty`,
    /// `slow_body`), if any.
    pub fault: Option<&'static str>,
    /// The runtime rule that answered (`override:3`, `scenario:0`), if any.
    pub rule: Option<Arc<str>>,
    /// The connection was closed without an answer (a `reset` fault): stored as status 0,
    /// whatever `status` says.
    pub aborted: bool,
}
