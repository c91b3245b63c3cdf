//! `GET /transfers/{id}/failure`: the return a failed transfer (or one of its legs) failed with.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::auth::AppToken;
use crate::hal;
use crate::transfers::failure;
use crate::{AppState, DwollaError};

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(hal::ok(&failure::find(&state, tenant, &id).await?))
}
