//! Event patterns of a webhook and which answered requests they match.
//!
//! - `METHOD /path`: a request with that method (`*` for any) on that path. The path is a
//!   route template (`/books/{id}`, parameter names ignored), a concrete path (`/books/7`),
//!   or a glob (`/books/*`; `*` stays within a segment, `**` crosses them), matched against
//!   the request's route template and its path.
//! - `create`, `update`, `delete`: a 2xx answer to POST, to PUT or PATCH, to DELETE.
//! - `*`: every answered request.

use globset::{GlobBuilder, GlobMatcher};

/// What kind of change a 2xx answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Delete => "delete",
        }
    }

    /// The change a request reports: only 2xx answers to POST, PUT, PATCH or DELETE.
    pub fn of(method: &http::Method, status: u16) -> Option<Change> {
        if !(200..300).contains(&status) {
            return None;
        }
        match *method {
            http::Method::POST => Some(Change::Create),
            http::Method::PUT | http::Method::PATCH => Some(Change::Update),
            http::Method::DELETE => Some(Change::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum PathPattern {
    /// A template or path with parameter names blanked (`/books/{}`).
    Exact(String),
    Glob(GlobMatcher),
}

#[derive(Debug, Clone)]
enum Pattern {
    All,
    Change(Change),
    Route {
        /// None for `*`.
        method: Option<http::Method>,
        path: PathPattern,
    },
}

/// An answered request, as patterns see it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub method: &'a http::Method,
    pub path: &'a str,
    /// The route template of the operation it reached, if any.
    pub template: Option<&'a str>,
    pub status: u16,
}

impl Seen<'_> {
    /// The event name of this request as a route event: `METHOD /template` (or the path
    /// when it reached no operation).
    pub fn route_event(&self) -> String {
        format!("{} {}", self.method, self.template.unwrap_or(self.path))
    }

    /// The event name for a match by `*`: the change if it is one, else the route event.
    fn any_event(&self) -> String {
        match Change::of(self.method, self.status) {
            Some(change) => change.name().to_owned(),
            None => self.route_event(),
        }
    }
}

/// A webhook's compiled event patterns.
#[derive(Debug, Clone)]
pub struct Events {
    patterns: Vec<Pattern>,
}

/// Blanks parameter names: `/books/{id}` and `/books/{bookId}` are the same route.
pub(crate) fn blank_names(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_name = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_name = true;
                out.push('{');
            }
            '}' => {
                in_name = false;
                out.push('}');
            }
            _ if in_name => {}
            _ => out.push(c),
        }
    }
    out
}

fn parse_one(text: &str) -> Result<Pattern, String> {
    let trimmed = text.trim();
    let expected = "expected 'METHOD /path' (method or *), create, update, delete or *";
    match trimmed {
        "*" => return Ok(Pattern::All),
        "create" => return Ok(Pattern::Change(Change::Create)),
        "update" => return Ok(Pattern::Change(Change::Update)),
        "delete" => return Ok(Pattern::Change(Change::Delete)),
        _ => {}
    }
    let Some((method, path)) = trimmed.split_once(char::is_whitespace) else {
        return Err(format!("invalid event '{text}': {expected}"));
    };
    let path = path.trim();
    let method = match method {
        "*" => None,
        token => {
            let upper = token.to_ascii_uppercase();
            let known = spec::Method::from_wire(&upper).is_some();
            if !known {
                return Err(format!(
                    "invalid event '{text}': unknown method '{token}'; {expected}"
                ));
            }
            Some(http::Method::from_bytes(upper.as_bytes()).map_err(|e| e.to_string())?)
        }
    };
    if !path.starts_with('/') {
        return Err(format!(
            "invalid event '{text}': the path must start with '/'"
        ));
    }
    let path = if path.contains(['*', '?', '[']) {
        let glob = GlobBuilder::new(path)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid event '{text}': bad glob: {e}"))?;
        PathPattern::Glob(glob.compile_matcher())
    } else {
        PathPattern::Exact(blank_names(path))
    };
    Ok(Pattern::Route { method, path })
}

impl Events {
    /// Compiles the patterns; an empty list is an error, as is any bad pattern (named).
    pub fn parse(texts: &[String]) -> Result<Events, String> {
        if texts.is_empty() {
            return Err(
                "a webhook needs at least one event (e.g. 'create', 'POST /books' or '*')"
                    .to_owned(),
            );
        }
        let patterns = texts
            .iter()
            .map(|t| parse_one(t))
            .collect::<Result<_, _>>()?;
        Ok(Events { patterns })
    }

