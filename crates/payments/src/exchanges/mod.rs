//! Exchanges: a customer's account at an open-banking partner that Dwolla may read, made from
//! the token the partner handed out (for MX, one of the customer's available connections; for
//! Plaid, a public token the Link provider redeems for this customer) and read back when a
//! funding source needs the account's numbers.

pub mod rules;
pub mod view;

use base64::Engine;
use openiav_core::ids::TenantId;
use openiav_core::payments::ExchangeStatus;
use openiav_store::records::{CustomerRecord, ExchangeRecord};
use openiav_store::repo::{customers, exchanges as repo, tenants};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};

use crate::body::{valid, Lenient};
use crate::error::{DwollaCode, FieldError};
use crate::partners::{Kind, PartnerLinks};
use crate::port::{LinkProviderError, VerifiedAccount};
use crate::{AppState, DwollaError};

/// `POST /customers/{id}/exchanges`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateExchange {
    #[serde(rename = "_links", default)]
    pub links: Option<Lenient<PartnerLinks>>,
    #[serde(default)]
    pub mx: Option<Lenient<MxToken>>,
    #[serde(default)]
    pub plaid: Option<Lenient<PlaidToken>>,
    /// A partner's token (secure exchange): for Plaid, a `processor-sandbox-…` token.
    #[serde(default)]
    pub token: Option<Lenient<String>>,
}

/// `mx` of an exchange request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MxToken {
    #[serde(default)]
    pub available_connection_token: Option<Lenient<String>>,
}

/// `plaid` of an exchange request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaidToken {
    #[serde(default)]
    pub public_token: Option<Lenient<String>>,
}

/// What an MX available-connection token encodes (Dwolla: base64 of this JSON).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionToken {
    account_id: String,
    member_id: String,
}

/// The token that lists `account` among the customer's available connections.
pub fn connection_token(account: &VerifiedAccount) -> String {
    let token = ConnectionToken { account_id: account.account.clone(), member_id: account.member.clone() };
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&token).expect("token serialises"))
}

/// The verified account a connection token names, if it names one of `accounts`.
fn connected_account(accounts: Vec<VerifiedAccount>, token: &str) -> Option<VerifiedAccount> {
    let raw = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let decoded: ConnectionToken = serde_json::from_slice(&raw).ok()?;
    accounts.into_iter().find(|a| a.account == decoded.account_id && a.member == decoded.member_id)
}

/// The partner account an exchange reads: its `connection` column.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "partner", rename_all = "snake_case")]
pub enum Connection {
    Mx {
        member: String,
        account: String,
        name: String,
    },
    /// The Plaid item and the account of it the end user chose (never a token).
    Plaid {
        item: String,
        account: String,
    },
}

impl Connection {
    /// The connection `exchange` stores; a column that does not decode is an error naming the
    /// exchange.
    pub fn of(exchange: &ExchangeRecord) -> Result<Self, DwollaError> {
        serde_json::from_str(&exchange.connection).map_err(|e| {
            DwollaError::internal(format!("exchange {}: column connection does not decode: {e}", exchange.id))
        })
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).expect("connection serialises")
    }
}

fn invalid_token() -> DwollaError {
    DwollaError::new(DwollaCode::InvalidExchangeToken, "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.")
}

/// What a refused Plaid public token answers (§7.1).
pub fn link_refusal(e: LinkProviderError) -> DwollaError {
    match e {
        LinkProviderError::InvalidToken | LinkProviderError::NotFound => invalid_token(),
        LinkProviderError::ExpiredToken => DwollaError::expired_exchange_token(),
        LinkProviderError::LoginRequired => {
            DwollaError::new(DwollaCode::UpdateCredentials, "The login details for this token have changed.")
        }
        LinkProviderError::Unavailable(why) => DwollaError::internal(format!("link provider: {why}")),
    }
}

/// The tenant's exchange `id`.
pub async fn find(state: &AppState, tenant: TenantId, id: &str) -> Result<Option<ExchangeRecord>, DwollaError> {
    let id = id.to_ascii_lowercase();
    Ok(state.store.read(|mut c| async move { repo::find(&mut c, tenant, &id).await }).await?)
}

/// The accounts the customer verified at the aggregator (none before their first session).
pub async fn available_connections(
    state: &AppState,
    customer: &CustomerRecord,
) -> Result<Vec<VerifiedAccount>, DwollaError> {
    let Some(user) = customer.aggregator_user.as_deref() else { return Ok(Vec::new()) };
    state
        .verifier
        .verified_accounts(customer.tenant_id, user)
        .await
        .map_err(|e| DwollaError::internal(format!("account verifier: {e}")))
}

