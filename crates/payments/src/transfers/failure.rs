//! ACH return codes: Dwolla's table of the returns a bank transfer can fail with (code,
//! description, explanation, whether the bank is removed), and the failure record of a failed
//! transfer or leg (`GET /transfers/{id}/failure`).

use openiav_core::ids::TenantId;
use openiav_store::records::{BankTransferRecord, TransferRecord};
use openiav_store::repo::transfers as repo;
use openiav_store::Conn;
use serde::Serialize;

use crate::hal::Links;
use crate::{AppState, DwollaError};

openiav_core::wire_enum! {
    /// An ACH return code from Dwolla's list of possible returns.
    pub enum ReturnCode {
        R01 = "R01",
        R02 = "R02",
        R03 = "R03",
        R04 = "R04",
        R05 = "R05",
        R07 = "R07",
        R08 = "R08",
        R09 = "R09",
        R10 = "R10",
        R11 = "R11",
        R16 = "R16",
        R20 = "R20",
        R29 = "R29",
    }
}

impl ReturnCode {
    /// The return's title, the failure record's `description`.
    pub fn description(self) -> &'static str {
        match self {
            Self::R01 => "Insufficient Funds",
            Self::R02 => "Bank Account Closed",
            Self::R03 => "No Account/Unable to Locate Account",
            Self::R04 => "Invalid Bank Account Number Structure",
            Self::R05 => "Unauthorized debit to consumer account",
            Self::R07 => "Authorization Revoked by Customer",
            Self::R08 => "Payment Stopped",
            Self::R09 => "Uncollected Funds",
            Self::R10 => {
                "Customer Advises Originator is Not Known to Receiver and/or Originator is Not Authorized by \
                 Receiver to Debit Receiver's Account"
            }
            Self::R11 => "Customer Advises Entry Not in Accordance with the Terms of the Authorization.",
            Self::R16 => "Bank Account Frozen",
            Self::R20 => "Non-Transaction Account",
            Self::R29 => "Corporate Customer Advises Not Authorized",
        }
    }

    /// What the return means, the failure record's `explanation`. R03's is the sentence the API
    /// itself answers; the others are the sentences of Dwolla's table.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::R01 => "Available balance is not sufficient to cover the dollar value of the debit entry.",
            Self::R02 => "Previously active account has been closed.",
            Self::R03 => {
                "The account number does not correspond to the individual identified in the entry or a valid account."
            }
            Self::R04 => "Account number structure is not valid.",
            Self::R05 => {
                "A debit entry was transmitted to a consumer account that was not authorized by the Receiver. \
                 Written Statement is required."
            }
            Self::R07 => {
                "Consumer who previously authorized entries has revoked authorization with the Originator. Written \
                 Statement is required."
            }
            Self::R08 => "The Receiver has requested the stop payment of a specific ACH debit entry.",
            Self::R09 => {
                "Sufficient balance exists, but value of uncollected items brings available balance below amount \
                 of debit entry."
            }
            Self::R10 => {
                "Receiver has no relationship with the Originator or has not authorized the Originator to debit \
                 the account. Written Statement is required."
            }
            Self::R11 => {
                "The debit entry was inaccurate or improperly initiated. Other reasons include source document \
                 was ineligible, notice was not provided to the receive or amount was inaccurately obtained. \
                 Written statement is required."
            }
            Self::R16 => "Funds unavailable due to action by the RDFI or legal action.",
            Self::R20 => "RDFI policies/regulations restrict activity to account.",
            Self::R29 => {
                "Receiver has notified RDFI that corporate debit entry transmitted to a corporate account is not \
                 authorized."
            }
        }
    }

    /// Whether the return takes the bank out of Dwolla: every code except R01, R09 and R20.
    pub fn removes_bank(self) -> bool {
        !matches!(self, Self::R01 | Self::R09 | Self::R20)
    }
}

const TRANSFER_NOT_FOUND: &str = "Transfer not found.";
const FAILURE_NOT_FOUND: &str = "The requested resource was not found.";

/// `GET /transfers/{id}/failure` (Dwolla's `failure` resource).
#[derive(Debug, Serialize)]
pub struct Failure {
    #[serde(rename = "_links")]
    pub links: Links,
    pub code: &'static str,
    pub description: &'static str,
    pub explanation: &'static str,
}

/// What failed: the code, the bank it failed on and that bank's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedOn {
    pub code: ReturnCode,
    pub funding_source_id: String,
    pub customer_id: Option<String>,
}

impl Failure {
    /// The failure record of the transfer (or leg) `id`, failed as `on` says.
    pub fn of(base: &str, tenant: TenantId, id: &str, on: &FailedOn) -> Self {
        let links = Links::new()
            .with("self", base, &format!("/transfers/{id}/failure"), "failure")
            .with(
                "failed-funding-source",
                base,
                &format!("/funding-sources/{}", on.funding_source_id),
                "funding-source",
            )
            .with_owner(base, tenant, on.customer_id.as_deref());
        Self { links, code: on.code.as_str(), description: on.code.description(), explanation: on.code.explanation() }
    }
}

/// What a leg failed with, if it failed with a known code.
pub fn failed_leg(leg: &BankTransferRecord) -> Option<FailedOn> {
    let code = leg.failure_code.as_deref()?.parse().ok()?;
    Some(FailedOn { code, funding_source_id: leg.funding_source_id.clone(), customer_id: leg.customer_id.clone() })
}

