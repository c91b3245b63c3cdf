//! `/events`: the application's events, newest first.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use openiav_store::repo::events as repo;

use super::{paging, query_pairs};
use crate::auth::AppToken;
use crate::events::view;
use crate::hal::{self, Paging};
use crate::lookup::find_or_404;
use crate::{AppState, DwollaError};

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let params = query_pairs(query.as_deref());
    let (limit, offset) = paging(&params, 25, 200)?;
    let page = state.store.read(|mut c| async move { repo::list(&mut c, tenant, limit, offset).await }).await?;
    Ok(hal::ok(&view::page(state.base(), &page.items, Paging { limit, offset, total: page.total })))
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let event = find_or_404(&state, &id, "Application event not found.", |mut c, id| async move {
        repo::find(&mut c, tenant, &id).await
    })
    .await?;
    Ok(hal::ok(&view::of(state.base(), &event)))
}
