//! Custom sandbox data of a tenant, as Plaid's custom sandbox users are: extra institutions, and
//! users whose sign-in at an institution yields exactly the accounts, balances, numbers and
//! transactions a document gives. The document is checked here (every error names the path of
//! the bad field) and compiled into the [`Bank`] the catalog and the sandbox bank consult for
//! that tenant; nothing else in the crate knows a fixture from a built-in bank.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use openiav_core::aggregation::AccountKind;
use openiav_core::bank::{AccountNumber, RoutingNumber};
use openiav_core::ids::{derived_guid, TenantId};
use openiav_core::money::Cents;
use serde::Deserialize;

use super::data::{routing_number_for, seed_of, SandboxAccount, SandboxTransaction};
use crate::catalog::{Catalog, CredentialField, Institution};

/// A fixtures document, as `--sandbox-fixtures FILE` and `POST /_openiav/fixtures` take it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub institutions: Vec<InstitutionSpec>,
    #[serde(default)]
    pub users: Vec<UserSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSpec {
    pub code: String,
    pub name: String,
    pub url: Option<String>,
    #[serde(default = "yes")]
    pub supports_account_verification: bool,
    #[serde(default = "yes")]
    pub supports_account_identification: bool,
    #[serde(default = "yes")]
    pub supports_transaction_history: bool,
    #[serde(default)]
    pub supports_account_statement: bool,
    #[serde(default)]
    pub popular: bool,
    /// The fields the institution asks for; a username and a password when absent.
    pub credentials: Option<Vec<CredentialSpec>>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    pub field_name: String,
    pub label: String,
    /// `LOGIN` or `PASSWORD` (MX's field types).
    #[serde(rename = "type")]
    pub field_type: FieldType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum FieldType {
    #[serde(rename = "LOGIN")]
    Login,
    #[serde(rename = "PASSWORD")]
    Password,
}

impl FieldType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "LOGIN",
            Self::Password => "PASSWORD",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The code of one of the document's institutions or of the built-in catalog.
    pub institution: String,
    pub username: String,
    pub password: String,
    pub accounts: Vec<AccountSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// `checking`, `savings` or `credit_card`; one account of each type per user.
    #[serde(rename = "type")]
    pub kind: AccountKind,
    pub name: String,
    /// Decimal dollars, e.g. `"1234.56"`.
    pub balance: String,
    pub available_balance: Option<String>,
    /// Deposit accounts only; derived from the user and the type when absent.
    pub account_number: Option<String>,
    /// Deposit accounts only; the institution's own when absent.
    pub routing_number: Option<String>,
    #[serde(default)]
    pub transactions: Vec<TransactionSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionSpec {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Decimal dollars: negative for money out, positive for money in.
    pub amount: String,
    pub description: String,
    pub category: Option<String>,
    pub top_level_category: Option<String>,
    #[serde(default)]
    pub pending: bool,
}

/// A document that cannot be loaded: the path of the bad field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FixtureError {
    pub path: String,
    pub message: String,
}

fn bad(path: impl Into<String>, message: impl Into<String>) -> FixtureError {
    FixtureError { path: path.into(), message: message.into() }
}

/// Reads a document from JSON, structural errors at their path.
pub fn parse(json: &[u8]) -> Result<Document, FixtureError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        bad(if path == "." { "(document)".to_owned() } else { path }, e.into_inner().to_string())
    })
}

/// A fixture user's account, ready for the sandbox bank.
#[derive(Clone, Debug)]
struct Account {
    template: SandboxAccount,
    transactions: Vec<Transaction>,
}

#[derive(Clone, Debug)]
struct Transaction {
    day: i64,
    amount_cents: i64,
    is_credit: bool,
    description: &'static str,
    category: &'static str,
    top_level_category: &'static str,
    pending: bool,
}

#[derive(Clone, Debug)]
struct User {
    password: String,
    accounts: Vec<Account>,
}

/// One tenant's compiled fixtures.
#[derive(Debug, Default)]
pub struct Bank {
    institutions: Vec<&'static Institution>,
    /// By (institution code, username).
    users: HashMap<(String, String), User>,
    /// Transactions by account seed.
    transactions: HashMap<i64, Vec<Transaction>>,
}

