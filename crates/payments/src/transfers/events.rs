//! Which events each moment of a transfer raises, and to whom: one function per moment
//! (created, leg created/completed/failed, completed, failed, cancelled, balance negative,
//! bank removed). A party is an owner: the account (`transfer_*`, `bank_transfer_*`) or a
//! customer (`customer_transfer_*`, `customer_bank_transfer_*`, with `_links.customer`). Every
//! transfer and bank-transfer event carries the transfer's `correlationId`. Each writer is a
//! pure plan ([`Planned`]) and its write, so the plan is unit-tested.

use openiav_core::clock::Timestamp;
use openiav_core::payments::{EventResource, EventTopic};
use openiav_store::records::{BankTransferRecord, EventRecord, FundingSourceRecord, TransferRecord};
use openiav_store::{Conn, StoreError};

use crate::events;

/// One event to write: its topic, the resource it is about and the customer it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub topic: EventTopic,
    pub resource: EventResource,
    pub resource_id: String,
    pub customer_id: Option<String>,
    pub correlation_id: Option<String>,
}

/// What happened to a transfer or a leg, for picking the topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moment {
    Created,
    Completed,
    Failed,
    Cancelled,
}

fn transfer_topic(moment: Moment, customer: Option<&str>) -> EventTopic {
    use EventTopic::*;
    match (moment, customer.is_some()) {
        (Moment::Created, true) => CustomerTransferCreated,
        (Moment::Completed, true) => CustomerTransferCompleted,
        (Moment::Failed, true) => CustomerTransferFailed,
        (Moment::Cancelled, true) => CustomerTransferCancelled,
        (Moment::Created, false) => TransferCreated,
        (Moment::Completed, false) => TransferCompleted,
        (Moment::Failed, false) => TransferFailed,
        (Moment::Cancelled, false) => TransferCancelled,
    }
}

fn bank_topic(moment: Moment, customer: Option<&str>) -> EventTopic {
    use EventTopic::*;
    match (moment, customer.is_some()) {
        (Moment::Created, true) => CustomerBankTransferCreated,
        (Moment::Completed, true) => CustomerBankTransferCompleted,
        (Moment::Failed, true) => CustomerBankTransferFailed,
        (Moment::Cancelled, true) => CustomerBankTransferCancelled,
        (Moment::Created, false) => BankTransferCreated,
        (Moment::Completed, false) => BankTransferCompleted,
        (Moment::Failed, false) => BankTransferFailed,
        (Moment::Cancelled, false) => BankTransferCancelled,
    }
}

/// The distinct parties of `t`: its source owner, then its destination owner.
pub fn parties(t: &TransferRecord) -> Vec<Option<String>> {
    let mut parties = vec![t.source_customer_id.clone()];
    if t.destination_customer_id != t.source_customer_id {
        parties.push(t.destination_customer_id.clone());
    }
    parties
}

fn for_transfer(moment: Moment, t: &TransferRecord) -> Vec<Planned> {
    parties(t)
        .into_iter()
        .map(|party| Planned {
            topic: transfer_topic(moment, party.as_deref()),
            resource: EventResource::Transfers,
            resource_id: t.id.clone(),
            customer_id: party,
            correlation_id: t.correlation_id.clone(),
        })
        .collect()
}

fn for_leg(moment: Moment, t: &TransferRecord, leg: &BankTransferRecord) -> Planned {
    Planned {
        topic: bank_topic(moment, leg.customer_id.as_deref()),
        resource: EventResource::Transfers,
        resource_id: leg.id.clone(),
        customer_id: leg.customer_id.clone(),
        correlation_id: t.correlation_id.clone(),
    }
}

/// `t` was created with the legs `legs`: a bank-transfer-created per leg, then a
/// transfer-created per party.
pub fn plan_created(t: &TransferRecord, legs: &[BankTransferRecord]) -> Vec<Planned> {
    let mut plan: Vec<Planned> = legs.iter().map(|l| for_leg(Moment::Created, t, l)).collect();
    plan.extend(for_transfer(Moment::Created, t));
    plan
}

/// A leg opened after `t` was created (the credit of a bank-to-bank transfer).
pub fn plan_leg_created(t: &TransferRecord, leg: &BankTransferRecord) -> Vec<Planned> {
    vec![for_leg(Moment::Created, t, leg)]
}

/// The leg was processed.
pub fn plan_leg_completed(t: &TransferRecord, leg: &BankTransferRecord) -> Vec<Planned> {
    vec![for_leg(Moment::Completed, t, leg)]
}

/// The leg failed: its own event (the transfer's follow with [`plan_failed`]).
pub fn plan_leg_failed(t: &TransferRecord, leg: &BankTransferRecord) -> Vec<Planned> {
    vec![for_leg(Moment::Failed, t, leg)]
}

/// `t` completed: a transfer-completed per party.
pub fn plan_completed(t: &TransferRecord) -> Vec<Planned> {
    for_transfer(Moment::Completed, t)
}

