//! Transfers, their facilitator fees, the ACH legs ("bank transfers") the sandbox processes,
//! and on-demand authorizations.

use openiav_core::ids::TenantId;
use sqlx::Row;

use super::Page;
use crate::records::{decode, BankTransferRecord, OnDemandAuthorizationRecord, TransferRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, t: &TransferRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO transfers (id, tenant_id, fee_of, source_id, destination_id, source_customer_id, \
           destination_customer_id, amount_cents, status, options, correlation_id, individual_ach_id, failure_code, \
           created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&t.id)
    .bind(t.tenant_id.to_string())
    .bind(&t.fee_of)
    .bind(&t.source_id)
    .bind(&t.destination_id)
    .bind(&t.source_customer_id)
    .bind(&t.destination_customer_id)
    .bind(t.amount.0)
    .bind(t.status.as_str())
    .bind(&t.options)
    .bind(&t.correlation_id)
    .bind(&t.individual_ach_id)
    .bind(&t.failure_code)
    .bind(t.created_at.millis())
    .bind(t.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the mutable state back: status, failure and the ACH id.
pub async fn save(conn: &mut Conn, t: &TransferRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE transfers SET status = $3, failure_code = $4, individual_ach_id = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(t.tenant_id.to_string())
    .bind(&t.id)
    .bind(t.status.as_str())
    .bind(&t.failure_code)
    .bind(&t.individual_ach_id)
    .bind(t.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<TransferRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM transfers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<TransferRecord>).transpose()?)
}

/// Reads the transfer inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<TransferRecord>, StoreError> {
    let sql = format!("SELECT * FROM transfers WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<TransferRecord>).transpose()?)
}

/// The fees charged on the transfer `id`, in creation order.
pub async fn fees_of(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Vec<TransferRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM transfers WHERE tenant_id = $1 AND fee_of = $2 ORDER BY seq")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<TransferRecord>).collect::<Result<_, _>>()?)
}

/// What a transfer list keeps; every field optional.
#[derive(Clone, Debug, Default)]
pub struct TransferFilter {
    /// Transfers of this customer (as sender or receiver); `None` lists the account's.
    pub customer_id: Option<String>,
    pub min_cents: Option<i64>,
    pub max_cents: Option<i64>,
    /// Created at or after, and before, in milliseconds.
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    /// Any of these statuses; empty keeps every status.
    pub statuses: Vec<String>,
    pub correlation_id: Option<String>,
    /// Fees charged on transfers are listed with them, or not.
    pub include_fees: bool,
    /// Only transfers the account itself sends or receives (with `customer_id` unset).
    pub account_party: bool,
    /// Text a party's first or last name, e-mail, business name or id contains (any case).
    pub search: Option<String>,
}

/// A page of the transfers `filter` keeps, newest first, with the number of all of them.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    filter: &TransferFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<TransferRecord>, StoreError> {
    let statuses = (!filter.statuses.is_empty()).then(|| filter.statuses.join(","));
    let pattern = filter.search.as_deref().map(like_pattern);
    let wheres = "t.tenant_id = $1 \
         AND ($2 IS NULL OR t.source_customer_id = $2 OR t.destination_customer_id = $2) \
         AND ($3 IS NULL OR t.amount_cents >= $3) AND ($4 IS NULL OR t.amount_cents <= $4) \
         AND ($5 IS NULL OR t.created_at >= $5) AND ($6 IS NULL OR t.created_at < $6) \
         AND ($7 IS NULL OR ',' || $7 || ',' LIKE '%,' || t.status || ',%') \
         AND ($8 IS NULL OR t.correlation_id = $8) AND ($9 OR t.fee_of IS NULL) \
         AND (NOT $10 OR t.source_customer_id IS NULL OR t.destination_customer_id IS NULL) \
         AND ($11 IS NULL OR LOWER(t.source_customer_id) LIKE $11 ESCAPE '\\' \
           OR LOWER(t.destination_customer_id) LIKE $11 ESCAPE '\\' \
           OR EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = t.tenant_id \
             AND (c.id = t.source_customer_id OR c.id = t.destination_customer_id) \
             AND (LOWER(c.first_name) LIKE $11 ESCAPE '\\' OR LOWER(c.last_name) LIKE $11 ESCAPE '\\' \
               OR LOWER(c.email) LIKE $11 ESCAPE '\\' OR LOWER(c.business_name) LIKE $11 ESCAPE '\\')))";
    macro_rules! bound {
        ($query:expr) => {
            $query
                .bind(tenant.to_string())
                .bind(&filter.customer_id)
                .bind(filter.min_cents)
                .bind(filter.max_cents)
                .bind(filter.created_from)
                .bind(filter.created_before)
                .bind(&statuses)
                .bind(&filter.correlation_id)
                .bind(filter.include_fees)
                .bind(filter.account_party)
                .bind(&pattern)
        };
    }
    let count = format!("SELECT COUNT(*) AS n FROM transfers t WHERE {wheres}");
    let total: i64 = bound!(sqlx::query(&count)).fetch_one(&mut *conn).await?.try_get("n")?;
    let page = format!("SELECT t.* FROM transfers t WHERE {wheres} ORDER BY t.seq DESC LIMIT $12 OFFSET $13");
    let rows = bound!(sqlx::query(&page)).bind(limit).bind(offset).fetch_all(conn).await?;
    let items = rows.iter().map(decode::<TransferRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// What the customer `customer_id` sent (transfers it is the source of, fees aside) created at
/// or after `since` (milliseconds) and not failed or cancelled: what a weekly limit counts.
pub async fn sent_since(conn: &mut Conn, tenant: TenantId, customer_id: &str, since: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS n FROM transfers WHERE tenant_id = $1 AND source_customer_id = $2 \
         AND fee_of IS NULL AND created_at >= $3 AND status IN ('pending', 'processed')",
    )
    .bind(tenant.to_string())
    .bind(customer_id)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// A `LIKE` pattern (escape character `\`) matching `search`, lower-cased, anywhere in a value.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for ch in search.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

pub async fn insert_bank_transfer(conn: &mut Conn, b: &BankTransferRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bank_transfers (id, tenant_id, transfer_id, direction, funding_source_id, customer_id, status, \
           late_return, failure_code, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&b.id)
    .bind(b.tenant_id.to_string())
    .bind(&b.transfer_id)
    .bind(b.direction.as_str())
    .bind(&b.funding_source_id)
    .bind(&b.customer_id)
    .bind(b.status.as_str())
    .bind(&b.late_return)
    .bind(&b.failure_code)
    .bind(b.created_at.millis())
    .bind(b.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a leg's state back: status, late return and failure.
pub async fn save_bank_transfer(conn: &mut Conn, b: &BankTransferRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE bank_transfers SET status = $3, late_return = $4, failure_code = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(b.tenant_id.to_string())
    .bind(&b.id)
    .bind(b.status.as_str())
    .bind(&b.late_return)
    .bind(&b.failure_code)
    .bind(b.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The legs of the transfer `transfer_id`, oldest first, locked until the write commits.
pub async fn bank_transfers_of(
    conn: &mut Conn,
    tenant: TenantId,
    transfer_id: &str,
) -> Result<Vec<BankTransferRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM bank_transfers WHERE tenant_id = $1 AND transfer_id = $2 ORDER BY seq{}",
        crate::for_update(conn)
    );
    let rows = sqlx::query(&sql).bind(tenant.to_string()).bind(transfer_id).fetch_all(conn).await?;
    Ok(rows.iter().map(decode::<BankTransferRecord>).collect::<Result<_, _>>()?)
}

/// The legs of the transfer `transfer_id`, oldest first, without locking them (for reads).
pub async fn legs_of(
    conn: &mut Conn,
    tenant: TenantId,
    transfer_id: &str,
) -> Result<Vec<BankTransferRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM bank_transfers WHERE tenant_id = $1 AND transfer_id = $2 ORDER BY seq")
        .bind(tenant.to_string())
        .bind(transfer_id)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(decode::<BankTransferRecord>).collect::<Result<_, _>>()?)
}

/// The leg `id`, if it belongs to the tenant.
pub async fn find_bank_transfer(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<BankTransferRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM bank_transfers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<BankTransferRecord>).transpose()?)
}

