//! The bank page's links and what happens to them: minting one for an exchange session,
//! opening it (once), moving its page one step at a time, ending it with a single-use code for
//! the chosen account or with an error, and redeeming that code. Each change is one
//! conditional statement, so a link, a step or a code is used once however many requests race.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::TenantId;
use openiav_core::payments::BankAccountType;
use openiav_core::visa::{VisaError, VisaStage};
use openiav_store::records::{VisaCodeRecord, VisaLinkRecord};
use openiav_store::repo::visa as repo;
use openiav_store::StoreError;

use crate::sandbox::{self, Account, Bank};
use crate::{AppState, CONNECT_PATH};

/// The market and locale every link carries (the US account check).
const MARKET: &str = "US";
const LOCALE: &str = "en_US";

/// The AEAD context of a link's state.
fn state_context(link: &VisaLinkRecord) -> String {
    format!("{}/{}/visa_state", link.tenant_id, link.id)
}

/// The `client_id` a tenant's links carry.
pub fn client_id(tenant: TenantId) -> String {
    format!("openiav-{tenant}")
}

/// Mints a link for `reference` (what the link serves, e.g. an exchange session) that returns to
/// `redirect_uri` with `state`; returns the bank page's URL. Only the hash of its authorization
/// code is kept, and the state encrypted.
pub async fn mint(
    visa: &AppState,
    tenant: TenantId,
    reference: &str,
    redirect_uri: &str,
    state: &str,
) -> Result<String, StoreError> {
    let code = random_url_token();
    let now = visa.now(tenant).await?;
    let mut link = VisaLinkRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        reference: reference.to_owned(),
        authorization_code_hash: hash_token(&code),
        redirect_uri: redirect_uri.to_owned(),
        state: Vec::new(),
        page_token_hash: None,
        stage: VisaStage::Bank,
        bank: None,
        login: None,
        url_expires_at: now.plus_millis(visa.config.link_ttl_ms),
        opened_at: None,
        page_expires_at: None,
        created_at: now,
    };
    link.state = visa.keyring.encrypt(&state_context(&link), state.as_bytes());
    let url = connect_url(&visa.config.public_base_url, &link, &code, state);
    visa.store.write(move |c| Box::pin(async move { repo::insert_link(c, &link).await })).await?;
    Ok(url)
}

/// `…/1.0/account-check/connect?client_id=…&redirect_uri=…&authorization_code=…&market=US&
/// locale=en_US&state=…&session_id=…`, in the order Visa's links have them.
fn connect_url(base: &str, link: &VisaLinkRecord, code: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &client_id(link.tenant_id))
        .append_pair("redirect_uri", &link.redirect_uri)
        .append_pair("authorization_code", code)
        .append_pair("market", MARKET)
        .append_pair("locale", LOCALE)
        .append_pair("state", state)
        .append_pair("session_id", &link.id)
        .finish();
    format!("{}{CONNECT_PATH}?{query}", base.trim_end_matches('/'))
}

/// What a link's URL says, as the browser brings it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ConnectQuery {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub authorization_code: Option<String>,
    pub market: Option<String>,
    pub locale: Option<String>,
    pub state: Option<String>,
    pub session_id: Option<String>,
}

/// How opening a link ended.
pub enum Opened {
    /// The page opened: the token its forms carry.
    Page(String),
    /// Unknown, already opened or expired.
    Gone,
    /// The URL was altered: it names another client, return address, state or session than
    /// the link was minted with (the link is spent all the same).
    Altered,
}

/// Opens the link `query`'s authorization code names, once.
pub async fn open(visa: &AppState, query: &ConnectQuery) -> Result<Opened, StoreError> {
    let Some(code) = query.authorization_code.as_deref().filter(|c| !c.is_empty()) else { return Ok(Opened::Gone) };
    let code_hash = hash_token(code);
    let page_token = random_url_token();
    let page_hash = hash_token(&page_token);
    // Real time: the link's and the page's expiry are judged on the tenant's clock in SQL.
    let (now, page_ttl) = (visa.clock.now(), visa.config.page_ttl_ms);
    let opened = visa
        .store
        .write(move |c| Box::pin(async move { repo::open_link(c, &code_hash, &page_hash, now, page_ttl).await }))
        .await?;
    let Some(link) = opened else { return Ok(Opened::Gone) };
    let state = state_of(visa, &link)?;
    let matches = query.client_id.as_deref() == Some(client_id(link.tenant_id).as_str())
        && query.redirect_uri.as_deref() == Some(link.redirect_uri.as_str())
        && query.state.as_deref() == Some(state.as_str())
        && query.session_id.as_deref() == Some(link.id.as_str())
        && query.market.as_deref() == Some(MARKET)
        && query.locale.as_deref() == Some(LOCALE);
    Ok(if matches { Opened::Page(page_token) } else { Opened::Altered })
}

/// The state a link hands back, decrypted.
fn state_of(visa: &AppState, link: &VisaLinkRecord) -> Result<String, StoreError> {
    let broken = |why: String| StoreError::Corrupt(format!("visa link {}: column state {why}", link.id));
    let plain = visa.keyring.decrypt(&state_context(link), &link.state).map_err(|e| broken(e.to_string()))?;
    String::from_utf8(plain).map_err(|e| broken(e.to_string()))
}

