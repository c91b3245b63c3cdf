//! Exchange sessions: a customer's hand-off to an open-banking partner.

use openiav_core::ids::TenantId;

use crate::records::{decode, ExchangeSessionRecord};
use crate::{Conn, StoreError};

pub async fn insert(conn: &mut Conn, s: &ExchangeSessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO exchange_sessions (id, tenant_id, customer_id, partner, exchange_id, redirect_url, \
           provider_session, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&s.id)
    .bind(s.tenant_id.to_string())
    .bind(&s.customer_id)
    .bind(&s.partner)
    .bind(&s.exchange_id)
    .bind(&s.redirect_url)
    .bind(&s.provider_session)
    .bind(s.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<ExchangeSessionRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM exchange_sessions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<ExchangeSessionRecord>).transpose()?)
}
