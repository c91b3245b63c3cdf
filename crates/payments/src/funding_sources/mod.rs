//! Funding sources: the operations behind the funding-source routes (add a bank from an
//! exchange or by its numbers, update or remove it, read it with its micro-deposits, its
//! balance), each deciding with [`rules`] on the rows it loads inside the write that saves the
//! outcome. Account numbers are encrypted at rest and never answered. Reading an exchange's
//! numbers is also how a lost partner connection is found: [`read_exchange`] answers
//! `UpdateCredentials` and keeps the exchange's re-authentication mark in step.

/// Inside a write: the value a decision came to, or the client error the write answers with
/// (committing what it saved before).
macro_rules! decided {
    ($decision:expr) => {
        match $decision {
            Ok(value) => value,
            Err(e) => return Ok(Err(e)),
        }
    };
}

pub mod micro_deposits;
pub mod owned;
pub mod rules;
pub mod view;

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::money::Cents;
use openiav_core::payments::{BankAccountType, EventResource, EventTopic, FundingSourceKind, FundingSourceStatus};
use openiav_store::records::{CustomerRecord, ExchangeRecord, FundingSourceMicroDepositsRecord, FundingSourceRecord};
use openiav_store::repo::{customers, funding_sources as repo};
use openiav_store::{Conn, StoreError};
use serde::Deserialize;

use self::rules::DetailChange;
use crate::customers::CUSTOMER_NOT_FOUND;
use crate::events;
use crate::exchanges::rules::ReauthChange;
use crate::exchanges::{self, Connection};
use crate::hal::id_from_href;
use crate::lookup::{customer_of, find_or_404};
use crate::on_demand_authorizations;
use crate::port::{LinkProviderError, VerifiedAccount, VerifiedNumbers, VerifierError};
use crate::{AppState, DwollaCode, DwollaError};

openiav_core::wire_enum! {
    /// A payment rail a bank funding source is open to (`channels[]`).
    pub enum Channel {
        Ach = "ach",
        Wire = "wire",
    }
}

/// `POST /customers/{id}/funding-sources`: a bank from an exchange (`_links.exchange.href`,
/// `bankAccountType`, `name`) or by its numbers. Kinds and numbers stay text here so that
/// [`rules`] answers a bad one with Dwolla's own message.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFundingSource {
    pub name: Option<String>,
    pub bank_account_type: Option<String>,
    pub routing_number: Option<String>,
    pub account_number: Option<String>,
    pub channels: Option<Vec<String>>,
    #[serde(rename = "_links")]
    pub links: Option<CreateLinks>,
}

/// A create body's `_links`.
#[derive(Default, Deserialize)]
pub struct CreateLinks {
    pub exchange: Option<Href>,
    #[serde(rename = "on-demand-authorization")]
    pub on_demand_authorization: Option<Href>,
}

/// A link a request body names.
#[derive(Default, Deserialize)]
pub struct Href {
    pub href: Option<String>,
}

impl CreateFundingSource {
    /// `_links.exchange.href`, when the bank comes from an exchange.
    pub fn exchange_href(&self) -> Option<&str> {
        self.links.as_ref()?.exchange.as_ref()?.href.as_deref()
    }

    /// `_links.on-demand-authorization.href`, when the customer agreed to on-demand debits
    /// (an empty or missing href is one no authorization has).
    pub fn on_demand_authorization_href(&self) -> Option<&str> {
        let link = self.links.as_ref()?.on_demand_authorization.as_ref()?;
        Some(link.href.as_deref().unwrap_or_default())
    }
}

/// `POST /funding-sources/{id}`: remove, rename, or change an unverified bank's details.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFundingSource {
    pub removed: Option<bool>,
    pub name: Option<String>,
    pub bank_account_type: Option<String>,
    pub routing_number: Option<String>,
    pub account_number: Option<String>,
}

/// How creation words an unknown or vanished customer.
pub const CUSTOMER_MISSING: &str = "Customer ID not found. Check Customer ID.";

/// The bank name used when the routing number is not one the aggregator knows.
const SANDBOX_BANK_NAME: &str = "SANDBOX TEST BANK";

const FUNDING_SOURCE_MISSING: &str = "Funding source not found.";

fn not_found() -> DwollaError {
    DwollaError::not_found(FUNDING_SOURCE_MISSING)
}

