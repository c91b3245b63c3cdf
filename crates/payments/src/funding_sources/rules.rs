//! The funding-source rules as pure functions over typed values: what a create or update body
//! must hold, who may add a bank and from which exchange, duplicates and reactivation, what an
//! update changes and which event it raises, and the links a funding source shows.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::clock::Timestamp;
use openiav_core::payments::{
    BankAccountType, CustomerStatus, EventTopic, ExchangeStatus, FundingSourceKind, FundingSourceMicroDepositStatus,
    FundingSourceStatus,
};
use openiav_store::records::{FundingSourceMicroDepositsRecord, FundingSourceRecord};

use super::{Channel, CreateFundingSource, UpdateFundingSource};
use crate::error::{DwollaCode, FieldError};
use crate::DwollaError;

/// How long after its creation a removed unverified bank can be added back under its own id.
pub const REACTIVATE_WITHIN_MS: i64 = 48 * 3_600_000;

/// The longest bank name, in characters.
const NAME_MAX_CHARS: usize = 50;

/// Dwolla's refusal to rename or remove a balance.
pub const ONLY_BANKS_UPDATE: &str = "Only funding sources of type='bank' can be updated.";

const ANY_ACCOUNT_TYPE: &str = "BankAccountType must be checking, savings, general-ledger or loan.";

/// A bank the customer adds by its routing and account numbers (it starts unverified).
#[derive(Debug)]
pub struct BankByNumbers {
    pub name: String,
    pub kind: BankAccountType,
    pub routing: RoutingNumber,
    pub account: AccountNumber,
}

/// A bank the customer adds from one of their exchanges (verified by the exchange).
#[derive(Debug)]
pub struct BankFromExchange<E> {
    pub name: String,
    pub kind: BankAccountType,
    pub exchange: E,
}

/// Only customers that are neither deactivated nor suspended add funding sources.
pub fn may_add_funding_sources(customer: CustomerStatus) -> Result<(), DwollaError> {
    match customer {
        CustomerStatus::Deactivated | CustomerStatus::Suspended => {
            Err(DwollaError::forbidden("Not authorized to create funding source."))
        }
        _ => Ok(()),
    }
}

/// The answer to an exchange that is removed or disabled.
pub fn inactive_exchange() -> DwollaError {
    DwollaError::new(DwollaCode::InactiveExchange, "The Exchange was removed or disabled.")
}

/// A create body naming an exchange: `exchange` is the customer's exchange its href names, if
/// any, with its status. Field errors come first, all of them; then the exchange must be active.
pub fn bank_from_exchange<E>(
    request: &CreateFundingSource,
    exchange: Option<(E, ExchangeStatus)>,
) -> Result<BankFromExchange<E>, DwollaError> {
    let mut errors = Vec::new();
    let name = collect(&mut errors, name(request.name.as_deref()));
    let kind = collect(&mut errors, exchange_account_type(request.bank_account_type.as_deref()));
    if exchange.is_none() {
        errors.push(FieldError::invalid("/_links/exchange/href", "/_links/exchange/href is invalid."));
    }
    let (Some(name), Some(kind), Some(exchange)) = (name, kind, exchange) else {
        return Err(DwollaError::validation(errors));
    };
    let (exchange, status) = exchange;
    if status != ExchangeStatus::Active {
        return Err(inactive_exchange());
    }
    Ok(BankFromExchange { name, kind, exchange })
}

/// A create body giving the bank's numbers; every field error at once.
pub fn bank_by_numbers(request: &CreateFundingSource) -> Result<BankByNumbers, DwollaError> {
    let mut errors = Vec::new();
    let name = collect(&mut errors, name(request.name.as_deref()));
    let kind = collect(&mut errors, account_type(request.bank_account_type.as_deref()));
    let routing = collect(&mut errors, required_routing(request.routing_number.as_deref()));
    let account = collect(&mut errors, required_account(request.account_number.as_deref()));
    match (name, kind, routing, account) {
        (Some(name), Some(kind), Some(routing), Some(account)) => Ok(BankByNumbers { name, kind, routing, account }),
        _ => Err(DwollaError::validation(errors)),
    }
}

/// The channels a create body asks for; `ach` when it names none.
pub fn channels(requested: Option<&[String]>) -> Result<Vec<Channel>, DwollaError> {
    let Some(requested) = requested else { return Ok(vec![Channel::Ach]) };
    requested
        .iter()
        .map(|c| c.parse())
        .collect::<Result<_, _>>()
        .map_err(|_| DwollaError::invalid("/channels", "Channels must be ach or wire."))
}

