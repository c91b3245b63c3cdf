//! The funding-source wire bodies: a funding source, a customer's list, micro-deposit details
//! and verification, a sandbox simulation and a balance. Fields are declared in the order the
//! bodies have always had on the wire (sorted, as `serde_json` maps wrote them), so replays of
//! stored idempotent answers stay byte-identical to fresh ones.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{
    BankAccountType, FundingSourceKind, FundingSourceMicroDepositStatus, FundingSourceStatus,
};
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord};
use serde::Serialize;

use super::micro_deposits::rules as micro_rules;
use super::{channels_of, rules, Channel};
use crate::hal::Links;
use crate::port::VerifiedNumbers;
use crate::DwollaError;

/// The path of the funding source `id`.
pub fn path(id: &str) -> String {
    format!("/funding-sources/{id}")
}

/// The path of the micro-deposits of the funding source `id`.
pub fn micro_deposits_path(id: &str) -> String {
    format!("/funding-sources/{id}/micro-deposits")
}

/// A funding source (`GET /funding-sources/{id}`, and the answer to an update): a bank with
/// its bank fields, or a balance without them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingSource<'a> {
    #[serde(rename = "_links")]
    pub links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account_type: Option<BankAccountType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<&'a str>,
    pub channels: Vec<Channel>,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<&'a str>,
    pub id: &'a str,
    pub name: &'a str,
    pub removed: bool,
    pub status: FundingSourceStatus,
    #[serde(rename = "type")]
    pub kind: FundingSourceKind,
}

impl<'a> FundingSource<'a> {
    /// `source` as Dwolla renders it; `deposits` (the micro-deposits sent to it, if any) pick
    /// a bank's verification link. Its owner is `customer`, or `account` for the account's own.
    pub fn of(
        base: &str,
        source: &'a FundingSourceRecord,
        deposits: Option<&FundingSourceMicroDepositsRecord>,
    ) -> Result<Self, DwollaError> {
        let path = path(&source.id);
        let links = Links::new().with("self", base, &path, "funding-source").with_owner(
            base,
            source.tenant_id,
            source.customer_id.as_deref(),
        );
        if source.kind == FundingSourceKind::Balance {
            return Ok(Self {
                links: links.with("with-available-balance", base, &path, "funding-source").with(
                    "balance",
                    base,
                    &format!("{path}/balance"),
                    "balance",
                ),
                bank_account_type: None,
                bank_name: None,
                channels: Vec::new(),
                created: source.created_at.to_rfc3339_millis(),
                fingerprint: None,
                id: &source.id,
                name: &source.name,
                removed: source.removed,
                status: source.status,
                kind: FundingSourceKind::Balance,
            });
        }
        let shown = rules::links_shown(source, deposits);
        let mut links = links.with_if(shown.remove, "remove", base, &path, "funding-source");
        if let Some(rel) = shown.micro_deposits {
            links = links.with(rel, base, &micro_deposits_path(&source.id), "micro-deposits");
        }
        if let Some(exchange) = source.exchange_id.as_deref().filter(|_| shown.exchange) {
            links = links.with("exchange", base, &format!("/exchanges/{exchange}"), "exchange").with(
                "balance",
                base,
                &format!("{path}/balance"),
                "balance",
            );
        }
        Ok(Self {
            links,
            bank_account_type: Some(source.bank_account_type),
            bank_name: Some(&source.bank_name),
            channels: channels_of(source)?,
            created: source.created_at.to_rfc3339_millis(),
            fingerprint: Some(&source.fingerprint),
            id: &source.id,
            name: &source.name,
            removed: source.removed,
            status: source.status,
            kind: FundingSourceKind::Bank,
        })
    }
}

/// `GET /customers/{id}/funding-sources`.
#[derive(Debug, Serialize)]
pub struct FundingSourceList<'a> {
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedFundingSources<'a>,
    #[serde(rename = "_links")]
    pub links: Links,
    pub total: usize,
}

#[derive(Debug, Serialize)]
pub struct EmbeddedFundingSources<'a> {
    #[serde(rename = "funding-sources")]
    pub funding_sources: Vec<FundingSource<'a>>,
}

impl<'a> FundingSourceList<'a> {
    /// The customer's `sources`, each with its micro-deposits among `deposits`.
    pub fn of(
        base: &str,
        customer_id: &str,
        sources: &'a [FundingSourceRecord],
        deposits: &[FundingSourceMicroDepositsRecord],
    ) -> Result<Self, DwollaError> {
        let funding_sources = sources
            .iter()
            .map(|f| FundingSource::of(base, f, deposits.iter().find(|m| m.funding_source_id == f.id)))
            .collect::<Result<Vec<_>, _>>()?;
        let customer = format!("/customers/{customer_id}");
        let links = Links::new()
            .with("self", base, &format!("{customer}/funding-sources"), "funding-source")
            .with("customer", base, &customer, "customer");
        Ok(Self { total: funding_sources.len(), embedded: EmbeddedFundingSources { funding_sources }, links })
    }

