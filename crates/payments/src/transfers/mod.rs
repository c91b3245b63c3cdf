//! Transfers: money moved between two funding sources of the account or its customers, the
//! ACH legs ("bank transfers") a bank side needs, facilitator fees, cancellation, and the
//! sandbox's processing of pending legs. Every operation loads, decides with [`rules`] and saves
//! inside one store write, with the events the change raises ([`events`]).

/// Inside a write: the value a decision came to, or the client error the write answers with.
macro_rules! decided {
    ($decision:expr) => {
        match $decision {
            Ok(value) => value,
            Err(e) => return Ok(Err(e)),
        }
    };
}

pub mod events;
pub mod failure;
pub mod processing;
pub mod rules;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{BankTransferDirection, FundingSourceKind, TransferStatus};
use openiav_store::records::{BankTransferRecord, CustomerRecord, FundingSourceRecord, TransferRecord};
use openiav_store::repo::transfers::{self as repo, TransferFilter};
use openiav_store::repo::Page;
use openiav_store::repo::{customers, funding_sources};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};

use self::rules::{ChargedSide, Side};
use crate::error::FieldCode;
use crate::funding_sources::owned;
use crate::{AppState, DwollaError};

/// The 404 of a transfer, fee or leg that is not the tenant's.
pub const TRANSFER_NOT_FOUND: &str = "The requested resource was not found.";

/// A link a request body names.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Href {
    pub href: Option<String>,
}

/// `POST /transfers`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTransfer {
    #[serde(rename = "_links")]
    pub links: Option<TransferLinks>,
    pub amount: Option<AmountIn>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub correlation_id: Option<String>,
    pub clearing: Option<ClearingIn>,
    pub ach_details: Option<AchDetailsIn>,
    pub processing_channel: Option<ProcessingChannelIn>,
    pub fees: Option<Vec<FeeIn>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TransferLinks {
    pub source: Option<Href>,
    pub destination: Option<Href>,
}

/// `{value, currency}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AmountIn {
    pub value: Option<String>,
    pub currency: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClearingIn {
    pub source: Option<String>,
    pub destination: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AchDetailsIn {
    pub source: Option<AchSideIn>,
    pub destination: Option<AchSideIn>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AchSideIn {
    pub addenda: Option<AddendaIn>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AddendaIn {
    pub values: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProcessingChannelIn {
    pub destination: Option<String>,
}

/// One of `fees[]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FeeIn {
    #[serde(rename = "_links")]
    pub links: Option<FeeLinks>,
    pub amount: Option<AmountIn>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct FeeLinks {
    #[serde(rename = "charge-to")]
    pub charge_to: Option<Href>,
}

/// `POST /transfers/{id}`: only `{"status":"cancelled"}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UpdateTransfer {
    pub status: Option<String>,
}

/// A requested clearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearingOption {
    Standard,
    NextAvailable,
}

/// What `transfers.options` holds: the request's options as the transfer renders them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearing: Option<StoredClearing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ach_details: Option<StoredAch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_channel: Option<ProcessingChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// `clearing` as rendered (`standard`, `same-day`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClearing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<StoredAchSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<StoredAchSide>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAchSide {
    pub addenda: StoredAddenda,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAddenda {
    pub values: Vec<String>,
}

openiav_core::wire_enum! {
    /// The network an instant payment uses; requests may say `instant`, answers name the
    /// network (the strict SDK accepts only these).
    pub enum Network {
        RealTimePayments = "real-time-payments",
        FedNow = "fed-now",
    }
}

/// `processingChannel` as rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingChannel {
    pub destination: Network,
}

/// The sandbox sends every instant payment over RTP.
pub const RTP: ProcessingChannel = ProcessingChannel { destination: Network::RealTimePayments };

/// The options of `t`; a column that does not decode is an error naming the transfer.
pub fn options_of(t: &TransferRecord) -> Result<TransferOptions, DwollaError> {
    serde_json::from_str(&t.options)
        .map_err(|e| DwollaError::internal(format!("transfer {}: column options does not decode: {e}", t.id)))
}

/// A transfer with what its view needs: its legs and fees.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub transfer: TransferRecord,
    pub legs: Vec<BankTransferRecord>,
    pub fees: Vec<TransferRecord>,
}

/// What `GET /transfers/{id}` names: a transfer (or fee), or one of a transfer's legs.
#[derive(Clone, Debug)]
pub enum Found {
    Transfer(Loaded),
    Leg(Loaded, BankTransferRecord),
}

