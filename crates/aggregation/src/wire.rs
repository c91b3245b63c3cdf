//! MX JSON shapes. Every field has the JSON type MX's SDKs expect (the Python SDK is strict:
//! strings are strings, integers are integers, and `most_recent_job_guid` /
//! `most_recent_job_detail_text` stay `null` in v20111101, where the spec types them boolean).

use openiav_core::aggregation::{AccountType, ConnectionStatus, UseCase};
use openiav_store::records::{AccountRecord, MemberRecord, MemberStatusRecord, UserRecord};
use openiav_store::StoreError;
use serde::Serialize;

use crate::catalog::{CredentialField, Institution};
use crate::engine::{self, Challenge};
use crate::sandbox::data::{cents_to_number, day_to_date, Owner, SandboxTransaction};
use crate::version::ApiVersion;

#[derive(Serialize)]
pub struct User<'a> {
    pub email: Option<&'a str>,
    pub guid: &'a str,
    pub id: Option<&'a str>,
    pub is_disabled: bool,
    pub metadata: Option<&'a str>,
}

impl<'a> From<&'a UserRecord> for User<'a> {
    fn from(u: &'a UserRecord) -> Self {
        Self {
            email: u.email.as_deref(),
            guid: u.guid.as_str(),
            id: u.id.as_deref(),
            is_disabled: u.is_disabled,
            metadata: u.metadata.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct Member<'a> {
    pub aggregated_at: Option<String>,
    pub background_aggregation_is_disabled: bool,
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<&'a str>,
    pub guid: &'a str,
    pub id: Option<&'a str>,
    pub institution_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_guid: Option<&'a str>,
    pub is_being_aggregated: bool,
    pub is_managed_by_user: bool,
    pub is_manual: bool,
    pub is_oauth: bool,
    pub metadata: Option<&'a str>,
    pub most_recent_job_detail_code: Option<i64>,
    pub most_recent_job_detail_text: Option<&'a str>,
    pub most_recent_job_guid: Option<String>,
    pub name: &'a str,
    pub needs_updated_credentials: bool,
    pub oauth_window_uri: Option<String>,
    pub successfully_aggregated_at: Option<String>,
    pub use_cases: Option<Vec<UseCase>>,
    pub user_guid: &'a str,
    pub user_id: Option<&'a str>,
}

impl<'a> Member<'a> {
    /// `user_id` is the partner id of the member's user; `oauth_window_uri` is set only right
    /// after one was minted.
    pub fn new(
        m: &'a MemberRecord,
        user_id: Option<&'a str>,
        oauth_window_uri: Option<String>,
        v: ApiVersion,
    ) -> Result<Self, StoreError> {
        let job_guid = engine::running_job(m)?.map(|j| j.guid);
        Ok(Self {
            aggregated_at: m.aggregated_at.map(|t| t.to_rfc3339_seconds()),
            background_aggregation_is_disabled: m.background_aggregation_is_disabled,
            connection_status: m.connection_status,
            connection_status_message: m.connection_status_message.as_deref(),
            guid: m.guid.as_str(),
            id: m.id.as_deref(),
            institution_code: &m.institution_code,
            institution_guid: crate::catalog::Catalog::get()
                .find_for(m.tenant_id, &m.institution_code)
                .map(|i| i.guid.as_str()),
            is_being_aggregated: m.is_being_aggregated,
            is_managed_by_user: true,
            is_manual: false,
            is_oauth: m.is_oauth,
            metadata: m.metadata.as_deref(),
            most_recent_job_detail_code: None,
            most_recent_job_detail_text: None,
            most_recent_job_guid: if v == ApiVersion::V20250224 { job_guid } else { None },
            name: &m.name,
            needs_updated_credentials: m.connection_status.needs_updated_credentials(),
            oauth_window_uri,
            successfully_aggregated_at: m.successfully_aggregated_at.map(|t| t.to_rfc3339_seconds()),
            use_cases: engine::use_cases(m)?,
            user_guid: m.user_guid.as_str(),
            user_id,
        })
    }
}

#[derive(Serialize)]
pub struct MemberStatus<'a> {
    pub aggregated_at: Option<String>,
    pub challenges: Vec<Challenge>,
    pub connection_status: ConnectionStatus,
    pub connection_status_message: Option<&'a str>,
    pub guid: &'a str,
    pub has_processed_account_numbers: bool,
    pub has_processed_accounts: bool,
    pub has_processed_transactions: bool,
    pub is_authenticated: bool,
    pub is_being_aggregated: bool,
    pub successfully_aggregated_at: Option<String>,
}

