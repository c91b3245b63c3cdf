//! Exchange partners: the open-banking providers an exchange can go through. The list is fixed
//! (as in a Dwolla environment); their ids are stable across restarts and deployments.

use openiav_core::clock::Timestamp;
use serde::Deserialize;

use crate::body::{valid, Href, Lenient};
use crate::hal::id_from_href;
use crate::DwollaError;

pub mod view;

/// What a partner supports here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Exchange sessions open MX's Connect widget (openiav's own).
    Mx,
    /// Exchange sessions hand out a Plaid Link token.
    Plaid,
    /// Token-based exchanges only; no sessions.
    TokenOnly,
    /// Sessions redirect to the partner and back to a configured redirect URL.
    Visa,
    /// Push-to-Card sessions.
    Checkout,
}

/// One exchange partner.
#[derive(Clone, Copy, Debug)]
pub struct Partner {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub created: Timestamp,
}

const PARTNERS: [Partner; 6] = [
    Partner {
        id: "a12a48fe-65b6-4b09-9419-715ce39ca40c",
        name: "Finicity",
        kind: Kind::TokenOnly,
        created: Timestamp::from_millis(1_651_000_000_000),
    },
    Partner {
        id: "bca8d065-49a5-475b-a6b4-509bc8504d22",
        name: "MX",
        kind: Kind::Mx,
        created: Timestamp::from_millis(1_663_168_521_922),
    },
    Partner {
        id: "a0b22a57-68df-4450-b507-47c937e64e89",
        name: "Flinks",
        kind: Kind::TokenOnly,
        created: Timestamp::from_millis(1_670_000_000_000),
    },
    Partner {
        id: "3aef60d1-878f-4692-8c06-c6b478efb60d",
        name: "Plaid",
        kind: Kind::Plaid,
        created: Timestamp::from_millis(1_680_000_000_000),
    },
    Partner {
        id: "2d36c06f-e283-49d8-829f-d4941a73fd6a",
        name: "Visa",
        kind: Kind::Visa,
        created: Timestamp::from_millis(1_700_000_000_000),
    },
    Partner {
        id: "6f5c1b8e-4d0a-4c3b-9a8e-2f1d7c6b5a49",
        name: "Checkout.com",
        kind: Kind::Checkout,
        created: Timestamp::from_millis(1_720_000_000_000),
    },
];

/// The partners this deployment offers, oldest first.
pub fn all(visa_enabled: bool) -> impl Iterator<Item = &'static Partner> {
    PARTNERS.iter().filter(move |p| visa_enabled || p.kind != Kind::Visa)
}

/// A partner by id.
pub fn find(id: &str, visa_enabled: bool) -> Option<&'static Partner> {
    all(visa_enabled).find(|p| p.id == id)
}

/// A partner by its stored name.
pub fn by_name(name: &str) -> Option<&'static Partner> {
    PARTNERS.iter().find(|p| p.name == name)
}

/// The partner a stored record names in its `partner` column; a name outside the list is an
/// error naming the record (`what`, e.g. "exchange") and its id.
pub fn of_record(name: &str, what: &str, id: &str) -> Result<&'static Partner, DwollaError> {
    by_name(name).ok_or_else(|| {
        DwollaError::internal(format!("{what} {id}: column partner holds {name:?}, which is no exchange partner"))
    })
}

/// Where a request names its partner.
pub const PARTNER_PATH: &str = "/_links/exchange-partner/href";

/// The `_links` of a request that names a partner (exchange and exchange-session creation).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PartnerLinks {
    #[serde(rename = "exchange-partner", default)]
    pub exchange_partner: Option<Lenient<Href>>,
    #[serde(rename = "redirect-url", default)]
    pub redirect_url: Option<Lenient<Href>>,
}

impl PartnerLinks {
    /// The `_links` of a body, a value that is not an object reading as none.
    pub fn of(links: &Option<Lenient<PartnerLinks>>) -> Self {
        valid(links).cloned().unwrap_or_default()
    }

    /// The offered partner `_links.exchange-partner.href` names, whatever host it carries.
    pub fn partner(&self, visa_enabled: bool) -> Result<&'static Partner, DwollaError> {
        valid(&self.exchange_partner)
            .and_then(Href::valid)
            .and_then(|href| id_from_href(href, "exchange-partners"))
            .and_then(|id| find(&id, visa_enabled))
            .ok_or_else(|| DwollaError::invalid(PARTNER_PATH, format!("{PARTNER_PATH} is invalid.")))
    }

    /// `_links.redirect-url.href` as given (a `redirect-url` that is not an object gives none).
    pub fn redirect_url(&self) -> Option<Lenient<&str>> {
        match valid(&self.redirect_url)?.href.as_ref()? {
            Lenient::Valid(url) => Some(Lenient::Valid(url.as_str())),
            Lenient::Malformed => Some(Lenient::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::parse;

    fn links(body: &str) -> PartnerLinks {
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "_links", default)]
            links: Option<Lenient<PartnerLinks>>,
        }
        PartnerLinks::of(&parse::<Body>(body.as_bytes()).expect("parses").links)
    }

    #[test]
    fn a_partner_is_named_by_its_href_on_any_host() {
        let mx = r#"{"_links":{"exchange-partner":{"href":"https://api.dwolla.com/exchange-partners/bca8d065-49a5-475b-a6b4-509bc8504d22"}}}"#;
        assert_eq!(links(mx).partner(false).expect("MX").kind, Kind::Mx);
        let visa =
            r#"{"_links":{"exchange-partner":{"href":"/exchange-partners/2d36c06f-e283-49d8-829f-d4941a73fd6a"}}}"#;
        assert!(links(visa).partner(false).is_err(), "Visa only when switched on");
        assert_eq!(links(visa).partner(true).expect("Visa").kind, Kind::Visa);
        for body in [r#"{}"#, r#"{"_links":7}"#, r#"{"_links":{"exchange-partner":{"href":42}}}"#] {
            assert!(links(body).partner(true).is_err(), "{body}");
        }
    }

    #[test]
    fn a_redirect_url_is_absent_given_or_of_the_wrong_type() {
        assert_eq!(links(r#"{"_links":{}}"#).redirect_url(), None);
        assert_eq!(links(r#"{"_links":{"redirect-url":5}}"#).redirect_url(), None);
        assert_eq!(links(r#"{"_links":{"redirect-url":{"href":null}}}"#).redirect_url(), None);
        assert_eq!(links(r#"{"_links":{"redirect-url":{"href":"x"}}}"#).redirect_url(), Some(Lenient::Valid("x")));
        assert_eq!(links(r#"{"_links":{"redirect-url":{"href":[1]}}}"#).redirect_url(), Some(Lenient::Malformed));
    }

    #[test]
    fn stored_partner_names_decode_or_name_the_record() {
        assert_eq!(of_record("Plaid", "exchange", "e1").expect("Plaid").kind, Kind::Plaid);
        let e = of_record("Nobody", "exchange session", "s1").expect_err("unknown");
        assert_eq!(e.code(), crate::DwollaCode::ServerError);
    }
}
