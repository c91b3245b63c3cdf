//! MX processor tokens: single-use authorization codes (redeemed exactly once, however many
//! processors race for one) and the access tokens they become, all held only as hashes.

use openiav_core::clock::Timestamp;
use openiav_core::ids::{TenantId, UserGuid};

use crate::records::{decode, ProcessorCodeRecord, ProcessorTokenRecord};
use crate::{Conn, StoreError};

pub async fn insert_code(conn: &mut Conn, c: &ProcessorCodeRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO processor_codes (code_hash, tenant_id, user_guid, member_guid, account_guid, scope, expires_at, \
           used_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&c.code_hash)
    .bind(c.tenant_id.to_string())
    .bind(c.user_guid.as_str())
    .bind(c.member_guid.as_str())
    .bind(c.account_guid.as_str())
    .bind(&c.scope)
    .bind(c.expires_at.millis())
    .bind(c.used_at.map(|t| t.millis()))
    .bind(c.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Consumes the tenant's code whose hash is `code_hash`: only an unused, unexpired code is
/// consumed, and only once, in one conditional statement. Returns the consumed code.
pub async fn redeem_code(
    conn: &mut Conn,
    tenant: TenantId,
    code_hash: &str,
    now: Timestamp,
) -> Result<Option<ProcessorCodeRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE processor_codes SET used_at = $3 \
         WHERE code_hash = $1 AND tenant_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING *",
    )
    .bind(code_hash)
    .bind(tenant.to_string())
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<ProcessorCodeRecord>).transpose()?)
}

/// The tenant's code whose hash is `code_hash`, used or expired or not (so a refusal can say
/// which).
pub async fn find_code(
    conn: &mut Conn,
    tenant: TenantId,
    code_hash: &str,
) -> Result<Option<ProcessorCodeRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM processor_codes WHERE code_hash = $1 AND tenant_id = $2")
        .bind(code_hash)
        .bind(tenant.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<ProcessorCodeRecord>).transpose()?)
}

pub async fn insert_token(conn: &mut Conn, t: &ProcessorTokenRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO processor_tokens (token_hash, tenant_id, user_guid, member_guid, account_guid, scope, expires_at, \
           created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&t.token_hash)
    .bind(t.tenant_id.to_string())
    .bind(t.user_guid.as_str())
    .bind(t.member_guid.as_str())
    .bind(t.account_guid.as_str())
    .bind(&t.scope)
    .bind(t.expires_at.millis())
    .bind(t.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The access token whose hash is `token_hash`, if it has not expired by `now` (of any tenant:
/// a processor presents only the token).
pub async fn find_live_token(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<ProcessorTokenRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM processor_tokens WHERE token_hash = $1 AND expires_at > {}",
        crate::repo::tenant_clocks::now_sql("processor_tokens.tenant_id", "$2")
    );
    let row = sqlx::query(&sql).bind(token_hash).bind(now.millis()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<ProcessorTokenRecord>).transpose()?)
}

/// The tenant's tokens, optionally only those issued for one user, member and account, oldest
/// first.
pub async fn list_tokens(
    conn: &mut Conn,
    tenant: TenantId,
    user: Option<&UserGuid>,
    member: Option<&str>,
    account: Option<&str>,
) -> Result<Vec<ProcessorTokenRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM processor_tokens WHERE tenant_id = $1 AND ($2 IS NULL OR user_guid = $2) \
           AND ($3 IS NULL OR member_guid = $3) AND ($4 IS NULL OR account_guid = $4) \
         ORDER BY created_at, token_hash",
    )
    .bind(tenant.to_string())
    .bind(user.map(UserGuid::as_str))
    .bind(member)
    .bind(account)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode::<ProcessorTokenRecord>).collect::<Result<_, _>>()?)
}
