//! Rows as the store holds them. Secret fields are ciphertext here; only callers holding the
//! keyring turn them back into plaintext.

use openiav_core::aggregation::{
    AccountKind, AccountType, ConnectionStatus, HoldingType, MicroDepositStatus, RewardBalanceType, RewardUnit,
};
use openiav_core::clock::Timestamp;
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use openiav_core::money::Cents;
use openiav_core::payments::{
    BankAccountType, BankTransferDirection, CustomerKind, CustomerStatus, EventResource, EventTopic, ExchangeStatus,
    FundingSourceKind, FundingSourceMicroDepositStatus, FundingSourceStatus, TransferStatus,
};
use openiav_core::plaid::LinkStage;
use openiav_core::visa::VisaStage;
use sqlx::any::{AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, FromRow, Row, Type, ValueRef};

/// One organisation using openiav, with hashes of its credentials.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TenantRecord {
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub id: TenantId,
    pub name: String,
    pub mx_client_id: String,
    pub mx_api_key_hash: String,
    pub dwolla_key: String,
    pub dwolla_secret_hash: String,
    #[sqlx(try_from = "Flag")]
    pub is_sandbox: bool,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// An MX user.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRecord {
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub guid: UserGuid,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub id: Option<String>,
    pub email: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub is_disabled: bool,
    pub metadata: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// An MX member and the state of the job running on it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRecord {
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub guid: MemberGuid,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    pub id: Option<String>,
    pub institution_code: String,
    pub name: String,
    /// AEAD ciphertext of the credential answers.
    pub credentials: Option<Vec<u8>>,
    pub credentials_fingerprint: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub is_oauth: bool,
    #[sqlx(try_from = "Parsed<ConnectionStatus>")]
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub is_being_aggregated: bool,
    #[sqlx(try_from = "Flag")]
    pub is_authenticated: bool,
    #[sqlx(try_from = "NullableMillis")]
    pub aggregated_at: Option<Timestamp>,
    #[sqlx(try_from = "NullableMillis")]
    pub successfully_aggregated_at: Option<Timestamp>,
    #[sqlx(try_from = "Flag")]
    pub background_aggregation_is_disabled: bool,
    pub metadata: Option<String>,
    /// JSON array of use cases, when set.
    pub use_cases: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub has_processed_accounts: bool,
    #[sqlx(try_from = "Flag")]
    pub has_processed_account_numbers: bool,
    #[sqlx(try_from = "Flag")]
    pub has_processed_account_owners: bool,
    #[sqlx(try_from = "Flag")]
    pub has_processed_transactions: bool,
    /// JSON of the running job (owned by the aggregation crate).
    pub job: Option<String>,
    /// JSON of the open challenges (owned by the aggregation crate); never holds answers.
    pub challenges: Option<String>,
    pub oauth_token_hash: Option<String>,
    #[sqlx(try_from = "NullableMillis")]
    pub oauth_expires_at: Option<Timestamp>,
    /// JSON of the options the last OAuth window was requested with.
    pub oauth_options: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// The columns of a member that its status read shows (the hot path reads only these).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberStatusRecord {
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub guid: MemberGuid,
    #[sqlx(try_from = "Parsed<ConnectionStatus>")]
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub is_being_aggregated: bool,
    #[sqlx(try_from = "Flag")]
    pub is_authenticated: bool,
    #[sqlx(try_from = "NullableMillis")]
    pub aggregated_at: Option<Timestamp>,
    #[sqlx(try_from = "NullableMillis")]
    pub successfully_aggregated_at: Option<Timestamp>,
    #[sqlx(try_from = "Flag")]
    pub has_processed_accounts: bool,
    #[sqlx(try_from = "Flag")]
    pub has_processed_account_numbers: bool,
    #[sqlx(try_from = "Flag")]
    pub has_processed_transactions: bool,
    /// JSON of the open challenges.
    pub challenges: Option<String>,
}