/// Fixture strings live as long as the process, like the bundled catalog's, so the catalog and
/// the sandbox bank hand out `&'static` for both. Each distinct string is kept once, so loading
/// the same document again allocates nothing.
fn intern(s: &str) -> &'static str {
    static STRINGS: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Mutex::default);
    let mut strings = STRINGS.lock().expect("intern lock");
    if let Some(&kept) = strings.get(s) {
        return kept;
    }
    let kept: &'static str = Box::leak(s.to_owned().into_boxed_str());
    strings.insert(kept);
    kept
}

/// Institutions are kept once per distinct definition, for the same reason as [`intern`].
fn intern_institution(inst: Institution) -> &'static Institution {
    static KEPT: LazyLock<Mutex<HashMap<String, &'static Institution>>> = LazyLock::new(Mutex::default);
    let key = format!("{inst:?}");
    let mut kept = KEPT.lock().expect("intern lock");
    let found: &&'static Institution = kept.entry(key).or_insert_with(|| Box::leak(Box::new(inst)));
    found
}

fn day_of(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp().div_euclid(86_400))
}

fn cents(path: String, text: &str) -> Result<i64, FixtureError> {
    Cents::parse(text)
        .map(|c| c.0)
        .map_err(|_| bad(path, format!("{text:?} is not an amount of dollars like \"12.34\"")))
}

/// Checks `doc` for `tenant` and compiles it.
pub fn compile(tenant: TenantId, doc: &Document) -> Result<Bank, FixtureError> {
    let mut bank = Bank::default();
    let mut codes = HashSet::new();
    for (i, spec) in doc.institutions.iter().enumerate() {
        let at = |field: &str| format!("institutions[{i}].{field}");
        let code_ok = !spec.code.is_empty()
            && spec.code.len() <= 64
            && spec.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err(bad(at("code"), "must be 1 to 64 lowercase letters, digits or underscores"));
        }
        if Catalog::get().find(&spec.code).is_some() {
            return Err(bad(at("code"), format!("`{}` is already an institution of the catalog", spec.code)));
        }
        if !codes.insert(spec.code.clone()) {
            return Err(bad(at("code"), format!("`{}` is listed twice", spec.code)));
        }
        if spec.name.trim().is_empty() {
            return Err(bad(at("name"), "must not be empty"));
        }
        let fields = spec.credentials.clone().unwrap_or_else(|| {
            vec![
                CredentialSpec {
                    field_name: "username".into(),
                    label: "Username".into(),
                    field_type: FieldType::Login,
                },
                CredentialSpec {
                    field_name: "password".into(),
                    label: "Password".into(),
                    field_type: FieldType::Password,
                },
            ]
        });
        for wanted in [FieldType::Login, FieldType::Password] {
            if fields.iter().filter(|f| f.field_type == wanted).count() != 1 {
                return Err(bad(at("credentials"), format!("needs exactly one field of type {}", wanted.as_str())));
            }
        }
        let credentials = fields
            .iter()
            .enumerate()
            .map(|(n, f)| CredentialField {
                field_name: f.field_name.clone(),
                field_type: f.field_type.as_str().to_owned(),
                label: f.label.clone(),
                display_order: n as i64 + 1,
                guid: derived_guid("CRD", &[&spec.code, &f.field_name]),
            })
            .collect();
        bank.institutions.push(intern_institution(Institution {
            code: spec.code.clone(),
            guid: derived_guid("INS", &[&tenant.to_string(), &spec.code]),
            name: spec.name.clone(),
            url: spec.url.clone(),
            iso_country_code: "US".into(),
            small_logo_url: None,
            medium_logo_url: None,
            forgot_password_url: None,
            forgot_username_url: None,
            trouble_signing_in_url: None,
            instructional_text: None,
            instructional_text_steps: None,
            supports_account_identification: spec.supports_account_identification,
            supports_account_statement: spec.supports_account_statement,
            supports_account_verification: spec.supports_account_verification,
            supports_transaction_history: spec.supports_transaction_history,
            supports_tax_document: false,
            supports_investments: false,
            supports_rewards: false,
            supports_oauth: false,
            popular: spec.popular,
            credentials,
        }));
    }
    for (i, spec) in doc.users.iter().enumerate() {
        let at = |field: &str| format!("users[{i}].{field}");
        let known = codes.contains(&spec.institution) || Catalog::get().find(&spec.institution).is_some();
        if !known {
            return Err(bad(
                at("institution"),
                format!("`{}` is neither in this document nor in the catalog", spec.institution),
            ));
        }
        if spec.username.is_empty() {
            return Err(bad(at("username"), "must not be empty"));
        }
        let key = (spec.institution.clone(), spec.username.clone());
        if bank.users.contains_key(&key) {
            return Err(bad(at("username"), format!("`{}` is listed twice at `{}`", spec.username, spec.institution)));
        }
        if spec.accounts.is_empty() {
            return Err(bad(at("accounts"), "a user needs at least one account"));
        }
        let mut accounts = Vec::new();
        for (a, account) in spec.accounts.iter().enumerate() {
            let at = |field: &str| format!("users[{i}].accounts[{a}].{field}");
            if account.kind == AccountKind::Investment {
                return Err(bad(at("type"), "must be checking, savings or credit_card"));
            }
            if spec.accounts[..a].iter().any(|other| other.kind == account.kind) {
                return Err(bad(at("type"), format!("the user already has a {} account", account.kind)));
            }
            let compiled = compile_account(tenant, spec, account, &at)?;
            bank.transactions.insert(compiled.template.seed, compiled.transactions.clone());
            accounts.push(compiled);
        }
        bank.users.insert(key, User { password: spec.password.clone(), accounts });
    }
    Ok(bank)
}