/// The funding source a request names, if it is the tenant's, with its owner.
async fn side_of(
    c: &mut Conn,
    tenant: TenantId,
    id: &str,
    lock: bool,
) -> Result<Option<(FundingSourceRecord, Option<CustomerRecord>)>, StoreError> {
    let source = if lock {
        funding_sources::find_for_update(c, tenant, id).await?
    } else {
        funding_sources::find(c, tenant, id).await?
    };
    let Some(source) = source else { return Ok(None) };
    let owner = match &source.customer_id {
        Some(customer) => customers::find(c, tenant, customer).await?,
        None => None,
    };
    Ok(Some((source, owner)))
}

fn new_leg(
    t: &TransferRecord,
    direction: BankTransferDirection,
    bank: &FundingSourceRecord,
    now: Timestamp,
) -> BankTransferRecord {
    BankTransferRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: t.tenant_id,
        transfer_id: t.id.clone(),
        direction,
        funding_source_id: bank.id.clone(),
        customer_id: bank.customer_id.clone(),
        status: TransferStatus::Pending,
        late_return: None,
        failure_code: None,
        created_at: now,
        updated_at: now,
    }
}

/// Creates the transfer `checked` describes, inside the write: decides with what the store
/// holds, debits a balance source (locked), opens its legs and fees and raises its events.
pub async fn create(
    c: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    checked: rules::Checked,
    now: Timestamp,
) -> Result<Result<TransferRecord, DwollaError>, StoreError> {
    let base = state.base();
    let Some((source, source_owner)) = side_of(c, tenant, &checked.source_id, false).await? else {
        return Ok(Err(rules::refuse(FieldCode::Invalid, "/_links/source/href", rules::SOURCE_NOT_FOUND)));
    };
    let Some((destination, destination_owner)) = side_of(c, tenant, &checked.destination_id, false).await? else {
        return Ok(Err(rules::refuse(FieldCode::Invalid, "/_links/destination/href", rules::RECEIVER_NOT_FOUND)));
    };
    // A fee naming a customer the tenant does not have is Dwolla's "account not found".
    for fee in &checked.fees {
        if let rules::ChargeTo::Customer(id) = &fee.charge_to {
            if customers::find(c, tenant, id).await?.is_none() {
                return Ok(Err(rules::refuse(FieldCode::Invalid, "", rules::FEE_ACCOUNT_NOT_FOUND)));
            }
        }
    }
    let sent_this_week = match source_owner.as_ref() {
        Some(owner) => Cents(repo::sent_since(c, tenant, &owner.id, rules::week_start(now.millis())).await?),
        None => Cents::ZERO,
    };
    let charged = decided!(rules::decide(
        &checked,
        Side { source: &source, owner: source_owner.as_ref() },
        Side { source: &destination, owner: destination_owner.as_ref() },
        sent_this_week,
        &tenant.to_string(),
    ));

    let options = serde_json::to_string(&checked.options).expect("options serialise");
    let mut transfer = TransferRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        fee_of: None,
        source_id: source.id.clone(),
        destination_id: destination.id.clone(),
        source_customer_id: source.customer_id.clone(),
        destination_customer_id: destination.customer_id.clone(),
        amount: checked.amount,
        status: TransferStatus::Pending,
        options,
        correlation_id: checked.correlation_id.clone(),
        individual_ach_id: None,
        failure_code: None,
        created_at: now,
        updated_at: now,
    };
    let account_balance = if checked.fees.is_empty() {
        None
    } else {
        owned::account_sources(c, state, tenant, now).await?.into_iter().find(|f| f.kind == FundingSourceKind::Balance)
    };
    let fees: Vec<TransferRecord> = checked
        .fees
        .iter()
        .zip(&charged)
        .filter_map(|(fee, side)| {
            let (from, owner) = match side {
                ChargedSide::Source => (&source, &source.customer_id),
                ChargedSide::Destination => (&destination, &destination.customer_id),
            };
            let to = account_balance.as_ref()?;
            Some(TransferRecord {
                id: uuid::Uuid::new_v4().to_string(),
                fee_of: Some(transfer.id.clone()),
                source_id: from.id.clone(),
                destination_id: to.id.clone(),
                source_customer_id: owner.clone(),
                destination_customer_id: None,
                amount: fee.amount,
                options: "{}".to_owned(),
                ..transfer.clone()
            })
        })
        .collect();

    // Lock every balance this write may move, in id order, before moving any: two transfers
    // between the same balances in opposite directions then cannot deadlock on PostgreSQL.
    let between_balances = source.kind == FundingSourceKind::Balance && destination.kind == FundingSourceKind::Balance;
    let mut to_lock: BTreeSet<&str> = BTreeSet::new();
    if source.kind == FundingSourceKind::Balance {
        to_lock.insert(&source.id);
    }
    if between_balances {
        to_lock.insert(&destination.id);
        for fee in &fees {
            to_lock.insert(&fee.source_id);
            to_lock.insert(&fee.destination_id);
        }
    }
    for id in to_lock {
        funding_sources::find_for_update(c, tenant, id).await?;
    }
    if source.kind == FundingSourceKind::Balance {
        let held = rules::held_at_creation(&transfer, &fees);
        let Some(mut balance) = funding_sources::find_for_update(c, tenant, &source.id).await? else {
            return Ok(Err(rules::refuse(FieldCode::Invalid, "/_links/source/href", rules::SOURCE_NOT_FOUND)));
        };
        if balance.balance < held {
            return Ok(Err(rules::refuse(
                FieldCode::InsufficientFunds,
                "/_links/source/href",
                rules::INSUFFICIENT_FUNDS,
            )));
        }
        balance.balance = Cents(balance.balance.0 - held.0);
        balance.updated_at = now;
        funding_sources::save(c, &balance).await?;
    }

    let (debit, credit) = rules::legs_at_creation(source.kind, destination.kind);
    let mut legs = Vec::new();
    if debit {
        legs.push(new_leg(&transfer, BankTransferDirection::Debit, &source, now));
    }
    if credit {
        legs.push(new_leg(&transfer, BankTransferDirection::Credit, &destination, now));
    }
    let instant = legs.is_empty();
    if instant {
        transfer.status = TransferStatus::Processed;
    }
    repo::insert(c, &transfer).await?;
    for fee in &fees {
        repo::insert(c, fee).await?;
    }
    for leg in &legs {
        repo::insert_bank_transfer(c, leg).await?;
    }
    events::created(c, base, &transfer, &legs, now).await?;
    if instant {
        settle(c, tenant, &transfer, now).await?;
        events::completed(c, base, &transfer, now).await?;
    }
    Ok(Ok(transfer))
}

