//! Balances of members' rewards programs.

use openiav_core::clock::Timestamp;
use openiav_core::ids::{MemberGuid, TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, RewardRecord};
use crate::{Conn, StoreError};

/// Inserts the reward, or refreshes the one with the same guid (keeping its creation time).
/// Returns the stored row.
pub async fn upsert(conn: &mut Conn, r: &RewardRecord) -> Result<RewardRecord, StoreError> {
    let row = sqlx::query(
        "INSERT INTO rewards (guid, tenant_id, user_guid, member_guid, account_guid, position, unit_type, \
           balance_type, balance, description, expires_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (guid) DO UPDATE SET account_guid = excluded.account_guid, position = excluded.position, \
           unit_type = excluded.unit_type, balance_type = excluded.balance_type, balance = excluded.balance, \
           description = excluded.description, expires_on = excluded.expires_on, updated_at = excluded.updated_at \
         RETURNING *",
    )
    .bind(&r.guid)
    .bind(r.tenant_id.to_string())
    .bind(r.user_guid.as_str())
    .bind(r.member_guid.as_str())
    .bind(&r.account_guid)
    .bind(r.position)
    .bind(r.unit_type.as_str())
    .bind(r.balance_type.as_str())
    .bind(r.balance)
    .bind(&r.description)
    .bind(&r.expires_on)
    .bind(r.created_at.millis())
    .bind(r.updated_at.millis())
    .fetch_one(conn)
    .await?;
    Ok(decode::<RewardRecord>(&row)?)
}

/// Deletes the member's rewards last written before `refreshed_at` (those a refetch no longer
/// reported). Returns how many went.
pub async fn prune_stale(
    conn: &mut Conn,
    tenant: TenantId,
    member: &MemberGuid,
    refreshed_at: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM rewards WHERE tenant_id = $1 AND member_guid = $2 AND updated_at < $3")
        .bind(tenant.to_string())
        .bind(member.as_str())
        .bind(refreshed_at.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Rewards of one member of a user, in position order.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    page: PageRequest,
) -> Result<Page<RewardRecord>, StoreError> {
    let filter = "tenant_id = $1 AND user_guid = $2 AND member_guid = $3";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM rewards WHERE {filter}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * FROM rewards WHERE {filter} ORDER BY position LIMIT $4 OFFSET $5"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<RewardRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// A reward of one member of a user by guid.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    guid: &str,
) -> Result<Option<RewardRecord>, StoreError> {
    let row =
        sqlx::query("SELECT * FROM rewards WHERE tenant_id = $1 AND user_guid = $2 AND member_guid = $3 AND guid = $4")
            .bind(tenant.to_string())
            .bind(user.as_str())
            .bind(member.as_str())
            .bind(guid)
            .fetch_optional(conn)
            .await?;
    Ok(row.as_ref().map(decode::<RewardRecord>).transpose()?)
}
