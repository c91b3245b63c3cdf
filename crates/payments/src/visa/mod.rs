//! Dwolla's side of the Visa partner: the bank page a Visa exchange session hands over, and
//! Dwolla's redirect endpoint (`GET /redirect/tink`) the page sends the browser back to. The
//! endpoint makes the exchange itself (Visa has no exchange call) and lands the browser on the
//! session's redirect URL with `?exchange=<id>` or `?error=<CODE>`.
//!
//! A session's `state` is random, kept only as its hash, and spent once: the write that spends
//! it also makes the exchange (or re-activates the one a re-authentication session is for), so
//! of two redirects racing for one session exactly one lands with an exchange.

pub mod rules;

use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::TenantId;
use openiav_core::payments::ExchangeStatus;
use openiav_core::visa::VisaError;
use openiav_store::records::{ExchangeRecord, ExchangeSessionStateRecord};
use openiav_store::repo::{exchange_session_states as states, exchange_sessions, exchanges as exchange_repo};
use serde::Deserialize;

use crate::exchanges::{self, Connection};
use crate::partners::{self, Kind};
use crate::port::VerifierError;
use crate::{AppState, DwollaCode, DwollaError};
use rules::{Landing, Outcome};

/// Dwolla's redirect endpoint, where the bank page sends the browser back.
pub const CALLBACK_PATH: &str = "/redirect/tink";

/// How long a Visa session's state waits for the partner's redirect.
pub const STATE_TTL_MS: i64 = 60 * 60_000;

/// The query of the partner's redirect.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

fn partner_error(e: VerifierError) -> DwollaError {
    DwollaError::internal(format!("visa partner: {e}"))
}

fn invalid_state() -> DwollaError {
    DwollaError::bad_request("The exchange session is not valid: it was already used, has expired or does not exist.")
}

fn invalid_code() -> DwollaError {
    DwollaError::bad_request("The authorization code is not valid: it was already used, has expired or does not exist.")
}

/// Mints the bank page for the new session `session` of `tenant` and keeps the hash of the
/// state it returns with; returns the page's URL.
pub async fn bank_page(state: &AppState, tenant: TenantId, session: &str) -> Result<String, DwollaError> {
    let token = random_url_token();
    let callback = format!("{}{CALLBACK_PATH}", state.base());
    let url = state.visa.bank_page_url(tenant, session, &callback, &token).await.map_err(partner_error)?;
    let now = state.now(tenant).await?;
    let record = ExchangeSessionStateRecord {
        state_hash: hash_token(&token),
        session_id: session.to_owned(),
        tenant_id: tenant,
        expires_at: now.plus_millis(STATE_TTL_MS),
        used_at: None,
        created_at: now,
    };
    state.store.write(move |c| Box::pin(async move { states::insert(c, &record).await })).await?;
    Ok(url)
}

/// Answers the partner's redirect: the URL the browser lands on.
pub async fn complete(state: &AppState, callback: Callback) -> Result<String, DwollaError> {
    let token = callback.state.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(invalid_state)?;
    let outcome = rules::outcome(callback.code.as_deref(), callback.error.as_deref())
        .ok_or_else(|| DwollaError::bad_request("The redirect carries neither a code nor an error."))?;
    let state_hash = hash_token(token);
    // Real time: the store compares it with the tenant's clock in SQL.
    let now = state.clock.now();
    let hash = state_hash.clone();
    let live = state.store.read(|mut c| async move { states::find_live(&mut c, &hash, now).await }).await?;
    let live = live.ok_or_else(invalid_state)?;
    let (tenant, session_id) = (live.tenant_id, live.session_id.clone());
    let found =
        state.store.read(|mut c| async move { exchange_sessions::find(&mut c, tenant, &session_id).await }).await?;
    let session = found.ok_or_else(invalid_state)?;
    let partner = partners::of_record(&session.partner, "exchange session", &session.id)?;
    let redirect_url = match (partner.kind, session.redirect_url.clone()) {
        (Kind::Visa, Some(url)) => url,
        _ => return Err(invalid_state()),
    };
    let chosen = match outcome {
        Outcome::Error(error) => Err(error),
        Outcome::Code(code) => {
            let account = state.visa.redeem_code(tenant, &session.id, code).await.map_err(partner_error)?;
            Ok(account.ok_or_else(invalid_code)?)
        }
    };
    // A new exchange is prepared (its numbers sealed) before the write; a re-authentication
    // keeps the exchange it is for.
    let change = match (chosen, session.exchange_id.clone()) {
        (Err(error), _) => Change::None(error),
        (Ok(_), Some(exchange_id)) => Change::Reactivate(exchange_id),
        (Ok(account), None) => {
            let id = uuid::Uuid::new_v4().to_string();
            let connection = Connection::visa(&state.keyring, tenant, &id, &account);
            Change::Create(ExchangeRecord {
                id,
                tenant_id: tenant,
                customer_id: session.customer_id.clone(),
                partner: partner.name.to_owned(),
                status: ExchangeStatus::Active,
                connection: serde_json::to_string(&connection).expect("connection serialises"),
                created_at: now,
                reauth_required_at: None,
            })
        }
    };
    let landing = state
        .store
        .write(move |c| {
            Box::pin(async move {
                if states::spend(c, &state_hash, now).await?.is_none() {
                    return Ok(Err(invalid_state()));
                }
                match change {
                    Change::None(error) => Ok(Ok(Landing::Error(error))),
                    Change::Create(exchange) => {
                        Ok(exchanges::create(c, exchange).await?.map(|e| Landing::Exchange(e.id)))
                    }
                    Change::Reactivate(id) => {
                        let Some(mut exchange) = exchange_repo::find_for_update(c, tenant, &id).await? else {
                            return Ok(Err(DwollaError::not_found("The requested resource was not found.")));
                        };
                        if exchange.status == ExchangeStatus::Removed {
                            return Ok(Err(DwollaError::new(
                                DwollaCode::InactiveExchange,
                                "The Exchange was removed or disabled.",
                            )));
                        }
                        exchange.status = ExchangeStatus::Active;
                        exchange.reauth_required_at = None;
                        exchange_repo::save(c, &exchange).await?;
                        Ok(Ok(Landing::Exchange(exchange.id)))
                    }
                }
            })
        })
        .await??;
    Ok(rules::landing_url(&redirect_url, &landing))
}

/// What the redirect changes, decided before the write that spends the state.
enum Change {
    /// Nothing: the flow ended with `error`.
    None(VisaError),
    Create(ExchangeRecord),
    Reactivate(String),
}
