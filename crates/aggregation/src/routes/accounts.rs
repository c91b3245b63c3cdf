//! Accounts, account numbers, account owners and transactions of a user or member.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{AccountRecord, MemberRecord, UserRecord};
use openiav_store::repo::{accounts as repo, members as member_repo, PageRequest};
use serde_json::json;

use super::{load_member, load_user};
use crate::auth::Tenant;
use crate::engine;
use crate::params::{paginate, Pagination, QueryParams};
use crate::sandbox::data;
use crate::version::ApiVersion;
use crate::wire::{Account, AccountNumber, AccountOwner, Transaction, TransactionIncludes};
use crate::{AppState, MxError};

/// Every member of the user, by guid (to render accounts and gate data on job progress).
async fn members_of(
    state: &AppState,
    tenant: TenantId,
    user: &UserRecord,
) -> Result<HashMap<String, MemberRecord>, MxError> {
    let guid = user.guid.clone();
    let page = PageRequest { page: 1, per_page: 100_000 };
    let found =
        state.store.read(|mut c| async move { member_repo::list(&mut c, tenant, &guid, None, page).await }).await?;
    Ok(found.items.into_iter().map(|m| (m.guid.to_string(), m)).collect())
}

async fn accounts_page(
    state: &AppState,
    tenant: TenantId,
    user: &UserRecord,
    member: Option<&MemberRecord>,
    page: PageRequest,
) -> Result<openiav_store::repo::Page<AccountRecord>, MxError> {
    let user_guid = user.guid.clone();
    let member_guid = member.map(|m| m.guid.clone());
    Ok(state
        .store
        .read(|mut c| async move { repo::list(&mut c, tenant, &user_guid, member_guid.as_ref(), page).await })
        .await?)
}

fn render_accounts(
    v: ApiVersion,
    user: &UserRecord,
    members: &HashMap<String, MemberRecord>,
    page: PageRequest,
    found: &openiav_store::repo::Page<AccountRecord>,
) -> Response {
    let accounts: Vec<Account> = found
        .items
        .iter()
        .filter_map(|a| members.get(a.member_guid.as_str()).map(|m| Account::new(a, m, user.id.as_deref())))
        .collect();
    v.json(StatusCode::OK, &json!({ "accounts": accounts, "pagination": Pagination::new(page, found.total) }))
}

pub async fn list_by_user(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(u): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    q.get_bool("member_is_managed_by_user")?;
    let is_manual = q.get_bool("is_manual")?;
    let user = load_user(&state, tenant, v, &u).await?;
    let members = members_of(&state, tenant, &user).await?;
    if is_manual == Some(true) {
        // Every sandbox account comes from a connection; none is manual.
        let empty = openiav_store::repo::Page { items: Vec::new(), total: 0 };
        return Ok(render_accounts(v, &user, &members, page, &empty));
    }
    let found = accounts_page(&state, tenant, &user, None, page).await?;
    Ok(render_accounts(v, &user, &members, page, &found))
}

pub async fn list_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    q.get_bool("member_is_managed_by_user")?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let found = accounts_page(&state, tenant, &user, Some(&member), page).await?;
    let members = HashMap::from([(member.guid.to_string(), member)]);
    Ok(render_accounts(v, &user, &members, page, &found))
}

async fn find_account(
    state: &AppState,
    tenant: TenantId,
    user: &UserRecord,
    ident: &str,
) -> Result<AccountRecord, MxError> {
    let user_guid = user.guid.clone();
    let ident = ident.to_owned();
    state
        .store
        .read(|mut c| async move { repo::find(&mut c, tenant, &user_guid, &ident).await })
        .await?
        .ok_or(MxError::NotFound)
}

pub async fn read_by_user(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, a)): Path<(String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let account = find_account(&state, tenant, &user, &a).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), account.member_guid.as_str()).await?;
    Ok(v.wrapped(StatusCode::OK, "account", &Account::new(&account, &member, user.id.as_deref())))
}

pub async fn read_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m, a)): Path<(String, String, String)>,
) -> Result<Response, MxError> {
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let account = find_account(&state, tenant, &user, &a).await?;
    if account.member_guid != member.guid {
        return Err(MxError::NotFound);
    }
    Ok(v.wrapped(StatusCode::OK, "account", &Account::new(&account, &member, user.id.as_deref())))
}

