//! Funding-source routes: `POST`/`GET /customers/{id}/funding-sources`, `GET`/`POST
//! /funding-sources/{id}` and `GET /funding-sources/{id}/balance`. Each parses the request,
//! calls one [`crate::funding_sources`] operation and renders its view.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_store::StoreError;

use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::customers::CUSTOMER_NOT_FOUND;
use crate::funding_sources::view::{self, Balance, DwollaBalance, FundingSource, FundingSourceList};
use crate::funding_sources::{self, CreateFundingSource, SourceBalance, UpdateFundingSource};
use crate::hal;
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::customer_of;
use crate::{AppState, DwollaError};

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(request): DwollaJson<CreateFundingSource>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, funding_sources::CUSTOMER_MISSING).await?;
    let new = funding_sources::prepare(&state, &customer, &request).await?;
    let twin = new.clone();
    let authorization = request.on_demand_authorization_href().map(str::to_owned);
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    let written = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let created = funding_sources::create(c, &base, new, authorization.as_deref(), now).await?;
            Ok(created.map(|f| Answer::created(&base, &view::path(&f.id))))
        })
    })
    .await;
    let answer = match written {
        // A concurrent create of the same account committed first.
        Err(StoreError::Conflict(_)) => return Err(funding_sources::duplicate_of(&state, &twin).await),
        other => other??,
    };
    Ok(answer.into_response())
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let source = funding_sources::find(&state, tenant, &id).await?;
    let deposits = funding_sources::micro_deposits_of(&state, &source).await?;
    Ok(hal::ok(&FundingSource::of(state.base(), &source, deposits.as_ref())?))
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_NOT_FOUND).await?;
    let removed = super::removed_filter(query.as_deref())?;
    let (sources, deposits) = funding_sources::list(&state, &customer, removed).await?;
    Ok(hal::ok(&FundingSourceList::of(state.base(), &customer.id, &sources, &deposits)?))
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(request): DwollaJson<UpdateFundingSource>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let now = state.now(tenant).await?;
    let context = state.clone();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let updated = funding_sources::update(c, &context, tenant, &id, &request, now).await?;
            Ok(updated.and_then(|(source, deposits)| {
                Ok(Answer::ok(&FundingSource::of(context.base(), &source, deposits.as_ref())?))
            }))
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn balance(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(match funding_sources::balance(&state, tenant, &id).await? {
        SourceBalance::Held(source) => hal::ok(&DwollaBalance::of(state.base(), &source)),
        SourceBalance::Bank(source, numbers) => {
            hal::ok(&Balance::of(state.base(), &source, &numbers, state.now(tenant).await?))
        }
    })
}
