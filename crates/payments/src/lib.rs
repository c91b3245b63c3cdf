//! The Dwolla-compatible payments API: OAuth application tokens, customers, exchange partners,
//! exchange sessions, available exchange connections, exchanges, funding sources and events,
//! in Dwolla's HAL conventions. Account verification goes through the [`port::AccountVerifier`]
//! port, the Visa partner's bank page through [`port::VisaProvider`] and Plaid's Link through
//! [`port::LinkProvider`]; this crate never talks to the aggregation, Visa or Link side directly.

pub mod accounts;
pub mod auth;
pub mod body;
pub mod customers;
pub mod error;
pub mod events;
pub mod exchanges;
pub mod funding_sources;
pub mod hal;
pub mod idempotency;
pub mod lookup;
pub mod on_demand_authorizations;
pub mod partners;
pub mod port;
pub mod routes;
pub mod sessions;
pub mod simulations;
pub mod transfers;
pub mod visa;
pub mod webhooks;

use std::sync::Arc;

use openiav_core::clock::{Clock, Timestamp};
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use openiav_store::{Conn, Store, StoreError};

pub use error::{DwollaCode, DwollaError, FieldCode, FieldError};

/// Settings of the payments side.
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// Base of every absolute URL handed out (`Location`, `_links`), e.g. `http://127.0.0.1:8081`.
    pub public_base_url: String,
    /// Offer Visa as an exchange partner (Dwolla removed it in 2025 and the TypeScript SDK
    /// rejects a partner list that contains it).
    pub visa_enabled: bool,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self { public_base_url: "http://127.0.0.1:8081".into(), visa_enabled: false }
    }
}

/// Everything a payments handler needs.
pub struct Payments {
    pub store: Store,
    pub keyring: Keyring,
    pub clock: Arc<dyn Clock>,
    pub config: PaymentsConfig,
    pub verifier: Arc<dyn port::AccountVerifier>,
    /// The Visa partner's bank page.
    pub visa: Arc<dyn port::VisaProvider>,
    /// Plaid's Link and its tokens.
    pub link: Arc<dyn port::LinkProvider>,
}

impl Payments {
    pub fn new(
        store: Store,
        keyring: Keyring,
        clock: Arc<dyn Clock>,
        config: PaymentsConfig,
        verifier: Arc<dyn port::AccountVerifier>,
        visa: Arc<dyn port::VisaProvider>,
        link: Arc<dyn port::LinkProvider>,
    ) -> Arc<Self> {
        let mut config = config;
        config.public_base_url = config.public_base_url.trim_end_matches('/').to_owned();
        Arc::new(Self { store, keyring, clock, config, verifier, visa, link })
    }

    /// The tenant's now on its test clock (the real clock unless a test moved it): what every
    /// time rule of the tenant reads. Inside a write, read it with
    /// `openiav_store::repo::tenant_clocks::now(conn, tenant, state.clock.now())`.
    pub async fn now(&self, tenant: TenantId) -> Result<Timestamp, StoreError> {
        self.store.now_for(self.clock.as_ref(), tenant).await
    }

    /// Like [`Payments::now`], inside the caller's write (so the now is the one the write sees).
    pub async fn now_in(&self, conn: &mut Conn, tenant: TenantId) -> Result<Timestamp, StoreError> {
        openiav_store::repo::tenant_clocks::now(conn, tenant, self.clock.now()).await
    }

    /// The public base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.config.public_base_url
    }
}

/// Shared state of the payments router.
pub type AppState = Arc<Payments>;

/// The payments listener's routes.
pub fn router(state: AppState) -> axum::Router {
    routes::router().layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer)).with_state(state)
}
