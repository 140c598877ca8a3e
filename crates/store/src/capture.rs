//! Turning a `LogRecord` into a storable row: header lists, redaction, body truncation.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::header::{self, HeaderMap, HeaderName};
use serde::{Deserialize, Serialize};

use crate::record::LogRecord;

/// What a redacted header value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Headers as stored and returned: `(name, value)` pairs in the order received, so that
/// repeated headers such as `Set-Cookie` survive. Names are lowercase.
pub type Headers = Vec<(String, String)>;

/// Header names whose values are redacted unless configured otherwise.
pub fn default_redacted_headers() -> Vec<HeaderName> {
    vec![
        header::AUTHORIZATION,
        header::PROXY_AUTHORIZATION,
        header::COOKIE,
        header::SET_COOKIE,
        HeaderName::from_static("x-api-key"),
        HeaderName::from_static("api-key"),
        HeaderName::from_static("x-auth-token"),
    ]
}

/// Query parameter names whose values are redacted unless configured otherwise: the usual
/// names of API keys and tokens sent in the query.
pub fn default_redacted_query() -> Vec<String> {
    ["api_key", "apikey", "api-key", "access_token", "x-api-key"]
        .map(str::to_owned)
        .to_vec()
}

/// How bodies and headers are captured; resolved once from `WriterOptions`.
#[derive(Debug, Clone)]
pub(crate) struct Capture {
    pub max_body_bytes: usize,
    /// Empty when redaction is off.
    pub redact: Vec<HeaderName>,
    /// Lowercase query parameter names; empty when redaction is off.
    pub redact_query: Vec<String>,
}

/// How a body's `data` is encoded in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `data` is the body itself (it was valid UTF-8).
    Utf8,
    /// `data` is the standard base64 of the body's bytes.
    Base64,
}

/// A request or response body as returned by queries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub encoding: BodyEncoding,
    /// The stored bytes, at most `max_body_bytes` of them.
    pub data: String,
    /// Length in bytes of the whole body as it was sent.
    pub size: u64,
    /// Whether `data` holds less than the whole body.
    pub truncated: bool,
}

/// A body as stored: text when the kept bytes are valid UTF-8, raw bytes otherwise. Both
/// are slices of the server's own buffer, so capturing a body copies nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyData {
    /// Valid UTF-8.
    Text(Bytes),
    Binary(Bytes),
}

/// The kept part of a body and the length of the whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Body", try_from = "Body")]
pub(crate) struct StoredBody {
    pub data: BodyData,
    pub size: u64,
}

impl StoredBody {
    pub fn kept_len(&self) -> usize {
        match &self.data {
            BodyData::Text(bytes) | BodyData::Binary(bytes) => bytes.len(),
        }
    }

    /// Keeps at most `max` bytes. A cut through a multi-byte character moves back to the
    /// character's start so that a truncated text body is still stored as text.
    pub fn capture(body: &Bytes, max: usize) -> StoredBody {
        let size = body.len() as u64;
        let kept = body.slice(..body.len().min(max));
        let cut = kept.len() < body.len();
        let data = match std::str::from_utf8(&kept) {
            Ok(_) => BodyData::Text(kept),
            Err(err) if cut && err.error_len().is_none() => {
                BodyData::Text(kept.slice(..err.valid_up_to()))
            }
            Err(_) => BodyData::Binary(kept),
        };
        StoredBody { data, size }
    }

    pub fn to_body(&self) -> Body {
        let (encoding, data) = match &self.data {
            BodyData::Text(text) => (
                BodyEncoding::Utf8,
                String::from_utf8_lossy(text).into_owned(),
            ),
            BodyData::Binary(bytes) => (BodyEncoding::Base64, BASE64.encode(bytes)),
        };
        Body {
            encoding,
            data,
            size: self.size,
            truncated: (self.kept_len() as u64) < self.size,
        }
    }
}

impl From<StoredBody> for Body {
    fn from(body: StoredBody) -> Body {
        body.to_body()
    }
}

impl TryFrom<Body> for StoredBody {
    type Error = base64::DecodeError;

    fn try_from(body: Body) -> Result<StoredBody, Self::Error> {
        let data = match body.encoding {
            BodyEncoding::Utf8 => BodyData::Text(Bytes::from(body.data)),
            BodyEncoding::Base64 => BodyData::Binary(Bytes::from(BASE64.decode(body.data)?)),
        };
        Ok(StoredBody {
            data,
            size: body.size,
        })
    }
}

