//! The route table: maps a request path and method to an operation.
//!
//! Paths are split into segments and stored in a tree. At each level literal segments are
//! tried before segments that mix literals and parameters (`{name}.{ext}`), which are tried
//! before whole-segment parameters (`{id}`), so `/users/me` wins over `/users/{id}` whatever
//! the declaration order. Matching backtracks, so a literal that leads nowhere does not hide
//! a template that matches.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use spec::Method;

/// Index of an operation in [`spec::Api::operations`].
pub type OpIndex = usize;

/// The outcome of a lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// An operation, with its path parameters percent-decoded, in template order.
    Found {
        op: OpIndex,
        params: Vec<(String, String)>,
    },
    /// The path exists but not for this method; the methods it has.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    NotFound,
    /// A path parameter holds invalid percent-encoding or is not UTF-8.
    BadEncoding {
        segment: String,
    },
}

/// A piece of a path segment. Parameter names are not kept here: templates that differ only
/// in names share nodes, and each endpoint keeps its own names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param,
}

/// What a path leads to for one method: the operation and its parameter names in order.
#[derive(Debug)]
struct Endpoint {
    op: OpIndex,
    names: Vec<String>,
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, Node>,
    /// Segments mixing literal text and parameters, in declaration order.
    mixed: Vec<(Vec<Part>, Node)>,
    /// A whole-segment parameter.
    param: Option<Box<Node>>,
    /// Endpoint per method for paths ending here.
    methods: [Option<Endpoint>; 8],
}

/// Maps paths and methods to operations.
#[derive(Debug, Default)]
pub struct Router {
    root: Node,
    /// Path prefixes served in addition to the root (from `servers` / `basePath`).
    prefixes: Vec<String>,
    /// Routes that could not be added because another operation already holds them.
    shadowed: Vec<(OpIndex, OpIndex)>,
}

fn method_slot(method: Method) -> usize {
    Method::ALL.iter().position(|m| *m == method).unwrap_or(0)
}

fn parse_segment(segment: &str, names: &mut Vec<String>) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = segment;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(open) => {
                if open > 0 {
                    parts.push(Part::Literal(rest[..open].to_owned()));
                }
                match rest[open..].find('}') {
                    Some(close) => {
                        names.push(rest[open + 1..open + close].to_owned());
                        parts.push(Part::Param);
                        rest = &rest[open + close + 1..];
                    }
                    None => {
                        // An unbalanced brace is literal text, as nothing else could match it.
                        parts.push(Part::Literal(rest[open..].to_owned()));
                        rest = "";
                    }
                }
            }
            None => {
                parts.push(Part::Literal(rest.to_owned()));
                rest = "";
            }
        }
    }
    parts
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