/// The exchange `request` asks `customer` to have, once its token checks out (not yet saved).
pub async fn prepare(
    state: &AppState,
    customer: &CustomerRecord,
    request: CreateExchange,
) -> Result<ExchangeRecord, DwollaError> {
    let tenant = customer.tenant_id;
    let settings = state.store.read(|mut c| async move { tenants::payment_settings(&mut c, tenant).await }).await?;
    if !settings.open_banking {
        return Err(DwollaError::new(DwollaCode::InvalidScope, "The scopes for creating an exchange resource for a customer is not enabled for this application. Reach out to Dwolla for more information."));
    }
    let partner = PartnerLinks::of(&request.links).partner(state.config.visa_enabled)?;
    let connection = match partner.kind {
        Kind::Mx => {
            let token = valid(&request.mx).and_then(|mx| valid(&mx.available_connection_token)).ok_or_else(|| {
                DwollaError::validation(vec![FieldError::required(
                    "/mx/availableConnectionToken",
                    "AvailableConnectionToken required.",
                )])
            })?;
            let accounts = available_connections(state, customer).await?;
            let account = connected_account(accounts, token).ok_or_else(invalid_token)?;
            Connection::Mx { member: account.member, account: account.account, name: account.name }
        }
        Kind::Plaid => {
            // A public token from Link, or a processor token the app made with the Plaid API.
            let public = valid(&request.plaid).and_then(|plaid| valid(&plaid.public_token));
            let linked = match (public, valid(&request.token)) {
                (Some(token), _) => state.link.redeem_public_token(tenant, &customer.id, token).await,
                (None, Some(processor)) => state.link.redeem_processor_token(tenant, processor).await,
                (None, None) => {
                    return Err(DwollaError::validation(vec![FieldError::required(
                        "/plaid/publicToken",
                        "PublicToken required.",
                    )]))
                }
            }
            .map_err(link_refusal)?;
            Connection::Plaid { item: linked.item_id, account: linked.account_id }
        }
        // Visa creates its own exchanges; token exchanges (secure exchange) are not offered here.
        Kind::Visa | Kind::TokenOnly | Kind::Checkout => return Err(invalid_token()),
    };
    Ok(ExchangeRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        partner: partner.name.to_owned(),
        status: ExchangeStatus::Active,
        connection: connection.encode(),
        created_at: state.clock.now(),
    })
}

/// Saves a prepared exchange, if its customer (as it stands in this write) may still connect.
pub async fn create(
    conn: &mut Conn,
    exchange: ExchangeRecord,
) -> Result<Result<ExchangeRecord, DwollaError>, StoreError> {
    match customers::find_for_update(conn, exchange.tenant_id, &exchange.customer_id).await? {
        Some(owner) if rules::customer_may_connect(owner.status) => {}
        Some(_) => return Ok(Err(DwollaError::invalid_resource_state("The customer is not active."))),
        None => return Ok(Err(DwollaError::not_found("Customer ID not found. Check Customer ID."))),
    }
    repo::insert(conn, &exchange).await?;
    Ok(Ok(exchange))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(member: &str, account: &str) -> VerifiedAccount {
        VerifiedAccount { member: member.into(), account: account.into(), name: "Checking".into() }
    }

    #[test]
    fn a_connection_token_names_one_of_the_verified_accounts() {
        let accounts = vec![account("MBR-1", "ACT-1"), account("MBR-1", "ACT-2")];
        let token = connection_token(&accounts[1]);
        assert_eq!(connected_account(accounts.clone(), &token), Some(accounts[1].clone()));
        assert_eq!(connected_account(accounts.clone(), &format!(" {token}\n")), Some(accounts[1].clone()));
        let stranger = connection_token(&account("MBR-2", "ACT-2"));
        assert_eq!(connected_account(accounts.clone(), &stranger), None);
        assert_eq!(connected_account(accounts, "not base64!"), None);
    }

    #[test]
    fn connections_keep_their_stored_json() {
        let mx = Connection::Mx { member: "MBR-1".into(), account: "ACT-1".into(), name: "Checking".into() };
        assert_eq!(mx.encode(), r#"{"partner":"mx","member":"MBR-1","account":"ACT-1","name":"Checking"}"#);
        let plaid = Connection::Plaid { item: "item-1".into(), account: "acc-1".into() };
        assert_eq!(plaid.encode(), r#"{"partner":"plaid","item":"item-1","account":"acc-1"}"#);
    }

    #[test]
    fn a_connection_that_does_not_decode_names_its_exchange() {
        let exchange = ExchangeRecord {
            id: "ex-1".into(),
            tenant_id: TenantId::generate(),
            customer_id: "c".into(),
            partner: "MX".into(),
            status: ExchangeStatus::Active,
            connection: r#"{"partner":"mx"}"#.into(),
            created_at: openiav_core::clock::Timestamp::from_millis(0),
        };
        let e = Connection::of(&exchange).expect_err("missing guids");
        assert_eq!(e.code(), DwollaCode::ServerError);
        let text = format!("{e:?}");
        assert!(text.contains("exchange ex-1") && text.contains("column connection"), "{text}");
    }
}
