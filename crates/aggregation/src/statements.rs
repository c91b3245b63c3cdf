//! MX statements: which calendar months a fetch covers, the balances each statement shows, the
//! fetch_statements job's outcome (statements created or refreshed, per deposit account) and
//! the PDF a statement downloads as.

use openiav_core::ids::derived_guid;
use openiav_store::records::{AccountRecord, MemberRecord, StatementRecord};
use openiav_store::repo::{accounts, statements as repo};
use openiav_store::{Conn, StoreError};
use sha2::{Digest, Sha256};
use time::{Date, Month};

use crate::catalog::Catalog;
use crate::sandbox::data::{self, day_to_date, SandboxTransaction};
use crate::sandbox::statement_pdf::{self, StatementDocument, StatementLine};
use crate::Aggregation;

/// How many monthly statements a fetch makes per deposit account.
pub const MONTHS_PER_FETCH: usize = 12;

/// A calendar month: the period of one statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: Month,
}

fn unix_day(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp().div_euclid(86_400)
}

fn date_of(day: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400).map_or(Date::MIN, |t| t.date())
}

impl Period {
    /// The month a unix day falls in.
    pub fn containing(day: i64) -> Self {
        let d = date_of(day);
        Self { year: d.year(), month: d.month() }
    }

    /// The month before.
    pub fn previous(self) -> Self {
        match self.month {
            Month::January => Self { year: self.year - 1, month: Month::December },
            m => Self { year: self.year, month: m.previous() },
        }
    }

    fn first_date(self) -> Date {
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// Its first day (unix day).
    pub fn first_day(self) -> i64 {
        unix_day(self.first_date())
    }

    /// Its last day (unix day, inclusive).
    pub fn last_day(self) -> i64 {
        self.first_day() + self.days() - 1
    }

    /// How many days it has.
    pub fn days(self) -> i64 {
        i64::from(self.month.length(self.year))
    }

    /// `November 2026`.
    pub fn label(self) -> String {
        format!("{} {}", self.month, self.year)
    }
}

/// The months a fetch on `today` covers: the [`MONTHS_PER_FETCH`] full calendar months before
/// the current one, newest first (the current month has no statement until it ends).
pub fn periods_before(today: i64) -> Vec<Period> {
    let mut out = Vec::with_capacity(MONTHS_PER_FETCH);
    let mut p = Period::containing(today);
    for _ in 0..MONTHS_PER_FETCH {
        p = p.previous();
        out.push(p);
    }
    out
}

/// A transaction's effect on a deposit account's balance: money in is positive.
pub fn signed_cents(t: &SandboxTransaction) -> i64 {
    if t.is_credit {
        t.amount_cents
    } else {
        -t.amount_cents
    }
}

/// What a statement shows at the start and the end of its period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balances {
    pub opening_cents: i64,
    pub closing_cents: i64,
}

/// A period's balances, counted back from the account's balance today: the closing balance is
/// today's balance less what posted after the period, and the opening balance the closing one
/// less what posted within it, so opening + the period's transactions = closing, and one
/// month's closing balance is the next month's opening balance.
pub fn balances(balance_today: i64, net_after_period: i64, net_within_period: i64) -> Balances {
    let closing_cents = balance_today - net_after_period;
    Balances { opening_cents: closing_cents - net_within_period, closing_cents }
}

/// The guid of an account's statement for a period: a refetch finds the same statement.
pub fn statement_guid(account: &AccountRecord, period: Period) -> String {
    derived_guid("STA", &[account.guid.as_str(), &period.first_day().to_string()])
}

/// The transactions of `account` in `period`, oldest first.
pub fn period_transactions(account: &AccountRecord, period: Period) -> Vec<SandboxTransaction> {
    let mut txns = data::transactions_of(
        account.tenant_id,
        account.guid.as_str(),
        account.seed,
        account.kind,
        period.last_day(),
        period.days(),
    );
    txns.sort_by_key(|t| (t.day, t.sequence));
    txns
}

/// The balances of each period, for an account whose balance is `account.balance_cents` as of
/// the day it was last refreshed.
fn period_balances(account: &AccountRecord, periods: &[Period]) -> Vec<Balances> {
    let Some(oldest) = periods.iter().min() else { return Vec::new() };
    let as_of = account.updated_at.unix_day();
    let span = (as_of - oldest.first_day() + 1).max(0);
    let txns = data::transactions_of(account.tenant_id, account.guid.as_str(), account.seed, account.kind, as_of, span);
    periods
        .iter()
        .map(|p| {
            let (first, last) = (p.first_day(), p.last_day());
            let after: i64 = txns.iter().filter(|t| t.day > last).map(signed_cents).sum();
            let within: i64 = txns.iter().filter(|t| t.day >= first && t.day <= last).map(signed_cents).sum();
            balances(account.balance_cents, after, within)
        })
        .collect()
}

