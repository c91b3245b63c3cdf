//! Sandbox dashboard sessions, held only as hashes of their tokens, each valid until it expires.

use openiav_core::clock::Timestamp;

use crate::records::{decode, DashboardSessionRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, s: &DashboardSessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dashboard_sessions (token_hash, tenant_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&s.token_hash)
    .bind(s.tenant_id.to_string())
    .bind(&s.csrf_token)
    .bind(s.created_at.millis())
    .bind(s.expires_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The session whose token hashes to `token_hash`, if it has not expired by `now`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<DashboardSessionRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM dashboard_sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<DashboardSessionRecord>).transpose()?)
}

/// Ends the session whose token hashes to `token_hash`; answers whether there was one.
pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1").bind(token_hash).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes every session (of any tenant) that has expired by `now`; returns how many went.
pub async fn delete_expired(conn: &mut Conn, now: Timestamp) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1").bind(now.millis()).execute(conn).await?;
    Ok(done.rows_affected())
}
