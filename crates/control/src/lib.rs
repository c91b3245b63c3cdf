//! The sandbox control plane: `/_openiav/…` on both listeners, authenticated with the tenant's
//! own MX or Dwolla credentials and scoped to that tenant. Each module owns one operation and
//! its routes; the `openiav sandbox` CLI verbs call them over HTTP.

pub mod auth;
pub mod clock;
pub mod dashboard;
pub mod error;
pub mod faults;
pub mod fire;
pub mod fixtures;
pub mod force;
pub mod journal;
pub mod reset;
pub mod snapshot;

use std::sync::Arc;

use axum::Router;
use openiav_aggregation::Aggregation;
use openiav_payments::Payments;
use openiav_store::Store;

pub use auth::ControlTenant;
pub use error::{ControlCode, ControlError};

/// What the control plane reaches: the store and both vendor sides (whose rules it drives).
pub struct Control {
    pub store: Store,
    pub aggregation: Arc<Aggregation>,
    pub payments: Arc<Payments>,
}

impl Control {
    pub fn new(store: Store, aggregation: Arc<Aggregation>, payments: Arc<Payments>) -> Arc<Self> {
        Arc::new(Self { store, aggregation, payments })
    }
}

/// Shared state of the control router.
pub type AppState = Arc<Control>;

/// Every control route; mounted on both listeners.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(reset::routes())
        .merge(snapshot::routes())
        .merge(fixtures::routes())
        .merge(force::routes())
        .merge(fire::routes())
        .merge(clock::routes())
        .merge(faults::routes())
        .merge(journal::routes())
        .merge(dashboard::routes())
        .with_state(state)
}