/// The account number as a statement prints it: all but the last four digits masked.
pub fn masked_number(account: &AccountRecord) -> String {
    let last4 = account.account_number_last4.as_deref().unwrap_or("0000");
    format!("******{last4}")
}

/// What the statement's PDF shows.
pub fn document(s: &StatementRecord, account: &AccountRecord, institution_name: &str) -> StatementDocument {
    let period = Period::containing(s.period_start_day);
    StatementDocument {
        statement_guid: s.guid.clone(),
        institution_name: institution_name.to_owned(),
        account_name: account.name.clone(),
        masked_account_number: masked_number(account),
        period_label: period.label(),
        period_start: day_to_date(s.period_start_day),
        period_end: day_to_date(s.period_end_day),
        opening_balance_cents: s.opening_balance_cents,
        closing_balance_cents: s.closing_balance_cents,
        lines: period_transactions(account, period)
            .iter()
            .map(|t| StatementLine {
                date: day_to_date(t.day),
                description: t.description.to_owned(),
                amount_cents: signed_cents(t),
            })
            .collect(),
    }
}

/// The statement's PDF bytes.
pub fn pdf(s: &StatementRecord, account: &AccountRecord, institution_name: &str) -> Result<Vec<u8>, StoreError> {
    statement_pdf::render(&document(s, account, institution_name))
        .map_err(|e| StoreError::Corrupt(format!("statement {}: rendering its PDF: {e}", s.guid)))
}

