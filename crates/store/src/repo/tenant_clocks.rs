//! Each tenant's test clock (`tenant_clocks`): read, set, release, the tenant's now, and the
//! lease an advance holds. Workers compare due times with [`now_sql`] inside their claim, so
//! every process sharing the database sees a change at its next query.

use openiav_core::clock::{ClockSetting, Timestamp};
use openiav_core::ids::TenantId;
use sqlx::Row;

use crate::{Conn, StoreError};

/// The SQL expression for the now of the tenant in column `tenant_column`, given the real now
/// bound at `$real` (e.g. `$3`): a frozen clock's moment, or the real now plus the offset.
pub(crate) fn now_sql(tenant_column: &str, real: &str) -> String {
    format!(
        "COALESCE((SELECT COALESCE(k.frozen_at, {real} + k.offset_ms) FROM tenant_clocks k \
         WHERE k.tenant_id = {tenant_column}), {real})"
    )
}

/// The SQL expression for the latest now of any tenant, given the real now bound at `$real`:
/// no job with a later `run_at` is due for anyone, which bounds a claim's index range scan.
pub(crate) fn latest_now_sql(real: &str) -> String {
    format!(
        "COALESCE((SELECT MAX(COALESCE(k.frozen_at, {real} + k.offset_ms)) FROM tenant_clocks k \
         WHERE COALESCE(k.frozen_at, {real} + k.offset_ms) > {real}), {real})"
    )
}

/// The tenant's clock setting; `None` is the real clock.
pub async fn get(conn: &mut Conn, tenant: TenantId) -> Result<Option<ClockSetting>, StoreError> {
    let row = sqlx::query("SELECT frozen_at, offset_ms FROM tenant_clocks WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ClockSetting {
        frozen_at: row.try_get::<Option<i64>, _>("frozen_at")?.map(Timestamp::from_millis),
        offset_ms: row.try_get("offset_ms")?,
    }))
}

/// Like [`get`], locking the row (PostgreSQL) until the write commits.
pub async fn get_for_update(conn: &mut Conn, tenant: TenantId) -> Result<Option<ClockSetting>, StoreError> {
    let sql = format!("SELECT frozen_at, offset_ms FROM tenant_clocks WHERE tenant_id = $1{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).fetch_optional(conn).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ClockSetting {
        frozen_at: row.try_get::<Option<i64>, _>("frozen_at")?.map(Timestamp::from_millis),
        offset_ms: row.try_get("offset_ms")?,
    }))
}

/// The tenant's now, given the real now (one primary-key probe).
pub async fn now(conn: &mut Conn, tenant: TenantId, real: Timestamp) -> Result<Timestamp, StoreError> {
    Ok(get(conn, tenant).await?.map_or(real, |s| s.now(real)))
}

/// Stores the tenant's clock setting (an advance's lease is left as it is).
pub async fn set(conn: &mut Conn, tenant: TenantId, setting: ClockSetting, real: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenant_clocks (tenant_id, frozen_at, offset_ms, advancing_until, updated_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET frozen_at = excluded.frozen_at, offset_ms = excluded.offset_ms, \
         updated_at = excluded.updated_at",
    )
    .bind(tenant.to_string())
    .bind(setting.frozen_at.map(Timestamp::millis))
    .bind(setting.offset_ms)
    .bind(real.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts the tenant back on the real clock (release, and a reset of the tenant's data);
/// whether it had a clock of its own.
pub async fn delete(conn: &mut Conn, tenant: TenantId) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM tenant_clocks WHERE tenant_id = $1").bind(tenant.to_string()).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Takes the tenant's advance lease until `real + lease_ms` if no other advance holds it,
/// creating the row (at the tenant's current setting, `setting`) if there is none; whether it
/// was taken. A conditional update: of concurrent advances exactly one holds the lease.
pub async fn begin_advance(
    conn: &mut Conn,
    tenant: TenantId,
    setting: ClockSetting,
    real: Timestamp,
    lease_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO tenant_clocks (tenant_id, frozen_at, offset_ms, advancing_until, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET advancing_until = excluded.advancing_until \
         WHERE tenant_clocks.advancing_until <= $5",
    )
    .bind(tenant.to_string())
    .bind(setting.frozen_at.map(Timestamp::millis))
    .bind(setting.offset_ms)
    .bind(real.plus_millis(lease_ms).millis())
    .bind(real.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives back the advance lease.
pub async fn end_advance(conn: &mut Conn, tenant: TenantId) -> Result<(), StoreError> {
    sqlx::query("UPDATE tenant_clocks SET advancing_until = 0 WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