/// Account numbers of verified accounts, decrypted for their owner.
fn render_numbers(
    state: &AppState,
    v: ApiVersion,
    accounts: &[AccountRecord],
    page: PageRequest,
) -> Result<Response, MxError> {
    let verified: Vec<&AccountRecord> =
        accounts.iter().filter(|a| a.numbers_verified && a.account_number.is_some()).collect();
    let (items, pagination) = paginate(&verified, page);
    let mut numbers = Vec::with_capacity(items.len());
    for a in &items {
        let blob = a.account_number.as_deref().unwrap_or_default();
        let plain = state
            .keyring
            .decrypt(&engine::account_number_context(a), blob)
            .map_err(|e| MxError::Internal(format!("decrypting an account number: {e}")))?;
        numbers.push(AccountNumber {
            account_guid: a.guid.as_str(),
            account_number: String::from_utf8_lossy(&plain).into_owned(),
            guid: &a.account_number_guid,
            institution_number: None,
            loan_guarantor: None,
            loan_reference_number: None,
            member_guid: a.member_guid.as_str(),
            passed_validation: true,
            routing_number: a.routing_number.as_deref(),
            sequence_number: None,
            transit_number: None,
            user_guid: a.user_guid.as_str(),
        });
    }
    Ok(v.json(StatusCode::OK, &json!({ "account_numbers": numbers, "pagination": pagination })))
}

async fn all_accounts(
    state: &AppState,
    tenant: TenantId,
    user: &UserRecord,
    member: Option<&MemberRecord>,
) -> Result<Vec<AccountRecord>, MxError> {
    let user_guid = user.guid.clone();
    let member_guid = member.map(|m| m.guid.clone());
    Ok(state
        .store
        .read(|mut c| async move { repo::all(&mut c, tenant, &user_guid, member_guid.as_ref()).await })
        .await?)
}

pub async fn numbers_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let accounts = all_accounts(&state, tenant, &user, Some(&member)).await?;
    render_numbers(&state, v, &accounts, page)
}

pub async fn numbers_by_account(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, a)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let account = find_account(&state, tenant, &user, &a).await?;
    render_numbers(&state, v, std::slice::from_ref(&account), page)
}

pub async fn owners_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let accounts = if member.has_processed_account_owners {
        all_accounts(&state, tenant, &user, Some(&member)).await?
    } else {
        Vec::new()
    };
    let (items, pagination) = paginate(&accounts, page);
    let owners: Vec<data::Owner> =
        items.iter().map(|a| data::owner_for(&member.institution_code, &a.seed.to_string())).collect();
    let rendered: Vec<AccountOwner> = items.iter().zip(&owners).map(|(a, o)| AccountOwner::new(a, o)).collect();
    Ok(v.json(StatusCode::OK, &json!({ "account_owners": rendered, "pagination": pagination })))
}

/// Date bounds of a transaction query, as unix days (inclusive).
fn date_window(q: &QueryParams, v: ApiVersion, today: i64) -> Result<(i64, i64), MxError> {
    let parse = |name: &str| -> Result<Option<i64>, MxError> {
        let Some(raw) = q.get(name).filter(|s| !s.is_empty()) else { return Ok(None) };
        let bad = || MxError::bad_request(format!("`{name}` must be a date (YYYY-MM-DD) or a unix timestamp."));
        if let Ok(secs) = raw.parse::<i64>() {
            if v == ApiVersion::V20250224 || raw.len() > 8 {
                return Ok(Some(secs.div_euclid(86_400)));
            }
        }
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(raw, &fmt).map_err(|_| bad())?;
        Ok(Some(date.midnight().assume_utc().unix_timestamp().div_euclid(86_400)))
    };
    let to = parse("to_date")?.unwrap_or(today);
    let from = parse("from_date")?.unwrap_or(to - 120);
    if from > to {
        return Err(MxError::bad_request("from_date must not be after to_date."));
    }
    Ok((from, to))
}