/// The money a transfer moves when it completes (its last leg processed, or at once between
/// balances): credits a balance destination, and charges its fees — each fee moves from the
/// charged party to the account's balance (a fee on the sender was held with the amount at
/// creation; a fee on a receiving balance is taken from it; a fee on a bank rides on that
/// bank's ACH entry). Fees are marked processed. Locks the balances it moves.
pub async fn settle(c: &mut Conn, tenant: TenantId, t: &TransferRecord, now: Timestamp) -> Result<(), StoreError> {
    let fees = repo::fees_of(c, tenant, &t.id).await?;
    let mut moves: Vec<(String, i64)> = Vec::new();
    if let Some(destination) = funding_sources::find(c, tenant, &t.destination_id).await? {
        if destination.kind == FundingSourceKind::Balance {
            moves.push((destination.id.clone(), t.amount.0));
        }
    }
    for fee in &fees {
        if fee.status != TransferStatus::Pending {
            continue;
        }
        if fee.source_id == t.destination_id {
            if let Some(from) = funding_sources::find(c, tenant, &fee.source_id).await? {
                if from.kind == FundingSourceKind::Balance {
                    moves.push((from.id.clone(), -fee.amount.0));
                }
            }
        }
        moves.push((fee.destination_id.clone(), fee.amount.0));
    }
    // Lock in a stable order (by id) so concurrent settlements cannot deadlock.
    let mut by_source: BTreeMap<String, i64> = BTreeMap::new();
    for (id, delta) in moves {
        *by_source.entry(id).or_default() += delta;
    }
    for (id, delta) in by_source {
        if delta == 0 {
            continue;
        }
        if let Some(mut balance) = funding_sources::find_for_update(c, tenant, &id).await? {
            balance.balance = Cents(balance.balance.0 + delta);
            balance.updated_at = now;
            funding_sources::save(c, &balance).await?;
        }
    }
    for mut fee in fees.into_iter().filter(|f| f.status == TransferStatus::Pending) {
        fee.status = TransferStatus::Processed;
        fee.updated_at = now;
        repo::save(c, &fee).await?;
    }
    Ok(())
}

