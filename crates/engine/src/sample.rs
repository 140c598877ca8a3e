//! Building valid requests from a description: used by tests and the load tester.
//!
//! Values come from the schema-driven [`Generator`] and are written in each parameter's
//! style. Every value is read back with the validator's own parsers before it is used; a
//! value that does not survive the round trip (a list item holding its delimiter, an empty
//! list that an exploded style cannot express, a header value with non-ASCII text) is
//! generated again with another seed.

mod serialize;

use std::borrow::Cow;

use serde_json::Value;
use spec::{Api, MediaType, Operation, ParamLocation, ParamStyle, Parameter};

use crate::generate::Generator;
use crate::schema::{Direction, SchemaContext};
use crate::validate::shape::{Raw, Shape, coerce};
use crate::validate::style::{self, Field, Fields};

/// A request that the mock accepts for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRequest {
    pub method: &'static str,
    /// The path with parameters filled in and percent-encoded, plus the query string if any
    /// (`/pets/12?limit=3`). It starts with the description's first base path (OAS3 server
    /// path or Swagger `basePath`), which the mock always serves under.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    /// Content type and bytes.
    pub body: Option<(String, Vec<u8>)>,
}

/// How many seeds a value gets before the last one is used as it is.
const ATTEMPTS: u64 = 8;

/// Header parameters that OpenAPI says to ignore; the validator ignores them too.
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

/// A valid request for `op`, deterministic for `seed`. Required parameters are always
/// present; each optional one is present for about half of the seeds.
pub fn sample_request(api: &Api, op: &Operation, seed: u64) -> SampleRequest {
    let ctx = SchemaContext {
        root: &api.root,
        legacy: api.version.is_legacy_schema_dialect(),
        direction: Direction::Request,
    };
    let sampler = Sampler {
        generator: Generator::new(ctx),
        root: &api.root,
    };

    let mut path_values: Vec<(&str, String)> = Vec::new();
    let mut query = Vec::new();
    let mut cookies = Vec::new();
    let mut headers = Vec::new();
    for (i, p) in op.parameters.iter().enumerate() {
        let seed = mix(seed, i as u64 + 1);
        let wanted = p.required || p.location == ParamLocation::Path || mix(seed, 0x5eed) & 1 == 0;
        if !wanted {
            continue;
        }
        match p.location {
            ParamLocation::Path => path_values.push((&p.name, sampler.path_value(p, seed))),
            ParamLocation::Query => query.extend(sampler.pairs(p, seed)),
            ParamLocation::Cookie => cookies.extend(sampler.pairs(p, seed)),
            ParamLocation::Header => {
                if let Some(value) = sampler.header_value(p, seed) {
                    headers.push((p.name.clone(), value));
                }
            }
        }
    }
    if !cookies.is_empty() {
        headers.push(("cookie".to_owned(), serialize::encode_cookies(&cookies)));
    }

    let mut path_and_query = api.base_paths.first().cloned().unwrap_or_default();
    path_and_query.push_str(&fill_template(&op.path, &path_values));
    if !query.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&serialize::encode_query(&query));
    }
    let body = op.request_body.as_ref().and_then(|rb| {
        let media = pick_media(&rb.content)?;
        Some(sampler.body(media, rb.required, mix(seed, 0xb0d7)))
    });
    SampleRequest {
        method: op.method.as_str(),
        path_and_query,
        headers,
        body,
    }
}

/// A 64-bit mixer (splitmix64's finaliser): independent seeds per parameter and attempt.
fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Replaces each `{name}` of `template` with its serialised value; names without a declared
/// parameter get a placeholder so the path still routes.
fn fill_template(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str("sample"),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// JSON first (a `*/*` with a schema is sent as JSON too), then urlencoded form, then
/// multipart, else the first declared.
fn pick_media(content: &[MediaType]) -> Option<&MediaType> {
    let essence = |m: &MediaType| crate::validate::media_essence(&m.media_type);
    content
        .iter()
        .find(|m| crate::media::is_json(&m.media_type))
        .or_else(|| {
            content
                .iter()
                .find(|m| m.schema.is_some() && essence(m).starts_with("*/"))
        })
        .or_else(|| {
            content
                .iter()
                .find(|m| essence(m) == "application/x-www-form-urlencoded")
        })
        .or_else(|| content.iter().find(|m| essence(m) == "multipart/form-data"))
        .or_else(|| content.first())
}

struct Sampler<'a> {
    generator: Generator<'a>,
    root: &'a Value,
}

