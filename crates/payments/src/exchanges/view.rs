//! The wire form of exchanges and of a customer's available exchange connections.

use openiav_core::payments::ExchangeStatus;
use openiav_store::records::ExchangeRecord;
use serde::Serialize;

use super::connection_token;
use crate::hal::{Collection, Links};
use crate::partners;
use crate::port::VerifiedAccount;
use crate::DwollaError;

/// One exchange (fields in the order the body has always had).
#[derive(Clone, Debug, Serialize)]
pub struct ExchangeView {
    #[serde(rename = "_links")]
    links: Links,
    created: String,
    id: String,
    status: ExchangeStatus,
}

/// Where an exchange lives.
pub fn path(e: &ExchangeRecord) -> String {
    format!("/exchanges/{}", e.id)
}

pub fn of(base: &str, e: &ExchangeRecord) -> Result<ExchangeView, DwollaError> {
    let partner = partners::of_record(&e.partner, "exchange", &e.id)?;
    Ok(ExchangeView {
        links: Links::new()
            .with("self", base, &path(e), "exchange")
            .with("exchange-partner", base, &format!("/exchange-partners/{}", partner.id), "exchange-partner")
            .with("customer", base, &format!("/customers/{}", e.customer_id), "customer")
            .with("funding-sources", base, "/funding-sources", "funding-source"),
        created: e.created_at.to_rfc3339_millis(),
        id: e.id.clone(),
        status: e.status,
    })
}

/// `GET /customers/{id}/exchanges`.
pub fn list(
    base: &str,
    customer_id: &str,
    exchanges: &[ExchangeRecord],
) -> Result<Collection<ExchangeView>, DwollaError> {
    let items = exchanges.iter().map(|e| of(base, e)).collect::<Result<_, _>>()?;
    let links = Links::new().with("self", base, &format!("/customers/{customer_id}/exchanges"), "exchange");
    Ok(Collection::all("exchanges", items, links))
}

/// `GET /customers/{id}/available-exchange-connections` (no `total`, unlike other lists).
#[derive(Clone, Debug, Serialize)]
pub struct AvailableConnectionsView {
    #[serde(rename = "_embedded")]
    embedded: EmbeddedConnections,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Clone, Debug, Serialize)]
struct EmbeddedConnections {
    #[serde(rename = "available-exchange-connections")]
    connections: Vec<AvailableConnection>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailableConnection {
    available_connection_token: String,
    name: String,
}

pub fn available_connections(base: &str, customer_id: &str, accounts: &[VerifiedAccount]) -> AvailableConnectionsView {
    let path = format!("/customers/{customer_id}");
    let connections = accounts
        .iter()
        .map(|a| AvailableConnection { available_connection_token: connection_token(a), name: a.name.clone() })
        .collect();
    AvailableConnectionsView {
        embedded: EmbeddedConnections { connections },
        links: Links::new().with("self", base, &format!("{path}/available-exchange-connections"), "customer").with(
            "customers",
            base,
            &path,
            "customer",
        ),
    }
}