/// The channels column of `source`; one that does not decode is an error naming the source.
pub fn channels_of(source: &FundingSourceRecord) -> Result<Vec<Channel>, DwollaError> {
    serde_json::from_str(&source.channels).map_err(|e| {
        DwollaError::internal(format!("funding source {}: column channels does not decode: {e}", source.id))
    })
}

/// The AEAD context of a source's account number.
fn number_context(f: &FundingSourceRecord) -> String {
    format!("{}/{}/account_number", f.tenant_id, f.id)
}

/// The account number of `source`, decrypted.
fn account_number_of(state: &AppState, source: &FundingSourceRecord) -> Result<AccountNumber, DwollaError> {
    let undecodable =
        |why: &str| DwollaError::internal(format!("funding source {}: column account_number {why}", source.id));
    let plain = state
        .keyring
        .decrypt(&number_context(source), &source.account_number)
        .map_err(|e| undecodable(&e.to_string()))?;
    std::str::from_utf8(&plain)
        .ok()
        .and_then(AccountNumber::parse)
        .ok_or_else(|| undecodable("is not an account number"))
}

/// The routing number of `source`.
fn routing_number_of(source: &FundingSourceRecord) -> Result<RoutingNumber, DwollaError> {
    RoutingNumber::parse(&source.routing_number).ok_or_else(|| {
        DwollaError::internal(format!("funding source {}: column routing_number is not a routing number", source.id))
    })
}

/// Writes `routing` and `account` into `source`: the routing number, the last four digits,
/// the account number encrypted under the source's id, and their fingerprint.
fn seal_numbers(state: &AppState, source: &mut FundingSourceRecord, routing: &RoutingNumber, account: &AccountNumber) {
    source.fingerprint = state.keyring.fingerprint(&["bank-account", routing.as_str(), account.expose()]);
    source.routing_number = routing.as_str().to_owned();
    source.account_number_last4 = account.last4().to_owned();
    source.account_number = state.keyring.encrypt(&number_context(source), account.expose().as_bytes());
}

fn bank_name(state: &AppState, routing: &RoutingNumber) -> String {
    state.verifier.bank_name(routing).unwrap_or_else(|| SANDBOX_BANK_NAME.to_owned())
}

/// The sandbox balances (cents, available and current) of a Plaid account of `subtype`, as
/// Plaid's sandbox reports them.
fn plaid_balances(subtype: &str) -> (i64, i64) {
    if subtype == "savings" {
        (20_000, 21_000)
    } else {
        (10_000, 11_000)
    }
}

/// The numbers behind an exchange. A partner whose connection needs the end user to sign in
/// again answers [`exchanges::rules::update_credentials`] (the code [`read_exchange`] notes the
/// loss by; every partner's arm answers it for its own kind of lost connection).
async fn exchange_numbers(
    state: &AppState,
    customer: &CustomerRecord,
    exchange_id: &str,
    connection: &Connection,
) -> Result<VerifiedNumbers, DwollaError> {
    let read_failure = |e: VerifierError| match e {
        VerifierError::ReauthRequired => exchanges::rules::update_credentials(state.base(), exchange_id),
        VerifierError::NotFound | VerifierError::Expired | VerifierError::Unavailable(_) => rules::inactive_exchange(),
    };
    match connection {
        Connection::Mx { member, account, name } => {
            let user = customer.aggregator_user.as_deref().ok_or_else(rules::inactive_exchange)?;
            let account = VerifiedAccount { member: member.clone(), account: account.clone(), name: name.clone() };
            state.verifier.account_numbers(customer.tenant_id, user, &account).await.map_err(read_failure)
        }
        Connection::Plaid { item, account } => {
            let linked = state.link.linked_account(customer.tenant_id, item, account).await.map_err(|e| match e {
                LinkProviderError::LoginRequired => exchanges::rules::update_credentials(state.base(), exchange_id),
                _ => rules::inactive_exchange(),
            })?;
            let (available, balance) = plaid_balances(&linked.subtype);
            Ok(VerifiedNumbers {
                routing_number: linked.routing_number,
                account_number: linked.account_number,
                account_type: linked.subtype,
                institution_name: linked.institution_name,
                available_cents: Some(available),
                balance_cents: Some(balance),
            })
        }
        Connection::Visa(visa) => visa.numbers(&state.keyring, customer.tenant_id, exchange_id),
        // A secure exchange reads the account as the processor its token was issued to.
        Connection::MxProcessor { sealed_token, .. } => {
            let token = exchanges::processor_token(state, customer.tenant_id, exchange_id, sealed_token)?;
            state.verifier.processor_account(customer.tenant_id, &token).await.map_err(read_failure)
        }
    }
}

