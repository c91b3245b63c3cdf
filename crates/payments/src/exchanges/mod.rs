//! Exchanges: a customer's account at an open-banking partner that Dwolla may read, made from
//! the token the partner handed out (for MX, one of the customer's available connections, or
//! in a secure exchange an authorization code redeemed as the tenant's processor, whose access
//! token is kept encrypted; for Plaid, a public or processor token the Link provider redeems for
//! this customer) and read back when a funding source needs the account's numbers; and its
//! re-authentication mark (`reauth_required_at`), set with a `customer_exchange_reauth_required`
//! event when a read finds the connection lost and cleared when a read finds it working again. A
//! Visa exchange is made by Dwolla's redirect endpoint itself ([`crate::visa`]) and holds the
//! chosen account's numbers.

pub mod rules;
pub mod view;

use base64::Engine;
use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use openiav_core::payments::{BankAccountType, EventResource, EventTopic, ExchangeStatus};
use openiav_store::records::{CustomerRecord, ExchangeRecord};
use openiav_store::repo::{customers, exchanges as repo, tenants};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};

use self::rules::ReauthChange;
use crate::body::{valid, Lenient};
use crate::error::{DwollaCode, FieldError};
use crate::partners::{Kind, PartnerLinks};
use crate::port::{LinkProviderError, VerifiedAccount, VerifiedNumbers, VerifierError, VisaAccount};
use crate::{events, AppState, DwollaError};

/// `POST /customers/{id}/exchanges`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateExchange {
    #[serde(rename = "_links", default)]
    pub links: Option<Lenient<PartnerLinks>>,
    #[serde(default)]
    pub mx: Option<Lenient<MxToken>>,
    #[serde(default)]
    pub plaid: Option<Lenient<PlaidToken>>,
    /// A secure-exchange token: for MX, an authorization code the client requested for a
    /// processor (`/authorization_code`); for Plaid, a `processor-sandbox-…` token.
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
    /// A secure exchange: an MX authorization code redeemed as the tenant's processor. The
    /// access token is kept encrypted under the exchange (standard base64 of the AEAD blob).
    MxProcessor {
        member: String,
        account: String,
        sealed_token: String,
    },
    /// The account chosen at Visa's bank page.
    Visa(VisaConnection),
}

/// A Visa exchange's account: what the bank page handed over, the account number as AEAD
/// ciphertext (base64) bound to the exchange.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VisaConnection {
    account: String,
    name: String,
    account_type: BankAccountType,
    institution_name: String,
    routing_number: String,
    account_number: String,
    available_cents: Option<i64>,
    balance_cents: Option<i64>,
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

    /// The connection of the exchange `exchange_id` over the Visa account `chosen`, its account
    /// number sealed under the exchange.
    pub fn visa(keyring: &Keyring, tenant: TenantId, exchange_id: &str, chosen: &VisaAccount) -> Self {
        let sealed = seal(keyring, tenant, exchange_id, VISA_ACCOUNT_NUMBER, chosen.account_number.expose());
        Connection::Visa(VisaConnection {
            account: chosen.id.clone(),
            name: chosen.name.clone(),
            account_type: chosen.account_type,
            institution_name: chosen.institution_name.clone(),
            routing_number: chosen.routing_number.as_str().to_owned(),
            account_number: sealed,
            available_cents: chosen.available_cents,
            balance_cents: chosen.balance_cents,
        })
    }
}

impl VisaConnection {
    /// The numbers the connection of the exchange `exchange_id` holds, the account number
    /// decrypted; a value that does not decode is an error naming the exchange.
    pub fn numbers(
        &self,
        keyring: &Keyring,
        tenant: TenantId,
        exchange_id: &str,
    ) -> Result<VerifiedNumbers, DwollaError> {
        let broken = |why: &str| {
            DwollaError::internal(format!("exchange {exchange_id}: column connection: the Visa account's {why}"))
        };
        let plain = unseal(keyring, tenant, exchange_id, VISA_ACCOUNT_NUMBER, &self.account_number)?;
        let account = AccountNumber::parse(&plain).ok_or_else(|| broken("account number is not an account number"))?;
        let routing = RoutingNumber::parse(&self.routing_number)
            .ok_or_else(|| broken("routing number is not a routing number"))?;
        Ok(VerifiedNumbers {
            routing_number: routing,
            account_number: account,
            account_type: self.account_type.as_str().to_owned(),
            institution_name: self.institution_name.clone(),
            available_cents: self.available_cents,
            balance_cents: self.balance_cents,
        })
    }
}

