//! Investment holdings of a user, member or account, and deactivating a user from the product
//! (any holdings endpoint reactivates it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use openiav_store::records::HoldingRecord;
use openiav_store::repo::{accounts, holdings as repo, Page, PageRequest};
use serde_json::json;

use super::{load_member, load_user};
use crate::auth::Tenant;
use crate::params::{Pagination, QueryParams};
use crate::version::ApiVersion;
use crate::wire::Holding;
use crate::{AppState, MxError};

/// The user's holdings in scope, reactivating the user for the product in the same write.
async fn reactivate_and_list(
    state: &AppState,
    tenant: TenantId,
    user: UserGuid,
    member: Option<MemberGuid>,
    account: Option<AccountGuid>,
    page: PageRequest,
) -> Result<Page<HoldingRecord>, MxError> {
    Ok(state
        .store
        .write(move |c| {
            Box::pin(async move {
                repo::reactivate(c, tenant, &user).await?;
                repo::list(c, tenant, &user, member.as_ref(), account.as_ref(), page).await
            })
        })
        .await?)
}

fn render(v: ApiVersion, page: PageRequest, found: &Page<HoldingRecord>) -> Response {
    let items: Vec<Holding> = found.items.iter().map(Holding::new).collect();
    v.json(StatusCode::OK, &json!({ "investment_holdings": items, "pagination": Pagination::new(page, found.total) }))
}

pub async fn list_by_user(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(u): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let found = reactivate_and_list(&state, tenant, user.guid, None, None, page).await?;
    Ok(render(v, page, &found))
}

pub async fn list_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let found = reactivate_and_list(&state, tenant, user.guid, Some(member.guid), None, page).await?;
    Ok(render(v, page, &found))
}

pub async fn list_by_account(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, a)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let user_guid = user.guid.clone();
    let account = state
        .store
        .read(|mut c| async move { accounts::find(&mut c, tenant, &user_guid, &a).await })
        .await?
        .ok_or(MxError::NotFound)?;
    let found = reactivate_and_list(&state, tenant, user.guid, None, Some(account.guid), page).await?;
    Ok(render(v, page, &found))
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, h)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let user_guid = user.guid;
    let found = state
        .store
        .write(move |c| {
            Box::pin(async move {
                repo::reactivate(c, tenant, &user_guid).await?;
                repo::find(c, tenant, &user_guid, &h).await
            })
        })
        .await?
        .ok_or(MxError::NotFound)?;
    Ok(v.wrapped(StatusCode::OK, "investment_holding", &Holding::new(&found)))
}

/// `deactivateUser`: the user's aggregations stop gathering holdings until a holdings endpoint
/// is called for it again.
pub async fn deactivate(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(u): Path<String>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let now = state.now(tenant).await?;
    let user_guid = user.guid;
    state.store.write(move |c| Box::pin(async move { repo::deactivate(c, tenant, &user_guid, now).await })).await?;
    Ok(v.json(StatusCode::OK, &json!({ "message": "Successfully deactivated user from billing", "status": 200 })))
}
