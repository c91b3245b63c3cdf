//! `POST /sandbox-simulations`: parses the body ([`crate::simulations::rules`]), runs the bank
//! processing (pending bank transfers and micro-deposits, in one write) or the exchange
//! simulation it asks for, and renders the simulation's view.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::funding_sources::micro_deposits;
use crate::funding_sources::view::Simulation;
use crate::idempotency::{self, Answer, Idempotency};
use crate::simulations::rules::{self, SimulationRequest};
use crate::simulations::{self, rules::Simulation as Simulated};
use crate::transfers::processing;
use crate::{AppState, DwollaError};

pub async fn simulate(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(request): DwollaJson<SimulationRequest>,
) -> Result<Response, DwollaError> {
    let (base, now) = (state.base().to_owned(), state.now(tenant).await?);
    match rules::decide(&request)? {
        Simulated::BankProcessing => {
            let answer = idempotency::write(&state, idempotency, move |c| {
                Box::pin(async move {
                    let legs = processing::process(c, &base, tenant, now).await?;
                    let deposits = micro_deposits::simulate(c, &base, tenant, now).await?;
                    let processed = legs + deposits;
                    Ok(Ok(Answer::ok(&Simulation::of(&base, processed))))
                })
            })
            .await??;
            Ok(answer.into_response())
        }
        Simulated::ReauthRequired { exchange_id } => {
            let answer = Answer::ok(&Simulation::of_exchange(&base, &exchange_id));
            let answer = simulations::reauth_required(&state, tenant, idempotency, &exchange_id, answer).await?;
            Ok(answer.into_response())
        }
    }
}
