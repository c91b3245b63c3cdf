//! Plaid's sandbox institutions and the accounts every sandbox login at them holds, with the
//! numbers openiav derives for each item's accounts.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::crypto::hash_token;
use serde::Serialize;

/// A sandbox institution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Institution {
    pub institution_id: &'static str,
    pub name: &'static str,
}

/// Plaid's non-OAuth sandbox institutions.
pub const INSTITUTIONS: &[Institution] = &[
    Institution { institution_id: "ins_109508", name: "First Platypus Bank" },
    Institution { institution_id: "ins_109509", name: "First Gingham Credit Union" },
    Institution { institution_id: "ins_109510", name: "Tattersall Federal Credit Union" },
    Institution { institution_id: "ins_109511", name: "Tartan Bank" },
    Institution { institution_id: "ins_109512", name: "Houndstooth Bank" },
];

/// The sandbox institution `id`.
pub fn institution(id: &str) -> Option<&'static Institution> {
    INSTITUTIONS.iter().find(|i| i.institution_id == id)
}

/// The institutions whose name holds every word of `query` (case-insensitive); all for none.
pub fn search(query: &str) -> Vec<&'static Institution> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    INSTITUTIONS.iter().filter(|i| words.iter().all(|w| i.name.to_lowercase().contains(w.as_str()))).collect()
}

/// The routing number of a sandbox institution: a valid ABA number built from its id's digits.
pub fn routing_number(institution: &Institution) -> RoutingNumber {
    let digits: String = institution.institution_id.chars().filter(char::is_ascii_digit).collect();
    let prefix = format!("01{:0>6}", &digits[digits.len().saturating_sub(6)..]);
    RoutingNumber::from_prefix(&prefix).expect("an 8-digit prefix")
}

openiav_core::wire_enum! {
    /// An account's Plaid subtype (all sandbox accounts Link offers for Auth are depository).
    pub enum AccountSubtype {
        Checking = "checking",
        Savings = "savings",
    }
}

/// One of the accounts every sandbox login holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxAccount {
    pub name: &'static str,
    pub mask: &'static str,
    pub subtype: AccountSubtype,
}

/// The depository accounts of a sandbox login, as Plaid's sandbox names them.
pub const SANDBOX_ACCOUNTS: &[SandboxAccount] = &[
    SandboxAccount { name: "Plaid Checking", mask: "0000", subtype: AccountSubtype::Checking },
    SandboxAccount { name: "Plaid Saving", mask: "1111", subtype: AccountSubtype::Savings },
];

/// The id of `account` within `item`: stable for the item, different across items.
pub fn account_id(item_id: &str, account: &SandboxAccount) -> String {
    hash_token(&format!("plaid-account/{item_id}/{}", account.mask))[..32].to_owned()
}

/// The sandbox account of `item_id` whose id is `account_id`.
pub fn account_of(item_id: &str, account_id: &str) -> Option<&'static SandboxAccount> {
    SANDBOX_ACCOUNTS.iter().find(|a| self::account_id(item_id, a) == account_id)
}

/// The account number of `account` within `item`: ten digits derived from both, then the mask.
pub fn account_number(item_id: &str, account: &SandboxAccount) -> AccountNumber {
    let hash = hash_token(&format!("plaid-account-number/{item_id}/{}", account.mask));
    let digits: String = hash.bytes().map(|b| char::from(b'0' + b % 10)).take(10).collect();
    AccountNumber::parse(&format!("{digits}{}", account.mask)).expect("14 digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_institution_has_a_valid_distinct_routing_number() {
        let numbers: Vec<String> = INSTITUTIONS.iter().map(|i| routing_number(i).as_str().to_owned()).collect();
        for n in &numbers {
            assert!(RoutingNumber::parse(n).is_some(), "{n}");
            let district: u32 = n[..2].parse().unwrap();
            assert!((1..=12).contains(&district), "{n}");
        }
        let mut unique = numbers.clone();
        unique.dedup();
        assert_eq!(unique.len(), numbers.len());
    }

    #[test]
    fn search_matches_every_word_of_the_query() {
        assert_eq!(search("platypus").iter().map(|i| i.institution_id).collect::<Vec<_>>(), ["ins_109508"]);
        assert_eq!(search("FIRST credit").iter().map(|i| i.institution_id).collect::<Vec<_>>(), ["ins_109509"]);
        assert_eq!(search("").len(), INSTITUTIONS.len());
        assert!(search("nowhere").is_empty());
        assert_eq!(institution("ins_109511").map(|i| i.name), Some("Tartan Bank"));
        assert_eq!(institution("ins_1"), None);
    }

    #[test]
    fn account_ids_and_numbers_are_stable_per_item_and_differ_across_items() {
        let checking = &SANDBOX_ACCOUNTS[0];
        assert_eq!(account_id("item-a", checking), account_id("item-a", checking));
        assert_ne!(account_id("item-a", checking), account_id("item-b", checking));
        assert_ne!(account_id("item-a", checking), account_id("item-a", &SANDBOX_ACCOUNTS[1]));
        assert_eq!(account_of("item-a", &account_id("item-a", checking)), Some(checking));
        assert_eq!(account_of("item-b", &account_id("item-a", checking)), None);
        let number = account_number("item-a", checking);
        assert_eq!(number.expose(), account_number("item-a", checking).expose());
        assert_ne!(number.expose(), account_number("item-b", checking).expose());
        assert_eq!((number.expose().len(), number.last4()), (14, "0000"));
    }
}
