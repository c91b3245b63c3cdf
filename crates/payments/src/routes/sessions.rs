//! Exchange sessions: `POST /customers/{id}/exchange-sessions`, the re-authentication variant
//! `POST /exchanges/{id}/exchange-sessions`, and `GET /exchange-sessions/{id}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use openiav_store::records::ExchangeSessionRecord;
use openiav_store::repo::{exchange_sessions, exchanges};

use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::customers::CUSTOMER_NOT_FOUND;
use crate::hal;
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::{customer_of, find_or_404};
use crate::sessions::{self, view, OpenSession};
use crate::{AppState, DwollaError};

/// Saves a prepared session under the request's idempotency key and answers 201.
async fn save(
    state: &AppState,
    idempotency: Idempotency,
    session: ExchangeSessionRecord,
) -> Result<Response, DwollaError> {
    let base = state.base().to_owned();
    let answer = idempotency::answer(
        state,
        idempotency,
        move |c| Box::pin(sessions::create(c, session)),
        move |s| Answer::created(&base, &view::path(&s.id)),
    )
    .await?;
    Ok(answer.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(request): DwollaJson<OpenSession>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_NOT_FOUND).await?;
    let session = sessions::prepare(&state, &customer, request).await?;
    save(&state, idempotency, session).await
}

pub async fn create_reauth(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(exchange_id): Path<String>,
    DwollaJson(request): DwollaJson<OpenSession>,
) -> Result<Response, DwollaError> {
    let exchange = find_or_404(
        &state,
        &exchange_id,
        "The requested resource was not found. Check Exchange ID.",
        |mut c, id| async move { exchanges::find(&mut c, tenant, &id).await },
    )
    .await?;
    let customer = customer_of(&state, tenant, &exchange.customer_id, CUSTOMER_NOT_FOUND).await?;
    let session = sessions::prepare_reauth(&state, &customer, &exchange, request).await?;
    save(&state, idempotency, session).await
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let record =
        find_or_404(&state, &id, "Exchange session not found. Check Exchange Session ID.", |mut c, id| async move {
            exchange_sessions::find(&mut c, tenant, &id).await
        })
        .await?;
    Ok(hal::ok(&view::of(state.base(), &sessions::decode(&state, record)?)))
}
