//! Stateful resources: an opt-in mode where the mock remembers writes.
//!
//! Collections are inferred from the description's route templates ([`ResourceModel`]):
//! `/books` with its items at `/books/{bookId}`, and nested ones such as
//! `/shelves/{shelfId}/books`, whose items are kept apart per parent (their scope). A POST to
//! a collection stores an item (assigning its id when missing), GET reads and lists what was
//! stored, PUT replaces, PATCH merges (JSON merge patch) and DELETE removes.
//!
//! [`Resources`] holds the items in memory, one lock per collection, and is the authority:
//! requests read and write it and never wait on a database. Every accepted change is also
//! handed to an optional sink (the server persists it behind the response). The engine
//! itself stays free of I/O: it owns no store, it is handed one per request.

mod answer;
mod infer;
mod items;
mod merge;

pub use infer::{Collection, IdKind, ResourceModel};
pub use items::{
    Change, CollectionSummary, ItemView, Resources, RestoreReport, SeedReport, StateError,
};

#[cfg(test)]
mod tests;
