//! A minimal Plaid API on the same listener, for apps that integrate Plaid themselves and hand
//! Dwolla a processor token: `/link/token/create`, `/item/public_token/exchange`,
//! `/processor/token/create`, `/sandbox/public_token/create` and `/sandbox/item/reset_login`,
//! with Plaid's request, response and error JSON. `client_id` and `secret` in the body are the
//! tenant's aggregation `client_id` and `api_key`.

use axum::extract::State;
use axum::Json;
use openiav_core::crypto::{hash_token, token_matches};
use openiav_core::ids::TenantId;
use openiav_core::plaid::LinkStage;
use openiav_store::records::{PlaidItemRecord, PlaidLinkTokenRecord, PlaidProcessorTokenRecord};
use openiav_store::repo::{plaid as repo, tenants};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{PlaidError, PlaidJson};
use crate::institutions::{self, SANDBOX_ACCOUNTS};
use crate::link::{self, LinkError};
use crate::rules::{self, ErrorType};
use crate::{request_id, AppState};

/// The processors a processor token may be made for.
const PROCESSORS: &[&str] = &["dwolla"];

fn invalid_keys() -> PlaidError {
    PlaidError::invalid_input("INVALID_API_KEYS", "invalid client_id or secret provided")
}

fn missing(field: &str) -> PlaidError {
    PlaidError::invalid_request("MISSING_FIELDS", format!("the following required fields are missing: {field}"))
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, PlaidError> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| missing(field))
}

/// The tenant whose aggregation `client_id` and `api_key` the body carries.
async fn tenant(state: &AppState, client_id: &Option<String>, secret: &Option<String>) -> Result<TenantId, PlaidError> {
    let client_id = required(client_id, "client_id")?.to_owned();
    let secret = required(secret, "secret")?.to_owned();
    let found =
        state.store.read(|mut c| async move { tenants::find_by_mx_client_id(&mut c, &client_id).await }).await?;
    match found {
        Some(t) if token_matches(&secret, &t.mx_api_key_hash) => Ok(t.id),
        _ => Err(invalid_keys()),
    }
}

fn invalid_access_token() -> PlaidError {
    PlaidError::invalid_input("INVALID_ACCESS_TOKEN", "provided access token is in an invalid format or unknown")
}

async fn item_of(state: &AppState, tenant: TenantId, access_token: &str) -> Result<PlaidItemRecord, PlaidError> {
    let hash = hash_token(access_token.trim());
    state
        .store
        .read(|mut c| async move { repo::find_item_by_access_token(&mut c, tenant, &hash).await })
        .await?
        .ok_or_else(invalid_access_token)
}

/// `user` of `/link/token/create`.
#[derive(Deserialize, Default)]
pub struct LinkUser {
    pub client_user_id: Option<String>,
}

/// `POST /link/token/create` (the fields openiav reads; the rest are accepted and ignored).
#[derive(Deserialize)]
pub struct LinkTokenCreate {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub user: Option<LinkUser>,
    /// Update mode for this access token's item.
    pub access_token: Option<String>,
}

pub async fn link_token_create(
    State(state): State<AppState>,
    PlaidJson(r): PlaidJson<LinkTokenCreate>,
) -> Result<Json<Value>, PlaidError> {
    let tenant = tenant(&state, &r.client_id, &r.secret).await?;
    let user = r.user.unwrap_or_default();
    let client_user = required(&user.client_user_id, "user.client_user_id")?;
    let item = match &r.access_token {
        Some(token) => {
            let item = item_of(&state, tenant, token).await?;
            if item.client_user_id != client_user {
                return Err(PlaidError::invalid_input(
                    "INVALID_FIELD",
                    "user.client_user_id does not match the access token's user",
                ));
            }
            Some(item.id)
        }
        None => None,
    };
    let issued = link::create_link_token(&state, tenant, client_user, item.as_deref()).await.map_err(refusal)?;
    Ok(Json(json!({
        "link_token": issued.link_token,
        "expiration": issued.expiration.to_rfc3339_seconds(),
        "request_id": request_id(),
    })))
}

/// `POST /item/public_token/exchange`.
#[derive(Deserialize)]
pub struct PublicTokenExchange {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub public_token: Option<String>,
}

pub async fn public_token_exchange(
    State(state): State<AppState>,
    PlaidJson(r): PlaidJson<PublicTokenExchange>,
) -> Result<Json<Value>, PlaidError> {
    let tenant = tenant(&state, &r.client_id, &r.secret).await?;
    let public_token = required(&r.public_token, "public_token")?;
    let (hash, now) = (hash_token(public_token), state.now(tenant).await?);
    let access_token = format!("access-sandbox-{}", uuid::Uuid::new_v4());
    let access_hash = hash_token(&access_token);
    let item = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(spent) = repo::exchange_public_token(c, tenant, &hash, now).await? else { return Ok(None) };
                let Some(mut item) = repo::find_item_for_update(c, tenant, &spent.item_id).await? else {
                    return Ok(None);
                };
                item.access_token_hash = Some(access_hash);
                item.updated_at = now;
                repo::save_item(c, &item).await?;
                Ok(Some(item.id))
            })
        })
        .await?
        .ok_or_else(|| {
            PlaidError::invalid_input(
                "INVALID_PUBLIC_TOKEN",
                "provided public token is expired, already used or unknown",
            )
        })?;
    Ok(Json(json!({ "access_token": access_token, "item_id": item, "request_id": request_id() })))
}

