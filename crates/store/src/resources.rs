//! Stored resources of the mock's stateful mode: the items its collections hold, kept so that
//! a restart finds them again. The store does not interpret an item; the engine does.

/// One stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    /// The collection's name (`books`, `shelves.books`).
    pub collection: String,
    /// The values of the parent path parameters of a nested collection, in template order;
    /// empty for a top-level collection.
    pub scope: Vec<String>,
    /// The item's id as text.
    pub id: String,
    /// Insertion order within the collection: items are listed in this order.
    pub seq: i64,
    /// The item as JSON text.
    pub body: String,
}

/// One change to the stored resources, applied in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceChange {
    /// Creates the item or replaces the one with the same collection, scope and id.
    Put(ResourceRow),
    /// Removes one item (nothing if it is absent).
    Delete {
        collection: String,
        scope: Vec<String>,
        id: String,
    },
    /// Removes every item of one collection, or of all of them.
    Clear { collection: Option<String> },
}

/// Applies changes to the resources table; owned by the one thread that persists them.
pub trait ResourceWriter: Send {
    /// Applies every change in one transaction, or none of them.
    fn apply(&mut self, changes: &[ResourceChange]) -> Result<(), crate::StoreError>;
}