fn collect<T>(errors: &mut Vec<FieldError>, checked: Result<T, FieldError>) -> Option<T> {
    checked.map_err(|e| errors.push(e)).ok()
}

/// A new bank's name: required, at most 50 characters, trimmed.
fn name(name: Option<&str>) -> Result<String, FieldError> {
    match name.map(str::trim) {
        None | Some("") => Err(FieldError::required("/name", "Name required.")),
        Some(n) if n.chars().count() > NAME_MAX_CHARS => {
            Err(FieldError::invalid("/name", "Name must be at most 50 characters."))
        }
        Some(n) => Ok(n.to_owned()),
    }
}

/// An exchange reads checking and savings accounts only.
fn exchange_account_type(kind: Option<&str>) -> Result<BankAccountType, FieldError> {
    match kind.and_then(|k| k.parse().ok()) {
        Some(kind @ (BankAccountType::Checking | BankAccountType::Savings)) => Ok(kind),
        _ => Err(FieldError::invalid("/bankAccountType", "BankAccountType must be checking or savings.")),
    }
}

fn account_type(kind: Option<&str>) -> Result<BankAccountType, FieldError> {
    kind.unwrap_or_default().parse().map_err(|_| FieldError::invalid("/bankAccountType", ANY_ACCOUNT_TYPE))
}

fn required_routing(routing: Option<&str>) -> Result<RoutingNumber, FieldError> {
    match routing.map(str::trim) {
        None | Some("") => Err(FieldError::required("/routingNumber", "RoutingNumber required.")),
        Some(r) => routing_number(r),
    }
}

fn required_account(account: Option<&str>) -> Result<AccountNumber, FieldError> {
    match account.map(str::trim) {
        None | Some("") => Err(FieldError::required("/accountNumber", "AccountNumber required.")),
        Some(a) => account_number(a),
    }
}

fn routing_number(routing: &str) -> Result<RoutingNumber, FieldError> {
    RoutingNumber::parse(routing.trim()).ok_or_else(|| FieldError::invalid("/routingNumber", "Routing number invalid."))
}

fn account_number(account: &str) -> Result<AccountNumber, FieldError> {
    AccountNumber::parse(account.trim())
        .ok_or_else(|| FieldError::invalid("/accountNumber", "Account number must be 4 to 17 digits."))
}

/// The events adding a new bank raises.
pub fn creation_topics(status: FundingSourceStatus) -> Vec<EventTopic> {
    match status {
        FundingSourceStatus::Unverified => vec![EventTopic::CustomerFundingSourceAdded],
        FundingSourceStatus::Verified => {
            vec![EventTopic::CustomerFundingSourceAdded, EventTopic::CustomerFundingSourceVerified]
        }
    }
}

/// The answer to adding a bank the customer already has (`existing` is its id).
pub fn duplicate(base: &str, existing: &str) -> DwollaError {
    let about = crate::hal::link(base, &format!("/funding-sources/{existing}"), "funding-source");
    DwollaError::new(DwollaCode::DuplicateResource, format!("Bank already exists: id={existing}")).with_about(about)
}

/// An unverified bank removed within 48 hours of its creation comes back under its own id
/// when it is added again (unverified); returns it as it is saved back.
pub fn reactivate(
    new: &FundingSourceRecord,
    removed: FundingSourceRecord,
    now: Timestamp,
) -> Option<FundingSourceRecord> {
    let unverified = new.status == FundingSourceStatus::Unverified && removed.status == FundingSourceStatus::Unverified;
    if !unverified || now.millis() - removed.created_at.millis() >= REACTIVATE_WITHIN_MS {
        return None;
    }
    let on_demand_authorization_id =
        new.on_demand_authorization_id.clone().or(removed.on_demand_authorization_id.clone());
    Some(FundingSourceRecord {
        removed: false,
        name: new.name.clone(),
        bank_account_type: new.bank_account_type,
        on_demand_authorization_id,
        updated_at: now,
        ..removed
    })
}

/// New details for an unverified bank; a field not given keeps its value.
#[derive(Debug, Default, PartialEq)]
pub struct DetailChange {
    pub kind: Option<BankAccountType>,
    pub routing: Option<RoutingNumber>,
    pub account: Option<AccountNumber>,
}

