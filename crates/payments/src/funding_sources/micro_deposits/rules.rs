//! Micro-deposit rules as pure functions: which banks take them, that they start once, the
//! amounts a verify body holds, how the sandbox judges an attempt and what each outcome
//! answers. Sandbox amounts: any two below $0.10 verify, except 0.09 and 0.09, which
//! simulates running out of attempts; three wrong answers end it.

use openiav_core::clock::Timestamp;
use openiav_core::payments::{EventTopic, FundingSourceKind, FundingSourceMicroDepositStatus, FundingSourceStatus};
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord};

use super::{Amount, AmountValue, MicroDepositsRequest};
use crate::error::{DwollaCode, FieldError};
use crate::DwollaError;

/// Wrong answers allowed.
pub const MAX_ATTEMPTS: i64 = 3;

/// Only a live unverified bank takes micro-deposits (a balance never does).
pub fn accepts_micro_deposits(source: &FundingSourceRecord) -> Result<(), DwollaError> {
    if source.kind == FundingSourceKind::Balance {
        return Err(DwollaError::invalid_resource_state(
            "Micro-deposits are not supported for this type of funding source.",
        ));
    }
    if source.removed {
        return Err(DwollaError::invalid_resource_state("A removed bank cannot be verified."));
    }
    if source.status == FundingSourceStatus::Verified {
        return Err(DwollaError::invalid_resource_state("Bank already verified."));
    }
    Ok(())
}

/// Micro-deposits are sent once per bank.
pub fn may_initiate(existing: Option<&FundingSourceMicroDepositsRecord>) -> Result<(), DwollaError> {
    match existing {
        Some(_) => Err(DwollaError::new(
            DwollaCode::MaxNumberOfResources,
            "Micro-deposits already initiated for this funding source.",
        )),
        None => Ok(()),
    }
}

/// The micro-deposits a bank is sent: pending until processed.
pub fn initiated(source: &FundingSourceRecord, now: Timestamp) -> FundingSourceMicroDepositsRecord {
    FundingSourceMicroDepositsRecord {
        funding_source_id: source.id.clone(),
        tenant_id: source.tenant_id,
        status: FundingSourceMicroDepositStatus::Pending,
        failed_attempts: 0,
        created_at: now,
        processed_at: None,
    }
}

/// The answer to verifying micro-deposits that were never sent.
pub fn not_initiated() -> DwollaError {
    DwollaError::not_found("Micro-deposits have not been initiated for this funding source.")
}

fn too_many_attempts() -> DwollaError {
    DwollaError::invalid_resource_state("Too many attempts.")
}

/// An attempt is judged only while attempts remain.
pub fn attempts_left(deposits: &FundingSourceMicroDepositsRecord) -> Result<(), DwollaError> {
    if deposits.failed_attempts >= MAX_ATTEMPTS {
        return Err(too_many_attempts());
    }
    Ok(())
}

/// Whether the details offer `verify-micro-deposits`.
pub fn may_verify(source: &FundingSourceRecord, deposits: &FundingSourceMicroDepositsRecord) -> bool {
    source.status != FundingSourceStatus::Verified && deposits.failed_attempts < MAX_ATTEMPTS
}

/// An amount in cents, if it is a USD amount with at most two decimals.
fn cents_of(amount: Option<&Amount>) -> Option<i64> {
    let amount = amount?;
    if amount.currency.as_deref().is_some_and(|c| c != "USD") {
        return None;
    }
    let text = match amount.value.as_ref()? {
        AmountValue::Text(text) => text.clone(),
        AmountValue::Number(n) => format!("{n:.2}"),
        AmountValue::Other(_) => return None,
    };
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), "0"));
    if frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?)
}

