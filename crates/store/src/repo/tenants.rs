//! Tenants and their credential hashes.

use openiav_core::ids::TenantId;
use sqlx::Row;

use crate::records::TenantRecord;
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, t: &TenantRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenants (id, name, mx_client_id, mx_api_key_hash, dwolla_key, dwolla_secret_hash, is_sandbox, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id.to_string())
    .bind(&t.name)
    .bind(&t.mx_client_id)
    .bind(&t.mx_api_key_hash)
    .bind(&t.dwolla_key)
    .bind(&t.dwolla_secret_hash)
    .bind(t.is_sandbox)
    .bind(t.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_by_mx_client_id(conn: &mut Conn, client_id: &str) -> Result<Option<TenantRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE mx_client_id = $1").bind(client_id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(TenantRecord::from_row).transpose()?)
}

pub async fn get(conn: &mut Conn, id: TenantId) -> Result<TenantRecord, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE id = $1").bind(id.to_string()).fetch_one(conn).await?;
    Ok(TenantRecord::from_row(&row)?)
}

/// The sandbox tenant bootstrapped on first start, if there is one.
pub async fn find_sandbox(conn: &mut Conn) -> Result<Option<TenantRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE is_sandbox = $1 ORDER BY created_at LIMIT 1")
        .bind(true)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(TenantRecord::from_row).transpose()?)
}

pub async fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM tenants").fetch_one(conn).await?.try_get("n")?)
}
