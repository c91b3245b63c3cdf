//! `POST /_openiav/fixtures` and `GET /_openiav/fixtures`: the tenant's custom sandbox data
//! (extra institutions, users with given accounts and transactions). A document is checked and
//! compiled by `aggregation::sandbox::fixtures`, stored as the tenant's setting (a reset keeps
//! it) and installed for the tenant at once; every start installs the stored documents again.
//!
//! Installed documents live in the process that loaded them: with several processes on one
//! PostgreSQL database, the others see a new document when they next start.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use openiav_aggregation::sandbox::fixtures;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::repo::sandbox;
use openiav_store::Store;
use serde::Serialize;
use serde_json::Value;

use crate::{AppState, ControlError, ControlTenant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/_openiav/fixtures", get(current).post(load))
}

/// What a loaded document holds.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Loaded {
    pub institutions: usize,
    pub users: usize,
    pub accounts: usize,
}

/// Checks `document` (JSON), stores it as the tenant's fixtures and installs it.
pub async fn load_document(
    store: &Store,
    tenant: TenantId,
    document: &[u8],
    now: Timestamp,
) -> Result<Loaded, ControlError> {
    let invalid = |e: fixtures::FixtureError| {
        ControlError::bad_request(format!("Invalid fixtures at `{}`: {}.", e.path, e.message))
    };
    let parsed = fixtures::parse(document).map_err(invalid)?;
    let bank = fixtures::compile(tenant, &parsed).map_err(invalid)?;
    let text = String::from_utf8_lossy(document).into_owned();
    // Loads take turns, so the document installed is the one stored last.
    static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = LOADING.lock().await;
    store.write(move |c| Box::pin(async move { sandbox::set_fixtures(c, tenant, &text, now).await })).await?;
    fixtures::install(tenant, bank);
    tracing::info!(tenant = %tenant, "sandbox fixtures loaded");
    Ok(Loaded {
        institutions: parsed.institutions.len(),
        users: parsed.users.len(),
        accounts: parsed.users.iter().map(|u| u.accounts.len()).sum(),
    })
}

/// Installs every tenant's stored document (at start). A document that no longer compiles
/// (the catalog gained its institution code, say) is skipped with an error in the log.
pub async fn install_stored(store: &Store) -> Result<usize, ControlError> {
    let stored = store.read(|mut c| async move { sandbox::all_fixtures(&mut c).await }).await?;
    let mut installed = 0;
    for (tenant, text) in stored {
        match fixtures::parse(text.as_bytes()).and_then(|doc| fixtures::compile(tenant, &doc)) {
            Ok(bank) => {
                fixtures::install(tenant, bank);
                installed += 1;
            }
            Err(e) => tracing::error!(tenant = %tenant, error = %e, "stored sandbox fixtures no longer load"),
        }
    }
    Ok(installed)
}

async fn load(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    body: Bytes,
) -> Result<Json<Loaded>, ControlError> {
    Ok(Json(load_document(&state.store, tenant, &body, state.aggregation.now(tenant).await?).await?))
}

async fn current(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<Value>, ControlError> {
    let stored = state.store.read(|mut c| async move { sandbox::fixtures(&mut c, tenant).await }).await?;
    let document = match stored {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| openiav_store::StoreError::Corrupt(format!("sandbox_fixtures.document: {e}")))?,
        None => serde_json::json!({ "institutions": [], "users": [] }),
    };
    Ok(Json(document))
}
