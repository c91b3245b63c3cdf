//! The processor-token routes: the client's `/authorization_code` (and the deprecated
//! `/payment_processor_authorization_code`) and `/tokens`; the processor's `POST /token` and
//! its bearer-authenticated reads of the one account a token grants (`/account/account_numbers`,
//! `/account/check_balance`, `/payment_account`, and `/account/transactions`, which the spec
//! and both SDKs define as the account's owners).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use openiav_core::ids::{AccountGuid, MemberGuid, UserGuid};
use openiav_store::records::AccountRecord;
use openiav_store::repo::processor_tokens as repo;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Tenant;
use crate::engine::{self, JobKind};
use crate::members;
use crate::params::{paginate, MxJson, QueryParams};
use crate::processor::{self, ProcessorAuth, Scope};
use crate::sandbox::data;
use crate::version::ApiVersion;
use crate::wire::{AccountOwner, Member};
use crate::{AppState, MxError};

#[derive(Deserialize)]
pub struct AuthorizationCodeBody {
    authorization_code: Option<AuthorizationCodeRequest>,
}

#[derive(Deserialize)]
pub struct AuthorizationCodeRequest {
    scope: Option<String>,
}

/// `POST /authorization_code`: a code for the scope's account.
pub async fn authorization_code(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    MxJson(body): MxJson<AuthorizationCodeBody>,
) -> Result<Response, MxError> {
    let raw = body.authorization_code.and_then(|a| a.scope).unwrap_or_default();
    let scope = Scope::parse(&raw).map_err(|e| MxError::bad_request(e.to_string()))?;
    let code = processor::request_code(&state, tenant, scope).await?;
    Ok(no_store(v.json(StatusCode::OK, &json!({ "authorization_code": { "code": code } }))))
}

#[derive(Deserialize)]
pub struct PaymentProcessorBody {
    payment_processor_authorization_code: Option<PaymentProcessorRequest>,
}

#[derive(Deserialize)]
pub struct PaymentProcessorRequest {
    account_guid: Option<String>,
    member_guid: Option<String>,
    user_guid: Option<String>,
}

/// `POST /payment_processor_authorization_code` (deprecated by MX, still in the SDKs).
pub async fn payment_processor_authorization_code(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    MxJson(body): MxJson<PaymentProcessorBody>,
) -> Result<Response, MxError> {
    let fields = body
        .payment_processor_authorization_code
        .ok_or_else(|| MxError::bad_request("`payment_processor_authorization_code` is required."))?;
    fn field<T>(value: Option<String>, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, MxError> {
        let value = value.filter(|s| !s.is_empty()).ok_or_else(|| {
            MxError::bad_request(format!("`payment_processor_authorization_code.{name}` is required."))
        })?;
        parse(&value).ok_or_else(|| {
            MxError::bad_request(format!("`payment_processor_authorization_code.{name}` is not a valid guid."))
        })
    }
    let scope = Scope {
        user: field(fields.user_guid, "user_guid", UserGuid::parse)?,
        member: field(fields.member_guid, "member_guid", MemberGuid::parse)?,
        account: field(fields.account_guid, "account_guid", AccountGuid::parse)?,
    };
    let code = processor::request_code(&state, tenant, scope).await?;
    Ok(no_store(
        v.json(StatusCode::OK, &json!({ "payment_processor_authorization_code": { "authorization_code": code } })),
    ))
}

/// `POST /token?grant_type=authorization_code&code=…` (the parameters may also come as a form
/// body): the processor, authenticated as the tenant's client, redeems a code once.
pub async fn token(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    q: QueryParams,
    body: Bytes,
) -> Result<Response, MxError> {
    let form = QueryParams::parse(std::str::from_utf8(&body).ok());
    let param = |name: &str| q.get(name).or_else(|| form.get(name)).filter(|s| !s.is_empty()).map(str::to_owned);
    match param("grant_type").as_deref() {
        Some("authorization_code") => {}
        Some(_) => return Err(MxError::bad_request("grant_type must be authorization_code.")),
        None => return Err(MxError::bad_request("grant_type is required.")),
    }
    let code = param("code").ok_or_else(|| MxError::bad_request("code is required."))?;
    let grant =
        processor::redeem(&state, tenant, &code).await?.map_err(|refusal| MxError::bad_request(refusal.message()))?;
    let body = json!({
        "access_token": grant.access_token,
        "expires_at": null,
        "scope": grant.token.scope,
        "token_type": "Bearer",
    });
    Ok(no_store(v.json(StatusCode::OK, &body)))
}

/// Token answers hold secrets: no cache may keep them.
fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Deserialize, Default)]
pub struct TokenListBody {
    scope: Option<TokenListScope>,
}