    /// `GET /accounts/{id}/funding-sources`: the account's own `sources`.
    pub fn of_account(base: &str, tenant: TenantId, sources: &'a [FundingSourceRecord]) -> Result<Self, DwollaError> {
        let funding_sources =
            sources.iter().map(|f| FundingSource::of(base, f, None)).collect::<Result<Vec<_>, _>>()?;
        let links = Links::new().with("self", base, &format!("/accounts/{tenant}/funding-sources"), "funding-source");
        Ok(Self { total: funding_sources.len(), embedded: EmbeddedFundingSources { funding_sources }, links })
    }
}

/// `GET /funding-sources/{id}/micro-deposits`.
#[derive(Debug, Serialize)]
pub struct MicroDeposits {
    #[serde(rename = "_links")]
    pub links: Links,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub status: FundingSourceMicroDepositStatus,
}

/// Why micro-deposits failed (the sandbox's only failure).
#[derive(Debug, Serialize)]
pub struct Failure {
    pub code: &'static str,
    pub description: &'static str,
}

impl MicroDeposits {
    pub fn of(base: &str, source: &FundingSourceRecord, deposits: &FundingSourceMicroDepositsRecord) -> Self {
        let path = micro_deposits_path(&source.id);
        let failed = deposits.status == FundingSourceMicroDepositStatus::Failed;
        Self {
            links: Links::new().with("self", base, &path, "micro-deposits").with_if(
                micro_rules::may_verify(source, deposits),
                "verify-micro-deposits",
                base,
                &path,
                "micro-deposits",
            ),
            created: deposits.created_at.to_rfc3339_millis(),
            failure: failed.then_some(Failure { code: "R03", description: "No Account/Unable to Locate Account" }),
            status: deposits.status,
        }
    }
}

/// The answer to micro-deposits verified.
#[derive(Debug, Serialize)]
pub struct MicroDepositsVerified {
    #[serde(rename = "_links")]
    pub links: Links,
}

impl MicroDepositsVerified {
    pub fn of(base: &str, source: &FundingSourceRecord) -> Self {
        Self { links: Links::new().with("self", base, &micro_deposits_path(&source.id), "micro-deposits") }
    }
}

/// The answer to `POST /sandbox-simulations`: how many pending items it processed.
#[derive(Debug, Serialize)]
pub struct Simulation {
    #[serde(rename = "_links")]
    pub links: Links,
    pub total: usize,
}

impl Simulation {
    pub fn of(base: &str, total: usize) -> Self {
        Self { links: Links::new().with("self", base, "/sandbox-simulations", "sandbox-simulation"), total }
    }

    /// A simulation done to one exchange, which `_links.exchange` names.
    pub fn of_exchange(base: &str, exchange_id: &str) -> Self {
        let links = Links::new().with("self", base, "/sandbox-simulations", "sandbox-simulation").with(
            "exchange",
            base,
            &format!("/exchanges/{exchange_id}"),
            "exchange",
        );
        Self { links, total: 1 }
    }
}

/// `GET /funding-sources/{id}/balance`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    #[serde(rename = "_links")]
    pub links: Links,
    pub available: Money,
    pub closing: Money,
    pub last_updated: String,
}

/// `GET /funding-sources/{id}/balance` of a balance: what it holds (`balance`, available, and
/// `total`, the same without labels) and when that last changed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DwollaBalance {
    #[serde(rename = "_links")]
    pub links: Links,
    pub balance: Money,
    pub total: Money,
    pub last_updated: String,
}

impl DwollaBalance {
    pub fn of(base: &str, source: &FundingSourceRecord) -> Self {
        let path = path(&source.id);
        Self {
            links: Links::new().with("self", base, &format!("{path}/balance"), "balance").with(
                "funding-source",
                base,
                &path,
                "funding-source",
            ),
            balance: Money::usd(source.balance.0),
            total: Money::usd(source.balance.0),
            last_updated: source.updated_at.to_rfc3339_millis(),
        }
    }
}

/// An amount of US dollars, as a decimal string.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Money {
    pub currency: &'static str,
    pub value: String,
}

impl Money {
    pub fn usd(cents: i64) -> Self {
        Self { currency: "USD", value: Cents(cents).to_string() }
    }
}

