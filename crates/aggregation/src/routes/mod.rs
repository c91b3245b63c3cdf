//! The MX Platform API routes, one module per resource, and the lookups they share.

mod accounts;
mod institutions;
mod investments;
mod members;
pub mod micro_deposits;
mod processor;
mod rewards;
mod statements;
mod users;
mod widget_urls;

use axum::routing::{get, post, put};
use axum::Router;
use openiav_core::ids::{TenantId, UserGuid};
use openiav_store::records::{MemberRecord, MemberStatusRecord, UserRecord};
use openiav_store::repo::{members as member_repo, users as user_repo};

use crate::engine::JobKind;
use crate::version::ApiVersion;
use crate::{AppState, MxError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", post(users::create).get(users::list))
        .route("/users/{user}", get(users::read).put(users::update).delete(users::delete))
        .route("/institutions", get(institutions::list))
        .route("/institutions/favorites", get(institutions::favorites))
        .route("/institutions/{code}", get(institutions::read))
        .route("/institutions/{code}/credentials", get(institutions::credentials))
        .route("/users/{user}/members", post(members::create).get(members::list))
        .route("/users/{user}/members/{member}", get(members::read).put(members::update).delete(members::delete))
        .route("/users/{user}/members/{member}/aggregate", members::job_route(JobKind::Aggregate))
        .route("/users/{user}/members/{member}/verify", members::job_route(JobKind::Verify))
        .route("/users/{user}/members/{member}/identify", members::job_route(JobKind::Identify))
        .route("/users/{user}/members/{member}/check_balance", members::job_route(JobKind::CheckBalance))
        .route("/users/{user}/members/{member}/extend_history", members::job_route(JobKind::ExtendHistory))
        .route("/users/{user}/members/{member}/fetch_statements", members::job_route(JobKind::FetchStatements))
        .route("/users/{user}/members/{member}/statements", get(statements::list))
        .route("/users/{user}/members/{member}/statements/{file}", get(statements::read_or_download))
        .route("/users/{user}/members/{member}/status", get(members::status))
        .route("/users/{user}/members/{member}/challenges", get(members::challenges))
        .route("/users/{user}/members/{member}/resume", put(members::resume))
        .route("/users/{user}/members/{member}/credentials", get(members::credentials))
        .route("/users/{user}/members/{member}/oauth_window_uri", get(members::oauth_window_uri))
        .route("/users/{user}/members/{member}/accounts", get(accounts::list_by_member))
        .route("/users/{user}/members/{member}/accounts/{account}", get(accounts::read_by_member))
        .route("/users/{user}/members/{member}/account_numbers", get(accounts::numbers_by_member))
        .route("/users/{user}/members/{member}/account_owners", get(accounts::owners_by_member))
        .route("/users/{user}/members/{member}/transactions", get(accounts::transactions_by_member))
        .route("/users/{user}/accounts", get(accounts::list_by_user))
        .route("/users/{user}/accounts/{account}", get(accounts::read_by_user))
        .route("/users/{user}/accounts/{account}/account_numbers", get(accounts::numbers_by_account))
        .route("/users/{user}/accounts/{account}/transactions", get(accounts::transactions_by_account))
        .route("/users/{user}/transactions", get(accounts::transactions_by_user))
        .route("/users/{user}/transactions/{transaction}", get(accounts::read_transaction))
        .route("/users/{user}/investment_holdings", get(investments::list_by_user))
        .route("/users/{user}/investment_holdings/{holding}", get(investments::read))
        .route("/users/{user}/investment_holdings_deactivate", get(investments::deactivate))
        .route("/users/{user}/members/{member}/investment_holdings", get(investments::list_by_member))
        .route("/users/{user}/accounts/{account}/investment_holdings", get(investments::list_by_account))
        .route("/users/{user}/members/{member}/fetch_rewards", members::job_route(JobKind::FetchRewards))
        .route("/users/{user}/members/{member}/rewards", get(rewards::list))
        .route("/users/{user}/members/{member}/rewards/{reward}", get(rewards::read))
        .route("/users/{user}/micro_deposits", post(micro_deposits::create).get(micro_deposits::list))
        .route("/users/{user}/micro_deposits/{micro_deposit}", get(micro_deposits::read).delete(micro_deposits::delete))
        .route("/micro_deposits/{micro_deposit}/verify", put(micro_deposits::verify))
        .route("/users/{user}/widget_urls", post(widget_urls::create))
        .route("/users/{user}/connect_widget_url", post(widget_urls::create_legacy))
        .route("/authorization_code", post(processor::authorization_code))
        .route("/payment_processor_authorization_code", post(processor::payment_processor_authorization_code))
        .route("/token", post(processor::token))
        .route("/tokens", get(processor::list_tokens))
        .route("/account/account_numbers", get(processor::account_numbers))
        .route("/account/check_balance", post(processor::check_balance))
        .route("/payment_account", get(processor::payment_account))
        .route("/account/transactions", get(processor::account_owners))
        .route("/_openiav/mx/webhooks", get(crate::webhooks::view::list))
        .route("/_openiav/mx/webhooks/{guid}", get(crate::webhooks::view::read))
        // Set before the CORS layer so that preflight requests reach it on every route.
        .method_not_allowed_fallback(|| async {
            MxError::MethodNotAllowed("This method is not allowed on this path.".into())
        })
        .layer(cors())
}