/// A bank about to be added, with its numbers.
struct NewBank {
    name: String,
    kind: BankAccountType,
    routing: RoutingNumber,
    account: AccountNumber,
    bank_name: String,
    exchange_id: Option<String>,
    status: FundingSourceStatus,
}

/// The bank `request` asks `customer` to add from the exchange `href` names: verified, with the
/// numbers the exchange reads.
async fn from_exchange(
    state: &AppState,
    customer: &CustomerRecord,
    request: &CreateFundingSource,
    href: &str,
) -> Result<NewBank, DwollaError> {
    let exchange = match id_from_href(href, "exchanges") {
        Some(id) => exchanges::find(state, customer.tenant_id, &id).await?.filter(|e| e.customer_id == customer.id),
        None => None,
    };
    let bank = rules::bank_from_exchange(
        request,
        exchange.map(|e| {
            let status = e.status;
            (e, status)
        }),
    )?;
    let numbers = read_exchange(state, customer, &bank.exchange).await?;
    Ok(NewBank {
        name: bank.name,
        kind: bank.kind,
        routing: numbers.routing_number,
        account: numbers.account_number,
        bank_name: numbers.institution_name,
        exchange_id: Some(bank.exchange.id),
        status: FundingSourceStatus::Verified,
    })
}

/// The bank `request` asks to add by its numbers: unverified.
fn by_numbers(state: &AppState, request: &CreateFundingSource) -> Result<NewBank, DwollaError> {
    let bank = rules::bank_by_numbers(request)?;
    Ok(NewBank {
        bank_name: bank_name(state, &bank.routing),
        name: bank.name,
        kind: bank.kind,
        routing: bank.routing,
        account: bank.account,
        exchange_id: None,
        status: FundingSourceStatus::Unverified,
    })
}

/// The bank `request` asks `customer` to add, validated and with its numbers sealed, ready
/// for [`create`].
pub async fn prepare(
    state: &AppState,
    customer: &CustomerRecord,
    request: &CreateFundingSource,
) -> Result<FundingSourceRecord, DwollaError> {
    rules::may_add_funding_sources(customer.status)?;
    let bank = match request.exchange_href() {
        Some(href) => from_exchange(state, customer, request, href).await?,
        None => by_numbers(state, request)?,
    };
    let channels = rules::channels(request.channels.as_deref())?;
    let now = state.now(customer.tenant_id).await?;
    let mut record = FundingSourceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: customer.tenant_id,
        customer_id: Some(customer.id.clone()),
        kind: FundingSourceKind::Bank,
        exchange_id: bank.exchange_id,
        status: bank.status,
        bank_account_type: bank.kind,
        name: bank.name,
        bank_name: bank.bank_name,
        routing_number: String::new(),
        account_number: Vec::new(),
        account_number_last4: String::new(),
        fingerprint: String::new(),
        channels: serde_json::to_string(&channels).expect("channels serialise"),
        removed: false,
        balance: Cents::ZERO,
        on_demand_authorization_id: None,
        created_at: now,
        updated_at: now,
    };
    seal_numbers(state, &mut record, &bank.routing, &bank.account);
    Ok(record)
}

