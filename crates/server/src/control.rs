//! The rules the mock answers under, changed while it runs: overrides (kept in memory only),
//! the active scenario and global faults.
//!
//! Requests read one immutable snapshot ([`engine::runtime::Rules`]) with a single atomic
//! load and never wait on a lock. Writers take a mutex, change the definitions, compile a
//! new snapshot and swap it in whole, so a request sees either every part of a change or
//! none of it. Auth emulation's settings travel in the same snapshot, and every change
//! invalidates the response cache when there is one.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::{ArcSwap, Guard};
use engine::Engine;
use engine::auth::AuthPolicy;
use engine::runtime::{GlobalFaults, GlobalPlan, OverrideSpec, Rule, RuleError, Rules, Scenario};
use serde::Serialize;

use crate::cache::ResponseCache;

/// An override as listed by the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Override {
    pub id: u64,
    #[serde(flatten)]
    pub spec: OverrideSpec,
}

/// A scenario compiled and ready to become active.
#[derive(Debug, Clone)]
pub struct CompiledScenario {
    pub name: Arc<str>,
    rules: Vec<Arc<Rule>>,
}

struct Definitions {
    /// Oldest first; the snapshot takes them newest first.
    overrides: Vec<(Override, Arc<Rule>)>,
    next_id: u64,
    /// The active scenario's store id and rules.
    scenario: Option<(i64, CompiledScenario)>,
    faults: GlobalFaults,
    plan: GlobalPlan,
    auth: AuthSettings,
}

/// Auth emulation: on or off, and the credentials it accepts (kept while off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSettings {
    pub enabled: bool,
    pub policy: AuthPolicy,
}

/// The runtime rules of one mock: what requests read and what the admin API changes.
pub struct Control {
    engine: Arc<Engine>,
    snapshot: ArcSwap<Rules>,
    definitions: Mutex<Definitions>,
    /// Invalidated on every change, when the mock has a cache.
    cache: OnceLock<Arc<ResponseCache>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("rules", &self.snapshot.load())
            .finish_non_exhaustive()
    }
}

impl Control {
    /// No overrides, no scenario, no faults: the description answers.
    pub fn new(engine: Arc<Engine>) -> Control {
        Control {
            engine,
            snapshot: ArcSwap::from_pointee(Rules::default()),
            definitions: Mutex::new(Definitions {
                overrides: Vec::new(),
                next_id: 1,
                scenario: None,
                faults: GlobalFaults::default(),
                plan: GlobalPlan::default(),
                auth: AuthSettings::default(),
            }),
            cache: OnceLock::new(),
        }
    }

    /// Has every later change invalidate `cache`.
    pub fn attach_cache(&self, cache: Arc<ResponseCache>) {
        let _ = self.cache.set(cache);
    }

    /// The current snapshot: one atomic load.
    pub fn rules(&self) -> Guard<Arc<Rules>> {
        self.snapshot.load()
    }

    fn definitions(&self) -> std::sync::MutexGuard<'_, Definitions> {
        self.definitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds the snapshot from `defs` and swaps it in.
    fn publish(&self, defs: &Definitions) {
        let overrides = defs.overrides.iter().rev().map(|(_, rule)| rule.clone());
        let scenario = defs
            .scenario
            .as_ref()
            .map(|(_, s)| (s.name.clone(), s.rules.clone()));
        let auth = defs
            .auth
            .enabled
            .then(|| Arc::new(defs.auth.policy.clone()));
        let rules = Rules::new(overrides, scenario, defs.plan.clone()).with_auth(auth);
        self.snapshot.store(Arc::new(rules));
        if let Some(cache) = self.cache.get() {
            cache.invalidate();
        }
    }

    pub fn auth(&self) -> AuthSettings {
        self.definitions().auth.clone()
    }

    /// Replaces auth emulation's settings.
    pub fn set_auth(&self, settings: AuthSettings) {
        let mut defs = self.definitions();
        defs.auth = settings;
        self.publish(&defs);
    }

    /// Every override, oldest first.
    pub fn overrides(&self) -> Vec<Override> {
        self.definitions()
            .overrides
            .iter()
            .map(|(o, _)| o.clone())
            .collect()
    }

    /// Adds an override; it takes precedence over every older one.
    pub fn add_override(&self, spec: OverrideSpec) -> Result<Override, RuleError> {
        let mut defs = self.definitions();
        let id = defs.next_id;
        let rule = Arc::new(self.engine.compile_override(id, &spec)?);
        defs.next_id += 1;
        let entry = Override { id, spec };
        defs.overrides.push((entry.clone(), rule));
        self.publish(&defs);
        Ok(entry)
    }

    /// Replaces override `id`, keeping its place; `None` if there is no such override.
    pub fn replace_override(
        &self,
        id: u64,
        spec: OverrideSpec,
    ) -> Result<Option<Override>, RuleError> {
        let mut defs = self.definitions();
        let Some(slot) = defs.overrides.iter_mut().find(|(o, _)| o.id == id) else {
            return Ok(None);
        };
        let rule = Arc::new(self.engine.compile_override(id, &spec)?);
        let entry = Override { id, spec };
        *slot = (entry.clone(), rule);
        self.publish(&defs);
        Ok(Some(entry))
    }

    /// Removes override `id`; false if there was none.
    pub fn remove_override(&self, id: u64) -> bool {
        let mut defs = self.definitions();
        let before = defs.overrides.len();
        defs.overrides.retain(|(o, _)| o.id != id);
        let removed = defs.overrides.len() != before;
        if removed {
            self.publish(&defs);
        }
        removed
    }

    /// Removes every override and returns how many there were.
    pub fn clear_overrides(&self) -> usize {
        let mut defs = self.definitions();
        let count = defs.overrides.len();
        defs.overrides.clear();
        self.publish(&defs);
        count
    }

    /// Compiles a scenario against the description without activating it: the check
    /// made before a scenario is stored.
    pub fn compile_scenario(&self, scenario: &Scenario) -> Result<CompiledScenario, RuleError> {
        Ok(CompiledScenario {
            name: Arc::from(scenario.scenario_name.as_str()),
            rules: self.engine.compile_scenario(scenario)?,
        })
    }

    /// Makes `scenario` (with its store id) the active one, or none.
    pub fn set_scenario(&self, scenario: Option<(i64, CompiledScenario)>) {
        let mut defs = self.definitions();
        defs.scenario = scenario;
        self.publish(&defs);
    }

    /// The store id of the active scenario.
    pub fn active_scenario(&self) -> Option<i64> {
        self.definitions().scenario.as_ref().map(|(id, _)| *id)
    }

    pub fn faults(&self) -> GlobalFaults {
        self.definitions().faults.clone()
    }

    /// Replaces the global delay and fault.
    pub fn set_faults(&self, faults: GlobalFaults) -> Result<GlobalFaults, RuleError> {
        let plan = self.engine.compile_global(&faults)?;
        let mut defs = self.definitions();
        defs.faults = faults.clone();
        defs.plan = plan;
        self.publish(&defs);
        Ok(faults)
    }
}
