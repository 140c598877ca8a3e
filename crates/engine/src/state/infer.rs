//! Inference of collections from route templates: which operations list, create, read,
//! replace, patch and delete the items of which collection, the id field and its type, and
//! the paging and list shape each listing declares. Pure: reads only the description.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use spec::{Api, MediaType, Method, Operation, ParamLocation, StatusKey};

use crate::media::is_json;
use crate::runtime::template_key;

/// How missing ids are assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// The next number after the highest integer id seen in the collection.
    Integer,
    /// A UUID (v4 layout, drawn from the seed).
    String,
}

/// One inferred collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// How the admin API and seed files name it: the template's literal segments joined by
    /// dots (`books`, `shelves.books`).
    pub name: String,
    /// The collection's route template (`/shelves/{shelfId}/books`).
    pub template: String,
    /// The template of one item (`/shelves/{shelfId}/books/{bookId}`), when declared.
    pub item_template: Option<String>,
    /// Parameters of the template that scope a nested collection, in order.
    pub parents: Vec<String>,
    /// The field of an item that holds its id.
    pub id_field: String,
    pub id_kind: IdKind,
    /// Whether the description declares a way to create items (POST on the collection or
    /// PUT on an item). Other collections answer only once seeded.
    pub writable: bool,
}

/// What an operation does to its collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    List(Box<ListPlan>),
    Create,
    Read,
    Replace,
    Patch,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpRole {
    pub collection: usize,
    pub action: Action,
}

/// How a listing pages and what shape its body has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListPlan {
    /// Query parameter giving the page size (`limit`, `per_page`, `size`...).
    pub limit: Option<String>,
    /// Its declared default; without one, a listing without the parameter is not cut.
    pub default_limit: Option<usize>,
    /// Query parameter giving the number of items to skip (`offset`, `skip`).
    pub offset: Option<String>,
    /// Query parameter giving the page number (`page`), and the number of the first page.
    pub page: Option<(String, u64)>,
    pub shape: ListShape,
}

/// The body of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum ListShape {
    /// A bare JSON array of items.
    #[default]
    Array,
    /// An object holding the items in one array property, with optional paging fields.
    Object {
        items: String,
        total: Option<String>,
        limit: Option<String>,
        offset: Option<String>,
        page: Option<String>,
        has_more: Option<String>,
    },
}

/// The collections of a description and the role of each operation.
#[derive(Debug, Clone, Default)]
pub struct ResourceModel {
    collections: Vec<Collection>,
    /// Indexed by operation.
    roles: Vec<Option<OpRole>>,
    /// The description's base paths, so that seeds may name paths with them.
    base_paths: Vec<String>,
}

/// What one collection template gathers while the operations are read.
#[derive(Default)]
struct Draft {
    /// The declared collection path, when some operation is declared on it.
    template: Option<String>,
    /// The collection path as written in the first item template.
    prefix: Option<String>,
    item_template: Option<String>,
    list: Option<usize>,
    create: Option<usize>,
    items: Vec<(usize, Method)>,
    /// Order of first appearance, so that names and indexes are stable.
    first: usize,
}

/// Segments of a template (`/a/{b}/c` gives `a`, `{b}`, `c`).
fn segments(template: &str) -> impl Iterator<Item = &str> {
    template.split('/').filter(|s| !s.is_empty())
}

/// A segment that is one whole parameter (`{id}`), by name.
fn whole_param(segment: &str) -> Option<&str> {
    let name = segment.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && !name.contains(['{', '}'])).then_some(name)
}

/// Parameter names of a template, in order.
pub(crate) fn param_names(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        names.push(rest[open + 1..open + close].to_owned());
        rest = &rest[open + close + 1..];
    }
    names
}