impl MemberStatusRecord {
    /// The columns its [`FromRow`] reads.
    pub(crate) const COLUMNS: &'static str =
        "guid, connection_status, connection_status_message, is_being_aggregated, \
        is_authenticated, aggregated_at, successfully_aggregated_at, has_processed_accounts, \
        has_processed_account_numbers, has_processed_transactions, challenges";
}

/// An account discovered on a member.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccountRecord {
    #[sqlx(try_from = "Parsed<AccountGuid>")]
    pub guid: AccountGuid,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    /// Which sandbox template produced it.
    #[sqlx(try_from = "Parsed<AccountKind>")]
    pub kind: AccountKind,
    /// Seed of the account's deterministic data (transactions, owners).
    pub seed: i64,
    pub name: String,
    #[sqlx(rename = "type", try_from = "Parsed<AccountType>")]
    pub account_type: AccountType,
    pub subtype: Option<String>,
    pub balance_cents: i64,
    pub available_balance_cents: Option<i64>,
    pub credit_limit_cents: Option<i64>,
    pub apr_bps: Option<i64>,
    pub routing_number: Option<String>,
    /// AEAD ciphertext of the account number.
    pub account_number: Option<Vec<u8>>,
    pub account_number_last4: Option<String>,
    pub account_number_guid: String,
    pub owner_guid: String,
    /// True once a verification job made this account's numbers available.
    #[sqlx(try_from = "Flag")]
    pub numbers_verified: bool,
    pub history_days: i64,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// An MX micro-deposit verification of a bank account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MicroDepositRecord {
    pub guid: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    pub account_name: Option<String>,
    #[sqlx(try_from = "Parsed<AccountType>")]
    pub account_type: AccountType,
    /// AEAD ciphertext of the account number.
    pub account_number: Vec<u8>,
    pub account_number_last4: String,
    pub routing_number: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub institution_code: Option<String>,
    pub institution_name: Option<String>,
    #[sqlx(try_from = "Parsed<MicroDepositStatus>")]
    pub status: MicroDepositStatus,
    pub error_message: Option<String>,
    pub failed_attempts: i64,
    /// When the two deposits land in the account.
    #[sqlx(try_from = "i64")]
    pub deposited_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub verified_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// A durable background job.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRecord {
    pub seq: i64,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub queue: String,
    /// What the job is about (for example a member guid), so it can be cancelled with it.
    pub subject: String,
    pub payload: String,
    #[sqlx(try_from = "i64")]
    pub run_at: Timestamp,
    pub attempts: i64,
}

/// A Connect widget session: the widget URL's token until it is opened, then the session the
/// opened page works in. Holds hashes of both tokens, never the tokens.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WidgetSessionRecord {
    pub url_token_hash: String,
    pub session_token_hash: Option<String>,
    /// The `session_guid` the widget's post messages carry.
    pub session_guid: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    /// The widget request's settings, as JSON.
    pub config: String,
    #[sqlx(try_from = "i64")]
    pub url_expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub opened_at: Option<Timestamp>,
    #[sqlx(try_from = "NullableMillis")]
    pub session_expires_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A single-use MX authorization code a client requested for a processor (only its hash),
/// scoped to one verified account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProcessorCodeRecord {
    pub code_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    #[sqlx(try_from = "Parsed<AccountGuid>")]
    pub account_guid: AccountGuid,
    /// The scope as MX writes it (`user-guid:… member-guid:… account-guid:… read-protected`).
    pub scope: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub used_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A processor access token redeemed from an authorization code (only its hash), reading the
/// one account its scope names.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProcessorTokenRecord {
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    #[sqlx(try_from = "Parsed<AccountGuid>")]
    pub account_guid: AccountGuid,
    pub scope: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A payments API access token (only its hash).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PaymentTokenRecord {
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A sandbox dashboard session: the hash of its cookie's token, its tenant and its CSRF token.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct DashboardSessionRecord {
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub csrf_token: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
}

