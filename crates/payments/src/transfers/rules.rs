//! The rules of a transfer: reading `POST /transfers` bodies (amounts with Dwolla's rounding,
//! metadata, correlation ids, clearing, addenda, processing channels, fees), who may send to
//! whom from which funding source, which ACH legs a transfer needs, and when it may be cancelled.
//! Every refusal is Dwolla's own code, path and message (`dwolla-transfers-wire.md` §3.2).

use openiav_core::money::Cents;
use openiav_core::payments::{CustomerKind, CustomerStatus, FundingSourceKind, FundingSourceStatus, TransferStatus};
use openiav_store::records::{BankTransferRecord, CustomerRecord, FundingSourceRecord, TransferRecord};

use super::{
    AchDetailsIn, AchSideIn, AmountIn, ClearingOption, CreateTransfer, FeeIn, StoredAch, StoredAchSide, StoredAddenda,
    StoredClearing, TransferOptions, RTP,
};
use crate::error::{FieldCode, FieldError};
use crate::hal::id_from_href;
use crate::DwollaError;

pub const SOURCE_NOT_FOUND: &str = "Funding source not found.";
pub const RECEIVER_NOT_FOUND: &str = "Receiver not found.";
pub const INVALID_SOURCE: &str = "Invalid funding source.";
pub const INVALID_DESTINATION: &str = "Invalid destination funding source.";
pub const SENDER_RESTRICTED: &str = "Sender restricted.";
pub const RECEIVER_RESTRICTED: &str = "Receiver restricted.";
pub const INVALID_METADATA: &str = "Invalid metadata.";
pub const METADATA_NOT_SUPPORTED: &str = "Metadata not supported for this type of transfer.";
pub const BLOCKED: &str = "Receiver cannot receive from sender.";
pub const OVER_LIMIT: &str = "Invalid amount. The supplied amount is greater than your transaction limit.";
pub const CANNOT_PARSE_AMOUNT: &str = "Invalid amount. The supplied amount must be a positive number.";
pub const INSUFFICIENT_FUNDS: &str = "Insufficient funds.";
pub const FEE_ACCOUNT_NOT_FOUND: &str = "Facilitator fee account not found.";
pub const FEE_SUM_TOO_LARGE: &str = "Facilitator fee sum too large.";
pub const FEE_BELOW_MINIMUM: &str = "Facilitator fee below minimum.";
pub const SAME_AS_DESTINATION: &str = "Receiver cannot be the owner of the source funding source.";
pub const INVALID_FACILITATOR: &str = "Account cannot facilitate this transaction.";
pub const FEE_COLLECT_FROM: &str = "Unable to charge fee to specified destination.";
/// Verbatim from Dwolla's spec, stray quote included.
pub const FEE_COMBINATION: &str = "Currently, all fees must be paid by same destination.\"";
pub const INVALID_FEE_AMOUNT: &str = "Invalid facilitator fee amount.";
pub const CORRELATION_ID: &str =
    "Correlation id must be at least one character and up to 255 characters when supplied.";
pub const ADDENDA_LENGTH: &str = "Ach addenda entries can be up to 80 characters when supplied.";
pub const ADDENDA_NOT_ENABLED: &str = "Supplying ach addenda entries is currently not enabled.";
pub const RTP_NEEDS_BALANCE: &str =
    "Transfers using the Real Time Payments processing channel must be funded by a balance";
pub const RTP_NO_FEES: &str = "Real Time Payments does not currently support facilitator fees";
pub const RTP_UNVERIFIED_SENDER: &str = "Real Time Payments does not currently support unverified senders";
pub const RTP_PERSONAL_TO_PERSONAL: &str =
    "Real Time Payments does not currently support transfers between personal accounts";
pub const RTP_NOT_SUPPORTED: &str = "Destination funding source does not support processing channel";
pub const STATUS_INVALID: &str = "Status invalid.";
pub const STATUS_NOT_ALLOWED: &str = "Status not allowed.";
/// No Dwolla schema covers these request values; the wording is ours.
pub const INVALID_CURRENCY: &str = "Invalid amount. The supplied currency must be USD.";
pub const INVALID_CLEARING: &str = "Invalid clearing type.";
pub const INVALID_CHANNEL: &str = "Invalid processing channel.";

