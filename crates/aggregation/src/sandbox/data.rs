//! Deterministic sandbox data: the accounts a login owns (with valid ABA routing numbers and
//! account numbers), their owners and 90 days of transactions, all derived from seeds so the
//! same login at the same bank always sees the same data.

use openiav_core::bank::RoutingNumber;
use openiav_core::clock::Timestamp;
use openiav_core::ids::{derived_guid, TenantId};
use sha2::{Digest, Sha256};

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// A seed from stable parts.
pub fn seed_of(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The routing number of a sandbox institution: a valid ABA number derived from its code.
pub fn routing_number_for(institution_code: &str) -> RoutingNumber {
    if institution_code == "mxbank" || institution_code == "mx_bank_oauth" {
        return RoutingNumber::from_prefix("06889999").expect("8 digits");
    }
    let mut rng = Rng::new(seed_of(&["routing", institution_code]));
    // The first two digits are a Federal Reserve district (01–12) or thrift range (21–32).
    let district = rng.range(1, 12) + if rng.range(0, 1) == 1 { 20 } else { 0 };
    let prefix = format!("{district:02}{:06}", rng.range(0, 999_999));
    RoutingNumber::from_prefix(&prefix).expect("8 digits")
}

pub use openiav_core::aggregation::AccountKind;
use openiav_core::aggregation::AccountType;

/// An account as the sandbox bank reports it.
#[derive(Clone, Debug)]
pub struct SandboxAccount {
    pub kind: AccountKind,
    pub seed: i64,
    pub name: &'static str,
    pub account_type: AccountType,
    pub subtype: Option<&'static str>,
    pub balance_cents: i64,
    pub available_balance_cents: Option<i64>,
    pub credit_limit_cents: Option<i64>,
    pub apr_bps: Option<i64>,
    pub routing_number: Option<RoutingNumber>,
    /// The number deposits can be sent to (deposit accounts only).
    pub account_number: Option<String>,
    /// The card's number: shown masked like the others, never a target for deposits.
    pub card_number: Option<String>,
}

impl SandboxAccount {
    /// The last four digits `/accounts` shows in place of the full number.
    pub fn masked_number(&self) -> Option<String> {
        self.account_number.as_ref().or(self.card_number.as_ref()).map(|n| n[n.len() - 4..].to_owned())
    }
}

/// The accounts `username` holds at `institution_code`: checking and savings, plus a credit
/// card when `with_card`.
pub fn accounts_for(institution_code: &str, username: &str, with_card: bool) -> Vec<SandboxAccount> {
    let kinds: &[AccountKind] = if with_card {
        &[AccountKind::Checking, AccountKind::Savings, AccountKind::CreditCard]
    } else {
        &[AccountKind::Checking, AccountKind::Savings]
    };
    kinds.iter().map(|&kind| account(institution_code, username, kind)).collect()
}

/// The accounts `username` holds at `institution_code` for `tenant`: a fixture user's own (cards
/// only when `with_card`), else the generated ones.
pub fn accounts_at(tenant: TenantId, institution_code: &str, username: &str, with_card: bool) -> Vec<SandboxAccount> {
    match super::fixtures::of(tenant).and_then(|bank| bank.accounts(institution_code, username)) {
        Some(given) => given.into_iter().filter(|a| with_card || a.kind.is_deposit()).collect(),
        None => accounts_for(institution_code, username, with_card),
    }
}

fn account(institution_code: &str, username: &str, kind: AccountKind) -> SandboxAccount {
    let seed = seed_of(&["account", institution_code, username, kind.as_str()]);
    let mut rng = Rng::new(seed);
    let number = format!("{}{:09}", rng.range(1, 9), rng.range(0, 999_999_999));
    match kind {
        // Its balance follows from its holdings.
        AccountKind::Investment => crate::investments::account_for(institution_code, username),
        AccountKind::Checking => {
            let balance = rng.range(150_000, 950_000);
            SandboxAccount {
                kind,
                seed: seed as i64,
                name: "Checking",
                account_type: AccountType::Checking,
                subtype: Some("NONE"),
                balance_cents: balance,
                available_balance_cents: Some(balance - rng.range(0, 20_000)),
                credit_limit_cents: None,
                apr_bps: None,
                routing_number: Some(routing_number_for(institution_code)),
                account_number: Some(number),
                card_number: None,
            }
        }
        AccountKind::Savings => {
            let balance = rng.range(500_000, 5_000_000);
            SandboxAccount {
                kind,
                seed: seed as i64,
                name: "Savings",
                account_type: AccountType::Savings,
                subtype: Some("NONE"),
                balance_cents: balance,
                available_balance_cents: Some(balance),
                credit_limit_cents: None,
                apr_bps: Some(rng.range(10, 450)),
                routing_number: Some(routing_number_for(institution_code)),
                account_number: Some(number),
                card_number: None,
            }
        }
        AccountKind::CreditCard => SandboxAccount {
            kind,
            seed: seed as i64,
            name: "Credit Card",
            account_type: AccountType::CreditCard,
            subtype: Some("NONE"),
            balance_cents: rng.range(10_000, 250_000),
            available_balance_cents: None,
            credit_limit_cents: Some(rng.range(5, 20) * 100_000),
            apr_bps: Some(rng.range(1299, 2899)),
            routing_number: None,
            account_number: None,
            card_number: Some(number),
        },
    }
}

/// An account holder.
#[derive(Clone, Debug)]
pub struct Owner {
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub address: String,
    pub city: &'static str,
    pub state: &'static str,
    pub postal_code: String,
    pub email: String,
    pub phone: String,
}

const FIRST_NAMES: &[&str] = &["Jane", "John", "Maria", "David", "Aisha", "Wei", "Carlos", "Emma", "Noah", "Priya"];
const LAST_NAMES: &[&str] =
    &["Doe", "Smith", "Garcia", "Nguyen", "Johnson", "Patel", "Kim", "Brown", "Lopez", "Taylor"];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St"];
const CITIES: &[(&str, &str)] =
    &[("Lehi", "UT"), ("Des Moines", "IA"), ("Austin", "TX"), ("Denver", "CO"), ("Columbus", "OH"), ("Raleigh", "NC")];

/// The owner of every account of `username` at `institution_code`.
pub fn owner_for(institution_code: &str, username: &str) -> Owner {
    let mut rng = Rng::new(seed_of(&["owner", institution_code, username]));
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(LAST_NAMES);
    let (city, state) = *rng.pick(CITIES);
    Owner {
        first_name: first,
        last_name: last,
        address: format!("{} {}", rng.range(100, 9999), rng.pick(STREETS)),
        city,
        state,
        postal_code: format!("{:05}", rng.range(10_000, 99_999)),
        email: format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
        phone: format!("555-{:03}-{:04}", rng.range(100, 999), rng.range(0, 9999)),
    }
}

/// A sandbox transaction.
#[derive(Clone, Debug)]
pub struct SandboxTransaction {
    pub guid: String,
    pub day: i64,
    pub amount_cents: i64,
    pub is_credit: bool,
    pub description: &'static str,
    pub category: &'static str,
    pub top_level_category: &'static str,
    pub merchant_category_code: i64,
    pub pending: bool,
    pub sequence: i64,
}

const SPENDING: &[(&str, &str, &str, i64, i64, i64)] = &[
    ("Grocery Mart", "Groceries", "Food & Dining", 5411, 1_500, 18_000),
    ("Corner Coffee", "Coffee Shops", "Food & Dining", 5814, 350, 1_200),
    ("City Fuel", "Gas", "Auto & Transport", 5541, 2_500, 7_500),
    ("Streamflix", "Television", "Entertainment", 4899, 1_599, 1_599),
    ("Power & Light Co", "Utilities", "Bills & Utilities", 4900, 6_000, 18_000),
    ("Online Books", "Books", "Shopping", 5942, 900, 4_500),
    ("Pharmacy Plus", "Pharmacy", "Health & Fitness", 5912, 800, 6_000),
    ("Burger Barn", "Fast Food", "Food & Dining", 5814, 700, 2_400),
];

/// The transactions of an account of `tenant`: a fixture account's given ones, else
/// [`transactions_for`].
pub fn transactions_of(
    tenant: TenantId,
    account_guid: &str,
    seed: i64,
    kind: AccountKind,
    last_day: i64,
    history_days: i64,
) -> Vec<SandboxTransaction> {
    super::fixtures::of(tenant)
        .and_then(|bank| bank.transactions(account_guid, seed))
        .unwrap_or_else(|| transactions_for(account_guid, seed, kind, last_day, history_days))
}

/// The transactions of an account over the `history_days` days ending on `last_day`
/// (unix day), newest first.
pub fn transactions_for(
    account_guid: &str,
    seed: i64,
    kind: AccountKind,
    last_day: i64,
    history_days: i64,
) -> Vec<SandboxTransaction> {
    let mut out = Vec::new();
    for back in 0..history_days {
        let day = last_day - back;
        let mut rng = Rng::new(seed as u64 ^ (day as u64).wrapping_mul(0x9e37_79b9));
        let mut seq = 0;
        let mut push = |spec: (&'static str, &'static str, &'static str, i64, bool, i64)| {
            let (description, category, top, mcc, is_credit, amount) = spec;
            out.push(SandboxTransaction {
                guid: derived_guid("TRN", &[account_guid, &day.to_string(), &seq.to_string()]),
                day,
                amount_cents: amount,
                is_credit,
                description,
                category,
                top_level_category: top,
                merchant_category_code: mcc,
                pending: back < 2,
                sequence: seq,
            });
            seq += 1;
        };
        match kind {
            AccountKind::Checking => {
                if day % 14 == 0 {
                    push(("Acme Corp Payroll", "Paycheck", "Income", 0, true, 245_000));
                }
                for _ in 0..rng.range(0, 2) {
                    let (d, c, t, mcc, lo, hi) = *rng.pick(SPENDING);
                    let amount = rng.range(lo, hi);
                    push((d, c, t, mcc, false, amount));
                }
            }
            AccountKind::Savings => {
                if day % 30 == 0 {
                    let interest = rng.range(50, 900);
                    push(("Interest Payment", "Interest Income", "Income", 0, true, interest));
                }
                if day % 14 == 1 {
                    push(("Transfer from Checking", "Transfer", "Transfer", 0, true, 20_000));
                }
            }
            AccountKind::CreditCard => {
                for _ in 0..rng.range(0, 2) {
                    let (d, c, t, mcc, lo, hi) = *rng.pick(SPENDING);
                    let amount = rng.range(lo, hi);
                    push((d, c, t, mcc, false, amount));
                }
                if day % 30 == 5 {
                    push(("Payment - Thank You", "Credit Card Payment", "Transfer", 0, true, 50_000));
                }
            }
            AccountKind::Investment => {
                if day % 30 == 15 {
                    let dividend = rng.range(500, 9_000);
                    push(("Dividend Received", "Dividend & Cap Gains", "Investments", 0, true, dividend));
                }
            }
        }
    }
    out
}

/// Cents as MX's JSON number.
pub fn cents_to_number(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// The calendar date of a unix day.
pub fn day_to_date(day: i64) -> String {
    Timestamp::from_millis(day * 86_400_000).to_date_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_accounts_are_deterministic_with_valid_numbers() {
        let a = accounts_for("mxbank", "mxuser", true);
        let b = accounts_for("mxbank", "mxuser", true);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].account_number, b[0].account_number);
        assert_ne!(a[0].account_number, a[1].account_number);
        for acct in a.iter().filter(|x| x.kind.is_deposit()) {
            let r = acct.routing_number.as_ref().unwrap();
            assert!(RoutingNumber::parse(r.as_str()).is_some());
            assert_eq!(acct.account_number.as_ref().unwrap().len(), 10);
        }
        assert!(a[2].account_number.is_none());
    }

    #[test]
    fn every_account_has_a_masked_number_but_only_deposit_accounts_take_deposits() {
        for acct in accounts_for("mxbank", "mxuser", true) {
            let masked = acct.masked_number().unwrap();
            assert_eq!(masked.len(), 4);
            assert!(masked.chars().all(|c| c.is_ascii_digit()));
            assert_eq!(acct.account_number.is_some(), acct.kind.is_deposit());
        }
    }

    #[test]
    fn every_catalog_routing_number_has_a_valid_check_digit() {
        for code in ["chase", "wells_fargo", "navy_fcu", "x", "y"] {
            assert!(RoutingNumber::parse(routing_number_for(code).as_str()).is_some(), "{code}");
        }
    }

    #[test]
    fn brokerage_accounts_see_only_monthly_dividends() {
        let t = transactions_for("ACT-2", 7, AccountKind::Investment, 20_000, 90);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|x| x.is_credit && x.day % 30 == 15 && x.top_level_category == "Investments"));
    }

    #[test]
    fn transactions_cover_the_history_window_deterministically() {
        let t1 = transactions_for("ACT-1", 42, AccountKind::Checking, 20_000, 90);
        let t2 = transactions_for("ACT-1", 42, AccountKind::Checking, 20_000, 90);
        assert_eq!(t1.len(), t2.len());
        assert!(t1.iter().zip(&t2).all(|(a, b)| a.guid == b.guid && a.amount_cents == b.amount_cents));
        assert!(t1.iter().all(|t| t.day <= 20_000 && t.day > 20_000 - 90));
        assert!(t1.iter().any(|t| t.is_credit));
        let mut guids: Vec<_> = t1.iter().map(|t| t.guid.clone()).collect();
        guids.dedup();
        assert_eq!(guids.len(), t1.len());
    }
}