/// One row ready for insertion; also the line format of spill files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub timestamp: DateTime<Utc>,
    pub server_id: String,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub operation_id: Option<String>,
    pub query: String,
    /// Headers as the JSON text of `Headers`, the form the database stores. It is built
    /// straight from the `HeaderMap`: allocating a string per header and value showed up in
    /// profiles as a large share of the writer thread's time.
    #[serde(with = "json_text")]
    pub request_headers: String,
    pub request_body: StoredBody,
    pub status: u16,
    #[serde(with = "json_text")]
    pub response_headers: String,
    pub response_body: StoredBody,
    pub duration_us: u64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub session_id: Option<String>,
    pub scenario: String,
    /// Absent from spill files written before faults existed.
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
}

impl Row {
    pub fn capture(record: LogRecord, capture: &Capture) -> Row {
        let user_agent = record
            .request_headers
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        Row {
            timestamp: record.timestamp,
            server_id: record.server_id.to_string(),
            method: record.method.as_str().to_owned(),
            path: record.uri.path().to_owned(),
            route: record.route.map(|route| route.to_string()),
            operation_id: record.operation_id.map(|id| id.to_string()),
            query: capture_query(
                record.uri.query().unwrap_or_default(),
                &capture.redact_query,
            ),
            request_headers: capture_headers(&record.request_headers, &capture.redact),
            request_body: StoredBody::capture(&record.request_body, capture.max_body_bytes),
            status: if record.aborted {
                0
            } else {
                record.status.as_u16()
            },
            response_headers: capture_headers(&record.response_headers, &capture.redact),
            response_body: StoredBody::capture(&record.response_body, capture.max_body_bytes),
            duration_us: u64::try_from(record.duration.as_micros()).unwrap_or(u64::MAX),
            client_addr: record.client_addr.map(|addr| addr.to_string()),
            user_agent,
            request_id: record.request_id,
            session_id: record.session_id,
            scenario: record.scenario.to_string(),
            fault: record.fault.map(str::to_owned),
            rule: record.rule.map(|rule| rule.to_string()),
        }
    }
}

/// The query string with the values of `redact` parameters replaced by `[redacted]`.
fn capture_query(query: &str, redact: &[String]) -> String {
    let secret = |pair: &str| {
        let name = pair.split('=').next().unwrap_or_default();
        redact.iter().any(|r| r.eq_ignore_ascii_case(name))
    };
    if redact.is_empty() || !query.split('&').any(secret) {
        return query.to_owned();
    }
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        if secret(pair) {
            out.push_str(pair.split('=').next().unwrap_or_default());
            out.push('=');
            out.push_str(REDACTED);
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// The JSON text of `Headers` for a header map, redacting as configured.
fn capture_headers(headers: &HeaderMap, redact: &[HeaderName]) -> String {
    let pairs = HeaderPairs { headers, redact };
    // Serialising string pairs to a String cannot fail.
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

struct HeaderPairs<'a> {
    headers: &'a HeaderMap,
    redact: &'a [HeaderName],
}

impl Serialize for HeaderPairs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.headers.len()))?;
        for (name, value) in self.headers {
            let value = if self.redact.contains(name) {
                Cow::Owned(redacted_value(name, value.as_bytes()))
            } else {
                String::from_utf8_lossy(value.as_bytes())
            };
            seq.serialize_element(&(name.as_str(), value))?;
        }
        seq.end()
    }
}

/// Spill files carry headers as JSON arrays rather than as strings of JSON, so that they
/// stay readable with ordinary JSON tools.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Ok(serde_json::Value::deserialize(deserializer)?.to_string())
    }
}

