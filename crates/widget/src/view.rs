//! What the widget page is told: institutions as it lists them, and members as it follows them,
//! with the end-user message for each failure (the seed's test-credential table, word for word).

use openiav_aggregation::catalog::{Institution, InstitutionFilter, Product};
use openiav_aggregation::engine::{self, Challenge, Stage};
use openiav_aggregation::status::ConnectionStatus;
use openiav_aggregation::widget_url::WidgetConfig;
use openiav_store::records::MemberRecord;
use openiav_store::StoreError;
use serde::Serialize;

/// The institutions a widget may offer: those supporting every requested product. In
/// verification mode institutions without instant verification stay listed, because the
/// widget verifies their accounts by micro-deposits instead.
pub fn offered(config: &WidgetConfig, name: Option<String>, popular_only: bool) -> InstitutionFilter {
    let products = config
        .required_products()
        .into_iter()
        .filter(|p| !(config.verification && *p == Product::AccountVerification))
        .collect();
    InstitutionFilter {
        name,
        countries: config.iso_country_codes.clone(),
        products,
        popular_only,
        ..Default::default()
    }
}

#[derive(Serialize)]
pub struct WidgetCredential<'a> {
    guid: &'a str,
    label: &'a str,
    field_name: &'a str,
    /// `PASSWORD` fields are masked.
    field_type: &'a str,
}

#[derive(Serialize)]
pub struct WidgetInstitution<'a> {
    code: &'a str,
    guid: &'a str,
    name: &'a str,
    url: &'a str,
    logo_url: Option<&'a str>,
    is_oauth: bool,
    instant_verification: bool,
    forgot_password_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Vec<WidgetCredential<'a>>>,
}

impl<'a> WidgetInstitution<'a> {
    pub fn summary(i: &'a Institution) -> Self {
        Self {
            code: &i.code,
            guid: &i.guid,
            name: &i.name,
            url: i.url.as_deref().unwrap_or(""),
            logo_url: i.medium_logo_url.as_deref().or(i.small_logo_url.as_deref()),
            is_oauth: i.supports_oauth,
            instant_verification: i.supports_account_verification,
            forgot_password_url: i.forgot_password_url.as_deref(),
            credentials: None,
        }
    }

    pub fn with_credentials(i: &'a Institution) -> Self {
        let mut fields: Vec<_> = i.credentials.iter().collect();
        fields.sort_by_key(|c| c.display_order);
        let credentials = fields
            .into_iter()
            .map(|c| WidgetCredential {
                guid: &c.guid,
                label: &c.label,
                field_name: &c.field_name,
                field_type: &c.field_type,
            })
            .collect();
        Self { credentials: Some(credentials), ..Self::summary(i) }
    }
}

/// Where the member stands, from the widget's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The bank is still working; keep following the member.
    Working,
    /// Waiting for the end user to authorize at the bank.
    Oauth,
    /// An MFA question waits for an answer.
    Challenged,
    /// Verification: the end user picks the account to verify.
    SelectAccount,
    Connected,
    /// The credentials were refused: ask for them again.
    Denied,
    /// Any other failure: show the message, offer a retry.
    Error,
}

pub fn outcome(m: &MemberRecord) -> Result<Outcome, StoreError> {
    let status = m.connection_status;
    if let Some(job) = engine::running_job(m)? {
        return Ok(match (status, job.stage) {
            (ConnectionStatus::Challenged, Stage::AwaitingAccountSelection) => Outcome::SelectAccount,
            (ConnectionStatus::Challenged, _) => Outcome::Challenged,
            _ => Outcome::Working,
        });
    }
    Ok(match status {
        ConnectionStatus::Connected | ConnectionStatus::Reconnected => Outcome::Connected,
        ConnectionStatus::Pending => Outcome::Oauth,
        ConnectionStatus::Created | ConnectionStatus::Updated | ConnectionStatus::Resumed => Outcome::Working,
        ConnectionStatus::Denied if !m.is_oauth => Outcome::Denied,
        _ => Outcome::Error,
    })
}

/// The message the widget shows for a member in `status` at `institution`.
pub fn widget_message(status: ConnectionStatus, is_oauth: bool, institution: &str) -> Option<String> {
    use ConnectionStatus::*;
    Some(match status {
        Denied if is_oauth => {
            format!("Access to {institution} was not granted. To connect, try again and allow access.")
        }
        Denied | Prevented => {
            format!("The credentials entered do not match those at {institution}. Please correct them below to continue.")
        }
        Locked => format!(
            "Your account is locked. Please log in to the appropriate website for {institution} and follow the steps to resolve the issue."
        ),
        Failed => {
            format!("There was a problem validating your credentials with {institution}. Please try again later.")
        }
        Rejected => "The answer you provided was incorrect. Please try again.".to_owned(),
        Expired => "The verification request expired before it was answered. Please try again.".to_owned(),
        Disconnected => format!("Access to {institution} was revoked. Please connect again to continue."),
        Impeded => format!("Please log in to {institution}'s website and resolve the message there, then try again."),
        Closed | Discontinued | Disabled => format!("This connection to {institution} can no longer be updated."),
        Connected | Reconnected | Created | Updated | Resumed | Pending | Challenged => return None,
        Degraded | Delayed | Impaired | Imported => {
            format!("We could not connect to {institution} right now. Please try again later.")
        }
    })
}

#[derive(Serialize)]
pub struct WidgetMember {
    guid: String,
    institution_code: String,
    institution_guid: String,
    institution_name: String,
    is_oauth: bool,
    connection_status: &'static str,
    /// The numeric id widget events carry.
    connection_status_id: u8,
    outcome: Outcome,
    message: Option<String>,
    challenges: Vec<Challenge>,
    /// Verification: whether an account's numbers were verified (none means no eligible account).
    has_verified_account: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_window_uri: Option<String>,
}

impl WidgetMember {
    pub fn new(m: &MemberRecord, institution_guid: &str, oauth_window_uri: Option<String>) -> Result<Self, StoreError> {
        let status = m.connection_status;
        let outcome = outcome(m)?;
        let challenges = match outcome {
            Outcome::Challenged | Outcome::SelectAccount => engine::open_challenges(m)?,
            _ => Vec::new(),
        };
        Ok(Self {
            guid: m.guid.to_string(),
            institution_code: m.institution_code.clone(),
            institution_guid: institution_guid.to_owned(),
            institution_name: m.name.clone(),
            is_oauth: m.is_oauth,
            connection_status: status.as_str(),
            connection_status_id: status.id(),
            outcome,
            message: matches!(outcome, Outcome::Denied | Outcome::Error)
                .then(|| widget_message(status, m.is_oauth, &m.name))
                .flatten(),
            challenges,
            has_verified_account: m.has_processed_account_numbers,
            oauth_window_uri,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages_are_the_seed_tables_words() {
        use ConnectionStatus::*;
        let msg = |s| widget_message(s, false, "MX Bank").unwrap();
        assert_eq!(
            msg(Denied),
            "The credentials entered do not match those at MX Bank. Please correct them below to continue."
        );
        assert_eq!(
            msg(Locked),
            "Your account is locked. Please log in to the appropriate website for MX Bank and follow the steps to resolve the issue."
        );
        assert_eq!(
            msg(Failed),
            "There was a problem validating your credentials with MX Bank. Please try again later."
        );
        assert!(widget_message(Connected, false, "MX Bank").is_none());
        assert!(widget_message(Denied, true, "MX Bank (OAuth)").unwrap().contains("not granted"));
    }
}
