//! Rows as the store holds them. Secret fields are ciphertext here; only callers holding the
//! keyring turn them back into plaintext.

use openiav_core::aggregation::{ConnectionStatus, MicroDepositStatus};
use openiav_core::clock::Timestamp;
use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};
use openiav_core::payments::{
    BankAccountType, CustomerKind, CustomerStatus, EventResource, EventTopic, ExchangeStatus,
    FundingSourceMicroDepositStatus, FundingSourceStatus,
};
use openiav_core::vocab::UnknownValue;
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

/// One organisation using openiav, with hashes of its credentials.
#[derive(Clone, Debug)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
    pub mx_client_id: String,
    pub mx_api_key_hash: String,
    pub dwolla_key: String,
    pub dwolla_secret_hash: String,
    pub is_sandbox: bool,
    pub created_at: Timestamp,
}

/// An MX user.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub guid: UserGuid,
    pub tenant_id: TenantId,
    pub id: Option<String>,
    pub email: Option<String>,
    pub is_disabled: bool,
    pub metadata: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An MX member and the state of the job running on it.
#[derive(Clone, Debug)]
pub struct MemberRecord {
    pub guid: MemberGuid,
    pub tenant_id: TenantId,
    pub user_guid: UserGuid,
    pub id: Option<String>,
    pub institution_code: String,
    pub name: String,
    /// AEAD ciphertext of the credential answers.
    pub credentials: Option<Vec<u8>>,
    pub credentials_fingerprint: Option<String>,
    pub is_oauth: bool,
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<String>,
    pub is_being_aggregated: bool,
    pub is_authenticated: bool,
    pub aggregated_at: Option<Timestamp>,
    pub successfully_aggregated_at: Option<Timestamp>,
    pub background_aggregation_is_disabled: bool,
    pub metadata: Option<String>,
    /// JSON array of use cases, when set.
    pub use_cases: Option<String>,
    pub has_processed_accounts: bool,
    pub has_processed_account_numbers: bool,
    pub has_processed_account_owners: bool,
    pub has_processed_transactions: bool,
    /// JSON of the running job (owned by the aggregation crate).
    pub job: Option<String>,
    /// JSON of the open challenges (owned by the aggregation crate); never holds answers.
    pub challenges: Option<String>,
    pub oauth_token_hash: Option<String>,
    pub oauth_expires_at: Option<Timestamp>,
    /// JSON of the options the last OAuth window was requested with.
    pub oauth_options: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The columns of a member that its status read shows (the hot path reads only these).
#[derive(Clone, Debug)]
pub struct MemberStatusRecord {
    pub guid: MemberGuid,
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<String>,
    pub is_being_aggregated: bool,
    pub is_authenticated: bool,
    pub aggregated_at: Option<Timestamp>,
    pub successfully_aggregated_at: Option<Timestamp>,
    pub has_processed_accounts: bool,
    pub has_processed_account_numbers: bool,
    pub has_processed_transactions: bool,
    /// JSON of the open challenges.
    pub challenges: Option<String>,
}

/// An account discovered on a member.
#[derive(Clone, Debug)]
pub struct AccountRecord {
    pub guid: AccountGuid,
    pub tenant_id: TenantId,
    pub user_guid: UserGuid,
    pub member_guid: MemberGuid,
    /// Which sandbox template produced it (`checking`, `savings`, `credit_card`).
    pub kind: String,
    /// Seed of the account's deterministic data (transactions, owners).
    pub seed: i64,
    pub name: String,
    pub account_type: String,
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
    pub numbers_verified: bool,
    pub history_days: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An MX micro-deposit verification of a bank account.
#[derive(Clone, Debug)]
pub struct MicroDepositRecord {
    pub guid: String,
    pub tenant_id: TenantId,
    pub user_guid: UserGuid,
    pub account_name: Option<String>,
    pub account_type: String,
    /// AEAD ciphertext of the account number.
    pub account_number: Vec<u8>,
    pub account_number_last4: String,
    pub routing_number: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub institution_code: Option<String>,
    pub institution_name: Option<String>,
    pub status: MicroDepositStatus,
    pub error_message: Option<String>,
    pub failed_attempts: i64,
    /// When the two deposits land in the account.
    pub deposited_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl MicroDepositRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            guid: row.try_get("guid")?,
            tenant_id: tenant_id(row)?,
            user_guid: UserGuid::from_stored(row.try_get("user_guid")?),
            account_name: row.try_get("account_name")?,
            account_type: row.try_get("account_type")?,
            account_number: row.try_get("account_number")?,
            account_number_last4: row.try_get("account_number_last4")?,
            routing_number: row.try_get("routing_number")?,
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            institution_code: row.try_get("institution_code")?,
            institution_name: row.try_get("institution_name")?,
            status: word(row, "status")?,
            error_message: row.try_get("error_message")?,
            failed_attempts: row.try_get("failed_attempts")?,
            deposited_at: ts(row, "deposited_at")?,
            verified_at: opt_ts(row, "verified_at")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

/// A durable background job.
#[derive(Clone, Debug)]
pub struct JobRecord {
    pub seq: i64,
    pub tenant_id: TenantId,
    pub queue: String,
    /// What the job is about (for example a member guid), so it can be cancelled with it.
    pub subject: String,
    pub payload: String,
    pub run_at: Timestamp,
    pub attempts: i64,
}

/// A Connect widget session: the widget URL's token until it is opened, then the session the
/// opened page works in. Holds hashes of both tokens, never the tokens.
#[derive(Clone, Debug)]
pub struct WidgetSessionRecord {
    pub url_token_hash: String,
    pub session_token_hash: Option<String>,
    /// The `session_guid` the widget's post messages carry.
    pub session_guid: String,
    pub tenant_id: TenantId,
    pub user_guid: UserGuid,
    /// The widget request's settings, as JSON.
    pub config: String,
    pub url_expires_at: Timestamp,
    pub opened_at: Option<Timestamp>,
    pub session_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl WidgetSessionRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            url_token_hash: row.try_get("url_token_hash")?,
            session_token_hash: row.try_get("session_token_hash")?,
            session_guid: row.try_get("session_guid")?,
            tenant_id: tenant_id(row)?,
            user_guid: UserGuid::from_stored(row.try_get("user_guid")?),
            config: row.try_get("config")?,
            url_expires_at: ts(row, "url_expires_at")?,
            opened_at: opt_ts(row, "opened_at")?,
            session_expires_at: opt_ts(row, "session_expires_at")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// A payments API access token (only its hash).
#[derive(Clone, Debug)]
pub struct PaymentTokenRecord {
    pub token_hash: String,
    pub tenant_id: TenantId,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

impl PaymentTokenRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            token_hash: row.try_get("token_hash")?,
            tenant_id: tenant_id(row)?,
            expires_at: ts(row, "expires_at")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// A Dwolla customer.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub kind: CustomerKind,
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
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CustomerRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            kind: word(row, "type")?,
            status: word(row, "status")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            email_key: row.try_get("email_key")?,
            business_name: row.try_get("business_name")?,
            correlation_id: row.try_get("correlation_id")?,
            profile: row.try_get("profile")?,
            aggregator_user: row.try_get("aggregator_user")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

/// An exchange session: the hand-off to an open-banking partner.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeSessionRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub partner: String,
    /// Set for a re-authentication session.
    pub exchange_id: Option<String>,
    pub redirect_url: Option<String>,
    /// AEAD ciphertext of the partner's session (the widget URL, or a link token).
    pub provider_session: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

impl ExchangeSessionRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            customer_id: row.try_get("customer_id")?,
            partner: row.try_get("partner")?,
            exchange_id: row.try_get("exchange_id")?,
            redirect_url: row.try_get("redirect_url")?,
            provider_session: row.try_get("provider_session")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// An exchange: a customer's account at a partner that Dwolla may read.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub partner: String,
    pub status: ExchangeStatus,
    /// JSON naming the partner's account (for MX: member and account guids).
    pub connection: String,
    pub created_at: Timestamp,
}

impl ExchangeRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            customer_id: row.try_get("customer_id")?,
            partner: row.try_get("partner")?,
            status: word(row, "status")?,
            connection: row.try_get("connection")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// A customer's bank funding source.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingSourceRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub exchange_id: Option<String>,
    pub status: FundingSourceStatus,
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
    pub removed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FundingSourceRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            customer_id: row.try_get("customer_id")?,
            exchange_id: row.try_get("exchange_id")?,
            status: word(row, "status")?,
            bank_account_type: word(row, "bank_account_type")?,
            name: row.try_get("name")?,
            bank_name: row.try_get("bank_name")?,
            routing_number: row.try_get("routing_number")?,
            account_number: row.try_get("account_number")?,
            account_number_last4: row.try_get("account_number_last4")?,
            fingerprint: row.try_get("fingerprint")?,
            channels: row.try_get("channels")?,
            removed: flag(row, "removed")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

/// An application event, written in the transaction of the change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub topic: EventTopic,
    /// The resource collection (`customers`, `funding-sources`, …).
    pub resource_type: EventResource,
    pub resource_id: String,
    pub customer_id: Option<String>,
    pub created_at: Timestamp,
}

impl EventRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            topic: word(row, "topic")?,
            resource_type: word(row, "resource_type")?,
            resource_id: row.try_get("resource_id")?,
            customer_id: row.try_get("customer_id")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// A webhook subscription. The secret is AEAD ciphertext.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSubscriptionRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub url: String,
    pub secret: Vec<u8>,
    pub paused: bool,
    /// Failed deliveries since the last success (Dwolla pauses after 400 and 24 hours).
    pub consecutive_failures: i64,
    pub last_success_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl WebhookSubscriptionRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            paused: flag(row, "paused")?,
            consecutive_failures: row.try_get("consecutive_failures")?,
            last_success_at: opt_ts(row, "last_success_at")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// One event's webhook to one subscription, with every delivery attempt (JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub subscription_id: String,
    pub event_id: String,
    pub topic: EventTopic,
    /// The exact body every attempt sends (compact JSON).
    pub body: String,
    /// JSON list of attempts (request and response).
    pub attempts: String,
    pub created_at: Timestamp,
}

impl WebhookRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            subscription_id: row.try_get("subscription_id")?,
            event_id: row.try_get("event_id")?,
            topic: word(row, "topic")?,
            body: row.try_get("body")?,
            attempts: row.try_get("attempts")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// A manual retry of a webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRetryRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub webhook_id: String,
    pub created_at: Timestamp,
}

impl WebhookRetryRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: tenant_id(row)?,
            webhook_id: row.try_get("webhook_id")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// An Idempotency-Key and, once its request finished, the answer to replay.
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotencyRecord {
    pub tenant_id: TenantId,
    pub key: String,
    /// SHA-256 of the request's method, path and body.
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status: Option<i64>,
    pub location: Option<String>,
    pub body: Option<String>,
    pub created_at: Timestamp,
}

impl IdempotencyRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            tenant_id: tenant_id(row)?,
            key: row.try_get("key")?,
            request_hash: row.try_get("request_hash")?,
            status: row.try_get("status")?,
            location: row.try_get("location")?,
            body: row.try_get("body")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

/// The micro-deposits sent to verify a funding source.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingSourceMicroDepositsRecord {
    pub funding_source_id: String,
    pub tenant_id: TenantId,
    pub status: FundingSourceMicroDepositStatus,
    pub failed_attempts: i64,
    pub created_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

impl FundingSourceMicroDepositsRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            funding_source_id: row.try_get("funding_source_id")?,
            tenant_id: tenant_id(row)?,
            status: word(row, "status")?,
            failed_attempts: row.try_get("failed_attempts")?,
            created_at: ts(row, "created_at")?,
            processed_at: opt_ts(row, "processed_at")?,
        })
    }
}

