//! The wire form of an exchange partner and of the partner list.

use serde::Serialize;

use super::Partner;
use crate::hal::{Collection, Links};

/// `GET /exchange-partners/{id}` (fields in the order the body has always had).
#[derive(Clone, Debug, Serialize)]
pub struct PartnerView {
    #[serde(rename = "_links")]
    links: Links,
    created: String,
    id: &'static str,
    name: &'static str,
    /// Every partner offered is active.
    status: &'static str,
}

pub fn of(base: &str, p: &Partner) -> PartnerView {
    PartnerView {
        links: Links::new().with("self", base, &format!("/exchange-partners/{}", p.id), "exchange-partner").with(
            "funding-source",
            base,
            "/funding-sources",
            "funding-source",
        ),
        created: p.created.to_rfc3339_millis(),
        id: p.id,
        name: p.name,
        status: "active",
    }
}

/// `GET /exchange-partners`.
pub fn list<'a>(base: &str, partners: impl Iterator<Item = &'a Partner>) -> Collection<PartnerView> {
    let links = Links::new().with("self", base, "/exchange-partners", "exchange-partner");
    Collection::all("exchange-partners", partners.map(|p| of(base, p)).collect(), links)
}
