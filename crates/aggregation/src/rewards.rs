//! MX rewards: which jobs gather them, the sandbox bank's rewards programs (points on the
//! member's credit card, miles in its travel program; derived from seeds) and writing them, with
//! the outcome of a gathering as counts.

use openiav_core::aggregation::{AccountKind, RewardBalanceType, RewardUnit};
use openiav_core::ids::derived_guid;
use openiav_store::records::{AccountRecord, MemberRecord, RewardRecord};
use openiav_store::repo::rewards;
use openiav_store::{Conn, StoreError};

use crate::catalog::{Catalog, Product};
use crate::engine::{JobKind, RunningJob};
use crate::sandbox::data::{day_to_date, seed_of, Rng};
use crate::Aggregation;

/// A reward balance the sandbox bank reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxReward {
    /// Names the program and balance; stable across fetches.
    pub key: &'static str,
    /// The card the program belongs to, if any.
    pub account_guid: Option<String>,
    pub unit_type: RewardUnit,
    pub balance_type: RewardBalanceType,
    pub balance: i64,
    pub description: String,
    /// Unix day the balance expires on.
    pub expires_on_day: Option<i64>,
}

/// The rewards `owner` has at the institution on unix day `today`: points (available and
/// expiring) on the credit card among `accounts`, and miles in the travel program.
pub fn rewards_for(
    institution_name: &str,
    institution_code: &str,
    owner: &str,
    accounts: &[AccountRecord],
    today: i64,
) -> Vec<SandboxReward> {
    let mut rng = Rng::new(seed_of(&["rewards", institution_code, owner]));
    let mut out = Vec::new();
    if let Some(card) = accounts.iter().find(|a| a.kind == AccountKind::CreditCard) {
        out.push(SandboxReward {
            key: "card_points",
            account_guid: Some(card.guid.to_string()),
            unit_type: RewardUnit::Points,
            balance_type: RewardBalanceType::Available,
            balance: rng.range(1_000, 80_000),
            description: format!("{institution_name} Rewards points available to redeem."),
            expires_on_day: None,
        });
        out.push(SandboxReward {
            key: "card_points_expiring",
            account_guid: Some(card.guid.to_string()),
            unit_type: RewardUnit::Points,
            balance_type: RewardBalanceType::Expiring,
            balance: rng.range(100, 5_000),
            description: format!("{institution_name} Rewards points expiring soon."),
            // The end of the quarter after this one, roughly: 30 to 120 days out.
            expires_on_day: Some(today + rng.range(30, 120)),
        });
    }
    out.push(SandboxReward {
        key: "travel_miles",
        account_guid: None,
        unit_type: RewardUnit::Miles,
        balance_type: RewardBalanceType::Available,
        balance: rng.range(5_000, 150_000),
        description: format!("{institution_name} Travel miles."),
        expires_on_day: None,
    });
    out
}

/// Whether a job of `kind` gathers rewards: fetch_rewards does, and any job when the rewards
/// product was requested.
pub fn job_gathers_rewards(kind: JobKind, with_rewards: bool) -> bool {
    with_rewards || kind == JobKind::FetchRewards
}

/// Whether the running job gathers rewards on this member (at an institution with rewards).
pub fn gathers(m: &MemberRecord, job: &RunningJob) -> bool {
    let supported =
        Catalog::get().find_for(m.tenant_id, &m.institution_code).is_some_and(|i| i.supports(Product::Rewards));
    supported && job_gathers_rewards(job.kind, job.with_rewards)
}

/// Gathers the member's rewards into the store (refreshing known ones, dropping ones the bank no
/// longer reports).
pub async fn fetch(
    conn: &mut Conn,
    agg: &Aggregation,
    m: &MemberRecord,
    accounts: &[AccountRecord],
    owner: &str,
) -> Result<(), StoreError> {
    let now = agg.now_in(conn, m.tenant_id).await?;
    let name = Catalog::get().find_for(m.tenant_id, &m.institution_code).map_or(m.name.as_str(), |i| i.name.as_str());
    let found = rewards_for(name, &m.institution_code, owner, accounts, now.unix_day());
    for (position, r) in found.into_iter().enumerate() {
        let rec = RewardRecord {
            guid: derived_guid("RWD", &[m.guid.as_str(), r.key]),
            tenant_id: m.tenant_id,
            user_guid: m.user_guid.clone(),
            member_guid: m.guid.clone(),
            account_guid: r.account_guid,
            position: position as i64,
            unit_type: r.unit_type,
            balance_type: r.balance_type,
            balance: r.balance,
            description: r.description,
            expires_on: r.expires_on_day.map(day_to_date),
            created_at: now,
            updated_at: now,
        };
        rewards::upsert(conn, &rec).await?;
    }
    rewards::prune_stale(conn, m.tenant_id, &m.guid, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openiav_core::aggregation::AccountType;
    use openiav_core::clock::Timestamp;
    use openiav_core::ids::{AccountGuid, MemberGuid, TenantId, UserGuid};

    fn card() -> AccountRecord {
        let guid = AccountGuid::generate();
        AccountRecord {
            guid,
            tenant_id: TenantId::generate(),
            user_guid: UserGuid::generate(),
            member_guid: MemberGuid::generate(),
            kind: AccountKind::CreditCard,
            seed: 1,
            name: "Credit Card".into(),
            account_type: AccountType::CreditCard,
            subtype: None,
            balance_cents: 0,
            available_balance_cents: None,
            credit_limit_cents: None,
            apr_bps: None,
            routing_number: None,
            account_number: None,
            account_number_last4: None,
            account_number_guid: String::new(),
            owner_guid: String::new(),
            numbers_verified: false,
            history_days: 90,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_card_earns_points_and_the_travel_program_miles_deterministically() {
        let card = card();
        let with_card = rewards_for("MX Bank", "mxbank", "mxuser", std::slice::from_ref(&card), 20_000);
        assert_eq!(with_card, rewards_for("MX Bank", "mxbank", "mxuser", std::slice::from_ref(&card), 20_000));
        let units: Vec<_> = with_card.iter().map(|r| (r.unit_type, r.balance_type)).collect();
        assert_eq!(
            units,
            [
                (RewardUnit::Points, RewardBalanceType::Available),
                (RewardUnit::Points, RewardBalanceType::Expiring),
                (RewardUnit::Miles, RewardBalanceType::Available)
            ]
        );
        assert!(with_card[..2].iter().all(|r| r.account_guid.as_deref() == Some(card.guid.as_str())));
        assert!(with_card[1].expires_on_day.is_some_and(|d| (20_030..=20_120).contains(&d)));
        assert!(with_card.iter().all(|r| r.balance > 0));
        let without = rewards_for("MX Bank", "mxbank", "mxuser", &[], 20_000);
        assert_eq!(without.len(), 1);
        assert_eq!((without[0].unit_type, without[0].account_guid.as_deref()), (RewardUnit::Miles, None));
    }

    #[test]
    fn fetch_rewards_gathers_them_and_other_jobs_only_when_requested() {
        assert!(job_gathers_rewards(JobKind::FetchRewards, false));
        assert!(!job_gathers_rewards(JobKind::Aggregate, false));
        assert!(job_gathers_rewards(JobKind::Aggregate, true));
        assert!(job_gathers_rewards(JobKind::Verify, true));
    }
}
