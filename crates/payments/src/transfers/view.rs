//! The transfer wire bodies: a transfer, fee or ACH leg (`GET /transfers/{id}`), a page of
//! transfers, and a transfer's fees (top-level `transactions`). Fields keep Dwolla's order;
//! `created` is RFC 3339 with milliseconds and `Z`, every link an object, and processing
//! channels name the network (the strict SDK refuses anything else).

use std::collections::BTreeMap;

use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{BankTransferDirection, TransferStatus};
use openiav_store::records::{BankTransferRecord, TransferRecord};
use serde::Serialize;

use super::{options_of, rules, Found, Loaded, ProcessingChannel, StoredAch, StoredClearing};
use crate::hal::{Links, Paging};
use crate::DwollaError;

/// The path of the transfer (or leg) `id`.
pub fn path(id: &str) -> String {
    format!("/transfers/{id}")
}

/// `{value, currency}`.
#[derive(Clone, Debug, Serialize)]
pub struct Amount {
    pub value: String,
    pub currency: &'static str,
}

impl Amount {
    pub fn of(cents: Cents) -> Self {
        Self { value: cents.to_string(), currency: "USD" }
    }
}

/// A transfer as Dwolla renders it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    #[serde(rename = "_links")]
    pub links: Links,
    pub id: String,
    pub status: TransferStatus,
    pub amount: Amount,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearing: Option<StoredClearing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ach_details: Option<StoredAch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individual_ach_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_channel: Option<ProcessingChannel>,
}

/// The owner of a side: `/customers/{id}` or the account.
fn owner_path(tenant: TenantId, customer: Option<&str>) -> (String, &'static str) {
    match customer {
        Some(id) => (format!("/customers/{id}"), "customer"),
        None => (format!("/accounts/{tenant}"), "account"),
    }
}

fn funding_source_path(id: &str) -> String {
    format!("/funding-sources/{id}")
}

impl Transfer {
    /// What `GET /transfers/{id}` answers for what it found.
    pub fn of_found(base: &str, found: &Found) -> Result<Self, DwollaError> {
        match found {
            Found::Transfer(loaded) => Self::of(base, loaded),
            Found::Leg(loaded, leg) => Ok(Self::of_leg(base, loaded, leg)),
        }
    }

    /// A transfer, or a fee on one.
    pub fn of(base: &str, loaded: &Loaded) -> Result<Self, DwollaError> {
        let t = &loaded.transfer;
        let options = options_of(t)?;
        let self_path = path(&t.id);
        let (source, source_rt) = owner_path(t.tenant_id, t.source_customer_id.as_deref());
        let (destination, destination_rt) = owner_path(t.tenant_id, t.destination_customer_id.as_deref());
        let mut links = Links::new()
            .with("self", base, &self_path, "transfer")
            .with("source", base, &source, source_rt)
            .with("destination", base, &destination, destination_rt)
            .with("source-funding-source", base, &funding_source_path(&t.source_id), "funding-source")
            .with("destination-funding-source", base, &funding_source_path(&t.destination_id), "funding-source")
            .with_if(rules::cancellable(t, &loaded.legs), "cancel", base, &self_path, "transfer")
            .with_if(!loaded.fees.is_empty(), "fees", base, &format!("{self_path}/fees"), "fee")
            .with_if(t.status == TransferStatus::Failed, "failure", base, &format!("{self_path}/failure"), "failure");
        if let Some(parent) = &t.fee_of {
            links = links.with("created-from-transfer", base, &path(parent), "transfer");
        }
        for leg in &loaded.legs {
            let rel = match leg.direction {
                BankTransferDirection::Debit => "funding-transfer",
                BankTransferDirection::Credit => "funded-transfer",
            };
            links = links.with(rel, base, &path(&leg.id), "transfer");
        }
        Ok(Self {
            links,
            id: t.id.clone(),
            status: t.status,
            amount: Amount::of(t.amount),
            created: t.created_at.to_rfc3339_millis(),
            clearing: options.clearing,
            metadata: options.metadata,
            ach_details: options.ach_details,
            correlation_id: t.correlation_id.clone(),
            individual_ach_id: t.individual_ach_id.clone(),
            processing_channel: options.processing_channel,
        })
    }