/// Adds the prepared bank `new`, inside the write: its customer must still be allowed to add
/// banks, the on-demand authorization `authorization` names (an href) must be the tenant's and
/// bound to no other bank, the same account must not already be theirs, and an unverified bank they removed lately
/// comes back under its own id. Returns the bank as saved.
pub async fn create(
    c: &mut Conn,
    base: &str,
    mut new: FundingSourceRecord,
    authorization: Option<&str>,
    now: Timestamp,
) -> Result<Result<FundingSourceRecord, DwollaError>, StoreError> {
    let tenant = new.tenant_id;
    if let Some(href) = authorization {
        new.on_demand_authorization_id = Some(decided!(on_demand_authorizations::resolve(c, tenant, href).await?));
    }
    let Some(customer) = new.customer_id.as_deref() else {
        return Ok(Err(DwollaError::not_found(CUSTOMER_MISSING)));
    };
    let Some(owner) = customers::find_for_update(c, tenant, customer).await? else {
        return Ok(Err(DwollaError::not_found(CUSTOMER_MISSING)));
    };
    decided!(rules::may_add_funding_sources(owner.status));
    if let Some(live) = repo::find_by_fingerprint(c, tenant, customer, &new.fingerprint).await? {
        return Ok(Err(rules::duplicate(base, &live.id)));
    }
    let removed = repo::find_removed_by_fingerprint(c, tenant, customer, &new.fingerprint).await?;
    if let Some(authorization) = new.on_demand_authorization_id.as_deref() {
        let bound = repo::list_by_on_demand_authorization(c, tenant, authorization).await?;
        decided!(on_demand_authorizations::unbound(&bound, removed.as_ref().map(|r| r.id.as_str())));
    }
    if let Some(back) = removed.and_then(|removed| rules::reactivate(&new, removed, now)) {
        repo::save(c, &back).await?;
        record_event(c, base, &back, EventTopic::CustomerFundingSourceAdded, now).await?;
        return Ok(Ok(back));
    }
    repo::insert(c, &new).await?;
    for topic in rules::creation_topics(new.status) {
        record_event(c, base, &new, topic, now).await?;
    }
    Ok(Ok(new))
}

/// The answer to a create that lost the race against a concurrent create of the same account
/// (the store refused it as a conflict).
pub async fn duplicate_of(state: &AppState, new: &FundingSourceRecord) -> DwollaError {
    let (tenant, customer, fingerprint) = (new.tenant_id, new.customer_id.clone(), new.fingerprint.clone());
    let twin = state
        .store
        .read(|mut c| async move {
            let customer = customer.as_deref().unwrap_or_default();
            repo::find_by_fingerprint(&mut c, tenant, customer, &fingerprint).await
        })
        .await;
    match twin {
        Ok(Some(twin)) => rules::duplicate(state.base(), &twin.id),
        Ok(None) => DwollaError::internal("a funding source conflict without a twin"),
        Err(e) => e.into(),
    }
}

/// Updates the bank `id` as `request` asks, inside the write; returns it as saved, with its
/// micro-deposits.
pub async fn update(
    c: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    id: &str,
    request: &UpdateFundingSource,
    now: Timestamp,
) -> Result<Result<(FundingSourceRecord, Option<FundingSourceMicroDepositsRecord>), DwollaError>, StoreError> {
    let Some(mut source) = repo::find_for_update(c, tenant, id).await? else { return Ok(Err(not_found())) };
    let update = decided!(rules::decide_update(&source, request));
    source.removed |= update.remove;
    if let Some(name) = update.rename {
        source.name = name;
    }
    if let Some(details) = update.details {
        decided!(change_details(state, &mut source, details));
    }
    source.updated_at = now;
    repo::save(c, &source).await?;
    if let Some(topic) = update.topic {
        record_event(c, state.base(), &source, topic, now).await?;
    }
    let deposits = repo::find_micro_deposits(c, tenant, &source.id).await?;
    Ok(Ok((source, deposits)))
}

/// Forces the bank `id` into `target` (the sandbox control plane), decided by
/// [`rules::forced_state`] on the row locked inside this write: removal goes through
/// [`update`] as `removed: true` does; a status change raises its event.
pub async fn force_state(
    c: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    id: &str,
    target: rules::ForcedState,
    now: Timestamp,
) -> Result<Result<(FundingSourceRecord, Option<FundingSourceMicroDepositsRecord>), DwollaError>, StoreError> {
    let Some(mut source) = repo::find_for_update(c, tenant, id).await? else { return Ok(Err(not_found())) };
    match decided!(rules::forced_state(&source, target)) {
        rules::Forced::Remove => {
            let removal = UpdateFundingSource { removed: Some(true), ..UpdateFundingSource::default() };
            update(c, state, tenant, id, &removal, now).await
        }
        rules::Forced::Status(status, topic) => {
            source.status = status;
            source.updated_at = now;
            repo::save(c, &source).await?;
            if let Some(topic) = topic {
                record_event(c, state.base(), &source, topic, now).await?;
            }
            let deposits = repo::find_micro_deposits(c, tenant, &source.id).await?;
            Ok(Ok((source, deposits)))
        }
    }
}

