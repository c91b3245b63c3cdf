//! `/users/{user}/micro_deposits` and `/micro_deposits/{guid}/verify`: verifying an account
//! by two small deposits. The sandbox "sends" two deposits of $0.09 that land after the
//! configured sandbox delay; three wrong answers deny the verification.
//!
//! MX's spec types `micro_deposit` in single-record responses as an array, and both official
//! SDKs follow it (the Python SDK rejects an object), so those responses carry a one-element
//! array: `{"micro_deposit": [{…}]}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_core::aggregation::{AccountType, MicroDepositStatus, MxWebhookType};
use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::ids::{derived_guid, TenantId, UserGuid};
use openiav_store::records::MicroDepositRecord;
use openiav_store::repo::micro_deposits as repo;
use openiav_store::repo::users;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::load_user;
use crate::auth::Tenant;
use crate::catalog::Catalog;
use crate::params::{MxJson, Pagination, QueryParams};
use crate::sandbox::data::routing_number_for;
use crate::version::PlainJsonVersion;
use crate::webhooks::{self, payload, Action};
use crate::{AppState, MxError};

/// Each of the two sandbox deposits, in cents.
pub const SANDBOX_DEPOSIT_CENTS: i64 = 9;
/// Wrong answers allowed before the verification is denied.
pub const MAX_FAILED_ATTEMPTS: i64 = 3;

#[derive(Deserialize)]
pub struct CreateBody {
    micro_deposit: Option<CreateFields>,
}

/// The fields of a micro-deposit request (MX's `MicrodepositRequest`).
#[derive(Deserialize, Default)]
pub struct CreateFields {
    pub account_name: Option<String>,
    pub account_number: Option<String>,
    pub account_type: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub routing_number: Option<String>,
}

#[derive(Deserialize)]
pub struct VerifyBody {
    micro_deposit: Option<VerifyFields>,
}

#[derive(Deserialize)]
pub struct VerifyFields {
    deposit_amount_1: Option<f64>,
    deposit_amount_2: Option<f64>,
}

#[derive(Serialize)]
struct MicroDeposit<'a> {
    account_name: Option<&'a str>,
    account_number: String,
    account_type: AccountType,
    email: Option<&'a str>,
    error_message: Option<&'a str>,
    first_name: Option<&'a str>,
    guid: &'a str,
    institution_code: Option<&'a str>,
    institution_name: Option<&'a str>,
    last_name: Option<&'a str>,
    routing_number: &'a str,
    status: MicroDepositStatus,
    updated_at: String,
    verified_at: Option<String>,
}

fn account_number_context(d: &MicroDepositRecord) -> String {
    format!("{}/{}/micro_deposit", d.tenant_id, d.guid)
}

/// The guid of the DEPOSITED webhook queued at creation for when the deposits land, so a change
/// made before then (a forced status) can withdraw it.
pub(crate) fn landing_webhook_guid(d: &MicroDepositRecord) -> String {
    openiav_core::ids::derived_guid("WHK", &[d.guid.as_str(), "deposited"])
}

/// The status as of `now`: an initiated verification is DEPOSITED once the deposits land.
pub fn effective_status(d: &MicroDepositRecord, now: openiav_core::clock::Timestamp) -> MicroDepositStatus {
    if d.status == MicroDepositStatus::Initiated && now >= d.deposited_at {
        MicroDepositStatus::Deposited
    } else {
        d.status
    }
}

fn render<'a>(
    state: &AppState,
    d: &'a MicroDepositRecord,
    status: MicroDepositStatus,
) -> Result<MicroDeposit<'a>, MxError> {
    let number = state
        .keyring
        .decrypt(&account_number_context(d), &d.account_number)
        .map_err(|e| MxError::Internal(format!("decrypting a micro-deposit account number: {e}")))?;
    Ok(MicroDeposit {
        account_name: d.account_name.as_deref(),
        account_number: String::from_utf8_lossy(&number).into_owned(),
        account_type: d.account_type,
        email: d.email.as_deref(),
        error_message: d.error_message.as_deref(),
        first_name: d.first_name.as_deref(),
        guid: &d.guid,
        institution_code: d.institution_code.as_deref(),
        institution_name: d.institution_name.as_deref(),
        last_name: d.last_name.as_deref(),
        routing_number: &d.routing_number,
        status,
        updated_at: d.updated_at.to_rfc3339_seconds(),
        verified_at: d.verified_at.map(|t| t.to_rfc3339_seconds()),
    })
}

