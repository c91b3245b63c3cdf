//! Dwolla customers: one per e-mail address (and correlation id) within a tenant.

use openiav_core::ids::TenantId;
use sqlx::Row;

use super::Page;
use crate::records::{decode, CustomerRecord};
use crate::{Conn, StoreError};

/// Filters of the list-customers endpoint.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of first name, last name, business name or e-mail.
    pub search: Option<String>,
    /// Exactly this (lower-cased) e-mail address.
    pub email_key: Option<String>,
    /// Any of these statuses; empty means every status.
    pub statuses: Vec<String>,
}

pub async fn insert(conn: &mut Conn, c: &CustomerRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO customers (id, tenant_id, type, status, first_name, last_name, email, email_key, business_name, \
           correlation_id, profile, aggregator_user, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&c.id)
    .bind(c.tenant_id.to_string())
    .bind(c.kind.as_str())
    .bind(c.status.as_str())
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.email)
    .bind(&c.email_key)
    .bind(&c.business_name)
    .bind(&c.correlation_id)
    .bind(&c.profile)
    .bind(&c.aggregator_user)
    .bind(c.created_at.millis())
    .bind(c.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every mutable column back.
pub async fn save(conn: &mut Conn, c: &CustomerRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE customers SET type = $3, status = $4, first_name = $5, last_name = $6, email = $7, email_key = $8, \
           business_name = $9, correlation_id = $10, profile = $11, aggregator_user = $12, updated_at = $13 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(c.tenant_id.to_string())
    .bind(&c.id)
    .bind(c.kind.as_str())
    .bind(c.status.as_str())
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.email)
    .bind(&c.email_key)
    .bind(&c.business_name)
    .bind(&c.correlation_id)
    .bind(&c.profile)
    .bind(&c.aggregator_user)
    .bind(c.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM customers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<CustomerRecord>).transpose()?)
}

/// Reads the customer inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<CustomerRecord>, StoreError> {
    let sql = format!("SELECT * FROM customers WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<CustomerRecord>).transpose()?)
}

pub async fn find_by_email_key(
    conn: &mut Conn,
    tenant: TenantId,
    email_key: &str,
) -> Result<Option<CustomerRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM customers WHERE tenant_id = $1 AND email_key = $2")
        .bind(tenant.to_string())
        .bind(email_key)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<CustomerRecord>).transpose()?)
}

pub async fn find_by_correlation_id(
    conn: &mut Conn,
    tenant: TenantId,
    correlation_id: &str,
) -> Result<Option<CustomerRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM customers WHERE tenant_id = $1 AND correlation_id = $2")
        .bind(tenant.to_string())
        .bind(correlation_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<CustomerRecord>).transpose()?)
}

/// The tenant's customers matching `f`, in creation order, with the number of all matches.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    f: &CustomerFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<CustomerRecord>, StoreError> {
    let pattern = f.search.as_deref().map(like_pattern);
    let mut filter = "tenant_id = $1 AND ($2 IS NULL OR LOWER(first_name) LIKE $2 ESCAPE '\\' \
        OR LOWER(last_name) LIKE $2 ESCAPE '\\' OR LOWER(business_name) LIKE $2 ESCAPE '\\' \
        OR LOWER(email) LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR email_key = $3)"
        .to_owned();
    if !f.statuses.is_empty() {
        let marks = (0..f.statuses.len()).map(|i| format!("${}", i + 4)).collect::<Vec<_>>();
        filter.push_str(&format!(" AND status IN ({})", marks.join(", ")));
    }
    let next = f.statuses.len() + 4;

    let count_sql = format!("SELECT COUNT(*) AS n FROM customers WHERE {filter}");
    let mut count = sqlx::query(&count_sql).bind(tenant.to_string()).bind(&pattern).bind(&f.email_key);
    for s in &f.statuses {
        count = count.bind(s);
    }
    let total: i64 = count.fetch_one(&mut *conn).await?.try_get("n")?;

    let list_sql = format!("SELECT * FROM customers WHERE {filter} ORDER BY seq LIMIT ${next} OFFSET ${}", next + 1);
    let mut query = sqlx::query(&list_sql).bind(tenant.to_string()).bind(&pattern).bind(&f.email_key);
    for s in &f.statuses {
        query = query.bind(s);
    }
    let rows = query.bind(limit).bind(offset).fetch_all(conn).await?;
    let items = rows.iter().map(decode::<CustomerRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
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
