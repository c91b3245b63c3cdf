//! Exchanges: `GET /customers/{id}/available-exchange-connections` (the accounts the customer
//! verified in MX's widget, each with the token Dwolla encodes for it), `POST`/`GET`
//! `/customers/{id}/exchanges` and `GET /exchanges/{id}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use openiav_store::repo::exchanges as repo;

use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::exchanges::{self, view, CreateExchange};
use crate::hal;
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::customer_of;
use crate::{AppState, DwollaError};

const CUSTOMER_ID_NOT_FOUND: &str = "Customer ID not found. Check Customer ID.";

pub async fn available_connections(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer =
        customer_of(&state, tenant, &customer_id, "The requested resource was not found. Check Customer ID.").await?;
    let accounts = exchanges::available_connections(&state, &customer).await?;
    Ok(hal::ok(&view::available_connections(state.base(), &customer.id, &accounts)))
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(request): DwollaJson<CreateExchange>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_ID_NOT_FOUND).await?;
    let exchange = exchanges::prepare(&state, &customer, request).await?;
    let base = state.base().to_owned();
    let answer = idempotency::answer(
        &state,
        idempotency,
        move |c| Box::pin(exchanges::create(c, exchange)),
        move |e| Answer::created(&base, &view::path(&e)),
    )
    .await?;
    Ok(answer.into_response())
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let exchange = exchanges::find(&state, tenant, &id)
        .await?
        .ok_or_else(|| DwollaError::not_found("The requested resource was not found. Check Exchange ID."))?;
    Ok(hal::ok(&view::of(state.base(), &exchange)?))
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_ID_NOT_FOUND).await?;
    let cid = customer.id.clone();
    let found = state.store.read(|mut c| async move { repo::list_for_customer(&mut c, tenant, &cid).await }).await?;
    Ok(hal::ok(&view::list(state.base(), &customer.id, &found)?))
}