impl ResourceModel {
    /// Reads the collections of `api` from its route templates.
    ///
    /// An item template is one whose last segment is a whole parameter (`/books/{bookId}`)
    /// and whose rest ends in a literal segment (`/books`): that rest is its collection. A
    /// collection exists when operations are declared on its item template, or when it has
    /// both a GET and a POST (`/books` alone); a POST without either (`/orders`, `/search`)
    /// is an action, not a collection, and keeps its described answers.
    pub fn infer(api: &Api) -> ResourceModel {
        let mut drafts: HashMap<String, Draft> = HashMap::new();
        for (index, op) in api.operations.iter().enumerate() {
            let segs: Vec<&str> = segments(&op.path).collect();
            let Some((last, rest)) = segs.split_last() else {
                continue;
            };
            let item_like =
                whole_param(last).is_some() && rest.last().is_some_and(|prev| !prev.contains('{'));
            if item_like {
                if !matches!(
                    op.method,
                    Method::Get | Method::Put | Method::Patch | Method::Delete
                ) {
                    continue;
                }
                let prefix = format!("/{}", rest.join("/"));
                let count = drafts.len();
                let draft = drafts
                    .entry(template_key(&prefix))
                    .or_insert_with(|| Draft {
                        first: count,
                        ..Draft::default()
                    });
                draft.prefix.get_or_insert(prefix);
                draft.item_template.get_or_insert_with(|| op.path.clone());
                draft.items.push((index, op.method));
            } else if !last.contains('{') && matches!(op.method, Method::Get | Method::Post) {
                let count = drafts.len();
                let draft = drafts
                    .entry(template_key(&op.path))
                    .or_insert_with(|| Draft {
                        first: count,
                        ..Draft::default()
                    });
                draft.template.get_or_insert_with(|| op.path.clone());
                match op.method {
                    Method::Get => draft.list = draft.list.or(Some(index)),
                    _ => draft.create = draft.create.or(Some(index)),
                }
            }
        }
        let mut drafts: Vec<Draft> = drafts.into_values().collect();
        drafts.sort_by_key(|d| d.first);

        let mut model = ResourceModel {
            collections: Vec::new(),
            roles: vec![None; api.operations.len()],
            base_paths: api.base_paths.clone(),
        };
        let mut taken: HashMap<String, usize> = HashMap::new();
        for draft in drafts {
            let has_items = !draft.items.is_empty();
            let listed_and_created = draft.list.is_some() && draft.create.is_some();
            if !has_items && !listed_and_created {
                continue;
            }
            let Some(template) = draft.template.clone().or(draft.prefix.clone()) else {
                continue;
            };
            let reads = draft
                .items
                .iter()
                .find(|(_, m)| *m == Method::Get)
                .map(|(i, _)| *i);
            // An item that is not JSON (an image, a file) is not a resource to store.
            if let Some(read) = reads
                && !answers_json(&api.operations[read])
            {
                continue;
            }
            let list_plan = draft
                .list
                .and_then(|op| list_plan(api, &api.operations[op], &template));
            let (id_field, id_kind) = id_of(api, &draft, &template, list_plan.as_ref());
            let writable =
                draft.create.is_some() || draft.items.iter().any(|(_, m)| *m == Method::Put);
            let index = model.collections.len();
            let base = name_of(&template);
            let seen = taken.entry(base.clone()).or_insert(0);
            *seen += 1;
            let name = if *seen == 1 {
                base
            } else {
                format!("{base}~{seen}")
            };
            model.collections.push(Collection {
                name,
                parents: param_names(&template),
                template,
                item_template: draft.item_template.clone(),
                id_field,
                id_kind,
                writable,
            });
            let mut set = |op: usize, action: Action| {
                model.roles[op] = Some(OpRole {
                    collection: index,
                    action,
                });
            };
            if let (Some(op), Some(plan)) = (draft.list, list_plan) {
                set(op, Action::List(Box::new(plan)));
            }
            if let Some(op) = draft.create
                && accepts_json(&api.operations[op])
            {
                set(op, Action::Create);
            }
            for (op, method) in &draft.items {
                let action = match method {
                    Method::Get => Action::Read,
                    Method::Put => Action::Replace,
                    Method::Patch => Action::Patch,
                    _ => Action::Delete,
                };
                set(*op, action);
            }
        }
        model
    }