/// The ids of the transfers whose legs the next processing handles: the newest `limit` legs
/// still pending or owing a late return, as Dwolla's sandbox takes the last 500. Newest first.
pub async fn transfers_to_process(conn: &mut Conn, tenant: TenantId, limit: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT transfer_id FROM bank_transfers WHERE tenant_id = $1 AND (status = 'pending' OR late_return IS NOT NULL) \
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(tenant.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut ids: Vec<String> = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get("transfer_id")?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub async fn insert_on_demand_authorization(
    conn: &mut Conn,
    a: &OnDemandAuthorizationRecord,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO on_demand_authorizations (id, tenant_id, created_at) VALUES ($1, $2, $3)")
        .bind(&a.id)
        .bind(a.tenant_id.to_string())
        .bind(a.created_at.millis())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_on_demand_authorization(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<OnDemandAuthorizationRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM on_demand_authorizations WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<OnDemandAuthorizationRecord>).transpose()?)
}

/// Reads the tenant's on-demand authorization inside a write and locks it until the write
/// commits: creates binding it to a bank take turns this way.
pub async fn find_on_demand_authorization_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<OnDemandAuthorizationRecord>, StoreError> {
    let sql =
        format!("SELECT * FROM on_demand_authorizations WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<OnDemandAuthorizationRecord>).transpose()?)
}
