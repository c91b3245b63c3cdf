//! Micro-deposits on an unverified bank funding source: initiate (`POST` with no amounts),
//! verify (`POST` with `amount1`/`amount2`), details (`GET`), and `POST /sandbox-simulations`,
//! which processes pending deposits. Sandbox amounts: any two below $0.10 verify, except
//! 0.09 and 0.09, which simulates running out of attempts; three wrong answers end it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use openiav_core::clock::Timestamp;
use openiav_core::payments::{EventResource, EventTopic, FundingSourceMicroDepositStatus, FundingSourceStatus};
use openiav_store::records::FundingSourceMicroDepositsRecord;
use openiav_store::repo::funding_sources as repo;
use serde_json::{json, Value};

use super::funding_sources::source_of;
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::error::{DwollaCode, FieldError};
use crate::events;
use crate::hal::{self, link};
use crate::idempotency::{self, Answer, Idempotency};
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

/// What one verification attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    Verified,
    Wrong,
    /// This attempt used up the last one (or the sandbox's 0.09 + 0.09 simulated it).
    OutOfAttempts,
}

/// Judges `amounts` (cents) against the sandbox's deposits and updates them; returns the
/// outcome and the events it raises. Called only while attempts remain.
fn judge_attempt(
    deposits: &mut FundingSourceMicroDepositsRecord,
    amounts: [i64; 2],
    now: Timestamp,
) -> (Attempt, Vec<EventTopic>) {
    if amounts == [9, 9] {
        deposits.failed_attempts = MAX_ATTEMPTS;
        deposits.status = FundingSourceMicroDepositStatus::Failed;
        return (Attempt::OutOfAttempts, vec![EventTopic::CustomerMicrodepositsMaxattempts]);
    }
    if amounts.iter().all(|c| *c < 10) {
        let mut topics = Vec::new();
        if deposits.status == FundingSourceMicroDepositStatus::Pending {
            deposits.status = FundingSourceMicroDepositStatus::Processed;
            deposits.processed_at = Some(now);
            topics.push(EventTopic::CustomerMicrodepositsCompleted);
        }
        topics.push(EventTopic::CustomerFundingSourceVerified);
        return (Attempt::Verified, topics);
    }
    deposits.failed_attempts += 1;
    if deposits.failed_attempts >= MAX_ATTEMPTS {
        deposits.status = FundingSourceMicroDepositStatus::Failed;
        return (Attempt::OutOfAttempts, vec![EventTopic::CustomerMicrodepositsMaxattempts]);
    }
    (Attempt::Wrong, Vec::new())
}

/// The two amounts of a verify body, in cents.
fn amounts_of(body: &Value) -> Result<[i64; 2], DwollaError> {
    let mut errors = Vec::new();
    let mut amounts = [0i64; 2];
    for (i, name) in ["amount1", "amount2"].iter().enumerate() {
        match cents_of(body.get(*name)) {
            Some(c) if (1..=15).contains(&c) => amounts[i] = c,
            _ => errors.push(FieldError::invalid(&format!("/{name}/value"), "Invalid amount.")),
        }
    }
    if errors.is_empty() {
        Ok(amounts)
    } else {
        Err(DwollaError::validation(errors))
    }
}

fn too_many_attempts() -> DwollaError {
    DwollaError::invalid_resource_state("Too many attempts.")
}

fn not_initiated() -> DwollaError {
    DwollaError::not_found("Micro-deposits have not been initiated for this funding source.")
}

/// `POST /funding-sources/{id}/micro-deposits`: initiates them, or with amounts verifies them;
/// the source and its deposits are read, judged and saved inside one write.
pub async fn post(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let amounts = (body.get("amount1").is_some() || body.get("amount2").is_some()).then(|| amounts_of(&body));
    let now = state.clock.now();
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let Some(mut source) = repo::find_for_update(c, tenant, &id).await? else {
                return Ok(Err(DwollaError::not_found("Funding source not found.")));
            };
            if source.removed {
                return Ok(Err(DwollaError::invalid_resource_state("A removed bank cannot be verified.")));
            }
            if source.status == FundingSourceStatus::Verified {
                return Ok(Err(DwollaError::invalid_resource_state("Bank already verified.")));
            }
            let existing = repo::find_micro_deposits_for_update(c, tenant, &source.id).await?;
            let customer = Some(source.customer_id.clone());
            let Some(amounts) = amounts else {
                if existing.is_some() {
                    return Ok(Err(DwollaError::new(
                        DwollaCode::MaxNumberOfResources,
                        "Micro-deposits already initiated for this funding source.",
                    )));
                }
                let record = FundingSourceMicroDepositsRecord {
                    funding_source_id: source.id.clone(),
                    tenant_id: tenant,
                    status: FundingSourceMicroDepositStatus::Pending,
                    failed_attempts: 0,
                    created_at: now,
                    processed_at: None,
                };
                repo::insert_micro_deposits(c, &record).await?;
                let topic = EventTopic::CustomerMicrodepositsAdded;
                events::record(
                    c,
                    &base,
                    tenant,
                    topic,
                    EventResource::FundingSources,
                    &source.id,
                    customer.as_deref(),
                    now,
                )
                .await?;
                return Ok(Ok(Answer::created(&base, &details_path(&source.id))));
            };
            let Some(mut deposits) = existing else { return Ok(Err(not_initiated())) };
            if deposits.failed_attempts >= MAX_ATTEMPTS {
                return Ok(Err(too_many_attempts()));
            }
            let amounts = match amounts {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            let (attempt, topics) = judge_attempt(&mut deposits, amounts, now);
            repo::save_micro_deposits(c, &deposits).await?;
            if attempt == Attempt::Verified {
                source.status = FundingSourceStatus::Verified;
                source.updated_at = now;
                repo::save(c, &source).await?;
            }
            for topic in topics {
                events::record(
                    c,
                    &base,
                    tenant,
                    topic,
                    EventResource::FundingSources,
                    &source.id,
                    customer.as_deref(),
                    now,
                )
                .await?;
            }
            Ok(match attempt {
                Attempt::Verified => {
                    let self_link = link(&base, &details_path(&source.id), "micro-deposits");
                    Ok(Answer::ok(&json!({ "_links": { "self": self_link } })))
                }
                Attempt::OutOfAttempts => Err(too_many_attempts()),
                Attempt::Wrong => {
                    Err(DwollaError::validation(vec![FieldError::invalid("/amount1/value", "Wrong amount(s).")]))
                }
            })
        })
    })
    .await??;
    Ok(answer.into_response())
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
    if source.status != FundingSourceStatus::Verified && deposits.failed_attempts < MAX_ATTEMPTS {
        links["verify-micro-deposits"] = json!(link(base, &path, "micro-deposits"));
    }
    let mut body =
        json!({ "_links": links, "created": deposits.created_at.to_rfc3339_millis(), "status": deposits.status });
    if deposits.status == FundingSourceMicroDepositStatus::Failed {
        body["failure"] = json!({ "code": "R03", "description": "No Account/Unable to Locate Account" });
    }
    Ok(hal::ok(&body))
}