#[derive(Deserialize, Default)]
pub struct TokenListScope {
    user_guid: Option<String>,
    member_guid: Option<String>,
    account_guid: Option<String>,
}

/// `GET /tokens`: the tokens issued for a user (optionally one member, one account), from the
/// spec's JSON body `{"scope":{"user_guid",…}}` or the same names as query parameters; without
/// a scope (the Python SDK drops GET bodies), every token of the tenant. The access tokens
/// themselves are never shown again.
pub async fn list_tokens(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    q: QueryParams,
    body: Bytes,
) -> Result<Response, MxError> {
    let scope = if body.iter().all(u8::is_ascii_whitespace) {
        TokenListScope::default()
    } else {
        let parsed: TokenListBody = serde_json::from_slice(&body)
            .map_err(|_| MxError::bad_request("The request body must be {\"scope\": {\"user_guid\": …}}."))?;
        parsed.scope.unwrap_or_default()
    };
    let pick = |from_body: Option<String>, name: &str| from_body.or_else(|| q.get(name).map(str::to_owned));
    let user = pick(scope.user_guid, "user_guid").filter(|s| !s.is_empty());
    let member = pick(scope.member_guid, "member_guid").filter(|s| !s.is_empty());
    let account = pick(scope.account_guid, "account_guid").filter(|s| !s.is_empty());
    if user.is_none() && (member.is_some() || account.is_some()) {
        return Err(MxError::bad_request("scope.user_guid is required with scope.member_guid or scope.account_guid."));
    }
    let user = match user {
        Some(u) => Some(super::load_user(&state, tenant, v, &u).await?.guid),
        None => None,
    };
    let found = state
        .store
        .read(|mut c| async move {
            repo::list_tokens(&mut c, tenant, user.as_ref(), member.as_deref(), account.as_deref()).await
        })
        .await?;
    let now = state.now(tenant).await?;
    let tokens: Vec<Value> = found
        .iter()
        .map(|t| {
            json!({
                "payment_processor_guid": processor::processor_guid(t.tenant_id),
                "expires_at": t.expires_at.to_rfc3339_seconds(),
                "active": t.expires_at > now,
                "user_guid": t.user_guid.as_str(),
                "member_guid": t.member_guid.as_str(),
                "account_guid": t.account_guid.as_str(),
                "created_at": t.created_at.to_rfc3339_seconds(),
            })
        })
        .collect();
    Ok(v.json(StatusCode::OK, &json!({ "tokens": tokens })))
}

/// A number as the processor spec types it (an integer; a value too long for one stays text).
fn as_integer(digits: &str) -> Value {
    digits.parse::<u64>().map_or_else(|_| Value::String(digits.to_owned()), Value::from)
}

/// The account's numbers, decrypted.
fn numbers_of(state: &AppState, a: &AccountRecord) -> Result<(String, String), MxError> {
    let blob = a.account_number.as_deref().unwrap_or_default();
    let plain = state
        .keyring
        .decrypt(&engine::account_number_context(a), blob)
        .map_err(|e| MxError::Internal(format!("decrypting an account number: {e}")))?;
    Ok((String::from_utf8_lossy(&plain).into_owned(), a.routing_number.clone().unwrap_or_default()))
}

