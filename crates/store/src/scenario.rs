//! Stored scenarios: named sets of endpoint rules that survive a restart, at most one of
//! them active. The store keeps a scenario's configuration as JSON and does not interpret
//! it; the engine does.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// A scenario as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredScenario {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub scenario_type: String,
    /// The scenario as it was given (MockLoop's shape).
    pub config: Value,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a scenario is created or replaced with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScenario {
    pub name: String,
    pub description: String,
    pub scenario_type: String,
    pub config: Value,
}
