//! Idempotency keys: claiming a key for a request, recording its answer, and forgetting it.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;

use crate::records::IdempotencyRecord;
use crate::{Conn, StoreError};

/// The key's record, if it was used after `since`.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    key: &str,
    since: Timestamp,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at > $3")
        .bind(tenant.to_string())
        .bind(key)
        .bind(since.millis())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(IdempotencyRecord::from_row).transpose()?)
}

/// Claims the key for a new request; returns `false` when another request holds it (whoever
/// inserted first wins, also across concurrent transactions). A record from before `since` is
/// stale and gives way.
pub async fn claim(conn: &mut Conn, r: &IdempotencyRecord, since: Timestamp) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at <= $3")
        .bind(r.tenant_id.to_string())
        .bind(&r.key)
        .bind(since.millis())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, location, body, created_at) \
         VALUES ($1, $2, $3, NULL, NULL, NULL, $4) ON CONFLICT (tenant_id, key) DO NOTHING",
    )
    .bind(r.tenant_id.to_string())
    .bind(&r.key)
    .bind(&r.request_hash)
    .bind(r.created_at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the answer the key replays.
pub async fn complete(
    conn: &mut Conn,
    tenant: TenantId,
    key: &str,
    status: i64,
    location: Option<&str>,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE idempotency_keys SET status = $3, location = $4, body = $5 WHERE tenant_id = $1 AND key = $2")
        .bind(tenant.to_string())
        .bind(key)
        .bind(status)
        .bind(location)
        .bind(body)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the key (its request failed and may be sent again).
pub async fn release(conn: &mut Conn, tenant: TenantId, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status IS NULL")
        .bind(tenant.to_string())
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