/// What an update body does to a funding source.
#[derive(Debug, Default, PartialEq)]
pub struct Update {
    pub remove: bool,
    pub rename: Option<String>,
    pub details: Option<DetailChange>,
    /// The event the update raises: removal wins over any other change.
    pub topic: Option<EventTopic>,
}

/// Decides an update of `source` (as it stands inside the write that saves it): a removed
/// bank takes none; the name must be 1–50 characters; only an unverified bank changes its
/// details.
pub fn decide_update(source: &FundingSourceRecord, request: &UpdateFundingSource) -> Result<Update, DwollaError> {
    if source.kind == FundingSourceKind::Balance {
        return Err(DwollaError::new(DwollaCode::ValidationError, ONLY_BANKS_UPDATE));
    }
    if source.removed {
        return Err(DwollaError::invalid_resource_state("A removed bank cannot be updated."));
    }
    // The account's own bank has no `funding_source_updated` topic to raise.
    let account_owned = source.customer_id.is_none();
    let mut update = Update::default();
    if request.removed == Some(true) {
        update.remove = true;
        update.topic = Some(if account_owned {
            EventTopic::FundingSourceRemoved
        } else {
            EventTopic::CustomerFundingSourceRemoved
        });
    }
    if let Some(name) = &request.name {
        match name.trim() {
            n if !n.is_empty() && n.chars().count() <= NAME_MAX_CHARS => update.rename = Some(n.to_owned()),
            _ => return Err(DwollaError::invalid("/name", "Invalid bank name.")),
        }
    }
    let UpdateFundingSource { bank_account_type: kind, routing_number: routing, account_number: account, .. } = request;
    if kind.is_some() || routing.is_some() || account.is_some() {
        if source.status != FundingSourceStatus::Unverified {
            return Err(DwollaError::invalid("/routingNumber", "A verified bank's details cannot be changed."));
        }
        let mut errors = Vec::new();
        let kind = kind.as_deref().map(|k| collect(&mut errors, account_type(Some(k))));
        let routing = routing.as_deref().map(|r| collect(&mut errors, routing_number(r)));
        let account = account.as_deref().map(|a| collect(&mut errors, account_number(a)));
        if !errors.is_empty() {
            return Err(DwollaError::validation(errors));
        }
        update.details =
            Some(DetailChange { kind: kind.flatten(), routing: routing.flatten(), account: account.flatten() });
    }
    if (update.rename.is_some() || update.details.is_some()) && !account_owned {
        update.topic = update.topic.or(Some(EventTopic::CustomerFundingSourceUpdated));
    }
    Ok(update)
}

openiav_core::wire_enum! {
    /// A state the sandbox control plane forces a bank into.
    pub enum ForcedState {
        Verified = "verified",
        Unverified = "unverified",
        Removed = "removed",
    }
}

/// What forcing a bank into a state does.
#[derive(Debug, PartialEq, Eq)]
pub enum Forced {
    /// Removed as `POST /funding-sources/{id}` with `removed: true` removes it.
    Remove,
    /// Its status becomes this, raising the event (a customer's bank only).
    Status(FundingSourceStatus, Option<EventTopic>),
}

/// Decides forcing `source` (as it stands inside the write) into `target`: only a live bank
/// changes state, and only to a state it is not in.
pub fn forced_state(source: &FundingSourceRecord, target: ForcedState) -> Result<Forced, DwollaError> {
    if source.kind == FundingSourceKind::Balance {
        return Err(DwollaError::invalid_resource_state("A balance has no verified or removed state to force."));
    }
    if source.removed {
        return Err(DwollaError::invalid_resource_state("A removed bank cannot change state."));
    }
    let (status, topic) = match target {
        ForcedState::Removed => return Ok(Forced::Remove),
        ForcedState::Verified => (FundingSourceStatus::Verified, EventTopic::CustomerFundingSourceVerified),
        ForcedState::Unverified => (FundingSourceStatus::Unverified, EventTopic::CustomerFundingSourceUnverified),
    };
    if source.status == status {
        return Err(DwollaError::invalid_resource_state(format!("The bank is {status} already.")));
    }
    Ok(Forced::Status(status, source.customer_id.is_some().then_some(topic)))
}

