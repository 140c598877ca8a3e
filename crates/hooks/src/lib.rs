//! Requests the mock sends on its own: webhooks registered at run time and the OAS 3
//! callbacks of answered operations.
//!
//! The mock hands an answered exchange to [`Hooks::offer`], which costs one relaxed load when
//! nothing listens, and otherwise matches it against the webhooks and, if it matches, puts
//! an owned copy in a bounded queue without waiting (a full queue drops it and counts the
//! drop). A worker turns each exchange into deliveries; every delivery goes through one
//! pooled client, the destination guard ([`guard`]), signing ([`sign`]) and retries
//! ([`retry`]); every attempt is recorded in the store by a recorder thread.

mod callback;
mod dispatch;
pub mod event;
pub mod expr;
pub mod guard;
pub mod retry;
pub mod sign;

pub use dispatch::{ExchangeRef, HookError, HookFigures, HookSettings, Hooks};
pub use guard::GuardError;

/// Header naming the event of a delivery (`create`, `POST /books`, `test`, or the callback's
/// name for callbacks).
pub const EVENT_HEADER: &str = "x-mockloop-event";
/// Header carrying the delivery's id, the same for every attempt of it.
pub const DELIVERY_HEADER: &str = "x-mockloop-delivery";
