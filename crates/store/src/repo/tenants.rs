//! Tenants and their credential hashes.

use openiav_core::ids::TenantId;
use sqlx::Row;

use crate::records::{decode, Flag, TenantRecord};
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
    Ok(row.as_ref().map(decode::<TenantRecord>).transpose()?)
}

pub async fn find_by_dwolla_key(conn: &mut Conn, key: &str) -> Result<Option<TenantRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE dwolla_key = $1").bind(key).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<TenantRecord>).transpose()?)
}

pub async fn get(conn: &mut Conn, id: TenantId) -> Result<TenantRecord, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE id = $1").bind(id.to_string()).fetch_one(conn).await?;
    Ok(decode::<TenantRecord>(&row)?)
}

/// Reads the tenant inside a write and locks it until the write commits: writes that decide
/// on a count of the tenant's rows (such as its webhook subscriptions) take turns this way.
pub async fn get_for_update(conn: &mut Conn, id: TenantId) -> Result<TenantRecord, StoreError> {
    let sql = format!("SELECT * FROM tenants WHERE id = $1{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_one(conn).await?;
    Ok(decode::<TenantRecord>(&row)?)
}

/// The sandbox tenant bootstrapped on first start, if there is one.
pub async fn find_sandbox(conn: &mut Conn) -> Result<Option<TenantRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM tenants WHERE is_sandbox = $1 ORDER BY created_at LIMIT 1")
        .bind(true)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<TenantRecord>).transpose()?)
}

pub async fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM tenants").fetch_one(conn).await?.try_get("n")?)
}

/// A tenant's payments settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSettings {
    /// Whether exchange sessions and exchanges are enabled (Dwolla answers `InvalidScope` if not).
    pub open_banking: bool,
    /// Redirect URLs that exchange sessions may name (Visa requires an exact match).
    pub redirect_urls: Vec<String>,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self { open_banking: true, redirect_urls: Vec::new() }
    }
}

pub async fn payment_settings(conn: &mut Conn, tenant: TenantId) -> Result<PaymentSettings, StoreError> {
    let row = sqlx::query("SELECT open_banking, redirect_urls FROM tenant_payment_settings WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(PaymentSettings::default()) };
    let urls: String = row.try_get("redirect_urls")?;
    Ok(PaymentSettings {
        open_banking: row.try_get::<Flag, _>("open_banking")?.into(),
        redirect_urls: serde_json::from_str(&urls).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

pub async fn set_payment_settings(conn: &mut Conn, tenant: TenantId, s: &PaymentSettings) -> Result<(), StoreError> {
    let urls = serde_json::to_string(&s.redirect_urls).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO tenant_payment_settings (tenant_id, open_banking, redirect_urls) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET open_banking = excluded.open_banking, redirect_urls = excluded.redirect_urls",
    )
    .bind(tenant.to_string())
    .bind(s.open_banking)
    .bind(urls)
    .execute(conn)
    .await?;
    Ok(())
}
