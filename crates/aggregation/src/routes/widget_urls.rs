//! `/users/{user}/widget_urls` (and the deprecated `/users/{user}/connect_widget_url`): minting
//! Connect widget URLs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{load_member, load_user};
use crate::auth::Tenant;
use crate::params::MxJson;
use crate::version::ApiVersion;
use crate::widget_url::{self, WidgetConfig, WidgetRequest};
use crate::{AppState, MxError};

#[derive(Deserialize)]
pub struct WidgetUrlBody {
    widget_url: Option<WidgetRequest>,
}

#[derive(Deserialize)]
pub struct ConnectWidgetUrlBody {
    config: Option<WidgetRequest>,
}

/// Mints a URL for `config`, after checking that a named member belongs to the user.
async fn mint_for(
    state: &AppState,
    tenant: openiav_core::ids::TenantId,
    v: ApiVersion,
    user_ident: &str,
    config: WidgetConfig,
) -> Result<(openiav_store::records::UserRecord, String), MxError> {
    let user = load_user(state, tenant, v, user_ident).await?;
    if let Some(member) = &config.current_member_guid {
        load_member(state, tenant, v, user.guid.as_str(), member)
            .await
            .map_err(|_| MxError::bad_request(format!("`{member}` is not a member of this user.")))?;
    }
    let url = widget_url::mint(state, tenant, &user.guid, &config).await?;
    Ok((user, url))
}

pub async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(user_ident): Path<String>,
    MxJson(body): MxJson<WidgetUrlBody>,
) -> Result<Response, MxError> {
    let request =
        body.widget_url.ok_or_else(|| MxError::bad_request("The request body must contain a `widget_url` object."))?;
    let (user, url) = mint_for(&state, tenant, v, &user_ident, request.into_config()?).await?;
    Ok(v.wrapped(StatusCode::OK, "widget_url", &json!({ "type": "connect_widget", "url": url, "user_id": user.id })))
}

pub async fn create_legacy(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(user_ident): Path<String>,
    MxJson(body): MxJson<ConnectWidgetUrlBody>,
) -> Result<Response, MxError> {
    let config = body.config.unwrap_or_default().for_connect_widget().into_config()?;
    let (user, url) = mint_for(&state, tenant, v, &user_ident, config).await?;
    Ok(v.wrapped(StatusCode::OK, "user", &json!({ "connect_widget_url": url, "guid": user.guid })))
}
