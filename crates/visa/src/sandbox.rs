//! The sandbox banks behind the Visa page and the test users Dwolla's Visa guide lists, with
//! their accounts; and the one pure decision the sign-in step makes.

use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::payments::BankAccountType;
use openiav_core::visa::VisaError;

/// A bank the page offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bank {
    /// The value the bank choice posts.
    pub code: &'static str,
    pub name: &'static str,
    /// The first eight digits of the bank's routing number (the ninth is its check digit).
    routing_prefix: &'static str,
}

impl Bank {
    /// The bank's ABA routing number.
    pub fn routing_number(&self) -> RoutingNumber {
        RoutingNumber::from_prefix(self.routing_prefix).expect("an eight-digit prefix")
    }
}

/// The banks, in the order the page lists them.
pub const BANKS: [Bank; 3] = [
    Bank { code: "visa-demo-bank", name: "Visa Demo Bank", routing_prefix: "09100001" },
    Bank { code: "demo-community-bank", name: "Demo Community Bank", routing_prefix: "09100002" },
    Bank { code: "demo-credit-union", name: "Demo Credit Union", routing_prefix: "09100003" },
];

/// The bank whose code is `code`.
pub fn bank(code: &str) -> Option<&'static Bank> {
    BANKS.iter().find(|b| b.code == code)
}

/// An account a test user holds (at whichever bank they sign in to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// The value the account choice posts.
    pub id: &'static str,
    pub name: &'static str,
    pub kind: BankAccountType,
    number: &'static str,
    /// Available and current balance in cents.
    pub available_cents: i64,
    pub balance_cents: i64,
}

impl Account {
    pub fn account_number(&self) -> AccountNumber {
        AccountNumber::parse(self.number).expect("a sandbox account number")
    }

    /// The last four digits, as the page shows them.
    pub fn mask(&self) -> &'static str {
        &self.number[self.number.len() - 4..]
    }
}

/// A user of the sandbox banks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestUser {
    pub username: &'static str,
    password: &'static str,
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accounts(&'static [Account]),
    Fails(VisaError),
}

impl TestUser {
    /// The accounts the user may choose from (none for the users who fail to sign in).
    pub fn accounts(&self) -> &'static [Account] {
        match self.outcome {
            Outcome::Accounts(accounts) => accounts,
            Outcome::Fails(_) => &[],
        }
    }

    /// The user's account `id`.
    pub fn account(&self, id: &str) -> Option<&'static Account> {
        self.accounts().iter().find(|a| a.id == id)
    }
}

const FIRST_ACCOUNTS: [Account; 2] = [
    Account {
        id: "checking-1",
        name: "Everyday Checking",
        kind: BankAccountType::Checking,
        number: "4000051613239011",
        available_cents: 125_034,
        balance_cents: 126_500,
    },
    Account {
        id: "savings-1",
        name: "High Yield Savings",
        kind: BankAccountType::Savings,
        number: "4000051613239029",
        available_cents: 980_000,
        balance_cents: 980_000,
    },
];

const SECOND_ACCOUNTS: [Account; 1] = [Account {
    id: "checking-1",
    name: "Premier Checking",
    kind: BankAccountType::Checking,
    number: "5000035490150013",
    available_cents: 52_310,
    balance_cents: 55_000,
}];

/// Dwolla's Visa test users ("Visa" in its open-banking guide).
pub const TEST_USERS: [TestUser; 4] = [
    TestUser { username: "u51613239", password: "cty440", outcome: Outcome::Accounts(&FIRST_ACCOUNTS) },
    TestUser { username: "u35490150", password: "ckr403", outcome: Outcome::Accounts(&SECOND_ACCOUNTS) },
    TestUser { username: "u92721594", password: "nbs589", outcome: Outcome::Fails(VisaError::AuthenticationError) },
    TestUser { username: "u91902655", password: "jtx720", outcome: Outcome::Fails(VisaError::TemporaryError) },
];

/// The test user `username` (a signed-in page keeps only the name).
pub fn user(username: &str) -> Option<&'static TestUser> {
    TEST_USERS.iter().find(|u| u.username == username)
}

/// How a sign-in ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: the user's accounts come next.
    SignedIn(&'static TestUser),
    /// The bank refuses the connection; the page sends the browser back with this error.
    Fails(VisaError),
    /// Not a user of the bank: the page says so and lets them try again.
    WrongCredentials,
}

/// Judges a username and password against the test users (the username without surrounding
/// blanks, both exactly as listed).
pub fn sign_in(username: &str, password: &str) -> SignIn {
    match user(username.trim()).filter(|u| u.password == password) {
        Some(u) => match u.outcome {
            Outcome::Accounts(_) => SignIn::SignedIn(u),
            Outcome::Fails(error) => SignIn::Fails(error),
        },
        None => SignIn::WrongCredentials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_good_users_sign_in_and_hold_accounts() {
        for (name, password) in [("u51613239", "cty440"), ("u35490150", "ckr403"), (" u35490150 ", "ckr403")] {
            match sign_in(name, password) {
                SignIn::SignedIn(u) => assert!(!u.accounts().is_empty(), "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_failing_users_end_with_their_error() {
        assert_eq!(sign_in("u92721594", "nbs589"), SignIn::Fails(VisaError::AuthenticationError));
        assert_eq!(sign_in("u91902655", "jtx720"), SignIn::Fails(VisaError::TemporaryError));
    }

    #[test]
    fn anything_else_is_wrong_credentials() {
        for (name, password) in [
            ("u51613239", "wrong"),
            ("u51613239", "CTY440"),
            ("U51613239", "cty440"),
            ("u51613239", " cty440"),
            ("u92721594", "cty440"),
            ("", ""),
            ("mxuser", "password"),
        ] {
            assert_eq!(sign_in(name, password), SignIn::WrongCredentials, "{name:?}/{password:?}");
        }
    }

    #[test]
    fn every_bank_and_account_has_valid_numbers_and_distinct_ids() {
        let routings: Vec<_> = BANKS.iter().map(|b| b.routing_number()).collect();
        assert!(routings.iter().all(|r| RoutingNumber::parse(r.as_str()).is_some()));
        assert_eq!(bank("demo-credit-union").map(|b| b.name), Some("Demo Credit Union"));
        assert_eq!(bank("nope"), None);
        for u in TEST_USERS {
            let ids: Vec<_> = u.accounts().iter().map(|a| a.id).collect();
            let mut unique = ids.clone();
            unique.dedup();
            assert_eq!(ids, unique, "{}", u.username);
            for a in u.accounts() {
                assert_eq!(a.account_number().last4(), a.mask());
                assert!(u.account(a.id).is_some());
            }
        }
        assert_eq!(user("u51613239").unwrap().account("savings-1").unwrap().kind, BankAccountType::Savings);
        assert!(user("u92721594").unwrap().accounts().is_empty());
    }
}