impl Router {
    /// Builds the table. `prefixes` are extra path prefixes (no trailing slash).
    pub fn new<'a>(
        routes: impl IntoIterator<Item = (OpIndex, Method, &'a str)>,
        prefixes: &[String],
    ) -> Router {
        let mut router = Router {
            prefixes: prefixes
                .iter()
                .map(|p| p.trim_end_matches('/').to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            ..Router::default()
        };
        for (op, method, template) in routes {
            router.insert(op, method, template);
        }
        router
    }

    fn insert(&mut self, op: OpIndex, method: Method, template: &str) {
        let mut node = &mut self.root;
        let mut names = Vec::new();
        for segment in segments(template) {
            let parts = parse_segment(segment, &mut names);
            node = match parts.as_slice() {
                [] | [Part::Literal(_)] => node.literal.entry(segment.to_owned()).or_default(),
                [Part::Param] => node.param.get_or_insert_with(Box::default),
                _ => {
                    let at = node.mixed.iter().position(|(p, _)| *p == parts);
                    let at = at.unwrap_or_else(|| {
                        node.mixed.push((parts, Node::default()));
                        node.mixed.len() - 1
                    });
                    &mut node.mixed[at].1
                }
            };
        }
        let slot = &mut node.methods[method_slot(method)];
        match slot {
            Some(existing) => self.shadowed.push((op, existing.op)),
            None => *slot = Some(Endpoint { op, names }),
        }
    }

    /// Operations that share method and path (after normalisation) with an earlier one, as
    /// `(shadowed, kept)`.
    pub fn shadowed(&self) -> &[(OpIndex, OpIndex)] {
        &self.shadowed
    }

    /// Finds the operation for `method` on `path` (raw, percent-encoded, without query).
    pub fn lookup(&self, method: Method, path: &str) -> RouteMatch {
        let mut best = RouteMatch::NotFound;
        for candidate in self.candidates(path) {
            match self.lookup_exact(method, candidate) {
                found @ (RouteMatch::Found { .. } | RouteMatch::BadEncoding { .. }) => {
                    return found;
                }
                not_allowed @ RouteMatch::MethodNotAllowed { .. } => {
                    if best == RouteMatch::NotFound {
                        best = not_allowed;
                    }
                }
                RouteMatch::NotFound => {}
            }
        }
        best
    }

    /// The path itself, then the path with each known prefix removed, then each of those
    /// without a trailing slash.
    fn candidates<'p>(&self, path: &'p str) -> impl Iterator<Item = &'p str> {
        let stripped = self.prefixes.iter().filter_map(move |prefix| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some(if rest.is_empty() {
                "/"
            } else {
                rest
            })
        });
        let exact = std::iter::once(path).chain(stripped);
        let trimmed: Vec<&'p str> = exact.clone().collect();
        exact.chain(
            trimmed
                .into_iter()
                .filter(|p| p.len() > 1 && p.ends_with('/'))
                .map(|p| p.trim_end_matches('/')),
        )
    }

    fn lookup_exact(&self, method: Method, path: &str) -> RouteMatch {
        let segs: Vec<&str> = segments(path).collect();
        let mut params = Vec::new();
        let Some(node) = walk(&self.root, &segs, &mut params, method) else {
            return RouteMatch::NotFound;
        };
        match &node.methods[method_slot(method)] {
            Some(endpoint) => {
                let mut decoded = Vec::with_capacity(params.len());
                for (name, raw) in endpoint.names.iter().zip(params) {
                    match percent_decode_str(raw).decode_utf8() {
                        Ok(value) => decoded.push((name.clone(), value.into_owned())),
                        Err(_) => {
                            return RouteMatch::BadEncoding {
                                segment: raw.to_owned(),
                            };
                        }
                    }
                }
                RouteMatch::Found {
                    op: endpoint.op,
                    params: decoded,
                }
            }
            None => RouteMatch::MethodNotAllowed {
                allow: Method::ALL
                    .into_iter()
                    .zip(node.methods.iter())
                    .filter_map(|(m, slot)| slot.as_ref().map(|_| m))
                    .collect(),
            },
        }
    }

    /// The methods declared for `path`, if the path exists.
    pub fn methods_at(&self, path: &str) -> Option<Vec<Method>> {
        match self.lookup(Method::Trace, path) {
            RouteMatch::MethodNotAllowed { allow } => Some(allow),
            RouteMatch::Found { .. } | RouteMatch::BadEncoding { .. } => {
                // TRACE itself is declared here; list every method of the node.
                self.candidates(path).find_map(|candidate| {
                    let segs: Vec<&str> = segments(candidate).collect();
                    let mut params = Vec::new();
                    walk(&self.root, &segs, &mut params, Method::Trace).map(|node| {
                        Method::ALL
                            .into_iter()
                            .zip(node.methods.iter())
                            .filter_map(|(m, slot)| slot.as_ref().map(|_| m))
                            .collect()
                    })
                })
            }
            RouteMatch::NotFound => None,
        }
    }
}

/// Depth-first search for the node at the end of `segs`. Prefers a node that has `method`,
/// so that a literal path lacking the method does not hide a template that has it; falls
/// back to any node with at least one method (for 405).
fn walk<'n, 's>(
    node: &'n Node,
    segs: &[&'s str],
    params: &mut Vec<&'s str>,
    method: Method,
) -> Option<&'n Node> {
    let mut fallback = None;
    let found = search(node, segs, params, method, &mut fallback);
    found.or_else(|| {
        let (node, saved) = fallback?;
        *params = saved;
        Some(node)
    })
}

type Fallback<'n, 's> = Option<(&'n Node, Vec<&'s str>)>;

fn search<'n, 's>(
    node: &'n Node,
    segs: &[&'s str],
    params: &mut Vec<&'s str>,
    method: Method,
    fallback: &mut Fallback<'n, 's>,
) -> Option<&'n Node> {
    let Some((first, rest)) = segs.split_first() else {
        if node.methods[method_slot(method)].is_some() {
            return Some(node);
        }
        if fallback.is_none() && node.methods.iter().any(Option::is_some) {
            *fallback = Some((node, params.clone()));
        }
        return None;
    };
    if let Some(child) = node.literal.get(*first) {
        if let Some(found) = search(child, rest, params, method, fallback) {
            return Some(found);
        }
    }
    for (parts, child) in &node.mixed {
        let mark = params.len();
        if match_mixed(parts, first, params) {
            if let Some(found) = search(child, rest, params, method, fallback) {
                return Some(found);
            }
        }
        params.truncate(mark);
    }
    if let Some(child) = &node.param {
        if !first.is_empty() {
            params.push(first);
            if let Some(found) = search(child, rest, params, method, fallback) {
                return Some(found);
            }
            params.pop();
        }
    }
    None
}

