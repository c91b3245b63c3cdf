//! Events fired on demand (the sandbox control plane's `fire`): which resource each topic is
//! about and whose, and, for a resource of the tenant's that fits, the event the real path would
//! write about it (its resource link, customer and correlation id), stored with a webhook per
//! subscription and marked as fired.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{EventResource, EventTopic};
use openiav_store::records::EventRecord;
use openiav_store::repo::{customers, events as repo, exchanges, funding_sources, transfers};
use openiav_store::{Conn, StoreError};

use crate::DwollaError;

/// Who a topic is told to: a customer (`customer_*`, with `_links.customer`) or the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Customer,
    Account,
}

/// The resource a topic is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Customer,
    FundingSource(Party),
    Exchange,
    Transfer(Party),
    /// A transfer's ACH leg (`/transfers/{leg id}`).
    BankTransfer(Party),
}

/// What `topic` is about, as the real path writes it.
pub fn subject_of(topic: EventTopic) -> Subject {
    use EventTopic::*;
    match topic {
        CustomerCreated
        | CustomerVerified
        | CustomerReverificationNeeded
        | CustomerKbaVerificationNeeded
        | CustomerVerificationDocumentNeeded
        | CustomerSuspended
        | CustomerDeactivated
        | CustomerActivated => Subject::Customer,
        CustomerFundingSourceAdded
        | CustomerFundingSourceRemoved
        | CustomerFundingSourceUpdated
        | CustomerFundingSourceVerified
        | CustomerFundingSourceUnverified
        | CustomerMicrodepositsAdded
        | CustomerMicrodepositsCompleted
        | CustomerMicrodepositsMaxattempts
        | CustomerMicrodepositsFailed
        | CustomerFundingSourceNegative => Subject::FundingSource(Party::Customer),
        FundingSourceRemoved | FundingSourceNegative => Subject::FundingSource(Party::Account),
        CustomerExchangeReauthRequired => Subject::Exchange,
        CustomerTransferCreated | CustomerTransferCancelled | CustomerTransferFailed | CustomerTransferCompleted => {
            Subject::Transfer(Party::Customer)
        }
        TransferCreated | TransferCancelled | TransferFailed | TransferCompleted => Subject::Transfer(Party::Account),
        CustomerBankTransferCreated
        | CustomerBankTransferCreationFailed
        | CustomerBankTransferCancelled
        | CustomerBankTransferFailed
        | CustomerBankTransferCompleted => Subject::BankTransfer(Party::Customer),
        BankTransferCreated
        | BankTransferCreationFailed
        | BankTransferCancelled
        | BankTransferFailed
        | BankTransferCompleted => Subject::BankTransfer(Party::Account),
    }
}

/// The customer a resource owned by `owner` (a customer id, or the account) is told as, if it
/// fits `party`: `Some(customer)` for a customer's, `Some(None)` for the account's.
fn owner_fits(party: Party, owner: Option<String>) -> Option<Option<String>> {
    match (party, owner) {
        (Party::Customer, Some(customer)) => Some(Some(customer)),
        (Party::Account, None) => Some(None),
        _ => None,
    }
}

/// The party of a transfer `party` asks for: its first customer (source, then destination), or
/// the account when it is one of its sides.
fn transfer_party(party: Party, source: Option<String>, destination: Option<String>) -> Option<Option<String>> {
    match party {
        Party::Customer => source.or(destination).map(Some),
        Party::Account if source.is_none() || destination.is_none() => Some(None),
        Party::Account => None,
    }
}

fn does_not_fit(topic: EventTopic) -> DwollaError {
    let about = match subject_of(topic) {
        Subject::Customer => "a customer",
        Subject::FundingSource(Party::Customer) => "a customer's funding source",
        Subject::FundingSource(Party::Account) => "one of the account's own funding sources",
        Subject::Exchange => "an exchange",
        Subject::Transfer(Party::Customer) => "a transfer with a customer on one side",
        Subject::Transfer(Party::Account) => "a transfer with the account on one side",
        Subject::BankTransfer(Party::Customer) => "a customer's bank transfer (an ACH leg of a transfer)",
        Subject::BankTransfer(Party::Account) => "one of the account's bank transfers (an ACH leg of a transfer)",
    };
    DwollaError::invalid_resource_state(format!("{topic} is about {about}; the resource given is not one."))
}