/// The live page whose forms carry `page_token`.
pub async fn page(visa: &AppState, page_token: &str) -> Result<Option<VisaLinkRecord>, StoreError> {
    let hash = hash_token(page_token);
    // Real time: the store compares it with the tenant's clock in SQL.
    let now = visa.clock.now();
    visa.store.read(|mut c| async move { repo::find_page(&mut c, &hash, now).await }).await
}

/// Moves the page from `from` to `to` (with the bank chosen or the user signed in); `None` when
/// the page is no longer at `from` or has expired.
pub async fn advance(
    visa: &AppState,
    page_token: &str,
    from: VisaStage,
    to: VisaStage,
    bank: Option<&'static Bank>,
    login: Option<&'static str>,
) -> Result<Option<VisaLinkRecord>, StoreError> {
    let hash = hash_token(page_token);
    // Real time: the store compares it with the tenant's clock in SQL.
    let now = visa.clock.now();
    let (bank, login) = (bank.map(|b| b.code), login);
    visa.store.write(move |c| Box::pin(async move { repo::advance(c, &hash, from, to, bank, login, now).await })).await
}

/// Where a page ending sends the browser: the link's return address with the code (or error)
/// and the state.
pub struct Return {
    pub url: String,
}

fn return_to(visa: &AppState, link: &VisaLinkRecord, outcome: (&str, &str)) -> Result<Return, StoreError> {
    let state = state_of(visa, link)?;
    let mut url = url::Url::parse(&link.redirect_uri)
        .map_err(|e| StoreError::Corrupt(format!("visa link {}: column redirect_uri: {e}", link.id)))?;
    url.query_pairs_mut().append_pair(outcome.0, outcome.1).append_pair("state", &state);
    Ok(Return { url: url.into() })
}

/// Ends the page at `from` with the account `account` chosen: in one write the page is done and
/// a single-use code for the account is stored (its hash). `None` when the page is no longer
/// at `from`.
pub async fn finish_with_account(
    visa: &AppState,
    page_token: &str,
    from: VisaStage,
    account: &'static Account,
) -> Result<Option<Return>, StoreError> {
    let hash = hash_token(page_token);
    let code = random_url_token();
    let code_hash = hash_token(&code);
    let (real, ttl) = (visa.clock.now(), visa.config.code_ttl_ms);
    let done = visa
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(link) = repo::advance(c, &hash, from, VisaStage::Done, None, None, real).await? else {
                    return Ok(None);
                };
                let now = openiav_store::repo::tenant_clocks::now(c, link.tenant_id, real).await?;
                let (Some(bank), Some(login)) = (link.bank.clone(), link.login.clone()) else {
                    return Err(StoreError::Corrupt(format!("visa link {}: finished without a sign-in", link.id)));
                };
                let record = VisaCodeRecord {
                    code_hash,
                    link_id: link.id.clone(),
                    tenant_id: link.tenant_id,
                    bank,
                    login,
                    account: account.id.to_owned(),
                    expires_at: now.plus_millis(ttl),
                    used_at: None,
                    created_at: now,
                };
                repo::insert_code(c, &record).await?;
                Ok(Some(link))
            })
        })
        .await?;
    done.map(|link| return_to(visa, &link, ("code", &code))).transpose()
}

/// Ends the page at `from` with `error`; `None` when the page is no longer at `from`.
pub async fn finish_with_error(
    visa: &AppState,
    page_token: &str,
    from: VisaStage,
    error: VisaError,
) -> Result<Option<Return>, StoreError> {
    let done = advance(visa, page_token, from, VisaStage::Done, None, None).await?;
    done.map(|link| return_to(visa, &link, ("error", error.as_str()))).transpose()
}

/// The account a code hands over, with the bank it is at.
#[derive(Clone, Debug)]
pub struct ChosenAccount {
    /// Stable for the same account of the same user at the same bank.
    pub id: String,
    pub name: String,
    pub kind: BankAccountType,
    pub institution_name: String,
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
    pub available_cents: i64,
    pub balance_cents: i64,
}

/// Spends the tenant's `code`, handed out by a link minted for `reference`; returns the account
/// the end user chose. `None` for an unknown, spent or expired code, or another's.
pub async fn redeem(
    visa: &AppState,
    tenant: TenantId,
    reference: &str,
    code: &str,
) -> Result<Option<ChosenAccount>, StoreError> {
    let hash = hash_token(code.trim());
    let reference = reference.to_owned();
    let now = visa.now(tenant).await?;
    let spent = visa
        .store
        .write(move |c| Box::pin(async move { repo::redeem_code(c, tenant, &reference, &hash, now).await }))
        .await?;
    let Some(spent) = spent else { return Ok(None) };
    let found = sandbox::bank(&spent.bank)
        .zip(sandbox::user(&spent.login).and_then(|u| u.account(&spent.account)))
        .ok_or_else(|| StoreError::Corrupt(format!("visa code of link {}: names no sandbox account", spent.link_id)))?;
    let (bank, account) = found;
    Ok(Some(ChosenAccount {
        id: format!("{}/{}/{}", bank.code, spent.login, account.id),
        name: account.name.to_owned(),
        kind: account.kind,
        institution_name: bank.name.to_owned(),
        routing_number: bank.routing_number(),
        account_number: account.account_number(),
        available_cents: account.available_cents,
        balance_cents: account.balance_cents,
    }))
}
