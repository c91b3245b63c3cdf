//! `POST /sandbox-simulations`: the sandbox's bank processing (pending micro-deposits, as the
//! empty call always has) and the exchange simulations a body asks for ([`rules`]): an MX
//! exchange whose member loses its connection at the aggregator (or a Plaid exchange whose item
//! needs a new login), found lost by reading it as the balance does, so `customer_exchange_reauth_required` is recorded by the same call.

pub mod rules;

use openiav_core::ids::TenantId;

use crate::customers::CUSTOMER_NOT_FOUND;
use crate::exchanges::{self, Connection};
use crate::funding_sources;
use crate::idempotency::{self, Answer, Idempotency};
use crate::lookup::customer_of;
use crate::port::{LinkProviderError, VerifierError};
use crate::{AppState, DwollaCode, DwollaError};

const EXCHANGE_MISSING: &str = "The requested resource was not found. Check Exchange ID.";

/// Makes the tenant's exchange `exchange_id` need re-authentication: its partner connection is
/// lost at the partner, then read back; the loss is noted on the exchange (its mark and event)
/// in the write that records this call's answer, `answer`.
pub async fn reauth_required(
    state: &AppState,
    tenant: TenantId,
    idempotency: Idempotency,
    exchange_id: &str,
    answer: Answer,
) -> Result<Answer, DwollaError> {
    let exchange =
        exchanges::find(state, tenant, exchange_id).await?.ok_or_else(|| DwollaError::not_found(EXCHANGE_MISSING))?;
    let customer = customer_of(state, tenant, &exchange.customer_id, CUSTOMER_NOT_FOUND).await?;
    match Connection::of(&exchange)? {
        Connection::Mx { member, .. } => {
            let user = customer.aggregator_user.as_deref().ok_or_else(|| DwollaError::not_found(EXCHANGE_MISSING))?;
            state.verifier.simulate_lost_connection(tenant, user, &member).await.map_err(|e| match e {
                VerifierError::NotFound => DwollaError::not_found(EXCHANGE_MISSING),
                other => DwollaError::internal(format!("account verifier: {other}")),
            })?;
        }
        Connection::Plaid { item, .. } => {
            state.link.require_login(tenant, &item).await.map_err(|e| match e {
                LinkProviderError::NotFound => DwollaError::not_found(EXCHANGE_MISSING),
                other => DwollaError::internal(format!("link provider: {other}")),
            })?;
        }
        // Partners whose connections openiav cannot take away answer that they do not offer it.
        _ => {
            return Err(DwollaError::new(
                DwollaCode::UnsupportedOperation,
                "Simulating re-authentication is not supported for this exchange partner.",
            ))
        }
    }
    let read = funding_sources::probe_exchange(state, &customer, &exchange).await?;
    if read.usable != Some(false) {
        return Err(DwollaError::internal(format!(
            "exchange {}: still readable after losing its connection",
            exchange.id
        )));
    }
    let (base, now) = (state.base().to_owned(), state.now(customer.tenant_id).await?);
    let id = exchange.id.clone();
    let written = idempotency::write(state, idempotency, move |c| {
        Box::pin(async move {
            exchanges::note_connection(c, &base, tenant, &id, false, now).await?;
            Ok(Ok(answer))
        })
    })
    .await??;
    Ok(written)
}
