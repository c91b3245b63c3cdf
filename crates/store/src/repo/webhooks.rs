//! Webhook subscriptions, their webhooks (one per event and subscription, holding every
//! delivery attempt) and manual retries.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use sqlx::Row;

use super::Page;
use crate::records::{decode, WebhookRecord, WebhookRetryRecord, WebhookSubscriptionRecord};
use crate::{Conn, StoreError};

pub async fn insert_subscription(conn: &mut Conn, s: &WebhookSubscriptionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_subscriptions (id, tenant_id, url, secret, paused, consecutive_failures, last_success_at, \
           created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&s.id)
    .bind(s.tenant_id.to_string())
    .bind(&s.url)
    .bind(&s.secret)
    .bind(s.paused)
    .bind(s.consecutive_failures)
    .bind(s.last_success_at.map(|t| t.millis()))
    .bind(s.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back `paused`, the failure count and the last success.
pub async fn save_subscription(conn: &mut Conn, s: &WebhookSubscriptionRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_subscriptions SET paused = $3, consecutive_failures = $4, last_success_at = $5 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant_id.to_string())
    .bind(&s.id)
    .bind(s.paused)
    .bind(s.consecutive_failures)
    .bind(s.last_success_at.map(|t| t.millis()))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find_subscription(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<WebhookSubscriptionRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<WebhookSubscriptionRecord>).transpose()?)
}

/// Reads the subscription inside a write and locks it until the write commits.
pub async fn find_subscription_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<WebhookSubscriptionRecord>, StoreError> {
    let sql =
        format!("SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<WebhookSubscriptionRecord>).transpose()?)
}

/// The tenant's subscriptions, oldest first.
pub async fn list_subscriptions(
    conn: &mut Conn,
    tenant: TenantId,
) -> Result<Vec<WebhookSubscriptionRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY seq")
        .bind(tenant.to_string())
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<WebhookSubscriptionRecord>).collect::<Result<_, _>>()?)
}

/// Deletes a subscription and, with it, its webhooks and retries.
pub async fn delete_subscription(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn insert_webhook(conn: &mut Conn, w: &WebhookRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhooks (id, tenant_id, subscription_id, event_id, topic, body, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&w.id)
    .bind(w.tenant_id.to_string())
    .bind(&w.subscription_id)
    .bind(&w.event_id)
    .bind(w.topic.as_str())
    .bind(&w.body)
    .bind(&w.attempts)
    .bind(w.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back the attempts.
pub async fn save_webhook(conn: &mut Conn, w: &WebhookRecord) -> Result<(), StoreError> {
    sqlx::query("UPDATE webhooks SET attempts = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(w.tenant_id.to_string())
        .bind(&w.id)
        .bind(&w.attempts)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_webhook(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<WebhookRecord>).transpose()?)
}

/// Reads a webhook inside a write and locks it until the write commits.
pub async fn find_webhook_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<WebhookRecord>, StoreError> {
    let sql = format!("SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<WebhookRecord>).transpose()?)
}

/// Which of a subscription's webhooks to list.
#[derive(Clone, Debug, Default)]
pub struct WebhookFilter {
    /// Only webhooks created at or after this time.
    pub since: Option<Timestamp>,
    /// Only webhooks created at or before this time.
    pub until: Option<Timestamp>,
    /// Only webhooks of events about this resource.
    pub resource_id: Option<String>,
}

/// A subscription's webhooks, newest first.
pub async fn list_webhooks(
    conn: &mut Conn,
    tenant: TenantId,
    subscription: &str,
    filter: &WebhookFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<WebhookRecord>, StoreError> {
    const MATCHING: &str = "FROM webhooks w JOIN events e ON e.id = w.event_id \
         WHERE w.tenant_id = $1 AND w.subscription_id = $2 AND ($3 IS NULL OR w.created_at >= $3) \
         AND ($4 IS NULL OR w.created_at <= $4) AND ($5 IS NULL OR e.resource_id = $5)";
    let (since, until) = (filter.since.map(|t| t.millis()), filter.until.map(|t| t.millis()));
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n {MATCHING}"))
        .bind(tenant.to_string())
        .bind(subscription)
        .bind(since)
        .bind(until)
        .bind(&filter.resource_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT w.* {MATCHING} ORDER BY w.seq DESC LIMIT $6 OFFSET $7"))
        .bind(tenant.to_string())
        .bind(subscription)
        .bind(since)
        .bind(until)
        .bind(&filter.resource_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<WebhookRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

pub async fn insert_retry(conn: &mut Conn, r: &WebhookRetryRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO webhook_retries (id, tenant_id, webhook_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&r.id)
        .bind(r.tenant_id.to_string())
        .bind(&r.webhook_id)
        .bind(r.created_at.millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// A webhook's manual retries, oldest first.
pub async fn list_retries(
    conn: &mut Conn,
    tenant: TenantId,
    webhook: &str,
) -> Result<Vec<WebhookRetryRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM webhook_retries WHERE tenant_id = $1 AND webhook_id = $2 ORDER BY seq")
        .bind(tenant.to_string())
        .bind(webhook)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<WebhookRetryRecord>).collect::<Result<_, _>>()?)
}