fn one(
    state: &AppState,
    v: PlainJsonVersion,
    code: StatusCode,
    d: &MicroDepositRecord,
    status: MicroDepositStatus,
) -> Result<Response, MxError> {
    Ok(v.json(code, &json!({ "micro_deposit": [render(state, d, status)?] })))
}

/// Starts a micro-deposit verification for `user`: the sandbox sends two deposits of $0.09.
pub async fn initiate(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    f: CreateFields,
) -> Result<MicroDepositRecord, MxError> {
    let routing =
        f.routing_number.as_deref().ok_or_else(|| MxError::bad_request("micro_deposit.routing_number is required."))?;
    let routing = RoutingNumber::parse(routing).ok_or_else(|| {
        MxError::bad_request("micro_deposit.routing_number must be a valid 9-digit ABA routing number.")
    })?;
    let number =
        f.account_number.as_deref().ok_or_else(|| MxError::bad_request("micro_deposit.account_number is required."))?;
    let number = AccountNumber::parse(number)
        .ok_or_else(|| MxError::bad_request("micro_deposit.account_number must be 4 to 17 digits."))?;
    let account_type = match f.account_type.as_deref().map(|t| t.to_ascii_uppercase().parse()) {
        Some(Ok(t @ (AccountType::Checking | AccountType::Savings))) => t,
        Some(_) => return Err(MxError::bad_request("micro_deposit.account_type must be CHECKING or SAVINGS.")),
        None => return Err(MxError::bad_request("micro_deposit.account_type is required.")),
    };
    let institution =
        Catalog::get().search(&Default::default()).into_iter().find(|i| routing_number_for(&i.code) == routing);
    let now = state.now(tenant).await?;
    let guid = derived_guid("MIC", &[user.as_str(), &now.millis().to_string(), &openiav_core::crypto::random_hex(8)]);
    let mut record = MicroDepositRecord {
        guid,
        tenant_id: tenant,
        user_guid: user.clone(),
        account_name: f.account_name,
        account_type,
        account_number: Vec::new(),
        account_number_last4: number.last4().to_owned(),
        routing_number: routing.as_str().to_owned(),
        email: f.email,
        first_name: f.first_name,
        last_name: f.last_name,
        institution_code: institution.map(|i| i.code.clone()),
        institution_name: institution.map(|i| i.name.clone()),
        status: MicroDepositStatus::Initiated,
        error_message: None,
        failed_attempts: 0,
        deposited_at: now.plus_millis(state.config.sandbox_delay_ms),
        verified_at: None,
        created_at: now,
        updated_at: now,
    };
    record.account_number = state.keyring.encrypt(&account_number_context(&record), number.expose().as_bytes());
    let stored = record.clone();
    let agg = state.clone();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                repo::insert(c, &stored).await?;
                // Created now; DEPOSITED when the deposits land, which this same write decides.
                let user_id = users::find(c, tenant, stored.user_guid.as_str(), false).await?.and_then(|u| u.id);
                let created = payload::micro_deposit(Action::Created, &stored, stored.status, user_id.as_deref(), now);
                webhooks::emit(c, &agg, tenant, MxWebhookType::MicroDeposit, &created, now).await?;
                let landed = stored.deposited_at;
                let deposited = payload::micro_deposit(
                    Action::Updated,
                    &stored,
                    MicroDepositStatus::Deposited,
                    user_id.as_deref(),
                    landed,
                );
                let guid = landing_webhook_guid(&stored);
                webhooks::emit_as(c, &agg, tenant, MxWebhookType::MicroDeposit, &deposited, landed, guid).await?;
                Ok(())
            })
        })
        .await?;
    Ok(record)
}

pub async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: PlainJsonVersion,
    Path(u): Path<String>,
    MxJson(body): MxJson<CreateBody>,
) -> Result<Response, MxError> {
    let f = body
        .micro_deposit
        .ok_or_else(|| MxError::bad_request("The request body must contain a `micro_deposit` object."))?;
    let user = load_user(&state, tenant, v.version, &u).await?;
    let record = initiate(&state, tenant, &user.guid, f).await?;
    one(&state, v, StatusCode::OK, &record, MicroDepositStatus::Initiated)
}

