//! Micro-deposits on an unverified bank: the operations behind initiate, verify, details and
//! `POST /sandbox-simulations`, each deciding with [`rules`] on the rows it loads (and locks)
//! inside the write that saves the outcome.

pub mod rules;

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{EventTopic, FundingSourceMicroDepositStatus, FundingSourceStatus};
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord};
use openiav_store::repo::funding_sources as repo;
use openiav_store::{Conn, StoreError};
use serde::de::IgnoredAny;
use serde::Deserialize;

use self::rules::Attempt;
use super::record_event;
use crate::{AppState, DwollaError};

/// How many pending deposits one simulation processes (Dwolla: the last 500).
const SIMULATION_BATCH: i64 = 500;

/// `POST /funding-sources/{id}/micro-deposits`: no amounts initiates, amounts verify.
#[derive(Debug, Default, Deserialize)]
pub struct MicroDepositsRequest {
    pub amount1: Option<Amount>,
    pub amount2: Option<Amount>,
}

impl MicroDepositsRequest {
    /// Whether the body answers with amounts (else it initiates).
    pub fn verifies(&self) -> bool {
        self.amount1.is_some() || self.amount2.is_some()
    }
}

/// `{"value": "0.03", "currency": "USD"}`.
#[derive(Debug, Deserialize)]
pub struct Amount {
    pub value: Option<AmountValue>,
    pub currency: Option<String>,
}

/// An amount's `value`: SDKs send a decimal string, hand-written bodies sometimes a number;
/// anything else is an invalid amount, not a malformed body.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AmountValue {
    Text(String),
    Number(f64),
    Other(IgnoredAny),
}

/// The source `id` locked for a micro-deposit change, with its micro-deposits if sent.
async fn load(
    c: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Result<(FundingSourceRecord, Option<FundingSourceMicroDepositsRecord>), DwollaError>, StoreError> {
    let Some(source) = repo::find_for_update(c, tenant, id).await? else {
        return Ok(Err(super::not_found()));
    };
    if let Err(e) = rules::accepts_micro_deposits(&source) {
        return Ok(Err(e));
    }
    let deposits = repo::find_micro_deposits_for_update(c, tenant, &source.id).await?;
    Ok(Ok((source, deposits)))
}

/// Sends micro-deposits to the bank `id`; returns the bank.
pub async fn initiate(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    now: Timestamp,
) -> Result<Result<FundingSourceRecord, DwollaError>, StoreError> {
    let (source, existing) = match load(c, tenant, id).await? {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = rules::may_initiate(existing.as_ref()) {
        return Ok(Err(e));
    }
    repo::insert_micro_deposits(c, &rules::initiated(&source, now)).await?;
    record_event(c, base, &source, EventTopic::CustomerMicrodepositsAdded, now).await?;
    Ok(Ok(source))
}

/// Judges an attempt at the amounts sent to the bank `id` (`amounts` as the body gave them,
/// refused only once the bank is known to take an attempt); returns the verified bank.
pub async fn verify(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    amounts: Result<[i64; 2], DwollaError>,
    now: Timestamp,
) -> Result<Result<FundingSourceRecord, DwollaError>, StoreError> {
    let (mut source, existing) = match load(c, tenant, id).await? {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(e)),
    };
    let Some(mut deposits) = existing else { return Ok(Err(rules::not_initiated())) };
    let amounts = match rules::attempts_left(&deposits).and(amounts) {
        Ok(amounts) => amounts,
        Err(e) => return Ok(Err(e)),
    };
    let (attempt, topics) = rules::judge_attempt(&mut deposits, amounts, now);
    repo::save_micro_deposits(c, &deposits).await?;
    if attempt == Attempt::Verified {
        source.status = FundingSourceStatus::Verified;
        source.updated_at = now;
        repo::save(c, &source).await?;
    }
    for topic in topics {
        record_event(c, base, &source, topic, now).await?;
    }
    Ok(attempt.answer().map(|()| source))
}

/// Forces the micro-deposits sent to the bank `id` to `target` (the sandbox control plane),
/// decided by [`rules::forced_status`] on the rows locked inside this write; returns the bank and
/// its deposits as saved.
pub async fn force_status(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    target: FundingSourceMicroDepositStatus,
    now: Timestamp,
) -> Result<Result<(FundingSourceRecord, FundingSourceMicroDepositsRecord), DwollaError>, StoreError> {
    let (source, existing) = match load(c, tenant, id).await? {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(e)),
    };
    let Some(mut deposits) = existing else {
        return Ok(Err(DwollaError::invalid_resource_state(
            "Micro-deposits have not been initiated for this funding source.",
        )));
    };
    let topic = match rules::forced_status(&mut deposits, target, now) {
        Ok(topic) => topic,
        Err(e) => return Ok(Err(e)),
    };
    repo::save_micro_deposits(c, &deposits).await?;
    record_event(c, base, &source, topic, now).await?;
    Ok(Ok((source, deposits)))
}

/// The bank `id` and the micro-deposits sent to it.
pub async fn details(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<(FundingSourceRecord, FundingSourceMicroDepositsRecord), DwollaError> {
    let source = super::find(state, tenant, id).await?;
    let deposits = super::micro_deposits_of(state, &source).await?.ok_or_else(rules::not_initiated)?;
    Ok((source, deposits))
}

/// Processes the tenant's pending micro-deposits, as the sandbox's simulation does; returns
/// how many it processed.
pub async fn simulate(c: &mut Conn, base: &str, tenant: TenantId, now: Timestamp) -> Result<usize, StoreError> {
    let pending = repo::pending_micro_deposits(c, tenant, SIMULATION_BATCH).await?;
    for mut deposits in pending.iter().cloned() {
        rules::process(&mut deposits, now);
        repo::save_micro_deposits(c, &deposits).await?;
        // The foreign key keeps every deposit's bank.
        let source = repo::find(c, tenant, &deposits.funding_source_id).await?.ok_or(StoreError::NotFound)?;
        record_event(c, base, &source, EventTopic::CustomerMicrodepositsCompleted, now).await?;
    }
    Ok(pending.len())
}
