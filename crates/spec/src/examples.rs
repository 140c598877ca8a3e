//! Named examples resolved to their values, including `externalValue` files.

use serde_json::Value;
use url::Url;

use crate::diagnostics::{child, kind, split_bundled};
use crate::normalise::Normaliser;
use crate::parse::{decode, parse};

impl<'a> Normaliser<'a, '_> {
    /// The values of an OAS 3 `examples` map, in declaration order. Examples whose value
    /// cannot be had are warned about and left out: serving works without them.
    pub(crate) fn named_examples(
        &mut self,
        value: &'a Value,
        pointer: &str,
        media_type: Option<&str>,
    ) -> Vec<(String, Value)> {
        let Value::Object(map) = value else {
            self.warn(
                pointer,
                format!(
                    "'examples' must be a map of example objects, found {}; ignored",
                    kind(value)
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(map.len());
        for (name, example) in map {
            // A dangling reference was already reported by the bundler.
            let Some((example, at)) = self.deref(example, &child(pointer, name)) else {
                continue;
            };
            let Value::Object(example) = example else {
                self.warn(
                    &at,
                    format!(
                        "example '{name}' is {}, not an example object; ignored",
                        kind(example)
                    ),
                );
                continue;
            };
            if let Some(value) = example.get("value") {
                out.push((name.clone(), value.clone()));
                continue;
            }
            match example.get("externalValue") {
                Some(Value::String(location)) => {
                    if let Some(value) = self.external_example(location, &at, media_type) {
                        out.push((name.clone(), value));
                    }
                }
                _ => self.warn(
                    &at,
                    format!("example '{name}' has neither 'value' nor 'externalValue'; ignored"),
                ),
            }
        }
        out
    }

    /// Loads an `externalValue`, relative to the document the example is written in.
    fn external_example(
        &mut self,
        location: &str,
        at: &str,
        media_type: Option<&str>,
    ) -> Option<Value> {
        let (doc, _) = split_bundled(at);
        let loaded = match (self.docs.get(doc), self.fetcher) {
            (Some(doc), Some(fetcher)) => match doc.url.join(location) {
                // A description fetched from a server must not read files of the machine
                // that loads it (and serve them as examples).
                Ok(url) if url.scheme() == "file" && doc.url.scheme() != "file" => Err(format!(
                    "it names a local file, which a document read over {} cannot refer to",
                    doc.url.scheme()
                )),
                Ok(url) => {
                    let key = url.to_string();
                    match self.external_examples.get(&key) {
                        Some(cached) => cached
                            .clone()
                            .ok_or_else(|| "see the warning above".to_owned()),
                        None => {
                            let loaded = fetcher
                                .read(&url)
                                .and_then(|bytes| external_value(bytes, media_type, &url));
                            self.external_examples
                                .insert(key, loaded.as_ref().ok().cloned());
                            loaded
                        }
                    }
                }
                Err(e) => Err(format!("not a valid location: {e}")),
            },
            _ => Err("only examples of a description being loaded can be fetched".to_owned()),
        };
        match loaded {
            Ok(value) => Some(value),
            Err(reason) => {
                self.warn(
                    at,
                    format!(
                        "cannot load external example '{location}': {reason}; example left out"
                    ),
                );
                None
            }
        }
    }
}

/// The value of an external example: parsed when it is JSON or YAML (by media type or file
/// extension), else its text.
fn external_value(bytes: Vec<u8>, media_type: Option<&str>, url: &Url) -> Result<Value, String> {
    let essence = media_type
        .map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase())
        .unwrap_or_default();
    let path = url.path().to_ascii_lowercase();
    let structured = essence.ends_with("json")
        || essence.ends_with("yaml")
        || [".json", ".yaml", ".yml"]
            .iter()
            .any(|ext| path.ends_with(ext));
    let text = decode(bytes).map_err(|_| "it is not text".to_owned())?;
    if structured {
        parse(&text).map(|(value, _)| value).map_err(|e| e.message)
    } else {
        Ok(Value::String(text))
    }
}