/// Per-transfer limits by customer type (`customer-types.mdx`), and the unverified sender's
/// weekly one.
pub const PERSONAL_LIMIT: Cents = Cents(500_000);
pub const BUSINESS_LIMIT: Cents = Cents(1_000_000);
pub const UNVERIFIED_WEEKLY_LIMIT: Cents = Cents(500_000);
/// NACHA's Same Day ACH limit: above it `next-available` clears in a standard window.
pub const SAME_DAY_LIMIT: Cents = Cents(10_000_000);
/// The most a request can name: larger amounts are over every limit anyway.
const MAX_METADATA_KEYS: usize = 10;
const MAX_METADATA_LEN: usize = 255;
const MAX_ADDENDA_LEN: usize = 80;
const ADDENDA_SPECIALS: &str = "-_.~!*'();:@&=+$,/?%#[] ";

/// The sandbox's RTP-eligible routing numbers: Dwolla identifies them from The Clearing
/// House's list, which the docs do not reproduce. We take the sandbox routing number every
/// sample uses plus a few large RTP participants; any other routing number is ACH only.
pub const RTP_ROUTING_NUMBERS: &[&str] = &["222222226", "021000021", "026009593", "121000248", "091000022"];

fn err(code: FieldCode, path: &str, message: &str) -> FieldError {
    FieldError::new(code, path, message)
}

/// One embedded error, answered alone (Dwolla answers a transfer with its first refusal).
pub fn refuse(code: FieldCode, path: &str, message: &str) -> DwollaError {
    DwollaError::validation(vec![err(code, path, message)])
}

/// Parses a positive amount the way Dwolla reads one: a decimal string, more than two places
/// rounded half to even ("Banker's Rounding"). `None` when it is not a positive amount.
pub fn parse_amount(text: &str) -> Option<Cents> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return None;
    }
    if whole.len() > 13 {
        return None;
    }
    let kept = &fraction[..fraction.len().min(2)];
    let rest = &fraction[fraction.len().min(2)..];
    let mut cents = Cents::parse(&format!("{whole}.{kept:0<2}")).ok()?.0;
    if let Some(first) = rest.bytes().next() {
        let beyond = rest.bytes().skip(1).any(|b| b != b'0');
        let round_up = match first {
            b'6'..=b'9' => true,
            b'5' => beyond || cents % 2 == 1,
            _ => false,
        };
        if round_up {
            cents += 1;
        }
    }
    (cents > 0).then_some(Cents(cents))
}

/// Who a fee is charged to, as its `charge-to` href names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeTo {
    Customer(String),
    Account(String),
}

/// A fee as the body asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeAsked {
    pub charge_to: ChargeTo,
    pub amount: Cents,
}

/// A body that reads: what the store is asked about next.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub source_id: String,
    pub destination_id: String,
    pub amount: Cents,
    pub correlation_id: Option<String>,
    pub options: TransferOptions,
    pub fees: Vec<FeeAsked>,
    /// `processingChannel.destination` asks for an instant payment.
    pub instant: bool,
    pub has_metadata: bool,
    pub source_addenda: bool,
    pub destination_addenda: bool,
}

