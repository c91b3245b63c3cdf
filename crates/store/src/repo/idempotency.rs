//! Idempotency keys: a key is claimed and its answer recorded inside the transaction of the
//! request it covers, so a crash leaves either nothing or the answer; expired keys are pruned.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;

use crate::records::{decode, IdempotencyRecord};
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
    Ok(row.as_ref().map(decode::<IdempotencyRecord>).transpose()?)
}

/// Claims the key for the request of the caller's transaction; returns `false` when the key
/// is already answered. Whoever inserts first wins, also across concurrent transactions (on
/// PostgreSQL a second claimant waits for the first to commit or roll back). A record from
/// before `since`, or one without an answer (left by an older version), gives way.
pub async fn claim(conn: &mut Conn, r: &IdempotencyRecord, since: Timestamp) -> Result<bool, StoreError> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND (created_at <= $3 OR status IS NULL)",
    )
    .bind(r.tenant_id.to_string())
    .bind(&r.key)
    .bind(since.millis())
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, location, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, key) DO NOTHING",
    )
    .bind(r.tenant_id.to_string())
    .bind(&r.key)
    .bind(&r.request_hash)
    .bind(r.status)
    .bind(&r.location)
    .bind(&r.body)
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

/// Deletes up to `limit` keys at least `age_ms` old on their tenant's clock (`now` being the
/// real now); returns how many went.
pub async fn prune(conn: &mut Conn, now: Timestamp, age_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = format!(
        "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN \
           (SELECT tenant_id, key FROM idempotency_keys WHERE created_at <= {latest} - $2 AND created_at <= {own} - $2 \
            ORDER BY created_at LIMIT $3)",
        latest = crate::repo::tenant_clocks::latest_now_sql("$1"),
        own = crate::repo::tenant_clocks::now_sql("idempotency_keys.tenant_id", "$1")
    );
    let done = sqlx::query(&sql).bind(now.millis()).bind(age_ms).bind(limit).execute(conn).await?;
    Ok(done.rows_affected())
}
