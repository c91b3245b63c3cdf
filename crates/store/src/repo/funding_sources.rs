//! Funding sources: customers' banks and balances and the account's own; removing one only marks it removed.

use openiav_core::ids::TenantId;

use crate::records::{decode, FundingSourceMicroDepositsRecord, FundingSourceRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, f: &FundingSourceRecord) -> Result<(), StoreError> {
    insert_with(conn, f, "").await.map(drop)
}

/// Inserts `f` with `on_conflict` appended; how many rows went in.
async fn insert_with(conn: &mut Conn, f: &FundingSourceRecord, on_conflict: &str) -> Result<u64, StoreError> {
    let sql = format!(
        "INSERT INTO funding_sources (id, tenant_id, customer_id, exchange_id, status, bank_account_type, name, \
           bank_name, routing_number, account_number, account_number_last4, fingerprint, channels, removed, \
           created_at, updated_at, kind, balance_cents, on_demand_authorization_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19){on_conflict}"
    );
    let done = sqlx::query(&sql)
        .bind(&f.id)
        .bind(f.tenant_id.to_string())
        .bind(&f.customer_id)
        .bind(&f.exchange_id)
        .bind(f.status.as_str())
        .bind(f.bank_account_type.as_str())
        .bind(&f.name)
        .bind(&f.bank_name)
        .bind(&f.routing_number)
        .bind(&f.account_number)
        .bind(&f.account_number_last4)
        .bind(&f.fingerprint)
        .bind(&f.channels)
        .bind(f.removed)
        .bind(f.created_at.millis())
        .bind(f.updated_at.millis())
        .bind(f.kind.as_str())
        .bind(f.balance.0)
        .bind(&f.on_demand_authorization_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Writes the mutable state back: status, name, bank details, removal, exchange, balance and
/// on-demand authorization.
pub async fn save(conn: &mut Conn, f: &FundingSourceRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE funding_sources SET status = $3, name = $4, bank_account_type = $5, removed = $6, updated_at = $7, \
           exchange_id = $8, bank_name = $9, routing_number = $10, account_number = $11, account_number_last4 = $12, \
           fingerprint = $13, balance_cents = $14, on_demand_authorization_id = $15 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(f.tenant_id.to_string())
    .bind(&f.id)
    .bind(f.status.as_str())
    .bind(&f.name)
    .bind(f.bank_account_type.as_str())
    .bind(f.removed)
    .bind(f.updated_at.millis())
    .bind(&f.exchange_id)
    .bind(&f.bank_name)
    .bind(&f.routing_number)
    .bind(&f.account_number)
    .bind(&f.account_number_last4)
    .bind(&f.fingerprint)
    .bind(f.balance.0)
    .bind(&f.on_demand_authorization_id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<FundingSourceRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM funding_sources WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<FundingSourceRecord>).transpose()?)
}

/// Reads the funding source inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<FundingSourceRecord>, StoreError> {
    let sql = format!("SELECT * FROM funding_sources WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<FundingSourceRecord>).transpose()?)
}

/// The customer's funding sources in creation order; `removed` keeps only those removed (or not).
pub async fn list_for_customer(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
    removed: Option<bool>,
) -> Result<Vec<FundingSourceRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND customer_id = $2 AND ($3 IS NULL OR removed = $3) \
         ORDER BY seq",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .bind(removed)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<FundingSourceRecord>).collect::<Result<_, _>>()?)
}

/// The customer's funding source (not removed) for the account with this fingerprint.
pub async fn find_by_fingerprint(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
    fingerprint: &str,
) -> Result<Option<FundingSourceRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND customer_id = $2 AND fingerprint = $3 AND removed = $4 \
         ORDER BY seq LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .bind(fingerprint)
    .bind(false)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<FundingSourceRecord>).transpose()?)
}

/// The customer's most recent removed funding source for the account with this fingerprint.
pub async fn find_removed_by_fingerprint(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
    fingerprint: &str,
) -> Result<Option<FundingSourceRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND customer_id = $2 AND fingerprint = $3 AND removed = $4 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .bind(fingerprint)
    .bind(true)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<FundingSourceRecord>).transpose()?)
}