/// A column holding one word of a vendor's vocabulary; a word outside it is an error naming the
/// row and column, never a default.
fn word<T: std::str::FromStr<Err = UnknownValue>>(row: &AnyRow, col: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(col)?;
    text.parse().map_err(|e: UnknownValue| sqlx::Error::ColumnDecode {
        index: format!("{col:?} of row {}", row_key(row)),
        source: Box::new(e),
    })
}

/// The key of a row, for error messages: its `id`, `guid` or `funding_source_id` column.
fn row_key(row: &AnyRow) -> String {
    ["id", "guid", "funding_source_id"]
        .into_iter()
        .find_map(|col| row.try_get::<String, _>(col).ok())
        .unwrap_or_else(|| "(without a key)".into())
}

fn ts(row: &AnyRow, col: &str) -> Result<Timestamp, sqlx::Error> {
    Ok(Timestamp::from_millis(row.try_get::<i64, _>(col)?))
}

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
}

/// A boolean column: PostgreSQL hands the Any driver a bool, SQLite an integer 0/1.
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    // PostgreSQL columns are BOOLEAN; SQLite stores flags as INTEGER 0/1 (the Any driver
    // cannot decode SQLite booleans).
    let column = row.try_column(col)?;
    if column.type_info().kind() == sqlx::any::AnyTypeInfoKind::Bool {
        row.try_get::<bool, _>(col)
    } else {
        Ok(row.try_get::<i64, _>(col)? != 0)
    }
}