/// A Dwolla customer.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct CustomerRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(rename = "type", try_from = "Parsed<CustomerKind>")]
    pub kind: CustomerKind,
    #[sqlx(try_from = "Parsed<CustomerStatus>")]
    pub status: CustomerStatus,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The e-mail address lower-cased: what uniqueness is judged on.
    pub email_key: String,
    pub business_name: Option<String>,
    pub correlation_id: Option<String>,
    /// JSON of the verified customer's details (address, business, controller); never an SSN.
    pub profile: Option<String>,
    /// The aggregator (MX) user that verifies this customer's accounts, once created.
    pub aggregator_user: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// An exchange session: the hand-off to an open-banking partner.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ExchangeSessionRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub partner: String,
    /// Set for a re-authentication session.
    pub exchange_id: Option<String>,
    pub redirect_url: Option<String>,
    /// AEAD ciphertext of the partner's session (the widget URL, or a link token).
    pub provider_session: Option<Vec<u8>>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// An exchange: a customer's account at a partner that Dwolla may read.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ExchangeRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub partner: String,
    #[sqlx(try_from = "Parsed<ExchangeStatus>")]
    pub status: ExchangeStatus,
    /// JSON naming the partner's account (for MX: member and account guids).
    pub connection: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    /// When the partner connection was found to need re-authentication; `None` while usable.
    #[sqlx(try_from = "NullableMillis")]
    pub reauth_required_at: Option<Timestamp>,
}

/// A funding source: a customer's bank or balance, or the account's own (no customer). A
/// balance has no bank details (empty columns) and holds `balance`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct FundingSourceRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    /// The owner; `None` for the account's own bank and balance.
    pub customer_id: Option<String>,
    #[sqlx(try_from = "Parsed<FundingSourceKind>")]
    pub kind: FundingSourceKind,
    pub exchange_id: Option<String>,
    #[sqlx(try_from = "Parsed<FundingSourceStatus>")]
    pub status: FundingSourceStatus,
    #[sqlx(try_from = "Parsed<BankAccountType>")]
    pub bank_account_type: BankAccountType,
    pub name: String,
    pub bank_name: String,
    pub routing_number: String,
    /// AEAD ciphertext of the account number.
    pub account_number: Vec<u8>,
    pub account_number_last4: String,
    /// Keyed hash of routing + account number: equal for the same account across customers.
    pub fingerprint: String,
    /// JSON list of channels.
    pub channels: String,
    #[sqlx(try_from = "Flag")]
    pub removed: bool,
    /// What a balance holds (zero for a bank).
    #[sqlx(rename = "balance_cents", try_from = "i64")]
    pub balance: Cents,
    /// The on-demand authorization the end user gave for this bank, if any.
    pub on_demand_authorization_id: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// A transfer between two funding sources, or a facilitator fee charged on one (`fee_of`).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct TransferRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub fee_of: Option<String>,
    pub source_id: String,
    pub destination_id: String,
    /// The owners; `None` for the account itself.
    pub source_customer_id: Option<String>,
    pub destination_customer_id: Option<String>,
    #[sqlx(rename = "amount_cents", try_from = "i64")]
    pub amount: Cents,
    #[sqlx(try_from = "Parsed<TransferStatus>")]
    pub status: TransferStatus,
    /// JSON of the request's options (clearing, achDetails, processingChannel, metadata).
    pub options: String,
    pub correlation_id: Option<String>,
    pub individual_ach_id: Option<String>,
    /// The ACH return code of a failed transfer.
    pub failure_code: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// One ACH leg of a transfer through a bank, as the sandbox processes it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct BankTransferRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub transfer_id: String,
    #[sqlx(try_from = "Parsed<BankTransferDirection>")]
    pub direction: BankTransferDirection,
    /// The bank debited or credited.
    pub funding_source_id: String,
    /// The bank's owner; `None` for the account's bank.
    pub customer_id: Option<String>,
    #[sqlx(try_from = "Parsed<TransferStatus>")]
    pub status: TransferStatus,
    /// The return code a later processing applies to this settled leg (`R01-late` banks).
    pub late_return: Option<String>,
    pub failure_code: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// An on-demand authorization the account showed an end user.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OnDemandAuthorizationRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// An application event, written in the transaction of the change it reports.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct EventRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<EventTopic>")]
    pub topic: EventTopic,
    /// The resource collection (`customers`, `funding-sources`, …).
    #[sqlx(try_from = "Parsed<EventResource>")]
    pub resource_type: EventResource,
    pub resource_id: String,
    pub customer_id: Option<String>,
    /// The transfer's `correlationId`, carried by transfer events.
    pub correlation_id: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A webhook subscription. The secret is AEAD ciphertext.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WebhookSubscriptionRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub url: String,
    pub secret: Vec<u8>,
    #[sqlx(try_from = "Flag")]
    pub paused: bool,
    /// Failed deliveries since the last success (Dwolla pauses after 400 and 24 hours).
    pub consecutive_failures: i64,
    #[sqlx(try_from = "NullableMillis")]
    pub last_success_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// One event's webhook to one subscription, with every delivery attempt (JSON).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub subscription_id: String,
    pub event_id: String,
    #[sqlx(try_from = "Parsed<EventTopic>")]
    pub topic: EventTopic,
    /// The exact body every attempt sends (compact JSON).
    pub body: String,
    /// JSON list of attempts (request and response).
    pub attempts: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A manual retry of a webhook.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WebhookRetryRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub webhook_id: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// An Idempotency-Key and, once its request finished, the answer to replay.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct IdempotencyRecord {
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub key: String,
    /// SHA-256 of the request's method, path and body.
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status: Option<i64>,
    pub location: Option<String>,
    pub body: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// The micro-deposits sent to verify a funding source.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct FundingSourceMicroDepositsRecord {
    pub funding_source_id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<FundingSourceMicroDepositStatus>")]
    pub status: FundingSourceMicroDepositStatus,
    pub failed_attempts: i64,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub processed_at: Option<Timestamp>,
}

