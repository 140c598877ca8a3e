//! Stored scenarios: create, update, delete, activate, and the active one after reopening.

mod common;

use serde_json::json;
use store::{NewScenario, Store, StoreError, StoreOptions};

fn new(name: &str) -> NewScenario {
    NewScenario {
        name: name.to_owned(),
        description: format!("{name} description"),
        scenario_type: "functional".to_owned(),
        config: json!({ "scenario_name": name, "endpoints": [] }),
    }
}

#[test]
fn scenarios_are_created_listed_updated_and_deleted() {
    let t = common::temp_store();
    let a = t.store.create_scenario(&new("outage")).unwrap();
    let b = t.store.create_scenario(&new("slow")).unwrap();
    assert_eq!((a.name.as_str(), a.active), ("outage", false));
    assert_eq!(a.config["scenario_name"], "outage");
    let names: Vec<String> = t
        .store
        .scenarios()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["outage", "slow"]);

    let mut changed = new("outage-2");
    changed.config = json!({ "scenario_name": "outage-2", "endpoints": [{ "path": "/a" }] });
    let updated = t.store.update_scenario(a.id, &changed).unwrap().unwrap();
    assert_eq!(updated.name, "outage-2");
    assert_eq!(updated.config["endpoints"][0]["path"], "/a");
    assert!(updated.updated_at >= updated.created_at);
    assert_eq!(
        t.store.scenario_named("outage-2").unwrap().unwrap().id,
        a.id
    );
    assert!(t.store.update_scenario(9999, &changed).unwrap().is_none());

    assert!(t.store.delete_scenario(b.id).unwrap());
    assert!(!t.store.delete_scenario(b.id).unwrap());
    assert!(t.store.scenario(b.id).unwrap().is_none());
    let c = t.store.create_scenario(&new("later")).unwrap();
    assert!(c.id > b.id, "a deleted scenario's id is not reused");
}

#[test]
fn a_taken_name_is_refused_by_create_and_update() {
    let t = common::temp_store();
    t.store.create_scenario(&new("one")).unwrap();
    let two = t.store.create_scenario(&new("two")).unwrap();
    let err = t.store.create_scenario(&new("one")).unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateScenario { name } if name == "one"),
        "{err}"
    );
    assert_eq!(err.to_string(), "a scenario named 'one' already exists");
    let err = t.store.update_scenario(two.id, &new("one")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateScenario { .. }), "{err}");
}

#[test]
fn save_creates_then_replaces_by_name() {
    let t = common::temp_store();
    let (first, created) = t.store.save_scenario(&new("s")).unwrap();
    assert!(created);
    let mut again = new("s");
    again.description = "changed".to_owned();
    let (second, created) = t.store.save_scenario(&again).unwrap();
    assert!(!created);
    assert_eq!(
        (second.id, second.description.as_str()),
        (first.id, "changed")
    );
}

#[test]
fn one_scenario_is_active_at_most_and_it_survives_reopening() {
    let t = common::temp_store();
    let a = t.store.create_scenario(&new("a")).unwrap();
    let b = t.store.create_scenario(&new("b")).unwrap();
    assert!(t.store.active_scenario().unwrap().is_none());
    assert!(t.store.activate_scenario(a.id).unwrap().unwrap().active);
    assert!(t.store.activate_scenario(b.id).unwrap().unwrap().active);
    let active: Vec<String> = t
        .store
        .scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| s.active)
        .map(|s| s.name)
        .collect();
    assert_eq!(active, ["b"]);
    assert!(t.store.activate_scenario(4242).unwrap().is_none());

    let reopened = Store::open(&t.path, StoreOptions::default()).unwrap();
    assert_eq!(reopened.active_scenario().unwrap().unwrap().name, "b");
    let was = reopened.deactivate_scenarios().unwrap().unwrap();
    assert_eq!((was.name.as_str(), was.active), ("b", false));
    assert!(reopened.active_scenario().unwrap().is_none());
    assert!(reopened.deactivate_scenarios().unwrap().is_none());
}