/// `POST /sandbox-simulations`: processes the tenant's pending micro-deposits.
pub async fn simulate(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
) -> Result<Response, DwollaError> {
    let now = state.clock.now();
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let pending = repo::pending_micro_deposits(c, tenant, SIMULATION_BATCH).await?;
            for mut d in pending.iter().cloned() {
                d.status = FundingSourceMicroDepositStatus::Processed;
                d.processed_at = Some(now);
                repo::save_micro_deposits(c, &d).await?;
                let customer = repo::find(c, tenant, &d.funding_source_id).await?.map(|f| f.customer_id);
                events::record(
                    c,
                    &base,
                    tenant,
                    EventTopic::CustomerMicrodepositsCompleted,
                    EventResource::FundingSources,
                    &d.funding_source_id,
                    customer.as_deref(),
                    now,
                )
                .await?;
            }
            let self_link = link(&base, "/sandbox-simulations", "sandbox-simulation");
            Ok(Ok(Answer::ok(&json!({ "_links": { "self": self_link }, "total": pending.len() }))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

#[cfg(test)]
mod tests {
    use openiav_core::ids::TenantId;

    use super::*;

    fn pending() -> FundingSourceMicroDepositsRecord {
        FundingSourceMicroDepositsRecord {
            funding_source_id: "fs".into(),
            tenant_id: TenantId::generate(),
            status: FundingSourceMicroDepositStatus::Pending,
            failed_attempts: 0,
            created_at: Timestamp::from_millis(0),
            processed_at: None,
        }
    }

    #[test]
    fn amounts_under_ten_cents_verify_and_complete_pending_deposits() {
        let mut d = pending();
        let (attempt, topics) = judge_attempt(&mut d, [3, 9], Timestamp::from_millis(5));
        assert_eq!(attempt, Attempt::Verified);
        assert_eq!(topics, [EventTopic::CustomerMicrodepositsCompleted, EventTopic::CustomerFundingSourceVerified]);
        assert_eq!(d.status, FundingSourceMicroDepositStatus::Processed);
    }

    #[test]
    fn the_third_wrong_answer_uses_up_the_attempts_once() {
        let mut d = pending();
        let now = Timestamp::from_millis(0);
        assert_eq!(judge_attempt(&mut d, [11, 12], now), (Attempt::Wrong, vec![]));
        assert_eq!(judge_attempt(&mut d, [11, 12], now), (Attempt::Wrong, vec![]));
        let (attempt, topics) = judge_attempt(&mut d, [11, 12], now);
        assert_eq!((attempt, topics), (Attempt::OutOfAttempts, vec![EventTopic::CustomerMicrodepositsMaxattempts]));
        assert_eq!((d.failed_attempts, d.status), (MAX_ATTEMPTS, FundingSourceMicroDepositStatus::Failed));
    }

    #[test]
    fn nine_and_nine_cents_simulate_running_out() {
        let mut d = pending();
        assert_eq!(judge_attempt(&mut d, [9, 9], Timestamp::from_millis(0)).0, Attempt::OutOfAttempts);
        assert_eq!(d.failed_attempts, MAX_ATTEMPTS);
    }

    #[test]
    fn amounts_must_be_usd_cents_up_to_fifteen() {
        let body = json!({ "amount1": { "value": "0.03", "currency": "USD" }, "amount2": { "value": 0.09 } });
        assert_eq!(amounts_of(&body).unwrap(), [3, 9]);
        let body = json!({ "amount1": { "value": "0.16" }, "amount2": { "value": "0.01", "currency": "EUR" } });
        assert!(amounts_of(&body).is_err());
    }
}
