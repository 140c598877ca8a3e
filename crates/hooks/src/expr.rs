//! OAS runtime expressions in callback URLs: `{$request.body#/callbackUrl}`,
//! `{$request.query.x}`, `{$request.header.x}`, `{$request.path.x}`, `{$url}`, `{$method}`,
//! `{$statusCode}`, `{$response.body#/...}`, `{$response.header.x}`, resolved from the
//! request that was answered.

use http::HeaderMap;
use serde_json::Value;

/// What expressions are resolved against.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub method: &'a str,
    /// The full URL of the request as the mock received it.
    pub url: &'a str,
    pub status: u16,
    pub query: Option<&'a str>,
    /// Path parameters by name (see [`path_params`]).
    pub path_params: &'a [(String, String)],
    pub request_headers: &'a HeaderMap,
    pub request_body: &'a [u8],
    pub response_headers: &'a HeaderMap,
    pub response_body: &'a [u8],
}

/// Replaces every `{$...}` in `template` with its value; a template that is one bare
/// expression (`$request.body#/url`) is resolved whole. Fails naming the expression that
/// has no value.
pub fn resolve(template: &str, source: &Source<'_>) -> Result<String, String> {
    if template.starts_with('$') {
        return evaluate(template, source);
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{$") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed expression in '{template}'"));
        };
        out.push_str(&evaluate(&after[..close], source)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn evaluate(expression: &str, source: &Source<'_>) -> Result<String, String> {
    let missing = |what: String| format!("'{expression}' has no value: {what}");
    match expression {
        "$url" => return Ok(source.url.to_owned()),
        "$method" => return Ok(source.method.to_owned()),
        "$statusCode" => return Ok(source.status.to_string()),
        _ => {}
    }
    if let Some(rest) = expression.strip_prefix("$request.") {
        if let Some(pointer) = rest.strip_prefix("body") {
            return body_value(source.request_body, pointer)
                .ok_or_else(|| missing(format!("the request body has nothing at '{pointer}'")));
        }
        if let Some(name) = rest.strip_prefix("query.") {
            return query_value(source.query, name)
                .ok_or_else(|| missing(format!("the request has no query parameter '{name}'")));
        }
        if let Some(name) = rest.strip_prefix("header.") {
            return header_value(source.request_headers, name)
                .ok_or_else(|| missing(format!("the request has no header '{name}'")));
        }
        if let Some(name) = rest.strip_prefix("path.") {
            return source
                .path_params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| missing(format!("the path has no parameter '{name}'")));
        }
    }
    if let Some(rest) = expression.strip_prefix("$response.") {
        if let Some(pointer) = rest.strip_prefix("body") {
            return body_value(source.response_body, pointer)
                .ok_or_else(|| missing(format!("the response body has nothing at '{pointer}'")));
        }
        if let Some(name) = rest.strip_prefix("header.") {
            return header_value(source.response_headers, name)
                .ok_or_else(|| missing(format!("the response has no header '{name}'")));
        }
    }
    Err(format!("unknown runtime expression '{expression}'"))
}

/// The value at `pointer` (`#/a/b`, or empty for the whole body) of a JSON body, as text:
/// strings as they are, other values as JSON.
fn body_value(body: &[u8], pointer: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let pointer = match pointer {
        "" => "",
        p => p.strip_prefix('#')?,
    };
    match value.pointer(pointer)? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_pairs(query?)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// The pairs of a query string, percent- and plus-decoded.
pub fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key), decode(value))
    })
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Path parameter values of `path` by the names in `template`. The template is aligned with
/// the end of the path, so a served base path (`/v1`) in front does not matter. Only
/// parameters that fill a whole segment are read.
pub fn path_params(template: &str, path: &str) -> Vec<(String, String)> {
    let names: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let values: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if values.len() < names.len() {
        return Vec::new();
    }
    let values = &values[values.len() - names.len()..];
    names
        .iter()
        .zip(values)
        .filter_map(|(name, value)| {
            let name = name.strip_prefix('{')?.strip_suffix('}')?;
            let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            (!name.contains(['{', '}'])).then(|| (name.to_owned(), value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<T>(f: impl FnOnce(&Source<'_>) -> T) -> T {
        let mut request_headers = HeaderMap::new();
        request_headers.insert("x-callback", "http://127.0.0.1:9/h".parse().unwrap());
        let mut response_headers = HeaderMap::new();
        response_headers.insert("location", "/orders/42".parse().unwrap());
        let params = path_params("/orders/{orderId}", "/v1/orders/42");
        let source = Source {
            method: "POST",
            url: "http://127.0.0.1:8000/v1/orders/42?notify=http%3A%2F%2Fa.test%2Fx",
            status: 201,
            query: Some("notify=http%3A%2F%2Fa.test%2Fx&tag=a+b"),
            path_params: &params,
            request_headers: &request_headers,
            request_body: br#"{"callbackUrl":"http://127.0.0.1:9/cb","n":3}"#,
            response_headers: &response_headers,
            response_body: br#"{"id":42,"status":"placed"}"#,
        };
        f(&source)
    }

    #[test]
    fn every_expression_kind_resolves() {
        with(|s| {
            let cases = [
                ("{$request.body#/callbackUrl}", "http://127.0.0.1:9/cb"),
                ("{$request.body#/n}", "3"),
                ("{$request.query.notify}", "http://a.test/x"),
                ("{$request.query.tag}", "a b"),
                ("{$request.header.X-Callback}", "http://127.0.0.1:9/h"),
                ("{$request.path.orderId}", "42"),
                ("{$method}", "POST"),
                ("{$statusCode}", "201"),
                ("{$response.body#/status}", "placed"),
                ("{$response.header.location}", "/orders/42"),
                ("$request.body#/callbackUrl", "http://127.0.0.1:9/cb"),
            ];
            for (template, expected) in cases {
                assert_eq!(resolve(template, s).unwrap(), expected, "{template}");
            }
            assert!(
                resolve("{$url}", s)
                    .unwrap()
                    .starts_with("http://127.0.0.1:8000/v1/")
            );
        });
    }

    #[test]
    fn expressions_inside_text_are_replaced_in_place() {
        with(|s| {
            assert_eq!(
                resolve(
                    "{$request.body#/callbackUrl}/orders/{$response.body#/id}?s={$statusCode}",
                    s
                )
                .unwrap(),
                "http://127.0.0.1:9/cb/orders/42?s=201"
            );
            assert_eq!(resolve("http://plain/", s).unwrap(), "http://plain/");
        });
    }

    #[test]
    fn missing_values_and_unknown_expressions_are_named() {
        with(|s| {
            let err = resolve("{$request.body#/nowhere}", s).unwrap_err();
            assert!(
                err.contains("'$request.body#/nowhere' has no value"),
                "{err}"
            );
            let err = resolve("{$request.query.none}", s).unwrap_err();
            assert!(err.contains("no query parameter 'none'"), "{err}");
            let err = resolve("{$request.cookie.x}", s).unwrap_err();
            assert!(err.contains("unknown runtime expression"), "{err}");
            let err = resolve("{$url", s).unwrap_err();
            assert!(err.contains("unclosed"), "{err}");
        });
    }

    #[test]
    fn path_parameters_align_with_the_end_of_the_path() {
        assert_eq!(
            path_params("/a/{x}/b/{y}", "/v1/a/1/b/two%20words"),
            vec![
                ("x".to_owned(), "1".to_owned()),
                ("y".to_owned(), "two words".to_owned())
            ]
        );
        assert!(path_params("/a/{x}/b", "/a").is_empty());
    }
}
