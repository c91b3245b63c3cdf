//! Customers: the typed create/update body, the verified customer's stored profile (decoded in
//! [`Customer::decode`] only), and the operations that check, save and announce a customer
//! inside one store write.

pub mod rules;
pub mod view;

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{CustomerKind, CustomerStatus, EventResource, EventTopic};
use openiav_store::records::CustomerRecord;
use openiav_store::repo::customers::{self as repo, CustomerFilter};
use openiav_store::repo::Page;
use openiav_store::{Conn, Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::body::{Lenient, Named};
use crate::error::{FieldCode, FieldError};
use crate::funding_sources::owned;
use crate::hal::link;
use crate::{events, DwollaError};

/// How most endpoints word an unknown customer.
pub const CUSTOMER_NOT_FOUND: &str = "Customer not found.";

openiav_core::wire_enum! {
    /// The status change an update's `status` asks for.
    pub enum StatusChange {
        Suspend = "suspended",
        Deactivate = "deactivated",
        Reactivate = "reactivated",
    }
}

/// The body of `POST /customers` and `POST /customers/{id}`: every field is optional here, the
/// rules decide which ones a create, an upgrade, a retry or an edit needs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerBody {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<Named<CustomerKind>>,
    pub business_name: Option<String>,
    pub correlation_id: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub date_of_birth: Option<String>,
    pub ssn: Option<String>,
    pub phone: Option<String>,
    pub business_type: Option<String>,
    pub business_classification: Option<String>,
    pub ein: Option<String>,
    pub doing_business_as: Option<String>,
    pub website: Option<String>,
    pub controller: Option<Controller>,
    pub status: Option<Named<StatusChange>>,
}

/// A business customer's controller, as a create or upgrade body gives it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub date_of_birth: Option<String>,
    pub ssn: Option<String>,
    /// Lenient: a misshapen passport is refused with the passport's own messages.
    pub passport: Option<Lenient<Passport>>,
    pub address: Option<ControllerAddress>,
}

/// A controller's passport: `{"number": "…", "country": "<two-letter code>"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Passport {
    pub number: Option<Lenient<String>>,
    pub country: Option<Lenient<String>>,
}

/// A controller's address, as given and as kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_province_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// What a verified customer keeps of its body (the `profile` column, and fields of its view):
/// never an SSN, a passport or a date of birth.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doing_business_as: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<ControllerProfile>,
}

/// What a business customer keeps of its controller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<ControllerAddress>,
}

impl CustomerProfile {
    /// This profile with every detail `newer` holds put in place of its own.
    pub fn merged_with(self, newer: Self) -> Self {
        Self {
            address1: newer.address1.or(self.address1),
            address2: newer.address2.or(self.address2),
            city: newer.city.or(self.city),
            state: newer.state.or(self.state),
            postal_code: newer.postal_code.or(self.postal_code),
            phone: newer.phone.or(self.phone),
            business_type: newer.business_type.or(self.business_type),
            business_classification: newer.business_classification.or(self.business_classification),
            doing_business_as: newer.doing_business_as.or(self.doing_business_as),
            website: newer.website.or(self.website),
            controller: newer.controller.or(self.controller),
        }
    }
}

/// A customer with its profile decoded: what the rules decide on and the views render.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    /// The stored row. Its `profile` column stays `None` here: [`Customer::profile`] is the
    /// truth, written back by [`Customer::to_record`].
    pub record: CustomerRecord,
    pub profile: Option<CustomerProfile>,
}

impl Customer {
    /// Decodes a stored customer; a profile that does not decode is an error naming the
    /// customer and the column.
    pub fn decode(mut record: CustomerRecord) -> Result<Self, StoreError> {
        let profile = match record.profile.take() {
            None => None,
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                StoreError::Corrupt(format!("customer {}: column profile does not decode: {e}", record.id))
            })?),
        };
        Ok(Self { record, profile })
    }

    /// The row to store.
    pub fn to_record(&self) -> CustomerRecord {
        let profile = self.profile.as_ref().map(|p| serde_json::to_string(p).expect("a profile always serialises"));
        CustomerRecord { profile, ..self.record.clone() }
    }
}

