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
    /// The kinds of webhook delivery the shared worker runs, which a clock advance runs too.
    pub deliveries: Vec<Delivery>,
}

/// The kinds of scheduled work a clock advance runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkKind {
    MemberJob,
    DwollaWebhook,
    MxWebhook,
}

/// One kind of webhook delivery of the shared delivery worker.
pub struct Delivery {
    pub kind: WorkKind,
    pub runner: Arc<dyn openiav_outbound::worker::Kind>,
}

impl Control {
    pub fn new(
        store: Store,
        aggregation: Arc<Aggregation>,
        payments: Arc<Payments>,
        deliveries: Vec<Delivery>,
    ) -> Arc<Self> {
        Arc::new(Self { store, aggregation, payments, deliveries })
    }

    /// The process's real clock (a tenant's clock is `Payments::now` / `Aggregation::now`).
    pub fn real_now(&self) -> openiav_core::clock::Timestamp {
        self.payments.clock.now()
    }

    /// The job queues a clock advance runs.
    pub fn queues(&self) -> Vec<&'static str> {
        vec![openiav_aggregation::engine::QUEUE, openiav_outbound::QUEUE]
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