/// `GET /account/account_numbers`: the granted account's numbers (`ProcessorAccountNumberBody`).
pub async fn account_numbers(
    State(state): State<AppState>,
    ProcessorAuth(token): ProcessorAuth,
    v: ApiVersion,
) -> Result<Response, MxError> {
    let (_, _, a) = processor::granted(&state, &token).await?;
    let (number, routing) = numbers_of(&state, &a)?;
    let body = json!({ "account_numbers": [{
        "account_guid": a.guid.as_str(),
        "member_guid": a.member_guid.as_str(),
        "user_guid": a.user_guid.as_str(),
        "account_number": as_integer(&number),
        "guid": a.account_number_guid,
        "institution_number": null,
        "loan_guarantor": null,
        "loan_reference_number": null,
        "passed_validation": true,
        "routing_number": as_integer(&routing),
        "sequence_number": null,
        "transit_number": null,
    }]});
    Ok(v.json(StatusCode::OK, &body))
}

/// `GET /payment_account`: the granted account with its balances (`PaymentAccountBody`).
pub async fn payment_account(
    State(state): State<AppState>,
    ProcessorAuth(token): ProcessorAuth,
    v: ApiVersion,
) -> Result<Response, MxError> {
    let (_, _, a) = processor::granted(&state, &token).await?;
    let (number, routing) = numbers_of(&state, &a)?;
    let dollars = |cents: i64| Value::from(cents as f64 / 100.0);
    let body = json!({ "payment_account": {
        "account_guid": a.guid.as_str(),
        "member_guid": a.member_guid.as_str(),
        "user_guid": a.user_guid.as_str(),
        "account_name": a.name,
        "account_number": as_integer(&number),
        "account_type": a.account_type,
        "available_balance": a.available_balance_cents.map(dollars),
        "balance": dollars(a.balance_cents),
        "created_at": a.created_at.to_rfc3339_seconds(),
        "routing_number": as_integer(&routing),
        "transit_number": null,
        "updated_at": a.updated_at.to_rfc3339_seconds(),
    }});
    Ok(v.json(StatusCode::OK, &body))
}

/// `POST /account/check_balance`: starts a balance check on the granted account's member and
/// answers the member (`MemberResponseBody`, 200 as the spec says).
pub async fn check_balance(
    State(state): State<AppState>,
    ProcessorAuth(token): ProcessorAuth,
    v: ApiVersion,
) -> Result<Response, MxError> {
    let (user, member, _) = processor::granted(&state, &token).await?;
    members::refuse_disabled(&user)?;
    let (member, _) =
        members::start_job(&state, token.tenant_id, &user.guid, &member.guid, JobKind::CheckBalance).await?;
    Ok(v.wrapped(StatusCode::OK, "member", &Member::new(&member, user.id.as_deref(), None, v)?))
}

/// `GET /account/transactions`: the spec's `getAccountOwnerInfo` (`ProcessorOwnerBody`): the
/// granted account's owners, once an identification has processed them.
pub async fn account_owners(
    State(state): State<AppState>,
    ProcessorAuth(token): ProcessorAuth,
    v: ApiVersion,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let (_, member, a) = processor::granted(&state, &token).await?;
    let accounts = if member.has_processed_account_owners { vec![a] } else { Vec::new() };
    let (items, pagination) = paginate(&accounts, page);
    let owners: Vec<data::Owner> =
        items.iter().map(|a| data::owner_for(&member.institution_code, &a.seed.to_string())).collect();
    let rendered: Vec<AccountOwner> = items.iter().zip(&owners).map(|(a, o)| AccountOwner::new(a, o)).collect();
    Ok(v.json(StatusCode::OK, &json!({ "account_owners": rendered, "pagination": pagination })))
}
