//! Transfer routes: `POST /transfers`, `GET`/`POST /transfers/{id}` (read, cancel),
//! `GET /transfers/{id}/fees`, and `GET /customers/{id}/transfers` and
//! `GET /accounts/{id}/transfers`. Each parses the request, calls one [`crate::transfers`]
//! operation and renders its view.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_core::ids::TenantId;
use openiav_core::payments::TransferStatus;
use openiav_store::repo::transfers::TransferFilter;

use super::{paging, query_pairs};
use crate::accounts;
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::customers::CUSTOMER_NOT_FOUND;
use crate::hal::{self, Paging};
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::customer_of;
use crate::transfers::view::{self, Fees, Transfer, TransferList};
use crate::transfers::{self, rules, CreateTransfer, Found, UpdateTransfer};
use crate::{AppState, DwollaError};

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(request): DwollaJson<CreateTransfer>,
) -> Result<Response, DwollaError> {
    let checked = rules::check(&request)?;
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    let context = state.clone();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let created = transfers::create(c, &context, tenant, checked, now).await?;
            Ok(created.map(|t| Answer::created(&base, &view::path(&t.id))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let found = transfers::find(&state, tenant, &id).await?;
    Ok(hal::ok(&Transfer::of_found(state.base(), &found)?))
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(request): DwollaJson<UpdateTransfer>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let found = transfers::cancel(c, &base, tenant, &id, &request, now).await?;
            Ok(found.and_then(|f| Ok(Answer::ok(&Transfer::of_found(&base, &f)?))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn fees(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let fees = match transfers::find(&state, tenant, &id).await? {
        Found::Transfer(loaded) => loaded.fees,
        Found::Leg(..) => Vec::new(),
    };
    Ok(hal::ok(&Fees::of(state.base(), &fees)?))
}

pub async fn customer_list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_NOT_FOUND).await?;
    let filter = TransferFilter { customer_id: Some(customer.id.clone()), ..TransferFilter::default() };
    list(&state, tenant, &format!("/customers/{}/transfers", customer.id), query.as_deref(), filter).await
}

pub async fn account_list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(account_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    accounts::own_account(tenant, &account_id)?;
    let filter = TransferFilter { account_party: true, ..TransferFilter::default() };
    list(&state, tenant, &format!("/accounts/{tenant}/transfers"), query.as_deref(), filter).await
}

/// A list's filters (`search`, `startAmount`, `endAmount`, `startDate`, `endDate`, `status`,
/// `correlationId`) and paging, read into `filter`; fees are listed with the parties they
/// concern.
async fn list(
    state: &AppState,
    tenant: TenantId,
    path: &str,
    query: Option<&str>,
    mut filter: TransferFilter,
) -> Result<Response, DwollaError> {
    let params = query_pairs(query);
    let (limit, offset) = paging(&params, 25, 200)?;
    let kept = read_filters(&params, &mut filter)?;
    filter.include_fees = true;
    let page = transfers::list(state, tenant, filter, limit, offset).await?;
    let paging = Paging { limit, offset, total: page.total };
    Ok(hal::ok(&TransferList::of(state.base(), path, &kept, &page.items, paging)?))
}

/// Reads the filters of `params` into `filter`; the query the paging links keep.
fn read_filters(params: &[(String, String)], filter: &mut TransferFilter) -> Result<String, DwollaError> {
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let amount = |name: &str| {
            rules::parse_amount(value)
                .ok_or_else(|| DwollaError::invalid(&format!("/{name}"), format!("{name} must be a positive amount.")))
        };
        let date = |name: &str| {
            day_start(value)
                .ok_or_else(|| DwollaError::invalid(&format!("/{name}"), format!("{name} must be a date, YYYY-MM-DD.")))
        };
        match name.as_str() {
            "search" => filter.search = Some(value.to_owned()),
            "startAmount" => filter.min_cents = Some(amount(name)?.0),
            "endAmount" => filter.max_cents = Some(amount(name)?.0),
            "startDate" => filter.created_from = Some(date(name)?),
            // "Created before this date": the whole of that day is kept.
            "endDate" => filter.created_before = Some(date(name)? + 86_400_000),
            "status" => {
                let status: TransferStatus = value.parse().map_err(|_| {
                    DwollaError::invalid("/status", "Status must be one of pending, processed, failed or cancelled.")
                })?;
                filter.statuses.push(status.as_str().to_owned());
            }
            "correlationId" => filter.correlation_id = Some(value.to_owned()),
            _ => continue,
        }
        kept.append_pair(name, value);
    }
    Ok(kept.finish())
}

/// The first millisecond (UTC) of the day `YYYY-MM-DD`.
fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}