impl Sampler<'_> {
    fn shape(&self, p: &Parameter) -> Shape {
        p.schema
            .as_ref()
            .map(|s| Shape::of(s, self.root))
            .unwrap_or_default()
    }

    fn value(&self, schema: Option<&Value>, example: Option<&Value>, seed: u64) -> Value {
        match (schema, example) {
            (Some(schema), _) => self.generator.generate(schema, seed),
            (None, Some(example)) => example.clone(),
            (None, None) => Value::String("sample".to_owned()),
        }
    }

    /// The first value, over successive seeds, that `accept` takes.
    fn first_accepted<T>(
        &self,
        p: &Parameter,
        seed: u64,
        mut accept: impl FnMut(&Value) -> Option<T>,
    ) -> Option<T> {
        (0..ATTEMPTS).find_map(|attempt| accept(&self.param_value(p, mix(seed, attempt))))
    }

    fn param_value(&self, p: &Parameter, seed: u64) -> Value {
        content_encoded(p, self.value(p.schema.as_ref(), p.example.as_ref(), seed))
    }

    fn path_value(&self, p: &Parameter, seed: u64) -> String {
        let shape = self.shape(p);
        let round_trips = |value: &Value| {
            let written = serialize::path(&p.name, value, p.style, p.explode);
            if written.is_empty() {
                return None;
            }
            let decoded = percent_encoding::percent_decode_str(&written)
                .decode_utf8()
                .ok()?;
            let raw =
                style::parse_path(&decoded, &p.name, p.style, p.explode, container(p, &shape))
                    .ok()?;
            (read_back(raw, p, &shape) == *value).then_some(written)
        };
        if let Some(written) = self.first_accepted(p, seed, round_trips) {
            return written;
        }
        let value = self.param_value(p, mix(seed, 0));
        let written = serialize::path(&p.name, &value, p.style, p.explode);
        if written.is_empty() {
            "sample".to_owned()
        } else {
            written
        }
    }

    /// Query and cookie parameters as pairs.
    fn pairs(&self, p: &Parameter, seed: u64) -> Vec<(String, String)> {
        let shape = self.shape(p);
        let style = if p.location == ParamLocation::Cookie {
            ParamStyle::Form
        } else {
            p.style
        };
        let write = |value: &Value| serialize::pairs(&p.name, value, style, p.explode);
        let round_trips = |value: &Value| {
            let written = write(value);
            let fields = written
                .iter()
                .map(|(k, v)| Field {
                    key: Cow::Borrowed(k.as_str()),
                    value: Raw::Text(Cow::Borrowed(v.as_str())),
                })
                .collect();
            let mut fields = Fields::new(fields);
            let container = container(p, &shape);
            let exploded_object = p.content_type.is_none()
                && container == crate::validate::shape::Container::Object
                && style == ParamStyle::Form
                && p.explode;
            let raw = if exploded_object {
                fields.exploded_object(&shape, &|_| false).ok()?
            } else {
                fields.gather(&p.name, style, p.explode, container).ok()?
            }?;
            (read_back(raw, p, &shape) == *value).then(|| written.clone())
        };
        self.first_accepted(p, seed, round_trips)
            .unwrap_or_else(|| {
                let value = self.param_value(p, mix(seed, 0));
                write(&value)
            })
    }

    fn header_value(&self, p: &Parameter, seed: u64) -> Option<String> {
        if IGNORED_HEADERS.contains(&p.name.to_ascii_lowercase().as_str())
            || http::HeaderName::from_bytes(p.name.as_bytes()).is_err()
        {
            return None;
        }
        let shape = self.shape(p);
        let round_trips = |value: &Value| {
            let written = serialize::header(value, p.explode);
            let sendable = http::HeaderValue::from_str(&written).is_ok()
                && written.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
                && written.trim() == written;
            if !sendable {
                return None;
            }
            let raw = style::parse_header(Cow::Borrowed(&written), p.explode, container(p, &shape));
            (read_back(raw, p, &shape) == *value).then(|| written.clone())
        };
        self.first_accepted(p, seed, round_trips).or_else(|| {
            // Optional headers that cannot be written faithfully are left out.
            if !p.required {
                return None;
            }
            let value = self.param_value(p, mix(seed, 0));
            let written = serialize::header(&value, p.explode);
            let safe: String = written
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .collect();
            Some(safe.trim().to_owned())
        })
    }

    fn body(&self, media: &MediaType, required: bool, seed: u64) -> (String, Vec<u8>) {
        let content_type = concrete_type(&media.media_type, media.schema.is_some());
        let essence = crate::validate::media_essence(&content_type);
        let shape = media
            .schema
            .as_ref()
            .map(|s| Shape::of(s, self.root))
            .unwrap_or_default();
        let generate = |attempt: u64| match (&media.schema, media_example(media)) {
            (Some(schema), _) => self.generator.generate(schema, mix(seed, attempt)),
            (None, Some(example)) => example.clone(),
            (None, None) => Value::Object(serde_json::Map::new()),
        };

        if crate::media::is_json(&essence) {
            let value = generate(0);
            return (
                content_type,
                serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec()),
            );
        }
        if essence == "application/x-www-form-urlencoded" || essence == "multipart/form-data" {
            let multipart = essence == "multipart/form-data";
            let boundary = format!("mockloop-sample-{seed:016x}");
            let full_type = if multipart {
                format!("multipart/form-data; boundary={boundary}")
            } else {
                content_type
            };
            let encode = |value: &Value| {
                if multipart {
                    let part_types: Vec<(String, String)> = media
                        .encoding
                        .iter()
                        .filter_map(|(n, e)| e.content_type.clone().map(|t| (n.clone(), t)))
                        .collect();
                    let parts = serialize::multipart_parts(value, &shape, &part_types);
                    serialize::multipart_body(&parts, &boundary)
                } else {
                    let encodings: Vec<(String, Option<ParamStyle>, Option<bool>)> = media
                        .encoding
                        .iter()
                        .map(|(n, e)| (n.clone(), e.style, e.explode))
                        .collect();
                    serialize::form_body(value, &shape, &encodings)
                }
            };
            let mut first = None;
            for attempt in 0..ATTEMPTS {
                let value = generate(attempt);
                let bytes = encode(&value);
                let acceptable = !bytes.is_empty() || !required;
                if acceptable
                    && crate::validate::body_reads_back(media, &shape, &full_type, &bytes, &value)
                {
                    return (full_type, bytes);
                }
                first.get_or_insert(bytes);
            }
            return (full_type, first.unwrap_or_default());
        }

        let value = generate(0);
        let ctx = SchemaContext {
            root: self.root,
            legacy: false,
            direction: Direction::Request,
        };
        let mut bytes =
            crate::media::encode_body(&content_type, &value, media.schema.as_ref(), ctx).to_vec();
        if bytes.is_empty() {
            // An empty body counts as no body; a required one must carry something.
            bytes = b"sample".to_vec();
        }
        (content_type, bytes)
    }
}

