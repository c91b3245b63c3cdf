//! Connect widget URLs: the settings a `widget_urls` request carries, checked at the edge, and
//! the single-use, ten-minute URL minted for them. The widget crate serves what the URL opens.

use openiav_core::aggregation::{ColorScheme, ReferralSource, UseCase};
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::{TenantId, UserGuid, WidgetSessionGuid};
use openiav_core::vocab::UnknownValue;
use openiav_store::records::WidgetSessionRecord;
use openiav_store::repo::widget_sessions;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Product};
use crate::engine::{JobKind, JobRequest};
use crate::{AppState, MxError};

/// The path widget URLs live under (MX's widget host uses the same shape).
pub const WIDGET_PATH: &str = "/md/connect";

/// The widget types openiav serves.
const CONNECT_WIDGET: &str = "connect_widget";

/// The only post-message protocol version the widget speaks ("all new implementations must use
/// version 4").
pub const UI_MESSAGE_VERSION: i64 = 4;

/// What the widget was asked to do, stored with its session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetConfig {
    /// `mode` includes `verification` (instant account verification).
    pub verification: bool,
    /// Products the offered institutions must support.
    pub products: Vec<String>,
    pub include_identity: bool,
    /// Sessions stored before this setting was kept gathered no extra transactions.
    #[serde(default)]
    pub include_transactions: bool,
    pub current_institution_code: Option<String>,
    pub current_member_guid: Option<String>,
    pub disable_institution_search: bool,
    pub update_credentials: bool,
    /// `light`, `dark` or `browser`.
    pub color_scheme: ColorScheme,
    pub is_mobile_webview: bool,
    pub webview_url_scheme: String,
    pub oauth_referral_source: ReferralSource,
    pub client_redirect_url: Option<String>,
    pub iso_country_codes: Vec<String>,
    pub use_cases: Option<Vec<UseCase>>,
}

impl WidgetConfig {
    /// The products offered institutions must support.
    pub fn required_products(&self) -> Vec<Product> {
        self.products.iter().filter_map(|p| Product::parse(p)).collect()
    }

    /// The job a member created in this widget runs.
    pub fn job_kind(&self) -> JobKind {
        if self.verification {
            JobKind::Verify
        } else if self.include_identity {
            JobKind::Identify
        } else {
            JobKind::Aggregate
        }
    }

    /// The job with what the widget also asked for: transactions and owners are gathered by a
    /// verification (or identification) when requested, as MX does.
    pub fn job_request(&self) -> JobRequest {
        JobRequest {
            kind: self.job_kind(),
            with_transactions: self.include_transactions,
            with_identity: self.include_identity,
            with_investments: self.required_products().contains(&Product::Investments),
            with_rewards: self.required_products().contains(&Product::Rewards),
            skip_holdings: false,
        }
    }
}

/// `iso_country_code` arrives as a list (spec) or a single string (older clients).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
pub struct DataRequest {
    products: Option<Vec<String>>,
}

/// MX's `WidgetRequest`; keys openiav does not use are ignored. Booleans and integers may
/// also arrive as strings: MX's SSO proxy forwards query-string values as they are.
#[derive(Deserialize, Default)]
pub struct WidgetRequest {
    widget_type: Option<String>,
    mode: Option<String>,
    data_request: Option<DataRequest>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    include_transactions: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    include_identity: Option<bool>,
    current_institution_code: Option<String>,
    current_institution_guid: Option<String>,
    current_member_guid: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    disable_institution_search: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    update_credentials: Option<bool>,
    color_scheme: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    is_mobile_webview: Option<bool>,
    #[serde(default, deserialize_with = "lenient::integer")]
    ui_message_version: Option<i64>,
    ui_message_webview_url_scheme: Option<String>,
    oauth_referral_source: Option<String>,
    client_redirect_url: Option<String>,
    iso_country_code: Option<OneOrMany>,
    use_cases: Option<Vec<String>>,
}

