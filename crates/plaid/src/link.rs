//! Link's operations: issuing link tokens (new, or update mode for an item), opening a Link
//! session with one (once), the session's steps (credentials, MFA, account selection) and the
//! public token it ends with, and what the token opens afterwards: the linked account and its
//! numbers, and whether the item needs the end user to log in again.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::TenantId;
use openiav_core::plaid::LinkStage;
use openiav_store::records::{PlaidItemRecord, PlaidLinkTokenRecord, PlaidPublicTokenRecord};
use openiav_store::repo::plaid as repo;
use openiav_store::StoreError;
use serde::Serialize;

use crate::error::PlaidError;
use crate::institutions::{self, AccountSubtype, Institution, SandboxAccount, SANDBOX_ACCOUNTS};
use crate::rules::{self, LinkFailure, Mfa, MfaType, Prompt, Verdict};
use crate::AppState;

/// Why a token or item cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Unknown, spent, another user's or another tenant's.
    #[error("the token is not valid")]
    InvalidToken,
    /// Issued, unspent, but past its lifetime.
    #[error("the token has expired")]
    ExpiredToken,
    /// The item needs the end user to log in again (`ITEM_LOGIN_REQUIRED`).
    #[error("the item needs a new login")]
    LoginRequired,
    /// No such item of this tenant (and user).
    #[error("no such item")]
    ItemNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A link token as issued: shown once, stored only as its hash.
#[derive(Clone, Debug)]
pub struct IssuedLinkToken {
    pub link_token: String,
    pub expiration: Timestamp,
    pub link_session_id: String,
}

/// The account a public token (or an item and account id) names, with its numbers.
#[derive(Clone, Debug)]
pub struct LinkedAccount {
    pub item_id: String,
    pub account_id: String,
    pub name: String,
    pub mask: String,
    pub subtype: AccountSubtype,
    pub institution_id: String,
    pub institution_name: String,
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
}

/// Issues a link token for `client_user_id`; with `item`, in update mode for that item of the
/// tenant (Link then opens straight at its institution's credentials). Whose item it may be is
/// the caller's rule: the Plaid API wants the same user; a Dwolla exchange made from a processor
/// token has an item of the app's own user.
pub async fn create_link_token(
    state: &AppState,
    tenant: TenantId,
    client_user_id: &str,
    item: Option<&str>,
) -> Result<IssuedLinkToken, LinkError> {
    let link_token = format!("link-sandbox-{}", uuid::Uuid::new_v4());
    let now = state.now(tenant).await?;
    let mut record = PlaidLinkTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: hash_token(&link_token),
        tenant_id: tenant,
        client_user_id: client_user_id.to_owned(),
        item_id: None,
        session_token_hash: None,
        stage: LinkStage::SelectInstitution,
        institution_id: None,
        mfa: None,
        expires_at: now.plus_millis(rules::LINK_TOKEN_TTL_MS),
        opened_at: None,
        session_expires_at: None,
        created_at: now,
    };
    let item = item.map(str::to_owned);
    let issued = IssuedLinkToken { link_token, expiration: record.expires_at, link_session_id: record.id.clone() };
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(item) = item {
                    let Some(found) = repo::find_item(c, tenant, &item).await? else { return Ok(false) };
                    record.item_id = Some(found.id);
                    record.institution_id = Some(found.institution_id);
                    record.stage = LinkStage::Credentials;
                }
                repo::insert_link_token(c, &record).await?;
                Ok(true)
            })
        })
        .await?
        .then_some(issued)
        .ok_or(LinkError::ItemNotFound)
}

/// What the page learns when it opens a Link session.
#[derive(Debug, Serialize)]
pub struct Opened {
    pub session_token: String,
    pub link_session_id: String,
    /// Update mode: the item's institution, whose credentials Link asks straight away.
    pub update: Option<&'static Institution>,
    pub institutions: &'static [Institution],
}

