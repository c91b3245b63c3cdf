//! MX investments: which jobs gather holdings, the sandbox bank's brokerage account and its
//! holdings (derived from seeds, whole shares at a 2-decimal price, so the market values add up
//! exactly to the account's balance), and writing them to the store.

use openiav_core::aggregation::{AccountKind, AccountType, HoldingType};
use openiav_core::ids::derived_guid;
use openiav_store::records::{AccountRecord, HoldingRecord, MemberRecord};
use openiav_store::repo::holdings;
use openiav_store::{Conn, StoreError};

use crate::catalog::{Catalog, Product};
use crate::engine::{JobKind, RunningJob};
use crate::sandbox::data::{seed_of, Rng, SandboxAccount};
use crate::Aggregation;

/// A position the sandbox bank reports in a brokerage account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxHolding {
    pub symbol: &'static str,
    pub description: &'static str,
    pub cusip: &'static str,
    pub holding_type: HoldingType,
    /// Whole shares.
    pub shares: i64,
    pub price_cents: i64,
    pub purchase_price_cents: i64,
    /// Change of one share's price today.
    pub daily_change_cents: i64,
}

impl SandboxHolding {
    pub fn market_value_cents(&self) -> i64 {
        self.shares * self.price_cents
    }

    pub fn cost_basis_cents(&self) -> i64 {
        self.shares * self.purchase_price_cents
    }
}

/// Securities the sandbox bank's customers hold: symbol, name, CUSIP, type, price range (cents).
const SECURITIES: &[(&str, &str, &str, HoldingType, i64, i64)] = &[
    ("VTI", "Vanguard Total Stock Market ETF", "922908769", HoldingType::ExchangeTradedFund, 18_000, 28_000),
    ("AAPL", "Apple Inc.", "037833100", HoldingType::Equity, 15_000, 23_000),
    ("MSFT", "Microsoft Corporation", "594918104", HoldingType::Equity, 30_000, 45_000),
    ("VBTLX", "Vanguard Total Bond Market Index Fund Admiral", "921937603", HoldingType::MutualFund, 900, 1_100),
    ("BND", "Vanguard Total Bond Market ETF", "921937835", HoldingType::ExchangeTradedFund, 7_000, 8_000),
    ("SPAXX", "Fidelity Government Money Market Fund", "31617H102", HoldingType::MoneyMarket, 100, 100),
    ("T-NOTE", "United States Treasury Note 4.25%", "91282CJL6", HoldingType::Bond, 9_500, 10_200),
];

/// The holdings `owner` keeps at `institution_code`: three to five distinct securities.
pub fn holdings_for(institution_code: &str, owner: &str) -> Vec<SandboxHolding> {
    let mut rng = Rng::new(seed_of(&["holdings", institution_code, owner]));
    let mut order: Vec<usize> = (0..SECURITIES.len()).collect();
    // Fisher–Yates with the deterministic generator.
    for i in (1..order.len()).rev() {
        let j = rng.range(0, i as i64) as usize;
        order.swap(i, j);
    }
    let count = rng.range(3, 5) as usize;
    order[..count]
        .iter()
        .map(|&i| {
            let (symbol, description, cusip, holding_type, lo, hi) = SECURITIES[i];
            let price = rng.range(lo, hi);
            let shares =
                if holding_type == HoldingType::MoneyMarket { rng.range(500, 5_000) } else { rng.range(5, 150) };
            SandboxHolding {
                symbol,
                description,
                cusip,
                holding_type,
                shares,
                price_cents: price,
                purchase_price_cents: price * rng.range(70, 120) / 100,
                daily_change_cents: if lo == hi { 0 } else { price * rng.range(-300, 300) / 10_000 },
            }
        })
        .collect()
}

/// The brokerage account holding [`holdings_for`]: its balance is their market value.
pub fn account_for(institution_code: &str, owner: &str) -> SandboxAccount {
    let seed = seed_of(&["account", institution_code, owner, AccountKind::Investment.as_str()]);
    let mut rng = Rng::new(seed);
    let number = format!("{}{:09}", rng.range(1, 9), rng.range(0, 999_999_999));
    let balance = holdings_for(institution_code, owner).iter().map(SandboxHolding::market_value_cents).sum();
    SandboxAccount {
        kind: AccountKind::Investment,
        seed: seed as i64,
        name: "Brokerage",
        account_type: AccountType::Investment,
        subtype: Some("BROKERAGE"),
        balance_cents: balance,
        available_balance_cents: Some(balance),
        credit_limit_cents: None,
        apr_bps: None,
        routing_number: None,
        account_number: None,
        card_number: Some(number),
    }
}