impl<'a> TryFrom<&'a MemberStatusRecord> for MemberStatus<'a> {
    type Error = StoreError;

    fn try_from(m: &'a MemberStatusRecord) -> Result<Self, StoreError> {
        Ok(Self {
            aggregated_at: m.aggregated_at.map(|t| t.to_rfc3339_seconds()),
            challenges: engine::parse_challenges(&m.guid, m.challenges.as_deref())?,
            connection_status: m.connection_status,
            connection_status_message: m.connection_status_message.as_deref(),
            guid: m.guid.as_str(),
            has_processed_account_numbers: m.has_processed_account_numbers,
            has_processed_accounts: m.has_processed_accounts,
            has_processed_transactions: m.has_processed_transactions,
            is_authenticated: m.is_authenticated,
            is_being_aggregated: m.is_being_aggregated,
            successfully_aggregated_at: m.successfully_aggregated_at.map(|t| t.to_rfc3339_seconds()),
        })
    }
}

#[derive(Serialize)]
pub struct InstitutionV1<'a> {
    pub code: &'a str,
    pub forgot_password_url: Option<&'a str>,
    pub forgot_username_url: Option<&'a str>,
    pub instructional_text: Option<&'a str>,
    pub instructional_text_steps: Option<&'a [String]>,
    pub is_disabled_by_client: bool,
    pub iso_country_code: &'a str,
    pub medium_logo_url: Option<&'a str>,
    pub name: &'a str,
    pub small_logo_url: Option<&'a str>,
    pub supports_account_identification: bool,
    pub supports_account_statement: bool,
    pub supports_account_verification: bool,
    pub supports_oauth: bool,
    pub supports_tax_document: bool,
    pub supports_transaction_history: bool,
    pub trouble_signing_in_url: Option<&'a str>,
    pub url: Option<&'a str>,
}

#[derive(Serialize)]
pub struct InstitutionV2<'a> {
    pub code: &'a str,
    pub forgot_password_url: Option<&'a str>,
    pub forgot_username_url: Option<&'a str>,
    pub guid: &'a str,
    pub instructional_text: Option<&'a str>,
    pub instructional_text_steps: Option<&'a [String]>,
    pub is_disabled_by_client: bool,
    pub is_hidden: bool,
    pub iso_country_code: &'a str,
    pub medium_logo_url: Option<&'a str>,
    pub name: &'a str,
    pub small_logo_url: Option<&'a str>,
    pub supported_products: Vec<&'static str>,
    pub supports_oauth: bool,
    pub supports_tax_document: bool,
    pub trouble_signing_in_url: Option<&'a str>,
    pub url: Option<&'a str>,
}

/// An institution in the requested version's shape.
pub fn institution(i: &Institution, v: ApiVersion) -> serde_json::Value {
    let value = match v {
        ApiVersion::V20111101 => serde_json::to_value(InstitutionV1 {
            code: &i.code,
            forgot_password_url: i.forgot_password_url.as_deref(),
            forgot_username_url: i.forgot_username_url.as_deref(),
            instructional_text: i.instructional_text.as_deref(),
            instructional_text_steps: i.instructional_text_steps.as_deref(),
            is_disabled_by_client: false,
            iso_country_code: &i.iso_country_code,
            medium_logo_url: i.medium_logo_url.as_deref(),
            name: &i.name,
            small_logo_url: i.small_logo_url.as_deref(),
            supports_account_identification: i.supports_account_identification,
            supports_account_statement: i.supports_account_statement,
            supports_account_verification: i.supports_account_verification,
            supports_oauth: i.supports_oauth,
            supports_tax_document: i.supports_tax_document,
            supports_transaction_history: i.supports_transaction_history,
            trouble_signing_in_url: i.trouble_signing_in_url.as_deref(),
            url: i.url.as_deref(),
        }),
        ApiVersion::V20250224 => serde_json::to_value(InstitutionV2 {
            code: &i.code,
            forgot_password_url: i.forgot_password_url.as_deref(),
            forgot_username_url: i.forgot_username_url.as_deref(),
            guid: &i.guid,
            instructional_text: i.instructional_text.as_deref(),
            instructional_text_steps: i.instructional_text_steps.as_deref(),
            is_disabled_by_client: false,
            is_hidden: false,
            iso_country_code: &i.iso_country_code,
            medium_logo_url: i.medium_logo_url.as_deref(),
            name: &i.name,
            small_logo_url: i.small_logo_url.as_deref(),
            supported_products: i.supported_products(),
            supports_oauth: i.supports_oauth,
            supports_tax_document: i.supports_tax_document,
            trouble_signing_in_url: i.trouble_signing_in_url.as_deref(),
            url: i.url.as_deref(),
        }),
    };
    value.unwrap_or(serde_json::Value::Null)
}

