//! The institution catalog: MX Bank, MX Bank (OAuth) and 250+ synthetic institutions, loaded
//! once from `data/institutions.json`, with MX's search and product filters.

use std::collections::HashMap;
use std::sync::LazyLock;

use openiav_core::ids::derived_guid as guid_from;
use openiav_core::ids::TenantId;
use serde::Deserialize;

/// One credential field an institution asks for.
#[derive(Clone, Debug, Deserialize)]
pub struct CredentialField {
    pub field_name: String,
    pub field_type: String,
    pub label: String,
    pub display_order: i64,
    #[serde(skip)]
    pub guid: String,
}

/// An institution as the catalog describes it.
#[derive(Clone, Debug, Deserialize)]
pub struct Institution {
    pub code: String,
    pub guid: String,
    pub name: String,
    pub url: Option<String>,
    pub iso_country_code: String,
    pub small_logo_url: Option<String>,
    pub medium_logo_url: Option<String>,
    pub forgot_password_url: Option<String>,
    pub forgot_username_url: Option<String>,
    pub trouble_signing_in_url: Option<String>,
    pub instructional_text: Option<String>,
    pub instructional_text_steps: Option<Vec<String>>,
    pub supports_account_identification: bool,
    pub supports_account_statement: bool,
    pub supports_account_verification: bool,
    pub supports_transaction_history: bool,
    pub supports_tax_document: bool,
    /// Investment accounts with holdings (v20250224 product `investments`).
    #[serde(default)]
    pub supports_investments: bool,
    /// Rewards programs (v20250224 product `rewards`).
    #[serde(default)]
    pub supports_rewards: bool,
    pub supports_oauth: bool,
    pub popular: bool,
    pub credentials: Vec<CredentialField>,
}

/// A product an institution may support (v20250224 `supported_products`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    AccountVerification,
    IdentityVerification,
    Transactions,
    TransactionHistory,
    Statements,
    Investments,
    Rewards,
}

impl Product {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "account_verification" => Self::AccountVerification,
            "identity_verification" => Self::IdentityVerification,
            "transactions" => Self::Transactions,
            "history" | "transaction_history" => Self::TransactionHistory,
            "statements" => Self::Statements,
            "investments" => Self::Investments,
            "rewards" => Self::Rewards,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountVerification => "account_verification",
            Self::IdentityVerification => "identity_verification",
            Self::Transactions => "transactions",
            Self::TransactionHistory => "transaction_history",
            Self::Statements => "statements",
            Self::Investments => "investments",
            Self::Rewards => "rewards",
        }
    }
}

impl Institution {
    /// What the institution's flags say (MX Bank and MX Bank (OAuth) have every flag set).
    pub fn supports(&self, p: Product) -> bool {
        match p {
            Product::AccountVerification => self.supports_account_verification,
            Product::IdentityVerification => self.supports_account_identification,
            Product::Transactions => true,
            Product::TransactionHistory => self.supports_transaction_history,
            Product::Statements => self.supports_account_statement,
            Product::Investments => self.supports_investments,
            Product::Rewards => self.supports_rewards,
        }
    }

    pub fn supported_products(&self) -> Vec<&'static str> {
        use Product::*;
        [AccountVerification, IdentityVerification, Transactions, TransactionHistory, Statements, Investments, Rewards]
            .into_iter()
            .filter(|p| self.supports(*p))
            .map(Product::as_str)
            .collect()
    }

    pub fn credential(&self, guid: &str) -> Option<&CredentialField> {
        self.credentials.iter().find(|c| c.guid == guid)
    }
}

/// Filters of the list-institutions endpoint.
#[derive(Debug, Default)]
pub struct InstitutionFilter {
    pub name: Option<String>,
    pub countries: Vec<String>,
    pub supports_account_identification: Option<bool>,
    pub supports_account_statement: Option<bool>,
    pub supports_account_verification: Option<bool>,
    pub supports_transaction_history: Option<bool>,
    pub products: Vec<Product>,
    pub popular_only: bool,
}

impl InstitutionFilter {
    /// Whether `i` passes the filter; `name_lower` is the lower-cased name query, if any.
    pub fn matches(&self, i: &Institution, name_lower: Option<&str>) -> bool {
        let flag = |want: Option<bool>, has: bool| want.is_none_or(|w| w == has);
        name_lower.is_none_or(|n| i.name.to_lowercase().contains(n) || i.code.contains(n))
            && (self.countries.is_empty() || self.countries.iter().any(|c| c.eq_ignore_ascii_case(&i.iso_country_code)))
            && flag(self.supports_account_identification, i.supports_account_identification)
            && flag(self.supports_account_statement, i.supports_account_statement)
            && flag(self.supports_account_verification, i.supports_account_verification)
            && flag(self.supports_transaction_history, i.supports_transaction_history)
            && self.products.iter().all(|p| i.supports(*p))
            && (!self.popular_only || i.popular)
    }
}

