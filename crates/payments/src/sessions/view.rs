//! The wire form of an exchange session: its partner, and the hand-off as the partner's SDK
//! expects it (a widget link for MX and Visa, a Link token for Plaid).

use serde::Serialize;

use super::Session;
use crate::hal::Links;
use crate::partners::Kind;

/// `GET /exchange-sessions/{id}` (fields in the order the body has always had).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[serde(rename = "_links")]
    links: Links,
    created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_provider_session_token: Option<String>,
}

/// Where a session lives.
pub fn path(id: &str) -> String {
    format!("/exchange-sessions/{id}")
}

pub fn of(base: &str, session: &Session) -> SessionView {
    let links = Links::new()
        // Dwolla spells this resource type in the plural.
        .with("self", base, &path(&session.record.id), "exchange-sessions")
        .with("exchange-partner", base, &format!("/exchange-partners/{}", session.partner.id), "exchange-partner");
    let (links, token) = match (&session.hand_off, session.partner.kind) {
        (Some(token), Kind::Plaid) => (links, Some(token.clone())),
        // The widget's URL is absolute, on the aggregator's host: no base in front.
        (Some(url), _) => (links.with("external-provider-session", "", url, "text/html"), None),
        (None, _) => (links, None),
    };
    SessionView {
        links,
        created: session.record.created_at.to_rfc3339_millis(),
        external_provider_session_token: token,
    }
}
