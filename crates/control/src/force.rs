//! `POST /_openiav/force/{kind}/{id}`: moves one of the tenant's resources to a state through
//! the same transitions and side effects as the real path (events, webhooks, jobs), each in one
//! write deciding on the row it loads: an MX member's `connection_status`, a Dwolla customer's
//! status, a bank's verified/unverified/removed state, a transfer's outcome (processed, failed
//! with a return code, cancelled), a bank's micro-deposits and an MX micro-deposit. Answers the
//! resource as it now stands; an illegal transition is a 409 with the reason, another tenant's
//! or an unknown id a 404.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use openiav_aggregation::forced::{self, ForcedStatus};
use openiav_aggregation::MxError;
use openiav_core::aggregation::MicroDepositStatus;
use openiav_core::ids::TenantId;
use openiav_core::payments::{CustomerStatus, FundingSourceMicroDepositStatus, TransferStatus};
use openiav_payments::customers::view::CustomerView;
use openiav_payments::error::DwollaCode;
use openiav_payments::funding_sources::rules::ForcedState;
use openiav_payments::funding_sources::view::{FundingSource, MicroDeposits};
use openiav_payments::funding_sources::{self, micro_deposits};
use openiav_payments::transfers::failure::ReturnCode;
use openiav_payments::transfers::processing::{self, Forced};
use openiav_payments::transfers::view::Transfer;
use openiav_payments::transfers::{self, UpdateTransfer};
use openiav_payments::{customers, DwollaError};
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord, MemberRecord, MicroDepositRecord};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{AppState, ControlCode, ControlError, ControlTenant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_openiav/force/members/{guid}", post(member))
        .route("/_openiav/force/customers/{id}", post(customer))
        .route("/_openiav/force/funding-sources/{id}", post(funding_source))
        .route("/_openiav/force/transfers/{id}", post(transfer))
        .route("/_openiav/force/micro-deposits/{id}", post(micro_deposit))
        .route("/_openiav/force/mx-micro-deposits/{guid}", post(mx_micro_deposit))
}

/// A JSON body as `T`; anything else is a 400 saying what is wrong.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(bytes).map_err(|e| ControlError::bad_request(format!("The body is not valid: {e}.")))
}

/// A word of one of the vocabularies, or a 400 listing the words `field` takes.
pub(crate) fn word<T: std::str::FromStr + Copy>(
    field: &str,
    given: &str,
    all: &[T],
    spell: fn(T) -> &'static str,
) -> Result<T, ControlError> {
    given.parse().map_err(|_| {
        let words: Vec<&str> = all.iter().map(|w| spell(*w)).collect();
        ControlError::bad_request(format!("`{field}` must be one of {}; `{given}` is not.", words.join(", ")))
    })
}

/// A refusal of the payments side: its 404 stays a 404 (`what` names the resource), an internal
/// failure an opaque 500, anything else is the state not allowing it (409 with the reason).
pub(crate) fn from_dwolla(e: DwollaError, what: &str) -> ControlError {
    match e.code() {
        DwollaCode::NotFound => ControlError::not_found(what),
        DwollaCode::ServerError => {
            tracing::error!(detail = e.detail().unwrap_or_default(), "control plane payments failure");
            ControlError::new(ControlCode::ServerError, "An internal error occurred.")
        }
        _ => {
            let fields: Vec<&str> = e.field_errors().iter().map(|f| f.message.as_str()).collect();
            let reason = if fields.is_empty() { e.message().to_owned() } else { fields.join(" ") };
            ControlError::conflict(reason)
        }
    }
}

/// A refusal of the aggregation side, as [`from_dwolla`] treats the payments side's.
pub(crate) fn from_mx(e: MxError, what: &str) -> ControlError {
    match e {
        MxError::NotFound => ControlError::not_found(what),
        MxError::Internal(detail) => {
            tracing::error!(detail, "control plane aggregation failure");
            ControlError::new(ControlCode::ServerError, "An internal error occurred.")
        }
        other => ControlError::conflict(other.to_string()),
    }
}

fn to_value(view: impl serde::Serialize) -> Json<Value> {
    Json(serde_json::to_value(view).expect("views serialise"))
}

#[derive(Deserialize)]
struct MemberBody {
    connection_status: String,
}

/// The member as forced: the fields a test watches.
pub(crate) fn member_view(m: &MemberRecord) -> Value {
    json!({ "member": {
        "guid": m.guid.as_str(),
        "user_guid": m.user_guid.as_str(),
        "connection_status": m.connection_status,
        "connection_status_id": m.connection_status.id(),
        "connection_status_message": m.connection_status_message,
        "is_being_aggregated": m.is_being_aggregated,
        "successfully_aggregated_at": m.successfully_aggregated_at.map(|t| t.to_rfc3339_seconds()),
    } })
}

