//! The Visa open-banking partner (Visa's Tink-based account check) as openiav plays it: the bank
//! page a Visa exchange session's `external-provider-session` link opens, on the aggregation
//! listener, and the single-use codes it hands back to Dwolla's redirect endpoint.
//!
//! A link is minted for one exchange session ([`link::mint`]) with the return address and the
//! session's state; its URL carries a one-time authorization code, which opening the page spends
//! (one conditional update: a page opens once) in exchange for a page token the page's forms
//! carry. The end user chooses a bank, signs in as one of the sandbox's test users
//! ([`sandbox::sign_in`]), consents and chooses an account; the page then sends the browser to the
//! return address with `code=…&state=…`, or with `error=AUTHENTICATION_ERROR|TEMPORARY_ERROR|
//! USER_CANCELLED&state=…`. The code, spent once by [`link::redeem`], names the chosen account.
//! Only hashes of the authorization code, the page token and the codes are stored; the state is
//! encrypted. The page is server-rendered forms with no script, its stylesheet compiled in.

pub mod link;
mod page;
mod routes;
pub mod sandbox;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use openiav_core::clock::{Clock, Timestamp};
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use openiav_store::{Store, StoreError};

/// Where a link opens the bank page.
pub const CONNECT_PATH: &str = "/1.0/account-check/connect";
/// Where the page's forms post, one path per step.
pub const STEP_PATH: &str = "/1.0/account-check/steps";
/// The page's stylesheet.
pub const ASSETS_PATH: &str = "/1.0/account-check/assets";

/// Settings of the bank page.
#[derive(Clone, Debug)]
pub struct VisaConfig {
    /// Base of the page's URLs (the aggregation listener's public URL).
    pub public_base_url: String,
    /// How long a minted link may wait to be opened.
    pub link_ttl_ms: i64,
    /// How long an opened page lasts.
    pub page_ttl_ms: i64,
    /// How long a code handed back may wait to be redeemed.
    pub code_ttl_ms: i64,
}

impl Default for VisaConfig {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:8080".into(),
            link_ttl_ms: 30 * 60_000,
            page_ttl_ms: 30 * 60_000,
            code_ttl_ms: 5 * 60_000,
        }
    }
}

/// Everything the bank page needs.
pub struct Visa {
    pub store: Store,
    pub keyring: Keyring,
    pub clock: Arc<dyn Clock>,
    pub config: VisaConfig,
}

impl Visa {
    pub fn new(store: Store, keyring: Keyring, clock: Arc<dyn Clock>, config: VisaConfig) -> Arc<Self> {
        Arc::new(Self { store, keyring, clock, config })
    }

    /// The tenant's now on its test clock (the real clock unless a test moved it).
    pub async fn now(&self, tenant: TenantId) -> Result<Timestamp, StoreError> {
        self.store.now_for(self.clock.as_ref(), tenant).await
    }
}

/// Shared state of the bank page's routes.
pub type AppState = Arc<Visa>;

/// The bank page's routes, served on the aggregation listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(CONNECT_PATH, get(routes::connect))
        .route(&format!("{STEP_PATH}/bank"), post(routes::choose_bank))
        .route(&format!("{STEP_PATH}/login"), post(routes::log_in))
        .route(&format!("{STEP_PATH}/consent"), post(routes::consent))
        .route(&format!("{STEP_PATH}/account"), post(routes::choose_account))
        .route(&format!("{ASSETS_PATH}/{{file}}"), get(routes::asset))
        .with_state(state)
}