/// The customer a create body describes, checked but not yet saved.
pub fn draft(tenant: TenantId, body: &CustomerBody, now: Timestamp) -> Result<Customer, DwollaError> {
    rules::new_customer(uuid::Uuid::new_v4().to_string(), tenant, body, now)
}

/// Saves a drafted customer unless its e-mail address or correlation id is taken, with the
/// events its creation raises.
pub async fn create(conn: &mut Conn, base: &str, new: Customer) -> Result<Result<Customer, DwollaError>, StoreError> {
    let c = &new.record;
    if let Some(existing) = repo::find_by_email_key(conn, c.tenant_id, &c.email_key).await? {
        return Ok(Err(duplicate_email(base, &existing)));
    }
    if let Some(cid) = &c.correlation_id {
        if repo::find_by_correlation_id(conn, c.tenant_id, cid).await?.is_some() {
            return Ok(Err(DwollaError::validation(vec![FieldError::new(
                FieldCode::Duplicate,
                "/correlationId",
                "A customer with the specified correlationId already exists.",
            )])));
        }
    }
    let record = new.to_record();
    repo::insert(conn, &record).await?;
    owned::open_customer_balance(conn, &record, record.created_at).await?;
    announce(conn, base, &record, &rules::creation_topics(&new)).await?;
    Ok(Ok(new))
}

/// Applies an update body to the tenant's customer `id`, decided on the row as it stands
/// inside this write (locked on PostgreSQL), and records the events the change raises.
pub async fn update(
    conn: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    body: &CustomerBody,
    now: Timestamp,
) -> Result<Result<Customer, DwollaError>, StoreError> {
    let Some(record) = repo::find_for_update(conn, tenant, id).await? else {
        return Ok(Err(DwollaError::not_found(CUSTOMER_NOT_FOUND)));
    };
    let mut customer = Customer::decode(record)?;
    let topics = match rules::decide_update(&mut customer, body, rules::today(now)) {
        Ok(topics) => topics,
        Err(refused) => return Ok(Err(refused)),
    };
    customer.record.updated_at = now;
    if let Some(other) = repo::find_by_email_key(conn, tenant, &customer.record.email_key).await? {
        if other.id != customer.record.id {
            return Ok(Err(duplicate_email(base, &other)));
        }
    }
    let record = customer.to_record();
    repo::save(conn, &record).await?;
    owned::open_customer_balance(conn, &record, now).await?;
    announce(conn, base, &record, &topics).await?;
    Ok(Ok(customer))
}

/// Forces the tenant's customer `id` to `target` (the sandbox control plane), decided by
/// [`rules::forced_status`] on the row as it stands inside this write (locked on PostgreSQL),
/// with the events the change raises and the balance a verified customer gets.
pub async fn force_status(
    conn: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    target: CustomerStatus,
    now: Timestamp,
) -> Result<Result<Customer, DwollaError>, StoreError> {
    let Some(record) = repo::find_for_update(conn, tenant, id).await? else {
        return Ok(Err(DwollaError::not_found(CUSTOMER_NOT_FOUND)));
    };
    let mut customer = Customer::decode(record)?;
    let topics = match rules::forced_status(customer.record.kind, customer.record.status, target) {
        Ok(topics) => topics,
        Err(refused) => return Ok(Err(refused)),
    };
    customer.record.status = target;
    customer.record.updated_at = now;
    let record = customer.to_record();
    repo::save(conn, &record).await?;
    owned::open_customer_balance(conn, &record, now).await?;
    announce(conn, base, &record, &topics).await?;
    Ok(Ok(customer))
}

/// What `GET /customers` asks for.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Any part of a name, business name or e-mail address.
    pub search: Option<String>,
    /// Exactly this e-mail address, in any case.
    pub email: Option<String>,
    /// Any of these statuses; none means every status. An unknown one matches nothing.
    pub statuses: Vec<Named<CustomerStatus>>,
}

