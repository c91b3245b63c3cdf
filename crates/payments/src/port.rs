//! The `AccountVerifier` port: everything payments needs from an aggregator (MX-shaped) to
//! verify a customer's bank account. Payments never imports the aggregation side; the server
//! plugs in an adapter. [`VisaProvider`] is the same for the Visa partner's bank page.

use std::future::Future;
use std::pin::Pin;

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::ids::TenantId;
use openiav_core::payments::BankAccountType;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The aggregator could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// No such user, member or account (or not verified).
    #[error("not found at the aggregator")]
    NotFound,
    /// The aggregator is unavailable or failed.
    #[error("the aggregator failed: {0}")]
    Unavailable(String),
    /// The connection behind the account no longer works until the end user signs in again
    /// (for MX: the member left CONNECTED for an end-user-actionable status).
    #[error("the connection needs the end user to re-authenticate")]
    ReauthRequired,
    /// A partner token (an MX authorization code) was valid once but has expired.
    #[error("the token has expired")]
    Expired,
}

/// What an MX authorization code redeems into: a processor's access to one verified account.
/// The access token is a secret: its `Debug` is redacted, and payments keeps it only encrypted.
#[derive(Clone)]
pub struct ProcessorGrant {
    pub access_token: String,
    pub member: String,
    pub account: String,
}

impl std::fmt::Debug for ProcessorGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorGrant")
            .field("access_token", &"<redacted>")
            .field("member", &self.member)
            .field("account", &self.account)
            .finish()
    }
}

/// An account the end user verified at the aggregator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAccount {
    pub member: String,
    pub account: String,
    pub name: String,
}

/// A verified account's numbers and what the bank says about it.
#[derive(Clone, Debug)]
pub struct VerifiedNumbers {
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
    /// `checking` or `savings`, as the bank reports it.
    pub account_type: String,
    pub institution_name: String,
    /// Available and current balance in cents, when the bank reports them.
    pub available_cents: Option<i64>,
    pub balance_cents: Option<i64>,
}

/// What payments asks of the aggregator.
pub trait AccountVerifier: Send + Sync {
    /// Creates the aggregator user that verifies one customer's accounts; returns its id.
    fn create_user(&self, tenant: TenantId, customer_id: &str) -> BoxFuture<'_, Result<String, VerifierError>>;

    /// A single-use URL of the aggregator's widget in verification mode for `user`.
    fn verification_widget_url(&self, tenant: TenantId, user: &str) -> BoxFuture<'_, Result<String, VerifierError>>;

    /// The accounts `user` verified (whose numbers the aggregator releases).
    fn verified_accounts(
        &self,
        tenant: TenantId,
        user: &str,
    ) -> BoxFuture<'_, Result<Vec<VerifiedAccount>, VerifierError>>;

    /// A single-use URL of the aggregator's widget that opens straight at `member`'s
    /// credentials (update-credentials mode), for the end user to sign in again.
    fn reauth_widget_url(
        &self,
        tenant: TenantId,
        user: &str,
        member: &str,
    ) -> BoxFuture<'_, Result<String, VerifierError>>;

    /// Sandbox: `member` loses its connection as if the bank stopped taking its credentials,
    /// so that reading its numbers answers [`VerifierError::ReauthRequired`].
    fn simulate_lost_connection(
        &self,
        tenant: TenantId,
        user: &str,
        member: &str,
    ) -> BoxFuture<'_, Result<(), VerifierError>>;

    /// The numbers of one verified account; [`VerifierError::ReauthRequired`] when its
    /// connection needs the end user to sign in again.
    fn account_numbers(
        &self,
        tenant: TenantId,
        user: &str,
        account: &VerifiedAccount,
    ) -> BoxFuture<'_, Result<VerifiedNumbers, VerifierError>>;

    /// The name of the bank a routing number belongs to, if the aggregator knows it.
    fn bank_name(&self, routing: &RoutingNumber) -> Option<String>;