/// Opens a Link session with `link_token`: only an unopened, unexpired token opens, once.
pub async fn open(state: &AppState, link_token: &str) -> Result<Opened, PlaidError> {
    let token_hash = hash_token(link_token.trim());
    let session_token = random_url_token();
    let session_hash = hash_token(&session_token);
    // Real time: the token's and the session's expiry are judged on the tenant's clock in SQL.
    let now = state.clock.now();
    let session_ttl = rules::LINK_SESSION_TTL_MS;
    let (hash, stale) = (token_hash.clone(), token_hash);
    let opened = state
        .store
        .write(move |c| Box::pin(async move { repo::open_link_token(c, &hash, &session_hash, now, session_ttl).await }))
        .await?;
    let Some(record) = opened else {
        let found = state.store.read(|mut c| async move { repo::find_link_token(&mut c, &stale).await }).await?;
        let message = match found {
            Some(t) if t.opened_at.is_none() => "link token has expired",
            Some(_) => "link token has already been used",
            None => "link token is invalid",
        };
        return Err(PlaidError::invalid_input("INVALID_LINK_TOKEN", message));
    };
    let update = record.item_id.as_ref().and(record.institution_id.as_deref()).and_then(institutions::institution);
    Ok(Opened { session_token, link_session_id: record.id, update, institutions: institutions::INSTITUTIONS })
}

/// An account as Link's metadata shows it.
#[derive(Clone, Debug, Serialize)]
pub struct AccountMetadata {
    pub id: String,
    pub name: &'static str,
    pub mask: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subtype: AccountSubtype,
    pub verification_status: Option<String>,
    pub class_type: Option<String>,
}

fn account_metadata(item_id: &str, account: &SandboxAccount) -> AccountMetadata {
    AccountMetadata {
        id: institutions::account_id(item_id, account),
        name: account.name,
        mask: account.mask,
        kind: "depository",
        subtype: account.subtype,
        verification_status: None,
        class_type: None,
    }
}

/// `{name, institution_id}` in Link's metadata.
#[derive(Clone, Debug, Serialize)]
pub struct InstitutionMetadata {
    pub name: &'static str,
    pub institution_id: &'static str,
}

/// The metadata of `onSuccess`.
#[derive(Clone, Debug, Serialize)]
pub struct SuccessMetadata {
    pub institution: InstitutionMetadata,
    pub accounts: Vec<AccountMetadata>,
    /// The first selected account (Link's older single-account fields).
    pub account: AccountMetadata,
    pub account_id: String,
    pub link_session_id: String,
    pub transfer_status: Option<String>,
    pub public_token: String,
}

/// Where a session step leaves the end user.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Step {
    /// The institution asks a challenge.
    Mfa { mfa_type: MfaType, prompts: Vec<Prompt> },
    /// The institution refused; `retry` says whether the same screen may be tried again.
    Error { error: LinkFailure, retry: bool },
    /// Logged in; the end user picks the accounts to share.
    SelectAccount { accounts: Vec<AccountMetadata> },
    /// Done: the public token and `onSuccess`'s metadata.
    Connected { public_token: String, metadata: Box<SuccessMetadata> },
}

fn moved_on() -> PlaidError {
    PlaidError::invalid_request("INVALID_FIELD", "this step does not follow where the Link session stands")
}

fn mfa_of(session: &PlaidLinkTokenRecord) -> Result<Mfa, PlaidError> {
    let raw = session.mfa.as_deref().ok_or_else(moved_on)?;
    serde_json::from_str(raw)
        .map_err(|e| PlaidError::internal(format!("link session {}: column mfa does not decode: {e}", session.id)))
}

/// The accounts a fresh login at an institution shows (the same for every sandbox login).
fn selectable(session: &PlaidLinkTokenRecord) -> Vec<AccountMetadata> {
    // The item id is only made when the end user picks; the ids shown are those of that item.
    let item = pending_item_id(session);
    SANDBOX_ACCOUNTS.iter().map(|a| account_metadata(&item, a)).collect()
}

/// The id the item of a new-item session gets: derived from the session, so the accounts shown
/// before the pick carry the ids they keep.
fn pending_item_id(session: &PlaidLinkTokenRecord) -> String {
    session.item_id.clone().unwrap_or_else(|| hash_token(&format!("plaid-item/{}", session.id))[..37].to_owned())
}

