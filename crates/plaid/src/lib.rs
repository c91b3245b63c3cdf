//! A Plaid Link stand-in served by openiav: the Link script (`link-initialize.js`, defining
//! `window.Plaid.create`), the Link page its full-page iframe shows (no CDN, CSP, vanilla
//! script built from the DOM), the session-bound API that page calls, Plaid's sandbox
//! institutions and test credentials, and link and public tokens. A front end written for
//! Plaid runs unchanged once the Link script's URL points here.
//!
//! A link token opens one Link session, once (one conditional UPDATE); the page then sends the
//! session's own token in a header on every call. Tokens are stored only as SHA-256 hashes.
//! A minimal Plaid API (`platform`) serves apps that integrate Plaid themselves and hand Dwolla a
//! processor token. The payments side reaches this crate through its `LinkProvider` port,
//! plugged in by the server; nothing here knows Dwolla.

mod api;
pub mod error;
pub mod institutions;
pub mod link;
mod page;
mod platform;
pub mod rules;
mod session;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use openiav_core::clock::{Clock, Timestamp};
use openiav_core::ids::TenantId;
use openiav_store::{Store, StoreError};

pub use error::PlaidError;
pub use link::{LinkError, LinkedAccount};

/// Where the Link script, page and assets are served (Plaid's CDN path).
pub const LINK_PATH: &str = "/link/v2/stable";

/// Settings of the Link stand-in.
#[derive(Clone, Debug)]
pub struct PlaidConfig {
    /// The base URL browsers reach this listener at; its origin is the only one the Link
    /// script talks to.
    pub public_base_url: String,
}

/// Everything a Link handler needs.
pub struct Plaid {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: PlaidConfig,
}

impl Plaid {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: PlaidConfig) -> Arc<Self> {
        Arc::new(Self { store, clock, config })
    }

    /// The tenant's now on its test clock (the real clock unless a test moved it).
    pub async fn now(&self, tenant: TenantId) -> Result<Timestamp, StoreError> {
        self.store.now_for(self.clock.as_ref(), tenant).await
    }
}

/// Shared state of the Link routes.
pub type AppState = Arc<Plaid>;

/// A fresh `request_id` for an answer or an event.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..15].to_owned()
}

/// The Link routes, served on the aggregation listener.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/open", post(api::open))
        .route("/institutions", get(api::institutions))
        .route("/credentials", post(api::credentials))
        .route("/mfa", post(api::mfa))
        .route("/accounts", post(api::accounts));
    Router::new()
        .route(&format!("{LINK_PATH}/link-initialize.js"), get(page::initialize))
        .route(&format!("{LINK_PATH}/link.html"), get(page::page))
        .route(&format!("{LINK_PATH}/assets/{{file}}"), get(page::asset))
        .nest("/link/api", api)
        .route("/link/token/create", post(platform::link_token_create))
        .route("/item/public_token/exchange", post(platform::public_token_exchange))
        .route("/processor/token/create", post(platform::processor_token_create))
        .route("/sandbox/public_token/create", post(platform::sandbox_public_token_create))
        .route("/sandbox/item/reset_login", post(platform::sandbox_reset_login))
        .with_state(state)
}
