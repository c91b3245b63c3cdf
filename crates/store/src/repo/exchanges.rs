//! Exchanges: a customer's accounts at a partner that the payments API may read.

use openiav_core::ids::TenantId;

use crate::records::{decode, ExchangeRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, e: &ExchangeRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO exchanges (id, tenant_id, customer_id, partner, status, connection, created_at, reauth_required_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(e.tenant_id.to_string())
    .bind(&e.customer_id)
    .bind(&e.partner)
    .bind(e.status.as_str())
    .bind(&e.connection)
    .bind(e.created_at.millis())
    .bind(e.reauth_required_at.map(|t| t.millis()))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<ExchangeRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM exchanges WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<ExchangeRecord>).transpose()?)
}

/// Reads the exchange inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<ExchangeRecord>, StoreError> {
    let sql = format!("SELECT * FROM exchanges WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<ExchangeRecord>).transpose()?)
}

/// Writes the status and the re-authentication mark back.
pub async fn save(conn: &mut Conn, e: &ExchangeRecord) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE exchanges SET status = $3, reauth_required_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(e.tenant_id.to_string())
            .bind(&e.id)
            .bind(e.status.as_str())
            .bind(e.reauth_required_at.map(|t| t.millis()))
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Every exchange of the customer, in creation order.
pub async fn list_for_customer(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Vec<ExchangeRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM exchanges WHERE tenant_id = $1 AND customer_id = $2 ORDER BY seq")
        .bind(tenant.to_string())
        .bind(customer_id)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<ExchangeRecord>).collect::<Result<_, _>>()?)
}

/// The customer's active exchange over the same partner account (`connection`), if any.
pub async fn find_active_by_connection(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
    connection: &str,
) -> Result<Option<ExchangeRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM exchanges WHERE tenant_id = $1 AND customer_id = $2 AND connection = $3 AND status = 'active' \
         ORDER BY seq LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .bind(connection)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<ExchangeRecord>).transpose()?)
}