    /// Redeems an MX authorization code (secure exchange) as the tenant's processor, once:
    /// [`VerifierError::NotFound`] for an unknown or used code, [`VerifierError::Expired`] for an
    /// expired one. A verifier without processor tokens knows no code.
    fn redeem_authorization_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> BoxFuture<'_, Result<ProcessorGrant, VerifierError>> {
        let _ = (tenant, code);
        Box::pin(async { Err(VerifierError::NotFound) })
    }

    /// The numbers (and balances) of the account a processor access token grants;
    /// [`VerifierError::NotFound`] once the token has expired or the account is gone (and for
    /// every token, by a verifier without processor tokens).
    fn processor_account(
        &self,
        tenant: TenantId,
        access_token: &str,
    ) -> BoxFuture<'_, Result<VerifiedNumbers, VerifierError>> {
        let _ = (tenant, access_token);
        Box::pin(async { Err(VerifierError::NotFound) })
    }
}

/// The account an end user chose at the Visa partner's bank page.
#[derive(Clone, Debug)]
pub struct VisaAccount {
    /// The partner's id of the account (stable for the same account).
    pub id: String,
    pub name: String,
    pub account_type: BankAccountType,
    pub institution_name: String,
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
    /// Available and current balance in cents, as the bank reported them.
    pub available_cents: Option<i64>,
    pub balance_cents: Option<i64>,
}

/// What payments asks of the Visa open-banking partner (Visa's account check, on Tink).
pub trait VisaProvider: Send + Sync {
    /// The URL of the partner's bank page for the exchange session `session`: it sends the
    /// browser to `callback_url` with `code` (or `error`) and `state`.
    fn bank_page_url(
        &self,
        tenant: TenantId,
        session: &str,
        callback_url: &str,
        state: &str,
    ) -> BoxFuture<'_, Result<String, VerifierError>>;

    /// Spends a `code` the bank page handed back for `session`; the account the end user chose,
    /// or `None` for a code that is unknown, spent, expired or another session's.
    fn redeem_code(
        &self,
        tenant: TenantId,
        session: &str,
        code: &str,
    ) -> BoxFuture<'_, Result<Option<VisaAccount>, VerifierError>>;
}

/// Why the link provider (Plaid-shaped) refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkProviderError {
    /// The token is unknown, spent, or not one of this customer's sessions'.
    #[error("the token is not valid")]
    InvalidToken,
    /// The token was issued to this customer but its lifetime is over.
    #[error("the token has expired")]
    ExpiredToken,
    /// The item behind the token or exchange needs the end user to log in again.
    #[error("the login behind the token needs the end user again")]
    LoginRequired,
    /// No such item or account.
    #[error("not found at the link provider")]
    NotFound,
    /// The provider is unavailable or failed.
    #[error("the link provider failed: {0}")]
    Unavailable(String),
}

/// An account the end user linked through the provider's Link, with its numbers.
#[derive(Clone, Debug)]
pub struct LinkedAccount {
    pub item_id: String,
    pub account_id: String,
    pub name: String,
    pub mask: String,
    /// `checking` or `savings`.
    pub subtype: String,
    pub institution_name: String,
    pub routing_number: RoutingNumber,
    pub account_number: AccountNumber,
}

/// What payments asks of a Link provider (Plaid's Link and its tokens).
pub trait LinkProvider: Send + Sync {
    /// A link token for one of `customer_id`'s exchange sessions; with `update_item`, in update
    /// mode for that item (re-authentication of an exchange).
    fn create_link_token(
        &self,
        tenant: TenantId,
        customer_id: &str,
        update_item: Option<&str>,
    ) -> BoxFuture<'_, Result<String, LinkProviderError>>;

    /// Spends a public token that a link token of `customer_id` ended with; the account it names.
    fn redeem_public_token(
        &self,
        tenant: TenantId,
        customer_id: &str,
        public_token: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>>;

    /// One linked account of an item, with its numbers (`LoginRequired` when the item needs
    /// the end user to log in again).
    fn linked_account(
        &self,
        tenant: TenantId,
        item_id: &str,
        account_id: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>>;

    /// Makes an item need the end user to log in again, as a changed bank password would
    /// (the sandbox's way to cause a re-authentication).
    fn require_login(&self, tenant: TenantId, item_id: &str) -> BoxFuture<'_, Result<(), LinkProviderError>>;

    /// Spends a processor token made for Dwolla with the provider's API (secure exchange); the
    /// account it names.
    fn redeem_processor_token(
        &self,
        tenant: TenantId,
        processor_token: &str,
    ) -> BoxFuture<'_, Result<LinkedAccount, LinkProviderError>>;
}
