//! The states that bind a partner's redirect back to an exchange session: stored as hashes,
//! spent once.

use openiav_core::clock::Timestamp;

use crate::records::{decode, ExchangeSessionStateRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, s: &ExchangeSessionStateRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO exchange_session_states (state_hash, session_id, tenant_id, expires_at, used_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.state_hash)
    .bind(&s.session_id)
    .bind(s.tenant_id.to_string())
    .bind(s.expires_at.millis())
    .bind(s.used_at.map(|t| t.millis()))
    .bind(s.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The unspent, unexpired state that hashes to `state_hash`.
pub async fn find_live(
    conn: &mut Conn,
    state_hash: &str,
    now: Timestamp,
) -> Result<Option<ExchangeSessionStateRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM exchange_session_states WHERE state_hash = $1 AND used_at IS NULL AND expires_at > {}",
        crate::repo::tenant_clocks::now_sql("exchange_session_states.tenant_id", "$2")
    );
    let row = sqlx::query(&sql).bind(state_hash).bind(now.millis()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<ExchangeSessionStateRecord>).transpose()?)
}

/// Spends the state that hashes to `state_hash`: only an unspent, unexpired state is spent, and
/// only once, however many requests race for it. Returns the spent state.
pub async fn spend(
    conn: &mut Conn,
    state_hash: &str,
    now: Timestamp,
) -> Result<Option<ExchangeSessionStateRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE exchange_session_states SET used_at = $2 \
         WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING *",
    )
    .bind(state_hash)
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<ExchangeSessionStateRecord>).transpose()?)
}
