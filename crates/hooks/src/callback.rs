//! OAS 3 callbacks made ready once at start: method, URL expression, and a body built from
//! the callback operation's example or, without one, generated from its schema.

use bytes::Bytes;
use engine::generate::Generator;
use engine::schema::{Direction, SchemaContext};
use serde_json::Value;
use spec::{Api, Callback};

/// One callback request of an operation, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub name: String,
    /// The callback's key: a URL with runtime expressions in it.
    pub expression: String,
    pub method: http::Method,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// The prepared callbacks of every operation, by operation index.
pub(crate) fn prepare(api: &Api, seed: u64) -> Vec<Vec<Prepared>> {
    let ctx = SchemaContext {
        root: &api.root,
        legacy: api.version.is_legacy_schema_dialect(),
        direction: Direction::Request,
    };
    let generator = Generator::new(ctx);
    api.operations
        .iter()
        .map(|op| {
            op.callbacks
                .iter()
                .map(|callback| prepare_one(callback, &generator, ctx, seed))
                .collect()
        })
        .collect()
}

fn prepare_one(
    callback: &Callback,
    generator: &Generator<'_>,
    ctx: SchemaContext<'_>,
    seed: u64,
) -> Prepared {
    let method =
        http::Method::from_bytes(callback.method.as_str().as_bytes()).unwrap_or(http::Method::POST);
    let media = callback
        .request_body
        .as_ref()
        .and_then(|body| body.content.first());
    let (content_type, body) = match media {
        None => (None, Bytes::new()),
        Some(media) => {
            let value = media
                .example
                .clone()
                .or_else(|| media.examples.first().map(|(_, v)| v.clone()))
                .or_else(|| media.schema.as_ref().map(|s| generator.generate(s, seed)))
                .unwrap_or(Value::Null);
            let body =
                engine::media::encode_body(&media.media_type, &value, media.schema.as_ref(), ctx);
            (Some(media.media_type.clone()), body)
        }
    };
    Prepared {
        name: callback.name.clone(),
        expression: callback.expression.clone(),
        method,
        content_type,
        body,
    }
}