async fn member(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(guid): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: MemberBody = body(&bytes)?;
    Ok(Json(member_view(&force_member(&state, tenant, &guid, &b.connection_status).await?)))
}

/// Forces the tenant's member `guid` to the `connection_status` named.
pub async fn force_member(
    state: &AppState,
    tenant: TenantId,
    guid: &str,
    connection_status: &str,
) -> Result<MemberRecord, ControlError> {
    let target = word("connection_status", connection_status, ForcedStatus::ALL, ForcedStatus::as_str)?;
    let forced = openiav_aggregation::members::force_status(&state.aggregation, tenant, guid, target)
        .await
        .map_err(|e| from_mx(e, "member"))?;
    forced.map_err(|refused: forced::Refusal| ControlError::conflict(refused.reason()))
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    #[serde(rename = "returnCode")]
    return_code: Option<String>,
}

async fn customer(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: StatusBody = body(&bytes)?;
    let customer = force_customer(&state, tenant, &id, &b.status).await?;
    Ok(to_value(CustomerView::of(state.payments.base(), &customer)))
}

/// Forces the tenant's customer `id` to the `status` named.
pub async fn force_customer(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    status: &str,
) -> Result<customers::Customer, ControlError> {
    let target = word("status", status, CustomerStatus::ALL, CustomerStatus::as_str)?;
    let (id, payments) = (id.to_ascii_lowercase(), state.payments.clone());
    let forced = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = payments.now_in(c, tenant).await?;
                customers::force_status(c, payments.base(), tenant, &id, target, now).await
            })
        })
        .await?;
    forced.map_err(|e| from_dwolla(e, "customer"))
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
}

async fn funding_source(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: StateBody = body(&bytes)?;
    let (source, deposits) = force_funding_source(&state, tenant, &id, &b.state).await?;
    let view = FundingSource::of(state.payments.base(), &source, deposits.as_ref())
        .map_err(|e| from_dwolla(e, "funding source"))?;
    Ok(to_value(view))
}

/// Forces the tenant's funding source `id` to the state named (verified, unverified, removed).
pub async fn force_funding_source(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    target: &str,
) -> Result<(FundingSourceRecord, Option<FundingSourceMicroDepositsRecord>), ControlError> {
    let target = word("state", target, ForcedState::ALL, ForcedState::as_str)?;
    let (id, payments) = (id.to_ascii_lowercase(), state.payments.clone());
    let forced = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = payments.now_in(c, tenant).await?;
                funding_sources::force_state(c, &payments, tenant, &id, target, now).await
            })
        })
        .await?;
    forced.map_err(|e| from_dwolla(e, "funding source"))
}

/// What a transfer is forced to.
enum TransferOutcome {
    Forced(Forced),
    Cancelled,
}

fn transfer_outcome(status: &str, return_code: Option<&str>) -> Result<TransferOutcome, ControlError> {
    let status = word("status", status, TransferStatus::ALL, TransferStatus::as_str)?;
    let code = match return_code {
        None => None,
        Some(code) => Some(word("returnCode", code, ReturnCode::ALL, ReturnCode::as_str)?),
    };
    match (status, code) {
        (TransferStatus::Processed, None) => Ok(TransferOutcome::Forced(Forced::Processed)),
        (TransferStatus::Failed, Some(code)) => Ok(TransferOutcome::Forced(Forced::Failed(code))),
        (TransferStatus::Failed, None) => {
            Err(ControlError::bad_request("A failed transfer needs a `returnCode` (R01, R02, …)."))
        }
        (TransferStatus::Cancelled, None) => Ok(TransferOutcome::Cancelled),
        (TransferStatus::Processed | TransferStatus::Cancelled, Some(_)) => {
            Err(ControlError::bad_request("Only a failed transfer takes a `returnCode`."))
        }
        (TransferStatus::Pending, _) => {
            Err(ControlError::bad_request("A transfer is forced to processed, failed or cancelled, not pending."))
        }
    }
}

async fn transfer(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: StatusBody = body(&bytes)?;
    force_transfer(&state, tenant, &id, &b.status, b.return_code.as_deref()).await?;
    let found = transfers::find(&state.payments, tenant, &id).await.map_err(|e| from_dwolla(e, "transfer"))?;
    let view = Transfer::of_found(state.payments.base(), &found).map_err(|e| from_dwolla(e, "transfer"))?;
    Ok(to_value(view))
}

