//! MX micro-deposits.

use openiav_core::ids::{TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, MicroDepositRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, d: &MicroDepositRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO micro_deposits (guid, tenant_id, user_guid, account_name, account_type, account_number, \
           account_number_last4, routing_number, email, first_name, last_name, institution_code, institution_name, \
           status, error_message, failed_attempts, deposited_at, verified_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(&d.guid)
    .bind(d.tenant_id.to_string())
    .bind(d.user_guid.as_str())
    .bind(&d.account_name)
    .bind(d.account_type.as_str())
    .bind(&d.account_number)
    .bind(&d.account_number_last4)
    .bind(&d.routing_number)
    .bind(&d.email)
    .bind(&d.first_name)
    .bind(&d.last_name)
    .bind(&d.institution_code)
    .bind(&d.institution_name)
    .bind(d.status.as_str())
    .bind(&d.error_message)
    .bind(d.failed_attempts)
    .bind(d.deposited_at.millis())
    .bind(d.verified_at.map(|t| t.millis()))
    .bind(d.created_at.millis())
    .bind(d.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the verification state back.
pub async fn save(conn: &mut Conn, d: &MicroDepositRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE micro_deposits SET status = $3, error_message = $4, failed_attempts = $5, verified_at = $6, \
           updated_at = $7 WHERE tenant_id = $1 AND guid = $2",
    )
    .bind(d.tenant_id.to_string())
    .bind(&d.guid)
    .bind(d.status.as_str())
    .bind(&d.error_message)
    .bind(d.failed_attempts)
    .bind(d.verified_at.map(|t| t.millis()))
    .bind(d.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A micro-deposit of the tenant by guid, optionally only if it belongs to `user`.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: Option<&UserGuid>,
    guid: &str,
) -> Result<Option<MicroDepositRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM micro_deposits WHERE tenant_id = $1 AND guid = $2 AND ($3 IS NULL OR user_guid = $3)",
    )
    .bind(tenant.to_string())
    .bind(guid)
    .bind(user.map(|u| u.as_str().to_owned()))
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<MicroDepositRecord>).transpose()?)
}

/// Reads a micro-deposit of the tenant by guid inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    guid: &str,
) -> Result<Option<MicroDepositRecord>, StoreError> {
    let sql = format!("SELECT * FROM micro_deposits WHERE tenant_id = $1 AND guid = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(guid).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MicroDepositRecord>).transpose()?)
}

pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    page: PageRequest,
) -> Result<Page<MicroDepositRecord>, StoreError> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM micro_deposits WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(
        "SELECT * FROM micro_deposits WHERE tenant_id = $1 AND user_guid = $2 ORDER BY seq LIMIT $3 OFFSET $4",
    )
    .bind(tenant.to_string())
    .bind(user.as_str())
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(conn)
    .await?;
    let items = rows.iter().map(decode::<MicroDepositRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

pub async fn delete(conn: &mut Conn, tenant: TenantId, user: &UserGuid, guid: &str) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM micro_deposits WHERE tenant_id = $1 AND user_guid = $2 AND guid = $3")
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(guid)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
