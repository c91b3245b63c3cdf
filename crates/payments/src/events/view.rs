//! The wire form of an event: what `/events` answers and, byte for byte, the body its webhooks
//! carry and sign.

use openiav_core::payments::EventTopic;
use openiav_store::records::EventRecord;
use serde::Serialize;

use crate::hal::{Collection, Links, Paging};

/// One event. Fields are declared in the order webhook bodies have always had, since stored
/// webhooks and their signatures hold those bytes.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    #[serde(rename = "_links")]
    links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    created: String,
    id: String,
    resource_id: String,
    topic: EventTopic,
}

pub fn of(base: &str, e: &EventRecord) -> EventView {
    let resource = format!("/{}/{}", e.resource_type, e.resource_id);
    let links = Links::new()
        .with("self", base, &format!("/events/{}", e.id), "event")
        .with("account", base, &format!("/accounts/{}", e.tenant_id), "account")
        .with("resource", base, &resource, e.resource_type.resource_type());
    let links = match &e.customer_id {
        Some(customer) => links.with("customer", base, &format!("/customers/{customer}"), "customer"),
        None => links,
    };
    EventView {
        links,
        correlation_id: e.correlation_id.clone(),
        created: e.created_at.to_rfc3339_millis(),
        id: e.id.clone(),
        resource_id: e.resource_id.clone(),
        topic: e.topic,
    }
}

/// The compact JSON a webhook of `e` carries.
pub fn body(base: &str, e: &EventRecord) -> String {
    serde_json::to_string(&of(base, e)).expect("views serialise")
}

/// A page of `GET /events`.
pub fn page(base: &str, events: &[EventRecord], paging: Paging) -> Collection<EventView> {
    let links = Links::paging(base, "/events", "", "event", paging);
    Collection::page("events", events.iter().map(|e| of(base, e)).collect(), links, paging.total)
}

#[cfg(test)]
mod tests {
    use openiav_core::clock::Timestamp;
    use openiav_core::ids::TenantId;
    use openiav_core::payments::EventResource;

    use super::*;

    #[test]
    fn an_event_body_keeps_the_bytes_webhooks_have_always_carried() {
        let tenant = TenantId::generate();
        let event = EventRecord {
            id: "e1".into(),
            tenant_id: tenant,
            topic: EventTopic::CustomerCreated,
            resource_type: EventResource::Customers,
            resource_id: "c1".into(),
            customer_id: Some("c1".into()),
            correlation_id: None,
            created_at: Timestamp::from_millis(0),
        };
        let link = |path: &str, rt: &str| serde_json::json!({ "href": format!("http://h{path}"), "type": crate::hal::HAL, "resource-type": rt });
        let expected = serde_json::json!({
            "_links": {
                "self": link("/events/e1", "event"),
                "account": link(&format!("/accounts/{tenant}"), "account"),
                "resource": link("/customers/c1", "customer"),
                "customer": link("/customers/c1", "customer"),
            },
            "id": "e1",
            "created": "1970-01-01T00:00:00.000Z",
            "topic": "customer_created",
            "resourceId": "c1",
        });
        assert_eq!(body("http://h", &event), expected.to_string());
        let without = EventRecord { customer_id: None, ..event };
        assert!(!body("http://h", &without).contains("\"customer\":{"));
    }
}
