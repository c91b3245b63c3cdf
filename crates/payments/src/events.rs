//! Application events: written in the same transaction as the change they report, listed and
//! read through `/events`.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{EventResource, EventTopic};
use openiav_store::records::EventRecord;
use openiav_store::repo::events;
use openiav_store::{Conn, StoreError};
use serde_json::{json, Value};

use crate::hal::link;
use crate::webhooks;

/// Records `topic` about the resource `/{resource_type}/{resource_id}`, with a webhook for each
/// of the tenant's subscriptions. The caller wakes the delivery worker once it has committed.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut Conn,
    base: &str,
    tenant: TenantId,
    topic: EventTopic,
    resource_type: EventResource,
    resource_id: &str,
    customer_id: Option<&str>,
    now: Timestamp,
) -> Result<EventRecord, StoreError> {
    let event = EventRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        topic,
        resource_type,
        resource_id: resource_id.to_owned(),
        customer_id: customer_id.map(str::to_owned),
        created_at: now,
    };
    events::insert(conn, &event).await?;
    webhooks::fan_out(conn, &event, &render(base, &event).to_string()).await?;
    Ok(event)
}

/// An event as Dwolla renders it (also the body of its webhooks).
pub fn render(base: &str, e: &EventRecord) -> Value {
    let mut links = json!({
        "self": link(base, &format!("/events/{}", e.id), "event"),
        "account": link(base, &format!("/accounts/{}", e.tenant_id), "account"),
        "resource": link(base, &format!("/{}/{}", e.resource_type, e.resource_id), e.resource_type.resource_type()),
    });
    if let Some(customer) = &e.customer_id {
        links["customer"] = json!(link(base, &format!("/customers/{customer}"), "customer"));
    }
    json!({
        "_links": links,
        "id": e.id,
        "created": e.created_at.to_rfc3339_millis(),
        "topic": e.topic,
        "resourceId": e.resource_id,
    })
}
