//! What a `POST /sandbox-simulations` body asks for: with no body (or `{}`) the sandbox's bank
//! processing as Dwolla's sandbox does it (pending micro-deposits); with
//! `{"_links":{"exchange":{"href":…}},"simulate":"reauth-required"}` an exchange whose partner
//! connection is lost. Every field error is answered at once, each at its JSON pointer.

use crate::body::{valid, Href, Lenient};
use crate::error::FieldError;
use crate::hal::id_from_href;
use crate::DwollaError;
use serde::Deserialize;

openiav_core::wire_enum! {
    /// A `simulate` value: what the sandbox should make happen besides its bank processing.
    pub enum Simulated {
        /// The exchange's partner connection stops working until the end user signs in again.
        ReauthRequired = "reauth-required",
    }
}

/// `POST /sandbox-simulations`; every field optional, misshapen values kept for the rules.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SimulationRequest {
    #[serde(rename = "_links", default)]
    pub links: Option<Lenient<SimulationLinks>>,
    #[serde(default)]
    pub simulate: Option<Lenient<String>>,
}

/// A simulation body's `_links`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SimulationLinks {
    #[serde(default)]
    pub exchange: Option<Lenient<Href>>,
}

/// What the sandbox is asked to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Simulation {
    /// Process pending bank work (micro-deposits), as the empty call always has.
    BankProcessing,
    /// The exchange (its id, from the href) needs re-authentication.
    ReauthRequired { exchange_id: String },
}

const SIMULATE: &str = "/simulate";
const EXCHANGE: &str = "/_links/exchange/href";

/// The simulation `request` asks for. A body that names neither `simulate` nor `_links` is the
/// plain bank processing; naming either asks for an exchange simulation, which needs both.
pub fn decide(request: &SimulationRequest) -> Result<Simulation, DwollaError> {
    if request.simulate.is_none() && request.links.is_none() {
        return Ok(Simulation::BankProcessing);
    }
    let mut errors = Vec::new();
    let simulated = match &request.simulate {
        None => {
            errors.push(FieldError::required(SIMULATE, "Simulate required."));
            None
        }
        Some(given) => {
            let known = valid(&Some(given.clone())).and_then(|s| s.parse::<Simulated>().ok());
            if known.is_none() {
                errors.push(FieldError::invalid(SIMULATE, "Simulate must be reauth-required."));
            }
            known
        }
    };
    let href = match &request.links {
        Some(Lenient::Valid(links)) => links.exchange.as_ref(),
        Some(Lenient::Malformed) => {
            errors.push(FieldError::invalid("/_links", "/_links is invalid."));
            return Err(DwollaError::validation(errors));
        }
        None => None,
    };
    let exchange_id = match href {
        None => {
            errors.push(FieldError::required(EXCHANGE, "Exchange required."));
            None
        }
        Some(link) => {
            let id = link.valid().and_then(Href::valid).and_then(|h| id_from_href(h, "exchanges"));
            if id.is_none() {
                errors.push(FieldError::invalid(EXCHANGE, format!("{EXCHANGE} is invalid.")));
            }
            id
        }
    };
    match (simulated, exchange_id) {
        (Some(Simulated::ReauthRequired), Some(exchange_id)) if errors.is_empty() => {
            Ok(Simulation::ReauthRequired { exchange_id })
        }
        _ => Err(DwollaError::validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{DwollaCode, FieldCode};

    fn decided(body: serde_json::Value) -> Result<Simulation, DwollaError> {
        decide(&serde_json::from_value(body).expect("a simulation body parses"))
    }

    fn errors(body: serde_json::Value) -> Vec<(FieldCode, String)> {
        let e = decided(body).expect_err("refused");
        assert_eq!(e.code(), DwollaCode::ValidationError);
        e.field_errors().iter().map(|f| (f.code, f.path.clone())).collect()
    }

    #[test]
    fn no_body_or_an_empty_object_is_the_bank_processing() {
        assert_eq!(decide(&SimulationRequest::default()).unwrap(), Simulation::BankProcessing);
        assert_eq!(decided(serde_json::json!({})).unwrap(), Simulation::BankProcessing);
        assert_eq!(decided(serde_json::json!({ "unrelated": 1 })).unwrap(), Simulation::BankProcessing);
    }

    #[test]
    fn reauth_required_names_the_exchange_by_its_href_whatever_the_host() {
        let body = serde_json::json!({
            "_links": { "exchange": { "href": "https://api-sandbox.dwolla.com/exchanges/ABC-1" } },
            "simulate": "reauth-required",
        });
        assert_eq!(decided(body).unwrap(), Simulation::ReauthRequired { exchange_id: "abc-1".into() });
    }

    #[test]
    fn every_field_error_is_answered_at_its_path() {
        assert_eq!(
            errors(serde_json::json!({ "simulate": "reauth-required" })),
            [(FieldCode::Required, EXCHANGE.into())]
        );
        assert_eq!(
            errors(serde_json::json!({ "_links": { "exchange": { "href": "https://x/exchanges/1" } } })),
            [(FieldCode::Required, SIMULATE.into())]
        );
        assert_eq!(
            errors(
                serde_json::json!({ "simulate": "explode", "_links": { "exchange": { "href": "https://x/customers/1" } } })
            ),
            [(FieldCode::Invalid, SIMULATE.into()), (FieldCode::Invalid, EXCHANGE.into())]
        );
        assert_eq!(
            errors(serde_json::json!({ "simulate": 7, "_links": { "exchange": { "href": 7 } } })),
            [(FieldCode::Invalid, SIMULATE.into()), (FieldCode::Invalid, EXCHANGE.into())]
        );
        assert_eq!(
            errors(serde_json::json!({ "simulate": "reauth-required", "_links": { "exchange": "x" } })),
            [(FieldCode::Invalid, EXCHANGE.into())]
        );
        assert_eq!(
            errors(serde_json::json!({ "simulate": "reauth-required", "_links": "nope" })),
            [(FieldCode::Invalid, "/_links".into())]
        );
    }
}