/// Answers a verdict: moves the session on, and ends it when the login is an update's.
async fn follow(
    state: &AppState,
    mut session: PlaidLinkTokenRecord,
    from: LinkStage,
    institution_id: String,
    verdict: Verdict,
) -> Result<Step, PlaidError> {
    session.institution_id = Some(institution_id);
    let step = match verdict {
        Verdict::Refused(error) => {
            session.mfa = if from == LinkStage::Mfa { session.mfa } else { None };
            let retry = rules::may_retry(&error);
            (Step::Error { error, retry }, from)
        }
        Verdict::Challenge(mfa) => {
            let shown = Step::Mfa { mfa_type: mfa.mfa_type(), prompts: rules::prompts(&mfa) };
            session.mfa = Some(serde_json::to_string(&mfa).expect("mfa serialises"));
            (shown, LinkStage::Mfa)
        }
        Verdict::Connected if session.item_id.is_some() => {
            session.mfa = None;
            return finish_update(state, session, from).await;
        }
        Verdict::Connected => {
            session.mfa = None;
            (Step::SelectAccount { accounts: selectable(&session) }, LinkStage::SelectAccount)
        }
    };
    let (step, to) = step;
    session.stage = to;
    let moved = state
        .store
        .write(move |c| Box::pin(async move { repo::advance_link_session(c, &session, from).await }))
        .await?;
    if !moved {
        return Err(moved_on());
    }
    Ok(step)
}

/// `POST /link/api/credentials`: the end user's login at `institution_id` (in update mode,
/// the item's institution whatever the page says), from any stage before the end.
pub async fn submit_credentials(
    state: &AppState,
    session: PlaidLinkTokenRecord,
    institution_id: &str,
    username: &str,
    password: &str,
) -> Result<Step, PlaidError> {
    // A new login restarts the session's login wherever it stood (Link reopened after an exit).
    let from = session.stage;
    if from == LinkStage::Done {
        return Err(moved_on());
    }
    let institution = match (&session.item_id, session.institution_id.as_deref()) {
        (Some(_), Some(fixed)) => institutions::institution(fixed),
        _ => institutions::institution(institution_id.trim()),
    }
    .ok_or_else(|| PlaidError::invalid_input("INVALID_INSTITUTION", "invalid institution_id provided"))?;
    let verdict = rules::judge_credentials(username, password);
    follow(state, session, from, institution.institution_id.to_owned(), verdict).await
}

/// `POST /link/api/mfa`: the answers to the challenge the session waits on.
pub async fn submit_mfa(
    state: &AppState,
    session: PlaidLinkTokenRecord,
    answers: &[String],
) -> Result<Step, PlaidError> {
    if session.stage != LinkStage::Mfa {
        return Err(moved_on());
    }
    let mfa = mfa_of(&session)?;
    let institution = session.institution_id.clone().ok_or_else(moved_on)?;
    let verdict = rules::judge_mfa(&mfa, answers);
    follow(state, session, LinkStage::Mfa, institution, verdict).await
}

fn institution_of(session: &PlaidLinkTokenRecord) -> Result<&'static Institution, PlaidError> {
    let id = session.institution_id.as_deref().ok_or_else(moved_on)?;
    institutions::institution(id)
        .ok_or_else(|| PlaidError::internal(format!("link session {}: unknown institution {id}", session.id)))
}

pub(crate) fn issue_public_token(
    now: Timestamp,
    session: &PlaidLinkTokenRecord,
    item_id: &str,
    account_id: &str,
) -> (String, PlaidPublicTokenRecord) {
    let token = format!("public-sandbox-{}", uuid::Uuid::new_v4());
    let record = PlaidPublicTokenRecord {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: hash_token(&token),
        tenant_id: session.tenant_id,
        link_token_id: session.id.clone(),
        client_user_id: session.client_user_id.clone(),
        item_id: item_id.to_owned(),
        account_id: account_id.to_owned(),
        expires_at: now.plus_millis(rules::PUBLIC_TOKEN_TTL_MS),
        used_at: None,
        created_at: now,
    };
    (token, record)
}

fn success(
    institution: &'static Institution,
    accounts: Vec<AccountMetadata>,
    link_session_id: &str,
    public_token: &str,
) -> Step {
    let account = accounts[0].clone();
    let metadata = SuccessMetadata {
        institution: InstitutionMetadata { name: institution.name, institution_id: institution.institution_id },
        account_id: account.id.clone(),
        account,
        accounts,
        link_session_id: link_session_id.to_owned(),
        transfer_status: None,
        public_token: public_token.to_owned(),
    };
    Step::Connected { public_token: public_token.to_owned(), metadata: Box::new(metadata) }
}