/// Reads a `POST /transfers` body; every shape error is reported at once.
pub fn check(request: &CreateTransfer) -> Result<Checked, DwollaError> {
    let mut errors = Vec::new();
    let links = request.links.as_ref();
    let href =
        |h: Option<&super::Href>| h.and_then(|h| h.href.as_deref()).and_then(|h| id_from_href(h, "funding-sources"));
    let source_id = href(links.and_then(|l| l.source.as_ref()));
    if source_id.is_none() {
        errors.push(err(FieldCode::Invalid, "/_links/source/href", SOURCE_NOT_FOUND));
    }
    let destination_id = href(links.and_then(|l| l.destination.as_ref()));
    if destination_id.is_none() {
        errors.push(err(FieldCode::Invalid, "/_links/destination/href", RECEIVER_NOT_FOUND));
    }
    let amount = amount_of(request.amount.as_ref(), "/amount", &mut errors);

    let metadata = request.metadata.as_ref().map(|m| {
        let mut kept = std::collections::BTreeMap::new();
        let mut ok = m.len() <= MAX_METADATA_KEYS;
        for (k, v) in m {
            match v.as_str() {
                Some(text) if k.chars().count() < MAX_METADATA_LEN && text.chars().count() < MAX_METADATA_LEN => {
                    kept.insert(k.clone(), text.to_owned());
                }
                _ => ok = false,
            }
        }
        if !ok {
            errors.push(err(FieldCode::Invalid, "/metadata", INVALID_METADATA));
        }
        kept
    });

    let correlation_id = request.correlation_id.clone();
    if let Some(id) = &correlation_id {
        let valid_chars = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if id.is_empty() || id.chars().count() > 255 || !valid_chars {
            errors.push(err(FieldCode::InvalidFormat, "/correlationId", CORRELATION_ID));
        }
    }

    let clearing = request.clearing.as_ref().map(|c| {
        let source = c.source.as_deref().map(|s| match s {
            "standard" => Some(ClearingOption::Standard),
            "next-available" => Some(ClearingOption::NextAvailable),
            _ => None,
        });
        let destination = c.destination.as_deref().map(|s| match s {
            "next-available" => Some(ClearingOption::NextAvailable),
            _ => None,
        });
        if source == Some(None) {
            errors.push(err(FieldCode::Invalid, "/clearing/source", INVALID_CLEARING));
        }
        if destination == Some(None) {
            errors.push(err(FieldCode::Invalid, "/clearing/destination", INVALID_CLEARING));
        }
        (source.flatten(), destination.flatten())
    });

    let ach = request.ach_details.as_ref().map(|a: &AchDetailsIn| {
        let side = |s: Option<&AchSideIn>, path: &str, errors: &mut Vec<FieldError>| -> Option<String> {
            let values = s?.addenda.as_ref()?.values.as_ref()?;
            let ok = values.len() == 1
                && values[0].chars().count() <= MAX_ADDENDA_LEN
                && !values[0].is_empty()
                && values[0].chars().all(|c| c.is_ascii_alphanumeric() || ADDENDA_SPECIALS.contains(c));
            if !ok {
                errors.push(err(FieldCode::InvalidFormat, path, ADDENDA_LENGTH));
                return None;
            }
            Some(values[0].clone())
        };
        let source = side(a.source.as_ref(), "/achDetails/source/addenda/values", &mut errors);
        let destination = side(a.destination.as_ref(), "/achDetails/destination/addenda/values", &mut errors);
        (source, destination)
    });

    let instant = match request.processing_channel.as_ref().and_then(|p| p.destination.as_deref()) {
        None => false,
        Some("real-time-payments" | "instant") => true,
        Some(_) => {
            errors.push(err(FieldCode::Invalid, "/processingChannel/destination", INVALID_CHANNEL));
            false
        }
    };

    let mut fees = Vec::new();
    for fee in request.fees.iter().flatten() {
        if let Some(f) = fee_of(fee, &mut errors) {
            fees.push(f);
        }
    }

    if !errors.is_empty() {
        return Err(DwollaError::validation(errors));
    }
    let (Some(source_id), Some(destination_id), Some(amount)) = (source_id, destination_id, amount) else {
        return Err(DwollaError::validation(vec![err(FieldCode::Invalid, "/amount/value", CANNOT_PARSE_AMOUNT)]));
    };
    let clearing = clearing.map(|(source, destination)| StoredClearing {
        source: source.map(|s| s.rendered(amount)),
        destination: destination.map(|d| d.rendered(amount)),
    });
    let (source_addenda, destination_addenda) =
        ach.as_ref().map_or((false, false), |(s, d)| (s.is_some(), d.is_some()));
    let ach_details = ach.and_then(|(source, destination)| {
        let wrap = |v: Option<String>| v.map(|v| StoredAchSide { addenda: StoredAddenda { values: vec![v] } });
        (source.is_some() || destination.is_some())
            .then(|| StoredAch { source: wrap(source), destination: wrap(destination) })
    });
    let has_metadata = metadata.as_ref().is_some_and(|m| !m.is_empty());
    Ok(Checked {
        source_id,
        destination_id,
        amount,
        correlation_id,
        options: TransferOptions {
            clearing: clearing.filter(|c| c.source.is_some() || c.destination.is_some()),
            ach_details,
            processing_channel: instant.then_some(RTP),
            metadata: metadata.filter(|m| !m.is_empty()),
        },
        fees,
        instant,
        has_metadata,
        source_addenda,
        destination_addenda,
    })
}

/// The amount at `path` (`{value, currency}`), or the errors it earns.
fn amount_of(amount: Option<&AmountIn>, path: &str, errors: &mut Vec<FieldError>) -> Option<Cents> {
    let value_path = format!("{path}/value");
    let Some(amount) = amount else {
        errors.push(err(FieldCode::InvalidFormat, &value_path, CANNOT_PARSE_AMOUNT));
        return None;
    };
    let parsed = amount.value.as_deref().and_then(parse_amount);
    if parsed.is_none() {
        errors.push(err(FieldCode::InvalidFormat, &value_path, CANNOT_PARSE_AMOUNT));
    }
    if !amount.currency.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("USD")) {
        errors.push(err(FieldCode::Invalid, &format!("{path}/currency"), INVALID_CURRENCY));
        return None;
    }
    parsed
}

