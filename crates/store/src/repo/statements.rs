//! Monthly account statements of members, one per deposit account and calendar month.

use openiav_core::ids::{MemberGuid, TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, StatementRecord};
use crate::{Conn, StoreError};

/// Stores a new statement; one that already exists for the account and period is a conflict.
pub async fn insert(conn: &mut Conn, s: &StatementRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO statements (guid, tenant_id, user_guid, member_guid, account_guid, period_start_day, \
           period_end_day, opening_balance_cents, closing_balance_cents, content_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&s.guid)
    .bind(s.tenant_id.to_string())
    .bind(s.user_guid.as_str())
    .bind(s.member_guid.as_str())
    .bind(s.account_guid.as_str())
    .bind(s.period_start_day)
    .bind(s.period_end_day)
    .bind(s.opening_balance_cents)
    .bind(s.closing_balance_cents)
    .bind(&s.content_hash)
    .bind(s.created_at.millis())
    .bind(s.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a refetched statement's balances, content hash and update time back.
pub async fn save(conn: &mut Conn, s: &StatementRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE statements SET opening_balance_cents = $3, closing_balance_cents = $4, content_hash = $5, \
           updated_at = $6 WHERE tenant_id = $1 AND guid = $2",
    )
    .bind(s.tenant_id.to_string())
    .bind(&s.guid)
    .bind(s.opening_balance_cents)
    .bind(s.closing_balance_cents)
    .bind(&s.content_hash)
    .bind(s.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

const OF_MEMBER: &str = "tenant_id = $1 AND user_guid = $2 AND member_guid = $3";
/// Newest period first; within a period, accounts in the order their statements were made.
const ORDER: &str = "ORDER BY period_start_day DESC, seq";

/// A page of a member's statements, newest period first.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    page: PageRequest,
) -> Result<Page<StatementRecord>, StoreError> {
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM statements WHERE {OF_MEMBER}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * FROM statements WHERE {OF_MEMBER} {ORDER} LIMIT $4 OFFSET $5"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<StatementRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// Every statement of a member, newest period first.
pub async fn all(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
) -> Result<Vec<StatementRecord>, StoreError> {
    let rows = sqlx::query(&format!("SELECT * FROM statements WHERE {OF_MEMBER} {ORDER}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<StatementRecord>).collect::<Result<_, _>>()?)
}

/// A statement of a member by guid.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    member: &MemberGuid,
    guid: &str,
) -> Result<Option<StatementRecord>, StoreError> {
    let row = sqlx::query(&format!("SELECT * FROM statements WHERE {OF_MEMBER} AND guid = $4"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(member.as_str())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<StatementRecord>).transpose()?)
}
