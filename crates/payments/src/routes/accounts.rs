//! Account routes: `GET /accounts/{id}` and `GET /accounts/{id}/funding-sources`. Each parses
//! the request, calls one [`crate::accounts`] operation and renders its view.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use crate::accounts::{self, view::Account};
use crate::auth::AppToken;
use crate::funding_sources::view::FundingSourceList;
use crate::hal;
use crate::{AppState, DwollaError};

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let account = accounts::find(&state, tenant, &id).await?;
    Ok(hal::ok(&Account::of(state.base(), tenant, &account.name)))
}

pub async fn funding_sources(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let removed = super::removed_filter(query.as_deref())?;
    let sources = accounts::funding_sources(&state, tenant, &id, removed).await?;
    Ok(hal::ok(&FundingSourceList::of_account(state.base(), tenant, &sources)?))
}