/// `POST /link/api/accounts`: the accounts the end user shares; makes the item and the public
/// token (for the first chosen account) and ends the session.
pub async fn select_accounts(
    state: &AppState,
    session: PlaidLinkTokenRecord,
    account_ids: &[String],
) -> Result<Step, PlaidError> {
    if session.stage != LinkStage::SelectAccount || session.item_id.is_some() {
        return Err(moved_on());
    }
    let institution = institution_of(&session)?;
    let item_id = pending_item_id(&session);
    let mut chosen: Vec<&'static SandboxAccount> = Vec::new();
    for id in account_ids {
        let account = institutions::account_of(&item_id, id.trim()).ok_or_else(|| {
            PlaidError::invalid_input("INVALID_ACCOUNT_ID", "one or more of the account IDs is invalid")
        })?;
        if !chosen.contains(&account) {
            chosen.push(account);
        }
    }
    if chosen.is_empty() {
        return Err(PlaidError::invalid_request(
            "MISSING_FIELDS",
            "the following required fields are missing: account_ids",
        ));
    }
    let accounts: Vec<AccountMetadata> = chosen.iter().map(|a| account_metadata(&item_id, a)).collect();
    let now = state.now(session.tenant_id).await?;
    let item = PlaidItemRecord {
        id: item_id.clone(),
        tenant_id: session.tenant_id,
        client_user_id: session.client_user_id.clone(),
        institution_id: institution.institution_id.to_owned(),
        accounts: serde_json::to_string(&accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>())
            .expect("ids serialise"),
        login_required_at: None,
        access_token_hash: None,
        created_at: now,
        updated_at: now,
    };
    let (public_token, token) = issue_public_token(now, &session, &item_id, &accounts[0].id);
    let link_session_id = session.id.clone();
    let mut done = session;
    done.stage = LinkStage::Done;
    let saved = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if !repo::advance_link_session(c, &done, LinkStage::SelectAccount).await? {
                    return Ok(false);
                }
                repo::insert_item(c, &item).await?;
                repo::insert_public_token(c, &token).await?;
                Ok(true)
            })
        })
        .await?;
    if !saved {
        return Err(moved_on());
    }
    Ok(success(institution, accounts, &link_session_id, &public_token))
}

/// Ends an update-mode session whose login succeeded: the item no longer needs a login, and a
/// public token names it (with its first shared account) as Link's onSuccess does.
async fn finish_update(state: &AppState, session: PlaidLinkTokenRecord, from: LinkStage) -> Result<Step, PlaidError> {
    let institution = institution_of(&session)?;
    let item_id = session.item_id.clone().ok_or_else(moved_on)?;
    let now = state.now(session.tenant_id).await?;
    let (tenant, link_session_id) = (session.tenant_id, session.id.clone());
    let mut done = session.clone();
    done.stage = LinkStage::Done;
    let id = item_id.clone();
    let finished = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut item) = repo::find_item_for_update(c, tenant, &id).await? else { return Ok(None) };
                if !repo::advance_link_session(c, &done, from).await? {
                    return Ok(None);
                }
                let shared = shared_accounts(&item).unwrap_or_default();
                let Some(first) = shared.first() else { return Ok(None) };
                let (token, record) = issue_public_token(now, &done, &item.id, &first.id);
                item.login_required_at = None;
                item.updated_at = now;
                repo::save_item(c, &item).await?;
                repo::insert_public_token(c, &record).await?;
                Ok(Some((token, shared)))
            })
        })
        .await?;
    let (public_token, accounts) = finished.ok_or_else(moved_on)?;
    Ok(success(institution, accounts, &link_session_id, &public_token))
}

/// The accounts an item's user shared, as Link's metadata shows them.
fn shared_accounts(item: &PlaidItemRecord) -> Result<Vec<AccountMetadata>, PlaidError> {
    let ids: Vec<String> = serde_json::from_str(&item.accounts)
        .map_err(|e| PlaidError::internal(format!("plaid item {}: column accounts does not decode: {e}", item.id)))?;
    Ok(ids
        .iter()
        .filter_map(|id| institutions::account_of(&item.id, id))
        .map(|a| account_metadata(&item.id, a))
        .collect())
}

fn linked(item: &PlaidItemRecord, account_id: &str) -> Result<LinkedAccount, LinkError> {
    let institution = institutions::institution(&item.institution_id).ok_or(LinkError::ItemNotFound)?;
    let account = institutions::account_of(&item.id, account_id).ok_or(LinkError::ItemNotFound)?;
    Ok(LinkedAccount {
        item_id: item.id.clone(),
        account_id: account_id.to_owned(),
        name: account.name.to_owned(),
        mask: account.mask.to_owned(),
        subtype: account.subtype,
        institution_id: institution.institution_id.to_owned(),
        institution_name: institution.name.to_owned(),
        routing_number: institutions::routing_number(institution),
        account_number: institutions::account_number(&item.id, account),
    })
}