/// Hex SHA-256 of a statement's bytes (MX's `content_hash`).
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the member's statements: one per deposit account for each of the
/// [`MONTHS_PER_FETCH`] months before today, creating those that are new and refreshing
/// (balances, content hash, `updated_at`) those already there. Runs inside the job's write,
/// after the job refreshed the member's accounts. (The STATEMENT webhook counts what is new by
/// comparing the member's statements before and after the job's step.)
pub async fn fetch(conn: &mut Conn, agg: &Aggregation, m: &MemberRecord) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    let institution =
        Catalog::get().find_for(m.tenant_id, &m.institution_code).map_or(m.name.as_str(), |i| i.name.as_str());
    let known = repo::all(conn, m.tenant_id, &m.user_guid, &m.guid).await?;
    let periods = periods_before(now.unix_day());
    // Oldest first, so a fresh fetch stores statements in the order they happened.
    let oldest_first: Vec<Period> = periods.iter().rev().copied().collect();
    for account in accounts::all(conn, m.tenant_id, &m.user_guid, Some(&m.guid)).await? {
        if !account.kind.is_deposit() {
            continue;
        }
        for (period, b) in oldest_first.iter().zip(period_balances(&account, &oldest_first)) {
            let guid = statement_guid(&account, *period);
            let existing = known.iter().find(|s| s.guid == guid);
            let mut s = StatementRecord {
                guid,
                tenant_id: m.tenant_id,
                user_guid: m.user_guid.clone(),
                member_guid: m.guid.clone(),
                account_guid: account.guid.clone(),
                period_start_day: period.first_day(),
                period_end_day: period.last_day(),
                opening_balance_cents: b.opening_cents,
                closing_balance_cents: b.closing_cents,
                content_hash: String::new(),
                created_at: existing.map_or(now, |e| e.created_at),
                updated_at: now,
            };
            s.content_hash = content_hash(&pdf(&s, &account, institution)?);
            if existing.is_some() {
                repo::save(conn, &s).await?;
            } else {
                repo::insert(conn, &s).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openiav_core::aggregation::{AccountKind, AccountType};
    use openiav_core::clock::Timestamp;
    use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};

    fn day(y: i32, m: Month, d: u8) -> i64 {
        unix_day(Date::from_calendar_date(y, m, d).unwrap())
    }

    fn account(kind: AccountKind, as_of: i64) -> AccountRecord {
        AccountRecord {
            guid: AccountGuid::generate(),
            tenant_id: TenantId::generate(),
            user_guid: UserGuid::generate(),
            member_guid: MemberGuid::generate(),
            kind,
            seed: 0x5eed,
            name: "Checking".into(),
            account_type: AccountType::Checking,
            subtype: None,
            balance_cents: 523_410,
            available_balance_cents: None,
            credit_limit_cents: None,
            apr_bps: None,
            routing_number: None,
            account_number: None,
            account_number_last4: Some("6789".into()),
            account_number_guid: "ACN-1".into(),
            owner_guid: "ACO-1".into(),
            numbers_verified: false,
            history_days: 90,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(as_of * 86_400_000 + 3_600_000),
        }
    }

    #[test]
    fn a_fetch_covers_the_twelve_full_months_before_the_current_one() {
        let periods = periods_before(day(2026, Month::March, 15));
        assert_eq!(periods.len(), 12);
        assert_eq!(periods[0].label(), "February 2026");
        assert_eq!(periods[1].label(), "January 2026");
        assert_eq!(periods[2].label(), "December 2025");
        assert_eq!(periods[11].label(), "March 2025");
        // On the first of a month, that month is still open.
        assert_eq!(periods_before(day(2026, Month::March, 1))[0], periods[0]);
        assert_eq!(periods_before(day(2026, Month::February, 28))[0].label(), "January 2026");
    }

    #[test]
    fn a_period_is_its_calendar_month_leap_days_included() {
        let feb = Period::containing(day(2024, Month::February, 10));
        assert_eq!(
            (feb.first_day(), feb.last_day(), feb.days()),
            (day(2024, Month::February, 1), day(2024, Month::February, 29), 29)
        );
        assert_eq!(Period::containing(day(2025, Month::February, 28)).days(), 28);
        let dec = Period::containing(day(2025, Month::December, 31));
        assert_eq!(dec.last_day() + 1, Period::containing(day(2026, Month::January, 1)).first_day());
        assert_eq!(Period::containing(dec.last_day()), dec);
        assert_eq!(Period::containing(dec.first_day()), dec);
    }

    #[test]
    fn balances_count_back_from_today() {
        assert_eq!(balances(10_000, 2_500, -1_000), Balances { opening_cents: 8_500, closing_cents: 7_500 });
        assert_eq!(balances(0, 0, 0), Balances { opening_cents: 0, closing_cents: 0 });
    }

    #[test]
    fn opening_plus_transactions_is_closing_and_months_chain() {
        for kind in [AccountKind::Checking, AccountKind::Savings] {
            let today = day(2026, Month::December, 2);
            let a = account(kind, today);
            let periods: Vec<Period> = periods_before(today).into_iter().rev().collect();
            let bals = period_balances(&a, &periods);
            for (p, b) in periods.iter().zip(&bals) {
                let net: i64 = period_transactions(&a, *p).iter().map(signed_cents).sum();
                assert_eq!(b.opening_cents + net, b.closing_cents, "{kind:?} {}", p.label());
                assert!(period_transactions(&a, *p).iter().all(|t| t.day >= p.first_day() && t.day <= p.last_day()));
            }
            for pair in bals.windows(2) {
                assert_eq!(pair[0].closing_cents, pair[1].opening_cents, "{kind:?}");
            }
            // What posted after the newest statement leads from its closing balance to today's.
            let newest = periods.last().unwrap();
            let after: i64 =
                data::transactions_of(a.tenant_id, a.guid.as_str(), a.seed, a.kind, today, today - newest.last_day())
                    .iter()
                    .map(signed_cents)
                    .sum();
            assert_eq!(bals.last().unwrap().closing_cents + after, a.balance_cents);
        }
    }

    #[test]
    fn a_statement_keeps_its_guid_and_its_pdf_its_hash() {
        let today = day(2026, Month::December, 2);
        let a = account(AccountKind::Checking, today);
        let p = periods_before(today)[0];
        assert_eq!(statement_guid(&a, p), statement_guid(&a, p));
        assert_ne!(statement_guid(&a, p), statement_guid(&a, p.previous()));
        assert!(statement_guid(&a, p).starts_with("STA-"));
        let s = StatementRecord {
            guid: statement_guid(&a, p),
            tenant_id: a.tenant_id,
            user_guid: a.user_guid.clone(),
            member_guid: a.member_guid.clone(),
            account_guid: a.guid.clone(),
            period_start_day: p.first_day(),
            period_end_day: p.last_day(),
            opening_balance_cents: 1,
            closing_balance_cents: 2,
            content_hash: String::new(),
            created_at: a.updated_at,
            updated_at: a.updated_at,
        };
        let doc = document(&s, &a, "MX Bank");
        assert_eq!((doc.period_start.as_str(), doc.period_end.as_str()), ("2026-11-01", "2026-11-30"));
        assert_eq!(doc.period_label, "November 2026");
        assert_eq!(doc.masked_account_number, "******6789");
        let bytes = pdf(&s, &a, "MX Bank").unwrap();
        assert_eq!(content_hash(&bytes), content_hash(&pdf(&s, &a, "MX Bank").unwrap()));
        assert_eq!(content_hash(&bytes).len(), 64);
    }
}