/// Booleans as `true`/`false` or `"true"`/`"false"`, integers as numbers or digit strings, as
/// MX takes them; anything else is refused in the field's own words.
mod lenient {
    use std::fmt;

    use serde::de::{Deserializer, Error, Unexpected, Visitor};

    struct Boolean;

    impl<'de> Visitor<'de> for Boolean {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim() {
                t if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
                f if f.eq_ignore_ascii_case("false") => Ok(Some(false)),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_option(Boolean)
    }

    struct Integer;

    impl<'de> Visitor<'de> for Integer {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            let digits = v.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::invalid_value(Unexpected::Str(v), &self));
            }
            digits.parse().map(Some).map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_option(Integer)
    }
}

fn is_url_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && s.len() <= 64
}

impl WidgetRequest {
    /// The deprecated `connect_widget_url` endpoint implies the widget type.
    pub fn for_connect_widget(mut self) -> Self {
        self.widget_type.get_or_insert_with(|| CONNECT_WIDGET.to_owned());
        self
    }

    /// Checks the request and turns it into the widget's settings. The member named by
    /// `current_member_guid` is checked by the caller, which can see the store.
    pub fn into_config(self) -> Result<WidgetConfig, MxError> {
        let widget_type =
            self.widget_type.ok_or_else(|| MxError::bad_request("widget_url.widget_type is required."))?;
        if widget_type != CONNECT_WIDGET {
            return Err(MxError::bad_request(format!(
                "`{widget_type}` is not a widget_type openiav serves; use `connect_widget`."
            )));
        }
        let mut verification = false;
        let mut aggregation = false;
        for mode in self.mode.as_deref().unwrap_or("aggregation").split(',').map(str::trim) {
            match mode {
                "aggregation" => aggregation = true,
                "verification" => verification = true,
                other => {
                    return Err(MxError::bad_request(format!(
                        "`{other}` is not a valid mode; use `aggregation` or `verification`."
                    )))
                }
            }
        }
        let include_identity = self.include_identity.unwrap_or(false);
        let include_transactions = self.include_transactions.unwrap_or(!verification);
        let mut products: Vec<Product> = Vec::new();
        let mut require = |p: Product| {
            if !products.contains(&p) {
                products.push(p);
            }
        };
        if verification {
            require(Product::AccountVerification);
        }
        if aggregation && include_transactions {
            require(Product::Transactions);
        }
        if include_identity {
            require(Product::IdentityVerification);
        }
        for name in self.data_request.and_then(|d| d.products).unwrap_or_default() {
            require(Product::parse(&name).ok_or_else(|| {
                MxError::bad_request(format!("`{name}` is not a valid product in data_request.products."))
            })?);
        }
        let catalog = Catalog::get();
        let institution =
            match (self.current_institution_code, self.current_institution_guid) {
                (Some(code), _) => Some(catalog.find(&code).map(|i| i.code.clone()).ok_or_else(|| {
                    MxError::bad_request(format!("`{code}` is not a valid current_institution_code."))
                })?),
                (None, Some(guid)) => Some(catalog.find(&guid).map(|i| i.code.clone()).ok_or_else(|| {
                    MxError::bad_request(format!("`{guid}` is not a valid current_institution_guid."))
                })?),
                (None, None) => None,
            };
        let disable_institution_search = self.disable_institution_search.unwrap_or(false);
        if disable_institution_search && institution.is_none() && self.current_member_guid.is_none() {
            return Err(MxError::bad_request(
                "disable_institution_search requires current_institution_code, current_institution_guid or current_member_guid.",
            ));
        }
        let color_scheme = match self.color_scheme.as_deref().map(str::parse) {
            None => ColorScheme::Light,
            Some(Ok(scheme)) => scheme,
            Some(Err(UnknownValue { value, .. })) => {
                return Err(MxError::bad_request(format!(
                    "`{value}` is not a valid color_scheme; use light, dark or browser."
                )))
            }
        };
        if let Some(version) = self.ui_message_version {
            if version != UI_MESSAGE_VERSION {
                return Err(MxError::bad_request(format!(
                    "ui_message_version {version} is not supported; openiav's widget speaks version 4."
                )));
            }
        }
        let is_mobile_webview = self.is_mobile_webview.unwrap_or(false);
        let webview_url_scheme = self.ui_message_webview_url_scheme.unwrap_or_else(|| "mx".into());
        if !is_url_scheme(&webview_url_scheme) {
            return Err(MxError::bad_request(format!(
                "`{webview_url_scheme}` is not a valid ui_message_webview_url_scheme."
            )));
        }
        let oauth_referral_source = match self.oauth_referral_source.as_deref() {
            None if is_mobile_webview => ReferralSource::App,
            None => ReferralSource::Browser,
            Some(source) => {
                source.parse().map_err(|_| MxError::bad_request("oauth_referral_source must be BROWSER or APP."))?
            }
        };
        if let Some(url) = &self.client_redirect_url {
            url::Url::parse(url)
                .map_err(|_| MxError::bad_request(format!("`{url}` is not a valid client_redirect_url.")))?;
        }
        let iso_country_codes = match self.iso_country_code {
            None => Vec::new(),
            Some(OneOrMany::One(c)) => vec![c],
            Some(OneOrMany::Many(list)) => list,
        };
        if let Some(bad) = iso_country_codes.iter().find(|c| !matches!(c.as_str(), "US" | "CA" | "MX")) {
            return Err(MxError::bad_request(format!("`{bad}` is not a valid iso_country_code; use US, CA or MX.")));
        }
        let use_cases = self.use_cases.as_deref().map(crate::members::parse_use_cases).transpose()?;
        Ok(WidgetConfig {
            verification,
            products: products.iter().map(|p| p.as_str().to_owned()).collect(),
            include_identity,
            include_transactions,
            current_institution_code: institution,
            current_member_guid: self.current_member_guid,
            disable_institution_search,
            update_credentials: self.update_credentials.unwrap_or(false),
            color_scheme,
            is_mobile_webview,
            webview_url_scheme,
            oauth_referral_source,
            client_redirect_url: self.client_redirect_url,
            iso_country_codes,
            use_cases,
        })
    }
}

