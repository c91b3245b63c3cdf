//! Payments API access tokens, held only as hashes, each valid until it expires.

use openiav_core::clock::Timestamp;

use crate::records::{decode, PaymentTokenRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, t: &PaymentTokenRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO payment_tokens (token_hash, tenant_id, expires_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&t.token_hash)
        .bind(t.tenant_id.to_string())
        .bind(t.expires_at.millis())
        .bind(t.created_at.millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// The token whose secret hashes to `token_hash`, if it has not expired by `now`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<PaymentTokenRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM payment_tokens WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PaymentTokenRecord>).transpose()?)
}

/// Deletes every token (of any tenant) that has expired by `now`; returns how many went.
pub async fn delete_expired(conn: &mut Conn, now: Timestamp) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM payment_tokens WHERE expires_at <= $1").bind(now.millis()).execute(conn).await?;
    Ok(done.rows_affected())
}

/// The token whose hash is `token_hash`, expired or not (so an expired token can be told apart
/// from an unknown one).
pub async fn find(conn: &mut Conn, token_hash: &str) -> Result<Option<PaymentTokenRecord>, StoreError> {
    let row =
        sqlx::query("SELECT * FROM payment_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<PaymentTokenRecord>).transpose()?)
}