/// Applies new details to an unverified bank; the numbers not changed are its own.
fn change_details(state: &AppState, source: &mut FundingSourceRecord, change: DetailChange) -> Result<(), DwollaError> {
    if let Some(kind) = change.kind {
        source.bank_account_type = kind;
    }
    let routing = change.routing.map_or_else(|| routing_number_of(source), Ok)?;
    let account = change.account.map_or_else(|| account_number_of(state, source), Ok)?;
    source.bank_name = bank_name(state, &routing);
    seal_numbers(state, source, &routing, &account);
    Ok(())
}

/// The tenant's funding source `id`.
pub async fn find(state: &AppState, tenant: TenantId, id: &str) -> Result<FundingSourceRecord, DwollaError> {
    find_or_404(state, id, FUNDING_SOURCE_MISSING, |mut c, id| async move { repo::find(&mut c, tenant, &id).await })
        .await
}

/// The micro-deposits sent to `source`, if any.
pub async fn micro_deposits_of(
    state: &AppState,
    source: &FundingSourceRecord,
) -> Result<Option<FundingSourceMicroDepositsRecord>, DwollaError> {
    let (tenant, id) = (source.tenant_id, source.id.clone());
    Ok(state.store.read(|mut c| async move { repo::find_micro_deposits(&mut c, tenant, &id).await }).await?)
}

/// The customer's funding sources (only removed ones, or only live ones, when `removed` says)
/// and the micro-deposits sent to them.
pub async fn list(
    state: &AppState,
    customer: &CustomerRecord,
    removed: Option<bool>,
) -> Result<(Vec<FundingSourceRecord>, Vec<FundingSourceMicroDepositsRecord>), DwollaError> {
    let (tenant, id) = (customer.tenant_id, customer.id.clone());
    Ok(state
        .store
        .read(|mut c| async move {
            let found = repo::list_for_customer(&mut c, tenant, &id, removed).await?;
            Ok((found, repo::micro_deposits_for_customer(&mut c, tenant, &id).await?))
        })
        .await?)
}

/// What `GET /funding-sources/{id}/balance` reads.
pub enum SourceBalance {
    /// A balance: what it holds.
    Held(FundingSourceRecord),
    /// A bank and its numbers as its exchange reads them now.
    Bank(FundingSourceRecord, VerifiedNumbers),
}

/// The balance of the funding source `id`: a balance's own, or a bank's as its exchange
/// reads it now (only a live bank added from an exchange has one).
pub async fn balance(state: &AppState, tenant: TenantId, id: &str) -> Result<SourceBalance, DwollaError> {
    let unsupported = || {
        DwollaError::new(
            DwollaCode::UnsupportedOperation,
            "Retrieving the balance is not supported for this type of funding source.",
        )
    };
    let source = find(state, tenant, id).await?;
    if source.kind == FundingSourceKind::Balance {
        return Ok(SourceBalance::Held(source));
    }
    let exchange_id = source.exchange_id.as_deref().filter(|_| !source.removed).ok_or_else(unsupported)?;
    let exchange = exchanges::find(state, tenant, exchange_id).await?.ok_or_else(unsupported)?;
    let owner = source.customer_id.as_deref().ok_or_else(unsupported)?;
    let customer = customer_of(state, tenant, owner, CUSTOMER_NOT_FOUND).await?;
    let numbers = read_exchange(state, &customer, &exchange).await?;
    Ok(SourceBalance::Bank(source, numbers))
}

/// What reading an exchange's partner found.
pub struct ExchangeRead {
    /// The account's numbers, or the partner's refusal as answered (`UpdateCredentials` when the
    /// connection is lost).
    pub numbers: Result<VerifiedNumbers, DwollaError>,
    /// Whether the connection works, when the read tells (a failure of another kind does not).
    pub usable: Option<bool>,
}

/// Reads the numbers behind `exchange` of `customer` from its partner now, without noting
/// anything.
pub async fn probe_exchange(
    state: &AppState,
    customer: &CustomerRecord,
    exchange: &ExchangeRecord,
) -> Result<ExchangeRead, DwollaError> {
    let connection = Connection::of(exchange)?;
    let numbers = exchange_numbers(state, customer, &exchange.id, &connection).await;
    let usable = match &numbers {
        Ok(_) => Some(true),
        Err(e) if e.code() == DwollaCode::UpdateCredentials => Some(false),
        Err(_) => None,
    };
    Ok(ExchangeRead { numbers, usable })
}

