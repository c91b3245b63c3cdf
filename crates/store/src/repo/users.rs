//! MX users.

use openiav_core::ids::{TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, UserRecord};
use crate::{Conn, StoreError};

/// Filters of the list-users endpoint.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub id: Option<String>,
    pub email: Option<String>,
    pub is_disabled: Option<bool>,
}

pub async fn insert(conn: &mut Conn, u: &UserRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (guid, tenant_id, id, email, is_disabled, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(u.guid.as_str())
    .bind(u.tenant_id.to_string())
    .bind(&u.id)
    .bind(&u.email)
    .bind(u.is_disabled)
    .bind(&u.metadata)
    .bind(u.created_at.millis())
    .bind(u.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Finds a user by guid, or (when `by_id` is set) by the partner-defined `id` as well.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    ident: &str,
    by_id: bool,
) -> Result<Option<UserRecord>, StoreError> {
    let sql = if by_id {
        "SELECT * FROM users WHERE tenant_id = $1 AND (guid = $2 OR id = $2) ORDER BY seq LIMIT 1"
    } else {
        "SELECT * FROM users WHERE tenant_id = $1 AND guid = $2"
    };
    let row = sqlx::query(sql).bind(tenant.to_string()).bind(ident).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<UserRecord>).transpose()?)
}

pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    f: &UserFilter,
    page: PageRequest,
) -> Result<Page<UserRecord>, StoreError> {
    let filter = "tenant_id = $1 AND ($2 IS NULL OR id = $2) AND ($3 IS NULL OR email = $3) AND ($4 IS NULL OR is_disabled = $4)";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM users WHERE {filter}"))
        .bind(tenant.to_string())
        .bind(&f.id)
        .bind(&f.email)
        .bind(f.is_disabled)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * FROM users WHERE {filter} ORDER BY seq LIMIT $5 OFFSET $6"))
        .bind(tenant.to_string())
        .bind(&f.id)
        .bind(&f.email)
        .bind(f.is_disabled)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<UserRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

pub async fn update(conn: &mut Conn, u: &UserRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE users SET id = $3, email = $4, is_disabled = $5, metadata = $6, updated_at = $7 WHERE tenant_id = $1 AND guid = $2",
    )
    .bind(u.tenant_id.to_string())
    .bind(u.guid.as_str())
    .bind(&u.id)
    .bind(&u.email)
    .bind(u.is_disabled)
    .bind(&u.metadata)
    .bind(u.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a user with its members, accounts and their pending jobs.
pub async fn delete(conn: &mut Conn, tenant: TenantId, guid: &UserGuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND subject IN (SELECT guid FROM members WHERE user_guid = $2)")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM micro_deposits WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM accounts WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM members WHERE tenant_id = $1 AND user_guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