/// Matches one segment against literal and parameter parts. A parameter takes the longest
/// text that still lets the following literal match (so `{name}.{ext}` on `a.tar.gz` gives
/// `a.tar` and `gz`); parameters never match empty text.
fn match_mixed<'s>(parts: &[Part], segment: &'s str, params: &mut Vec<&'s str>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return segment.is_empty();
    };
    match first {
        Part::Literal(lit) => match segment.strip_prefix(lit.as_str()) {
            Some(tail) => match_mixed(rest, tail, params),
            None => false,
        },
        Part::Param => {
            if rest.is_empty() {
                if segment.is_empty() {
                    return false;
                }
                params.push(segment);
                return true;
            }
            // Try split points from the longest value down.
            let mut end = segment.len();
            while end > 0 {
                if segment.is_char_boundary(end) {
                    let mark = params.len();
                    params.push(&segment[..end]);
                    if match_mixed(rest, &segment[end..], params) {
                        return true;
                    }
                    params.truncate(mark);
                }
                end -= 1;
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(Method, &str)], prefixes: &[&str]) -> Router {
        let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        Router::new(
            routes.iter().enumerate().map(|(i, (m, p))| (i, *m, *p)),
            &prefixes,
        )
    }

    fn found(op: OpIndex, params: &[(&str, &str)]) -> RouteMatch {
        RouteMatch::Found {
            op,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn literal_segments_win_over_templates_in_any_order() {
        let r = router(
            &[(Method::Get, "/users/{id}"), (Method::Get, "/users/me")],
            &[],
        );
        assert_eq!(r.lookup(Method::Get, "/users/me"), found(1, &[]));
        assert_eq!(
            r.lookup(Method::Get, "/users/42"),
            found(0, &[("id", "42")])
        );
    }

    #[test]
    fn literal_dead_end_falls_back_to_template() {
        let r = router(
            &[
                (Method::Get, "/containers/json"),
                (Method::Get, "/containers/{id}/json"),
            ],
            &[],
        );
        assert_eq!(
            r.lookup(Method::Get, "/containers/json/json"),
            found(1, &[("id", "json")])
        );
    }

    #[test]
    fn templates_inside_a_segment() {
        let r = router(
            &[
                (Method::Get, "/files/{name}.{ext}"),
                (Method::Get, "/Accounts/{Sid}.json"),
            ],
            &[],
        );
        assert_eq!(
            r.lookup(Method::Get, "/files/a.tar.gz"),
            found(0, &[("name", "a.tar"), ("ext", "gz")])
        );
        assert_eq!(
            r.lookup(Method::Get, "/Accounts/AC1.json"),
            found(1, &[("Sid", "AC1")])
        );
        assert_eq!(
            r.lookup(Method::Get, "/Accounts/.json"),
            RouteMatch::NotFound
        );
    }

    #[test]
    fn path_parameters_are_percent_decoded() {
        let r = router(&[(Method::Get, "/users/{id}")], &[]);
        assert_eq!(
            r.lookup(Method::Get, "/users/a%20b%2Fc"),
            found(0, &[("id", "a b/c")])
        );
        assert!(matches!(
            r.lookup(Method::Get, "/users/%FF"),
            RouteMatch::BadEncoding { .. }
        ));
    }

    #[test]
    fn wrong_method_lists_allowed_ones() {
        let r = router(&[(Method::Get, "/pets"), (Method::Post, "/pets")], &[]);
        assert_eq!(
            r.lookup(Method::Delete, "/pets"),
            RouteMatch::MethodNotAllowed {
                allow: vec![Method::Get, Method::Post]
            }
        );
        assert_eq!(r.lookup(Method::Get, "/nothing"), RouteMatch::NotFound);
    }

    #[test]
    fn method_on_template_is_found_even_if_literal_sibling_lacks_it() {
        let r = router(&[(Method::Get, "/a/b"), (Method::Delete, "/a/{x}")], &[]);
        assert_eq!(r.lookup(Method::Delete, "/a/b"), found(1, &[("x", "b")]));
    }

    #[test]
    fn prefixes_and_root_both_serve() {
        let r = router(&[(Method::Get, "/pets")], &["/api/v1"]);
        assert_eq!(r.lookup(Method::Get, "/api/v1/pets"), found(0, &[]));
        assert_eq!(r.lookup(Method::Get, "/pets"), found(0, &[]));
        assert_eq!(r.lookup(Method::Get, "/api/v1pets"), RouteMatch::NotFound);
    }

    #[test]
    fn trailing_slash_is_tolerated() {
        let r = router(&[(Method::Get, "/pets"), (Method::Get, "/")], &[]);
        assert_eq!(r.lookup(Method::Get, "/pets/"), found(0, &[]));
        assert_eq!(r.lookup(Method::Get, "/"), found(1, &[]));
    }

    #[test]
    fn each_method_keeps_its_own_parameter_names() {
        let r = router(
            &[(Method::Get, "/u/{id}"), (Method::Delete, "/u/{userId}")],
            &[],
        );
        assert_eq!(
            r.lookup(Method::Delete, "/u/7"),
            found(1, &[("userId", "7")])
        );
        assert_eq!(r.lookup(Method::Get, "/u/7"), found(0, &[("id", "7")]));
    }

    #[test]
    fn duplicate_routes_are_reported() {
        let r = router(&[(Method::Get, "/a/{x}"), (Method::Get, "/a/{y}")], &[]);
        assert_eq!(r.shadowed(), &[(1, 0)]);
    }

    #[test]
    fn methods_at_lists_every_declared_method() {
        let r = router(&[(Method::Trace, "/t"), (Method::Get, "/t")], &[]);
        assert_eq!(r.methods_at("/t"), Some(vec![Method::Get, Method::Trace]));
        assert_eq!(r.methods_at("/none"), None);
    }
}