impl Balance {
    /// The balance of `source` as its bank reports it at `now` (a missing figure is zero; a
    /// missing closing balance is the available one).
    pub fn of(base: &str, source: &FundingSourceRecord, numbers: &VerifiedNumbers, now: Timestamp) -> Self {
        let path = path(&source.id);
        Self {
            links: Links::new().with("self", base, &format!("{path}/balance"), "balance").with(
                "funding-source",
                base,
                &path,
                "funding-source",
            ),
            available: Money::usd(numbers.available_cents.unwrap_or(0)),
            closing: Money::usd(numbers.balance_cents.or(numbers.available_cents).unwrap_or(0)),
            last_updated: now.to_rfc3339_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use openiav_core::bank::{AccountNumber, RoutingNumber};

    use super::*;
    use crate::funding_sources::testing;

    #[test]
    fn a_bank_renders_the_bytes_it_always_had() {
        let source = testing::bank();
        let body = serde_json::to_string(&FundingSource::of("http://h", &source, None).unwrap()).unwrap();
        let link = |href: &str, rt: &str| {
            format!(r#"{{"href":"http://h{href}","resource-type":"{rt}","type":"application/vnd.dwolla.v1.hal+json"}}"#)
        };
        let expected = format!(
            concat!(
                r#"{{"_links":{{"customer":{},"initiate-micro-deposits":{},"remove":{},"self":{}}},"#,
                r#""bankAccountType":"checking","bankName":"SANDBOX TEST BANK","channels":["ach"],"#,
                r#""created":"1970-01-01T00:00:00.000Z","fingerprint":"fp","id":"fs","name":"Mine","#,
                r#""removed":false,"status":"unverified","type":"bank"}}"#
            ),
            link("/customers/c", "customer"),
            link("/funding-sources/fs/micro-deposits", "micro-deposits"),
            link("/funding-sources/fs", "funding-source"),
            link("/funding-sources/fs", "funding-source"),
        );
        assert_eq!(body, expected);
    }

    #[test]
    fn a_bank_from_an_exchange_links_it_and_its_balance_until_removed() {
        let source = FundingSourceRecord {
            status: FundingSourceStatus::Verified,
            exchange_id: Some("ex".into()),
            ..testing::bank()
        };
        let links = FundingSource::of("http://h", &source, None).unwrap().links;
        assert_eq!(links.get("exchange").map(|l| l.href.as_str()), Some("http://h/exchanges/ex"));
        assert_eq!(links.get("balance").map(|l| l.href.as_str()), Some("http://h/funding-sources/fs/balance"));
        assert!(links.get("initiate-micro-deposits").is_none());
        let removed = FundingSourceRecord { removed: true, ..source };
        let links = FundingSource::of("http://h", &removed, None).unwrap().links;
        assert!(links.get("exchange").is_none() && links.get("remove").is_none() && links.get("balance").is_none());
    }

    #[test]
    fn failed_micro_deposits_say_r03_and_offer_no_verification() {
        let source = testing::bank();
        let failed = FundingSourceMicroDepositsRecord {
            failed_attempts: micro_rules::MAX_ATTEMPTS,
            ..testing::deposits(FundingSourceMicroDepositStatus::Failed)
        };
        let body = serde_json::to_value(MicroDeposits::of("http://h", &source, &failed)).unwrap();
        assert_eq!(
            body["failure"],
            serde_json::json!({ "code": "R03", "description": "No Account/Unable to Locate Account" })
        );
        assert!(body["_links"].get("verify-micro-deposits").is_none());
        let pending = testing::deposits(FundingSourceMicroDepositStatus::Pending);
        let body = serde_json::to_string(&MicroDeposits::of("http://h", &source, &pending)).unwrap();
        assert!(body.contains(r#""verify-micro-deposits""#) && !body.contains("failure"), "{body}");
        assert!(body.ends_with(r#""created":"1970-01-01T00:00:00.000Z","status":"pending"}"#), "{body}");
    }

    #[test]
    fn balances_are_dollar_strings_and_closing_falls_back_to_available() {
        assert_eq!(Money::usd(54_200).value, "542.00");
        assert_eq!(Money::usd(-5).value, "-0.05");
        let numbers = VerifiedNumbers {
            routing_number: RoutingNumber::parse("222222226").unwrap(),
            account_number: AccountNumber::parse("123456789").unwrap(),
            account_type: "checking".into(),
            institution_name: "MX Bank".into(),
            available_cents: Some(1_001),
            balance_cents: None,
        };
        let body =
            serde_json::to_string(&Balance::of("http://h", &testing::bank(), &numbers, Timestamp::from_millis(0)))
                .unwrap();
        assert!(
            body.ends_with(concat!(
                r#""available":{"currency":"USD","value":"10.01"},"closing":{"currency":"USD","value":"10.01"},"#,
                r#""lastUpdated":"1970-01-01T00:00:00.000Z"}"#
            )),
            "{body}"
        );
    }
}
