//! The sandbox processing of pending bank transfers, as `POST /sandbox-simulations` runs it:
//! one pass over the newest legs still pending or owing a late return, inside the caller's
//! write. Pure decisions ([`sentinel`], [`leg_outcome`], [`settle`]) say what happens to a leg,
//! its transfer and the balances; [`process`] loads (locking transfers, then legs, then funding
//! sources, each in a stable order), applies them and writes the events.

use std::collections::{BTreeSet, HashMap};

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{BankTransferDirection, FundingSourceKind, TransferStatus};
use openiav_store::records::{BankTransferRecord, FundingSourceRecord, TransferRecord};
use openiav_store::repo::{funding_sources as sources, transfers as repo};
use openiav_store::{Conn, StoreError};

use super::events;
use super::failure::ReturnCode;
use super::rules;

/// Legs one pass handles at most, as Dwolla's sandbox processes "the last 500".
pub const BATCH: i64 = 500;

/// A sandbox bank's failure sentinel: its name is a return code, failing at processing or,
/// with `-late`, on the processing after the leg settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentinel {
    Fails(ReturnCode),
    FailsLate(ReturnCode),
}

/// The sentinel a bank named `name` carries: `R01`, `R03`, `R01-late`, `R03-late`, in any case.
pub fn sentinel(name: &str) -> Option<Sentinel> {
    const NAMED: [(&str, Sentinel); 4] = [
        ("R01", Sentinel::Fails(ReturnCode::R01)),
        ("R03", Sentinel::Fails(ReturnCode::R03)),
        ("R01-late", Sentinel::FailsLate(ReturnCode::R01)),
        ("R03-late", Sentinel::FailsLate(ReturnCode::R03)),
    ];
    NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, s)| *s)
}

/// What a pass does to one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegOutcome {
    /// Nothing: settled for good, failed or cancelled already.
    Untouched,
    Processed,
    /// Processed now, failing with this return on the next pass.
    ProcessedWithLateReturn(ReturnCode),
    Failed(ReturnCode),
    /// The settled leg is returned now.
    LateReturnDue(ReturnCode),
    /// Still pending, but its transfer has ended (an earlier leg failed): it will not be sent.
    Cancelled,
}

/// What happens to `leg` (of a transfer now `transfer`) whose bank is named `bank_name`.
pub fn leg_outcome(leg: &BankTransferRecord, transfer: TransferStatus, bank_name: &str) -> LegOutcome {
    match leg.status {
        TransferStatus::Pending if transfer != TransferStatus::Pending => LegOutcome::Cancelled,
        TransferStatus::Pending => match sentinel(bank_name) {
            None => LegOutcome::Processed,
            Some(Sentinel::Fails(code)) => LegOutcome::Failed(code),
            Some(Sentinel::FailsLate(code)) => LegOutcome::ProcessedWithLateReturn(code),
        },
        TransferStatus::Processed => match leg.late_return.as_deref().map(str::parse::<ReturnCode>) {
            Some(Ok(code)) => LegOutcome::LateReturnDue(code),
            _ => LegOutcome::Untouched,
        },
        TransferStatus::Failed | TransferStatus::Cancelled => LegOutcome::Untouched,
    }
}

/// An outcome the sandbox control plane forces on a pending transfer, in place of what its
/// banks' names would make of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forced {
    /// Every pending leg clears (a bank-to-bank transfer's credit leg too, once opened).
    Processed,
    /// The next pending leg is returned with this code.
    Failed(ReturnCode),
}

/// What decides a pass's leg outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decider {
    /// The banks' names ([`leg_outcome`]), as the sandbox processes.
    Banks,
    Forced(Forced),
}

/// What happens to `leg` (of a transfer now `transfer`) when `forced` decides it: a pending leg
/// of a pending transfer takes the forced outcome; anything else is decided as always, minus the
/// late returns, which are the banks' (so settled legs are left alone).
pub fn forced_leg_outcome(leg: &BankTransferRecord, transfer: TransferStatus, forced: Forced) -> LegOutcome {
    match (leg.status, forced) {
        (TransferStatus::Pending, _) if transfer != TransferStatus::Pending => LegOutcome::Cancelled,
        (TransferStatus::Pending, Forced::Processed) => LegOutcome::Processed,
        (TransferStatus::Pending, Forced::Failed(code)) => LegOutcome::Failed(code),
        _ => LegOutcome::Untouched,
    }
}

