//! The Plaid Link stand-in's rows: items (with their API access token), link tokens with the
//! Link session each opens, public tokens and processor tokens. Tokens are looked up by their
//! SHA-256 hash; spending a token is one conditional UPDATE, so of racing requests exactly one
//! wins.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::plaid::LinkStage;

use crate::records::{
    decode, PlaidItemRecord, PlaidLinkTokenRecord, PlaidProcessorTokenRecord, PlaidPublicTokenRecord,
};
use crate::{Conn, StoreError};

pub async fn insert_item(conn: &mut Conn, i: &PlaidItemRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plaid_items (id, tenant_id, client_user_id, institution_id, accounts, login_required_at, \
           access_token_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&i.id)
    .bind(i.tenant_id.to_string())
    .bind(&i.client_user_id)
    .bind(&i.institution_id)
    .bind(&i.accounts)
    .bind(i.login_required_at.map(|t| t.millis()))
    .bind(&i.access_token_hash)
    .bind(i.created_at.millis())
    .bind(i.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's item `id`.
pub async fn find_item(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<PlaidItemRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM plaid_items WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidItemRecord>).transpose()?)
}

/// The tenant's item `id`, held until the write ends (PostgreSQL).
pub async fn find_item_for_update(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
) -> Result<Option<PlaidItemRecord>, StoreError> {
    let sql = format!("SELECT * FROM plaid_items WHERE tenant_id = $1 AND id = $2{}", crate::for_update(conn));
    let row = sqlx::query(&sql).bind(tenant.to_string()).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<PlaidItemRecord>).transpose()?)
}

/// The tenant's item whose access token hashes to `access_token_hash`.
pub async fn find_item_by_access_token(
    conn: &mut Conn,
    tenant: TenantId,
    access_token_hash: &str,
) -> Result<Option<PlaidItemRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM plaid_items WHERE tenant_id = $1 AND access_token_hash = $2")
        .bind(tenant.to_string())
        .bind(access_token_hash)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidItemRecord>).transpose()?)
}

/// Saves an item's mutable fields: its accounts, whether it needs a new login, its access token.
pub async fn save_item(conn: &mut Conn, i: &PlaidItemRecord) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE plaid_items SET accounts = $3, login_required_at = $4, access_token_hash = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(i.tenant_id.to_string())
    .bind(&i.id)
    .bind(&i.accounts)
    .bind(i.login_required_at.map(|t| t.millis()))
    .bind(&i.access_token_hash)
    .bind(i.updated_at.millis())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn insert_link_token(conn: &mut Conn, t: &PlaidLinkTokenRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plaid_link_tokens (id, token_hash, tenant_id, client_user_id, item_id, session_token_hash, \
           stage, institution_id, mfa, expires_at, opened_at, session_expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&t.id)
    .bind(&t.token_hash)
    .bind(t.tenant_id.to_string())
    .bind(&t.client_user_id)
    .bind(&t.item_id)
    .bind(&t.session_token_hash)
    .bind(t.stage.as_str())
    .bind(&t.institution_id)
    .bind(&t.mfa)
    .bind(t.expires_at.millis())
    .bind(t.opened_at.map(|t| t.millis()))
    .bind(t.session_expires_at.map(|t| t.millis()))
    .bind(t.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends the link token whose hash is `token_hash`: only an unopened, unexpired token opens,
/// and only once however many requests race; the same statement stores the hash of the Link
/// session's own token. Returns the opened session.
pub async fn open_link_token(
    conn: &mut Conn,
    token_hash: &str,
    session_token_hash: &str,
    now: Timestamp,
    session_ttl_ms: i64,
) -> Result<Option<PlaidLinkTokenRecord>, StoreError> {
    let sql = format!(
        "UPDATE plaid_link_tokens SET session_token_hash = $2, opened_at = {t}, session_expires_at = {t} + $4 \
         WHERE token_hash = $1 AND opened_at IS NULL AND expires_at > {t} RETURNING *",
        t = crate::repo::tenant_clocks::now_sql("plaid_link_tokens.tenant_id", "$3"),
    );
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .bind(session_token_hash)
        .bind(now.millis())
        .bind(session_ttl_ms)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidLinkTokenRecord>).transpose()?)
}

/// The link token whose hash is `token_hash`, opened or not.
pub async fn find_link_token(conn: &mut Conn, token_hash: &str) -> Result<Option<PlaidLinkTokenRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM plaid_link_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidLinkTokenRecord>).transpose()?)
}

/// The open Link session whose token hashes to `session_token_hash`, if it has not expired.
pub async fn find_link_session(
    conn: &mut Conn,
    session_token_hash: &str,
    now: Timestamp,
) -> Result<Option<PlaidLinkTokenRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM plaid_link_tokens WHERE session_token_hash = $1 AND session_expires_at > {}",
        crate::repo::tenant_clocks::now_sql("plaid_link_tokens.tenant_id", "$2")
    );
    let row = sqlx::query(&sql).bind(session_token_hash).bind(now.millis()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<PlaidLinkTokenRecord>).transpose()?)
}