    pub fn collections(&self) -> &[Collection] {
        &self.collections
    }

    /// The collection named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.collections.iter().position(|c| c.name == name)
    }

    /// `path` without the base path it starts with, if any.
    pub(crate) fn without_base<'p>(&self, path: &'p str) -> Option<&'p str> {
        crate::runtime::without_base(path, &self.base_paths)
    }

    pub(crate) fn role(&self, op: usize) -> Option<&OpRole> {
        self.roles.get(op)?.as_ref()
    }

    /// The operations given a role, as `(operation, collection name, action)`, for tests and
    /// diagnostics.
    pub fn describe(&self) -> Vec<(usize, &str, &'static str)> {
        self.roles
            .iter()
            .enumerate()
            .filter_map(|(op, role)| {
                let role = role.as_ref()?;
                let action = match role.action {
                    Action::List(_) => "list",
                    Action::Create => "create",
                    Action::Read => "read",
                    Action::Replace => "replace",
                    Action::Patch => "patch",
                    Action::Delete => "delete",
                };
                Some((op, self.collections[role.collection].name.as_str(), action))
            })
            .collect()
    }
}

/// `books` for `/books`, `shelves.books` for `/shelves/{shelfId}/books`.
fn name_of(template: &str) -> String {
    let literal: Vec<&str> = segments(template).filter(|s| !s.contains('{')).collect();
    if literal.is_empty() {
        "root".to_owned()
    } else {
        literal.join(".")
    }
}

/// The last literal segment of a template in the singular (`books` gives `book`).
fn singular(template: &str) -> String {
    let last = segments(template)
        .filter(|s| !s.contains('{'))
        .last()
        .unwrap_or_default();
    if let Some(stem) = last.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["ses", "xes", "ches", "shes"]
        .iter()
        .any(|e| last.ends_with(e))
    {
        last[..last.len() - 2].to_owned()
    } else if let Some(stem) = last.strip_suffix('s') {
        stem.to_owned()
    } else {
        last.to_owned()
    }
}

/// The response sent by default: first 2xx, else `default`, else none.
fn success(op: &Operation) -> Option<&spec::Response> {
    op.responses
        .iter()
        .find(|r| match r.status {
            StatusKey::Code(code) => (200..300).contains(&code),
            StatusKey::Range(class) => class == 2,
            StatusKey::Default => false,
        })
        .or_else(|| op.responses.iter().find(|r| r.status == StatusKey::Default))
}

fn json_media(content: &[MediaType]) -> Option<&MediaType> {
    content.iter().find(|m| is_json(&m.media_type))
}

/// Whether the operation's success response is JSON or has no content.
fn answers_json(op: &Operation) -> bool {
    success(op).is_none_or(|r| r.content.is_empty() || json_media(&r.content).is_some())
}

/// Whether the operation takes a JSON body (or declares none).
fn accepts_json(op: &Operation) -> bool {
    op.request_body
        .as_ref()
        .is_none_or(|b| b.content.is_empty() || json_media(&b.content).is_some())
}

fn success_schema(op: &Operation) -> Option<&Value> {
    json_media(&success(op)?.content)?.schema.as_ref()
}

fn request_schema(op: &Operation) -> Option<&Value> {
    json_media(&op.request_body.as_ref()?.content)?
        .schema
        .as_ref()
}

/// `schema` with `$ref`s followed (a bounded number of times).
pub(crate) fn resolve<'a>(mut schema: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => match spec::resolve_ref(root, reference) {
                Some(target) => schema = target,
                None => break,
            },
            None => break,
        }
    }
    schema
}

