//! Accounts discovered on members.

use openiav_core::ids::{MemberGuid, TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, AccountRecord};
use crate::{Conn, StoreError};

/// Inserts the account, or refreshes the existing account of the same member and kind
/// (keeping its guid, numbers-verified flag and creation time). Returns the stored row.
pub async fn upsert(conn: &mut Conn, a: &AccountRecord) -> Result<AccountRecord, StoreError> {
    let row = sqlx::query(
        "INSERT INTO accounts (guid, tenant_id, user_guid, member_guid, kind, seed, name, type, subtype, balance_cents, \
           available_balance_cents, credit_limit_cents, apr_bps, routing_number, account_number, account_number_last4, \
           account_number_guid, owner_guid, numbers_verified, history_days, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) \
         ON CONFLICT (member_guid, kind) DO UPDATE SET seed = excluded.seed, name = excluded.name, type = excluded.type, \
           subtype = excluded.subtype, balance_cents = excluded.balance_cents, \
           available_balance_cents = excluded.available_balance_cents, credit_limit_cents = excluded.credit_limit_cents, \
           apr_bps = excluded.apr_bps, routing_number = excluded.routing_number, account_number = excluded.account_number, \
           account_number_last4 = excluded.account_number_last4, updated_at = excluded.updated_at \
         RETURNING *",
    )
    .bind(a.guid.as_str())
    .bind(a.tenant_id.to_string())
    .bind(a.user_guid.as_str())
    .bind(a.member_guid.as_str())
    .bind(a.kind.as_str())
    .bind(a.seed)
    .bind(&a.name)
    .bind(a.account_type.as_str())
    .bind(&a.subtype)
    .bind(a.balance_cents)
    .bind(a.available_balance_cents)
    .bind(a.credit_limit_cents)
    .bind(a.apr_bps)
    .bind(&a.routing_number)
    .bind(&a.account_number)
    .bind(&a.account_number_last4)
    .bind(&a.account_number_guid)
    .bind(&a.owner_guid)
    .bind(a.numbers_verified)
    .bind(a.history_days)
    .bind(a.created_at.millis())
    .bind(a.updated_at.millis())
    .fetch_one(conn)
    .await?;
    Ok(decode::<AccountRecord>(&row)?)
}

/// Writes the mutable fields of an account back.
pub async fn save(conn: &mut Conn, a: &AccountRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET balance_cents = $3, available_balance_cents = $4, numbers_verified = $5, history_days = $6, \
           updated_at = $7 WHERE tenant_id = $1 AND guid = $2",
    )
    .bind(a.tenant_id.to_string())
    .bind(a.guid.as_str())
    .bind(a.balance_cents)
    .bind(a.available_balance_cents)
    .bind(a.numbers_verified)
    .bind(a.history_days)
    .bind(a.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Accounts of a user, optionally only those of one member.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: Option<&MemberGuid>,
    page: PageRequest,
) -> Result<Page<AccountRecord>, StoreError> {
    let filter = "tenant_id = $1 AND user_guid = $2 AND ($3 IS NULL OR member_guid = $3)";
    let member = member.map(|m| m.as_str().to_owned());
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM accounts WHERE {filter}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(&member)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * FROM accounts WHERE {filter} ORDER BY seq LIMIT $4 OFFSET $5"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(&member)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<AccountRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// Every account of a user (or of one of its members), in creation order.
pub async fn all(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: Option<&MemberGuid>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let member = member.map(|m| m.as_str().to_owned());
    let rows = sqlx::query(
        "SELECT * FROM accounts WHERE tenant_id = $1 AND user_guid = $2 AND ($3 IS NULL OR member_guid = $3) ORDER BY seq",
    )
    .bind(tenant.to_string())
    .bind(user.as_str())
    .bind(&member)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<AccountRecord>).collect::<Result<_, _>>()?)
}

/// An account of a user by guid, or (when `by_id` is set) by its partner-defined id too.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    guid: &str,
) -> Result<Option<AccountRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM accounts WHERE tenant_id = $1 AND user_guid = $2 AND guid = $3")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<AccountRecord>).transpose()?)
}
