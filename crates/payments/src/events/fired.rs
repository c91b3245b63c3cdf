//! Events fired on demand (the sandbox control plane's `fire`): which resource each topic is
//! about and whose, and, for a resource of the tenant's that fits, the event the real path would
//! write about it (its resource link, customer and correlation id), stored with a webhook per
//! subscription and marked as fired.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{EventResource, EventTopic};
use openiav_store::records::{EventRecord, TransferRecord};
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

/// Who an event about a resource owned by `owner` (a customer id, or the account) is told to,
/// if it fits `party`: `[Some(customer)]` for a customer's, `[None]` for the account's.
fn owner_fits(party: Party, owner: Option<String>) -> Vec<Option<String>> {
    match (party, owner) {
        (Party::Customer, Some(customer)) => vec![Some(customer)],
        (Party::Account, None) => vec![None],
        _ => Vec::new(),
    }
}

/// Who an event of `party` about the transfer `t` is told to, as the real path tells it: each
/// of its customers (source, then destination), or the account when it is one of its sides.
fn transfer_audience(party: Party, t: &TransferRecord) -> Vec<Option<String>> {
    let parties = crate::transfers::events::parties(t).into_iter();
    match party {
        Party::Customer => parties.filter(Option::is_some).collect(),
        Party::Account => parties.filter(Option::is_none).collect(),
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
/// that the resource exists (404 otherwise) and fits the topic, then writes the events the real
/// path would (one per customer told, as a transfer with a customer on each side has two),
/// with their webhooks, and marks them fired at `now`.
pub async fn fire(
    c: &mut Conn,
    base: &str,
    tenant: TenantId,
    topic: EventTopic,
    resource_id: &str,
    now: Timestamp,
) -> Result<Result<Vec<EventRecord>, DwollaError>, StoreError> {
    let missing = || Ok(Err(DwollaError::not_found("The requested resource was not found.")));
    let id = resource_id.to_ascii_lowercase();
    let (resource, audience, correlation) = match subject_of(topic) {
        Subject::Customer => match customers::find(c, tenant, &id).await? {
            Some(found) => (EventResource::Customers, vec![Some(found.id)], None),
            None => return missing(),
        },
        Subject::FundingSource(party) => match funding_sources::find(c, tenant, &id).await? {
            Some(found) => (EventResource::FundingSources, owner_fits(party, found.customer_id), None),
            None => return missing(),
        },
        Subject::Exchange => match exchanges::find(c, tenant, &id).await? {
            Some(found) => (EventResource::Exchanges, vec![Some(found.customer_id)], None),
            None => return missing(),
        },
        Subject::Transfer(party) => match transfers::find(c, tenant, &id).await? {
            Some(t) if t.fee_of.is_none() => {
                (EventResource::Transfers, transfer_audience(party, &t), t.correlation_id.clone())
            }
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
    if audience.is_empty() {
        return Ok(Err(does_not_fit(topic)));
    }
    let mut fired = Vec::with_capacity(audience.len());
    for customer_id in audience {
        let event = EventRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant,
            topic,
            resource_type: resource,
            resource_id: id.clone(),
            customer_id,
            correlation_id: correlation.clone(),
            created_at: now,
        };
        let event = super::write(c, base, event).await?;
        repo::mark_fired(c, tenant, &event.id, now).await?;
        fired.push(event);
    }
    Ok(Ok(fired))
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
        assert_eq!(owner_fits(Party::Customer, Some("c".into())), [Some("c".to_owned())]);
        assert_eq!(owner_fits(Party::Account, None), [None]);
        assert!(owner_fits(Party::Account, Some("c".into())).is_empty());
        assert!(owner_fits(Party::Customer, None).is_empty());
    }

    #[test]
    fn a_transfer_event_is_told_to_each_customer_or_to_the_account_on_its_sides() {
        use crate::transfers::events::tests::transfer;
        let between = transfer(Some("s"), Some("d"));
        assert_eq!(transfer_audience(Party::Customer, &between), [Some("s".to_owned()), Some("d".to_owned())]);
        assert!(transfer_audience(Party::Account, &between).is_empty());
        let to_account = transfer(Some("s"), None);
        assert_eq!(transfer_audience(Party::Customer, &to_account), [Some("s".to_owned())]);
        assert_eq!(transfer_audience(Party::Account, &to_account), [None]);
        let to_self = transfer(Some("s"), Some("s"));
        assert_eq!(transfer_audience(Party::Customer, &to_self), [Some("s".to_owned())], "one party, told once");
    }
}