/// For credentials headers the scheme (`Bearer`, `Basic`) is kept: it tells which kind of
/// auth a client used, which is what debugging auth emulation needs, and it is no secret.
fn redacted_value(name: &HeaderName, value: &[u8]) -> String {
    let carries_scheme = name == header::AUTHORIZATION || name == header::PROXY_AUTHORIZATION;
    let scheme = value.iter().position(|&b| b == b' ').map(|at| &value[..at]);
    match scheme {
        Some(scheme) if carries_scheme && !scheme.is_empty() => {
            let alphanumeric = scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
            if alphanumeric {
                format!("{} {REDACTED}", String::from_utf8_lossy(scheme))
            } else {
                REDACTED.to_owned()
            }
        }
        _ => REDACTED.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn pairs(headers: &HeaderMap, redact: &[HeaderName]) -> Headers {
        serde_json::from_str(&capture_headers(headers, redact)).unwrap()
    }

    fn capture(max_body_bytes: usize, redact: bool) -> Capture {
        let redact = if redact {
            default_redacted_headers()
        } else {
            Vec::new()
        };
        Capture {
            max_body_bytes,
            redact,
            redact_query: default_redacted_query(),
        }
    }

    /// Found by a fresh-user run: an API key sent in the query was logged in clear while
    /// the same key in a header was redacted.
    #[test]
    fn query_credentials_are_redacted() {
        let names = vec!["api_key".to_owned(), "qk".to_owned()];
        assert_eq!(
            capture_query("a=1&API_KEY=q-456&b=&qk=9", &names),
            "a=1&API_KEY=[redacted]&b=&qk=[redacted]"
        );
        assert_eq!(capture_query("a=1&b=2", &names), "a=1&b=2");
        assert_eq!(capture_query("api_key=x", &[]), "api_key=x");
    }

    #[test]
    fn short_text_body_is_kept_whole() {
        let body = StoredBody::capture(&Bytes::from_static(b"{\"a\":1}"), 64);
        assert_eq!(body.data, BodyData::Text(Bytes::from_static(b"{\"a\":1}")));
        assert_eq!(body.size, 7);
        assert!(!body.to_body().truncated);
    }

    #[test]
    fn long_body_is_cut_and_keeps_full_length() {
        let body = StoredBody::capture(&Bytes::from(vec![b'x'; 100]), 10);
        assert_eq!(body.data, BodyData::Text(Bytes::from("x".repeat(10))));
        let out = body.to_body();
        assert_eq!((out.size, out.truncated), (100, true));
    }

    #[test]
    fn cut_inside_a_character_stays_text() {
        // "é" is two bytes; a limit of 4 falls inside the second "é".
        let body = StoredBody::capture(&Bytes::from("aéé"), 4);
        assert_eq!(body.data, BodyData::Text(Bytes::from("aé")));
        assert_eq!(body.size, 5);
    }

    #[test]
    fn binary_body_is_stored_as_bytes_and_shown_as_base64() {
        let body = StoredBody::capture(&Bytes::from_static(&[0xff, 0x00, 0xfe]), 64);
        assert_eq!(
            body.data,
            BodyData::Binary(Bytes::from_static(&[0xff, 0x00, 0xfe]))
        );
        let out = body.to_body();
        assert_eq!(
            (out.encoding, out.data.as_str()),
            (BodyEncoding::Base64, "/wD+")
        );
        assert_eq!(StoredBody::try_from(out).unwrap(), body);
    }

    #[test]
    fn credentials_are_redacted_keeping_the_scheme() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def"),
        );
        headers.insert(header::COOKIE, HeaderValue::from_static("sid=1"));
        headers.insert("x-api-key", HeaderValue::from_static("k-123"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let got = pairs(&headers, &capture(64, true).redact);
        let expected = [
            ("authorization", "Bearer [redacted]"),
            ("cookie", "[redacted]"),
            ("x-api-key", "[redacted]"),
            ("accept", "*/*"),
        ];
        let expected: Headers = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn redaction_can_be_switched_off() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        let got = pairs(&headers, &capture(64, false).redact);
        assert_eq!(
            got,
            vec![("authorization".to_owned(), "Basic dTpw".to_owned())]
        );
    }

    #[test]
    fn repeated_headers_keep_every_value() {
        let mut headers = HeaderMap::new();
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        let got = pairs(&headers, &[]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], ("x-tag".to_owned(), "b".to_owned()));
    }

    #[test]
    fn row_takes_path_query_and_user_agent_from_the_record() {
        let mut record = LogRecord {
            uri: "/pets/7?limit=3".parse().unwrap(),
            duration: std::time::Duration::from_micros(1234),
            ..Default::default()
        };
        record
            .request_headers
            .insert(header::USER_AGENT, HeaderValue::from_static("curl/8"));
        let row = Row::capture(record, &capture(64, true));
        assert_eq!(
            (row.path.as_str(), row.query.as_str()),
            ("/pets/7", "limit=3")
        );
        assert_eq!(row.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(row.duration_us, 1234);
    }
}