#[derive(Serialize)]
pub struct Credential<'a> {
    pub display_order: i64,
    pub field_name: &'a str,
    pub field_type: &'a str,
    pub guid: &'a str,
    pub label: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
}

impl<'a> From<&'a CredentialField> for Credential<'a> {
    fn from(c: &'a CredentialField) -> Self {
        Self {
            display_order: c.display_order,
            field_name: &c.field_name,
            field_type: &c.field_type,
            guid: &c.guid,
            label: &c.label,
            kind: &c.field_type,
        }
    }
}

#[derive(Serialize)]
pub struct Account<'a> {
    pub account_number: Option<&'a str>,
    pub apr: Option<f64>,
    pub apy: Option<f64>,
    pub available_balance: Option<f64>,
    pub available_credit: Option<f64>,
    pub balance: f64,
    pub created_at: String,
    pub credit_limit: Option<f64>,
    pub currency_code: &'static str,
    pub guid: &'a str,
    pub id: Option<&'a str>,
    pub institution_code: &'a str,
    pub is_closed: bool,
    pub is_hidden: bool,
    pub is_manual: bool,
    pub member_guid: &'a str,
    pub member_id: Option<&'a str>,
    pub member_is_managed_by_user: bool,
    pub metadata: Option<&'a str>,
    pub name: &'a str,
    pub nickname: Option<&'a str>,
    pub routing_number: Option<&'a str>,
    pub subtype: Option<&'a str>,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub updated_at: String,
    pub user_guid: &'a str,
    pub user_id: Option<&'a str>,
}

impl<'a> Account<'a> {
    pub fn new(a: &'a AccountRecord, member: &'a MemberRecord, user_id: Option<&'a str>) -> Self {
        let is_card = a.account_type == AccountType::CreditCard;
        Self {
            account_number: a.account_number_last4.as_deref(),
            apr: a.apr_bps.filter(|_| is_card).map(|b| b as f64 / 100.0),
            apy: a.apr_bps.filter(|_| !is_card).map(|b| b as f64 / 100.0),
            available_balance: a.available_balance_cents.map(cents_to_number),
            available_credit: a.credit_limit_cents.map(|l| cents_to_number(l - a.balance_cents)),
            balance: cents_to_number(a.balance_cents),
            created_at: a.created_at.to_rfc3339_seconds(),
            credit_limit: a.credit_limit_cents.map(cents_to_number),
            currency_code: "USD",
            guid: a.guid.as_str(),
            id: None,
            institution_code: &member.institution_code,
            is_closed: false,
            is_hidden: false,
            is_manual: false,
            member_guid: a.member_guid.as_str(),
            member_id: member.id.as_deref(),
            member_is_managed_by_user: true,
            metadata: None,
            name: &a.name,
            nickname: None,
            routing_number: a.routing_number.as_deref(),
            subtype: a.subtype.as_deref(),
            account_type: a.account_type,
            updated_at: a.updated_at.to_rfc3339_seconds(),
            user_guid: a.user_guid.as_str(),
            user_id,
        }
    }
}

#[derive(Serialize)]
pub struct AccountNumber<'a> {
    pub account_guid: &'a str,
    pub account_number: String,
    pub guid: &'a str,
    pub institution_number: Option<&'a str>,
    pub loan_guarantor: Option<&'a str>,
    pub loan_reference_number: Option<&'a str>,
    pub member_guid: &'a str,
    pub passed_validation: bool,
    pub routing_number: Option<&'a str>,
    pub sequence_number: Option<&'a str>,
    pub transit_number: Option<&'a str>,
    pub user_guid: &'a str,
}

