//! MX webhook endpoints (per tenant: one per webhook type and one for all types) and the MX
//! webhooks written, each holding its payload and every delivery attempt.

use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::Page;
use crate::records::{MxWebhookEndpointRecord, MxWebhookRecord};
use crate::{Conn, StoreError};

/// The column value of an endpoint's type: `''` for the all-types endpoint.
fn type_key(t: Option<MxWebhookType>) -> &'static str {
    t.map_or("", MxWebhookType::as_str)
}

fn parse_key(s: &str) -> Result<Option<MxWebhookType>, StoreError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| StoreError::Corrupt(format!("unknown MX webhook type {s:?}")))
}

fn tenant_of(row: &AnyRow) -> Result<TenantId, StoreError> {
    let t: String = row.try_get("tenant_id")?;
    TenantId::parse(&t).ok_or_else(|| StoreError::Corrupt(format!("bad tenant id {t:?}")))
}

fn endpoint_of(row: &AnyRow) -> Result<MxWebhookEndpointRecord, StoreError> {
    Ok(MxWebhookEndpointRecord {
        tenant_id: tenant_of(row)?,
        webhook_type: parse_key(&row.try_get::<String, _>("webhook_type")?)?,
        url: row.try_get("url")?,
        basic_username: row.try_get("basic_username")?,
        basic_password: row.try_get("basic_password")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn webhook_of(row: &AnyRow) -> Result<MxWebhookRecord, StoreError> {
    let kind: String = row.try_get("webhook_type")?;
    Ok(MxWebhookRecord {
        guid: row.try_get("guid")?,
        tenant_id: tenant_of(row)?,
        webhook_type: parse_key(&kind)?.ok_or_else(|| StoreError::Corrupt("an MX webhook without a type".into()))?,
        endpoint: parse_key(&row.try_get::<String, _>("endpoint")?)?,
        url: row.try_get("url")?,
        body: row.try_get("body")?,
        attempts: row.try_get("attempts")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

/// Creates or replaces the tenant's endpoint for its type (keeping its creation time).
pub async fn set_endpoint(conn: &mut Conn, e: &MxWebhookEndpointRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mx_webhook_endpoints (tenant_id, webhook_type, url, basic_username, basic_password, created_at, \
           updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, webhook_type) DO UPDATE SET url = excluded.url, \
           basic_username = excluded.basic_username, basic_password = excluded.basic_password, \
           updated_at = excluded.updated_at",
    )
    .bind(e.tenant_id.to_string())
    .bind(type_key(e.webhook_type))
    .bind(&e.url)
    .bind(&e.basic_username)
    .bind(&e.basic_password)
    .bind(e.created_at.millis())
    .bind(e.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the tenant's endpoint for `webhook_type` (`None`: the all-types one); returns
/// whether there was one.
pub async fn delete_endpoint(
    conn: &mut Conn,
    tenant: TenantId,
    webhook_type: Option<MxWebhookType>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM mx_webhook_endpoints WHERE tenant_id = $1 AND webhook_type = $2")
        .bind(tenant.to_string())
        .bind(type_key(webhook_type))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes every endpoint of the tenant; returns how many there were.
pub async fn clear_endpoints(conn: &mut Conn, tenant: TenantId) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM mx_webhook_endpoints WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The tenant's endpoints: the all-types one first, then by type.
pub async fn list_endpoints(conn: &mut Conn, tenant: TenantId) -> Result<Vec<MxWebhookEndpointRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM mx_webhook_endpoints WHERE tenant_id = $1 ORDER BY webhook_type")
        .bind(tenant.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(endpoint_of).collect()
}

pub async fn insert_webhook(conn: &mut Conn, w: &MxWebhookRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mx_webhooks (guid, tenant_id, webhook_type, endpoint, url, body, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&w.guid)
    .bind(w.tenant_id.to_string())
    .bind(w.webhook_type.as_str())
    .bind(type_key(w.endpoint))
    .bind(&w.url)
    .bind(&w.body)
    .bind(&w.attempts)
    .bind(w.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a webhook no attempt was made to deliver; answers whether it did.
pub async fn delete_unattempted_webhook(conn: &mut Conn, tenant: TenantId, guid: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM mx_webhooks WHERE tenant_id = $1 AND guid = $2 AND attempts = '[]'")
        .bind(tenant.to_string())
        .bind(guid)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes back the attempts.
pub async fn save_webhook(conn: &mut Conn, w: &MxWebhookRecord) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE mx_webhooks SET attempts = $3 WHERE tenant_id = $1 AND guid = $2")
        .bind(w.tenant_id.to_string())
        .bind(&w.guid)
        .bind(&w.attempts)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find_webhook(
    conn: &mut Conn,
    tenant: TenantId,
    guid: &str,
) -> Result<Option<MxWebhookRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM mx_webhooks WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(webhook_of).transpose()
}

/// Reads a webhook inside a write and locks it until the write commits.
pub async fn find_webhook_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    guid: &str,
) -> Result<Option<MxWebhookRecord>, StoreError> {
    let sql = format!("SELECT * FROM mx_webhooks WHERE tenant_id = $1 AND guid = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(guid).fetch_optional(conn).await?;
    row.as_ref().map(webhook_of).transpose()
}

/// The tenant's webhooks (of one type, if given), newest first.
pub async fn list_webhooks(
    conn: &mut Conn,
    tenant: TenantId,
    webhook_type: Option<MxWebhookType>,
    limit: i64,
    offset: i64,
) -> Result<Page<MxWebhookRecord>, StoreError> {
    const MATCHING: &str = "FROM mx_webhooks WHERE tenant_id = $1 AND ($2 = '' OR webhook_type = $2)";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n {MATCHING}"))
        .bind(tenant.to_string())
        .bind(type_key(webhook_type))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * {MATCHING} ORDER BY seq DESC LIMIT $3 OFFSET $4"))
        .bind(tenant.to_string())
        .bind(type_key(webhook_type))
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(webhook_of).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// Marks the tenant's webhook `guid` as fired on demand at `at` (the control plane's `fire`).
pub async fn mark_webhook_fired(
    conn: &mut Conn,
    tenant: TenantId,
    guid: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE mx_webhooks SET fired_at = $3 WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid)
        .bind(at.millis())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// When the tenant's webhook `guid` was fired on demand; `None` for one a change raised (or no
/// such webhook).
pub async fn webhook_fired_at(conn: &mut Conn, tenant: TenantId, guid: &str) -> Result<Option<Timestamp>, StoreError> {
    let row = sqlx::query("SELECT fired_at FROM mx_webhooks WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    let at: Option<i64> = match row {
        Some(row) => row.try_get("fired_at")?,
        None => None,
    };
    Ok(at.map(Timestamp::from_millis))
}
