//! The items of every collection, held in memory: one lock per collection, items in
//! insertion order per scope, each kept with its JSON bytes so that a read copies nothing.
//! Every accepted change goes to the sink while the collection's lock is held, so the sink
//! sees changes in the order they were made.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use indexmap::IndexMap;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Map, Value};

use super::infer::{Collection, IdKind, ResourceModel};
use super::merge::merge_patch;
use crate::respond::stable_hash;

/// One stored item.
#[derive(Debug)]
pub(crate) struct Item {
    pub value: Value,
    /// `value` as JSON.
    pub bytes: Bytes,
    /// Insertion order within the collection.
    pub seq: i64,
}

/// A change to persist, in the order it was made.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The item was created or replaced.
    Put {
        collection: String,
        scope: Vec<String>,
        id: String,
        seq: i64,
        body: Bytes,
    },
    Delete {
        collection: String,
        scope: Vec<String>,
        id: String,
    },
    /// Every item of one collection, or of all, was removed.
    Clear { collection: Option<String> },
}

/// A request to the store that cannot be carried out, naming what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("no collection named '{name}'; collections: {known}")]
    UnknownCollection { name: String, known: String },
    #[error("an item with id '{id}' already exists in '{collection}'")]
    Conflict { collection: String, id: String },
    #[error("{0}")]
    Invalid(String),
}

/// A collection as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionSummary {
    #[serde(flatten)]
    pub collection: Collection,
    /// Items held, over all scopes.
    pub count: usize,
}

/// One item as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemView {
    /// The item's path (without a base path), such as `/shelves/1/books/7`.
    pub path: String,
    pub id: String,
    pub value: Value,
}

/// What a seed stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeedReport {
    pub stored: usize,
    /// Items stored per collection.
    pub collections: IndexMap<String, usize>,
}

/// What a restore from the database found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub loaded: usize,
    /// Collections of stored items that this description does not have.
    pub unknown: Vec<String>,
    /// Stored items whose body is not a JSON object.
    pub invalid: usize,
}

type Scope = IndexMap<String, Arc<Item>>;

/// The items of one collection.
#[derive(Default)]
struct Holding {
    scopes: HashMap<Vec<String>, Scope>,
    /// Next integer id to assign.
    next_id: i64,
    next_seq: i64,
    count: usize,
}

type Sink = Box<dyn Fn(Change) + Send + Sync>;

/// The stateful store: every collection's items, in memory, authoritative.
pub struct Resources {
    model: ResourceModel,
    holdings: Vec<RwLock<Holding>>,
    seed: u64,
    sink: Option<Sink>,
    /// How the request log names answers from the store.
    label: Arc<str>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("collections", &self.model.collections().len())
            .finish_non_exhaustive()
    }
}

/// A key of an item: the id's text; integer ids in their plain decimal form.
fn id_key(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Collection {
    /// The key of an id given as text (a path segment): `007` is `7` for integer ids.
    pub(crate) fn key_of(&self, text: &str) -> String {
        match (self.id_kind, text.parse::<i64>()) {
            (IdKind::Integer, Ok(n)) => n.to_string(),
            _ => text.to_owned(),
        }
    }

    /// The id value of a key, typed as the collection's ids are.
    fn id_value(&self, key: &str) -> Value {
        match (self.id_kind, key.parse::<i64>()) {
            (IdKind::Integer, Ok(n)) => Value::from(n),
            _ => Value::String(key.to_owned()),
        }
    }

    /// The path of an item of this collection.
    pub(crate) fn item_path(&self, scope: &[String], id: &str) -> String {
        let mut values = scope.iter();
        let mut path = String::new();
        for segment in self.template.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            if segment.starts_with('{') && segment.ends_with('}') {
                path.push_str(values.next().map_or("", String::as_str));
            } else {
                path.push_str(segment);
            }
        }
        path.push('/');
        path.push_str(id);
        path
    }

    /// `<shelfId>/<id>`: how an admin key of this collection is written.
    fn key_form(&self) -> String {
        let mut parts: Vec<String> = self.parents.iter().map(|p| format!("<{p}>")).collect();
        parts.push(format!("<{}>", self.id_field));
        parts.join("/")
    }
}

/// `value` as an object with `field` set to `id`, the id first.
fn with_id(value: Map<String, Value>, field: &str, id: Value) -> Value {
    let mut object = Map::with_capacity(value.len() + 1);
    object.insert(field.to_owned(), id);
    for (name, member) in value {
        if name != field {
            object.insert(name, member);
        }
    }
    Value::Object(object)
}

