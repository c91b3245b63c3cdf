//! Connect widget sessions: minting a widget URL, opening it exactly once, and finding the
//! session an opened page works in.

use openiav_core::clock::Timestamp;

use crate::records::{decode, WidgetSessionRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, s: &WidgetSessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO widget_sessions (url_token_hash, session_token_hash, session_guid, tenant_id, user_guid, config, \
           url_expires_at, opened_at, session_expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.url_token_hash)
    .bind(&s.session_token_hash)
    .bind(&s.session_guid)
    .bind(s.tenant_id.to_string())
    .bind(s.user_guid.as_str())
    .bind(&s.config)
    .bind(s.url_expires_at.millis())
    .bind(s.opened_at.map(|t| t.millis()))
    .bind(s.session_expires_at.map(|t| t.millis()))
    .bind(s.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens the widget URL whose token hashes to `url_token_hash`: only an unopened, unexpired URL
/// opens, and only once, however many requests race for it; the session lasts `session_ttl_ms`.
/// `now` is the real now: expiry and the opening time are on the tenant's clock. Returns the
/// opened session.
pub async fn open(
    conn: &mut Conn,
    url_token_hash: &str,
    session_token_hash: &str,
    now: Timestamp,
    session_ttl_ms: i64,
) -> Result<Option<WidgetSessionRecord>, StoreError> {
    let sql = format!(
        "UPDATE widget_sessions SET session_token_hash = $2, opened_at = {t}, session_expires_at = {t} + $4 \
         WHERE url_token_hash = $1 AND opened_at IS NULL AND url_expires_at > {t} RETURNING *",
        t = crate::repo::tenant_clocks::now_sql("widget_sessions.tenant_id", "$3"),
    );
    let row = sqlx::query(&sql)
        .bind(url_token_hash)
        .bind(session_token_hash)
        .bind(now.millis())
        .bind(session_ttl_ms)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<WidgetSessionRecord>).transpose()?)
}

/// The opened session whose token hashes to `session_token_hash`, if it has not expired on its
/// tenant's clock (`now` being the real now).
pub async fn find_live(
    conn: &mut Conn,
    session_token_hash: &str,
    now: Timestamp,
) -> Result<Option<WidgetSessionRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM widget_sessions WHERE session_token_hash = $1 AND session_expires_at > {}",
        crate::repo::tenant_clocks::now_sql("widget_sessions.tenant_id", "$2")
    );
    let row = sqlx::query(&sql).bind(session_token_hash).bind(now.millis()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<WidgetSessionRecord>).transpose()?)
}