#[derive(Serialize)]
pub struct AccountOwner<'a> {
    pub account_guid: &'a str,
    pub address: &'a str,
    pub city: &'a str,
    pub country: &'static str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub guid: &'a str,
    pub last_name: &'a str,
    pub member_guid: &'a str,
    pub owner_name: String,
    pub phone: &'a str,
    pub postal_code: &'a str,
    pub state: &'a str,
    pub user_guid: &'a str,
}

impl<'a> AccountOwner<'a> {
    pub fn new(a: &'a AccountRecord, o: &'a Owner) -> Self {
        Self {
            account_guid: a.guid.as_str(),
            address: &o.address,
            city: o.city,
            country: "US",
            email: &o.email,
            first_name: o.first_name,
            guid: &a.owner_guid,
            last_name: o.last_name,
            member_guid: a.member_guid.as_str(),
            owner_name: format!("{} {}", o.first_name, o.last_name),
            phone: &o.phone,
            postal_code: &o.postal_code,
            state: o.state,
            user_guid: a.user_guid.as_str(),
        }
    }
}

#[derive(Serialize, Clone)]
pub struct Transaction {
    pub account_guid: String,
    pub account_id: Option<String>,
    pub amount: f64,
    pub category: &'static str,
    pub category_guid: Option<String>,
    pub check_number_string: Option<String>,
    pub created_at: String,
    pub currency_code: &'static str,
    pub date: String,
    pub description: &'static str,
    pub extended_transaction_type: Option<String>,
    pub guid: String,
    pub id: Option<String>,
    pub is_bill_pay: bool,
    pub is_direct_deposit: bool,
    pub is_expense: bool,
    pub is_fee: bool,
    pub is_income: bool,
    pub is_international: bool,
    pub is_manual: bool,
    pub is_overdraft_fee: bool,
    pub is_payroll_advance: bool,
    pub is_recurring: Option<bool>,
    pub is_subscription: bool,
    pub latitude: Option<f64>,
    pub localized_description: Option<String>,
    pub localized_memo: Option<String>,
    pub longitude: Option<f64>,
    pub member_guid: String,
    pub member_is_managed_by_user: bool,
    pub memo: Option<String>,
    pub merchant_category_code: Option<i64>,
    pub merchant_guid: Option<String>,
    pub merchant_location_guid: Option<String>,
    pub metadata: Option<String>,
    pub original_description: String,
    pub posted_at: Option<String>,
    pub status: &'static str,
    pub top_level_category: &'static str,
    pub transacted_at: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub updated_at: String,
    pub user_guid: String,
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geolocation: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeating_transaction: Option<serde_json::Value>,
}

/// The enhancement objects a transaction query asked for (`includes=`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TransactionIncludes {
    pub classifications: bool,
    pub geolocations: bool,
    pub merchants: bool,
    pub repeating_transactions: bool,
}

impl TransactionIncludes {
    /// Parses `includes=repeating_transactions,merchants,…`; unknown names are an error.
    pub fn parse(values: &[String]) -> Result<Self, String> {
        let mut out = Self::default();
        for v in values {
            match v.as_str() {
                "classifications" => out.classifications = true,
                "geolocations" => out.geolocations = true,
                "merchants" => out.merchants = true,
                "repeating_transactions" => out.repeating_transactions = true,
                other => return Err(other.to_owned()),
            }
        }
        Ok(out)
    }
}

