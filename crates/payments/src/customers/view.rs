//! The customer as Dwolla renders it (its links depend on its status; a verified customer's
//! profile fields sit beside the others), and the customer list.

use openiav_core::payments::{CustomerKind, CustomerStatus};
use openiav_store::records::CustomerRecord;
use openiav_store::repo::Page;
use openiav_store::StoreError;
use serde::Serialize;

use super::{Customer, CustomerProfile};
use crate::hal::{Links, Paging};

/// The path of customer `id`.
pub fn path(id: &str) -> String {
    format!("/customers/{id}")
}

/// A customer resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    #[serde(rename = "_links")]
    links: Links,
    id: String,
    first_name: String,
    last_name: String,
    email: String,
    #[serde(rename = "type")]
    kind: CustomerKind,
    status: CustomerStatus,
    created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    #[serde(flatten)]
    profile: Option<CustomerProfile>,
}

impl CustomerView {
    /// How `customer` is answered.
    pub fn of(base: &str, customer: &Customer) -> Self {
        let c = &customer.record;
        let path = path(&c.id);
        let links = Links::new()
            .with("self", base, &path, "customer")
            .with("edit", base, &path, "customer")
            .with("funding-sources", base, &format!("{path}/funding-sources"), "funding-source")
            .with("exchanges", base, &format!("{path}/exchanges"), "exchange")
            .with("transfers", base, &format!("{path}/transfers"), "transfer")
            .with_if(c.status == CustomerStatus::Deactivated, "reactivate", base, &path, "customer")
            .with_if(
                !matches!(c.status, CustomerStatus::Deactivated | CustomerStatus::Suspended),
                "deactivate",
                base,
                &path,
                "customer",
            )
            .with_if(c.status == CustomerStatus::Retry, "retry-verification", base, &path, "customer");
        Self {
            links,
            id: c.id.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email: c.email.clone(),
            kind: c.kind,
            status: c.status,
            created: c.created_at.to_rfc3339_millis(),
            business_name: c.business_name.clone(),
            correlation_id: c.correlation_id.clone(),
            profile: customer.profile.clone(),
        }
    }
}

/// A stored customer as Dwolla renders it; a profile that does not decode is an error naming it.
pub fn render(base: &str, record: &CustomerRecord) -> Result<CustomerView, StoreError> {
    Ok(CustomerView::of(base, &Customer::decode(record.clone())?))
}

/// A page of `GET /customers`.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerList {
    #[serde(rename = "_links")]
    links: Links,
    #[serde(rename = "_embedded")]
    embedded: Embedded,
    total: i64,
}

#[derive(Clone, Debug, Serialize)]
struct Embedded {
    customers: Vec<CustomerView>,
}

impl CustomerList {
    /// `page` of the list whose other query parameters (already encoded) are `query`.
    pub fn of(base: &str, query: &str, page: &Page<Customer>, limit: i64, offset: i64) -> Self {
        let paging = Paging { limit, offset, total: page.total };
        Self {
            links: Links::paging(base, "/customers", query, "customer", paging),
            embedded: Embedded { customers: page.items.iter().map(|c| CustomerView::of(base, c)).collect() },
            total: page.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use openiav_core::clock::Timestamp;
    use openiav_core::ids::TenantId;
    use serde_json::{json, Value};

    use super::*;
    use crate::customers::{ControllerAddress, ControllerProfile};

    fn customer(kind: CustomerKind, status: CustomerStatus, profile: Option<CustomerProfile>) -> Customer {
        let record = CustomerRecord {
            id: "c1".into(),
            tenant_id: TenantId::generate(),
            kind,
            status,
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@example.com".into(),
            email_key: "jane@example.com".into(),
            business_name: None,
            correlation_id: None,
            profile: None,
            aggregator_user: None,
            created_at: Timestamp::from_millis(1_588_888_860_357),
            updated_at: Timestamp::from_millis(1_588_888_860_357),
        };
        Customer { record, profile }
    }

    fn json_of(c: &Customer) -> Value {
        serde_json::to_value(CustomerView::of("http://h", c)).unwrap()
    }

    fn rels(v: &Value) -> Vec<String> {
        v["_links"].as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn an_unverified_customer_has_every_field_dwolla_always_sends_and_no_optional_ones() {
        let v = json_of(&customer(CustomerKind::Unverified, CustomerStatus::Unverified, None));
        let link = |href: &str, rt: &str| json!({ "href": href, "type": crate::hal::HAL, "resource-type": rt });
        assert_eq!(
            v,
            json!({
                "_links": {
                    "self": link("http://h/customers/c1", "customer"),
                    "edit": link("http://h/customers/c1", "customer"),
                    "deactivate": link("http://h/customers/c1", "customer"),
                    "funding-sources": link("http://h/customers/c1/funding-sources", "funding-source"),
                    "exchanges": link("http://h/customers/c1/exchanges", "exchange"),
                    "transfers": link("http://h/customers/c1/transfers", "transfer"),
                },
                "id": "c1", "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
                "type": "unverified", "status": "unverified", "created": "2020-05-07T22:01:00.357Z",
            })
        );
    }

    #[test]
    fn links_follow_the_status() {
        let of = |status| rels(&json_of(&customer(CustomerKind::Personal, status, None)));
        assert!(of(CustomerStatus::Verified).contains(&"deactivate".to_owned()));
        let deactivated = of(CustomerStatus::Deactivated);
        assert!(deactivated.contains(&"reactivate".to_owned()) && !deactivated.contains(&"deactivate".to_owned()));
        let suspended = of(CustomerStatus::Suspended);
        assert!(!suspended.contains(&"deactivate".to_owned()) && !suspended.contains(&"reactivate".to_owned()));
        assert!(of(CustomerStatus::Retry).contains(&"retry-verification".to_owned()));
        assert!(!of(CustomerStatus::Verified).contains(&"retry-verification".to_owned()));
    }

    #[test]
    fn a_verified_customer_shows_its_profile_beside_its_other_fields() {
        let profile = CustomerProfile {
            address1: Some("1 Main St".into()),
            business_type: Some("llc".into()),
            controller: Some(ControllerProfile {
                first_name: Some("Cal".into()),
                address: Some(ControllerAddress { country: Some("US".into()), ..ControllerAddress::default() }),
                ..ControllerProfile::default()
            }),
            ..CustomerProfile::default()
        };
        let mut c = customer(CustomerKind::Business, CustomerStatus::Verified, Some(profile));
        c.record.business_name = Some("Bo's Bikes".into());
        c.record.correlation_id = Some("order-1".into());
        let v = json_of(&c);
        assert_eq!(v["address1"], "1 Main St");
        assert_eq!(v["businessType"], "llc");
        assert_eq!(v["businessName"], "Bo's Bikes");
        assert_eq!(v["correlationId"], "order-1");
        assert_eq!(v["controller"], json!({ "firstName": "Cal", "address": { "country": "US" } }));
        assert!(v.get("city").is_none() && v.get("phone").is_none(), "absent details stay absent: {v}");
    }
}
