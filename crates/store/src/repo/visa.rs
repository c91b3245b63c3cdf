//! The Visa bank page: its links (minted, opened exactly once, moved step by step) and the
//! single-use codes it hands back.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::visa::VisaStage;

use crate::records::{decode, VisaCodeRecord, VisaLinkRecord};
use crate::{Conn, StoreError};

pub async fn insert_link(conn: &mut Conn, l: &VisaLinkRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO visa_links (id, tenant_id, reference, authorization_code_hash, redirect_uri, state, \
           page_token_hash, stage, bank, login, url_expires_at, opened_at, page_expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&l.id)
    .bind(l.tenant_id.to_string())
    .bind(&l.reference)
    .bind(&l.authorization_code_hash)
    .bind(&l.redirect_uri)
    .bind(&l.state)
    .bind(&l.page_token_hash)
    .bind(l.stage.as_str())
    .bind(&l.bank)
    .bind(&l.login)
    .bind(l.url_expires_at.millis())
    .bind(l.opened_at.map(|t| t.millis()))
    .bind(l.page_expires_at.map(|t| t.millis()))
    .bind(l.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens the link whose authorization code hashes to `code_hash`: only an unopened, unexpired
/// link opens, and only once, however many requests race for it. The same statement stores the
/// hash of the page's token. Returns the opened link.
pub async fn open_link(
    conn: &mut Conn,
    code_hash: &str,
    page_token_hash: &str,
    now: Timestamp,
    page_ttl_ms: i64,
) -> Result<Option<VisaLinkRecord>, StoreError> {
    let sql = format!(
        "UPDATE visa_links SET page_token_hash = $2, opened_at = {t}, page_expires_at = {t} + $4 \
         WHERE authorization_code_hash = $1 AND opened_at IS NULL AND url_expires_at > {t} RETURNING *",
        t = crate::repo::tenant_clocks::now_sql("visa_links.tenant_id", "$3"),
    );
    let row = sqlx::query(&sql)
        .bind(code_hash)
        .bind(page_token_hash)
        .bind(now.millis())
        .bind(page_ttl_ms)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<VisaLinkRecord>).transpose()?)
}

/// The opened page whose token hashes to `page_token_hash`, if it has not expired.
pub async fn find_page(
    conn: &mut Conn,
    page_token_hash: &str,
    now: Timestamp,
) -> Result<Option<VisaLinkRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM visa_links WHERE page_token_hash = $1 AND page_expires_at > {}",
        crate::repo::tenant_clocks::now_sql("visa_links.tenant_id", "$2")
    );
    let row = sqlx::query(&sql).bind(page_token_hash).bind(now.millis()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<VisaLinkRecord>).transpose()?)
}

/// Moves the live page `page_token_hash` from `from` to `to`, keeping the bank and login it
/// names (or those it had): only a page still at `from` moves, so a step posted twice (or two
/// tabs racing) moves it once. Returns the page as moved.
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    conn: &mut Conn,
    page_token_hash: &str,
    from: VisaStage,
    to: VisaStage,
    bank: Option<&str>,
    login: Option<&str>,
    now: Timestamp,
) -> Result<Option<VisaLinkRecord>, StoreError> {
    let sql = format!(
        "UPDATE visa_links SET stage = $3, bank = COALESCE($4, bank), login = COALESCE($5, login) \
         WHERE page_token_hash = $1 AND stage = $2 AND page_expires_at > {} RETURNING *",
        crate::repo::tenant_clocks::now_sql("visa_links.tenant_id", "$6")
    );
    let row = sqlx::query(&sql)
        .bind(page_token_hash)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(bank)
        .bind(login)
        .bind(now.millis())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode::<VisaLinkRecord>).transpose()?)
}

pub async fn insert_code(conn: &mut Conn, c: &VisaCodeRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO visa_codes (code_hash, link_id, tenant_id, bank, login, account, expires_at, used_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&c.code_hash)
    .bind(&c.link_id)
    .bind(c.tenant_id.to_string())
    .bind(&c.bank)
    .bind(&c.login)
    .bind(&c.account)
    .bind(c.expires_at.millis())
    .bind(c.used_at.map(|t| t.millis()))
    .bind(c.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends the tenant's code that hashes to `code_hash`, handed out by a link minted for
/// `reference`: only an unused, unexpired code is spent, and only once, however many requests
/// race for it. Returns the spent code.
pub async fn redeem_code(
    conn: &mut Conn,
    tenant: TenantId,
    reference: &str,
    code_hash: &str,
    now: Timestamp,
) -> Result<Option<VisaCodeRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE visa_codes SET used_at = $4 \
         WHERE code_hash = $1 AND tenant_id = $2 AND used_at IS NULL AND expires_at > $4 \
           AND link_id IN (SELECT id FROM visa_links WHERE tenant_id = $2 AND reference = $3) \
         RETURNING *",
    )
    .bind(code_hash)
    .bind(tenant.to_string())
    .bind(reference)
    .bind(now.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<VisaCodeRecord>).transpose()?)
}