impl Transaction {
    /// Adds the enhancement objects `inc` asks for.
    pub fn enhance(&mut self, t: &SandboxTransaction, inc: TransactionIncludes) {
        use openiav_core::ids::derived_guid;
        let is_merchant = t.merchant_category_code != 0;
        if inc.classifications {
            let parent = match (t.category, t.is_credit) {
                ("Paycheck", _) => "Payroll",
                ("Interest Income", _) => "Income",
                ("Transfer" | "Credit Card Payment", _) => "Transfer",
                (_, true) => "Deposit",
                (_, false) => "Spend",
            };
            self.classification =
                Some(serde_json::json!({ "parent_class": parent, "guid": derived_guid("MNC", &[parent]) }));
        }
        if inc.geolocations && is_merchant {
            self.geolocation =
                Some(serde_json::json!({ "country": "us", "state": "UT", "city": "lehi", "postal code": "84043" }));
        }
        if inc.merchants && is_merchant {
            let guid = derived_guid("MCH", &[t.description]);
            let slug: String = t.description.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
            self.merchant = Some(serde_json::json!({
                "name": t.description,
                "guid": guid,
                "logo_url": format!("https://content.example/logos/merchants/{guid}.png"),
                "website_url": format!("https://www.{slug}.example"),
            }));
        }
        if inc.repeating_transactions {
            let kind = match t.category {
                "Paycheck" => Some("INCOME"),
                "Television" => Some("SUBSCRIPTION"),
                "Utilities" => Some("BILL"),
                _ => None,
            };
            if let Some(kind) = kind {
                self.repeating_transaction = Some(serde_json::json!({
                    "repeating_transaction_type": kind,
                    "recurrence_type": "EVERY_OTHER_WEEK",
                    "guid": derived_guid("RPT", &[&self.account_guid, t.description]),
                }));
            }
        }
    }
    pub fn new(a: &AccountRecord, t: &SandboxTransaction, user_id: Option<&str>) -> Self {
        let date = day_to_date(t.day);
        let at = format!("{date}T12:00:00Z");
        Self {
            account_guid: a.guid.to_string(),
            account_id: None,
            amount: cents_to_number(t.amount_cents),
            category: t.category,
            category_guid: None,
            check_number_string: None,
            created_at: a.updated_at.to_rfc3339_seconds(),
            currency_code: "USD",
            date,
            description: t.description,
            extended_transaction_type: None,
            guid: t.guid.clone(),
            id: None,
            is_bill_pay: t.top_level_category == "Bills & Utilities",
            is_direct_deposit: t.category == "Paycheck",
            is_expense: !t.is_credit,
            is_fee: false,
            is_income: t.top_level_category == "Income",
            is_international: false,
            is_manual: false,
            is_overdraft_fee: false,
            is_payroll_advance: false,
            is_recurring: None,
            is_subscription: t.category == "Television",
            latitude: None,
            localized_description: None,
            localized_memo: None,
            longitude: None,
            member_guid: a.member_guid.to_string(),
            member_is_managed_by_user: true,
            memo: None,
            merchant_category_code: (t.merchant_category_code != 0).then_some(t.merchant_category_code),
            merchant_guid: None,
            merchant_location_guid: None,
            metadata: None,
            original_description: t.description.to_uppercase(),
            posted_at: (!t.pending).then(|| at.clone()),
            status: if t.pending { "PENDING" } else { "POSTED" },
            top_level_category: t.top_level_category,
            transacted_at: at,
            kind: if t.is_credit { "CREDIT" } else { "DEBIT" },
            updated_at: a.updated_at.to_rfc3339_seconds(),
            user_guid: a.user_guid.to_string(),
            user_id: user_id.map(str::to_owned),
            classification: None,
            geolocation: None,
            merchant: None,
            repeating_transaction: None,
        }
    }
}

/// `part` as a percentage of `whole`, to two decimals.
fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| ((part as f64 / whole as f64) * 10_000.0).round() / 100.0)
}

/// An investment holding (`InvestmentHoldingResponse`, plus the older `HoldingResponse` names
/// `member_guid`, `shares`, `holding_type_id`, `cusip`, `id`, `metadata`, `updated_at`).
#[derive(Serialize)]
pub struct Holding<'a> {
    pub account_guid: &'a str,
    pub cost_basis: f64,
    pub coupon_yield: Option<&'a str>,
    pub created_at: String,
    pub currency_code: &'static str,
    pub current_price: f64,
    pub current_price_as_of: String,
    pub cusip: &'a str,
    pub daily_change: f64,
    pub description: &'a str,
    pub expiration: Option<&'a str>,
    pub face_value: Option<f64>,
    pub frequency: Option<&'a str>,
    pub guid: &'a str,
    pub holding_type: &'static str,
    pub holding_type_id: i64,
    pub id: Option<&'a str>,
    pub issue_date: Option<&'a str>,
    pub market_value: f64,
    pub maturity_date: Option<&'a str>,
    pub member_guid: &'a str,
    pub metadata: Option<&'a str>,
    pub percentage_change: Option<f64>,
    pub purchase_price: f64,
    pub put_or_call: Option<&'a str>,
    /// The spec types `quantity` as a string ("5000.0").
    pub quantity: String,
    pub rate: Option<f64>,
    pub shares: f64,
    pub strike_price: Option<f64>,
    pub symbol: &'a str,
    pub term: Option<&'a str>,
    pub term_unit: Option<&'a str>,
    pub today_ugl_amount: f64,
    pub today_ugl_percentage: Option<f64>,
    pub total_ugl_amount: f64,
    pub total_ugl_percentage: Option<f64>,
    pub unvested_quantity: Option<f64>,
    pub unvested_value: Option<f64>,
    pub updated_at: String,
    pub user_guid: &'a str,
    pub vested_quantity: Option<f64>,
    pub vested_value: Option<f64>,
    pub vesting_end_date: Option<&'a str>,
    pub vesting_start_date: Option<&'a str>,
}