/// Moves a Link session on to `session`'s stage, institution and challenge, if it still
/// stands at `from`: of two racing steps only one moves it. Returns whether this one did.
pub async fn advance_link_session(
    conn: &mut Conn,
    session: &PlaidLinkTokenRecord,
    from: LinkStage,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE plaid_link_tokens SET stage = $3, institution_id = $4, mfa = $5 \
         WHERE id = $1 AND tenant_id = $2 AND stage = $6",
    )
    .bind(&session.id)
    .bind(session.tenant_id.to_string())
    .bind(session.stage.as_str())
    .bind(&session.institution_id)
    .bind(&session.mfa)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_public_token(conn: &mut Conn, t: &PlaidPublicTokenRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plaid_public_tokens (id, token_hash, tenant_id, link_token_id, client_user_id, item_id, \
           account_id, expires_at, used_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&t.id)
    .bind(&t.token_hash)
    .bind(t.tenant_id.to_string())
    .bind(&t.link_token_id)
    .bind(&t.client_user_id)
    .bind(&t.item_id)
    .bind(&t.account_id)
    .bind(t.expires_at.millis())
    .bind(t.used_at.map(|t| t.millis()))
    .bind(t.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends the tenant's public token whose hash is `token_hash`, issued to `client_user_id`:
/// only an unused, unexpired token of an item that does not need a new login, and only once
/// however many requests race. Returns the spent token.
pub async fn redeem_public_token(
    conn: &mut Conn,
    tenant: TenantId,
    token_hash: &str,
    client_user_id: &str,
    now: Timestamp,
) -> Result<Option<PlaidPublicTokenRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE plaid_public_tokens SET used_at = $4 \
         WHERE tenant_id = $1 AND token_hash = $2 AND client_user_id = $3 AND used_at IS NULL AND expires_at > $4 \
           AND item_id IN (SELECT id FROM plaid_items WHERE tenant_id = $1 AND login_required_at IS NULL) \
         RETURNING *",
    )
    .bind(tenant.to_string())
    .bind(token_hash)
    .bind(client_user_id)
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<PlaidPublicTokenRecord>).transpose()?)
}

/// Spends the tenant's public token whose hash is `token_hash`, whoever's it is (the Plaid API's
/// `/item/public_token/exchange`): only an unused, unexpired token, once.
pub async fn exchange_public_token(
    conn: &mut Conn,
    tenant: TenantId,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<PlaidPublicTokenRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE plaid_public_tokens SET used_at = $3 \
         WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING *",
    )
    .bind(tenant.to_string())
    .bind(token_hash)
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<PlaidPublicTokenRecord>).transpose()?)
}

pub async fn insert_processor_token(conn: &mut Conn, t: &PlaidProcessorTokenRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plaid_processor_tokens (id, token_hash, tenant_id, item_id, account_id, processor, used_at, \
           created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&t.id)
    .bind(&t.token_hash)
    .bind(t.tenant_id.to_string())
    .bind(&t.item_id)
    .bind(&t.account_id)
    .bind(&t.processor)
    .bind(t.used_at.map(|t| t.millis()))
    .bind(t.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends the tenant's processor token whose hash is `token_hash`, made for `processor`: only an
/// unused one of an item that does not need a new login, once however many requests race.
/// Returns the spent token.
pub async fn redeem_processor_token(
    conn: &mut Conn,
    tenant: TenantId,
    token_hash: &str,
    processor: &str,
    now: Timestamp,
) -> Result<Option<PlaidProcessorTokenRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE plaid_processor_tokens SET used_at = $4 \
         WHERE tenant_id = $1 AND token_hash = $2 AND processor = $3 AND used_at IS NULL \
           AND item_id IN (SELECT id FROM plaid_items WHERE tenant_id = $1 AND login_required_at IS NULL) \
         RETURNING *",
    )
    .bind(tenant.to_string())
    .bind(token_hash)
    .bind(processor)
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<PlaidProcessorTokenRecord>).transpose()?)
}

/// The tenant's processor token whose hash is `token_hash`, spent or not.
pub async fn find_processor_token(
    conn: &mut Conn,
    tenant: TenantId,
    token_hash: &str,
) -> Result<Option<PlaidProcessorTokenRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM plaid_processor_tokens WHERE tenant_id = $1 AND token_hash = $2")
        .bind(tenant.to_string())
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidProcessorTokenRecord>).transpose()?)
}

/// The tenant's public token whose hash is `token_hash`, spent or not.
pub async fn find_public_token(
    conn: &mut Conn,
    tenant: TenantId,
    token_hash: &str,
) -> Result<Option<PlaidPublicTokenRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM plaid_public_tokens WHERE tenant_id = $1 AND token_hash = $2")
        .bind(tenant.to_string())
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<PlaidPublicTokenRecord>).transpose()?)
}