/// The field of a Visa connection whose value is sealed: the account number.
const VISA_ACCOUNT_NUMBER: &str = "visa_account_number";
/// The field of a secure exchange's connection whose value is sealed: the processor token.
const PROCESSOR_TOKEN: &str = "processor_token";

/// A secret a connection keeps: AEAD-sealed under `<tenant>/<exchange>/<field>`, so it opens
/// only for its own exchange, as standard base64.
fn seal(keyring: &Keyring, tenant: TenantId, exchange_id: &str, field: &str, secret: &str) -> String {
    let blob = keyring.encrypt(&format!("{tenant}/{exchange_id}/{field}"), secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(blob)
}

/// A secret [`seal`] sealed; one that does not open is an error naming the exchange and field.
fn unseal(
    keyring: &Keyring,
    tenant: TenantId,
    exchange_id: &str,
    field: &str,
    sealed: &str,
) -> Result<String, DwollaError> {
    let broken =
        |why: String| DwollaError::internal(format!("exchange {exchange_id}: column connection: {field} {why}"));
    let blob =
        base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|e| broken(format!("is not base64: {e}")))?;
    let plain = keyring
        .decrypt(&format!("{tenant}/{exchange_id}/{field}"), &blob)
        .map_err(|e| broken(format!("does not decrypt: {e}")))?;
    String::from_utf8(plain).map_err(|e| broken(format!("is not text: {e}")))
}

/// The processor access token a secure exchange keeps.
pub fn processor_token(
    state: &AppState,
    tenant: TenantId,
    exchange_id: &str,
    sealed: &str,
) -> Result<String, DwollaError> {
    unseal(&state.keyring, tenant, exchange_id, PROCESSOR_TOKEN, sealed)
}

fn expired_token() -> DwollaError {
    DwollaError::new(DwollaCode::ExpiredExchangeToken, "Exchange token is expired.")
}

/// The refusal of a token exchange with a partner this server cannot reach.
fn unsupported_token_exchange(partner: &str) -> DwollaError {
    DwollaError::forbidden(format!("Token exchanges with {partner} are not supported by this server."))
}

fn invalid_token() -> DwollaError {
    DwollaError::new(DwollaCode::InvalidExchangeToken, "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.")
}