fn tenant_id(row: &AnyRow) -> Result<TenantId, sqlx::Error> {
    let s: String = row.try_get("tenant_id")?;
    TenantId::parse(&s).ok_or_else(|| sqlx::Error::Decode(format!("bad tenant id {s:?}").into()))
}

impl TenantRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let id: String = row.try_get("id")?;
        Ok(Self {
            id: TenantId::parse(&id).ok_or_else(|| sqlx::Error::Decode("bad tenant id".into()))?,
            name: row.try_get("name")?,
            mx_client_id: row.try_get("mx_client_id")?,
            mx_api_key_hash: row.try_get("mx_api_key_hash")?,
            dwolla_key: row.try_get("dwolla_key")?,
            dwolla_secret_hash: row.try_get("dwolla_secret_hash")?,
            is_sandbox: flag(row, "is_sandbox")?,
            created_at: ts(row, "created_at")?,
        })
    }
}

impl UserRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            guid: UserGuid::from_stored(row.try_get("guid")?),
            tenant_id: tenant_id(row)?,
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            is_disabled: flag(row, "is_disabled")?,
            metadata: row.try_get("metadata")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

impl MemberRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            guid: MemberGuid::from_stored(row.try_get("guid")?),
            tenant_id: tenant_id(row)?,
            user_guid: UserGuid::from_stored(row.try_get("user_guid")?),
            id: row.try_get("id")?,
            institution_code: row.try_get("institution_code")?,
            name: row.try_get("name")?,
            credentials: row.try_get("credentials")?,
            credentials_fingerprint: row.try_get("credentials_fingerprint")?,
            is_oauth: flag(row, "is_oauth")?,
            connection_status: word(row, "connection_status")?,
            connection_status_message: row.try_get("connection_status_message")?,
            is_being_aggregated: flag(row, "is_being_aggregated")?,
            is_authenticated: flag(row, "is_authenticated")?,
            aggregated_at: opt_ts(row, "aggregated_at")?,
            successfully_aggregated_at: opt_ts(row, "successfully_aggregated_at")?,
            background_aggregation_is_disabled: flag(row, "background_aggregation_is_disabled")?,
            metadata: row.try_get("metadata")?,
            use_cases: row.try_get("use_cases")?,
            has_processed_accounts: flag(row, "has_processed_accounts")?,
            has_processed_account_numbers: flag(row, "has_processed_account_numbers")?,
            has_processed_account_owners: flag(row, "has_processed_account_owners")?,
            has_processed_transactions: flag(row, "has_processed_transactions")?,
            job: row.try_get("job")?,
            challenges: row.try_get("challenges")?,
            oauth_token_hash: row.try_get("oauth_token_hash")?,
            oauth_expires_at: opt_ts(row, "oauth_expires_at")?,
            oauth_options: row.try_get("oauth_options")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

