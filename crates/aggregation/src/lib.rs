//! The MX-compatible aggregation API: routes and wire types, the member state machine and its
//! background jobs, the institution catalog, and the sandbox banks behind it.

pub mod auth;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod forced;
pub mod investments;
pub mod members;
pub mod oauth;
pub mod params;
pub mod processor;
pub mod rewards;
pub mod routes;
pub mod sandbox;
pub mod statements;
pub mod status;
pub mod verification;
pub mod version;
pub mod webhooks;
pub mod widget_url;
pub mod wire;
pub mod worker;

use std::sync::Arc;

use openiav_core::clock::{Clock, Timestamp};
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use openiav_store::{Conn, Store, StoreError};

pub use error::MxError;

/// Settings of the aggregation side.
#[derive(Clone, Debug)]
pub struct AggregationConfig {
    /// Base of every absolute URL handed out (OAuth windows), e.g. `http://127.0.0.1:8080`.
    pub public_base_url: String,
    /// How long the sandbox bank takes for each step of a job.
    pub sandbox_delay_ms: i64,
    /// How long an MFA or account-selection challenge waits for an answer before EXPIRED.
    pub challenge_timeout_ms: i64,
    /// How long an OAuth window URI stays usable.
    pub oauth_window_ttl_ms: i64,
    /// How long a widget URL can be opened (MX: ten minutes, once).
    pub widget_url_ttl_ms: i64,
    /// How long an opened widget session lasts.
    pub widget_session_ttl_ms: i64,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:8080".into(),
            sandbox_delay_ms: 0,
            challenge_timeout_ms: 10 * 60 * 1000,
            oauth_window_ttl_ms: 10 * 60 * 1000,
            widget_url_ttl_ms: 10 * 60 * 1000,
            widget_session_ttl_ms: 60 * 60 * 1000,
        }
    }
}

/// Everything a handler or the worker needs.
pub struct Aggregation {
    pub store: Store,
    pub keyring: Keyring,
    pub clock: Arc<dyn Clock>,
    pub config: AggregationConfig,
    pub tenants: auth::TenantCache,
}

impl Aggregation {
    pub fn new(store: Store, keyring: Keyring, clock: Arc<dyn Clock>, config: AggregationConfig) -> Arc<Self> {
        Arc::new(Self { store, keyring, clock, config, tenants: auth::TenantCache::default() })
    }

    /// The tenant's now on its test clock (the real clock unless a test moved it): what every
    /// time rule of the tenant reads.
    pub async fn now(&self, tenant: TenantId) -> Result<Timestamp, StoreError> {
        self.store.now_for(self.clock.as_ref(), tenant).await
    }

    /// Like [`Aggregation::now`], inside the caller's write.
    pub async fn now_in(&self, conn: &mut Conn, tenant: TenantId) -> Result<Timestamp, StoreError> {
        openiav_store::repo::tenant_clocks::now(conn, tenant, self.clock.now()).await
    }
}

/// Shared state of the aggregation router.
pub type AppState = Arc<Aggregation>;

/// The aggregation listener's routes (MX Platform API plus the OAuth test bank pages).
pub fn router(state: AppState) -> axum::Router {
    routes::router().merge(oauth::router()).with_state(state)
}