/// Whether `t` (a pending transfer that is no fee) can be forced: only while it is pending, and a
/// fee goes with its transfer.
pub fn may_force(t: &TransferRecord) -> Result<(), &'static str> {
    if t.fee_of.is_some() {
        return Err("A fee settles with its transfer; force the transfer instead.");
    }
    if t.status != TransferStatus::Pending {
        return Err("Only a pending transfer's outcome can be forced.");
    }
    Ok(())
}

/// The kinds of a transfer's two funding sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub source: FundingSourceKind,
    pub destination: FundingSourceKind,
}

/// What a leg's outcome does to its transfer and the balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settlement {
    /// The transfer's new status, when it changes.
    pub transfer: Option<TransferStatus>,
    pub failure: Option<ReturnCode>,
    /// The debit cleared: the transfer gets its individual ACH id.
    pub debit_cleared: bool,
    /// The debit of a bank-to-bank transfer cleared: its credit leg is opened.
    pub open_credit: bool,
    /// The destination balance receives the amount (and the fees are collected).
    pub credit_destination: bool,
    /// The source balance gets back what it was debited at creation.
    pub refund_source: bool,
    /// The destination balance gives back what it received (it may go negative).
    pub take_back_destination: bool,
    /// The bank the leg touches is removed by the return.
    pub remove_bank: bool,
}

/// The settlement of a leg going `direction` with `outcome`, for a transfer shaped `shape`
/// that is `status` before it. A transfer completes with its last leg (the credit, or the
/// debit into a balance); a failure ends it, giving back what its balances moved.
pub fn settle(
    shape: Shape,
    direction: BankTransferDirection,
    status: TransferStatus,
    outcome: LegOutcome,
) -> Settlement {
    use BankTransferDirection::{Credit, Debit};
    use FundingSourceKind::{Balance, Bank};
    let processed = || match direction {
        Debit if shape.destination == Bank => {
            Settlement { debit_cleared: true, open_credit: true, ..Settlement::default() }
        }
        Debit => Settlement {
            debit_cleared: true,
            transfer: Some(TransferStatus::Processed),
            credit_destination: true,
            ..Settlement::default()
        },
        Credit => Settlement { transfer: Some(TransferStatus::Processed), ..Settlement::default() },
    };
    let failed = |code: ReturnCode| {
        let ends = matches!(status, TransferStatus::Pending | TransferStatus::Processed);
        Settlement {
            transfer: ends.then_some(TransferStatus::Failed),
            failure: ends.then_some(code),
            refund_source: ends && shape.source == Balance,
            take_back_destination: status == TransferStatus::Processed && shape.destination == Balance,
            remove_bank: code.removes_bank(),
            ..Settlement::default()
        }
    };
    match outcome {
        LegOutcome::Untouched | LegOutcome::Cancelled => Settlement::default(),
        LegOutcome::Processed | LegOutcome::ProcessedWithLateReturn(_) if status == TransferStatus::Pending => {
            processed()
        }
        LegOutcome::Processed | LegOutcome::ProcessedWithLateReturn(_) => Settlement::default(),
        LegOutcome::Failed(code) | LegOutcome::LateReturnDue(code) => failed(code),
    }
}

/// The leg as `outcome` leaves it (`None`: unchanged).
pub fn leg_after(leg: &BankTransferRecord, outcome: LegOutcome, now: Timestamp) -> Option<BankTransferRecord> {
    let (status, late_return, failure_code) = match outcome {
        LegOutcome::Untouched => return None,
        LegOutcome::Processed => (TransferStatus::Processed, None, None),
        LegOutcome::ProcessedWithLateReturn(code) => (TransferStatus::Processed, Some(code), None),
        LegOutcome::Failed(code) | LegOutcome::LateReturnDue(code) => (TransferStatus::Failed, None, Some(code)),
        LegOutcome::Cancelled => (TransferStatus::Cancelled, None, None),
    };
    Some(BankTransferRecord {
        status,
        late_return: late_return.map(|c| c.as_str().to_owned()),
        failure_code: failure_code.map(|c| c.as_str().to_owned()),
        updated_at: now,
        ..leg.clone()
    })
}

