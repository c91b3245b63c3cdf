//! Holdings of investment accounts, and the users deactivated from the investment-holdings
//! product.

use openiav_core::clock::Timestamp;
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, HoldingRecord};
use crate::{Conn, StoreError};

/// Inserts the holding, or refreshes the one with the same guid (keeping its creation time).
/// Returns the stored row.
pub async fn upsert(conn: &mut Conn, h: &HoldingRecord) -> Result<HoldingRecord, StoreError> {
    let row = sqlx::query(
        "INSERT INTO holdings (guid, tenant_id, user_guid, member_guid, account_guid, position, symbol, description, \
           cusip, holding_type, shares, price_cents, purchase_price_cents, daily_change_cents, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (guid) DO UPDATE SET position = excluded.position, symbol = excluded.symbol, \
           description = excluded.description, cusip = excluded.cusip, holding_type = excluded.holding_type, \
           shares = excluded.shares, price_cents = excluded.price_cents, \
           purchase_price_cents = excluded.purchase_price_cents, daily_change_cents = excluded.daily_change_cents, \
           updated_at = excluded.updated_at \
         RETURNING *",
    )
    .bind(&h.guid)
    .bind(h.tenant_id.to_string())
    .bind(h.user_guid.as_str())
    .bind(h.member_guid.as_str())
    .bind(h.account_guid.as_str())
    .bind(h.position)
    .bind(&h.symbol)
    .bind(&h.description)
    .bind(&h.cusip)
    .bind(h.holding_type.as_str())
    .bind(h.shares)
    .bind(h.price_cents)
    .bind(h.purchase_price_cents)
    .bind(h.daily_change_cents)
    .bind(h.created_at.millis())
    .bind(h.updated_at.millis())
    .fetch_one(conn)
    .await?;
    Ok(decode::<HoldingRecord>(&row)?)
}

/// Deletes the account's holdings last written before `refreshed_at` (those a refresh no longer
/// reported). Returns how many went.
pub async fn prune_stale(
    conn: &mut Conn,
    tenant: TenantId,
    account: &AccountGuid,
    refreshed_at: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM holdings WHERE tenant_id = $1 AND account_guid = $2 AND updated_at < $3")
        .bind(tenant.to_string())
        .bind(account.as_str())
        .bind(refreshed_at.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Holdings of a user, optionally only those of one member and/or one account, in account and
/// then position order.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: Option<&MemberGuid>,
    account: Option<&AccountGuid>,
    page: PageRequest,
) -> Result<Page<HoldingRecord>, StoreError> {
    let filter = "h.tenant_id = $1 AND h.user_guid = $2 AND ($3 IS NULL OR h.member_guid = $3) \
                  AND ($4 IS NULL OR h.account_guid = $4)";
    let member = member.map(|m| m.as_str().to_owned());
    let account = account.map(|a| a.as_str().to_owned());
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM holdings h WHERE {filter}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(&member)
        .bind(&account)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT h.* FROM holdings h JOIN accounts a ON a.guid = h.account_guid WHERE {filter} \
         ORDER BY a.seq, h.position LIMIT $5 OFFSET $6"
    ))
    .bind(tenant.to_string())
    .bind(user.as_str())
    .bind(&member)
    .bind(&account)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(conn)
    .await?;
    let items = rows.iter().map(decode::<HoldingRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// A holding of a user by guid.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    guid: &str,
) -> Result<Option<HoldingRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM holdings WHERE tenant_id = $1 AND user_guid = $2 AND guid = $3")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<HoldingRecord>).transpose()?)
}

/// Deactivates the user from the investment-holdings product (again: the first time counts).
pub async fn deactivate(conn: &mut Conn, tenant: TenantId, user: &UserGuid, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO investment_deactivations (user_guid, tenant_id, deactivated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_guid) DO NOTHING",
    )
    .bind(user.as_str())
    .bind(tenant.to_string())
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Reactivates the user; returns whether it was deactivated.
pub async fn reactivate(conn: &mut Conn, tenant: TenantId, user: &UserGuid) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM investment_deactivations WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether the user is deactivated from the investment-holdings product.
pub async fn is_deactivated(conn: &mut Conn, tenant: TenantId, user: &UserGuid) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM investment_deactivations WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}
