//! `POST /on-demand-authorizations`: stores an authorization and answers its agreement text
//! (200, no request body).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use openiav_store::repo::tenants;

use crate::auth::AppToken;
use crate::idempotency::{self, Answer, Idempotency};
use crate::on_demand_authorizations::{self, OnDemandAuthorization};
use crate::{AppState, DwollaError};

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
) -> Result<Response, DwollaError> {
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let account = tenants::get(c, tenant).await?;
            let authorization = on_demand_authorizations::create(c, tenant, now).await?;
            Ok(Ok(Answer::ok(&OnDemandAuthorization::of(&base, &authorization, &account.name))))
        })
    })
    .await??;
    Ok(answer.into_response())
}