/// Spends the public token `token` that a Link session of `client_user_id` ended with; returns
/// the account it names. Unknown, spent, another user's → invalid; past its 30 minutes →
/// expired; its item needs a new login → login required (the token stays unspent).
pub async fn redeem_public_token(
    state: &AppState,
    tenant: TenantId,
    client_user_id: &str,
    token: &str,
) -> Result<LinkedAccount, LinkError> {
    let hash = hash_token(token.trim());
    let (user, now) = (client_user_id.to_owned(), state.now(tenant).await?);
    let outcome = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(spent) = repo::redeem_public_token(c, tenant, &hash, &user, now).await? {
                    let item = repo::find_item(c, tenant, &spent.item_id).await?.ok_or(StoreError::NotFound)?;
                    return Ok(Ok((item, spent.account_id)));
                }
                let Some(found) = repo::find_public_token(c, tenant, &hash).await? else {
                    return Ok(Err(LinkError::InvalidToken));
                };
                if found.client_user_id != user || found.used_at.is_some() {
                    return Ok(Err(LinkError::InvalidToken));
                }
                if found.expires_at <= now {
                    return Ok(Err(LinkError::ExpiredToken));
                }
                Ok(Err(LinkError::LoginRequired))
            })
        })
        .await?;
    let (item, account) = outcome?;
    linked(&item, &account)
}

/// The account `account_id` of the tenant's item `item_id`, with its numbers, unless the item
/// needs a new login.
pub async fn linked_account(
    state: &AppState,
    tenant: TenantId,
    item_id: &str,
    account_id: &str,
) -> Result<LinkedAccount, LinkError> {
    let id = item_id.to_owned();
    let item = state
        .store
        .read(|mut c| async move { repo::find_item(&mut c, tenant, &id).await })
        .await?
        .ok_or(LinkError::ItemNotFound)?;
    if item.login_required_at.is_some() {
        return Err(LinkError::LoginRequired);
    }
    linked(&item, account_id)
}

/// Puts the tenant's item into `ITEM_LOGIN_REQUIRED` (as the bank asking the end user to log
/// in again would; the sandbox's `reset_login`).
pub async fn require_login(state: &AppState, tenant: TenantId, item_id: &str) -> Result<(), LinkError> {
    let (id, now) = (item_id.to_owned(), state.now(tenant).await?);
    let found = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut item) = repo::find_item_for_update(c, tenant, &id).await? else { return Ok(false) };
                item.login_required_at = Some(now);
                item.updated_at = now;
                repo::save_item(c, &item).await?;
                Ok(true)
            })
        })
        .await?;
    found.then_some(()).ok_or(LinkError::ItemNotFound)
}

/// Whether the tenant's item needs the end user to log in again.
pub async fn needs_login(state: &AppState, tenant: TenantId, item_id: &str) -> Result<bool, LinkError> {
    let id = item_id.to_owned();
    let item = state
        .store
        .read(|mut c| async move { repo::find_item(&mut c, tenant, &id).await })
        .await?
        .ok_or(LinkError::ItemNotFound)?;
    Ok(item.login_required_at.is_some())
}

/// Spends a processor token made for `processor` with the Plaid API; returns the account it
/// names. Unknown, spent or made for another processor → invalid; its item needs a new login →
/// login required (the token stays unspent, and works once the item is logged in again).
pub async fn redeem_processor_token(
    state: &AppState,
    tenant: TenantId,
    processor: &str,
    token: &str,
) -> Result<LinkedAccount, LinkError> {
    let (hash, processor, now) = (hash_token(token.trim()), processor.to_owned(), state.now(tenant).await?);
    let outcome = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if let Some(spent) = repo::redeem_processor_token(c, tenant, &hash, &processor, now).await? {
                    let item = repo::find_item(c, tenant, &spent.item_id).await?.ok_or(StoreError::NotFound)?;
                    return Ok(Ok((item, spent.account_id)));
                }
                match repo::find_processor_token(c, tenant, &hash).await? {
                    Some(found) if found.used_at.is_none() && found.processor == processor => {
                        Ok(Err(LinkError::LoginRequired))
                    }
                    _ => Ok(Err(LinkError::InvalidToken)),
                }
            })
        })
        .await?;
    let (item, account) = outcome?;
    linked(&item, &account)
}
