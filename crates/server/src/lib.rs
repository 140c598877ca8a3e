//! Listeners for the mock API and the admin API, the middleware between socket and engine,
//! live metrics, the concurrency limit, the response cache, persistence of the stateful
//! store, and clean shutdown.

mod admin;
mod cache;
mod control;
mod cors;
mod limit;
mod metrics;
mod mock;
mod persist;

pub use admin::{ADMIN_BODY_LIMIT, AdminState, router as admin_router, serve as serve_admin};
pub use cache::{CacheBackend, CacheConfig, CacheReport, ResponseCache};
pub use control::{AuthSettings, CompiledScenario, Control, Override};
pub use cors::CorsPolicy;
pub use limit::{ConcurrencyLimit, LimitConfig, LimitTotals};
pub use metrics::{Metrics, MetricsReport, SAMPLE_INTERVAL, Sampler};
pub use mock::{MockConfig, MockState, serve as serve_mock};
pub use persist::{PersistReport, StatePersister, restore as restore_state};