fn container(p: &Parameter, shape: &Shape) -> crate::validate::shape::Container {
    if p.content_type.is_some() {
        crate::validate::shape::Container::Scalar
    } else {
        shape.container(false)
    }
}

/// What the validator would read from `raw`, for the round-trip check.
fn read_back(raw: Raw<'_>, p: &Parameter, shape: &Shape) -> Value {
    if p.content_type.is_some() {
        return match raw {
            Raw::Text(text) => Value::String(text.into_owned()),
            _ => Value::Null,
        };
    }
    coerce(raw, shape, false)
}

/// Parameters described with `content` carry their value as text of that media type; the
/// generated value is turned into that text (JSON) before it is written in its style.
fn content_encoded(p: &Parameter, value: Value) -> Value {
    match p.content_type.as_deref() {
        Some(ct) if crate::media::is_json(ct) => Value::String(value.to_string()),
        Some(_) => Value::String(serialize::text(&value).into_owned()),
        None => value,
    }
}

fn media_example(media: &MediaType) -> Option<&Value> {
    media
        .example
        .as_ref()
        .or_else(|| media.examples.first().map(|(_, v)| v))
}

/// A media type a request can carry: wildcards are made concrete.
fn concrete_type(declared: &str, has_schema: bool) -> String {
    let essence = crate::validate::media_essence(declared);
    match essence.split_once('/') {
        Some(("*", _)) | None if has_schema => "application/json".to_owned(),
        Some(("*", _)) | None => "application/octet-stream".to_owned(),
        Some(("text", "*")) => "text/plain".to_owned(),
        Some(("image", "*")) => "image/png".to_owned(),
        Some(("application", sub)) if sub.starts_with("*+") => {
            format!("application/vnd.sample{}", &sub[1..])
        }
        Some((top, "*")) => format!("{top}/octet-stream"),
        Some(_) => declared.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests;
