//! What a run sends: a base URL and request kinds built once into ready HTTP parts, and the
//! weighted, seeded choice between them.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

use crate::LoadError;

/// Where requests go: `http://host:port` plus a path prefix that every request path is
/// appended to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub host: String,
    pub port: u16,
    /// Without a trailing slash; empty for the root.
    pub prefix: String,
    /// `host:port` as the Host header carries it.
    authority: String,
}

impl BaseUrl {
    /// Reads an `http://` URL; its path, if any, becomes the prefix. Any query is refused
    /// here since a base cannot carry one.
    pub fn parse(url: &str) -> Result<BaseUrl, LoadError> {
        let (base, path) = split_url(url)?;
        if path.query().is_some() {
            return Err(url_error(url, "a base URL cannot have a query"));
        }
        Ok(BaseUrl {
            prefix: path.path().trim_end_matches('/').to_owned(),
            ..base
        })
    }

    /// `http://host:port` followed by the prefix.
    pub fn as_url(&self) -> String {
        format!("http://{}{}", self.authority, self.prefix)
    }
}

fn url_error(url: &str, reason: impl Into<String>) -> LoadError {
    LoadError::Url {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

/// Splits a full URL into its base (with an empty prefix) and its path and query.
fn split_url(url: &str) -> Result<(BaseUrl, PathAndQuery), LoadError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| url_error(url, e.to_string()))?;
    match uri.scheme() {
        Some(s) if *s == Scheme::HTTP => {}
        Some(s) if *s == Scheme::HTTPS => {
            return Err(url_error(url, "https is not supported; use an http:// URL"));
        }
        Some(other) => return Err(url_error(url, format!("unsupported scheme '{other}'"))),
        None => return Err(url_error(url, "expected an absolute http:// URL")),
    }
    let authority = uri.authority().ok_or_else(|| url_error(url, "no host"))?;
    if authority.as_str().contains('@') {
        return Err(url_error(url, "credentials in the URL are not supported"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    Ok((
        BaseUrl {
            host: host.to_owned(),
            port,
            prefix: String::new(),
            authority: authority.as_str().to_owned(),
        },
        path,
    ))
}

/// A request kind as a user writes it, before it is checked and built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// How reports name this kind; unique within a target.
    pub name: String,
    pub method: String,
    /// Appended to the base URL's prefix; may carry a query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Relative share of requests of this kind; at least 1.
    pub weight: u32,
}

/// A request kind, checked and written out once as the bytes sent on the wire, so nothing
/// is parsed, formatted or allocated per request.
#[derive(Debug, Clone)]
pub struct RequestKind {
    pub name: String,
    pub method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// The whole HTTP/1.1 request: request line, headers, blank line, body.
    wire: Bytes,
    pub weight: u32,
}

impl RequestKind {
    /// Checks `spec` and builds its parts for requests to `base`.
    pub fn new(base: &BaseUrl, spec: RequestSpec) -> Result<RequestKind, LoadError> {
        let invalid = |reason: String| LoadError::Request {
            name: spec.name.clone(),
            reason,
        };
        let method = Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| invalid(format!("'{}' is not an HTTP method", spec.method)))?;
        if spec.weight == 0 {
            return Err(invalid("weight must be at least 1".to_owned()));
        }
        let path = if spec.path.starts_with('/') {
            format!("{}{}", base.prefix, spec.path)
        } else {
            format!("{}/{}", base.prefix, spec.path)
        };
        let path_and_query: PathAndQuery = path
            .parse()
            .map_err(|_| invalid(format!("'{path}' is not a valid request path")))?;
        let mut headers = HeaderMap::with_capacity(spec.headers.len() + 1);
        headers.insert(
            HOST,
            HeaderValue::from_str(&base.authority)
                .map_err(|_| invalid(format!("'{}' cannot be a Host header", base.authority)))?,
        );
        for (name, value) in &spec.headers {
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| invalid(format!("'{name}' is not a header name")))?;
            if header == CONTENT_LENGTH || header == TRANSFER_ENCODING {
                // The body is sent whole with its own length; other framing would break the
                // connection.
                continue;
            }
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| invalid(format!("the value of header '{name}' is not valid")))?;
            headers.append(header, value);
        }
        let body = Bytes::from(spec.body);
        let wire = wire(&method, &path_and_query, &headers, &body);
        Ok(RequestKind {
            name: spec.name,
            method,
            uri: Uri::from(path_and_query),
            headers,
            body,
            wire,
            weight: spec.weight,
        })
    }

    /// The path and query sent (origin form).
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", PathAndQuery::as_str)
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.headers.get(CONTENT_TYPE)
    }

    /// The request as sent.
    pub(crate) fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Answers to HEAD have no body, whatever their headers say.
    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// Writes a request out in HTTP/1.1. Methods that usually carry a body get a
