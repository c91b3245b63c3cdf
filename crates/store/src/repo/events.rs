//! Events, written in the transaction of the change they report and listed newest first.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use sqlx::Row;

use super::Page;
use crate::records::{decode, EventRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, e: &EventRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (id, tenant_id, topic, resource_type, resource_id, customer_id, correlation_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(e.tenant_id.to_string())
    .bind(e.topic.as_str())
    .bind(e.resource_type.as_str())
    .bind(&e.resource_id)
    .bind(&e.customer_id)
    .bind(&e.correlation_id)
    .bind(e.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<EventRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM events WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<EventRecord>).transpose()?)
}

/// The tenant's events, newest first, with the number of all of them.
pub async fn list(conn: &mut Conn, tenant: TenantId, limit: i64, offset: i64) -> Result<Page<EventRecord>, StoreError> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query("SELECT * FROM events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3")
        .bind(tenant.to_string())
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<EventRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// Marks the tenant's event `id` as fired on demand at `at` (the control plane's `fire`).
pub async fn mark_fired(conn: &mut Conn, tenant: TenantId, id: &str, at: Timestamp) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE events SET fired_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .bind(at.millis())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// When the tenant's event `id` was fired on demand; `None` for an event a change raised (or
/// no such event).
pub async fn fired_at(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<Timestamp>, StoreError> {
    let row = sqlx::query("SELECT fired_at FROM events WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    let at: Option<i64> = match row {
        Some(row) => row.try_get("fired_at")?,
        None => None,
    };
    Ok(at.map(Timestamp::from_millis))
}
