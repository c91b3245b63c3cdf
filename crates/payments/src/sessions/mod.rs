//! Exchange sessions: a customer's hand-off to an open-banking partner, new or re-authenticating
//! an exchange. An MX session carries a single-use Connect widget URL in verification mode for
//! the customer's own aggregator user (re-authenticating an exchange: opened straight at its
//! member's credentials, in update-credentials mode); a Plaid session carries a link token the
//! Link provider issued for the customer (in update mode for the item of the exchange it
//! re-authenticates); a Visa session the URL of the partner's bank page (which returns through
//! [`crate::visa`]) and the redirect URL it lands on. The hand-off is stored encrypted.

pub mod rules;
pub mod view;

use openiav_store::records::{CustomerRecord, ExchangeRecord, ExchangeSessionRecord};
use openiav_store::repo::{customers, exchange_sessions as repo, tenants};
use openiav_store::{Conn, StoreError};
use serde::Deserialize;

use crate::body::Lenient;
use crate::customers::CUSTOMER_NOT_FOUND;
use crate::error::DwollaCode;
use crate::exchanges::rules::customer_may_connect;
use crate::exchanges::Connection;
use crate::partners::{self, Kind, Partner, PartnerLinks};
use crate::port::VerifierError;
use crate::{AppState, DwollaError};
use rules::RedirectRefusal;

/// `POST /customers/{id}/exchange-sessions` and `POST /exchanges/{id}/exchange-sessions`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OpenSession {
    #[serde(rename = "_links", default)]
    pub links: Option<Lenient<PartnerLinks>>,
}

/// A stored session with its partner and its hand-off decoded.
pub struct Session {
    pub record: ExchangeSessionRecord,
    pub partner: &'static Partner,
    /// The widget URL or Link token, when the partner has one.
    pub hand_off: Option<String>,
}

const REDIRECT_PATH: &str = "/_links/redirect-url/href";

fn hand_off_context(session: &ExchangeSessionRecord) -> String {
    format!("{}/{}/provider_session", session.tenant_id, session.id)
}

fn unsupported() -> DwollaError {
    DwollaError::forbidden("The exchange partner specified does not support this product.")
}

fn inactive() -> DwollaError {
    DwollaError::invalid_resource_state("The customer is not active.")
}

fn verifier_error(e: VerifierError) -> DwollaError {
    DwollaError::internal(format!("account verifier: {e}"))
}

fn refused(refusal: RedirectRefusal) -> DwollaError {
    match refusal {
        RedirectRefusal::Invalid => DwollaError::invalid(REDIRECT_PATH, format!("{REDIRECT_PATH} is invalid.")),
        RedirectRefusal::NotConfigured => DwollaError::invalid(
            REDIRECT_PATH,
            "The provided redirect URL must exactly match one of the configured URLs for the account.",
        ),
    }
}

/// A new session of `customer` with the partner `request` names (not yet saved).
pub async fn prepare(
    state: &AppState,
    customer: &CustomerRecord,
    request: OpenSession,
) -> Result<ExchangeSessionRecord, DwollaError> {
    let links = PartnerLinks::of(&request.links);
    let partner = links.partner(state.config.visa_enabled)?;
    if !rules::offers_sessions(partner.kind) {
        return Err(unsupported());
    }
    hand_over(state, customer, partner, links.redirect_url(), None).await
}

/// A session that re-authenticates `exchange`, of its `customer` (not yet saved).
pub async fn prepare_reauth(
    state: &AppState,
    customer: &CustomerRecord,
    exchange: &ExchangeRecord,
    request: OpenSession,
) -> Result<ExchangeSessionRecord, DwollaError> {
    let partner = partners::of_record(&exchange.partner, "exchange", &exchange.id)?;
    let links = PartnerLinks::of(&request.links);
    hand_over(state, customer, partner, links.redirect_url(), Some(exchange)).await
}