/// A Plaid item: one end user's login at a sandbox institution, and the accounts they shared.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PlaidItemRecord {
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    /// Whose item it is (for Dwolla's sessions, the customer id).
    pub client_user_id: String,
    pub institution_id: String,
    /// The ids of the shared accounts, as a JSON list.
    pub accounts: String,
    /// When the item started needing the end user to log in again (`ITEM_LOGIN_REQUIRED`).
    #[sqlx(try_from = "NullableMillis")]
    pub login_required_at: Option<Timestamp>,
    /// The hash of the Plaid API access token the item's public token was exchanged for.
    pub access_token_hash: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// A Plaid link token (only its hash) and the Link session opening it started.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PlaidLinkTokenRecord {
    /// The `link_session_id` Link's callbacks carry.
    pub id: String,
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub client_user_id: String,
    /// The item an update-mode token logs back into.
    pub item_id: Option<String>,
    pub session_token_hash: Option<String>,
    #[sqlx(try_from = "Parsed<LinkStage>")]
    pub stage: LinkStage,
    pub institution_id: Option<String>,
    /// The pending challenge, as JSON the Link crate owns.
    pub mfa: Option<String>,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub opened_at: Option<Timestamp>,
    #[sqlx(try_from = "NullableMillis")]
    pub session_expires_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A Plaid public token (only its hash): the item and account a finished Link session chose.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PlaidPublicTokenRecord {
    pub id: String,
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub link_token_id: String,
    pub client_user_id: String,
    pub item_id: String,
    pub account_id: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub used_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A Plaid processor token (only its hash): an item's account handed to a processor.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PlaidProcessorTokenRecord {
    pub id: String,
    pub token_hash: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub item_id: String,
    pub account_id: String,
    /// The processor it was made for (`dwolla`).
    pub processor: String,
    #[sqlx(try_from = "NullableMillis")]
    pub used_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A Visa bank page's link: opened once by its authorization code, then the page it opened.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct VisaLinkRecord {
    /// The `session_id` of the link's URL.
    pub id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    /// What the link serves, as its minter names it (the payments exchange session).
    pub reference: String,
    pub authorization_code_hash: String,
    /// Where the page sends the browser back (Dwolla's `/redirect/tink`).
    pub redirect_uri: String,
    /// AEAD ciphertext of the minter's `state`, bound to the link.
    pub state: Vec<u8>,
    pub page_token_hash: Option<String>,
    #[sqlx(try_from = "Parsed<VisaStage>")]
    pub stage: VisaStage,
    /// The bank the end user chose.
    pub bank: Option<String>,
    /// The sandbox user who signed in.
    pub login: Option<String>,
    #[sqlx(try_from = "i64")]
    pub url_expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub opened_at: Option<Timestamp>,
    #[sqlx(try_from = "NullableMillis")]
    pub page_expires_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// A single-use code the Visa bank page handed back for the account the end user chose.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct VisaCodeRecord {
    pub code_hash: String,
    pub link_id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    pub bank: String,
    pub login: String,
    pub account: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub used_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// The hash of the state that binds a partner's redirect back to one exchange session.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ExchangeSessionStateRecord {
    pub state_hash: String,
    pub session_id: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "NullableMillis")]
    pub used_at: Option<Timestamp>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