fn compile_account(
    tenant: TenantId,
    user: &UserSpec,
    spec: &AccountSpec,
    at: &dyn Fn(&str) -> String,
) -> Result<Account, FixtureError> {
    let seed = seed_of(&["fixture", &tenant.to_string(), &user.institution, &user.username, spec.kind.as_str()]);
    let balance = cents(at("balance"), &spec.balance)?;
    let available = spec.available_balance.as_deref().map(|v| cents(at("available_balance"), v)).transpose()?;
    let deposit = spec.kind.is_deposit();
    if !deposit && (spec.account_number.is_some() || spec.routing_number.is_some()) {
        return Err(bad(at("account_number"), "only checking and savings accounts have account and routing numbers"));
    }
    let number = match &spec.account_number {
        Some(n) => Some(
            AccountNumber::parse(n)
                .ok_or_else(|| bad(at("account_number"), "must be 4 to 17 digits"))?
                .expose()
                .to_owned(),
        ),
        None => Some(format!("{:010}", seed % 10_000_000_000)),
    };
    let routing = match &spec.routing_number {
        Some(r) => RoutingNumber::parse(r)
            .ok_or_else(|| bad(at("routing_number"), format!("{r:?} is not a valid ABA routing number")))?,
        None => routing_number_for(&user.institution),
    };
    let mut transactions = Vec::new();
    for (t, txn) in spec.transactions.iter().enumerate() {
        let path = |field: &str| at(&format!("transactions[{t}].{field}"));
        let day = day_of(&txn.date)
            .ok_or_else(|| bad(path("date"), format!("{:?} is not a date like \"2026-01-31\"", txn.date)))?;
        let amount = cents(path("amount"), &txn.amount)?;
        if amount == 0 {
            return Err(bad(path("amount"), "must not be zero"));
        }
        if txn.description.trim().is_empty() {
            return Err(bad(path("description"), "must not be empty"));
        }
        transactions.push(Transaction {
            day,
            amount_cents: amount.abs(),
            is_credit: amount > 0,
            description: intern(&txn.description),
            category: intern(txn.category.as_deref().unwrap_or("Uncategorized")),
            top_level_category: intern(txn.top_level_category.as_deref().unwrap_or("Uncategorized")),
            pending: txn.pending,
        });
    }
    // Newest first, as the generated transactions come.
    transactions.sort_by_key(|t| std::cmp::Reverse(t.day));
    let (account_number, card_number) = if deposit { (number, None) } else { (None, number) };
    Ok(Account {
        template: SandboxAccount {
            kind: spec.kind,
            seed: seed as i64,
            name: intern(&spec.name),
            account_type: spec.kind.account_type(),
            subtype: Some("NONE"),
            balance_cents: balance,
            available_balance_cents: available.or(deposit.then_some(balance)),
            credit_limit_cents: None,
            apr_bps: None,
            routing_number: deposit.then_some(routing),
            account_number,
            card_number,
        },
        transactions,
    })
}