impl Resources {
    /// An empty store for the collections of `model`; `seed` draws the UUIDs it assigns.
    pub fn new(model: ResourceModel, seed: u64) -> Resources {
        let holdings = model
            .collections()
            .iter()
            .map(|_| {
                RwLock::new(Holding {
                    next_id: 1,
                    ..Holding::default()
                })
            })
            .collect();
        Resources {
            model,
            holdings,
            seed,
            sink: None,
            label: Arc::from("state"),
        }
    }

    /// Hands every later change to `sink`, called with the collection's lock held: it must
    /// not block.
    pub fn set_sink(&mut self, sink: impl Fn(Change) + Send + Sync + 'static) {
        self.sink = Some(Box::new(sink));
    }

    pub fn model(&self) -> &ResourceModel {
        &self.model
    }

    /// How the request log names answers from the store.
    pub fn label(&self) -> &Arc<str> {
        &self.label
    }

    fn read(&self, c: usize) -> RwLockReadGuard<'_, Holding> {
        self.holdings[c]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, c: usize) -> RwLockWriteGuard<'_, Holding> {
        self.holdings[c]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, change: Change) {
        if let Some(sink) = &self.sink {
            sink(change);
        }
    }

    fn collection(&self, c: usize) -> &Collection {
        &self.model.collections()[c]
    }

    /// Whether collection `c` answers requests: when it can be written, or holds items.
    pub(crate) fn is_live(&self, c: usize) -> bool {
        self.collection(c).writable || self.read(c).count > 0
    }

    pub(crate) fn get(&self, c: usize, scope: &[String], id: &str) -> Option<Arc<Item>> {
        self.read(c).scopes.get(scope)?.get(id).cloned()
    }

    /// Items of a scope from `offset`, at most `limit`, and how many the scope holds.
    pub(crate) fn page(
        &self,
        c: usize,
        scope: &[String],
        offset: usize,
        limit: Option<usize>,
    ) -> (usize, Vec<Arc<Item>>) {
        let holding = self.read(c);
        let Some(items) = holding.scopes.get(scope) else {
            return (0, Vec::new());
        };
        let page = items
            .values()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        (items.len(), page)
    }

    /// Stores `value` under `id`, keeping the place of an item it replaces; true when new.
    fn store(
        &self,
        c: usize,
        holding: &mut Holding,
        scope: Vec<String>,
        id: String,
        value: Value,
    ) -> (Arc<Item>, bool) {
        let bytes = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        let items = holding.scopes.entry(scope.clone()).or_default();
        let (seq, created) = match items.get(&id) {
            Some(old) => (old.seq, false),
            None => (holding.next_seq, true),
        };
        let item = Arc::new(Item {
            value,
            bytes: bytes.clone(),
            seq,
        });
        items.insert(id.clone(), item.clone());
        if created {
            holding.next_seq += 1;
            holding.count += 1;
        }
        if let Ok(n) = id.parse::<i64>() {
            holding.next_id = holding.next_id.max(n.saturating_add(1));
        }
        self.emit(Change::Put {
            collection: self.collection(c).name.clone(),
            scope,
            id,
            seq,
            body: bytes,
        });
        (item, created)
    }

    /// Stores a new item, assigning its id when it has none; an id already taken is a
    /// conflict.
    pub(crate) fn create(
        &self,
        c: usize,
        scope: Vec<String>,
        item: Map<String, Value>,
    ) -> Result<(String, Arc<Item>), StateError> {
        let collection = self.collection(c);
        let field = collection.id_field.as_str();
        let mut holding = self.write(c);
        let id = match item.get(field) {
            None | Some(Value::Null) => match collection.id_kind {
                IdKind::Integer => Value::from(holding.next_id),
                IdKind::String => Value::String(self.new_uuid(c, holding.next_seq)),
            },
            Some(given) => given.clone(),
        };
        let key = id_key(&id).ok_or_else(|| {
            StateError::Invalid(format!(
                "the id field '{field}' of an item of '{}' must be a string or an integer, \
                 not {id}",
                collection.name
            ))
        })?;
        if holding
            .scopes
            .get(&scope)
            .is_some_and(|items| items.contains_key(&key))
        {
            return Err(StateError::Conflict {
                collection: collection.name.clone(),
                id: key,
            });
        }
        let value = with_id(item, field, id);
        let (stored, _) = self.store(c, &mut holding, scope, key.clone(), value);
        Ok((key, stored))
    }

    /// Refuses a replacement whose body names another id than its path: the mock would
    /// otherwise keep one and drop the other in silence.
    pub(crate) fn check_body_id(
        &self,
        c: usize,
        id: &str,
        item: &Map<String, Value>,
    ) -> Result<(), StateError> {
        let collection = self.collection(c);
        match item.get(&collection.id_field) {
            None | Some(Value::Null) => Ok(()),
            Some(given) if id_key(given).map(|k| collection.key_of(&k)).as_deref() == Some(id) => {
                Ok(())
            }
            Some(given) => Err(StateError::Invalid(format!(
                "the body's '{}' is {given}, but the item's id in the path is '{id}'",
                collection.id_field
            ))),
        }
    }

    /// Creates or replaces the item `id` with `item`, its id field set to `id`; true when
    /// created.
    pub(crate) fn upsert(
        &self,
        c: usize,
        scope: Vec<String>,
        id: &str,
        item: Map<String, Value>,
    ) -> (Arc<Item>, bool) {
        let collection = self.collection(c);
        let value = with_id(item, &collection.id_field, collection.id_value(id));
        let mut holding = self.write(c);
        self.store(c, &mut holding, scope, id.to_owned(), value)
    }

    /// Merges `patch` into item `id` (its id stays); None when there is no such item.
    pub(crate) fn patch(
        &self,
        c: usize,
        scope: &[String],
        id: &str,
        patch: &Value,
    ) -> Option<Arc<Item>> {
        let collection = self.collection(c);
        let mut holding = self.write(c);
        let old = holding.scopes.get(scope)?.get(id)?.clone();
        let mut value = old.value.clone();
        merge_patch(&mut value, patch);
        let kept = old
            .value
            .get(&collection.id_field)
            .cloned()
            .unwrap_or_else(|| collection.id_value(id));
        let Value::Object(map) = value else {
            return None;
        };
        let value = with_id(map, &collection.id_field, kept);
        let (stored, _) = self.store(c, &mut holding, scope.to_vec(), id.to_owned(), value);
        Some(stored)
    }

    /// Removes item `id`; None when there is no such item.
    pub(crate) fn remove(&self, c: usize, scope: &[String], id: &str) -> Option<Arc<Item>> {
        let mut holding = self.write(c);
        let items = holding.scopes.get_mut(scope)?;
        let removed = items.shift_remove(id)?;
        if items.is_empty() {
            holding.scopes.remove(scope);
        }
        holding.count -= 1;
        self.emit(Change::Delete {
            collection: self.collection(c).name.clone(),
            scope: scope.to_vec(),
            id: id.to_owned(),
        });
        Some(removed)
    }

    /// A UUID for the item inserted at `seq` into collection `c`, drawn from the seed.
    fn new_uuid(&self, c: usize, seq: i64) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(stable_hash((
            self.seed,
            self.collection(c).name.as_str(),
            seq,
            "state-id",
        )));
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    // ---- by name, for the admin API and seeds ----

    fn named(&self, name: &str) -> Result<usize, StateError> {
        self.model
            .index_of(name)
            .ok_or_else(|| StateError::UnknownCollection {
                name: name.to_owned(),
                known: self.known(),
            })
    }

    fn known(&self) -> String {
        let names: Vec<&str> = self
            .model
            .collections()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            "none (the description declares no collection)".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// Every collection with the number of items it holds.
    pub fn summaries(&self) -> Vec<CollectionSummary> {
        self.model
            .collections()
            .iter()
            .enumerate()
            .map(|(c, collection)| CollectionSummary {
                collection: collection.clone(),
                count: self.read(c).count,
            })
            .collect()
    }

    /// The items of collection `name`, scope by scope, each in insertion order.
    pub fn items(&self, name: &str) -> Result<Vec<ItemView>, StateError> {
        Ok(self.items_page(name, 0, usize::MAX)?.1)
    }

    /// At most `limit` items of collection `name` after skipping `offset`, in the order of
    /// [`Resources::items`], with the collection's item count. Only the page is copied
    /// under the collection's lock, so a large collection does not hold up writers.
    pub fn items_page(
        &self,
        name: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<ItemView>), StateError> {
        let c = self.named(name)?;
        let collection = self.collection(c);
        let holding = self.read(c);
        let mut scopes: Vec<(&Vec<String>, &Scope)> = holding.scopes.iter().collect();
        scopes.sort_by_key(|(_, items)| items.values().next().map_or(0, |item| item.seq));
        let page = scopes
            .into_iter()
            .flat_map(|(scope, items)| items.iter().map(move |(id, item)| (scope, id, item)))
            .skip(offset)
            .take(limit)
            .map(|(scope, id, item)| ItemView {
                path: collection.item_path(scope, id),
                id: id.clone(),
                value: item.value.clone(),
            })
            .collect();
        Ok((holding.count, page))
    }

    /// Reads an admin key (`7`, or `1/7` in a collection nested once) as scope and id.
    fn split_key(&self, c: usize, key: &str) -> Result<(Vec<String>, String), StateError> {
        let collection = self.collection(c);
        let mut parts: Vec<String> = key.split('/').map(str::to_owned).collect();
        if parts.len() != collection.parents.len() + 1 || parts.iter().any(String::is_empty) {
            return Err(StateError::Invalid(format!(
                "item key '{key}' does not fit '{}': write it as {}",
                collection.name,
                collection.key_form()
            )));
        }
        let id = parts
            .pop()
            .map(|id| collection.key_of(&id))
            .unwrap_or_default();
        Ok((parts, id))
    }

    /// One item by admin key.
    pub fn get_key(&self, name: &str, key: &str) -> Result<Option<ItemView>, StateError> {
        let c = self.named(name)?;
        let (scope, id) = self.split_key(c, key)?;
        Ok(self.get(c, &scope, &id).map(|item| ItemView {
            path: self.collection(c).item_path(&scope, &id),
            id,
            value: item.value.clone(),
        }))
    }

    /// Creates or replaces an item by admin key; true when created.
    pub fn put_key(
        &self,
        name: &str,
        key: &str,
        value: Value,
    ) -> Result<(ItemView, bool), StateError> {
        let c = self.named(name)?;
        let (scope, id) = self.split_key(c, key)?;
        let Value::Object(item) = value else {
            return Err(StateError::Invalid(
                "an item must be a JSON object".to_owned(),
            ));
        };
        self.check_body_id(c, &id, &item)?;
        let path = self.collection(c).item_path(&scope, &id);
        let (stored, created) = self.upsert(c, scope, &id, item);
        Ok((
            ItemView {
                path,
                id,
                value: stored.value.clone(),
            },
            created,
        ))
    }

    /// Removes an item by admin key; false when there was none.
    pub fn delete_key(&self, name: &str, key: &str) -> Result<bool, StateError> {
        let c = self.named(name)?;
        let (scope, id) = self.split_key(c, key)?;
        Ok(self.remove(c, &scope, &id).is_some())
    }

    /// Removes every item of collection `name`, or of every collection of the description,
    /// and returns how many there were. Stored items of collections the description does
    /// not have are left in the database.
    pub fn clear(&self, name: Option<&str>) -> Result<usize, StateError> {
        let chosen: Vec<usize> = match name {
            Some(name) => vec![self.named(name)?],
            None => (0..self.holdings.len()).collect(),
        };
        // Every lock is held until the change is handed over, so no write to a cleared
        // collection can reach the sink before the clear does. Locks are taken in index
        // order, the only place that holds more than one.
        let mut guards: Vec<RwLockWriteGuard<'_, Holding>> =
            chosen.iter().map(|c| self.write(*c)).collect();
        let mut removed = 0;
        for holding in &mut guards {
            removed += holding.count;
            holding.scopes.clear();
            holding.count = 0;
        }
        // Cleared by name, also for "all": stored items of collections this description
        // does not have are kept (not served, not counted) and must not be wiped unseen.
        for c in chosen {
            self.emit(Change::Clear {
                collection: Some(self.model().collections()[c].name.clone()),
            });
        }
        Ok(removed)
    }

    /// Stores the items of a seed document, `{collection: [item, ...]}`. A collection is
    /// named by its name (`books`), its template (`/shelves/{shelfId}/books`), or a
    /// concrete path (`/shelves/1/books`) that places the items under that parent; items of
    /// a nested collection named otherwise carry their parents' values in fields named as
    /// the template's parameters. Items with an id replace the stored item of that id;
    /// items without one get one assigned. Nothing is stored unless every item fits.
    pub fn seed(&self, document: &Value) -> Result<SeedReport, StateError> {
        let Value::Object(entries) = document else {
            return Err(StateError::Invalid(
                "a seed must be an object of collections, such as {\"books\": [{...}]}".to_owned(),
            ));
        };
        let mut plan = Vec::new();
        for (key, items) in entries {
            let (c, fixed) = self.seed_target(key)?;
            let collection = self.collection(c);
            let Value::Array(items) = items else {
                return Err(StateError::Invalid(format!(
                    "{key}: expected an array of items"
                )));
            };
            for (i, item) in items.iter().enumerate() {
                let at = format!("{key}[{i}]");
                let Value::Object(item) = item else {
                    return Err(StateError::Invalid(format!(
                        "{at}: an item must be a JSON object"
                    )));
                };
                let scope = match &fixed {
                    Some(scope) => scope.clone(),
                    None => collection
                        .parents
                        .iter()
                        .map(|parent| {
                            item.get(parent).and_then(id_key).ok_or_else(|| {
                                StateError::Invalid(format!(
                                    "{at}: no '{parent}' field to place the item under \
                                     '{}'; give it one, or name the collection by a path \
                                     such as '{}'",
                                    collection.template,
                                    collection
                                        .item_path(
                                            &vec!["1".to_owned(); collection.parents.len()],
                                            ""
                                        )
                                        .trim_end_matches('/')
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                };
                let id = match item.get(&collection.id_field) {
                    None | Some(Value::Null) => None,
                    Some(id) => {
                        Some(id_key(id).map(|k| collection.key_of(&k)).ok_or_else(|| {
                            StateError::Invalid(format!(
                                "{at}.{}: an id must be a string or an integer",
                                collection.id_field
                            ))
                        })?)
                    }
                };
                plan.push((c, scope, id, item.clone()));
            }
        }
        let mut report = SeedReport::default();
        for (c, scope, id, item) in plan {
            match id {
                Some(id) => {
                    self.upsert(c, scope, &id, item);
                }
                None => {
                    self.create(c, scope, item)?;
                }
            }
            report.stored += 1;
            *report
                .collections
                .entry(self.collection(c).name.clone())
                .or_default() += 1;
        }
        Ok(report)
    }

    /// The collection a seed key names, with the parent values of a concrete path.
    fn seed_target(&self, key: &str) -> Result<(usize, Option<Vec<String>>), StateError> {
        let collections = self.model.collections();
        if let Some(c) = collections
            .iter()
            .position(|c| c.name == key || c.template == key)
        {
            return Ok((c, None));
        }
        let mut candidates = vec![key];
        candidates.extend(self.model.without_base(key));
        for path in candidates {
            let given: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            for (c, collection) in collections.iter().enumerate() {
                let template: Vec<&str> = collection
                    .template
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .collect();
                if template.len() != given.len() {
                    continue;
                }
                let mut values = Vec::new();
                let fits = template.iter().zip(&given).all(|(t, g)| {
                    if t.starts_with('{') && t.ends_with('}') {
                        values.push((*g).to_owned());
                        true
                    } else {
                        t == g
                    }
                });
                if fits && values.len() == collection.parents.len() {
                    return Ok((c, Some(values)));
                }
            }
        }
        Err(StateError::UnknownCollection {
            name: key.to_owned(),
            known: self.known(),
        })
    }

    /// Puts back one item read from the database, without handing it to the sink. Items of
    /// a collection must come in insertion order.
    pub fn restore(
        &self,
        report: &mut RestoreReport,
        collection: &str,
        scope: Vec<String>,
        id: String,
        seq: i64,
        body: &str,
    ) {
        let Some(c) = self.model.index_of(collection) else {
            if !report.unknown.iter().any(|u| u == collection) {
                report.unknown.push(collection.to_owned());
            }
            return;
        };
        let value: Value = match serde_json::from_str(body) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                report.invalid += 1;
                return;
            }
        };
        let mut holding = self.write(c);
        let items = holding.scopes.entry(scope).or_default();
        let item = Arc::new(Item {
            bytes: Bytes::from(body.as_bytes().to_vec()),
            value,
            seq,
        });
        if items.insert(id.clone(), item).is_none() {
            holding.count += 1;
        }
        holding.next_seq = holding.next_seq.max(seq.saturating_add(1));
        if let Ok(n) = id.parse::<i64>() {
            holding.next_id = holding.next_id.max(n.saturating_add(1));
        }
        report.loaded += 1;
    }
}