fn includes(q: &QueryParams) -> Result<TransactionIncludes, MxError> {
    TransactionIncludes::parse(&q.get_all("includes")).map_err(|bad| {
        MxError::bad_request(format!(
            "`{bad}` cannot be included; use repeating_transactions, merchants, classifications or geolocations."
        ))
    })
}

/// Transactions of the given accounts whose members have been aggregated, newest first.
fn transactions_of(
    accounts: &[AccountRecord],
    members: &HashMap<String, MemberRecord>,
    user: &UserRecord,
    window: Option<(i64, i64)>,
    inc: TransactionIncludes,
) -> Vec<Transaction> {
    let mut out: Vec<(i64, i64, Transaction)> = Vec::new();
    for a in accounts {
        let Some(member) = members.get(a.member_guid.as_str()) else { continue };
        if !member.has_processed_transactions {
            continue;
        }
        let last_day = a.updated_at.unix_day();
        for t in data::transactions_of(a.tenant_id, a.guid.as_str(), a.seed, a.kind, last_day, a.history_days) {
            if window.is_none_or(|(from, to)| t.day >= from && t.day <= to) {
                let mut rendered = Transaction::new(a, &t, user.id.as_deref());
                rendered.enhance(&t, inc);
                out.push((t.day, t.sequence, rendered));
            }
        }
    }
    out.sort_by(|x, y| y.0.cmp(&x.0).then(x.2.account_guid.cmp(&y.2.account_guid)).then(x.1.cmp(&y.1)));
    out.into_iter().map(|(_, _, t)| t).collect()
}

fn render_transactions(v: ApiVersion, txns: &[Transaction], page: PageRequest) -> Response {
    let (items, pagination) = paginate(txns, page);
    v.json(StatusCode::OK, &json!({ "transactions": items, "pagination": pagination }))
}

/// The tenant's day, on its test clock.
async fn today(state: &AppState, tenant: TenantId) -> Result<i64, MxError> {
    let now: Timestamp = state.now(tenant).await?;
    Ok(now.unix_day())
}

pub async fn transactions_by_user(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path(u): Path<String>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let window = date_window(&q, v, today(&state, tenant).await?)?;
    let inc = includes(&q)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let members = members_of(&state, tenant, &user).await?;
    let accounts = all_accounts(&state, tenant, &user, None).await?;
    Ok(render_transactions(v, &transactions_of(&accounts, &members, &user, Some(window), inc), page))
}

pub async fn transactions_by_member(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, m)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let window = date_window(&q, v, today(&state, tenant).await?)?;
    let inc = includes(&q)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), &m).await?;
    let accounts = all_accounts(&state, tenant, &user, Some(&member)).await?;
    let members = HashMap::from([(member.guid.to_string(), member)]);
    Ok(render_transactions(v, &transactions_of(&accounts, &members, &user, Some(window), inc), page))
}

pub async fn transactions_by_account(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, a)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let window = date_window(&q, v, today(&state, tenant).await?)?;
    let inc = includes(&q)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let account = find_account(&state, tenant, &user, &a).await?;
    let member = load_member(&state, tenant, v, user.guid.as_str(), account.member_guid.as_str()).await?;
    let members = HashMap::from([(member.guid.to_string(), member)]);
    Ok(render_transactions(
        v,
        &transactions_of(std::slice::from_ref(&account), &members, &user, Some(window), inc),
        page,
    ))
}

pub async fn read_transaction(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    v: ApiVersion,
    Path((u, t)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, MxError> {
    let inc = includes(&q)?;
    let user = load_user(&state, tenant, v, &u).await?;
    let members = members_of(&state, tenant, &user).await?;
    let accounts = all_accounts(&state, tenant, &user, None).await?;
    let found = transactions_of(&accounts, &members, &user, None, inc)
        .into_iter()
        .find(|x| x.guid == t)
        .ok_or(MxError::NotFound)?;
    // The spec (and so both SDKs) types this response as a one-item list with pagination, while
    // MX's docs show `{"transaction": …}`; both shapes are sent so either reading works.
    let pagination = Pagination::new(PageRequest { page: 1, per_page: 25 }, 1);
    Ok(v.json(StatusCode::OK, &json!({ "transaction": found, "transactions": [found], "pagination": pagination })))
}