pub async fn list(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: PlainJsonVersion,
    Path(u): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v.version, &u).await?;
    let found = state.store.read(|mut c| async move { repo::list(&mut c, tenant, &user.guid, page).await }).await?;
    let now = state.now(tenant).await?;
    let items =
        found.items.iter().map(|d| render(&state, d, effective_status(d, now))).collect::<Result<Vec<_>, _>>()?;
    Ok(v.json(StatusCode::OK, &json!({ "micro_deposits": items, "pagination": Pagination::new(page, found.total) })))
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: PlainJsonVersion,
    Path((u, g)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v.version, &u).await?;
    let found = state.store.read(|mut c| async move { repo::find(&mut c, tenant, Some(&user.guid), &g).await }).await?;
    let d = found.ok_or(MxError::NotFound)?;
    one(&state, v, StatusCode::OK, &d, effective_status(&d, state.now(tenant).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: PlainJsonVersion,
    Path((u, g)): Path<(String, String)>,
) -> Result<StatusCode, MxError> {
    let user = load_user(&state, tenant, v.version, &u).await?;
    state.store.write(move |c| Box::pin(async move { repo::delete(c, tenant, &user.guid, &g).await })).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn verify(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: PlainJsonVersion,
    Path(g): Path<String>,
    MxJson(body): MxJson<VerifyBody>,
) -> Result<Response, MxError> {
    let f = body
        .micro_deposit
        .ok_or_else(|| MxError::bad_request("The request body must contain a `micro_deposit` object."))?;
    let cents = |a: Option<f64>, name: &str| -> Result<i64, MxError> {
        let a = a.ok_or_else(|| MxError::bad_request(format!("micro_deposit.{name} is required.")))?;
        if !(0.0..1.0).contains(&a) {
            return Err(MxError::bad_request(format!("micro_deposit.{name} must be an amount between 0.00 and 0.99.")));
        }
        Ok((a * 100.0).round() as i64)
    };
    let answer = (cents(f.deposit_amount_1, "deposit_amount_1")?, cents(f.deposit_amount_2, "deposit_amount_2")?);
    let now = state.now(tenant).await?;
    let agg = state.clone();
    let result = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut d) = repo::find_for_update(c, tenant, &g).await? else {
                    return Ok(Err(MxError::NotFound));
                };
                match effective_status(&d, now) {
                    MicroDepositStatus::Verified => return Ok(Ok(d)),
                    MicroDepositStatus::Deposited => {}
                    MicroDepositStatus::Initiated => {
                        return Ok(Err(MxError::bad_request("The deposits have not arrived yet; try again later.")))
                    }
                    other => {
                        return Ok(Err(MxError::bad_request(format!(
                            "This micro-deposit is {other} and cannot be verified."
                        ))))
                    }
                }
                if answer == (SANDBOX_DEPOSIT_CENTS, SANDBOX_DEPOSIT_CENTS) {
                    d.status = MicroDepositStatus::Verified;
                    d.error_message = None;
                    d.verified_at = Some(now);
                } else {
                    d.failed_attempts += 1;
                    if d.failed_attempts >= MAX_FAILED_ATTEMPTS {
                        d.status = MicroDepositStatus::Denied;
                        d.error_message = Some("The amounts were entered incorrectly too many times.".into());
                    } else {
                        d.status = MicroDepositStatus::Deposited;
                        d.error_message = Some("The amounts entered do not match the deposits.".into());
                    }
                }
                d.updated_at = now;
                repo::save(c, &d).await?;
                if d.status != MicroDepositStatus::Deposited {
                    let user_id = users::find(c, tenant, d.user_guid.as_str(), false).await?.and_then(|u| u.id);
                    let body = payload::micro_deposit(Action::Updated, &d, d.status, user_id.as_deref(), now);
                    webhooks::emit(c, &agg, tenant, MxWebhookType::MicroDeposit, &body, now).await?;
                }
                Ok(Ok(d))
            })
        })
        .await??;
    one(&state, v, StatusCode::OK, &result, effective_status(&result, now))
}
