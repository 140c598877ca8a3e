//! Registered webhooks and the record of delivery attempts, as the store keeps them. The
//! store does not interpret event patterns or check destinations; the `hooks` crate does.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A webhook as stored. Deliberately not `Serialize`: the secret must never leave through
/// an API by accident; callers build their own views.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWebhook {
    pub id: i64,
    pub url: String,
    /// Event patterns as given (`POST /books`, `create`, `*`).
    pub events: Vec<String>,
    pub secret: Option<String>,
    /// Extra headers sent with every delivery, in order.
    pub headers: Vec<(String, String)>,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

/// What a webhook is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub headers: Vec<(String, String)>,
    pub description: String,
}

/// One delivery attempt, to be recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryAttempt {
    /// Shared by the attempts of one delivery (the `X-Mockloop-Delivery` header).
    pub delivery_id: String,
    /// `webhook` or `callback`.
    pub kind: String,
    /// The webhook delivered to; None for callbacks.
    pub webhook_id: Option<i64>,
    /// The event (`create`, `POST /books`, `test`) or the callback's name.
    pub event: String,
    pub method: String,
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's status; None when no answer came.
    pub status: Option<u16>,
    /// From sending the request to the answer's head (or the failure), in milliseconds.
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
    /// `delivered`, `retrying` (another attempt follows), `failed` or `refused` (the
    /// destination guard refused it; nothing was sent).
    pub outcome: String,
    /// The mock request that caused the delivery, if any.
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// A recorded attempt with its row id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDelivery {
    pub id: i64,
    #[serde(flatten)]
    pub attempt: DeliveryAttempt,
}

/// Which attempts to list: newest first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub kind: Option<String>,
    pub webhook_id: Option<i64>,
    pub limit: u32,
}

impl Default for DeliveryFilter {
    fn default() -> Self {
        DeliveryFilter {
            kind: None,
            webhook_id: None,
            limit: 50,
        }
    }
}
