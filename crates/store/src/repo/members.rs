//! MX members.

use openiav_core::ids::{MemberGuid, TenantId, UserGuid};
use sqlx::Row;

use super::{Page, PageRequest};
use crate::records::{decode, MemberRecord, MemberStatusRecord};
use crate::{Conn, StoreError};

const COLUMNS: &str =
    "guid, tenant_id, user_guid, id, institution_code, name, credentials, credentials_fingerprint, is_oauth, \
    connection_status, connection_status_message, is_being_aggregated, is_authenticated, aggregated_at, \
    successfully_aggregated_at, background_aggregation_is_disabled, metadata, use_cases, has_processed_accounts, \
    has_processed_account_numbers, has_processed_account_owners, has_processed_transactions, job, challenges, \
    oauth_token_hash, oauth_expires_at, oauth_options, created_at, updated_at";

fn bind_all<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    m: &'q MemberRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(m.guid.as_str())
        .bind(m.tenant_id.to_string())
        .bind(m.user_guid.as_str())
        .bind(&m.id)
        .bind(&m.institution_code)
        .bind(&m.name)
        .bind(&m.credentials)
        .bind(&m.credentials_fingerprint)
        .bind(m.is_oauth)
        .bind(m.connection_status.as_str())
        .bind(&m.connection_status_message)
        .bind(m.is_being_aggregated)
        .bind(m.is_authenticated)
        .bind(m.aggregated_at.map(|t| t.millis()))
        .bind(m.successfully_aggregated_at.map(|t| t.millis()))
        .bind(m.background_aggregation_is_disabled)
        .bind(&m.metadata)
        .bind(&m.use_cases)
        .bind(m.has_processed_accounts)
        .bind(m.has_processed_account_numbers)
        .bind(m.has_processed_account_owners)
        .bind(m.has_processed_transactions)
        .bind(&m.job)
        .bind(&m.challenges)
        .bind(&m.oauth_token_hash)
        .bind(m.oauth_expires_at.map(|t| t.millis()))
        .bind(&m.oauth_options)
        .bind(m.created_at.millis())
        .bind(m.updated_at.millis())
}

pub async fn insert(conn: &mut Conn, m: &MemberRecord) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (1..=29).map(|i| format!("${i}")).collect();
    let sql = format!("INSERT INTO members ({COLUMNS}) VALUES ({})", placeholders.join(", "));
    bind_all(sqlx::query(&sql), m).execute(conn).await?;
    Ok(())
}

/// Writes every mutable column of `m` back.
pub async fn save(conn: &mut Conn, m: &MemberRecord) -> Result<(), StoreError> {
    let sets: Vec<String> =
        COLUMNS.split(", ").enumerate().skip(3).map(|(i, c)| format!("{} = ${}", c.trim(), i + 1)).collect();
    let sql = format!("UPDATE members SET {} WHERE guid = $1 AND tenant_id = $2 AND user_guid = $3", sets.join(", "));
    let done = bind_all(sqlx::query(&sql), m).execute(conn).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Finds a member of `user` by guid, or (when `by_id` is set) by its partner-defined `id` too.
pub async fn find(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    ident: &str,
    by_id: bool,
) -> Result<Option<MemberRecord>, StoreError> {
    let sql = if by_id {
        "SELECT * FROM members WHERE tenant_id = $1 AND user_guid = $2 AND (guid = $3 OR id = $3) ORDER BY seq LIMIT 1"
    } else {
        "SELECT * FROM members WHERE tenant_id = $1 AND user_guid = $2 AND guid = $3"
    };
    let row = sqlx::query(sql).bind(tenant.to_string()).bind(user.as_str()).bind(ident).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// Reads a member of `user` by guid inside a write and locks it until the write commits.
pub async fn find_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    guid: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM members WHERE tenant_id = $1 AND user_guid = $2 AND guid = $3{}",
        crate::for_update(conn)
    );
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(user.as_str()).bind(guid).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// The status columns of a member of `user`, by guid (or, with `by_id`, its partner id too).
pub async fn find_status(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    ident: &str,
    by_id: bool,
) -> Result<Option<MemberStatusRecord>, StoreError> {
    let matcher = if by_id { "(guid = $3 OR id = $3) ORDER BY seq LIMIT 1" } else { "guid = $3" };
    let sql = format!(
        "SELECT {} FROM members WHERE tenant_id = $1 AND user_guid = $2 AND {matcher}",
        MemberStatusRecord::COLUMNS
    );
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(user.as_str()).bind(ident).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberStatusRecord>).transpose()?)
}

/// Finds a member by guid within a tenant, whatever its user.
pub async fn find_in_tenant(conn: &mut Conn, tenant: TenantId, guid: &str) -> Result<Option<MemberRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM members WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// Reads a member by guid within a tenant inside a write and locks it until the write commits.
pub async fn find_in_tenant_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    guid: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    let sql = format!("SELECT * FROM members WHERE tenant_id = $1 AND guid = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(guid).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// The member an OAuth window token was issued for, locked until the write commits.
pub async fn find_by_oauth_token_for_update(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    let sql = format!("SELECT * FROM members WHERE oauth_token_hash = $1{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(token_hash).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// The member an OAuth window token was issued for.
pub async fn find_by_oauth_token(conn: &mut Conn, token_hash: &str) -> Result<Option<MemberRecord>, StoreError> {
    let row =
        sqlx::query("SELECT * FROM members WHERE oauth_token_hash = $1").bind(token_hash).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// A member of `user` at `institution_code` with the same credential fingerprint.
pub async fn find_duplicate(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    institution_code: &str,
    fingerprint: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM members WHERE tenant_id = $1 AND user_guid = $2 AND institution_code = $3 AND credentials_fingerprint = $4 LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(user.as_str())
    .bind(institution_code)
    .bind(fingerprint)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<MemberRecord>).transpose()?)
}

/// Members of a user, optionally only those with `use_case` among their use cases.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    user: &UserGuid,
    use_case: Option<&str>,
    page: PageRequest,
) -> Result<Page<MemberRecord>, StoreError> {
    let filter = "tenant_id = $1 AND user_guid = $2 AND ($3 IS NULL OR use_cases LIKE $3)";
    // use_cases is a JSON array of plain words, so a quoted word matches one element exactly.
    let pattern = use_case.map(|u| format!("%\"{u}\"%"));
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM members WHERE {filter}"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(&pattern)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT * FROM members WHERE {filter} ORDER BY seq LIMIT $4 OFFSET $5"))
        .bind(tenant.to_string())
        .bind(user.as_str())
        .bind(&pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(decode::<MemberRecord>).collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// Deletes a member with its accounts and pending jobs.
pub async fn delete(conn: &mut Conn, tenant: TenantId, guid: &MemberGuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND subject = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM accounts WHERE tenant_id = $1 AND member_guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM members WHERE tenant_id = $1 AND guid = $2")
        .bind(tenant.to_string())
        .bind(guid.as_str())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