/// The two amounts of a verify body, in cents: each 1 to 15.
pub fn amounts_of(request: &MicroDepositsRequest) -> Result<[i64; 2], DwollaError> {
    let mut errors = Vec::new();
    let mut amounts = [0i64; 2];
    for (i, (name, amount)) in [("amount1", &request.amount1), ("amount2", &request.amount2)].into_iter().enumerate() {
        match cents_of(amount.as_ref()) {
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

/// What one verification attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Verified,
    Wrong,
    /// This attempt used up the last one (or the sandbox's 0.09 + 0.09 simulated it).
    OutOfAttempts,
}

impl Attempt {
    /// The answer to the attempt, for those that are not a success.
    pub fn answer(self) -> Result<(), DwollaError> {
        match self {
            Self::Verified => Ok(()),
            Self::OutOfAttempts => Err(too_many_attempts()),
            Self::Wrong => Err(DwollaError::invalid("/amount1/value", "Wrong amount(s).")),
        }
    }
}

/// Judges `amounts` (cents) against the sandbox's deposits and updates them; returns the
/// outcome and the events it raises. Called only while attempts remain.
pub fn judge_attempt(
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
            process(deposits, now);
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

/// Decides forcing pending micro-deposits (the sandbox control plane) to `target`: processed as
/// the sandbox simulation processes them, or failed to clear; returns the event it raises.
pub fn forced_status(
    deposits: &mut FundingSourceMicroDepositsRecord,
    target: FundingSourceMicroDepositStatus,
    now: Timestamp,
) -> Result<EventTopic, DwollaError> {
    if deposits.status != FundingSourceMicroDepositStatus::Pending {
        return Err(DwollaError::invalid_resource_state(format!(
            "The micro-deposits are {} already; only pending ones are processed or fail.",
            deposits.status
        )));
    }
    match target {
        FundingSourceMicroDepositStatus::Processed => {
            process(deposits, now);
            Ok(EventTopic::CustomerMicrodepositsCompleted)
        }
        FundingSourceMicroDepositStatus::Failed => {
            deposits.status = FundingSourceMicroDepositStatus::Failed;
            deposits.processed_at = Some(now);
            Ok(EventTopic::CustomerMicrodepositsFailed)
        }
        FundingSourceMicroDepositStatus::Pending => {
            Err(DwollaError::invalid_resource_state("The micro-deposits are pending already."))
        }
    }
}

/// Marks pending deposits as arrived at the bank (a sandbox simulation, or a verification
/// that comes first).
pub fn process(deposits: &mut FundingSourceMicroDepositsRecord, now: Timestamp) {
    deposits.status = FundingSourceMicroDepositStatus::Processed;
    deposits.processed_at = Some(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funding_sources::testing;

    fn pending() -> FundingSourceMicroDepositsRecord {
        testing::deposits(FundingSourceMicroDepositStatus::Pending)
    }

    #[test]
    fn pending_micro_deposits_are_forced_to_process_or_fail_once() {
        let now = Timestamp::from_millis(5);
        let mut d = pending();
        assert_eq!(
            forced_status(&mut d, FundingSourceMicroDepositStatus::Processed, now).unwrap(),
            EventTopic::CustomerMicrodepositsCompleted
        );
        assert_eq!((d.status, d.processed_at), (FundingSourceMicroDepositStatus::Processed, Some(now)));
        let again = forced_status(&mut d, FundingSourceMicroDepositStatus::Failed, now).unwrap_err();
        assert_eq!(again.code(), DwollaCode::InvalidResourceState);
        let mut d = pending();
        assert_eq!(
            forced_status(&mut d, FundingSourceMicroDepositStatus::Failed, now).unwrap(),
            EventTopic::CustomerMicrodepositsFailed
        );
        assert_eq!(d.status, FundingSourceMicroDepositStatus::Failed);
        let mut d = pending();
        let before = d.clone();
        assert!(forced_status(&mut d, FundingSourceMicroDepositStatus::Pending, now).is_err());
        assert_eq!(d, before, "a refusal changes nothing");
    }

    fn request(body: serde_json::Value) -> MicroDepositsRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn amounts_under_ten_cents_verify_and_complete_pending_deposits() {
        let mut d = pending();
        let (attempt, topics) = judge_attempt(&mut d, [3, 9], Timestamp::from_millis(5));
        assert_eq!(attempt, Attempt::Verified);
        assert_eq!(topics, [EventTopic::CustomerMicrodepositsCompleted, EventTopic::CustomerFundingSourceVerified]);
        assert_eq!(
            (d.status, d.processed_at),
            (FundingSourceMicroDepositStatus::Processed, Some(Timestamp::from_millis(5)))
        );
        assert_eq!(attempt.answer().ok(), Some(()));
    }

    #[test]
    fn verifying_processed_deposits_completes_nothing_twice() {
        let mut d = pending();
        process(&mut d, Timestamp::from_millis(1));
        let (attempt, topics) = judge_attempt(&mut d, [3, 9], Timestamp::from_millis(5));
        assert_eq!((attempt, topics), (Attempt::Verified, vec![EventTopic::CustomerFundingSourceVerified]));
        assert_eq!(d.processed_at, Some(Timestamp::from_millis(1)));
    }

    #[test]
    fn the_third_wrong_answer_uses_up_the_attempts_once() {
        let mut d = pending();
        let now = Timestamp::from_millis(0);
        assert_eq!(judge_attempt(&mut d, [11, 12], now), (Attempt::Wrong, vec![]));
        assert_eq!(judge_attempt(&mut d, [11, 12], now), (Attempt::Wrong, vec![]));
        assert!(attempts_left(&d).is_ok());
        let (attempt, topics) = judge_attempt(&mut d, [11, 12], now);
        assert_eq!((attempt, topics), (Attempt::OutOfAttempts, vec![EventTopic::CustomerMicrodepositsMaxattempts]));
        assert_eq!((d.failed_attempts, d.status), (MAX_ATTEMPTS, FundingSourceMicroDepositStatus::Failed));
        assert_eq!(attempts_left(&d).unwrap_err().code(), DwollaCode::InvalidResourceState);
        assert_eq!(Attempt::Wrong.answer().unwrap_err().code(), DwollaCode::ValidationError);
        assert_eq!(attempt.answer().unwrap_err().code(), DwollaCode::InvalidResourceState);
    }

    #[test]
    fn nine_and_nine_cents_simulate_running_out() {
        let mut d = pending();
        assert_eq!(judge_attempt(&mut d, [9, 9], Timestamp::from_millis(0)).0, Attempt::OutOfAttempts);
        assert_eq!(d.failed_attempts, MAX_ATTEMPTS);
    }

    #[test]
    fn amounts_must_be_usd_cents_up_to_fifteen() {
        let body =
            serde_json::json!({ "amount1": { "value": "0.03", "currency": "USD" }, "amount2": { "value": 0.09 } });
        assert_eq!(amounts_of(&request(body)).unwrap(), [3, 9]);
        for body in [
            serde_json::json!({ "amount1": { "value": "0.16" }, "amount2": { "value": "0.01", "currency": "EUR" } }),
            serde_json::json!({ "amount1": { "value": "0.031" }, "amount2": { "value": "-0.01" } }),
            serde_json::json!({ "amount1": { "value": true }, "amount2": {} }),
        ] {
            let e = amounts_of(&request(body)).unwrap_err();
            let paths: Vec<_> = e.field_errors().iter().map(|f| (f.path.as_str(), f.message.as_str())).collect();
            assert_eq!(paths, [("/amount1/value", "Invalid amount."), ("/amount2/value", "Invalid amount.")]);
        }
        assert!(amounts_of(&request(serde_json::json!({ "amount1": { "value": "0.03" } }))).is_err());
    }

    #[test]
    fn only_live_unverified_banks_take_micro_deposits_once() {
        let source = testing::bank();
        assert!(accepts_micro_deposits(&source).is_ok());
        let verified = FundingSourceRecord { status: FundingSourceStatus::Verified, ..source.clone() };
        assert_eq!(accepts_micro_deposits(&verified).unwrap_err().code(), DwollaCode::InvalidResourceState);
        let removed = FundingSourceRecord { removed: true, ..source.clone() };
        assert_eq!(accepts_micro_deposits(&removed).unwrap_err().code(), DwollaCode::InvalidResourceState);

        let sent = initiated(&source, Timestamp::from_millis(7));
        assert_eq!((sent.status, sent.failed_attempts), (FundingSourceMicroDepositStatus::Pending, 0));
        assert!(may_initiate(None).is_ok());
        assert_eq!(may_initiate(Some(&sent)).unwrap_err().code(), DwollaCode::MaxNumberOfResources);
        assert!(may_verify(&source, &sent));
        assert!(!may_verify(&verified, &sent));
        assert!(!may_verify(&source, &FundingSourceMicroDepositsRecord { failed_attempts: MAX_ATTEMPTS, ..sent }));
    }
}