/// A tenant's installed fixtures and the stored version they came from.
type Installed = (i64, Arc<Bank>);

static BANKS: LazyLock<RwLock<HashMap<TenantId, Installed>>> = LazyLock::new(RwLock::default);

/// Makes `bank` (stored as `version`) the tenant's fixtures from now on, unless a later version
/// is installed already: installs racing each other leave the latest.
pub fn install(tenant: TenantId, version: i64, bank: Bank) {
    let mut banks = BANKS.write().expect("fixtures lock");
    if banks.get(&tenant).is_none_or(|(installed, _)| *installed < version) {
        banks.insert(tenant, (version, Arc::new(bank)));
    }
}

/// The version of the tenant's installed fixtures.
pub fn installed_version(tenant: TenantId) -> Option<i64> {
    BANKS.read().expect("fixtures lock").get(&tenant).map(|(version, _)| *version)
}

/// The tenant's fixtures, if it loaded any.
pub fn of(tenant: TenantId) -> Option<Arc<Bank>> {
    BANKS.read().expect("fixtures lock").get(&tenant).map(|(_, bank)| bank.clone())
}

impl Bank {
    /// The tenant's own institutions, in the document's order.
    pub fn institutions(&self) -> &[&'static Institution] {
        &self.institutions
    }

    pub fn institution(&self, code_or_guid: &str) -> Option<&'static Institution> {
        self.institutions.iter().copied().find(|i| i.code == code_or_guid || i.guid == code_or_guid)
    }

    /// Whether a fixture user signs in: `None` when `username` is no fixture user there.
    pub fn sign_in(&self, institution: &str, username: &str, password: &str) -> Option<bool> {
        let user = self.users.get(&(institution.to_owned(), username.to_owned()))?;
        Some(user.password == password)
    }

    /// A fixture user's accounts at an institution.
    pub fn accounts(&self, institution: &str, username: &str) -> Option<Vec<SandboxAccount>> {
        let user = self.users.get(&(institution.to_owned(), username.to_owned()))?;
        Some(user.accounts.iter().map(|a| a.template.clone()).collect())
    }

    /// The given transactions of the account with this seed, if it is a fixture account.
    pub fn transactions(&self, account_guid: &str, seed: i64) -> Option<Vec<SandboxTransaction>> {
        let given = self.transactions.get(&seed)?;
        Some(
            given
                .iter()
                .enumerate()
                .map(|(n, t)| SandboxTransaction {
                    guid: derived_guid("TRN", &[account_guid, "fixture", &n.to_string()]),
                    day: t.day,
                    amount_cents: t.amount_cents,
                    is_credit: t.is_credit,
                    description: t.description,
                    category: t.category,
                    top_level_category: t.top_level_category,
                    merchant_category_code: 0,
                    pending: t.pending,
                    sequence: n as i64,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> serde_json::Value {
        json!({
            "institutions": [{ "code": "acme_bank", "name": "Acme Bank", "url": "https://acme.example" }],
            "users": [{
                "institution": "acme_bank", "username": "alice", "password": "wonderland",
                "accounts": [
                    { "type": "checking", "name": "Everyday", "balance": "1234.56", "account_number": "1111222233",
                      "routing_number": "021000021",
                      "transactions": [
                        { "date": "2026-11-01", "amount": "-42.10", "description": "Corner Coffee", "category": "Coffee Shops" },
                        { "date": "2026-11-15", "amount": "2500.00", "description": "Payroll" }
                      ] },
                    { "type": "credit_card", "name": "Card", "balance": "99.00" }
                ]
            }]
        })
    }

    fn error(v: serde_json::Value) -> FixtureError {
        match parse(v.to_string().as_bytes()) {
            Err(e) => e,
            Ok(doc) => compile(TenantId::generate(), &doc).unwrap_err(),
        }
    }

    #[test]
    fn a_document_compiles_into_institutions_users_accounts_and_transactions() {
        let tenant = TenantId::generate();
        let bank = compile(tenant, &parse(document().to_string().as_bytes()).unwrap()).unwrap();
        let inst = bank.institution("acme_bank").unwrap();
        assert_eq!(inst.name, "Acme Bank");
        assert_eq!(bank.institution(&inst.guid).unwrap().code, "acme_bank");
        assert_eq!(inst.credentials.len(), 2);
        assert_eq!(bank.sign_in("acme_bank", "alice", "wonderland"), Some(true));
        assert_eq!(bank.sign_in("acme_bank", "alice", "nope"), Some(false));
        assert_eq!(bank.sign_in("acme_bank", "bob", "x"), None);
        let accounts = bank.accounts("acme_bank", "alice").unwrap();
        assert_eq!(accounts[0].balance_cents, 123_456);
        assert_eq!(accounts[0].account_number.as_deref(), Some("1111222233"));
        assert_eq!(accounts[0].routing_number.as_ref().unwrap().as_str(), "021000021");
        assert!(accounts[1].account_number.is_none() && accounts[1].card_number.is_some());
        let txns = bank.transactions("ACT-1", accounts[0].seed).unwrap();
        assert_eq!(txns.len(), 2);
        assert_eq!((txns[0].description, txns[0].is_credit, txns[0].amount_cents), ("Payroll", true, 250_000));
        assert_eq!((txns[1].category, txns[1].is_credit, txns[1].amount_cents), ("Coffee Shops", false, 4_210));
        assert_eq!(day_of("2026-11-01"), Some(20_758));
        assert_eq!(day_of("2026-02-30"), None);
    }

    #[test]
    fn every_error_names_the_path_of_the_bad_field() {
        let mut v = document();
        v["users"][0]["accounts"][0]["routing_number"] = json!("123456789");
        assert_eq!(error(v).path, "users[0].accounts[0].routing_number");
        let mut v = document();
        v["users"][0]["accounts"][0]["transactions"][1]["date"] = json!("15/11/2026");
        assert_eq!(error(v).path, "users[0].accounts[0].transactions[1].date");
        let mut v = document();
        v["users"][0]["accounts"][1]["balance"] = json!("ten");
        assert_eq!(error(v).path, "users[0].accounts[1].balance");
        let mut v = document();
        v["users"][0]["accounts"][1]["type"] = json!("checking");
        assert_eq!(error(v).message, "the user already has a checking account");
        let mut v = document();
        v["users"][0]["accounts"][0]["type"] = json!("boat");
        assert_eq!(error(v).path, "users[0].accounts[0].type");
        let mut v = document();
        v["institutions"][0]["code"] = json!("mxbank");
        assert_eq!(error(v).message, "`mxbank` is already an institution of the catalog");
        let mut v = document();
        v["users"][0]["institution"] = json!("nowhere");
        assert_eq!(error(v).path, "users[0].institution");
        let mut v = document();
        v["institutions"][0]["colour"] = json!("red");
        let e = error(v);
        assert_eq!(e.path, "institutions[0].colour");
        assert!(e.message.contains("unknown field `colour`"), "{e}");
        let mut v = document();
        v["institutions"][0]["credentials"] = json!([{ "field_name": "u", "label": "U", "type": "LOGIN" }]);
        assert_eq!(error(v).message, "needs exactly one field of type PASSWORD");
    }

    #[test]
    fn the_documented_example_loads() {
        let doc = parse(include_bytes!("../../../../docs/sandbox-fixtures.example.json")).unwrap();
        let bank = compile(TenantId::generate(), &doc).unwrap();
        assert_eq!(bank.institutions().len(), 1);
        assert_eq!(bank.sign_in("mxbank", "bob", "builder"), Some(true));
    }

    #[test]
    fn fixture_users_also_sign_in_at_catalog_institutions() {
        let doc = parse(
            json!({ "users": [{ "institution": "mxbank", "username": "carol", "password": "p",
                                 "accounts": [{ "type": "savings", "name": "Rainy Day", "balance": "10" }] }] })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let bank = compile(TenantId::generate(), &doc).unwrap();
        assert_eq!(bank.accounts("mxbank", "carol").unwrap()[0].account_number.as_ref().unwrap().len(), 10);
        assert!(bank.institutions().is_empty());
    }
}