/// What a refused Plaid public token answers (§7.1).
pub fn link_refusal(e: LinkProviderError) -> DwollaError {
    match e {
        LinkProviderError::InvalidToken | LinkProviderError::NotFound => invalid_token(),
        LinkProviderError::ExpiredToken => expired_token(),
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
    let id = uuid::Uuid::new_v4().to_string();
    let secure_token = rules::secure_token(valid(&request.token).map(String::as_str));
    let connection = match (partner.kind, secure_token) {
        // A secure-exchange token wins over an available-connection token.
        (Kind::Mx, Some(code)) => {
            // The aggregator consumes the code in its own write, before this exchange's write:
            // a port call cannot run inside a payments transaction (one SQLite writer).
            let grant = state.verifier.redeem_authorization_code(tenant, code).await.map_err(|e| match e {
                VerifierError::Expired => expired_token(),
                VerifierError::NotFound => invalid_token(),
                other => DwollaError::internal(format!("account verifier: {other}")),
            })?;
            let sealed_token = seal(&state.keyring, tenant, &id, PROCESSOR_TOKEN, &grant.access_token);
            Connection::MxProcessor { member: grant.member, account: grant.account, sealed_token }
        }
        (Kind::Mx, None) => {
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
        (Kind::Plaid, _) => {
            // A public token from Link, or a processor token the app made with the Plaid API.
            let public = valid(&request.plaid).and_then(|plaid| valid(&plaid.public_token));
            let linked = match (public, secure_token) {
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
        // Visa creates its own exchanges.
        (Kind::Visa, _) => return Err(invalid_token()),
        // Finicity receipts, Flinks and Checkout.com tokens need the partner's own service.
        (Kind::TokenOnly | Kind::Checkout, _) => return Err(unsupported_token_exchange(partner.name)),
    };
    Ok(ExchangeRecord {
        id,
        tenant_id: tenant,
        customer_id: customer.id.clone(),
        partner: partner.name.to_owned(),
        status: ExchangeStatus::Active,
        connection: connection.encode(),
        created_at: state.now(tenant).await?,
        reauth_required_at: None,
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

/// Inside a write: keeps the exchange `id`'s re-authentication mark in step with a read that
/// found its connection `usable` (or not), deciding on the row as this write locked it, and
/// records `customer_exchange_reauth_required` when the loss is new. Returns the change made.
pub async fn note_connection(
    conn: &mut Conn,
    base: &str,
    tenant: TenantId,
    id: &str,
    usable: bool,
    now: Timestamp,
) -> Result<ReauthChange, StoreError> {
    let Some(mut exchange) = repo::find_for_update(conn, tenant, id).await? else { return Ok(ReauthChange::Unchanged) };
    let change = rules::reauth_change(exchange.reauth_required_at, usable, now);
    match change {
        ReauthChange::Unchanged => return Ok(change),
        ReauthChange::Lost(at) => exchange.reauth_required_at = Some(at),
        ReauthChange::Restored => exchange.reauth_required_at = None,
    }
    repo::save(conn, &exchange).await?;
    if let ReauthChange::Lost(_) = change {
        let customer = Some(exchange.customer_id.as_str());
        let topic = EventTopic::CustomerExchangeReauthRequired;
        events::record(conn, base, tenant, topic, EventResource::Exchanges, &exchange.id, customer, now).await?;
    }
    Ok(change)
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
    fn a_visa_connection_seals_its_account_number_under_its_exchange() {
        let keyring = Keyring::new(&openiav_core::crypto::MasterKey::generate());
        let tenant = TenantId::generate();
        let chosen = VisaAccount {
            id: "visa-demo-bank/u51613239/checking-1".into(),
            name: "Everyday Checking".into(),
            account_type: BankAccountType::Checking,
            institution_name: "Visa Demo Bank".into(),
            routing_number: RoutingNumber::parse("091000019").unwrap(),
            account_number: AccountNumber::parse("4000051613239011").unwrap(),
            available_cents: Some(125_034),
            balance_cents: Some(126_500),
        };
        let connection = Connection::visa(&keyring, tenant, "ex-1", &chosen);
        let stored = connection.encode();
        assert!(!stored.contains("4000051613239011"), "the number is sealed: {stored}");
        assert!(stored.starts_with(r#"{"partner":"visa","#), "{stored}");
        let back: Connection = serde_json::from_str(&stored).unwrap();
        let Connection::Visa(visa) = back else { panic!("a Visa connection: {stored}") };
        let numbers = visa.numbers(&keyring, tenant, "ex-1").expect("it opens");
        assert_eq!(numbers.account_number.expose(), "4000051613239011");
        assert_eq!((numbers.routing_number.as_str(), numbers.account_type.as_str()), ("091000019", "checking"));
        assert_eq!((numbers.institution_name.as_str(), numbers.available_cents), ("Visa Demo Bank", Some(125_034)));
        let moved = visa.numbers(&keyring, tenant, "ex-2");
        assert_eq!(moved.expect_err("bound to its exchange").code(), DwollaCode::ServerError);
    }

    #[test]
    fn secure_exchanges_keep_their_token_sealed() {
        let processor = Connection::MxProcessor {
            member: "MBR-1".into(),
            account: "ACT-1".into(),
            sealed_token: "c2VhbGVk".into(),
        };
        assert_eq!(
            processor.encode(),
            r#"{"partner":"mx_processor","member":"MBR-1","account":"ACT-1","sealed_token":"c2VhbGVk"}"#
        );
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
            reauth_required_at: None,
        };
        let e = Connection::of(&exchange).expect_err("missing guids");
        assert_eq!(e.code(), DwollaCode::ServerError);
        let text = format!("{e:?}");
        assert!(text.contains("exchange ex-1") && text.contains("column connection"), "{text}");
    }
}
