//! Stored resources of the stateful mode: changes applied in order, loaded back in insertion
//! order, and a database from before the resources table migrated on open.

mod common;

use store::{ResourceChange, ResourceRow, Store, StoreOptions};

fn row(collection: &str, scope: &[&str], id: &str, seq: i64, body: &str) -> ResourceRow {
    ResourceRow {
        collection: collection.to_owned(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        id: id.to_owned(),
        seq,
        body: body.to_owned(),
    }
}

#[test]
fn changes_are_applied_in_order_and_loaded_back_by_insertion_order() {
    let t = common::temp_store();
    let mut writer = t.store.resource_writer().unwrap();
    writer
        .apply(&[
            ResourceChange::Put(row("books", &[], "2", 1, r#"{"id":2}"#)),
            ResourceChange::Put(row("books", &[], "1", 2, r#"{"id":1}"#)),
            ResourceChange::Put(row("shelves.books", &["7"], "a", 1, r#"{"id":"a"}"#)),
            ResourceChange::Put(row("shelves.books", &["8"], "a", 2, r#"{"id":"a","n":8}"#)),
        ])
        .unwrap();
    // A replaced item keeps one row; a delete in a nested scope leaves the other scope.
    writer
        .apply(&[
            ResourceChange::Put(row("books", &[], "2", 1, r#"{"id":2,"title":"x"}"#)),
            ResourceChange::Delete {
                collection: "shelves.books".to_owned(),
                scope: vec!["7".to_owned()],
                id: "a".to_owned(),
            },
        ])
        .unwrap();
    let rows = t.store.load_resources().unwrap();
    assert_eq!(
        rows,
        [
            row("books", &[], "2", 1, r#"{"id":2,"title":"x"}"#),
            row("books", &[], "1", 2, r#"{"id":1}"#),
            row("shelves.books", &["8"], "a", 2, r#"{"id":"a","n":8}"#),
        ]
    );

    writer
        .apply(&[ResourceChange::Clear {
            collection: Some("books".to_owned()),
        }])
        .unwrap();
    let left: Vec<String> = t
        .store
        .load_resources()
        .unwrap()
        .into_iter()
        .map(|r| r.collection)
        .collect();
    assert_eq!(left, ["shelves.books"]);
    writer
        .apply(&[ResourceChange::Clear { collection: None }])
        .unwrap();
    assert!(t.store.load_resources().unwrap().is_empty());
}

#[test]
fn a_database_from_before_resources_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'create request_logs', '2024-01-01');
             INSERT INTO schema_migrations VALUES (3, 'create scenarios', '2024-01-01');
             CREATE TABLE request_logs (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    }
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert!(Store::known_schema_versions().contains(&4));
    assert_eq!(
        store.schema_version().unwrap(),
        Store::latest_schema_version()
    );
    store
        .resource_writer()
        .unwrap()
        .apply(&[ResourceChange::Put(row("pets", &[], "1", 1, "{}"))])
        .unwrap();
    assert_eq!(store.load_resources().unwrap().len(), 1);
}