/// Gives back what a balance source was debited at creation (on cancel or failure), and
/// cancels the transfer's pending fees: no fee is charged on a failed or cancelled payment.
pub async fn refund(c: &mut Conn, tenant: TenantId, t: &TransferRecord, now: Timestamp) -> Result<(), StoreError> {
    let fees = repo::fees_of(c, tenant, &t.id).await?;
    let held = rules::held_at_creation(t, &fees);
    if let Some(mut source) = funding_sources::find_for_update(c, tenant, &t.source_id).await? {
        if source.kind == FundingSourceKind::Balance {
            source.balance = Cents(source.balance.0 + held.0);
            source.updated_at = now;
            funding_sources::save(c, &source).await?;
        }
    }
    for mut fee in fees.into_iter().filter(|f| f.status == TransferStatus::Pending) {
        fee.status = TransferStatus::Cancelled;
        fee.updated_at = now;
        repo::save(c, &fee).await?;
    }
    Ok(())
}

/// Cancels the transfer `id` (or the transfer of the leg `id`) inside the write: locks the
/// transfer, then its legs, then the balance it refunds. Answers what `id` names.
pub async fn cancel(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    request: &UpdateTransfer,
    now: Timestamp,
) -> Result<Result<Found, DwollaError>, StoreError> {
    let (transfer_id, leg_id) = match repo::find(c, tenant, id).await? {
        Some(t) => (t.id, None),
        None => match repo::find_bank_transfer(c, tenant, id).await? {
            Some(leg) => (leg.transfer_id, Some(leg.id)),
            None => return Ok(Err(DwollaError::not_found(TRANSFER_NOT_FOUND))),
        },
    };
    let Some(mut t) = repo::find_for_update(c, tenant, &transfer_id).await? else {
        return Ok(Err(DwollaError::not_found(TRANSFER_NOT_FOUND)));
    };
    let mut legs = repo::bank_transfers_of(c, tenant, &t.id).await?;
    decided!(rules::decide_cancel(request.status.as_deref(), &t, &legs));
    t.status = TransferStatus::Cancelled;
    t.updated_at = now;
    repo::save(c, &t).await?;
    let mut cancelled = Vec::new();
    for leg in legs.iter_mut().filter(|l| l.status == TransferStatus::Pending) {
        leg.status = TransferStatus::Cancelled;
        leg.updated_at = now;
        repo::save_bank_transfer(c, leg).await?;
        cancelled.push(leg.clone());
    }
    refund(c, tenant, &t, now).await?;
    events::cancelled(c, base, &t, &cancelled, now).await?;
    let fees = repo::fees_of(c, tenant, &t.id).await?;
    let loaded = Loaded { transfer: t, legs, fees };
    Ok(Ok(match leg_id {
        None => Found::Transfer(loaded),
        Some(leg_id) => {
            let leg = loaded.legs.iter().find(|l| l.id == leg_id).cloned();
            match leg {
                Some(leg) => Found::Leg(loaded, leg),
                None => Found::Transfer(loaded),
            }
        }
    }))
}

async fn load(c: &mut Conn, tenant: TenantId, t: TransferRecord) -> Result<Loaded, StoreError> {
    let legs = repo::legs_of(c, tenant, &t.id).await?;
    let fees = repo::fees_of(c, tenant, &t.id).await?;
    Ok(Loaded { transfer: t, legs, fees })
}

/// The transfer, fee or leg `id` of the tenant, with what its view needs.
pub async fn find(state: &AppState, tenant: TenantId, id: &str) -> Result<Found, DwollaError> {
    let id = id.to_ascii_lowercase();
    let found = state
        .store
        .read(|mut c| async move {
            if let Some(t) = repo::find(&mut c, tenant, &id).await? {
                return Ok(Some(Found::Transfer(load(&mut c, tenant, t).await?)));
            }
            let Some(leg) = repo::find_bank_transfer(&mut c, tenant, &id).await? else { return Ok(None) };
            let Some(t) = repo::find(&mut c, tenant, &leg.transfer_id).await? else { return Ok(None) };
            Ok(Some(Found::Leg(load(&mut c, tenant, t).await?, leg)))
        })
        .await?;
    found.ok_or_else(|| DwollaError::not_found(TRANSFER_NOT_FOUND))
}

/// A page of the transfers `filter` keeps, each with its legs and fees.
pub async fn list(
    state: &AppState,
    tenant: TenantId,
    filter: TransferFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<Loaded>, DwollaError> {
    Ok(state
        .store
        .read(|mut c| async move {
            let page = repo::list(&mut c, tenant, &filter, limit, offset).await?;
            let mut items = Vec::with_capacity(page.items.len());
            for t in page.items {
                items.push(load(&mut c, tenant, t).await?);
            }
            Ok(Page { items, total: page.total })
        })
        .await?)
}
