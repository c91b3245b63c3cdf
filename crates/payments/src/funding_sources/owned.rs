//! The funding sources openiav opens itself: a verified customer's `balance`, and the account's
//! own bank and balance (the master account Dwolla gives every application). Each is opened at
//! most once, whatever races: the store keeps one per owner and kind.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{BankAccountType, CustomerKind, CustomerStatus, FundingSourceKind, FundingSourceStatus};
use openiav_store::records::{CustomerRecord, FundingSourceRecord};
use openiav_store::repo::funding_sources as repo;
use openiav_store::{Conn, StoreError};

use super::{seal_numbers, Channel, SANDBOX_BANK_NAME};
use crate::AppState;

/// The name Dwolla gives every balance.
pub const BALANCE_NAME: &str = "Balance";
/// The account's own bank, as the sandbox sets one up.
const ACCOUNT_BANK_NAME: &str = "Account checking";
const SANDBOX_ROUTING: &str = "222222226";

/// Whether `customer` holds a balance: verified personal and business customers do.
pub fn holds_balance(customer: &CustomerRecord) -> bool {
    matches!(customer.kind, CustomerKind::Personal | CustomerKind::Business)
        && customer.status == CustomerStatus::Verified
}

/// A balance owned by `customer` (`None`: the account), empty.
fn balance(tenant: TenantId, customer: Option<&str>, now: Timestamp) -> FundingSourceRecord {
    FundingSourceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        customer_id: customer.map(str::to_owned),
        kind: FundingSourceKind::Balance,
        exchange_id: None,
        status: FundingSourceStatus::Verified,
        bank_account_type: BankAccountType::Checking,
        name: BALANCE_NAME.to_owned(),
        bank_name: String::new(),
        routing_number: String::new(),
        account_number: Vec::new(),
        account_number_last4: String::new(),
        fingerprint: String::new(),
        channels: "[]".to_owned(),
        removed: false,
        balance: Cents::ZERO,
        on_demand_authorization_id: None,
        created_at: now,
        updated_at: now,
    }
}

/// Opens the balance of `customer` inside the write that made it verified, unless it has one.
pub async fn open_customer_balance(
    conn: &mut Conn,
    customer: &CustomerRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    if holds_balance(customer) {
        repo::insert_if_absent(conn, &balance(customer.tenant_id, Some(&customer.id), now)).await?;
    }
    Ok(())
}

/// The account's bank and balance, opened the first time they are asked for.
pub async fn account_sources(
    conn: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    now: Timestamp,
) -> Result<Vec<FundingSourceRecord>, StoreError> {
    let existing = repo::list_for_account(conn, tenant, None).await?;
    if account_is_open(&existing) {
        return Ok(existing);
    }
    repo::insert_if_absent(conn, &account_bank(state, tenant, now)).await?;
    repo::insert_if_absent(conn, &balance(tenant, None, now)).await?;
    repo::list_for_account(conn, tenant, None).await
}

/// Whether the account's sources `existing` (removed ones included) hold its bank and balance.
pub fn account_is_open(existing: &[FundingSourceRecord]) -> bool {
    existing.iter().any(|f| f.kind == FundingSourceKind::Bank)
        && existing.iter().any(|f| f.kind == FundingSourceKind::Balance)
}

/// The account's verified sandbox bank: a fresh account number at the sandbox routing number.
fn account_bank(state: &AppState, tenant: TenantId, now: Timestamp) -> FundingSourceRecord {
    let mut bank = FundingSourceRecord {
        kind: FundingSourceKind::Bank,
        name: ACCOUNT_BANK_NAME.to_owned(),
        bank_name: SANDBOX_BANK_NAME.to_owned(),
        channels: serde_json::to_string(&[Channel::Ach]).expect("channels serialise"),
        ..balance(tenant, None, now)
    };
    let digits: String = uuid::Uuid::new_v4().as_u128().to_string().chars().take(12).collect();
    let routing = RoutingNumber::parse(SANDBOX_ROUTING).expect("the sandbox routing number is valid");
    let account = AccountNumber::parse(&digits).expect("twelve digits are an account number");
    seal_numbers(state, &mut bank, &routing, &account);
    bank
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_verified_personal_and_business_customers_hold_a_balance() {
        let customer = |kind, status| CustomerRecord {
            id: "c".into(),
            tenant_id: TenantId::generate(),
            kind,
            status,
            first_name: "A".into(),
            last_name: "B".into(),
            email: "a@b.c".into(),
            email_key: "a@b.c".into(),
            business_name: None,
            correlation_id: None,
            profile: None,
            aggregator_user: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        assert!(holds_balance(&customer(CustomerKind::Personal, CustomerStatus::Verified)));
        assert!(holds_balance(&customer(CustomerKind::Business, CustomerStatus::Verified)));
        assert!(!holds_balance(&customer(CustomerKind::Personal, CustomerStatus::Retry)));
        assert!(!holds_balance(&customer(CustomerKind::Unverified, CustomerStatus::Unverified)));
        assert!(!holds_balance(&customer(CustomerKind::ReceiveOnly, CustomerStatus::Unverified)));
    }
}
