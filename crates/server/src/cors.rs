//! CORS: answering preflight requests and marking responses for allowed origins.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

/// Which origins may call the mock from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Any origin (the default: a mock is usually called from a local dev server).
    Any,
    /// Only these origins, compared exactly (`https://app.example.com`).
    List(Vec<String>),
    /// No CORS headers at all; preflights reach the description's OPTIONS operations.
    Off,
}

impl CorsPolicy {
    /// Parses `*`, `off`, or a comma-separated list of origins.
    pub fn parse(text: &str) -> CorsPolicy {
        match text.trim() {
            "*" | "" => CorsPolicy::Any,
            "off" | "none" | "false" => CorsPolicy::Off,
            list => CorsPolicy::List(
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .collect(),
            ),
        }
    }

    fn allows(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match self {
            CorsPolicy::Any => Some(origin.clone()),
            CorsPolicy::List(list) => {
                let origin_text = origin.to_str().ok()?;
                list.iter()
                    .any(|o| o == origin_text)
                    .then(|| origin.clone())
            }
            CorsPolicy::Off => None,
        }
    }

    /// Whether the request is a CORS preflight this policy answers.
    pub fn is_preflight(&self, method: &Method, headers: &HeaderMap) -> bool {
        *self != CorsPolicy::Off
            && method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The answer to a preflight for a path that declares `methods`.
    pub fn preflight(&self, headers: &HeaderMap, methods: &[&str]) -> (StatusCode, HeaderMap) {
        let mut out = HeaderMap::new();
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| self.allows(o)) else {
            return (StatusCode::FORBIDDEN, out);
        };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        (StatusCode::NO_CONTENT, out)
    }

    /// Adds the headers an ordinary (non-preflight) response needs for the request's origin.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let Some(origin) = request.get(header::ORIGIN).and_then(|o| self.allows(o)) else {
            return;
        };
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        response.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("*"),
        );
        response.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn preflight_needs_origin_and_requested_method() {
        let any = CorsPolicy::Any;
        let pre = headers(&[
            ("origin", "http://a"),
            ("access-control-request-method", "PUT"),
        ]);
        assert!(any.is_preflight(&Method::OPTIONS, &pre));
        assert!(!any.is_preflight(&Method::OPTIONS, &headers(&[("origin", "http://a")])));
        assert!(!CorsPolicy::Off.is_preflight(&Method::OPTIONS, &pre));
    }

    #[test]
    fn listed_origins_only() {
        let policy = CorsPolicy::parse("http://a, http://b/");
        let pre = headers(&[
            ("origin", "http://b"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-token"),
        ]);
        let (status, out) = policy.preflight(&pre, &["GET", "PUT"]);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(out["access-control-allow-origin"], "http://b");
        assert_eq!(out["access-control-allow-methods"], "GET, PUT");
        assert_eq!(out["access-control-allow-headers"], "x-token");
        let other = headers(&[
            ("origin", "http://c"),
            ("access-control-request-method", "PUT"),
        ]);
        assert_eq!(policy.preflight(&other, &["GET"]).0, StatusCode::FORBIDDEN);
    }
}