/// One monthly statement of a deposit account, as the last fetch_statements job wrote it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StatementRecord {
    /// `STA-…`, derived from the account and the period so a refetch keeps it.
    pub guid: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    #[sqlx(try_from = "Parsed<AccountGuid>")]
    pub account_guid: AccountGuid,
    /// First and last day of the calendar month it covers (unix days, inclusive).
    pub period_start_day: i64,
    pub period_end_day: i64,
    pub opening_balance_cents: i64,
    pub closing_balance_cents: i64,
    /// Hex SHA-256 of the statement's PDF bytes.
    pub content_hash: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// One holding of an investment account, as the last job that gathered holdings wrote it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct HoldingRecord {
    /// `HOL-…`, derived from the account and the security so a refresh keeps it.
    pub guid: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    #[sqlx(try_from = "Parsed<AccountGuid>")]
    pub account_guid: AccountGuid,
    /// Order within the account.
    pub position: i64,
    pub symbol: String,
    pub description: String,
    pub cusip: String,
    #[sqlx(try_from = "Parsed<HoldingType>")]
    pub holding_type: HoldingType,
    /// Whole shares.
    pub shares: i64,
    pub price_cents: i64,
    pub purchase_price_cents: i64,
    /// Change of one share's price today.
    pub daily_change_cents: i64,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// One balance of a member's rewards program, as the last job that gathered rewards wrote it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RewardRecord {
    /// `RWD-…`, derived from the member, program and balance so a refetch keeps it.
    pub guid: String,
    #[sqlx(try_from = "Parsed<TenantId>")]
    pub tenant_id: TenantId,
    #[sqlx(try_from = "Parsed<UserGuid>")]
    pub user_guid: UserGuid,
    #[sqlx(try_from = "Parsed<MemberGuid>")]
    pub member_guid: MemberGuid,
    /// The card the program belongs to; none for a program of the member as a whole.
    pub account_guid: Option<String>,
    /// Order within the member.
    pub position: i64,
    #[sqlx(try_from = "Parsed<RewardUnit>")]
    pub unit_type: RewardUnit,
    #[sqlx(try_from = "Parsed<RewardBalanceType>")]
    pub balance_type: RewardBalanceType,
    pub balance: i64,
    pub description: String,
    /// `YYYY-MM-DD`, for expiring balances.
    pub expires_on: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// Maps a row to a record through its derived [`FromRow`], naming the row in a decode error:
/// a stored word outside a vocabulary, a malformed id or a column of the wrong type is an error
/// naming the column and the row, never a default. Every repository reads records through this.
pub(crate) fn decode<T: for<'r> FromRow<'r, AnyRow>>(row: &AnyRow) -> Result<T, sqlx::Error> {
    T::from_row(row).map_err(|e| match e {
        // `Row::try_get` names the column quoted; the derive's own `try_from` step does not.
        sqlx::Error::ColumnDecode { index, source } => {
            let column = index.trim_matches('"');
            sqlx::Error::ColumnDecode { index: format!("{column:?} of row {}", row_key(row)), source }
        }
        e => e,
    })
}