/// Forces the tenant's transfer `id` (or one of its legs) to the outcome named: processed,
/// failed with `return_code`, or cancelled.
pub async fn force_transfer(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    status: &str,
    return_code: Option<&str>,
) -> Result<(), ControlError> {
    let outcome = transfer_outcome(status, return_code)?;
    let (target, payments) = (id.to_ascii_lowercase(), state.payments.clone());
    let done: Result<(), ControlError> = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let (now, base) = (payments.now_in(c, tenant).await?, payments.base());
                Ok(match outcome {
                    TransferOutcome::Forced(forced) => {
                        match processing::force(c, base, tenant, &target, forced, now).await? {
                            Ok(_) => Ok(()),
                            Err(None) => Err(ControlError::not_found("transfer")),
                            Err(Some(reason)) => Err(ControlError::conflict(reason)),
                        }
                    }
                    TransferOutcome::Cancelled => {
                        let request = UpdateTransfer { status: Some("cancelled".into()) };
                        let cancelled = transfers::cancel(c, base, tenant, &target, &request, now).await?;
                        cancelled.map(|_| ()).map_err(|e| from_dwolla(e, "transfer"))
                    }
                })
            })
        })
        .await?;
    done
}

async fn micro_deposit(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: StatusBody = body(&bytes)?;
    let (source, deposits) = force_micro_deposits(&state, tenant, &id, &b.status).await?;
    Ok(to_value(MicroDeposits::of(state.payments.base(), &source, &deposits)))
}

/// Forces the micro-deposits of the tenant's funding source `id` to the `status` named.
pub async fn force_micro_deposits(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    status: &str,
) -> Result<(FundingSourceRecord, FundingSourceMicroDepositsRecord), ControlError> {
    let all = FundingSourceMicroDepositStatus::ALL;
    let target = word("status", status, all, FundingSourceMicroDepositStatus::as_str)?;
    let (id, payments) = (id.to_ascii_lowercase(), state.payments.clone());
    let forced = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = payments.now_in(c, tenant).await?;
                micro_deposits::force_status(c, payments.base(), tenant, &id, target, now).await
            })
        })
        .await?;
    forced.map_err(|e| from_dwolla(e, "funding source"))
}

fn mx_micro_deposit_view(d: &MicroDepositRecord, status: MicroDepositStatus) -> Value {
    json!({ "micro_deposit": {
        "guid": d.guid,
        "user_guid": d.user_guid.as_str(),
        "status": status,
        "error_message": d.error_message,
        "updated_at": d.updated_at.to_rfc3339_seconds(),
    } })
}

async fn mx_micro_deposit(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(guid): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ControlError> {
    let b: StatusBody = body(&bytes)?;
    let (d, status) = force_mx_micro_deposit(&state, tenant, &guid, &b.status).await?;
    Ok(Json(mx_micro_deposit_view(&d, status)))
}

/// Forces the tenant's MX micro-deposit `guid` to the `status` named; answers it with its status.
pub async fn force_mx_micro_deposit(
    state: &AppState,
    tenant: TenantId,
    guid: &str,
    status: &str,
) -> Result<(MicroDepositRecord, MicroDepositStatus), ControlError> {
    let target = word("status", status, MicroDepositStatus::ALL, MicroDepositStatus::as_str)?;
    let forced = forced::micro_deposit(&state.aggregation, tenant, guid, target)
        .await
        .map_err(|e| from_mx(e, "micro-deposit"))?;
    forced.map_err(ControlError::conflict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: &str, code: Option<&str>) -> Result<TransferOutcome, ControlCode> {
        transfer_outcome(status, code).map_err(|e| e.code)
    }

    #[test]
    fn a_transfer_is_forced_to_an_outcome_and_only_a_failure_takes_a_return_code() {
        assert!(matches!(outcome("processed", None), Ok(TransferOutcome::Forced(Forced::Processed))));
        assert!(matches!(outcome("failed", Some("R16")), Ok(TransferOutcome::Forced(Forced::Failed(ReturnCode::R16)))));
        assert!(matches!(outcome("cancelled", None), Ok(TransferOutcome::Cancelled)));
        for (status, code) in
            [("failed", None), ("failed", Some("R99")), ("processed", Some("R01")), ("pending", None), ("done", None)]
        {
            assert!(matches!(outcome(status, code), Err(ControlCode::BadRequest)), "{status} {code:?}");
        }
    }
}