    /// An ACH leg: a debit moves money from its bank to the bank's owner, a credit from the
    /// owner to its bank; each links back to the transfer it funds or is funded by.
    pub fn of_leg(base: &str, loaded: &Loaded, leg: &BankTransferRecord) -> Self {
        let t = &loaded.transfer;
        let self_path = path(&leg.id);
        let bank = funding_source_path(&leg.funding_source_id);
        let (owner, owner_rt) = owner_path(t.tenant_id, leg.customer_id.as_deref());
        let mut links = Links::new().with("self", base, &self_path, "transfer").with_if(
            rules::cancellable(t, &loaded.legs),
            "cancel",
            base,
            &self_path,
            "transfer",
        );
        links = match leg.direction {
            BankTransferDirection::Debit => links
                .with("source", base, &bank, "funding-source")
                .with("source-funding-source", base, &bank, "funding-source")
                .with("destination", base, &owner, owner_rt)
                .with("funded-transfer", base, &path(&t.id), "transfer"),
            BankTransferDirection::Credit => links
                .with("source", base, &owner, owner_rt)
                .with("destination", base, &bank, "funding-source")
                .with("destination-funding-source", base, &bank, "funding-source")
                .with("funding-transfer", base, &path(&t.id), "transfer"),
        };
        let links = links.with_if(
            leg.status == TransferStatus::Failed,
            "failure",
            base,
            &format!("{self_path}/failure"),
            "failure",
        );
        let options = options_of(t).unwrap_or_default();
        let clearing = options.clearing.and_then(|c| match leg.direction {
            BankTransferDirection::Debit => c.source.map(|s| StoredClearing { source: Some(s), destination: None }),
            BankTransferDirection::Credit => {
                c.destination.map(|d| StoredClearing { source: None, destination: Some(d) })
            }
        });
        Self {
            links,
            id: leg.id.clone(),
            status: leg.status,
            amount: Amount::of(t.amount),
            created: leg.created_at.to_rfc3339_millis(),
            clearing,
            metadata: None,
            ach_details: None,
            correlation_id: t.correlation_id.clone(),
            individual_ach_id: (leg.direction == BankTransferDirection::Debit)
                .then(|| t.individual_ach_id.clone())
                .flatten(),
            processing_channel: match leg.direction {
                BankTransferDirection::Credit => options.processing_channel,
                BankTransferDirection::Debit => None,
            },
        }
    }
}

/// A page of transfers.
#[derive(Debug, Serialize)]
pub struct TransferList {
    #[serde(rename = "_links")]
    pub links: Links,
    #[serde(rename = "_embedded")]
    pub embedded: Embedded,
    pub total: i64,
}

#[derive(Debug, Serialize)]
pub struct Embedded {
    pub transfers: Vec<Transfer>,
}

impl TransferList {
    /// The page at `path` (`/customers/{id}/transfers`), `query` holding its other parameters.
    pub fn of(base: &str, path: &str, query: &str, items: &[Loaded], page: Paging) -> Result<Self, DwollaError> {
        let transfers = items.iter().map(|l| Transfer::of(base, l)).collect::<Result<_, _>>()?;
        Ok(Self {
            links: Links::paging(base, path, query, "transfer", page),
            embedded: Embedded { transfers },
            total: page.total,
        })
    }
}

/// `GET /transfers/{id}/fees`: `{"transactions":[…],"total":n}`.
#[derive(Debug, Serialize)]
pub struct Fees {
    pub transactions: Vec<Transfer>,
    pub total: i64,
}

impl Fees {
    pub fn of(base: &str, fees: &[TransferRecord]) -> Result<Self, DwollaError> {
        let transactions = fees
            .iter()
            .map(|f| Transfer::of(base, &Loaded { transfer: f.clone(), legs: Vec::new(), fees: Vec::new() }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { total: transactions.len() as i64, transactions })
    }
}