/// `content-length` even when it is empty, since some servers refuse them without one.
fn wire(method: &Method, path: &PathAndQuery, headers: &HeaderMap, body: &Bytes) -> Bytes {
    let mut out = Vec::with_capacity(64 + path.as_str().len() + headers.len() * 32 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_str().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let carries_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if !body.is_empty() || carries_body {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// A base URL and the request kinds sent to it.
#[derive(Debug, Clone)]
pub struct Target {
    pub base: BaseUrl,
    pub kinds: Vec<RequestKind>,
    /// How reports describe the target (`GET http://...`, a scenario file, a description).
    pub description: String,
}

impl Target {
    /// One URL with one method, headers and body.
    pub fn single(
        url: &str,
        method: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Target, LoadError> {
        let (base, path) = split_url(url)?;
        let name = format!("{method} {}", path.as_str());
        let spec = RequestSpec {
            name,
            method: method.to_owned(),
            path: path.as_str().to_owned(),
            headers: headers.to_vec(),
            body,
            weight: 1,
        };
        let kind = RequestKind::new(&base, spec)?;
        Ok(Target {
            description: format!("{} {url}", kind.method),
            base,
            kinds: vec![kind],
        })
    }

    /// Several request kinds under one base URL; names must be unique.
    pub fn many(
        base: BaseUrl,
        specs: Vec<RequestSpec>,
        description: String,
    ) -> Result<Target, LoadError> {
        let kinds = specs
            .into_iter()
            .map(|spec| RequestKind::new(&base, spec))
            .collect::<Result<Vec<_>, _>>()?;
        Target::from_kinds(base, kinds, description)
    }

    /// Request kinds built already (see [`RequestKind::new`]); names must be unique.
    pub fn from_kinds(
        base: BaseUrl,
        kinds: Vec<RequestKind>,
        description: String,
    ) -> Result<Target, LoadError> {
        if kinds.is_empty() {
            return Err(LoadError::Plan("no requests to send".to_owned()));
        }
        for (i, kind) in kinds.iter().enumerate() {
            if kinds[..i].iter().any(|k| k.name == kind.name) {
                return Err(LoadError::Request {
                    name: kind.name.clone(),
                    reason: "the name is used by another request".to_owned(),
                });
            }
        }
        Ok(Target {
            base,
            kinds,
            description,
        })
    }
}

/// Picks the next request kind by weight; each task has its own seeded generator, so a run
/// with the same seed and users sends the same sequence per user.
#[derive(Debug, Clone)]
pub(crate) struct Picker {
    weights: Option<WeightedIndex<u32>>,
}

impl Picker {
    pub fn new(kinds: &[RequestKind]) -> Picker {
        let weights = (kinds.len() > 1)
            .then(|| WeightedIndex::new(kinds.iter().map(|k| k.weight)).ok())
            .flatten();
        Picker { weights }
    }

    pub fn pick(&self, rng: &mut impl rand::Rng) -> usize {
        self.weights.as_ref().map_or(0, |w| w.sample(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn spec(name: &str, weight: u32) -> RequestSpec {
        RequestSpec {
            name: name.to_owned(),
            method: "GET".to_owned(),
            path: format!("/{name}"),
            headers: Vec::new(),
            body: Vec::new(),
            weight,
        }
    }

    #[test]
    fn single_url_keeps_path_query_and_host() {
        let target = Target::single(
            "http://127.0.0.1:8080/v1/books?limit=2",
            "POST",
            &[("Content-Type".into(), "application/json".into())],
            b"{}".to_vec(),
        )
        .unwrap();
        let kind = &target.kinds[0];
        assert_eq!(kind.name, "POST /v1/books?limit=2");
        assert_eq!(kind.path(), "/v1/books?limit=2");
        assert_eq!(kind.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(kind.content_type().unwrap(), "application/json");
        assert_eq!(
            (target.base.host.as_str(), target.base.port),
            ("127.0.0.1", 8080)
        );
        assert_eq!(
            std::str::from_utf8(kind.wire()).unwrap(),
            "POST /v1/books?limit=2 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\
             content-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn framing_headers_of_the_user_are_replaced_by_the_body_length() {
        let headers = [
            ("Content-Length".to_owned(), "99".to_owned()),
            ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
        ];
        let get = Target::single("http://h:1/", "GET", &headers, Vec::new()).unwrap();
        assert_eq!(get.kinds[0].wire(), b"GET / HTTP/1.1\r\nhost: h:1\r\n\r\n");
        let post = Target::single("http://h:1/", "POST", &headers, Vec::new()).unwrap();
        assert!(post.kinds[0].wire().ends_with(b"content-length: 0\r\n\r\n"));
        let head = Target::single("http://h:1/", "HEAD", &[], Vec::new()).unwrap();
        assert!(head.kinds[0].is_head());
        assert!(!head.kinds[0].wire().windows(6).any(|w| w == b"length"));
    }

    #[test]
    fn bad_urls_and_requests_are_explained() {
        let err = Target::single("https://example.test/", "GET", &[], Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid URL 'https://example.test/': https is not supported; use an http:// URL"
        );
        let err = Target::single("/books", "GET", &[], Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("expected an absolute http:// URL"),
            "{err}"
        );
        let err = Target::single("http://h/", "GE T", &[], Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid request 'GE T /': 'GE T' is not an HTTP method"
        );
        let base = BaseUrl::parse("http://localhost:9/api/").unwrap();
        assert_eq!(base.prefix, "/api");
        assert_eq!(base.port, 9);
        let err = Target::many(base, vec![spec("a", 1), spec("a", 2)], String::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid request 'a': the name is used by another request"
        );
    }

    #[test]
    fn paths_are_appended_to_the_base_prefix() {
        let base = BaseUrl::parse("http://127.0.0.1:1/v1").unwrap();
        let target = Target::many(base, vec![spec("books", 1)], "t".into()).unwrap();
        assert_eq!(target.kinds[0].path(), "/v1/books");
    }

    #[test]
    fn weighted_choice_is_deterministic_for_a_seed_and_follows_weights() {
        let base = BaseUrl::parse("http://127.0.0.1:1").unwrap();
        let target = Target::many(base, vec![spec("a", 1), spec("b", 3)], "t".into()).unwrap();
        let picker = Picker::new(&target.kinds);
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..4000).map(|_| picker.pick(&mut rng)).collect::<Vec<_>>()
        };
        let first = draw(7);
        assert_eq!(first, draw(7));
        assert_ne!(first, draw(8));
        let b = first.iter().filter(|&&i| i == 1).count();
        // Three quarters are expected; 4000 draws keep the share within a few points.
        assert!((2800..3200).contains(&b), "{b} of 4000 were 'b'");
    }

    #[test]
    fn one_kind_needs_no_randomness() {
        let base = BaseUrl::parse("http://127.0.0.1:1").unwrap();
        let target = Target::many(base, vec![spec("only", 5)], "t".into()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(Picker::new(&target.kinds).pick(&mut rng), 0);
    }
}
