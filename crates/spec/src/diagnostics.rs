//! Collects errors and warnings while loading, and places them in a file, a pointer and a line.

use std::collections::HashMap;

use url::Url;

use crate::locate::locate;
use crate::model::Diagnostic;
use crate::parse::Format;
use crate::source::display_name;

/// Key of the root member under which external documents are placed.
pub(crate) const BUNDLE_KEY: &str = "x-mockloop-bundled";

/// More errors than this are counted, not listed: after a few dozen the rest are noise.
const MAX_ERRORS: usize = 50;

/// Finding a line means reading the text again (for YAML, parsing it again), so only the
/// first few errors get one.
const MAX_LOCATED: usize = 10;

/// A document taking part in a load: the root (index 0) and each external document, numbered
/// as it is placed under `/x-mockloop-bundled/<n>`.
pub(crate) struct Document {
    pub url: Url,
    /// The name used in messages: the source as the user gave it for the root, else a path or
    /// URL.
    pub name: String,
    /// The text, kept only so that errors can be given a line. Empty if it could not be read.
    pub text: String,
    pub format: Format,
}

impl Document {
    pub(crate) fn new(url: Url, name: Option<String>) -> Document {
        let name = name.unwrap_or_else(|| display_name(&url));
        Document {
            url,
            name,
            text: String::new(),
            format: Format::Yaml,
        }
    }
}

/// A problem, placed in a document but not yet given a line.
#[derive(Debug)]
struct Problem {
    doc: usize,
    pointer: String,
    message: String,
    line: Option<u32>,
    column: Option<u32>,
    /// How often the same warning came up (warnings are folded by message).
    count: u32,
}

/// Errors and warnings of one load.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    errors: Vec<Problem>,
    errors_left_out: usize,
    warnings: Vec<Problem>,
    warning_index: HashMap<String, usize>,
}

impl Diagnostics {
    /// An error at `pointer` of the bundled root (pointers under `/x-mockloop-bundled/<n>` are
    /// placed in document `n`).
    pub(crate) fn error(&mut self, pointer: &str, message: String) {
        let (doc, pointer) = split_bundled(pointer);
        self.error_in(doc, pointer, message);
    }

    /// An error at `pointer` of document `doc`.
    pub(crate) fn error_in(&mut self, doc: usize, pointer: &str, message: String) {
        self.error_at(doc, pointer, message, None, None);
    }

    /// An error whose line is already known (from a parser).
    pub(crate) fn error_at(
        &mut self,
        doc: usize,
        pointer: &str,
        message: String,
        line: Option<u32>,
        column: Option<u32>,
    ) {
        if self.errors.len() >= MAX_ERRORS {
            self.errors_left_out += 1;
            return;
        }
        let pointer = pointer.to_owned();
        self.errors.push(Problem {
            doc,
            pointer,
            message,
            line,
            column,
            count: 1,
        });
    }

    /// A warning at `pointer` of the bundled root. Repeats of the same message are folded
    /// into the first, with a count.
    pub(crate) fn warn(&mut self, pointer: &str, message: String) {
        let (doc, pointer) = split_bundled(pointer);
        self.warn_in(doc, pointer, message);
    }

    pub(crate) fn warn_in(&mut self, doc: usize, pointer: &str, message: String) {
        if let Some(&i) = self.warning_index.get(&message) {
            self.warnings[i].count += 1;
            return;
        }
        self.warning_index
            .insert(message.clone(), self.warnings.len());
        let pointer = pointer.to_owned();
        self.warnings.push(Problem {
            doc,
            pointer,
            message,
            line: None,
            column: None,
            count: 1,
        });
    }

    /// The warnings, or every error (with lines where they can be found) if there is one.
    pub(crate) fn finish(self, docs: &[Document]) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        if self.errors.is_empty() {
            return Ok(self
                .warnings
                .into_iter()
                .map(|p| place(p, docs, false))
                .collect());
        }
        let mut located = 0;
        let mut errors: Vec<Diagnostic> = self
            .errors
            .into_iter()
            .map(|p| {
                let find_line = p.line.is_none() && located < MAX_LOCATED;
                if find_line {
                    located += 1;
                }
                place(p, docs, find_line)
            })
            .collect();
        if self.errors_left_out > 0 {
            let last = errors.last().map(|d| d.file.clone()).unwrap_or_default();
            errors.push(Diagnostic {
                file: last,
                pointer: String::new(),
                line: None,
                column: None,
                message: format!("{} more errors not shown", self.errors_left_out),
            });
        }
        Err(errors)
    }
}

fn place(problem: Problem, docs: &[Document], find_line: bool) -> Diagnostic {
    let doc = docs.get(problem.doc);
    let (mut line, mut column) = (problem.line, problem.column);
    if find_line {
        if let Some(doc) = doc.filter(|d| !d.text.is_empty()) {
            if let Some((l, c)) = locate(&doc.text, doc.format, &problem.pointer) {
                line = Some(l);
                column = Some(c);
            }
        }
    }
    let message = if problem.count > 1 {
        format!("{} ({} times)", problem.message, problem.count)
    } else {
        problem.message
    };
    Diagnostic {
        file: doc.map(|d| d.name.clone()).unwrap_or_default(),
        pointer: problem.pointer,
        line,
        column,
        message,
    }
}

/// Splits a pointer of the bundled root into the document it lies in and the pointer inside
/// that document.
pub(crate) fn split_bundled(pointer: &str) -> (usize, &str) {
    let prefix_len = BUNDLE_KEY.len() + 2;
    if let Some(rest) = pointer
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(BUNDLE_KEY))
    {
        if let Some(rest) = rest.strip_prefix('/') {
            let end = rest.find('/').unwrap_or(rest.len());
            if let Ok(doc) = rest[..end].parse::<usize>() {
                return (doc, &pointer[prefix_len + end..]);
            }
        }
    }
    (0, pointer)
}

/// Escapes one reference token of a JSON pointer.
pub(crate) fn escape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        std::borrow::Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

/// `parent` extended by one token.
pub(crate) fn child(parent: &str, token: &str) -> String {
    let token = escape(token);
    let mut pointer = String::with_capacity(parent.len() + 1 + token.len());
    pointer.push_str(parent);
    pointer.push('/');
    pointer.push_str(&token);
    pointer
}

/// What kind of JSON value `value` is, for messages ("found an array").
pub(crate) fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_pointers_are_split_into_document_and_pointer() {
        assert_eq!(
            split_bundled("/x-mockloop-bundled/3/components/x"),
            (3, "/components/x")
        );
        assert_eq!(split_bundled("/x-mockloop-bundled/12"), (12, ""));
        assert_eq!(split_bundled("/paths/~1a"), (0, "/paths/~1a"));
        assert_eq!(
            split_bundled("/x-mockloop-bundledness/1"),
            (0, "/x-mockloop-bundledness/1")
        );
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(child("/paths", "/a~b/{id}"), "/paths/~1a~0b~1{id}");
    }

    #[test]
    fn repeated_warnings_are_folded_with_a_count() {
        let mut diags = Diagnostics::default();
        diags.warn("/a", "unknown format 'x'".to_owned());
        diags.warn("/b", "unknown format 'x'".to_owned());
        diags.warn("/c", "unknown format 'y'".to_owned());
        let docs = [Document::new(Url::parse("file:///api.yaml").unwrap(), None)];
        let warnings = diags.finish(&docs).unwrap();
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].message, "unknown format 'x' (2 times)");
        assert_eq!(warnings[0].pointer, "/a");
    }
}