impl MemberStatusRecord {
    /// The columns [`Self::from_row`] reads.
    pub(crate) const COLUMNS: &'static str =
        "guid, connection_status, connection_status_message, is_being_aggregated, \
        is_authenticated, aggregated_at, successfully_aggregated_at, has_processed_accounts, \
        has_processed_account_numbers, has_processed_transactions, challenges";

    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            guid: MemberGuid::from_stored(row.try_get("guid")?),
            connection_status: word(row, "connection_status")?,
            connection_status_message: row.try_get("connection_status_message")?,
            is_being_aggregated: flag(row, "is_being_aggregated")?,
            is_authenticated: flag(row, "is_authenticated")?,
            aggregated_at: opt_ts(row, "aggregated_at")?,
            successfully_aggregated_at: opt_ts(row, "successfully_aggregated_at")?,
            has_processed_accounts: flag(row, "has_processed_accounts")?,
            has_processed_account_numbers: flag(row, "has_processed_account_numbers")?,
            has_processed_transactions: flag(row, "has_processed_transactions")?,
            challenges: row.try_get("challenges")?,
        })
    }
}

impl AccountRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            guid: AccountGuid::from_stored(row.try_get("guid")?),
            tenant_id: tenant_id(row)?,
            user_guid: UserGuid::from_stored(row.try_get("user_guid")?),
            member_guid: MemberGuid::from_stored(row.try_get("member_guid")?),
            kind: row.try_get("kind")?,
            seed: row.try_get("seed")?,
            name: row.try_get("name")?,
            account_type: row.try_get("type")?,
            subtype: row.try_get("subtype")?,
            balance_cents: row.try_get("balance_cents")?,
            available_balance_cents: row.try_get("available_balance_cents")?,
            credit_limit_cents: row.try_get("credit_limit_cents")?,
            apr_bps: row.try_get("apr_bps")?,
            routing_number: row.try_get("routing_number")?,
            account_number: row.try_get("account_number")?,
            account_number_last4: row.try_get("account_number_last4")?,
            account_number_guid: row.try_get("account_number_guid")?,
            owner_guid: row.try_get("owner_guid")?,
            numbers_verified: flag(row, "numbers_verified")?,
            history_days: row.try_get("history_days")?,
            created_at: ts(row, "created_at")?,
            updated_at: ts(row, "updated_at")?,
        })
    }
}

impl JobRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: row.try_get("seq")?,
            tenant_id: tenant_id(row)?,
            queue: row.try_get("queue")?,
            subject: row.try_get("subject")?,
            payload: row.try_get("payload")?,
            run_at: ts(row, "run_at")?,
            attempts: row.try_get("attempts")?,
        })
    }
}