/// The key of a row, for error messages: its `id`, `guid` or `funding_source_id` column.
fn row_key(row: &AnyRow) -> String {
    ["id", "guid", "funding_source_id", "code_hash", "state_hash"]
        .into_iter()
        .find_map(|col| row.try_get::<String, _>(col).ok())
        .unwrap_or_else(|| "(without a key)".into())
}

/// A TEXT column holding an id or a word of a vendor's vocabulary, checked by the type's
/// `TryFrom<String>`. Records read it as `#[sqlx(try_from = "Parsed<T>")]`: the check runs in
/// [`Decode`], so its error (`"archived" is not a known CustomerStatus`) reaches the caller. (The
/// derive's own fallible `try_from = "String"` would lose it: sqlx 0.8 turns that error into
/// "unprintable error".)
pub(crate) struct Parsed<T>(T);

impl<T> Type<Any> for Parsed<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T> Decode<'r, Any> for Parsed<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Parsed(T::try_from(<String as Decode<Any>>::decode(value)?)?))
    }
}

/// `From<Parsed<T>> for T` for each type the records read as `Parsed<T>` (the orphan rule
/// forbids the blanket impl).
macro_rules! parsed {
    ($($t:ty),+ $(,)?) => {
        $(impl From<Parsed<$t>> for $t {
            fn from(p: Parsed<$t>) -> Self {
                p.0
            }
        })+
    };
}

parsed!(
    AccountKind,
    HoldingType,
    RewardUnit,
    RewardBalanceType,
    AccountType,
    TenantId,
    UserGuid,
    MemberGuid,
    AccountGuid,
    ConnectionStatus,
    MicroDepositStatus,
    CustomerKind,
    CustomerStatus,
    EventResource,
    EventTopic,
    ExchangeStatus,
    FundingSourceMicroDepositStatus,
    FundingSourceStatus,
    FundingSourceKind,
    TransferStatus,
    BankTransferDirection,
    BankAccountType,
    VisaStage,
    LinkStage,
);

/// A boolean column: PostgreSQL hands the Any driver a BOOLEAN, SQLite an INTEGER 0/1 (the Any
/// driver cannot decode SQLite booleans). Records read it as `#[sqlx(try_from = "Flag")]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flag(bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        ty.kind() == AnyTypeInfoKind::Bool || ty.kind().is_integer()
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.type_info().kind() == AnyTypeInfoKind::Bool {
            <bool as Decode<Any>>::decode(value).map(Flag)
        } else {
            Ok(Flag(<i64 as Decode<Any>>::decode(value)? != 0))
        }
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

/// A nullable BIGINT column of unix milliseconds, read as `Option<Timestamp>` through
/// `#[sqlx(try_from = "NullableMillis")]` (a required one reads as `try_from = "i64"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NullableMillis(Option<i64>);

impl Type<Any> for NullableMillis {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for NullableMillis {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <Option<i64> as Decode<Any>>::decode(value).map(NullableMillis)
    }
}

impl From<NullableMillis> for Option<Timestamp> {
    fn from(ms: NullableMillis) -> Self {
        ms.0.map(Timestamp::from_millis)
    }
}

/// Where a tenant's MX webhooks of one type (or, with no type, of every type without a URL
/// of its own) are sent, with optional HTTP Basic credentials (the password encrypted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxWebhookEndpointRecord {
    pub tenant_id: TenantId,
    /// `None`: the all-types endpoint.
    pub webhook_type: Option<openiav_core::aggregation::MxWebhookType>,
    pub url: String,
    pub basic_username: Option<String>,
    /// Ciphertext of the Basic password.
    pub basic_password: Option<Vec<u8>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One MX webhook written for a tenant: its payload as sent and every delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxWebhookRecord {
    pub guid: String,
    pub tenant_id: TenantId,
    pub webhook_type: openiav_core::aggregation::MxWebhookType,
    /// Which endpoint it goes to (`None`: the all-types one), for its credentials.
    pub endpoint: Option<openiav_core::aggregation::MxWebhookType>,
    pub url: String,
    /// The exact body every attempt sends (compact JSON).
    pub body: String,
    /// JSON list of attempts (request, with `Authorization` redacted, and response).
    pub attempts: String,
    pub created_at: Timestamp,
}