/// `t` failed: a transfer-failed per party.
pub fn plan_failed(t: &TransferRecord) -> Vec<Planned> {
    for_transfer(Moment::Failed, t)
}

/// `t` was cancelled with its pending legs `legs`: a bank-transfer-cancelled per leg, then a
/// transfer-cancelled per party.
pub fn plan_cancelled(t: &TransferRecord, legs: &[BankTransferRecord]) -> Vec<Planned> {
    let mut plan: Vec<Planned> = legs.iter().map(|l| for_leg(Moment::Cancelled, t, l)).collect();
    plan.extend(for_transfer(Moment::Cancelled, t));
    plan
}

/// A balance went below zero (a late return took back what it was credited).
pub fn plan_balance_negative(balance: &FundingSourceRecord) -> Vec<Planned> {
    let topic = match balance.customer_id {
        Some(_) => EventTopic::CustomerFundingSourceNegative,
        None => EventTopic::FundingSourceNegative,
    };
    vec![about_source(topic, balance)]
}

/// A bank was removed by a return (R03).
pub fn plan_bank_removed(bank: &FundingSourceRecord) -> Vec<Planned> {
    let topic = match bank.customer_id {
        Some(_) => EventTopic::CustomerFundingSourceRemoved,
        None => EventTopic::FundingSourceRemoved,
    };
    vec![about_source(topic, bank)]
}

fn about_source(topic: EventTopic, source: &FundingSourceRecord) -> Planned {
    Planned {
        topic,
        resource: EventResource::FundingSources,
        resource_id: source.id.clone(),
        customer_id: source.customer_id.clone(),
        correlation_id: None,
    }
}

/// Writes a plan, in order, with the webhooks it fans out to.
pub async fn write(
    conn: &mut Conn,
    base: &str,
    tenant: openiav_core::ids::TenantId,
    plan: Vec<Planned>,
    now: Timestamp,
) -> Result<(), StoreError> {
    for p in plan {
        let event = EventRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant,
            topic: p.topic,
            resource_type: p.resource,
            resource_id: p.resource_id,
            customer_id: p.customer_id,
            correlation_id: p.correlation_id,
            created_at: now,
        };
        events::write(conn, base, event).await?;
    }
    Ok(())
}

/// [`plan_created`], written.
pub async fn created(
    conn: &mut Conn,
    base: &str,
    t: &TransferRecord,
    legs: &[BankTransferRecord],
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_created(t, legs), now).await
}

/// [`plan_leg_created`], written.
pub async fn leg_created(
    conn: &mut Conn,
    base: &str,
    t: &TransferRecord,
    leg: &BankTransferRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_leg_created(t, leg), now).await
}

/// [`plan_leg_completed`], written.
pub async fn leg_completed(
    conn: &mut Conn,
    base: &str,
    t: &TransferRecord,
    leg: &BankTransferRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_leg_completed(t, leg), now).await
}

/// [`plan_leg_failed`], written.
pub async fn leg_failed(
    conn: &mut Conn,
    base: &str,
    t: &TransferRecord,
    leg: &BankTransferRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_leg_failed(t, leg), now).await
}

/// [`plan_completed`], written.
pub async fn completed(conn: &mut Conn, base: &str, t: &TransferRecord, now: Timestamp) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_completed(t), now).await
}

/// [`plan_failed`], written.
pub async fn failed(conn: &mut Conn, base: &str, t: &TransferRecord, now: Timestamp) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_failed(t), now).await
}

/// [`plan_cancelled`], written.
pub async fn cancelled(
    conn: &mut Conn,
    base: &str,
    t: &TransferRecord,
    legs: &[BankTransferRecord],
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, t.tenant_id, plan_cancelled(t, legs), now).await
}

/// [`plan_balance_negative`], written.
pub async fn balance_negative(
    conn: &mut Conn,
    base: &str,
    balance: &FundingSourceRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, balance.tenant_id, plan_balance_negative(balance), now).await
}

/// [`plan_bank_removed`], written.
pub async fn bank_removed(
    conn: &mut Conn,
    base: &str,
    bank: &FundingSourceRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(conn, base, bank.tenant_id, plan_bank_removed(bank), now).await
}

#[cfg(test)]
pub(crate) mod tests {
    use openiav_core::ids::TenantId;
    use openiav_core::money::Cents;
    use openiav_core::payments::{BankTransferDirection, TransferStatus};

    use super::*;
    use EventTopic::*;