/// Mints a widget URL for the user: single use, valid for the configured time.
pub async fn mint(
    state: &AppState,
    tenant: TenantId,
    user: &UserGuid,
    config: &WidgetConfig,
) -> Result<String, MxError> {
    let token = random_url_token();
    let now = state.now(tenant).await?;
    let record = WidgetSessionRecord {
        url_token_hash: hash_token(&token),
        session_token_hash: None,
        session_guid: WidgetSessionGuid::generate().into_string(),
        tenant_id: tenant,
        user_guid: user.clone(),
        config: serde_json::to_string(config).expect("widget config serialises"),
        url_expires_at: now.plus_millis(state.config.widget_url_ttl_ms),
        opened_at: None,
        session_expires_at: None,
        created_at: now,
    };
    state.store.write(move |c| Box::pin(async move { widget_sessions::insert(c, &record).await })).await?;
    Ok(format!("{}{WIDGET_PATH}/{token}", state.config.public_base_url.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> Result<WidgetConfig, MxError> {
        serde_json::from_value::<WidgetRequest>(json).unwrap().into_config()
    }

    #[test]
    fn verification_mode_requires_account_verification_and_skips_transactions() {
        let c = request(serde_json::json!({"widget_type": "connect_widget", "mode": "verification"})).unwrap();
        assert!(c.verification);
        assert_eq!(c.products, vec!["account_verification"]);
        assert_eq!(c.job_kind(), JobKind::Verify);
        assert_eq!((c.oauth_referral_source, c.webview_url_scheme.as_str()), (ReferralSource::Browser, "mx"));
    }

    #[test]
    fn verification_keeps_the_transactions_and_identity_it_was_asked_for() {
        let c = request(serde_json::json!({"widget_type": "connect_widget", "mode": "verification"})).unwrap();
        assert_eq!(c.job_request(), JobKind::Verify.into());
        let c = request(serde_json::json!({
            "widget_type": "connect_widget", "mode": "verification",
            "include_transactions": true, "include_identity": true
        }))
        .unwrap();
        assert_eq!(
            c.job_request(),
            JobRequest { kind: JobKind::Verify, with_transactions: true, with_identity: true, ..JobRequest::default() }
        );
    }

    #[test]
    fn aggregation_with_identity_and_data_request_products() {
        let c = request(serde_json::json!({
            "widget_type": "connect_widget", "include_identity": true,
            "data_request": {"products": ["statements"]}, "additional_product_option": "transactions",
            "is_mobile_webview": true, "iso_country_code": "US"
        }))
        .unwrap();
        assert_eq!(c.products, vec!["transactions", "identity_verification", "statements"]);
        assert_eq!(c.job_kind(), JobKind::Identify);
        assert_eq!(c.oauth_referral_source, ReferralSource::App);
        assert_eq!(c.iso_country_codes, vec!["US"]);
    }

    #[test]
    fn booleans_and_integers_may_arrive_as_strings() {
        let c = request(serde_json::json!({
            "widget_type": "connect_widget", "is_mobile_webview": "true", "ui_message_version": "4",
            "disable_institution_search": "false", "include_transactions": "true", "include_identity": "TRUE",
            "update_credentials": null
        }))
        .unwrap();
        assert!(c.is_mobile_webview && c.include_identity && !c.disable_institution_search && !c.update_credentials);
        let c = request(serde_json::json!({"widget_type": "connect_widget", "ui_message_version": 4})).unwrap();
        assert!(!c.is_mobile_webview);
        for (field, value) in [
            ("is_mobile_webview", serde_json::json!("maybe")),
            ("include_transactions", serde_json::json!(1)),
            ("ui_message_version", serde_json::json!("four")),
            ("ui_message_version", serde_json::json!(4.5)),
            ("ui_message_version", serde_json::json!("-4")),
        ] {
            let body = serde_json::json!({ "widget_type": "connect_widget", field: value });
            assert!(serde_json::from_value::<WidgetRequest>(body).is_err(), "{field}: {value}");
        }
    }

    #[test]
    fn bad_settings_are_refused_with_clear_messages() {
        let bad = |json: serde_json::Value, needle: &str| {
            let e = request(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        bad(serde_json::json!({}), "widget_type is required");
        bad(serde_json::json!({"widget_type": "pulse_widget"}), "pulse_widget");
        bad(serde_json::json!({"widget_type": "connect_widget", "mode": "spying"}), "spying");
        bad(serde_json::json!({"widget_type": "connect_widget", "color_scheme": "pink"}), "color_scheme");
        bad(serde_json::json!({"widget_type": "connect_widget", "ui_message_version": 1}), "version 4");
        bad(serde_json::json!({"widget_type": "connect_widget", "disable_institution_search": true}), "requires");
        bad(serde_json::json!({"widget_type": "connect_widget", "current_institution_code": "nope"}), "nope");
        bad(serde_json::json!({"widget_type": "connect_widget", "ui_message_webview_url_scheme": "1x"}), "scheme");
        bad(serde_json::json!({"widget_type": "connect_widget", "oauth_referral_source": "TV"}), "BROWSER or APP");
        bad(serde_json::json!({"widget_type": "connect_widget", "data_request": {"products": ["x"]}}), "product");
        bad(serde_json::json!({"widget_type": "connect_widget", "use_cases": ["X"]}), "use case");
        bad(serde_json::json!({"widget_type": "connect_widget", "iso_country_code": ["FR"]}), "FR");
    }
}