/// The loaded catalog.
pub struct Catalog {
    institutions: Vec<Institution>,
    /// Position in `institutions` by code and by guid.
    index: HashMap<String, usize>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let mut institutions: Vec<Institution> =
        serde_json::from_str(include_str!("../data/institutions.json")).expect("the bundled catalog is valid JSON");
    for inst in &mut institutions {
        for field in &mut inst.credentials {
            field.guid = guid_from("CRD", &[&inst.code, &field.field_name]);
        }
    }
    let mut index = HashMap::with_capacity(institutions.len() * 2);
    for (i, inst) in institutions.iter().enumerate() {
        index.insert(inst.code.clone(), i);
        index.insert(inst.guid.clone(), i);
    }
    Catalog { institutions, index }
});

impl Catalog {
    pub fn get() -> &'static Catalog {
        &CATALOG
    }

    /// By code, or by guid.
    pub fn find(&self, code_or_guid: &str) -> Option<&Institution> {
        self.index.get(code_or_guid).map(|&i| &self.institutions[i])
    }

    pub fn search(&self, f: &InstitutionFilter) -> Vec<&Institution> {
        let name = f.name.as_ref().map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty());
        self.institutions.iter().filter(|i| f.matches(i, name.as_deref())).collect()
    }

    /// By code or guid among `tenant`'s own fixture institutions, then the catalog's.
    pub fn find_for(&self, tenant: TenantId, code_or_guid: &str) -> Option<&'static Institution> {
        let custom = crate::sandbox::fixtures::of(tenant).and_then(|bank| bank.institution(code_or_guid));
        custom.or_else(|| Catalog::get().find(code_or_guid))
    }

    /// What [`Catalog::search`] finds, after `tenant`'s own fixture institutions that match.
    pub fn search_for(&self, tenant: TenantId, f: &InstitutionFilter) -> Vec<&'static Institution> {
        let name = f.name.as_ref().map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty());
        let mut found: Vec<&'static Institution> = crate::sandbox::fixtures::of(tenant)
            .map(|bank| bank.institutions().iter().copied().filter(|i| f.matches(i, name.as_deref())).collect())
            .unwrap_or_default();
        found.extend(Catalog::get().search(f));
        found
    }

    pub fn len(&self) -> usize {
        self.institutions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.institutions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_holds_the_test_banks_and_many_more() {
        let c = Catalog::get();
        assert!(c.len() >= 200);
        let mx = c.find("mxbank").unwrap();
        assert_eq!(mx.name, "MX Bank");
        assert_eq!(mx.credentials.len(), 2);
        assert!(mx.credentials[0].guid.starts_with("CRD-"));
        assert!(c.find("mx_bank_oauth").unwrap().supports_oauth);
    }

    #[test]
    fn search_matches_names_case_insensitively_and_filters() {
        let c = Catalog::get();
        let hits = c.search(&InstitutionFilter { name: Some("mx bank".into()), ..Default::default() });
        assert_eq!(hits.len(), 2);
        let verif = c.search(&InstitutionFilter { supports_account_verification: Some(true), ..Default::default() });
        assert!(verif.iter().all(|i| i.supports_account_verification));
        assert!(verif.len() < c.len());
    }

    #[test]
    fn investments_and_rewards_come_from_the_catalog_flags() {
        let c = Catalog::get();
        for code in ["mxbank", "mx_bank_oauth"] {
            let i = c.find(code).unwrap();
            assert!(i.supports(Product::Investments) && i.supports(Product::Rewards), "{code}");
            assert!(i.supported_products().contains(&"investments") && i.supported_products().contains(&"rewards"));
        }
        let chase = c.find("chase").unwrap();
        assert!(!chase.supports(Product::Investments) && chase.supports(Product::Rewards));
        for p in [Product::Investments, Product::Rewards] {
            let hits = c.search(&InstitutionFilter { products: vec![p], ..Default::default() });
            assert!(hits.len() > 2 && hits.len() < c.len() / 2, "{p:?}: {}", hits.len());
            assert!(hits.iter().all(|i| i.supports(p)));
        }
    }
}