/// The properties of an object schema, those of its `allOf` parts included.
fn properties<'a>(schema: &'a Value, root: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let mut found = Vec::new();
    collect_properties(schema, root, 0, &mut found);
    found
}

fn collect_properties<'a>(
    schema: &'a Value,
    root: &'a Value,
    depth: usize,
    found: &mut Vec<(&'a str, &'a Value)>,
) {
    if depth > 8 {
        return;
    }
    let schema = resolve(schema, root);
    if let Some(map) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in map {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name.as_str(), property));
            }
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            collect_properties(part, root, depth + 1, found);
        }
    }
}

/// The JSON type a schema declares (`type`, else implied by `properties` or `items`).
fn type_of<'a>(schema: &'a Value, root: &'a Value) -> Option<&'a str> {
    let schema = resolve(schema, root);
    match schema.get("type") {
        Some(Value::String(name)) => return Some(name),
        Some(Value::Array(names)) => {
            if let Some(name) = names
                .iter()
                .filter_map(Value::as_str)
                .find(|n| *n != "null")
            {
                return Some(name);
            }
        }
        _ => {}
    }
    if schema.get("items").is_some() {
        return Some("array");
    }
    if schema.get("properties").is_some() {
        return Some("object");
    }
    schema
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|parts| parts.iter().find_map(|p| type_of(p, root)))
}