fn fee_of(fee: &FeeIn, errors: &mut Vec<FieldError>) -> Option<FeeAsked> {
    const PATH: &str = "/fees/_links/charge-to/href";
    let href = fee.links.as_ref().and_then(|l| l.charge_to.as_ref()).and_then(|h| h.href.as_deref());
    let charge_to = href.and_then(|h| {
        id_from_href(h, "customers")
            .map(ChargeTo::Customer)
            .or_else(|| id_from_href(h, "accounts").map(ChargeTo::Account))
    });
    let Some(charge_to) = charge_to else {
        errors.push(err(FieldCode::Invalid, "", FEE_ACCOUNT_NOT_FOUND));
        return None;
    };
    let amount = fee.amount.as_ref();
    if !amount.and_then(|a| a.currency.as_deref()).is_some_and(|c| c.eq_ignore_ascii_case("USD")) {
        errors.push(err(FieldCode::Invalid, PATH, INVALID_FEE_AMOUNT));
        return None;
    }
    let text = amount.and_then(|a| a.value.as_deref()).unwrap_or("").trim();
    match parse_amount(text) {
        Some(cents) => Some(FeeAsked { charge_to, amount: cents }),
        // Parses as a number but rounds to nothing, or is zero: below the minimum.
        None if text.trim_start_matches('-').parse::<f64>().is_ok_and(f64::is_finite) => {
            errors.push(err(FieldCode::Invalid, "", FEE_BELOW_MINIMUM));
            None
        }
        None => {
            errors.push(err(FieldCode::Invalid, PATH, INVALID_FEE_AMOUNT));
            None
        }
    }
}

impl ClearingOption {
    /// What the transfer shows for a requested clearing: `next-available` is Same Day ACH up to
    /// NACHA's limit and a standard window above it.
    pub fn rendered(self, amount: Cents) -> String {
        match self {
            Self::NextAvailable if amount <= SAME_DAY_LIMIT => "same-day".to_owned(),
            _ => "standard".to_owned(),
        }
    }
}

/// One side of a transfer as the store has it: the funding source and its owner (`None` for
/// the account).
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub source: &'a FundingSourceRecord,
    pub owner: Option<&'a CustomerRecord>,
}

/// Whether the party is CIP-verified (the account counts as verified).
fn verified(owner: Option<&CustomerRecord>) -> bool {
    owner.is_none_or(|c| {
        matches!(c.kind, CustomerKind::Personal | CustomerKind::Business) && c.status == CustomerStatus::Verified
    })
}

fn restricted(owner: Option<&CustomerRecord>) -> bool {
    owner.is_some_and(|c| matches!(c.status, CustomerStatus::Suspended | CustomerStatus::Deactivated))
}

fn per_transfer_limit(owner: Option<&CustomerRecord>) -> Option<Cents> {
    match owner.map(|c| c.kind) {
        Some(CustomerKind::Personal) => Some(PERSONAL_LIMIT),
        Some(CustomerKind::Business) => Some(BUSINESS_LIMIT),
        _ => None,
    }
}