/// Records micro-deposits sent to a funding source.
pub async fn insert_micro_deposits(conn: &mut Conn, m: &FundingSourceMicroDepositsRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO funding_source_micro_deposits (funding_source_id, tenant_id, status, failed_attempts, created_at, \
           processed_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&m.funding_source_id)
    .bind(m.tenant_id.to_string())
    .bind(m.status.as_str())
    .bind(m.failed_attempts)
    .bind(m.created_at.millis())
    .bind(m.processed_at.map(|t| t.millis()))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_micro_deposits(
    conn: &mut Conn,
    tenant: TenantId,
    funding_source: &str,
) -> Result<Option<FundingSourceMicroDepositsRecord>, StoreError> {
    let row =
        sqlx::query("SELECT * FROM funding_source_micro_deposits WHERE tenant_id = $1 AND funding_source_id = $2")
            .bind(tenant.to_string())
            .bind(funding_source)
            .fetch_optional(conn)
            .await?;
    Ok(row.as_ref().map(decode::<FundingSourceMicroDepositsRecord>).transpose()?)
}

/// Reads a funding source's micro-deposits inside a write and locks them until it commits.
pub async fn find_micro_deposits_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    funding_source: &str,
) -> Result<Option<FundingSourceMicroDepositsRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM funding_source_micro_deposits WHERE tenant_id = $1 AND funding_source_id = $2{}",
        crate::for_update(conn)
    );
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(funding_source).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<FundingSourceMicroDepositsRecord>).transpose()?)
}

pub async fn save_micro_deposits(conn: &mut Conn, m: &FundingSourceMicroDepositsRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE funding_source_micro_deposits SET status = $3, failed_attempts = $4, processed_at = $5 \
         WHERE tenant_id = $1 AND funding_source_id = $2",
    )
    .bind(m.tenant_id.to_string())
    .bind(&m.funding_source_id)
    .bind(m.status.as_str())
    .bind(m.failed_attempts)
    .bind(m.processed_at.map(|t| t.millis()))
    .execute(conn)
    .await?;
    Ok(())
}

/// The micro-deposits of a customer's funding sources.
pub async fn micro_deposits_for_customer(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Vec<FundingSourceMicroDepositsRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.* FROM funding_source_micro_deposits m JOIN funding_sources f ON f.id = m.funding_source_id \
         WHERE m.tenant_id = $1 AND f.customer_id = $2",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<FundingSourceMicroDepositsRecord>).collect::<Result<_, _>>()?)
}

/// The tenant's micro-deposits still pending (what a sandbox simulation processes).
pub async fn pending_micro_deposits(
    conn: &mut Conn,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<FundingSourceMicroDepositsRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM funding_source_micro_deposits WHERE tenant_id = $1 AND status = 'pending' ORDER BY created_at LIMIT $2",
    )
    .bind(tenant.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<FundingSourceMicroDepositsRecord>).collect::<Result<_, _>>()?)
}

/// Inserts `f` unless a funding source it would duplicate exists (a customer's one balance,
/// the account's one bank and one balance); whether it was inserted.
pub async fn insert_if_absent(conn: &mut Conn, f: &FundingSourceRecord) -> Result<bool, StoreError> {
    Ok(insert_with(conn, f, " ON CONFLICT DO NOTHING").await? == 1)
}

/// The account's own funding sources (no customer) in creation order.
pub async fn list_for_account(
    conn: &mut Conn,
    tenant: TenantId,
    removed: Option<bool>,
) -> Result<Vec<FundingSourceRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND customer_id IS NULL AND ($2 IS NULL OR removed = $2) \
         ORDER BY seq",
    )
    .bind(tenant.to_string())
    .bind(removed)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<FundingSourceRecord>).collect::<Result<_, _>>()?)
}

/// The balance of the customer `customer_id` (`None` for the account's), if it has one.
pub async fn find_balance(
    conn: &mut Conn,
    tenant: TenantId,
    customer_id: Option<&str>,
) -> Result<Option<FundingSourceRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND kind = 'balance' \
         AND (customer_id = $2 OR ($2 IS NULL AND customer_id IS NULL))",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<FundingSourceRecord>).transpose()?)
}

/// The tenant's funding sources (removed ones too) bound to the on-demand authorization `id`.
pub async fn list_by_on_demand_authorization(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Vec<FundingSourceRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM funding_sources WHERE tenant_id = $1 AND on_demand_authorization_id = $2 ORDER BY seq",
    )
    .bind(tenant.to_string())
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<FundingSourceRecord>).collect::<Result<_, _>>()?)
}
