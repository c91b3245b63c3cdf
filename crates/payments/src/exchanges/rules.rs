//! What an exchange (and an exchange session) requires of its customer and its token, and when
//! its partner connection is marked as needing re-authentication.

use openiav_core::clock::Timestamp;
use openiav_core::payments::CustomerStatus;

use crate::error::DwollaCode;
use crate::hal::link;
use crate::DwollaError;

/// Whether a customer in `status` may connect accounts: not once deactivated or suspended.
pub fn customer_may_connect(status: CustomerStatus) -> bool {
    !matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended)
}

/// What reading an exchange's partner connection changes about its re-authentication mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReauthChange {
    /// The connection was just found lost: mark it (at this time) and tell the application
    /// (`customer_exchange_reauth_required`).
    Lost(Timestamp),
    /// A connection marked lost works again: clear the mark, so a later loss is told again.
    Restored,
    /// Nothing new: a loss already told, or a connection that kept working.
    Unchanged,
}

/// The change to an exchange marked lost since `marked` (or not) once its connection was found
/// `usable` (or not) at `now`. One loss is told once, however many reads find it.
pub fn reauth_change(marked: Option<Timestamp>, usable: bool, now: Timestamp) -> ReauthChange {
    match (marked, usable) {
        (None, false) => ReauthChange::Lost(now),
        (Some(_), true) => ReauthChange::Restored,
        (None, true) | (Some(_), false) => ReauthChange::Unchanged,
    }
}

/// Dwolla's answer to reading an exchange whose connection needs the end user to sign in
/// again: 400 `UpdateCredentials`, `_links.about` at the re-authentication session to create.
pub fn update_credentials(base: &str, exchange_id: &str) -> DwollaError {
    let about = link(base, &format!("/exchanges/{exchange_id}/exchange-sessions"), "exchange-session");
    DwollaError::new(
        DwollaCode::UpdateCredentials,
        "Re-authentication is required in order to access account data. Please initiate the exchange session flow to regain access.",
    )
    .with_about(about)
}

/// The secure-exchange token a body carries, if any: a blank one counts as none (so the body
/// falls back to the partner's own token field and its "required" error).
pub fn secure_token(token: Option<&str>) -> Option<&str> {
    token.map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_is_marked_once_and_cleared_when_the_connection_works_again() {
        let (then, now) = (Timestamp::from_millis(1), Timestamp::from_millis(2));
        assert_eq!(reauth_change(None, false, now), ReauthChange::Lost(now));
        assert_eq!(reauth_change(Some(then), false, now), ReauthChange::Unchanged, "told once");
        assert_eq!(reauth_change(Some(then), true, now), ReauthChange::Restored);
        assert_eq!(reauth_change(None, true, now), ReauthChange::Unchanged);
    }

    #[test]
    fn update_credentials_points_at_the_reauth_sessions_of_the_exchange() {
        let e = update_credentials("https://api.example", "ex-1");
        assert_eq!(e.code(), DwollaCode::UpdateCredentials);
        assert_eq!(e.status().as_u16(), 400);
        let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "code": "UpdateCredentials",
                "message": "Re-authentication is required in order to access account data. Please initiate the exchange session flow to regain access.",
                "_links": { "about": {
                    "href": "https://api.example/exchanges/ex-1/exchange-sessions",
                    "type": "application/vnd.dwolla.v1.hal+json",
                    "resource-type": "exchange-session",
                } },
            })
        );
    }

    #[test]
    fn only_deactivated_or_suspended_customers_may_not_connect() {
        for &status in CustomerStatus::ALL {
            let refused = matches!(status, CustomerStatus::Deactivated | CustomerStatus::Suspended);
            assert_eq!(customer_may_connect(status), !refused, "{status}");
        }
    }

    #[test]
    fn a_blank_secure_token_is_no_token() {
        assert_eq!(secure_token(Some("  abc\n")), Some("abc"));
        assert_eq!(secure_token(Some(" \t")), None);
        assert_eq!(secure_token(Some("")), None);
        assert_eq!(secure_token(None), None);
    }
}