/// The credit leg a bank-to-bank transfer opens once its debit cleared.
pub fn credit_leg(t: &TransferRecord, now: Timestamp) -> BankTransferRecord {
    BankTransferRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: t.tenant_id,
        transfer_id: t.id.clone(),
        direction: BankTransferDirection::Credit,
        funding_source_id: t.destination_id.clone(),
        customer_id: t.destination_customer_id.clone(),
        status: TransferStatus::Pending,
        late_return: None,
        failure_code: None,
        created_at: now,
        updated_at: now,
    }
}

/// An individual ACH id as a bank line shows it: `IDA` and five letters or digits.
pub fn individual_ach_id(random: [u8; 5]) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let tail: String = random.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("IDA{tail}")
}

/// Runs one processing pass for `tenant` inside the caller's write: the newest [`BATCH`] legs
/// still pending or owing a late return. Returns how many legs it processed or failed.
pub async fn process(c: &mut Conn, base: &str, tenant: TenantId, now: Timestamp) -> Result<usize, StoreError> {
    let mut ids = repo::transfers_to_process(c, tenant, BATCH).await?;
    // Every writer locks transfers before legs and legs before funding sources, each set in
    // id order, so two writes over the same rows on PostgreSQL never wait on each other in a cycle.
    ids.sort();
    let mut work = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(t) = repo::find_for_update(c, tenant, id).await? {
            work.push(t);
        }
    }
    let mut legs = Vec::with_capacity(work.len());
    for t in &work {
        legs.push(repo::bank_transfers_of(c, tenant, &t.id).await?);
    }
    let mut fees = Vec::with_capacity(work.len());
    for t in &work {
        fees.push(repo::fees_of(c, tenant, &t.id).await?);
    }
    let held = lock_sources(c, tenant, work.iter().zip(&legs).zip(&fees)).await?;
    let mut pass = Pass { c, base, now, held, done: 0, decider: Decider::Banks };
    for ((t, legs), fees) in work.into_iter().zip(legs).zip(fees) {
        pass.transfer(t, legs, fees).await?;
    }
    Ok(pass.done)
}

/// Locks, in id order, every funding source the transfers, their legs and their fees name.
async fn lock_sources<'a>(
    c: &mut Conn,
    tenant: TenantId,
    work: impl Iterator<Item = ((&'a TransferRecord, &'a Vec<BankTransferRecord>), &'a Vec<TransferRecord>)>,
) -> Result<HashMap<String, FundingSourceRecord>, StoreError> {
    let mut wanted = BTreeSet::new();
    for ((t, legs), fees) in work {
        wanted.extend([t.source_id.clone(), t.destination_id.clone()]);
        wanted.extend(legs.iter().map(|l| l.funding_source_id.clone()));
        for f in fees {
            wanted.extend([f.source_id.clone(), f.destination_id.clone()]);
        }
    }
    let mut held = HashMap::with_capacity(wanted.len());
    for id in wanted {
        // The foreign keys keep every funding source a transfer or leg names.
        let source = sources::find_for_update(c, tenant, &id).await?.ok_or(StoreError::NotFound)?;
        held.insert(id, source);
    }
    Ok(held)
}

/// Forces the outcome of the tenant's transfer `id` (the sandbox control plane) inside the
/// caller's write, through the same pass the sandbox processing runs, with `forced` deciding its
/// pending legs: locks the transfer, then its legs, then the funding sources, as [`process`]
/// does. A bank-to-bank transfer forced to clear clears its debit, then the credit leg that
/// opens. `id` may name one of its legs. Returns the transfer as saved; `Ok(Err)` says why it
/// cannot be forced (`None` when the tenant has no such transfer or leg).
pub async fn force(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    forced: Forced,
    now: Timestamp,
) -> Result<Result<TransferRecord, Option<&'static str>>, StoreError> {
    // A leg's id names its transfer, as a cancel reads it.
    let transfer_id = match repo::find_bank_transfer(c, tenant, id).await? {
        Some(leg) => leg.transfer_id,
        None => id.to_owned(),
    };
    let Some(mut t) = repo::find_for_update(c, tenant, &transfer_id).await? else { return Ok(Err(None)) };
    if let Err(reason) = may_force(&t) {
        return Ok(Err(Some(reason)));
    }
    // Each round settles the legs that exist; a cleared bank-to-bank debit opens one more.
    while t.status == TransferStatus::Pending {
        let legs = repo::bank_transfers_of(c, tenant, &t.id).await?;
        if !legs.iter().any(|l| l.status == TransferStatus::Pending) {
            break;
        }
        let fees = repo::fees_of(c, tenant, &t.id).await?;
        let held = lock_sources(c, tenant, std::iter::once(((&t, &legs), &fees))).await?;
        let mut pass = Pass { c: &mut *c, base, now, held, done: 0, decider: Decider::Forced(forced) };
        t = pass.transfer(t, legs, fees).await?;
    }
    Ok(Ok(t))
}

