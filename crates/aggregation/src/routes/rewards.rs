//! Rewards of a member (gathered by its fetch_rewards job).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_store::repo::rewards as repo;
use serde_json::json;

use super::{load_member, load_user};
use crate::auth::Tenant;
use crate::params::{Pagination, QueryParams};
use crate::version::ApiVersion;
use crate::wire::Reward;
use crate::{AppState, MxError};

pub async fn list(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let found = state
        .store
        .read(|mut c| async move { repo::list(&mut c, tenant, &user.guid, &member.guid, page).await })
        .await?;
    let items: Vec<Reward> = found.items.iter().map(Reward::new).collect();
    Ok(v.json(StatusCode::OK, &json!({ "rewards": items, "pagination": Pagination::new(page, found.total) })))
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m, r)): Path<(String, String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let found = state
        .store
        .read(|mut c| async move { repo::find(&mut c, tenant, &user.guid, &member.guid, &r).await })
        .await?
        .ok_or(MxError::NotFound)?;
    Ok(v.wrapped(StatusCode::OK, "reward", &Reward::new(&found)))
}