/// The links a funding source shows besides `self` and `customer`.
#[derive(Debug, PartialEq, Eq)]
pub struct Shown {
    pub remove: bool,
    /// `initiate-`, `verify-` or `failed-verification-micro-deposits`, for an unverified bank.
    pub micro_deposits: Option<&'static str>,
    /// `exchange` and `balance`, for a bank added from an exchange.
    pub exchange: bool,
}

/// What a funding source links to; a removed one links to nothing more. `deposits` are the
/// micro-deposits sent to it, if any.
pub fn links_shown(source: &FundingSourceRecord, deposits: Option<&FundingSourceMicroDepositsRecord>) -> Shown {
    let live = !source.removed;
    let micro_deposits = (live && source.status == FundingSourceStatus::Unverified).then(|| match deposits {
        None => "initiate-micro-deposits",
        Some(m) if m.status == FundingSourceMicroDepositStatus::Failed => "failed-verification-micro-deposits",
        Some(_) => "verify-micro-deposits",
    });
    Shown { remove: live, micro_deposits, exchange: live && source.exchange_id.is_some() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldCode;

    #[test]
    fn a_live_bank_is_forced_into_another_state_and_a_balance_or_removed_bank_is_not() {
        let bank = crate::funding_sources::testing::bank();
        let forced_state = |s: &FundingSourceRecord, t| forced_state(s, t).map_err(|e| e.code());
        assert_eq!(forced_state(&bank, ForcedState::Removed), Ok(Forced::Remove));
        assert_eq!(
            forced_state(&bank, ForcedState::Verified),
            Ok(Forced::Status(FundingSourceStatus::Verified, Some(EventTopic::CustomerFundingSourceVerified)))
        );
        let verified = FundingSourceRecord { status: FundingSourceStatus::Verified, ..bank.clone() };
        assert_eq!(
            forced_state(&verified, ForcedState::Unverified),
            Ok(Forced::Status(FundingSourceStatus::Unverified, Some(EventTopic::CustomerFundingSourceUnverified)))
        );
        let accounts = FundingSourceRecord { customer_id: None, ..bank.clone() };
        assert_eq!(
            forced_state(&accounts, ForcedState::Verified),
            Ok(Forced::Status(FundingSourceStatus::Verified, None)),
            "the account's own bank has no customer topic"
        );
        let refused = forced_state;
        assert_eq!(refused(&bank, ForcedState::Unverified), Err(DwollaCode::InvalidResourceState));
        let removed = FundingSourceRecord { removed: true, ..bank.clone() };
        assert_eq!(refused(&removed, ForcedState::Verified), Err(DwollaCode::InvalidResourceState));
        let balance = FundingSourceRecord { kind: FundingSourceKind::Balance, ..bank };
        assert_eq!(refused(&balance, ForcedState::Removed), Err(DwollaCode::InvalidResourceState));
    }
    use crate::funding_sources::testing;

    const ROUTING: &str = "222222226";
    const DAY_MS: i64 = 24 * 3_600_000;

    fn numbers(name: &str, kind: &str, routing: &str, account: &str) -> CreateFundingSource {
        CreateFundingSource {
            name: Some(name.into()),
            bank_account_type: Some(kind.into()),
            routing_number: Some(routing.into()),
            account_number: Some(account.into()),
            ..CreateFundingSource::default()
        }
    }

    /// The `(path, code, message)` of each field error `e` embeds.
    fn fields(e: &DwollaError) -> Vec<(String, FieldCode, String)> {
        e.field_errors().iter().map(|f| (f.path.clone(), f.code, f.message.clone())).collect()
    }

    fn paths(e: &DwollaError) -> Vec<String> {
        fields(e).into_iter().map(|(p, _, _)| p).collect()
    }

    #[test]
    fn deactivated_and_suspended_customers_add_no_banks() {
        for status in CustomerStatus::ALL {
            let refused = matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended);
            assert_eq!(may_add_funding_sources(*status).is_err(), refused, "{status}");
        }
    }

    #[test]
    fn a_bank_by_numbers_takes_every_account_type_and_trims() {
        for kind in BankAccountType::ALL {
            let bank = bank_by_numbers(&numbers(" Mine ", kind.as_str(), ROUTING, " 123456789 ")).unwrap();
            assert_eq!((bank.name.as_str(), bank.kind), ("Mine", *kind));
            assert_eq!((bank.routing.as_str(), bank.account.expose()), (ROUTING, "123456789"));
        }
    }

    #[test]
    fn an_empty_create_body_names_every_missing_field_in_order() {
        let e = bank_by_numbers(&CreateFundingSource::default()).unwrap_err();
        assert_eq!(e.code(), DwollaCode::ValidationError);
        let codes: Vec<_> = fields(&e).into_iter().map(|(p, c, _)| (p, c)).collect();
        assert_eq!(
            codes,
            [
                ("/name".to_owned(), FieldCode::Required),
                ("/bankAccountType".to_owned(), FieldCode::Invalid),
                ("/routingNumber".to_owned(), FieldCode::Required),
                ("/accountNumber".to_owned(), FieldCode::Required),
            ]
        );
    }

    #[test]
    fn bad_numbers_types_and_names_are_invalid() {
        for (body, path, message) in [
            (numbers("n", "checking", "222222227", "1234"), "/routingNumber", "Routing number invalid."),
            (numbers("n", "checking", ROUTING, "123"), "/accountNumber", "Account number must be 4 to 17 digits."),
            (numbers("n", "brokerage", ROUTING, "1234"), "/bankAccountType", ANY_ACCOUNT_TYPE),
            (numbers(&"n".repeat(51), "loan", ROUTING, "1234"), "/name", "Name must be at most 50 characters."),
        ] {
            let e = bank_by_numbers(&body).unwrap_err();
            assert_eq!(fields(&e), [(path.to_owned(), FieldCode::Invalid, message.to_owned())]);
        }
    }

    #[test]
    fn an_exchange_bank_is_checking_or_savings_from_an_active_exchange() {
        let active = ("ex", ExchangeStatus::Active);
        let body = |kind: &str| CreateFundingSource {
            name: Some("From MX".into()),
            bank_account_type: Some(kind.into()),
            ..CreateFundingSource::default()
        };
        let bank = bank_from_exchange(&body("savings"), Some(active)).unwrap();
        assert_eq!((bank.name.as_str(), bank.kind, bank.exchange), ("From MX", BankAccountType::Savings, "ex"));
        let e = bank_from_exchange(&body("loan"), Some(active)).unwrap_err();
        assert_eq!(paths(&e), ["/bankAccountType"]);
        let e = bank_from_exchange::<&str>(&CreateFundingSource::default(), None).unwrap_err();
        assert_eq!(paths(&e), ["/name", "/bankAccountType", "/_links/exchange/href"]);
        for inactive in [ExchangeStatus::Deactivated, ExchangeStatus::Removed] {
            let e = bank_from_exchange(&body("checking"), Some(("ex", inactive))).unwrap_err();
            assert_eq!(e.code(), DwollaCode::InactiveExchange);
        }
    }

    #[test]
    fn channels_are_ach_by_default_and_only_ach_or_wire() {
        assert_eq!(channels(None).unwrap(), [Channel::Ach]);
        let asked = ["wire".to_owned(), "ach".to_owned()];
        assert_eq!(channels(Some(&asked[..])).unwrap(), [Channel::Wire, Channel::Ach]);
        let e = channels(Some(&["carrier-pigeon".to_owned()])).unwrap_err();
        assert_eq!(paths(&e), ["/channels"]);
    }

    #[test]
    fn only_verified_banks_raise_verified_on_creation() {
        assert_eq!(creation_topics(FundingSourceStatus::Unverified), [EventTopic::CustomerFundingSourceAdded]);
        assert_eq!(
            creation_topics(FundingSourceStatus::Verified),
            [EventTopic::CustomerFundingSourceAdded, EventTopic::CustomerFundingSourceVerified]
        );
    }

    #[test]
    fn a_removed_unverified_bank_comes_back_within_48_hours_of_its_creation() {
        let removed = FundingSourceRecord { removed: true, ..testing::bank() };
        let new = FundingSourceRecord {
            id: "new".into(),
            name: "Again".into(),
            bank_account_type: BankAccountType::Savings,
            ..testing::bank()
        };
        let now = Timestamp::from_millis(DAY_MS);
        let back = reactivate(&new, removed.clone(), now).expect("reactivated");
        assert_eq!((back.id.as_str(), back.removed, back.name.as_str()), ("fs", false, "Again"));
        assert_eq!((back.bank_account_type, back.updated_at), (BankAccountType::Savings, now));
        assert!(reactivate(&new, removed.clone(), Timestamp::from_millis(2 * DAY_MS)).is_none(), "too late");
        let verified = FundingSourceRecord { status: FundingSourceStatus::Verified, ..removed.clone() };
        assert!(reactivate(&new, verified, now).is_none(), "a verified bank is added afresh");
        let from_exchange = FundingSourceRecord { status: FundingSourceStatus::Verified, ..new };
        assert!(reactivate(&from_exchange, removed, now).is_none());
    }

    fn update(body: serde_json::Value) -> UpdateFundingSource {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn removal_wins_the_event_over_a_rename() {
        let decided =
            decide_update(&testing::bank(), &update(serde_json::json!({ "removed": true, "name": " New " }))).unwrap();
        assert_eq!(
            decided,
            Update {
                remove: true,
                rename: Some("New".into()),
                details: None,
                topic: Some(EventTopic::CustomerFundingSourceRemoved)
            }
        );
        let renamed = decide_update(&testing::bank(), &update(serde_json::json!({ "name": "New" }))).unwrap();
        assert_eq!(renamed.topic, Some(EventTopic::CustomerFundingSourceUpdated));
        let nothing = decide_update(&testing::bank(), &update(serde_json::json!({ "removed": false }))).unwrap();
        assert_eq!(nothing, Update::default());
    }

    #[test]
    fn a_removed_bank_takes_no_update_and_names_stay_within_fifty_characters() {
        let removed = FundingSourceRecord { removed: true, ..testing::bank() };
        let e = decide_update(&removed, &update(serde_json::json!({ "removed": false }))).unwrap_err();
        assert_eq!(e.code(), DwollaCode::InvalidResourceState);
        for bad in ["", "  ", &"n".repeat(51)] {
            let e = decide_update(&testing::bank(), &update(serde_json::json!({ "name": bad }))).unwrap_err();
            assert_eq!(fields(&e), [("/name".to_owned(), FieldCode::Invalid, "Invalid bank name.".to_owned())]);
        }
    }

    #[test]
    fn only_an_unverified_bank_changes_its_details() {
        let body = update(serde_json::json!({ "accountNumber": "987654321", "bankAccountType": "savings" }));
        let decided = decide_update(&testing::bank(), &body).unwrap();
        let details = decided.details.expect("details change");
        assert_eq!((details.kind, details.routing), (Some(BankAccountType::Savings), None));
        assert_eq!(details.account.map(|a| a.expose().to_owned()).as_deref(), Some("987654321"));
        assert_eq!(decided.topic, Some(EventTopic::CustomerFundingSourceUpdated));

        let verified = FundingSourceRecord { status: FundingSourceStatus::Verified, ..testing::bank() };
        let e = decide_update(&verified, &body).unwrap_err();
        assert_eq!(paths(&e), ["/routingNumber"]);
        let bad = update(serde_json::json!({ "routingNumber": "1", "accountNumber": "x", "bankAccountType": "y" }));
        assert_eq!(
            paths(&decide_update(&testing::bank(), &bad).unwrap_err()),
            ["/bankAccountType", "/routingNumber", "/accountNumber"]
        );
    }

    #[test]
    fn links_follow_micro_deposits_removal_and_exchange() {
        let deposits = testing::deposits;
        let rel = |d: Option<&FundingSourceMicroDepositsRecord>| links_shown(&testing::bank(), d).micro_deposits;
        assert_eq!(rel(None), Some("initiate-micro-deposits"));
        assert_eq!(rel(Some(&deposits(FundingSourceMicroDepositStatus::Pending))), Some("verify-micro-deposits"));
        assert_eq!(rel(Some(&deposits(FundingSourceMicroDepositStatus::Processed))), Some("verify-micro-deposits"));
        assert_eq!(
            rel(Some(&deposits(FundingSourceMicroDepositStatus::Failed))),
            Some("failed-verification-micro-deposits")
        );
        let from_exchange = FundingSourceRecord {
            status: FundingSourceStatus::Verified,
            exchange_id: Some("ex".into()),
            ..testing::bank()
        };
        assert_eq!(links_shown(&from_exchange, None), Shown { remove: true, micro_deposits: None, exchange: true });
        let removed = FundingSourceRecord { removed: true, ..from_exchange };
        assert_eq!(links_shown(&removed, None), Shown { remove: false, micro_deposits: None, exchange: false });
    }
}