/// What the store holds decides the rest. `sent_this_week` is what an unverified sender sent
/// since Monday (UTC); `charged` resolves each fee's party to a side (`true`: the source owner)
/// or `None` when the fee's party is not known to the tenant.
pub fn decide(
    checked: &Checked,
    source: Side<'_>,
    destination: Side<'_>,
    sent_this_week: Cents,
    tenant: &str,
) -> Result<Vec<ChargedSide>, DwollaError> {
    use FieldCode::*;
    const SRC: &str = "/_links/source/href";
    const DST: &str = "/_links/destination/href";
    let s = source.source;
    let d = destination.source;
    if s.removed {
        return Err(refuse(Invalid, SRC, SOURCE_NOT_FOUND));
    }
    if d.removed {
        return Err(refuse(Invalid, DST, INVALID_DESTINATION));
    }
    if s.id == d.id {
        return Err(refuse(Invalid, DST, SAME_AS_DESTINATION));
    }
    if s.kind == FundingSourceKind::Bank && s.status != FundingSourceStatus::Verified {
        return Err(refuse(Invalid, SRC, INVALID_SOURCE));
    }
    if restricted(source.owner) {
        return Err(refuse(Restricted, SRC, SENDER_RESTRICTED));
    }
    if restricted(destination.owner) {
        return Err(refuse(Restricted, DST, RECEIVER_RESTRICTED));
    }
    // Receive-only users only receive.
    if source.owner.is_some_and(|c| c.kind == CustomerKind::ReceiveOnly) {
        return Err(refuse(Invalid, SRC, INVALID_SOURCE));
    }
    // One party at least must be verified (the account counts).
    if !verified(source.owner) && !verified(destination.owner) {
        return Err(refuse(NotAllowed, DST, BLOCKED));
    }
    if checked.has_metadata && (s.kind == FundingSourceKind::Balance || d.kind == FundingSourceKind::Balance) {
        return Err(refuse(Invalid, "/metadata", METADATA_NOT_SUPPORTED));
    }
    let limits = [per_transfer_limit(source.owner), per_transfer_limit(destination.owner)];
    if limits.iter().flatten().any(|limit| checked.amount > *limit) {
        return Err(refuse(Invalid, "/amount/value", OVER_LIMIT));
    }
    if source.owner.is_some_and(|c| c.kind == CustomerKind::Unverified)
        && sent_this_week.0.saturating_add(checked.amount.0) > UNVERIFIED_WEEKLY_LIMIT.0
    {
        return Err(refuse(Invalid, "/amount/value", OVER_LIMIT));
    }
    let business = |owner: Option<&CustomerRecord>| owner.is_none_or(|c| c.kind == CustomerKind::Business);
    if (checked.source_addenda && !business(source.owner))
        || (checked.destination_addenda && !business(destination.owner))
    {
        return Err(refuse(NotAllowed, "", ADDENDA_NOT_ENABLED));
    }
    if checked.instant {
        if s.kind != FundingSourceKind::Balance {
            return Err(refuse(NotAllowed, DST, RTP_NEEDS_BALANCE));
        }
        if !checked.fees.is_empty() {
            return Err(refuse(NotAllowed, "", RTP_NO_FEES));
        }
        if !verified(source.owner) {
            return Err(refuse(NotAllowed, "", RTP_UNVERIFIED_SENDER));
        }
        let personal = |o: Option<&CustomerRecord>| o.is_some_and(|c| c.kind == CustomerKind::Personal);
        if personal(source.owner) && personal(destination.owner) {
            return Err(refuse(NotAllowed, "", RTP_PERSONAL_TO_PERSONAL));
        }
        if d.kind != FundingSourceKind::Bank || !RTP_ROUTING_NUMBERS.contains(&d.routing_number.as_str()) {
            return Err(refuse(NotAllowed, "/processingChannel/destination", RTP_NOT_SUPPORTED));
        }
    }
    decide_fees(checked, source, destination, tenant)
}

/// Which side a fee is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargedSide {
    Source,
    Destination,
}

fn decide_fees(
    checked: &Checked,
    source: Side<'_>,
    destination: Side<'_>,
    tenant: &str,
) -> Result<Vec<ChargedSide>, DwollaError> {
    use FieldCode::*;
    const PATH: &str = "/fees/_links/charge-to/href";
    let Some(first) = checked.fees.first() else { return Ok(Vec::new()) };
    if checked.fees.iter().any(|f| f.charge_to != first.charge_to) {
        return Err(refuse(Invalid, PATH, FEE_COMBINATION));
    }
    let owner_id = |side: Side<'_>| side.owner.map(|c| c.id.clone());
    if owner_id(source) == owner_id(destination) {
        return Err(refuse(Invalid, "", INVALID_FACILITATOR));
    }
    let side = match &first.charge_to {
        ChargeTo::Customer(id) if owner_id(source).as_deref() == Some(id) => ChargedSide::Source,
        ChargeTo::Customer(id) if owner_id(destination).as_deref() == Some(id) => ChargedSide::Destination,
        // The account collects fees; it cannot be charged them.
        ChargeTo::Account(id) if id == tenant => return Err(refuse(Invalid, PATH, FEE_COLLECT_FROM)),
        _ => return Err(refuse(Invalid, PATH, FEE_COLLECT_FROM)),
    };
    let total = checked.fees.iter().try_fold(Cents::ZERO, |sum, f| sum.checked_add(f.amount));
    // More than half the transfer: `2 * total > amount`.
    if total.is_none_or(|t| t.0.saturating_mul(2) > checked.amount.0) {
        return Err(refuse(Invalid, "", FEE_SUM_TOO_LARGE));
    }
    Ok(vec![side; checked.fees.len()])
}