/// `POST /processor/token/create`.
#[derive(Deserialize)]
pub struct ProcessorTokenCreate {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub access_token: Option<String>,
    pub account_id: Option<String>,
    pub processor: Option<String>,
}

pub async fn processor_token_create(
    State(state): State<AppState>,
    PlaidJson(r): PlaidJson<ProcessorTokenCreate>,
) -> Result<Json<Value>, PlaidError> {
    let tenant = tenant(&state, &r.client_id, &r.secret).await?;
    let item = item_of(&state, tenant, required(&r.access_token, "access_token")?).await?;
    let account = required(&r.account_id, "account_id")?.to_owned();
    let processor = required(&r.processor, "processor")?.to_owned();
    if !PROCESSORS.contains(&processor.as_str()) {
        return Err(PlaidError::invalid_input("INVALID_PROCESSOR", "processor is not valid"));
    }
    if institutions::account_of(&item.id, &account).is_none() {
        return Err(PlaidError::invalid_input("INVALID_ACCOUNT_ID", "account_id is not one of the item's accounts"));
    }
    let token = format!("processor-sandbox-{}", uuid::Uuid::new_v4());
    let record = PlaidProcessorTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: hash_token(&token),
        tenant_id: tenant,
        item_id: item.id,
        account_id: account,
        processor,
        used_at: None,
        created_at: state.now(tenant).await?,
    };
    state.store.write(move |c| Box::pin(async move { repo::insert_processor_token(c, &record).await })).await?;
    Ok(Json(json!({ "processor_token": token, "request_id": request_id() })))
}

/// `options` of `/sandbox/public_token/create`.
#[derive(Deserialize, Default)]
pub struct SandboxOptions {
    pub override_username: Option<String>,
    pub override_password: Option<String>,
}

/// `POST /sandbox/public_token/create`.
#[derive(Deserialize)]
pub struct SandboxPublicToken {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub institution_id: Option<String>,
    pub options: Option<SandboxOptions>,
}

pub async fn sandbox_public_token_create(
    State(state): State<AppState>,
    PlaidJson(r): PlaidJson<SandboxPublicToken>,
) -> Result<Json<Value>, PlaidError> {
    let tenant = tenant(&state, &r.client_id, &r.secret).await?;
    let institution = institutions::institution(required(&r.institution_id, "institution_id")?)
        .ok_or_else(|| PlaidError::invalid_input("INVALID_INSTITUTION", "invalid institution_id provided"))?;
    let options = r.options.unwrap_or_default();
    let username = options.override_username.unwrap_or_else(|| "user_good".into());
    let password = options.override_password.unwrap_or_else(|| "pass_good".into());
    // Only a login that connects without a challenge makes an item here (as in Plaid's sandbox).
    match rules::judge_credentials(&username, &password) {
        rules::Verdict::Connected => {}
        rules::Verdict::Refused(f) => return Err(PlaidError::failure(&f)),
        rules::Verdict::Challenge(_) => {
            return Err(PlaidError::new(ErrorType::InvalidRequest, "INVALID_FIELD", "MFA credentials need Link"))
        }
    }
    let now = state.now(tenant).await?;
    let session = PlaidLinkTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: hash_token(&format!("sandbox-{}", uuid::Uuid::new_v4())),
        tenant_id: tenant,
        client_user_id: "sandbox".into(),
        item_id: None,
        session_token_hash: None,
        stage: LinkStage::Done,
        institution_id: Some(institution.institution_id.to_owned()),
        mfa: None,
        expires_at: now,
        opened_at: Some(now),
        session_expires_at: Some(now),
        created_at: now,
    };
    let item_id = uuid::Uuid::new_v4().simple().to_string();
    let ids: Vec<String> = SANDBOX_ACCOUNTS.iter().map(|a| institutions::account_id(&item_id, a)).collect();
    let item = PlaidItemRecord {
        id: item_id.clone(),
        tenant_id: tenant,
        client_user_id: session.client_user_id.clone(),
        institution_id: institution.institution_id.to_owned(),
        accounts: serde_json::to_string(&ids).expect("ids serialise"),
        login_required_at: None,
        access_token_hash: None,
        created_at: now,
        updated_at: now,
    };
    let (public_token, token) = link::issue_public_token(now, &session, &item_id, &ids[0]);
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                repo::insert_link_token(c, &session).await?;
                repo::insert_item(c, &item).await?;
                repo::insert_public_token(c, &token).await
            })
        })
        .await?;
    Ok(Json(json!({ "public_token": public_token, "request_id": request_id() })))
}

/// `POST /sandbox/item/reset_login`.
#[derive(Deserialize)]
pub struct ResetLogin {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    pub access_token: Option<String>,
}

pub async fn sandbox_reset_login(
    State(state): State<AppState>,
    PlaidJson(r): PlaidJson<ResetLogin>,
) -> Result<Json<Value>, PlaidError> {
    let tenant = tenant(&state, &r.client_id, &r.secret).await?;
    let item = item_of(&state, tenant, required(&r.access_token, "access_token")?).await?;
    link::require_login(&state, tenant, &item.id).await.map_err(refusal)?;
    Ok(Json(json!({ "reset_login": true, "request_id": request_id() })))
}

fn refusal(e: LinkError) -> PlaidError {
    match e {
        LinkError::ItemNotFound => PlaidError::invalid_input("ITEM_NOT_FOUND", "the requested item was not found"),
        LinkError::Store(e) => e.into(),
        other => PlaidError::invalid_input("INVALID_FIELD", other.to_string()),
    }
}
