//! Exchanges: `GET /customers/{id}/available-exchange-connections` (the accounts the customer
//! verified in MX's widget, each with the token Dwolla encodes for it), `POST`/`GET`
//! `/customers/{id}/exchanges` and `GET /exchanges/{id}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openiav_core::ids::TenantId;
use openiav_core::payments::ExchangeStatus;
use openiav_store::records::ExchangeRecord;
use openiav_store::repo::{customers, exchanges as repo, tenants};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::customer_of;
use crate::auth::AppToken;
use crate::body::DwollaJson;
use crate::error::{DwollaCode, FieldError};
use crate::hal::{self, id_from_href, link};
use crate::idempotency::{self, Answer, Idempotency};
use crate::partners::{self, Kind};
use crate::port::VerifiedAccount;
use crate::{AppState, DwollaError};

/// What an MX available-connection token encodes (Dwolla: base64 of this JSON).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionToken {
    account_id: String,
    member_id: String,
}

/// The partner account an exchange reads, stored as JSON on the exchange.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "partner", rename_all = "snake_case")]
pub enum Connection {
    Mx { member: String, account: String, name: String },
    Plaid { public_token: String },
}

impl Connection {
    pub fn of(exchange: &ExchangeRecord) -> Result<Self, DwollaError> {
        serde_json::from_str(&exchange.connection)
            .map_err(|e| DwollaError::internal(format!("decoding an exchange's connection: {e}")))
    }
}

fn invalid_token() -> DwollaError {
    DwollaError::new(DwollaCode::InvalidExchangeToken, "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.",
    )
}

/// The accounts the customer verified at the aggregator (none before their first session).
async fn verified_accounts(
    state: &AppState,
    tenant: TenantId,
    user: Option<&str>,
) -> Result<Vec<VerifiedAccount>, DwollaError> {
    let Some(user) = user else { return Ok(Vec::new()) };
    state
        .verifier
        .verified_accounts(tenant, user)
        .await
        .map_err(|e| DwollaError::internal(format!("account verifier: {e}")))
}

pub async fn available_connections(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer =
        customer_of(&state, tenant, &customer_id, "The requested resource was not found. Check Customer ID.").await?;
    let accounts = verified_accounts(&state, tenant, customer.aggregator_user.as_deref()).await?;
    let connections: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let token =
                serde_json::to_vec(&ConnectionToken { account_id: a.account.clone(), member_id: a.member.clone() })
                    .expect("token serialises");
            json!({
                "availableConnectionToken": base64::engine::general_purpose::STANDARD.encode(token),
                "name": a.name,
            })
        })
        .collect();
    let base = state.base();
    let path = format!("/customers/{}", customer.id);
    Ok(hal::ok(&json!({
        "_links": {
            "self": link(base, &format!("{path}/available-exchange-connections"), "customer"),
            "customers": link(base, &path, "customer"),
        },
        "_embedded": { "available-exchange-connections": connections },
    })))
}

