//! Micro-deposits on an unverified bank funding source: initiate (`POST` with no amounts),
//! verify (`POST` with `amount1`/`amount2`), details (`GET`), and `POST /sandbox-simulations`,
//! which processes pending deposits. Sandbox amounts: any two below $0.10 verify, except
//! 0.09 and 0.09, which simulates running out of attempts; three wrong answers end it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_core::ids::TenantId;
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord};
use openiav_store::repo::funding_sources as repo;
use serde_json::{json, Value};

use super::funding_sources::source_of;
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::error::FieldError;
use crate::events;
use crate::hal::{self, link};
use crate::{AppState, DwollaError};

/// Wrong answers allowed.
const MAX_ATTEMPTS: i64 = 3;
/// How many pending deposits one simulation processes (Dwolla: the last 500).
const SIMULATION_BATCH: i64 = 500;

/// An amount in cents, if it is a USD amount with at most two decimals.
fn cents_of(amount: Option<&Value>) -> Option<i64> {
    let amount = amount?;
    if amount.get("currency").and_then(Value::as_str).is_some_and(|c| c != "USD") {
        return None;
    }
    let value = amount.get("value")?;
    let text = value.as_str().map(str::to_owned).or_else(|| value.as_f64().map(|f| format!("{f:.2}")))?;
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), "0"));
    if frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?)
}

fn details_path(id: &str) -> String {
    format!("/funding-sources/{id}/micro-deposits")
}

pub async fn post(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let source = source_of(&state, tenant, &id).await?;
    if source.removed {
        return Err(DwollaError::invalid_resource_state("A removed bank cannot be verified."));
    }
    if source.status == "verified" {
        return Err(DwollaError::invalid_resource_state("Bank already verified."));
    }
    if body.get("amount1").is_some() || body.get("amount2").is_some() {
        verify(&state, tenant, source, &body).await
    } else {
        initiate(&state, tenant, source).await
    }
}

async fn initiate(state: &AppState, tenant: TenantId, source: FundingSourceRecord) -> Result<Response, DwollaError> {
    let now = state.clock.now();
    let record = FundingSourceMicroDepositsRecord {
        funding_source_id: source.id.clone(),
        tenant_id: tenant,
        status: "pending".into(),
        failed_attempts: 0,
        created_at: now,
        processed_at: None,
    };
    let base = state.base().to_owned();
    let customer = source.customer_id.clone();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                if repo::find_micro_deposits(c, tenant, &record.funding_source_id).await?.is_some() {
                    return Ok(Err(DwollaError::new(
                        StatusCode::BAD_REQUEST,
                        "MaxNumberOfResources",
                        "Micro-deposits already initiated for this funding source.",
                    )));
                }
                repo::insert_micro_deposits(c, &record).await?;
                let fs = &record.funding_source_id;
                events::record(
                    c,
                    &base,
                    tenant,
                    "customer_microdeposits_added",
                    "funding-sources",
                    fs,
                    Some(&customer),
                    now,
                )
                .await?;
                Ok(Ok(()))
            })
        })
        .await??;
    state.store.jobs_enqueued();
    Ok(hal::created(state.base(), &details_path(&source.id)))
}