/// Fires `topic` about the tenant's resource `resource_id` inside the caller's write: checks
/// that the resource exists (404 otherwise) and fits the topic, then writes the event the real
/// path would, with its webhooks, and marks it fired at `now`.
pub async fn fire(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    topic: EventTopic,
    resource_id: &str,
    now: Timestamp,
) -> Result<Result<EventRecord, DwollaError>, StoreError> {
    let missing = || Ok(Err(DwollaError::not_found("The requested resource was not found.")));
    let id = resource_id.to_ascii_lowercase();
    let (resource, customer, correlation) = match subject_of(topic) {
        Subject::Customer => match customers::find(c, tenant, &id).await? {
            Some(found) => (EventResource::Customers, Some(Some(found.id)), None),
            None => return missing(),
        },
        Subject::FundingSource(party) => match funding_sources::find(c, tenant, &id).await? {
            Some(found) => (EventResource::FundingSources, owner_fits(party, found.customer_id), None),
            None => return missing(),
        },
        Subject::Exchange => match exchanges::find(c, tenant, &id).await? {
            Some(found) => (EventResource::Exchanges, Some(Some(found.customer_id)), None),
            None => return missing(),
        },
        Subject::Transfer(party) => match transfers::find(c, tenant, &id).await? {
            Some(t) if t.fee_of.is_none() => (
                EventResource::Transfers,
                transfer_party(party, t.source_customer_id, t.destination_customer_id),
                t.correlation_id,
            ),
            Some(_) => return Ok(Err(does_not_fit(topic))),
            None => return missing(),
        },
        Subject::BankTransfer(party) => match transfers::find_bank_transfer(c, tenant, &id).await? {
            Some(leg) => {
                let t = transfers::find(c, tenant, &leg.transfer_id).await?.ok_or(StoreError::NotFound)?;
                (EventResource::Transfers, owner_fits(party, leg.customer_id), t.correlation_id)
            }
            None => return missing(),
        },
    };
    let Some(customer_id) = customer else { return Ok(Err(does_not_fit(topic))) };
    let event = EventRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        topic,
        resource_type: resource,
        resource_id: id,
        customer_id,
        correlation_id: correlation,
        created_at: now,
    };
    let event = super::write(c, base, event).await?;
    repo::mark_fired(c, tenant, &event.id, now).await?;
    Ok(Ok(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_is_about_the_resource_its_real_path_names() {
        assert_eq!(subject_of(EventTopic::CustomerSuspended), Subject::Customer);
        assert_eq!(subject_of(EventTopic::CustomerMicrodepositsFailed), Subject::FundingSource(Party::Customer));
        assert_eq!(subject_of(EventTopic::FundingSourceNegative), Subject::FundingSource(Party::Account));
        assert_eq!(subject_of(EventTopic::CustomerExchangeReauthRequired), Subject::Exchange);
        assert_eq!(subject_of(EventTopic::TransferCompleted), Subject::Transfer(Party::Account));
        assert_eq!(subject_of(EventTopic::CustomerBankTransferFailed), Subject::BankTransfer(Party::Customer));
        // The customer_ prefix is the party, for every topic.
        for topic in EventTopic::ALL {
            let party = match subject_of(*topic) {
                Subject::Customer | Subject::Exchange => Party::Customer,
                Subject::FundingSource(p) | Subject::Transfer(p) | Subject::BankTransfer(p) => p,
            };
            assert_eq!(topic.as_str().starts_with("customer_"), party == Party::Customer, "{topic}");
        }
    }

    #[test]
    fn a_resource_fits_the_party_its_topic_is_told_to() {
        assert_eq!(owner_fits(Party::Customer, Some("c".into())), Some(Some("c".into())));
        assert_eq!(owner_fits(Party::Account, None), Some(None));
        assert_eq!(owner_fits(Party::Account, Some("c".into())), None);
        assert_eq!(owner_fits(Party::Customer, None), None);
        assert_eq!(transfer_party(Party::Customer, None, Some("d".into())), Some(Some("d".into())));
        assert_eq!(transfer_party(Party::Customer, Some("s".into()), Some("d".into())), Some(Some("s".into())));
        assert_eq!(transfer_party(Party::Account, None, Some("d".into())), Some(None));
        assert_eq!(transfer_party(Party::Account, Some("s".into()), Some("d".into())), None);
    }
}
