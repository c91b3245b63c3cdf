//! `/exchange-partners`: the open-banking partners, oldest first.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::auth::AppToken;
use crate::hal;
use crate::partners::{self, view};
use crate::{AppState, DwollaError};

pub async fn list(State(state): State<AppState>, _: AppToken) -> Response {
    hal::ok(&view::list(state.base(), partners::all(state.config.visa_enabled)))
}

pub async fn retrieve(
    State(state): State<AppState>,
    _: AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let partner = partners::find(&id.to_ascii_lowercase(), state.config.visa_enabled)
        .ok_or_else(|| DwollaError::not_found("The requested resource was not found. Check Exchange Partner ID."))?;
    Ok(hal::ok(&view::of(state.base(), partner)))
}