async fn verify(
    state: &AppState,
    tenant: TenantId,
    mut source: FundingSourceRecord,
    body: &Value,
) -> Result<Response, DwollaError> {
    let sid = source.id.clone();
    let mut deposits = state
        .store
        .read(|mut c| async move { repo::find_micro_deposits(&mut c, tenant, &sid).await })
        .await?
        .ok_or_else(|| DwollaError::not_found("Micro-deposits have not been initiated for this funding source."))?;
    if deposits.failed_attempts >= MAX_ATTEMPTS {
        return Err(DwollaError::invalid_resource_state("Too many attempts."));
    }
    let mut errors = Vec::new();
    let mut amounts = [0i64; 2];
    for (i, name) in ["amount1", "amount2"].iter().enumerate() {
        match cents_of(body.get(*name)) {
            Some(c) if (1..=15).contains(&c) => amounts[i] = c,
            _ => errors.push(FieldError::invalid(&format!("/{name}/value"), "Invalid amount.")),
        }
    }
    if !errors.is_empty() {
        return Err(DwollaError::validation(errors));
    }
    let now = state.clock.now();
    let customer = source.customer_id.clone();
    let (verified, topics): (bool, Vec<&'static str>) = if amounts == [9, 9] {
        deposits.failed_attempts = MAX_ATTEMPTS;
        deposits.status = "failed".into();
        (false, vec!["customer_microdeposits_maxattempts"])
    } else if amounts.iter().all(|c| *c < 10) {
        let mut topics = Vec::new();
        if deposits.status == "pending" {
            deposits.status = "processed".into();
            deposits.processed_at = Some(now);
            topics.push("customer_microdeposits_completed");
        }
        source.status = "verified".into();
        source.updated_at = now;
        topics.push("customer_funding_source_verified");
        (true, topics)
    } else {
        deposits.failed_attempts += 1;
        let mut topics = Vec::new();
        if deposits.failed_attempts >= MAX_ATTEMPTS {
            deposits.status = "failed".into();
            topics.push("customer_microdeposits_maxattempts");
        }
        (false, topics)
    };
    let base = state.base().to_owned();
    let (saved_source, saved_deposits) = (source.clone(), deposits.clone());
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                repo::save_micro_deposits(c, &saved_deposits).await?;
                if verified {
                    repo::save(c, &saved_source).await?;
                }
                for topic in topics {
                    events::record(c, &base, tenant, topic, "funding-sources", &saved_source.id, Some(&customer), now)
                        .await?;
                }
                Ok(())
            })
        })
        .await?;
    state.store.jobs_enqueued();
    if verified {
        let self_link = link(state.base(), &details_path(&source.id), "micro-deposits");
        return Ok(hal::ok(&json!({ "_links": { "self": self_link } })));
    }
    if deposits.failed_attempts >= MAX_ATTEMPTS {
        return Err(DwollaError::invalid_resource_state("Too many attempts."));
    }
    Err(DwollaError::validation(vec![FieldError::invalid("/amount1/value", "Wrong amount(s).")]))
}

pub async fn details(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let source = source_of(&state, tenant, &id).await?;
    let sid = source.id.clone();
    let deposits = state
        .store
        .read(|mut c| async move { repo::find_micro_deposits(&mut c, tenant, &sid).await })
        .await?
        .ok_or_else(|| DwollaError::not_found("Micro-deposits have not been initiated for this funding source."))?;
    let base = state.base();
    let path = details_path(&source.id);
    let mut links = json!({ "self": link(base, &path, "micro-deposits") });
    if source.status != "verified" && deposits.failed_attempts < MAX_ATTEMPTS {
        links["verify-micro-deposits"] = link(base, &path, "micro-deposits");
    }
    let mut body =
        json!({ "_links": links, "created": deposits.created_at.to_rfc3339_millis(), "status": deposits.status });
    if deposits.status == "failed" {
        body["failure"] = json!({ "code": "R03", "description": "No Account/Unable to Locate Account" });
    }
    Ok(hal::ok(&body))
}

/// `POST /sandbox-simulations`: processes the tenant's pending micro-deposits.
pub async fn simulate(State(state): State<AppState>, AppToken(tenant): AppToken) -> Result<Response, DwollaError> {
    let now = state.clock.now();
    let base = state.base().to_owned();
    let processed = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let pending = repo::pending_micro_deposits(c, tenant, SIMULATION_BATCH).await?;
                for mut d in pending.iter().cloned() {
                    d.status = "processed".into();
                    d.processed_at = Some(now);
                    repo::save_micro_deposits(c, &d).await?;
                    let customer = repo::find(c, tenant, &d.funding_source_id).await?.map(|f| f.customer_id);
                    events::record(
                        c,
                        &base,
                        tenant,
                        "customer_microdeposits_completed",
                        "funding-sources",
                        &d.funding_source_id,
                        customer.as_deref(),
                        now,
                    )
                    .await?;
                }
                Ok(pending.len())
            })
        })
        .await?;
    state.store.jobs_enqueued();
    Ok(hal::ok(
        &json!({ "_links": { "self": link(state.base(), "/sandbox-simulations", "sandbox-simulation") }, "total": processed }),
    ))
}
