//! Exchange sessions: `POST /customers/{id}/exchange-sessions`, the re-authentication variant
//! `POST /exchanges/{id}/exchange-sessions`, and `GET /exchange-sessions/{id}`. An MX session
//! carries a single-use Connect widget URL in verification mode for the customer's own
//! aggregator user; a Plaid session carries a Link token.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use openiav_core::ids::TenantId;
use openiav_store::records::{CustomerRecord, ExchangeSessionRecord};
use openiav_store::repo::{customers, exchange_sessions, exchanges, tenants};
use serde_json::{json, Value};

use super::{customer_of, find_or_404, CUSTOMER_NOT_FOUND};
use crate::auth::AppToken;

use crate::body::{is_http_url, DwollaJson};
use crate::error::DwollaCode;
use crate::hal::{self, id_from_href, link};
use crate::idempotency::{self, Answer, Idempotency};
use crate::partners::{self, Kind, Partner};
use crate::port::VerifierError;
use crate::{AppState, DwollaError};

const PARTNER_PATH: &str = "/_links/exchange-partner/href";
const REDIRECT_PATH: &str = "/_links/redirect-url/href";

fn provider_context(tenant: TenantId, session: &str) -> String {
    format!("{tenant}/{session}/provider_session")
}

/// An Android package name (`com.example.app`), which Plaid takes in place of a redirect URL.
fn is_package_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Checks the redirect URL a partner needs (seed 004's rules).
async fn check_redirect(
    state: &AppState,
    tenant: TenantId,
    partner: &Partner,
    redirect: Option<&Value>,
) -> Result<Option<String>, DwollaError> {
    let redirect = match redirect {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => return Err(DwollaError::invalid(REDIRECT_PATH, "/_links/redirect-url/href is invalid.")),
    };
    match partner.kind {
        Kind::Visa => {
            let url = redirect
                .filter(|u| is_http_url(u))
                .ok_or_else(|| DwollaError::invalid(REDIRECT_PATH, "/_links/redirect-url/href is invalid."))?;
            let settings =
                state.store.read(|mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await?;
            if !settings.redirect_urls.contains(&url) {
                return Err(DwollaError::invalid(
                    REDIRECT_PATH,
                    "The provided redirect URL must exactly match one of the configured URLs for the account.",
                ));
            }
            Ok(Some(url))
        }
        Kind::Plaid => match redirect {
            // Web: none. iOS: an HTTP(S) URL. Android: anything else is a package name.
            None => Ok(None),
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => is_http_url(&u)
                .then_some(Some(u))
                .ok_or_else(|| DwollaError::invalid(REDIRECT_PATH, "/_links/redirect-url/href is invalid.")),
            Some(p) if is_package_name(&p) => Ok(Some(p)),
            Some(_) => Err(DwollaError::invalid(REDIRECT_PATH, "/_links/redirect-url/href is invalid.")),
        },
        _ => Ok(redirect.filter(|u| is_http_url(u))),
    }
}

fn unsupported() -> DwollaError {
    DwollaError::forbidden("The exchange partner specified does not support this product.")
}

fn verifier_error(e: VerifierError) -> DwollaError {
    DwollaError::internal(format!("account verifier: {e}"))
}

/// The customer's aggregator user, created on first use.
async fn aggregator_user(state: &AppState, customer: &CustomerRecord) -> Result<String, DwollaError> {
    if let Some(user) = &customer.aggregator_user {
        return Ok(user.clone());
    }
    let user = state.verifier.create_user(customer.tenant_id, &customer.id).await.map_err(verifier_error)?;
    let mut saved = customer.clone();
    saved.aggregator_user = Some(user.clone());
    saved.updated_at = state.clock.now();
    state.store.write(move |c| Box::pin(async move { customers::save(c, &saved).await })).await?;
    Ok(user)
}

/// Opens a session with `partner` for `customer` (a re-authentication when `exchange_id` is set).
async fn open_session(
    state: &AppState,
    customer: &CustomerRecord,
    partner: &'static Partner,
    redirect: Option<String>,
    exchange_id: Option<String>,
    idempotency: Idempotency,
) -> Result<Response, DwollaError> {
    let tenant = customer.tenant_id;
    let settings = state.store.read(|mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await?;
    if !settings.open_banking {
        return Err(DwollaError::new(DwollaCode::InvalidScope, "Missing or invalid scopes for requested endpoint."));
    }
    if matches!(customer.status.as_str(), "deactivated" | "suspended") {
        return Err(DwollaError::invalid_resource_state("The customer is not active."));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let provider = match partner.kind {
        Kind::Mx => {
            let user = aggregator_user(state, customer).await?;
            Some(state.verifier.verification_widget_url(tenant, &user).await.map_err(verifier_error)?)
        }
        Kind::Plaid => Some(format!("link-sandbox-{}", uuid::Uuid::new_v4())),
        Kind::Visa => None,
        Kind::TokenOnly | Kind::Checkout => return Err(unsupported()),
    };
    let record = ExchangeSessionRecord {
        provider_session: provider.map(|p| state.keyring.encrypt(&provider_context(tenant, &id), p.as_bytes())),
        id: id.clone(),
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        partner: partner.name.to_owned(),
        exchange_id,
        redirect_url: redirect,
        created_at: state.clock.now(),
    };
    let base = state.base().to_owned();
    let answer = idempotency::write(state, idempotency, move |c| {
        Box::pin(async move {
            exchange_sessions::insert(c, &record).await?;
            Ok(Ok(Answer::created(&base, &format!("/exchange-sessions/{id}"))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

fn partner_of(state: &AppState, body: &Value) -> Result<&'static Partner, DwollaError> {
    body.pointer(PARTNER_PATH)
        .and_then(Value::as_str)
        .and_then(|href| id_from_href(href, "exchange-partners"))
        .and_then(|id| partners::find(&id, state.config.visa_enabled))
        .ok_or_else(|| DwollaError::invalid(PARTNER_PATH, "/_links/exchange-partner/href is invalid."))
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, CUSTOMER_NOT_FOUND).await?;
    let partner = partner_of(&state, &body)?;
    if matches!(partner.kind, Kind::TokenOnly | Kind::Checkout) {
        return Err(unsupported());
    }
    let redirect = check_redirect(&state, tenant, partner, body.pointer(REDIRECT_PATH)).await?;
    open_session(&state, &customer, partner, redirect, None, idempotency).await
}

pub async fn create_reauth(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(exchange_id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let exchange = find_or_404(
        &state,
        &exchange_id,
        "The requested resource was not found. Check Exchange ID.",
        |mut c, id| async move { exchanges::find(&mut c, tenant, &id).await },
    )
    .await?;
    let partner = partners::by_name(&exchange.partner).ok_or_else(unsupported)?;
    let customer = customer_of(&state, tenant, &exchange.customer_id, CUSTOMER_NOT_FOUND).await?;
    let redirect = check_redirect(&state, tenant, partner, body.pointer(REDIRECT_PATH)).await?;
    open_session(&state, &customer, partner, redirect, Some(exchange.id), idempotency).await
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let session =
        find_or_404(&state, &id, "Exchange session not found. Check Exchange Session ID.", |mut c, id| async move {
            exchange_sessions::find(&mut c, tenant, &id).await
        })
        .await?;
    let base = state.base();
    let partner = partners::by_name(&session.partner);
    let mut links = json!({
        "self": link(base, &format!("/exchange-sessions/{}", session.id), "exchange-sessions"),
        "exchange-partner": link(base, &format!("/exchange-partners/{}", partner.map_or("", |p| p.id)), "exchange-partner"),
    });
    let mut body = json!({ "created": session.created_at.to_rfc3339_millis() });
    if let Some(blob) = &session.provider_session {
        let plain = state
            .keyring
            .decrypt(&provider_context(tenant, &session.id), blob)
            .map_err(|e| DwollaError::internal(format!("decrypting an exchange session: {e}")))?;
        let provider = String::from_utf8_lossy(&plain).into_owned();
        match partner.map(|p| p.kind) {
            Some(Kind::Plaid) => body["externalProviderSessionToken"] = json!(provider),
            _ => {
                links["external-provider-session"] =
                    json!({ "href": provider, "type": hal::HAL, "resource-type": "text/html" });
            }
        }
    }
    body["_links"] = links;
    Ok(hal::ok(&body))
}