    /// A pending $1.00 transfer `t` between the given owners (`None`: the account).
    pub(crate) fn transfer(source: Option<&str>, destination: Option<&str>) -> TransferRecord {
        TransferRecord {
            id: "t".into(),
            tenant_id: TenantId::generate(),
            fee_of: None,
            source_id: "fs-s".into(),
            destination_id: "fs-d".into(),
            source_customer_id: source.map(str::to_owned),
            destination_customer_id: destination.map(str::to_owned),
            amount: Cents(100),
            status: TransferStatus::Pending,
            options: "{}".into(),
            correlation_id: Some("corr".into()),
            individual_ach_id: None,
            failure_code: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn leg(id: &str, customer: Option<&str>, direction: BankTransferDirection) -> BankTransferRecord {
        BankTransferRecord {
            id: id.into(),
            tenant_id: TenantId::generate(),
            transfer_id: "t".into(),
            direction,
            funding_source_id: "bank".into(),
            customer_id: customer.map(str::to_owned),
            status: TransferStatus::Pending,
            late_return: None,
            failure_code: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn summary(plan: &[Planned]) -> Vec<(EventTopic, &str, Option<&str>)> {
        plan.iter().map(|p| (p.topic, p.resource_id.as_str(), p.customer_id.as_deref())).collect()
    }

    #[test]
    fn creation_announces_each_leg_to_its_bank_owner_then_the_transfer_to_each_party() {
        let t = transfer(Some("a"), Some("b"));
        let d = leg("d", Some("a"), BankTransferDirection::Debit);
        let plan = plan_created(&t, &[d]);
        assert_eq!(
            summary(&plan),
            vec![
                (CustomerBankTransferCreated, "d", Some("a")),
                (CustomerTransferCreated, "t", Some("a")),
                (CustomerTransferCreated, "t", Some("b")),
            ]
        );
        assert!(plan.iter().all(|p| p.correlation_id.as_deref() == Some("corr")));
        assert!(plan.iter().all(|p| p.resource == EventResource::Transfers));
    }

    #[test]
    fn the_account_gets_the_unprefixed_topics() {
        let t = transfer(None, Some("b"));
        let c = leg("c", Some("b"), BankTransferDirection::Credit);
        assert_eq!(
            summary(&plan_created(&t, std::slice::from_ref(&c))),
            vec![
                (CustomerBankTransferCreated, "c", Some("b")),
                (TransferCreated, "t", None),
                (CustomerTransferCreated, "t", Some("b"))
            ]
        );
        let d = leg("d", None, BankTransferDirection::Debit);
        assert_eq!(summary(&plan_leg_completed(&t, &d)), vec![(BankTransferCompleted, "d", None)]);
        assert_eq!(summary(&plan_leg_failed(&t, &d)), vec![(BankTransferFailed, "d", None)]);
        assert_eq!(summary(&plan_leg_created(&t, &c)), vec![(CustomerBankTransferCreated, "c", Some("b"))]);
    }

    #[test]
    fn a_party_on_both_sides_hears_once() {
        let t = transfer(Some("a"), Some("a"));
        assert_eq!(summary(&plan_completed(&t)), vec![(CustomerTransferCompleted, "t", Some("a"))]);
        assert_eq!(summary(&plan_failed(&t)), vec![(CustomerTransferFailed, "t", Some("a"))]);
    }

    #[test]
    fn cancellation_announces_pending_legs_then_the_transfer() {
        let t = transfer(Some("a"), None);
        let d = leg("d", Some("a"), BankTransferDirection::Debit);
        assert_eq!(
            summary(&plan_cancelled(&t, &[d])),
            vec![
                (CustomerBankTransferCancelled, "d", Some("a")),
                (CustomerTransferCancelled, "t", Some("a")),
                (TransferCancelled, "t", None),
            ]
        );
    }

    #[test]
    fn balance_and_bank_events_are_about_the_funding_source() {
        let mut fs = FundingSourceRecord {
            id: "fs".into(),
            tenant_id: TenantId::generate(),
            customer_id: Some("a".into()),
            kind: openiav_core::payments::FundingSourceKind::Balance,
            exchange_id: None,
            status: openiav_core::payments::FundingSourceStatus::Verified,
            bank_account_type: openiav_core::payments::BankAccountType::Checking,
            name: "Balance".into(),
            bank_name: String::new(),
            routing_number: String::new(),
            account_number: Vec::new(),
            account_number_last4: String::new(),
            fingerprint: String::new(),
            channels: "[]".into(),
            removed: false,
            balance: Cents(-5),
            on_demand_authorization_id: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let plan = plan_balance_negative(&fs);
        assert_eq!(summary(&plan), vec![(CustomerFundingSourceNegative, "fs", Some("a"))]);
        assert_eq!(plan[0].resource, EventResource::FundingSources);
        assert_eq!(summary(&plan_bank_removed(&fs)), vec![(CustomerFundingSourceRemoved, "fs", Some("a"))]);
        fs.customer_id = None;
        assert_eq!(summary(&plan_balance_negative(&fs)), vec![(FundingSourceNegative, "fs", None)]);
        assert_eq!(summary(&plan_bank_removed(&fs)), vec![(FundingSourceRemoved, "fs", None)]);
    }
}