/// Checks the request against the tenant's settings and asks the partner for the hand-off.
async fn hand_over(
    state: &AppState,
    customer: &CustomerRecord,
    partner: &'static Partner,
    redirect: Option<Lenient<&str>>,
    reauthenticates: Option<&ExchangeRecord>,
) -> Result<ExchangeSessionRecord, DwollaError> {
    let tenant = customer.tenant_id;
    let settings = state.store.read(|mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await?;
    let redirect_url = rules::redirect_url(partner.kind, redirect, &settings.redirect_urls).map_err(refused)?;
    if !settings.open_banking {
        return Err(DwollaError::new(DwollaCode::InvalidScope, "Missing or invalid scopes for requested endpoint."));
    }
    // Checked again when the session is saved; here it spares the aggregator a user nobody uses.
    if !customer_may_connect(customer.status) {
        return Err(inactive());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let connection = reauthenticates.map(Connection::of).transpose()?;
    let hand_off = match partner.kind {
        Kind::Mx => {
            let user = aggregator_user(state, customer).await?;
            let url = match &connection {
                Some(Connection::Mx { member, .. }) => state.verifier.reauth_widget_url(tenant, &user, member).await,
                _ => state.verifier.verification_widget_url(tenant, &user).await,
            };
            Some(url.map_err(verifier_error)?)
        }
        Kind::Plaid => {
            // A Plaid exchange logs its item back in: Link opens in update mode for it.
            let update_item = match &connection {
                Some(Connection::Plaid { item, .. }) => Some(item.as_str()),
                _ => None,
            };
            let token = state.link.create_link_token(tenant, &customer.id, update_item).await;
            Some(token.map_err(|e| DwollaError::internal(format!("link provider: {e}")))?)
        }
        // A re-authentication names its partner by the exchange, which may predate the switch.
        Kind::Visa if !state.config.visa_enabled => return Err(unsupported()),
        Kind::Visa => Some(crate::visa::bank_page(state, tenant, &id).await?),
        Kind::TokenOnly | Kind::Checkout => return Err(unsupported()),
    };
    let mut session = ExchangeSessionRecord {
        id,
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        partner: partner.name.to_owned(),
        exchange_id: reauthenticates.map(|e| e.id.clone()),
        redirect_url,
        provider_session: None,
        created_at: state.now(tenant).await?,
    };
    session.provider_session = hand_off.map(|h| state.keyring.encrypt(&hand_off_context(&session), h.as_bytes()));
    Ok(session)
}

/// The customer's aggregator user, created on first use. A user another request saved first
/// wins, so every session of a customer opens the same user's widget.
async fn aggregator_user(state: &AppState, customer: &CustomerRecord) -> Result<String, DwollaError> {
    if let Some(user) = &customer.aggregator_user {
        return Ok(user.clone());
    }
    let created = state.verifier.create_user(customer.tenant_id, &customer.id).await.map_err(verifier_error)?;
    let (tenant, id, now) = (customer.tenant_id, customer.id.clone(), state.now(customer.tenant_id).await?);
    let user = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut customer) = customers::find_for_update(c, tenant, &id).await? else {
                    return Err(StoreError::NotFound);
                };
                if let Some(user) = customer.aggregator_user {
                    return Ok(user);
                }
                customer.aggregator_user = Some(created.clone());
                customer.updated_at = now;
                customers::save(c, &customer).await?;
                Ok(created)
            })
        })
        .await?;
    Ok(user)
}

/// Saves a prepared session, if its customer (as it stands in this write) may still connect.
pub async fn create(
    conn: &mut Conn,
    session: ExchangeSessionRecord,
) -> Result<Result<ExchangeSessionRecord, DwollaError>, StoreError> {
    match customers::find_for_update(conn, session.tenant_id, &session.customer_id).await? {
        Some(owner) if customer_may_connect(owner.status) => {}
        Some(_) => return Ok(Err(inactive())),
        None => return Ok(Err(DwollaError::not_found(CUSTOMER_NOT_FOUND))),
    }
    repo::insert(conn, &session).await?;
    Ok(Ok(session))
}

/// Decodes a stored session: its partner and its decrypted hand-off.
pub fn decode(state: &AppState, record: ExchangeSessionRecord) -> Result<Session, DwollaError> {
    let partner = partners::of_record(&record.partner, "exchange session", &record.id)?;
    let hand_off = match &record.provider_session {
        None => None,
        Some(blob) => {
            let plain = state.keyring.decrypt(&hand_off_context(&record), blob).map_err(|e| {
                DwollaError::internal(format!("exchange session {}: column provider_session: {e}", record.id))
            })?;
            Some(String::from_utf8(plain).map_err(|e| {
                DwollaError::internal(format!("exchange session {}: column provider_session: {e}", record.id))
            })?)
        }
    };
    Ok(Session { record, partner, hand_off })
}
