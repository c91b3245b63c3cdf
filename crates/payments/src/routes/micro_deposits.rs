//! Micro-deposit routes: `POST /funding-sources/{id}/micro-deposits` (no amounts initiates,
//! `amount1`/`amount2` verify) and `GET` for their details. Each parses the request, calls one
//! [`crate::funding_sources::micro_deposits`] operation and renders its view.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::funding_sources::micro_deposits::{self, rules, MicroDepositsRequest};
use crate::funding_sources::view::{self, MicroDeposits, MicroDepositsVerified};
use crate::hal;
use crate::idempotency::{self, Answer, Idempotency};
use crate::{AppState, DwollaError};

pub async fn post(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(request): DwollaJson<MicroDepositsRequest>,
) -> Result<Response, DwollaError> {
    let id = id.to_ascii_lowercase();
    let amounts = request.verifies().then(|| rules::amounts_of(&request));
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            Ok(match amounts {
                None => micro_deposits::initiate(c, &base, tenant, &id, now)
                    .await?
                    .map(|source| Answer::created(&base, &view::micro_deposits_path(&source.id))),
                Some(amounts) => micro_deposits::verify(c, &base, tenant, &id, amounts, now)
                    .await?
                    .map(|source| Answer::ok(&MicroDepositsVerified::of(&base, &source))),
            })
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn details(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let (source, deposits) = micro_deposits::details(&state, tenant, &id).await?;
    Ok(hal::ok(&MicroDeposits::of(state.base(), &source, &deposits)))
}