    /// The event name of the first pattern that matches `seen`, if one does.
    pub fn matching(&self, seen: &Seen<'_>) -> Option<String> {
        self.patterns.iter().find_map(|pattern| match pattern {
            Pattern::All => Some(seen.any_event()),
            Pattern::Change(change) => (Change::of(seen.method, seen.status) == Some(*change))
                .then(|| change.name().to_owned()),
            Pattern::Route { method, path } => {
                if method.as_ref().is_some_and(|m| m != seen.method) {
                    return None;
                }
                let hit = match path {
                    PathPattern::Exact(text) => {
                        seen.path == text || seen.template.is_some_and(|t| blank_names(t) == *text)
                    }
                    PathPattern::Glob(glob) => {
                        glob.is_match(seen.path) || seen.template.is_some_and(|t| glob.is_match(t))
                    }
                };
                hit.then(|| seen.route_event())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(texts: &[&str]) -> Events {
        Events::parse(&texts.iter().map(|t| t.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn seen<'a>(
        method: &'a http::Method,
        path: &'a str,
        template: &'a str,
        status: u16,
    ) -> Seen<'a> {
        Seen {
            method,
            path,
            template: Some(template),
            status,
        }
    }

    #[test]
    fn changes_are_2xx_answers_to_post_put_patch_delete() {
        let e = events(&["create", "update", "delete"]);
        let (post, put, patch, delete, get) = (
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
            http::Method::GET,
        );
        let hit = |m, s| e.matching(&seen(m, "/books", "/books", s));
        assert_eq!(hit(&post, 201).as_deref(), Some("create"));
        assert_eq!(hit(&put, 200).as_deref(), Some("update"));
        assert_eq!(hit(&patch, 204).as_deref(), Some("update"));
        assert_eq!(hit(&delete, 204).as_deref(), Some("delete"));
        assert_eq!(hit(&post, 422), None);
        assert_eq!(hit(&get, 200), None);
    }

    #[test]
    fn routes_match_templates_paths_and_globs_with_the_method_or_any() {
        let get = http::Method::GET;
        let post = http::Method::POST;
        let by_template = events(&["GET /books/{bookId}"]);
        let s = seen(&get, "/v1/books/7", "/books/{id}", 200);
        assert_eq!(by_template.matching(&s).as_deref(), Some("GET /books/{id}"));
        assert_eq!(
            by_template.matching(&seen(&post, "/books/7", "/books/{id}", 200)),
            None
        );
        let by_path = events(&["* /books/7"]);
        assert!(
            by_path
                .matching(&seen(&post, "/books/7", "/books/{id}", 500))
                .is_some()
        );
        assert!(
            by_path
                .matching(&seen(&post, "/books/8", "/books/{id}", 200))
                .is_none()
        );
        let glob = events(&["get /books/*"]);
        assert!(
            glob.matching(&seen(&get, "/books/7", "/books/{id}", 200))
                .is_some()
        );
        assert!(
            glob.matching(&seen(&get, "/books/7/reviews", "/books/{id}/reviews", 200))
                .is_none()
        );
        let deep = events(&["GET /books/**"]);
        assert!(
            deep.matching(&seen(&get, "/books/7/reviews", "/books/{id}/reviews", 200))
                .is_some()
        );
    }

    #[test]
    fn star_matches_everything_named_by_change_or_route() {
        let e = events(&["*"]);
        let post = http::Method::POST;
        let get = http::Method::GET;
        assert_eq!(
            e.matching(&seen(&post, "/books", "/books", 201)).as_deref(),
            Some("create")
        );
        assert_eq!(
            e.matching(&seen(&get, "/books", "/books", 200)).as_deref(),
            Some("GET /books")
        );
    }

    #[test]
    fn bad_patterns_are_named() {
        let err = |t: &str| Events::parse(&[t.to_owned()]).unwrap_err();
        assert!(err("created").contains("invalid event 'created'"));
        assert!(err("FETCH /x").contains("unknown method 'FETCH'"));
        assert!(err("GET books").contains("must start with '/'"));
        assert!(err("GET /books/[").contains("bad glob"));
        assert!(
            Events::parse(&[])
                .unwrap_err()
                .contains("at least one event")
        );
    }
}