/// A page of the tenant's customers matching `filter`, in creation order.
pub async fn list(
    store: &Store,
    tenant: TenantId,
    filter: &ListFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<Customer>, StoreError> {
    let statuses: Vec<String> = filter.statuses.iter().filter_map(Named::known).map(|s| s.to_string()).collect();
    if statuses.is_empty() && !filter.statuses.is_empty() {
        return Ok(Page { items: Vec::new(), total: 0 });
    }
    let filter = CustomerFilter {
        search: filter.search.clone(),
        email_key: filter.email.as_deref().map(|e| e.trim().to_lowercase()),
        statuses,
    };
    let page = store.read(|mut c| async move { repo::list(&mut c, tenant, &filter, limit, offset).await }).await?;
    let items = page.items.into_iter().map(Customer::decode).collect::<Result<_, _>>()?;
    Ok(Page { items, total: page.total })
}

/// A concurrent request took the e-mail address (or correlation id) between the check and the
/// write: the same answer the check gives.
pub fn lost_race(e: StoreError) -> DwollaError {
    match e {
        StoreError::Conflict(_) => DwollaError::validation(vec![FieldError::new(
            FieldCode::Duplicate,
            "/email",
            "A customer with the specified email or correlationId already exists.",
        )]),
        other => other.into(),
    }
}

fn duplicate_email(base: &str, existing: &CustomerRecord) -> DwollaError {
    let mut e = FieldError::new(FieldCode::Duplicate, "/email", "A customer with the specified email already exists.");
    e.about = Some(link(base, &view::path(&existing.id), "customer"));
    DwollaError::validation(vec![e])
}

/// Records `topics` about the customer `c`, in order.
async fn announce(conn: &mut Conn, base: &str, c: &CustomerRecord, topics: &[EventTopic]) -> Result<(), StoreError> {
    for &topic in topics {
        events::record(conn, base, c.tenant_id, topic, EventResource::Customers, &c.id, Some(&c.id), c.updated_at)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(profile: Option<&str>) -> CustomerRecord {
        CustomerRecord {
            id: "c0ffee00-0000-4000-8000-000000000001".into(),
            tenant_id: TenantId::generate(),
            kind: CustomerKind::Personal,
            status: CustomerStatus::Verified,
            first_name: "Vera".into(),
            last_name: "Doe".into(),
            email: "vera@example.com".into(),
            email_key: "vera@example.com".into(),
            business_name: None,
            correlation_id: None,
            profile: profile.map(str::to_owned),
            aggregator_user: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn profiles_written_before_keep_decoding_and_round_trip() {
        let stored = r#"{"address1":"1 Main St","city":"Ames","postalCode":"50010","businessType":"llc",
            "controller":{"firstName":"Cal","title":"CEO","address":{"country":"US","stateProvinceRegion":"IA"}}}"#;
        let customer = Customer::decode(record(Some(stored))).unwrap();
        let profile = customer.profile.clone().unwrap();
        assert_eq!(profile.postal_code.as_deref(), Some("50010"));
        let controller = profile.controller.unwrap();
        assert_eq!(controller.address.unwrap().state_province_region.as_deref(), Some("IA"));
        assert_eq!(customer.record.profile, None, "the typed profile is the one truth");
        let written: serde_json::Value = serde_json::from_str(&customer.to_record().profile.unwrap()).unwrap();
        let before: serde_json::Value = serde_json::from_str(stored).unwrap();
        assert_eq!(written, before, "the same keys are written back");
        assert_eq!(Customer::decode(record(None)).unwrap().profile, None);
    }

    #[test]
    fn a_profile_that_does_not_decode_names_the_customer_and_the_column() {
        for broken in ["not json", r#"{"city": 12}"#, "[]"] {
            let e = Customer::decode(record(Some(broken))).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, StoreError::Corrupt(_)), "{text}");
            assert!(text.contains("customer c0ffee00-0000-4000-8000-000000000001: column profile"), "{text}");
        }
    }

    #[test]
    fn a_newer_profile_replaces_only_what_it_holds() {
        let old = CustomerProfile {
            address1: Some("1 Old Rd".into()),
            phone: Some("5551234567".into()),
            ..CustomerProfile::default()
        };
        let newer = CustomerProfile { address1: Some("2 New Rd".into()), ..CustomerProfile::default() };
        let merged = old.merged_with(newer);
        assert_eq!((merged.address1.as_deref(), merged.phone.as_deref()), (Some("2 New Rd"), Some("5551234567")));
    }
}