/// The numbers behind `exchange` of `customer`, read from its partner now. When the read finds
/// the connection lost (`UpdateCredentials`) or working again while marked lost, one write
/// notes it on the exchange ([`exchanges::note_connection`]: the mark, and the
/// `customer_exchange_reauth_required` event once per loss) before the answer.
pub async fn read_exchange(
    state: &AppState,
    customer: &CustomerRecord,
    exchange: &ExchangeRecord,
) -> Result<VerifiedNumbers, DwollaError> {
    let read = probe_exchange(state, customer, exchange).await?;
    let now = state.now(customer.tenant_id).await?;
    // The mark as read here only spares a write when nothing can change; the write decides
    // again on the row it locks.
    let noted = read.usable.filter(|&usable| {
        exchanges::rules::reauth_change(exchange.reauth_required_at, usable, now) != ReauthChange::Unchanged
    });
    if let Some(usable) = noted {
        let (base, tenant, id) = (state.base().to_owned(), exchange.tenant_id, exchange.id.clone());
        state
            .store
            .write(move |c| {
                Box::pin(async move { exchanges::note_connection(c, &base, tenant, &id, usable, now).await })
            })
            .await?;
    }
    read.numbers
}

/// Records `topic` about `source` (and its customer).
async fn record_event(
    c: &mut Conn,
    base: &str,
    source: &FundingSourceRecord,
    topic: EventTopic,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (tenant, customer) = (source.tenant_id, source.customer_id.as_deref());
    events::record(c, base, tenant, topic, EventResource::FundingSources, &source.id, customer, now).await?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Records the funding-source rules are tried on.

    use openiav_core::ids::TenantId;
    use openiav_core::payments::FundingSourceMicroDepositStatus;

    use super::*;

    /// A live unverified checking account added by its numbers.
    pub fn bank() -> FundingSourceRecord {
        FundingSourceRecord {
            id: "fs".into(),
            tenant_id: TenantId::generate(),
            customer_id: Some("c".into()),
            kind: FundingSourceKind::Bank,
            balance: Cents::ZERO,
            on_demand_authorization_id: None,
            exchange_id: None,
            status: FundingSourceStatus::Unverified,
            bank_account_type: BankAccountType::Checking,
            name: "Mine".into(),
            bank_name: SANDBOX_BANK_NAME.into(),
            routing_number: "222222226".into(),
            account_number: Vec::new(),
            account_number_last4: "6789".into(),
            fingerprint: "fp".into(),
            channels: r#"["ach"]"#.into(),
            removed: false,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    /// Micro-deposits sent to [`bank`], in `status`, with no wrong answer yet.
    pub fn deposits(status: FundingSourceMicroDepositStatus) -> FundingSourceMicroDepositsRecord {
        FundingSourceMicroDepositsRecord {
            funding_source_id: "fs".into(),
            tenant_id: TenantId::generate(),
            status,
            failed_attempts: 0,
            created_at: Timestamp::from_millis(0),
            processed_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_decode_from_their_column_or_say_which_source_is_broken() {
        let source = testing::bank();
        assert_eq!(channels_of(&source).unwrap(), [Channel::Ach]);
        let wire = FundingSourceRecord { channels: r#"["wire","ach"]"#.into(), ..testing::bank() };
        assert_eq!(channels_of(&wire).unwrap(), [Channel::Wire, Channel::Ach]);
        assert_eq!(serde_json::to_string(&[Channel::Ach]).unwrap(), r#"["ach"]"#, "the stored format");
        for broken in ["", "ach", r#"["pigeon"]"#] {
            let source = FundingSourceRecord { channels: broken.into(), ..testing::bank() };
            let e = channels_of(&source).unwrap_err();
            assert_eq!(e.code(), DwollaCode::ServerError);
            let detail = e.detail().unwrap_or_default();
            assert!(detail.contains("funding source fs") && detail.contains("channels"), "{detail}");
        }
    }

    #[test]
    fn exchange_hrefs_are_read_from_the_links() {
        let body: CreateFundingSource = serde_json::from_value(
            serde_json::json!({ "_links": { "exchange": { "href": "https://x/exchanges/1" } } }),
        )
        .unwrap();
        assert_eq!(body.exchange_href(), Some("https://x/exchanges/1"));
        let body: CreateFundingSource = serde_json::from_value(serde_json::json!({ "_links": {} })).unwrap();
        assert_eq!(body.exchange_href(), None);
    }
}