/// What a balance source is debited when the transfer is created, and so given back when it
/// fails or is cancelled: its amount and the fees charged to the sender not yet settled (fees
/// carry the charged party's funding source as theirs).
pub fn held_at_creation(t: &TransferRecord, fees: &[TransferRecord]) -> Cents {
    let fees: i64 = fees
        .iter()
        .filter(|f| f.source_id == t.source_id && f.status == TransferStatus::Pending)
        .map(|f| f.amount.0)
        .sum();
    Cents(t.amount.0 + fees)
}

/// The ACH legs a new transfer opens: a debit when its source is a bank, a credit when money
/// leaves a balance for a bank. A bank-to-bank credit waits for the debit to be processed.
pub fn legs_at_creation(source: FundingSourceKind, destination: FundingSourceKind) -> (bool, bool) {
    use FundingSourceKind::*;
    (source == Bank, source == Balance && destination == Bank)
}

/// Whether a transfer may still be cancelled: pending, not a fee, and no leg processed yet.
pub fn cancellable(t: &TransferRecord, legs: &[BankTransferRecord]) -> bool {
    t.status == TransferStatus::Pending
        && t.fee_of.is_none()
        && !legs.is_empty()
        && legs.iter().all(|l| l.status == TransferStatus::Pending)
}

/// The status a cancel body asks for; only `cancelled` may be asked for.
pub fn decide_cancel(status: Option<&str>, t: &TransferRecord, legs: &[BankTransferRecord]) -> Result<(), DwollaError> {
    if status != Some("cancelled") {
        return Err(refuse(FieldCode::Invalid, "/status", STATUS_INVALID));
    }
    if !cancellable(t, legs) {
        return Err(refuse(FieldCode::NotAllowed, "/status", STATUS_NOT_ALLOWED));
    }
    Ok(())
}

/// The first millisecond of the UTC week (Monday) holding `now_ms`.
pub fn week_start(now_ms: i64) -> i64 {
    let day = now_ms.div_euclid(86_400_000);
    // 1970-01-01 was a Thursday, three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_half_to_even_beyond_two_places() {
        let cents = |s: &str| parse_amount(s).map(|c| c.0);
        assert_eq!(cents("10"), Some(1000));
        assert_eq!(cents("10.5"), Some(1050));
        assert_eq!(cents("0.01"), Some(1));
        assert_eq!(cents("1.005"), Some(100));
        assert_eq!(cents("1.015"), Some(102));
        assert_eq!(cents("1.0051"), Some(101));
        assert_eq!(cents("1.0049"), Some(100));
        assert_eq!(cents("1.999"), Some(200));
        assert_eq!(cents("0.004"), None);
        assert_eq!(cents("0"), None);
        assert_eq!(cents("-1.00"), None);
        assert_eq!(cents("1e3"), None);
        assert_eq!(cents("1."), None);
        assert_eq!(cents(""), None);
        assert_eq!(cents("99999999999999999"), None);
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2024-03-27 (a Wednesday) 12:00 UTC → Monday 2024-03-25 00:00 UTC.
        assert_eq!(week_start(1_711_540_800_000), 1_711_324_800_000);
        assert_eq!(week_start(1_711_324_800_000), 1_711_324_800_000);
        assert_eq!(week_start(1_711_324_799_999), 1_711_324_800_000 - 7 * 86_400_000);
    }

    #[test]
    fn legs_follow_the_banks_involved() {
        use FundingSourceKind::*;
        assert_eq!(legs_at_creation(Bank, Balance), (true, false));
        assert_eq!(legs_at_creation(Bank, Bank), (true, false));
        assert_eq!(legs_at_creation(Balance, Bank), (false, true));
        assert_eq!(legs_at_creation(Balance, Balance), (false, false));
    }

    #[test]
    fn next_available_is_same_day_up_to_the_nacha_limit() {
        assert_eq!(ClearingOption::NextAvailable.rendered(SAME_DAY_LIMIT), "same-day");
        assert_eq!(ClearingOption::NextAvailable.rendered(Cents(SAME_DAY_LIMIT.0 + 1)), "standard");
        assert_eq!(ClearingOption::Standard.rendered(Cents(1)), "standard");
    }
}