/// A name without case, `_` or `-`, for matching conventional names.
fn plain(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

const LIMIT_NAMES: &[&str] = &[
    "limit",
    "perpage",
    "pagesize",
    "size",
    "maxresults",
    "pagelimit",
];
const OFFSET_NAMES: &[&str] = &["offset", "skip", "start", "startindex"];
const PAGE_NAMES: &[&str] = &["page", "pagenumber", "pageno", "pageindex"];
const ITEMS_NAMES: &[&str] = &[
    "data", "items", "results", "records", "content", "values", "entries", "list", "elements",
    "rows",
];
const TOTAL_NAMES: &[&str] = &[
    "total",
    "totalcount",
    "count",
    "totalitems",
    "totalelements",
    "totalresults",
    "totalsize",
    "totalrecords",
];
const HAS_MORE_NAMES: &[&str] = &["hasmore", "hasnext", "more"];

/// The paging parameters and list shape of a listing operation; None when its body is
/// neither an array nor an object holding one.
fn list_plan(api: &Api, op: &Operation, template: &str) -> Option<ListPlan> {
    let root = &api.root;
    let integer_param = |names: &[&str]| {
        op.parameters.iter().find(|p| {
            p.location == ParamLocation::Query
                && names.contains(&plain(&p.name).as_str())
                && p.schema
                    .as_ref()
                    .is_some_and(|s| matches!(type_of(s, root), Some("integer" | "number")))
        })
    };
    let limit = integer_param(LIMIT_NAMES);
    let default_limit = limit
        .and_then(|p| p.schema.as_ref())
        .map(|s| resolve(s, root))
        .and_then(|s| s.get("default"))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    let offset = integer_param(OFFSET_NAMES).map(|p| p.name.clone());
    let page = integer_param(PAGE_NAMES).map(|p| {
        let minimum = p
            .schema
            .as_ref()
            .map(|s| resolve(s, root))
            .and_then(|s| s.get("minimum"))
            .and_then(Value::as_u64);
        (p.name.clone(), if minimum == Some(0) { 0 } else { 1 })
    });
    let shape = match success_schema(op) {
        None => ListShape::Array,
        Some(schema) => match type_of(schema, root) {
            Some("array") | None => ListShape::Array,
            Some("object") => {
                let props = properties(schema, root);
                let find = |names: &[&str], kind: &[&str]| {
                    props
                        .iter()
                        .find(|(n, s)| {
                            names.contains(&plain(n).as_str())
                                && type_of(s, root).is_none_or(|t| kind.contains(&t))
                        })
                        .map(|(n, _)| (*n).to_owned())
                };
                let own = plain(segments(template).last().unwrap_or_default());
                let items = find(ITEMS_NAMES, &["array"])
                    .or_else(|| find(&[own.as_str()], &["array"]))
                    .or_else(|| {
                        props
                            .iter()
                            .find(|(_, s)| type_of(s, root) == Some("array"))
                            .map(|(n, _)| (*n).to_owned())
                    })?;
                let numeric = ["integer", "number"];
                let limit_name = limit.map(|p| plain(&p.name));
                ListShape::Object {
                    items,
                    total: find(TOTAL_NAMES, &numeric),
                    limit: limit_name
                        .as_deref()
                        .and_then(|n| find(&[n], &numeric))
                        .or_else(|| find(LIMIT_NAMES, &numeric)),
                    offset: find(OFFSET_NAMES, &numeric),
                    page: find(PAGE_NAMES, &numeric),
                    has_more: find(HAS_MORE_NAMES, &["boolean"]),
                }
            }
            Some(_) => return None,
        },
    };
    Some(ListPlan {
        limit: limit.map(|p| p.name.clone()),
        default_limit,
        offset,
        page,
        shape,
    })
}

/// The id field and its kind: `id`, else the item parameter's name (`bookId`), else
/// `<singular>Id` or `<singular>_id`, when the item schema has such a property; else `id`.
/// The kind is the property's type, else the item parameter's.
fn id_of(api: &Api, draft: &Draft, template: &str, list: Option<&ListPlan>) -> (String, IdKind) {
    let root = &api.root;
    let ops = &api.operations;
    let item_param = draft
        .item_template
        .as_deref()
        .and_then(|t| segments(t).last().and_then(whole_param).map(str::to_owned));
    let mut schemas: Vec<&Value> = Vec::new();
    for (op, method) in &draft.items {
        if *method == Method::Get {
            schemas.extend(success_schema(&ops[*op]));
        }
    }
    if let Some(create) = draft.create {
        schemas.extend(success_schema(&ops[create]));
        schemas.extend(request_schema(&ops[create]));
    }
    for (op, method) in &draft.items {
        if *method == Method::Put {
            schemas.extend(request_schema(&ops[*op]));
        }
    }
    if let (Some(list), Some(op)) = (list, draft.list)
        && let Some(schema) = success_schema(&ops[op])
    {
        let array = match &list.shape {
            ListShape::Array => Some(resolve(schema, root)),
            ListShape::Object { items, .. } => properties(schema, root)
                .into_iter()
                .find(|(n, _)| n == items)
                .map(|(_, s)| resolve(s, root)),
        };
        schemas.extend(array.and_then(|a| a.get("items")));
    }
    let one = singular(template);
    let mut candidates = vec!["id".to_owned()];
    candidates.extend(item_param.clone());
    candidates.extend([format!("{one}Id"), format!("{one}_id"), format!("{one}ID")]);
    let kind_of = |schema: &Value| match type_of(schema, root) {
        Some("integer" | "number") => Some(IdKind::Integer),
        Some("string") => Some(IdKind::String),
        _ => None,
    };
    let param_kind = || {
        draft
            .items
            .iter()
            .flat_map(|(op, _)| ops[*op].parameters.iter())
            .find(|p| p.location == ParamLocation::Path && Some(&p.name) == item_param.as_ref())
            .and_then(|p| p.schema.as_ref())
            .and_then(kind_of)
    };
    for schema in &schemas {
        let props = properties(schema, root);
        for candidate in &candidates {
            if let Some((name, property)) = props.iter().find(|(n, _)| n == candidate) {
                let kind = kind_of(property)
                    .or_else(param_kind)
                    .unwrap_or(IdKind::Integer);
                return ((*name).to_owned(), kind);
            }
        }
    }
    let kind = param_kind().unwrap_or(if item_param.is_some() {
        IdKind::String
    } else {
        IdKind::Integer
    });
    ("id".to_owned(), kind)
}