impl<'a> Holding<'a> {
    pub fn new(h: &'a openiav_store::records::HoldingRecord) -> Self {
        let market = h.shares * h.price_cents;
        let cost = h.shares * h.purchase_price_cents;
        let previous = h.price_cents - h.daily_change_cents;
        Self {
            account_guid: h.account_guid.as_str(),
            cost_basis: cents_to_number(cost),
            coupon_yield: None,
            created_at: h.created_at.to_rfc3339_seconds(),
            currency_code: "USD",
            current_price: cents_to_number(h.price_cents),
            current_price_as_of: h.updated_at.to_rfc3339_seconds(),
            cusip: &h.cusip,
            daily_change: cents_to_number(h.daily_change_cents),
            description: &h.description,
            expiration: None,
            face_value: None,
            frequency: None,
            guid: &h.guid,
            holding_type: h.holding_type.as_str(),
            holding_type_id: h.holding_type.id(),
            id: None,
            issue_date: None,
            market_value: cents_to_number(market),
            maturity_date: None,
            member_guid: h.member_guid.as_str(),
            metadata: None,
            percentage_change: percent(h.daily_change_cents, previous),
            purchase_price: cents_to_number(h.purchase_price_cents),
            put_or_call: None,
            quantity: format!("{}.0", h.shares),
            rate: None,
            shares: h.shares as f64,
            strike_price: None,
            symbol: &h.symbol,
            term: None,
            term_unit: None,
            today_ugl_amount: cents_to_number(h.shares * h.daily_change_cents),
            today_ugl_percentage: percent(h.daily_change_cents, previous),
            total_ugl_amount: cents_to_number(market - cost),
            total_ugl_percentage: percent(market - cost, cost),
            unvested_quantity: None,
            unvested_value: None,
            updated_at: h.updated_at.to_rfc3339_seconds(),
            user_guid: h.user_guid.as_str(),
            vested_quantity: None,
            vested_value: None,
            vesting_end_date: None,
            vesting_start_date: None,
        }
    }
}

/// A reward balance (`RewardElements` with the SDKs' `account_guid`, `member_guid`, `user_guid`).
#[derive(Serialize)]
pub struct Reward<'a> {
    pub account_guid: Option<&'a str>,
    /// An integer: the Python SDK types it so.
    pub balance: i64,
    pub balance_type: &'static str,
    pub created_at: String,
    pub description: &'a str,
    pub expires_on: Option<&'a str>,
    pub guid: &'a str,
    pub member_guid: &'a str,
    pub unit_type: &'static str,
    pub updated_at: String,
    pub user_guid: &'a str,
}

impl<'a> Reward<'a> {
    pub fn new(r: &'a openiav_store::records::RewardRecord) -> Self {
        Self {
            account_guid: r.account_guid.as_deref(),
            balance: r.balance,
            balance_type: r.balance_type.as_str(),
            created_at: r.created_at.to_rfc3339_seconds(),
            description: &r.description,
            expires_on: r.expires_on.as_deref(),
            guid: &r.guid,
            member_guid: r.member_guid.as_str(),
            unit_type: r.unit_type.as_str(),
            updated_at: r.updated_at.to_rfc3339_seconds(),
            user_guid: r.user_guid.as_str(),
        }
    }
}
