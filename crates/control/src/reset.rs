//! `POST /_openiav/reset`: deletes the tenant's data in one write, keeping its credentials (so
//! the caller's token keeps working) and settings, and answers how many rows of each kind went.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use openiav_core::ids::TenantId;
use openiav_store::repo::sandbox;
use serde::Serialize;

use crate::{AppState, ControlError, ControlTenant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/_openiav/reset", post(reset))
}

/// Rows per table, as reset and restore answer them.
#[derive(Debug, Serialize)]
pub struct Counts(pub BTreeMap<&'static str, u64>);

impl From<Vec<(&'static str, u64)>> for Counts {
    fn from(counts: Vec<(&'static str, u64)>) -> Self {
        Self(counts.into_iter().collect())
    }
}

#[derive(Debug, Serialize)]
pub struct ResetAnswer {
    pub deleted: Counts,
}

/// Deletes every row of `tenant`'s data. The account's own bank and balance go too; they are
/// opened afresh (with the sandbox's starting balance) the next time they are asked for.
pub async fn reset_tenant(state: &AppState, tenant: TenantId) -> Result<Counts, ControlError> {
    let counts = state.store.write(move |c| Box::pin(async move { sandbox::reset(c, tenant).await })).await?;
    tracing::info!(tenant = %tenant, "sandbox reset");
    Ok(counts.into())
}

async fn reset(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<ResetAnswer>, ControlError> {
    Ok(Json(ResetAnswer { deleted: reset_tenant(&state, tenant).await? }))
}