/// What the transfer `transfer` failed with: the failed leg holding its code (the first
/// failed leg when several did).
pub fn failed_transfer(transfer: &TransferRecord, legs: &[BankTransferRecord]) -> Option<FailedOn> {
    let code: ReturnCode = transfer.failure_code.as_deref()?.parse().ok()?;
    let leg = legs
        .iter()
        .find(|l| l.failure_code.as_deref() == Some(code.as_str()))
        .or_else(|| legs.iter().find(|l| l.failure_code.is_some()))?;
    Some(FailedOn { code, ..failed_leg(leg)? })
}

/// The failure record of the tenant's transfer or leg `id`; 404 when it is unknown or did not fail.
pub async fn find(state: &AppState, tenant: TenantId, id: &str) -> Result<Failure, DwollaError> {
    let id = id.to_ascii_lowercase();
    let base = state.base().to_owned();
    let found = state
        .store
        .read(|mut c| async move {
            let on = failed_on(&mut c, tenant, &id).await?;
            Ok::<_, openiav_store::StoreError>(on.map(|on| on.map(|on| Failure::of(&base, tenant, &id, &on))))
        })
        .await?;
    match found {
        None => Err(DwollaError::not_found(TRANSFER_NOT_FOUND)),
        Some(None) => Err(DwollaError::not_found(FAILURE_NOT_FOUND)),
        Some(Some(failure)) => Ok(failure),
    }
}

/// `None` when `id` is neither a transfer nor a leg of the tenant; `Some(None)` when it did not fail.
async fn failed_on(
    c: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<Option<FailedOn>>, openiav_store::StoreError> {
    if let Some(transfer) = repo::find(c, tenant, id).await? {
        let legs = repo::legs_of(c, tenant, id).await?;
        return Ok(Some(failed_transfer(&transfer, &legs)));
    }
    Ok(repo::find_bank_transfer(c, tenant, id).await?.map(|leg| failed_leg(&leg)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openiav_core::clock::Timestamp;
    use openiav_core::money::Cents;
    use openiav_core::payments::{BankTransferDirection, TransferStatus};

    #[test]
    fn every_code_has_its_description_and_explanation_and_only_r01_r09_r20_keep_the_bank() {
        for code in ReturnCode::ALL {
            assert_eq!(code.as_str().parse::<ReturnCode>(), Ok(*code));
            assert!(!code.description().is_empty() && !code.explanation().is_empty(), "{code:?}");
            assert_eq!(code.removes_bank(), !matches!(code, ReturnCode::R01 | ReturnCode::R09 | ReturnCode::R20));
        }
        assert_eq!(ReturnCode::ALL.len(), 13);
        assert_eq!(ReturnCode::R01.description(), "Insufficient Funds");
        assert_eq!(ReturnCode::R03.description(), "No Account/Unable to Locate Account");
        assert_eq!(
            ReturnCode::R03.explanation(),
            "The account number does not correspond to the individual identified in the entry or a valid account."
        );
        assert!("R06".parse::<ReturnCode>().is_err());
    }

    fn leg(code: Option<&str>, bank: &str) -> BankTransferRecord {
        BankTransferRecord {
            id: format!("leg-{bank}"),
            tenant_id: TenantId::generate(),
            transfer_id: "t".into(),
            direction: BankTransferDirection::Debit,
            funding_source_id: bank.into(),
            customer_id: Some("cus".into()),
            status: if code.is_some() { TransferStatus::Failed } else { TransferStatus::Processed },
            late_return: None,
            failure_code: code.map(str::to_owned),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn transfer(code: Option<&str>) -> TransferRecord {
        TransferRecord {
            id: "t".into(),
            tenant_id: TenantId::generate(),
            fee_of: None,
            source_id: "a".into(),
            destination_id: "b".into(),
            source_customer_id: Some("cus".into()),
            destination_customer_id: None,
            amount: Cents(100),
            status: if code.is_some() { TransferStatus::Failed } else { TransferStatus::Pending },
            options: "{}".into(),
            correlation_id: None,
            individual_ach_id: None,
            failure_code: code.map(str::to_owned),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_failed_transfer_names_the_bank_of_its_failed_leg() {
        let legs = [leg(None, "debited"), leg(Some("R03"), "credited")];
        let on = failed_transfer(&transfer(Some("R03")), &legs).expect("failed");
        assert_eq!(
            on,
            FailedOn { code: ReturnCode::R03, funding_source_id: "credited".into(), customer_id: Some("cus".into()) }
        );
        assert_eq!(failed_transfer(&transfer(None), &legs), None);
        assert_eq!(failed_leg(&legs[0]), None);
        assert_eq!(failed_leg(&legs[1]).map(|f| f.code), Some(ReturnCode::R03));
    }

    #[test]
    fn the_failure_record_links_itself_the_bank_and_its_owner() {
        let tenant = TenantId::generate();
        let on = FailedOn { code: ReturnCode::R01, funding_source_id: "fs-1".into(), customer_id: None };
        let body = serde_json::to_value(Failure::of("http://x", tenant, "t-1", &on)).unwrap();
        assert_eq!(body["_links"]["self"]["href"], "http://x/transfers/t-1/failure");
        assert_eq!(body["_links"]["self"]["resource-type"], "failure");
        assert_eq!(body["_links"]["failed-funding-source"]["href"], "http://x/funding-sources/fs-1");
        assert_eq!(body["_links"]["account"]["href"], format!("http://x/accounts/{tenant}"));
        assert_eq!(body["code"], "R01");
        assert_eq!(body["description"], "Insufficient Funds");
    }
}