/// Whether a job of `kind` gathers holdings: an aggregation does unless asked not to
/// (`include_holdings=false`); any job does when the investments product was requested.
pub fn job_gathers_holdings(kind: JobKind, with_investments: bool, skip_holdings: bool) -> bool {
    with_investments || (kind == JobKind::Aggregate && !skip_holdings)
}

/// Whether the running job gathers holdings on this member: the rule above, at an institution
/// that offers investments, for a user not deactivated from the product.
pub async fn gathers(conn: &mut Conn, m: &MemberRecord, job: &RunningJob) -> Result<bool, StoreError> {
    let supported =
        Catalog::get().find_for(m.tenant_id, &m.institution_code).is_some_and(|i| i.supports(Product::Investments));
    if !supported || !job_gathers_holdings(job.kind, job.with_investments, job.skip_holdings) {
        return Ok(false);
    }
    Ok(!holdings::is_deactivated(conn, m.tenant_id, &m.user_guid).await?)
}

/// Writes the holdings of the member's investment account among `stored` (refreshing known ones,
/// dropping ones the bank no longer reports). Returns how many the account holds.
pub async fn store_holdings(
    conn: &mut Conn,
    agg: &Aggregation,
    stored: &[AccountRecord],
    institution_code: &str,
    owner: &str,
) -> Result<usize, StoreError> {
    let Some(account) = stored.iter().find(|a| a.kind == AccountKind::Investment) else { return Ok(0) };
    let now = agg.now_in(conn, account.tenant_id).await?;
    let found = holdings_for(institution_code, owner);
    for (position, h) in found.iter().enumerate() {
        let rec = HoldingRecord {
            guid: derived_guid("HOL", &[account.guid.as_str(), h.symbol]),
            tenant_id: account.tenant_id,
            user_guid: account.user_guid.clone(),
            member_guid: account.member_guid.clone(),
            account_guid: account.guid.clone(),
            position: position as i64,
            symbol: h.symbol.to_owned(),
            description: h.description.to_owned(),
            cusip: h.cusip.to_owned(),
            holding_type: h.holding_type,
            shares: h.shares,
            price_cents: h.price_cents,
            purchase_price_cents: h.purchase_price_cents,
            daily_change_cents: h.daily_change_cents,
            created_at: now,
            updated_at: now,
        };
        holdings::upsert(conn, &rec).await?;
    }
    holdings::prune_stale(conn, account.tenant_id, &account.guid, now).await?;
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdings_are_deterministic_distinct_and_add_up_to_the_balance() {
        for owner in ["mxuser", "someone", "oauth:USR-1"] {
            let a = holdings_for("mxbank", owner);
            assert_eq!(a, holdings_for("mxbank", owner));
            assert!((3..=5).contains(&a.len()), "{owner}");
            let mut symbols: Vec<_> = a.iter().map(|h| h.symbol).collect();
            symbols.sort();
            symbols.dedup();
            assert_eq!(symbols.len(), a.len());
            assert!(a.iter().all(|h| h.shares > 0 && h.price_cents > 0 && h.purchase_price_cents > 0));
            let acct = account_for("mxbank", owner);
            assert_eq!(acct.balance_cents, a.iter().map(|h| h.shares * h.price_cents).sum::<i64>());
            assert_eq!((acct.account_type, acct.subtype), (AccountType::Investment, Some("BROKERAGE")));
            assert!(acct.account_number.is_none() && acct.masked_number().unwrap().len() == 4);
        }
        assert_ne!(holdings_for("mxbank", "a"), holdings_for("mxbank", "b"));
    }

    #[test]
    fn aggregation_gathers_holdings_unless_told_not_to_and_any_job_when_requested() {
        assert!(job_gathers_holdings(JobKind::Aggregate, false, false));
        assert!(!job_gathers_holdings(JobKind::Aggregate, false, true));
        assert!(!job_gathers_holdings(JobKind::Verify, false, false));
        assert!(!job_gathers_holdings(JobKind::Identify, false, false));
        assert!(job_gathers_holdings(JobKind::Verify, true, false));
        assert!(job_gathers_holdings(JobKind::Identify, true, true));
    }
}