/// Browsers may call the API from any origin (the web widget SDK requests widget URLs itself):
/// it authenticates with an explicit header, never with cookies, so no ambient credential leaks.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            HeaderName::from_static("accept-version"),
            HeaderName::from_static("x-callback-payload"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// The user named in the path: its guid, or in v20250224 also its partner `id`.
pub(crate) async fn load_user(
    state: &AppState,
    tenant: TenantId,
    v: ApiVersion,
    ident: &str,
) -> Result<UserRecord, MxError> {
    let ident = ident.to_owned();
    let by_id = v.accepts_partner_ids();
    state
        .store
        .read(|mut c| async move { user_repo::find(&mut c, tenant, &ident, by_id).await })
        .await?
        .ok_or(MxError::NotFound)
}

/// The guid of the user named in the path, without a query when the path holds a guid.
async fn user_guid_of(state: &AppState, tenant: TenantId, v: ApiVersion, ident: &str) -> Result<UserGuid, MxError> {
    match UserGuid::parse(ident) {
        Some(g) => Ok(g),
        None if v.accepts_partner_ids() => Ok(load_user(state, tenant, v, ident).await?.guid),
        None => Err(MxError::NotFound),
    }
}

/// The member named in the path (its user is resolved only when the path names it by id).
pub(crate) async fn load_member(
    state: &AppState,
    tenant: TenantId,
    v: ApiVersion,
    user_ident: &str,
    member_ident: &str,
) -> Result<MemberRecord, MxError> {
    let user_guid = user_guid_of(state, tenant, v, user_ident).await?;
    let member = member_ident.to_owned();
    let by_id = v.accepts_partner_ids();
    state
        .store
        .read(|mut c| async move { member_repo::find(&mut c, tenant, &user_guid, &member, by_id).await })
        .await?
        .ok_or(MxError::NotFound)
}

/// The status columns of the member named in the path.
pub(crate) async fn load_member_status(
    state: &AppState,
    tenant: TenantId,
    v: ApiVersion,
    user_ident: &str,
    member_ident: &str,
) -> Result<MemberStatusRecord, MxError> {
    let user_guid = user_guid_of(state, tenant, v, user_ident).await?;
    let member = member_ident.to_owned();
    let by_id = v.accepts_partner_ids();
    state
        .store
        .read(|mut c| async move { member_repo::find_status(&mut c, tenant, &user_guid, &member, by_id).await })
        .await?
        .ok_or(MxError::NotFound)
}