pub fn render(base: &str, e: &ExchangeRecord) -> Value {
    let partner = partners::by_name(&e.partner).map_or("", |p| p.id);
    json!({
        "_links": {
            "self": link(base, &format!("/exchanges/{}", e.id), "exchange"),
            "exchange-partner": link(base, &format!("/exchange-partners/{partner}"), "exchange-partner"),
            "customer": link(base, &format!("/customers/{}", e.customer_id), "customer"),
            "funding-sources": link(base, "/funding-sources", "funding-source"),
        },
        "id": e.id,
        "status": e.status,
        "created": e.created_at.to_rfc3339_millis(),
    })
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(customer_id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, "Customer ID not found. Check Customer ID.").await?;
    let settings = state.store.read(|mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await?;
    if !settings.open_banking {
        return Err(DwollaError::new(DwollaCode::InvalidScope, "The scopes for creating an exchange resource for a customer is not enabled for this application. Reach out to Dwolla for more information.",
        ));
    }
    let partner = body
        .pointer("/_links/exchange-partner/href")
        .and_then(Value::as_str)
        .and_then(|href| id_from_href(href, "exchange-partners"))
        .and_then(|id| partners::find(&id, state.config.visa_enabled))
        .ok_or_else(|| {
            DwollaError::invalid("/_links/exchange-partner/href", "/_links/exchange-partner/href is invalid.")
        })?;
    let connection = match partner.kind {
        Kind::Mx => {
            let token = body.pointer("/mx/availableConnectionToken").and_then(Value::as_str).ok_or_else(|| {
                DwollaError::validation(vec![FieldError::required(
                    "/mx/availableConnectionToken",
                    "AvailableConnectionToken required.",
                )])
            })?;
            let decoded: ConnectionToken = base64::engine::general_purpose::STANDARD
                .decode(token.trim())
                .ok()
                .and_then(|raw| serde_json::from_slice(&raw).ok())
                .ok_or_else(invalid_token)?;
            let accounts = verified_accounts(&state, tenant, customer.aggregator_user.as_deref()).await?;
            let account = accounts
                .into_iter()
                .find(|a| a.account == decoded.account_id && a.member == decoded.member_id)
                .ok_or_else(invalid_token)?;
            Connection::Mx { member: account.member, account: account.account, name: account.name }
        }
        Kind::Plaid => {
            let token = body.pointer("/plaid/publicToken").and_then(Value::as_str).ok_or_else(|| {
                DwollaError::validation(vec![FieldError::required("/plaid/publicToken", "PublicToken required.")])
            })?;
            if !token.starts_with("public-sandbox-") || token.len() < 20 {
                return Err(invalid_token());
            }
            Connection::Plaid { public_token: token.to_owned() }
        }
        // Visa creates its own exchanges; token exchanges (secure exchange) are not offered here.
        Kind::Visa | Kind::TokenOnly | Kind::Checkout => return Err(invalid_token()),
    };
    let record = ExchangeRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        customer_id: customer.id,
        partner: partner.name.to_owned(),
        status: ExchangeStatus::Active,
        connection: serde_json::to_string(&connection).expect("connection serialises"),
        created_at: state.clock.now(),
    };
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            // The customer may have been deactivated or suspended since it was read.
            match customers::find_for_update(c, tenant, &record.customer_id).await? {
                Some(owner) if !matches!(owner.status.as_str(), "deactivated" | "suspended") => {}
                Some(_) => return Ok(Err(DwollaError::invalid_resource_state("The customer is not active."))),
                None => return Ok(Err(DwollaError::not_found("Customer ID not found. Check Customer ID."))),
            }
            repo::insert(c, &record).await?;
            Ok(Ok(Answer::created(&base, &format!("/exchanges/{}", record.id))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

/// The tenant's exchange `id`.
pub(crate) async fn exchange_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<Option<ExchangeRecord>, DwollaError> {
    let id = id.to_ascii_lowercase();
    Ok(state.store.read(|mut c| async move { repo::find(&mut c, tenant, &id).await }).await?)
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let exchange = exchange_of(&state, tenant, &id)
        .await?
        .ok_or_else(|| DwollaError::not_found("The requested resource was not found. Check Exchange ID."))?;
    Ok(hal::ok(&render(state.base(), &exchange)))
}

pub async fn list(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(customer_id): Path<String>,
) -> Result<Response, DwollaError> {
    let customer = customer_of(&state, tenant, &customer_id, "Customer ID not found. Check Customer ID.").await?;
    let cid = customer.id.clone();
    let found = state.store.read(|mut c| async move { repo::list_for_customer(&mut c, tenant, &cid).await }).await?;
    let base = state.base();
    let list: Vec<Value> = found.iter().map(|e| render(base, e)).collect();
    Ok(hal::ok(&json!({
        "_links": { "self": link(base, &format!("/customers/{}/exchanges", customer.id), "exchange") },
        "_embedded": { "exchanges": list },
        "total": list.len(),
    })))
}
