//! Exchange partners: the open-banking providers an exchange can go through. The list is fixed
//! (as in a Dwolla environment); their ids are stable across restarts and deployments.

use openiav_core::clock::Timestamp;

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
