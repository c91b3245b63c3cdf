//! Application events: written in the same transaction as the change they report, listed and
//! read through `/events`, and carried verbatim as the body of their webhooks.

pub mod fired;
pub mod view;

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::{EventResource, EventTopic};
use openiav_store::records::EventRecord;
use openiav_store::repo::events;
use openiav_store::{Conn, StoreError};

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
        correlation_id: None,
        created_at: now,
    };
    write(conn, base, event).await
}

/// Stores `event` with a webhook for each of the tenant's subscriptions.
pub async fn write(conn: &mut Conn, base: &str, event: EventRecord) -> Result<EventRecord, StoreError> {
    events::insert(conn, &event).await?;
    webhooks::fan_out(conn, &event, &view::body(base, &event)).await?;
    Ok(event)
}