/// One pass's locked funding sources and what it has done.
struct Pass<'a> {
    c: &'a mut Conn,
    base: &'a str,
    now: Timestamp,
    held: HashMap<String, FundingSourceRecord>,
    done: usize,
    decider: Decider,
}

impl Pass<'_> {
    fn source(&self, id: &str) -> Result<&FundingSourceRecord, StoreError> {
        self.held.get(id).ok_or(StoreError::NotFound)
    }

    /// Processes the legs of `t`, oldest first, and saves what changed; returns `t` as saved.
    async fn transfer(
        &mut self,
        mut t: TransferRecord,
        legs: Vec<BankTransferRecord>,
        fees: Vec<TransferRecord>,
    ) -> Result<TransferRecord, StoreError> {
        let shape =
            Shape { source: self.source(&t.source_id)?.kind, destination: self.source(&t.destination_id)?.kind };
        let before = t.clone();
        for leg in legs {
            let bank_name = self.source(&leg.funding_source_id)?.name.clone();
            let outcome = match self.decider {
                Decider::Banks => leg_outcome(&leg, t.status, &bank_name),
                Decider::Forced(forced) => forced_leg_outcome(&leg, t.status, forced),
            };
            let Some(after) = leg_after(&leg, outcome, self.now) else { continue };
            let settlement = settle(shape, leg.direction, t.status, outcome);
            repo::save_bank_transfer(self.c, &after).await?;
            if settlement.debit_cleared && t.individual_ach_id.is_none() {
                let random = uuid::Uuid::new_v4().into_bytes();
                t.individual_ach_id = Some(individual_ach_id([random[0], random[1], random[2], random[3], random[4]]));
            }
            let was = t.status;
            if let Some(status) = settlement.transfer {
                t.status = status;
                t.failure_code = settlement.failure.map(|c| c.as_str().to_owned());
            }
            t.updated_at = self.now;
            match outcome {
                LegOutcome::Cancelled => {
                    let plan = events::plan_cancelled(&t, std::slice::from_ref(&after))
                        .into_iter()
                        .filter(|p| p.resource_id == after.id)
                        .collect();
                    events::write(self.c, self.base, t.tenant_id, plan, self.now).await?;
                    continue;
                }
                LegOutcome::Processed | LegOutcome::ProcessedWithLateReturn(_) => {
                    self.done += 1;
                    events::leg_completed(self.c, self.base, &t, &after, self.now).await?;
                }
                LegOutcome::Failed(_) | LegOutcome::LateReturnDue(_) => {
                    self.done += 1;
                    events::leg_failed(self.c, self.base, &t, &after, self.now).await?;
                }
                LegOutcome::Untouched => {}
            }
            self.settle(&t, was, &fees, settlement).await?;
            if settlement.open_credit {
                let credit = credit_leg(&t, self.now);
                repo::insert_bank_transfer(self.c, &credit).await?;
                events::leg_created(self.c, self.base, &t, &credit, self.now).await?;
            }
            match settlement.transfer {
                Some(TransferStatus::Processed) => events::completed(self.c, self.base, &t, self.now).await?,
                Some(TransferStatus::Failed) => events::failed(self.c, self.base, &t, self.now).await?,
                _ => {}
            }
            if settlement.remove_bank {
                self.remove_bank(&leg.funding_source_id).await?;
            }
            if settlement.take_back_destination {
                self.announce_if_negative(&t.destination_id).await?;
            }
        }
        if t != before {
            repo::save(self.c, &t).await?;
        }
        Ok(t)
    }

    /// Moves the balances `settlement` asks for, and settles the fees with their transfer:
    /// collected when it completes, cancelled (and given back to the sender) when it fails.
    async fn settle(
        &mut self,
        t: &TransferRecord,
        was: TransferStatus,
        fees: &[TransferRecord],
        settlement: Settlement,
    ) -> Result<(), StoreError> {
        if settlement.credit_destination {
            self.add(&t.destination_id, t.amount.0).await?;
        }
        if settlement.take_back_destination {
            self.add(&t.destination_id, -t.amount.0).await?;
        }
        if settlement.refund_source {
            self.add(&t.source_id, rules::held_at_creation(t, fees).0).await?;
        }
        let fee_status = match settlement.transfer {
            Some(TransferStatus::Processed) => TransferStatus::Processed,
            Some(TransferStatus::Failed) if was == TransferStatus::Pending => TransferStatus::Cancelled,
            _ => return Ok(()),
        };
        for fee in fees.iter().filter(|f| f.status == TransferStatus::Pending) {
            if fee_status == TransferStatus::Processed {
                // Fees charged to the receiver come out of what it was just credited.
                if fee.source_id != t.source_id {
                    self.add(&fee.source_id, -fee.amount.0).await?;
                }
                self.add(&fee.destination_id, fee.amount.0).await?;
            }
            let settled = TransferRecord { status: fee_status, updated_at: self.now, ..fee.clone() };
            repo::save(self.c, &settled).await?;
        }
        Ok(())
    }

    /// Adds `cents` (possibly negative) to the balance `id`; a bank holds no money and is left alone.
    async fn add(&mut self, id: &str, cents: i64) -> Result<(), StoreError> {
        let now = self.now;
        let source = self.held.get_mut(id).ok_or(StoreError::NotFound)?;
        if source.kind != FundingSourceKind::Balance {
            return Ok(());
        }
        let moved = source
            .balance
            .0
            .checked_add(cents)
            .ok_or_else(|| StoreError::InvalidInput(format!("balance {id} out of range")))?;
        source.balance = Cents(moved);
        source.updated_at = now;
        let saved = source.clone();
        sources::save(self.c, &saved).await
    }

    /// Removes the bank `id` (a return took it out), announcing it once.
    async fn remove_bank(&mut self, id: &str) -> Result<(), StoreError> {
        let now = self.now;
        let bank = self.held.get_mut(id).ok_or(StoreError::NotFound)?;
        if bank.removed || bank.kind != FundingSourceKind::Bank {
            return Ok(());
        }
        bank.removed = true;
        bank.updated_at = now;
        let saved = bank.clone();
        sources::save(self.c, &saved).await?;
        events::bank_removed(self.c, self.base, &saved, now).await
    }

    /// Announces the balance `id` went below zero.
    async fn announce_if_negative(&mut self, id: &str) -> Result<(), StoreError> {
        let source = self.source(id)?.clone();
        if source.kind == FundingSourceKind::Balance && source.balance.0 < 0 {
            events::balance_negative(self.c, self.base, &source, self.now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BankTransferDirection::{Credit, Debit};
    use FundingSourceKind::{Balance, Bank};
    use TransferStatus::{Cancelled, Failed, Pending, Processed};

    fn leg(status: TransferStatus, late_return: Option<&str>) -> BankTransferRecord {
        BankTransferRecord {
            id: "leg".into(),
            tenant_id: TenantId::generate(),
            transfer_id: "t".into(),
            direction: Debit,
            funding_source_id: "bank".into(),
            customer_id: None,
            status,
            late_return: late_return.map(str::to_owned),
            failure_code: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn sentinels_are_the_four_names_in_any_case_and_nothing_else() {
        assert_eq!(sentinel("R01"), Some(Sentinel::Fails(ReturnCode::R01)));
        assert_eq!(sentinel("r03"), Some(Sentinel::Fails(ReturnCode::R03)));
        assert_eq!(sentinel("R01-LATE"), Some(Sentinel::FailsLate(ReturnCode::R01)));
        assert_eq!(sentinel("r03-late"), Some(Sentinel::FailsLate(ReturnCode::R03)));
        for name in ["R02", "R01 ", " R01", "R01-lateish", "My Checking", "", "R03late"] {
            assert_eq!(sentinel(name), None, "{name:?}");
        }
    }

    #[test]
    fn a_pending_leg_is_processed_failed_or_set_to_fail_later_by_its_bank_name() {
        assert_eq!(leg_outcome(&leg(Pending, None), Pending, "Checking"), LegOutcome::Processed);
        assert_eq!(leg_outcome(&leg(Pending, None), Pending, "R01"), LegOutcome::Failed(ReturnCode::R01));
        assert_eq!(leg_outcome(&leg(Pending, None), Pending, "R03"), LegOutcome::Failed(ReturnCode::R03));
        assert_eq!(
            leg_outcome(&leg(Pending, None), Pending, "R01-late"),
            LegOutcome::ProcessedWithLateReturn(ReturnCode::R01)
        );
        assert_eq!(leg_outcome(&leg(Pending, None), Failed, "Checking"), LegOutcome::Cancelled);
    }

    #[test]
    fn a_settled_leg_owing_a_return_fails_next_and_finished_legs_are_left_alone() {
        assert_eq!(
            leg_outcome(&leg(Processed, Some("R03")), Processed, "R03-late"),
            LegOutcome::LateReturnDue(ReturnCode::R03)
        );
        // The return is owed whatever the bank is called now.
        assert_eq!(
            leg_outcome(&leg(Processed, Some("R01")), Pending, "Renamed"),
            LegOutcome::LateReturnDue(ReturnCode::R01)
        );
        assert_eq!(leg_outcome(&leg(Processed, None), Processed, "R01"), LegOutcome::Untouched);
        assert_eq!(leg_outcome(&leg(Failed, None), Failed, "R01"), LegOutcome::Untouched);
        assert_eq!(leg_outcome(&leg(Cancelled, None), Cancelled, "Checking"), LegOutcome::Untouched);
    }

    #[test]
    fn a_forced_outcome_decides_pending_legs_whatever_their_bank_is_called() {
        let fails = Forced::Failed(ReturnCode::R16);
        assert_eq!(forced_leg_outcome(&leg(Pending, None), Pending, Forced::Processed), LegOutcome::Processed);
        assert_eq!(forced_leg_outcome(&leg(Pending, None), Pending, fails), LegOutcome::Failed(ReturnCode::R16));
        assert_eq!(forced_leg_outcome(&leg(Pending, None), Failed, Forced::Processed), LegOutcome::Cancelled);
        assert_eq!(forced_leg_outcome(&leg(Processed, Some("R01")), Pending, fails), LegOutcome::Untouched);
        assert_eq!(forced_leg_outcome(&leg(Failed, None), Failed, Forced::Processed), LegOutcome::Untouched);
    }

    #[test]
    fn only_a_pending_transfer_that_is_no_fee_is_forced() {
        let t = TransferRecord {
            id: "t".into(),
            tenant_id: TenantId::generate(),
            fee_of: None,
            source_id: "bank".into(),
            destination_id: "balance".into(),
            source_customer_id: Some("c".into()),
            destination_customer_id: Some("c".into()),
            amount: Cents(100),
            status: Pending,
            options: "{}".into(),
            correlation_id: None,
            individual_ach_id: None,
            failure_code: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        assert_eq!(may_force(&t), Ok(()));
        for status in [Processed, Failed, Cancelled] {
            assert!(may_force(&TransferRecord { status, ..t.clone() }).is_err(), "{status}");
        }
        assert!(may_force(&TransferRecord { fee_of: Some("other".into()), ..t }).is_err());
    }

    const BANK_TO_BALANCE: Shape = Shape { source: Bank, destination: Balance };
    const BALANCE_TO_BANK: Shape = Shape { source: Balance, destination: Bank };
    const BANK_TO_BANK: Shape = Shape { source: Bank, destination: Bank };

    #[test]
    fn a_cleared_debit_into_a_balance_completes_the_transfer_and_credits_it() {
        let s = settle(BANK_TO_BALANCE, Debit, Pending, LegOutcome::Processed);
        assert_eq!(
            s,
            Settlement {
                transfer: Some(Processed),
                debit_cleared: true,
                credit_destination: true,
                ..Settlement::default()
            }
        );
        assert_eq!(settle(BANK_TO_BALANCE, Debit, Pending, LegOutcome::ProcessedWithLateReturn(ReturnCode::R01)), s);
    }

    #[test]
    fn a_cleared_debit_to_a_bank_opens_the_credit_and_the_credit_completes() {
        let s = settle(BANK_TO_BANK, Debit, Pending, LegOutcome::Processed);
        assert_eq!(s, Settlement { debit_cleared: true, open_credit: true, ..Settlement::default() });
        let s = settle(BANK_TO_BANK, Credit, Pending, LegOutcome::Processed);
        assert_eq!(s, Settlement { transfer: Some(Processed), ..Settlement::default() });
        let s = settle(BALANCE_TO_BANK, Credit, Pending, LegOutcome::Processed);
        assert_eq!(s, Settlement { transfer: Some(Processed), ..Settlement::default() });
    }

    #[test]
    fn a_failed_leg_fails_the_transfer_refunds_a_balance_source_and_r03_removes_the_bank() {
        let s = settle(BANK_TO_BALANCE, Debit, Pending, LegOutcome::Failed(ReturnCode::R01));
        assert_eq!(s, Settlement { transfer: Some(Failed), failure: Some(ReturnCode::R01), ..Settlement::default() });
        let s = settle(BALANCE_TO_BANK, Credit, Pending, LegOutcome::Failed(ReturnCode::R03));
        assert_eq!(
            s,
            Settlement {
                transfer: Some(Failed),
                failure: Some(ReturnCode::R03),
                refund_source: true,
                remove_bank: true,
                ..Settlement::default()
            }
        );
    }

    #[test]
    fn a_late_return_takes_back_what_the_completed_transfer_moved() {
        let s = settle(BANK_TO_BALANCE, Debit, Processed, LegOutcome::LateReturnDue(ReturnCode::R01));
        assert_eq!(
            s,
            Settlement {
                transfer: Some(Failed),
                failure: Some(ReturnCode::R01),
                take_back_destination: true,
                ..Settlement::default()
            }
        );
        let s = settle(BALANCE_TO_BANK, Credit, Processed, LegOutcome::LateReturnDue(ReturnCode::R03));
        assert_eq!(
            s,
            Settlement {
                transfer: Some(Failed),
                failure: Some(ReturnCode::R03),
                refund_source: true,
                remove_bank: true,
                ..Settlement::default()
            }
        );
        // A bank-to-bank debit returned while its credit is pending fails the transfer; no balance moved.
        let s = settle(BANK_TO_BANK, Debit, Pending, LegOutcome::LateReturnDue(ReturnCode::R01));
        assert_eq!(s, Settlement { transfer: Some(Failed), failure: Some(ReturnCode::R01), ..Settlement::default() });
    }

    #[test]
    fn a_transfer_that_already_ended_only_loses_its_legs() {
        let s = settle(BANK_TO_BANK, Debit, Failed, LegOutcome::LateReturnDue(ReturnCode::R03));
        assert_eq!(s, Settlement { remove_bank: true, ..Settlement::default() });
        assert_eq!(settle(BANK_TO_BANK, Credit, Failed, LegOutcome::Cancelled), Settlement::default());
        assert_eq!(settle(BANK_TO_BANK, Credit, Processed, LegOutcome::Untouched), Settlement::default());
    }

    #[test]
    fn legs_record_their_outcome() {
        let now = Timestamp::from_millis(7);
        let pending = leg(Pending, None);
        assert_eq!(leg_after(&pending, LegOutcome::Untouched, now), None);
        let late = leg_after(&pending, LegOutcome::ProcessedWithLateReturn(ReturnCode::R03), now).unwrap();
        assert_eq!(
            (late.status, late.late_return.as_deref(), late.failure_code.as_deref()),
            (Processed, Some("R03"), None)
        );
        let returned = leg_after(&late, LegOutcome::LateReturnDue(ReturnCode::R03), now).unwrap();
        assert_eq!(
            (returned.status, returned.late_return, returned.failure_code.as_deref()),
            (Failed, None, Some("R03"))
        );
        assert_eq!(returned.updated_at, now);
        assert_eq!(leg_after(&pending, LegOutcome::Cancelled, now).unwrap().status, Cancelled);
    }

    #[test]
    fn individual_ach_ids_are_ida_and_five_letters_or_digits() {
        let id = individual_ach_id([0, 25, 26, 35, 255]);
        assert_eq!(id, "IDAAZ09D");
        assert_eq!(id.len(), 8);
        assert!(individual_ach_id([9, 8, 7, 6, 5]).chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    }
}
