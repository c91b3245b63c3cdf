//! The payments routes, one module per resource, and the lookups and query parsing they share.

mod accounts;
mod customers;
mod events;
mod exchanges;
mod funding_sources;
mod micro_deposits;
mod on_demand_authorizations;
mod partners;
mod root;
mod sessions;
mod simulations;
mod subscriptions;
mod transfer_failures;
mod transfers;
mod visa;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::DwollaCode;
use crate::{auth, AppState, DwollaError};

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/", get(root::root))
        .route("/accounts/{id}", get(accounts::retrieve))
        .route("/accounts/{id}/funding-sources", get(accounts::funding_sources))
        .route("/on-demand-authorizations", post(on_demand_authorizations::create))
        .route("/customers", post(customers::create).get(customers::list))
        .route("/customers/{id}", get(customers::retrieve).post(customers::update))
        .route("/exchange-partners", get(partners::list))
        .route("/exchange-partners/{id}", get(partners::retrieve))
        .route("/customers/{id}/exchange-sessions", post(sessions::create))
        .route("/exchange-sessions/{id}", get(sessions::retrieve))
        .route("/exchanges/{id}/exchange-sessions", post(sessions::create_reauth))
        .route("/customers/{id}/available-exchange-connections", get(exchanges::available_connections))
        .route("/customers/{id}/exchanges", post(exchanges::create).get(exchanges::list))
        .route("/exchanges/{id}", get(exchanges::retrieve))
        .route("/customers/{id}/funding-sources", post(funding_sources::create).get(funding_sources::list))
        .route("/funding-sources/{id}", get(funding_sources::retrieve).post(funding_sources::update))
        .route("/funding-sources/{id}/balance", get(funding_sources::balance))
        .route("/funding-sources/{id}/micro-deposits", post(micro_deposits::post).get(micro_deposits::details))
        .route("/transfers", post(transfers::create))
        .route("/transfers/{id}", get(transfers::retrieve).post(transfers::update))
        .route("/transfers/{id}/fees", get(transfers::fees))
        .route("/customers/{id}/transfers", get(transfers::customer_list))
        .route("/accounts/{id}/transfers", get(transfers::account_list))
        .route("/sandbox-simulations", post(simulations::simulate))
        .route("/transfers/{id}/failure", get(transfer_failures::retrieve))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::retrieve))
        .route("/webhook-subscriptions", post(subscriptions::create).get(subscriptions::list))
        .route(
            "/webhook-subscriptions/{id}",
            get(subscriptions::retrieve).post(subscriptions::update).delete(subscriptions::delete),
        )
        .route("/webhook-subscriptions/{id}/webhooks", get(subscriptions::list_webhooks))
        .route("/webhooks/{id}", get(subscriptions::retrieve_webhook))
        .route("/webhooks/{id}/retries", get(subscriptions::list_retries).post(subscriptions::retry))
        .layer(middleware::from_fn(require_hal_accept));
    Router::new()
        .route("/token", post(auth::token))
        .route(crate::visa::CALLBACK_PATH, get(visa::redirect))
        .merge(api)
        .fallback(|| async { DwollaError::not_found("The requested resource was not found.") })
        .method_not_allowed_fallback(|| async {
            DwollaError::new(DwollaCode::MethodNotAllowed, "This method is not allowed on this path.")
        })
}

/// Dwolla answers 406 `InvalidVersion` to an `Accept` that rules out its media type; a missing
/// or generic `Accept` is served.
async fn require_hal_accept(req: Request, next: Next) -> Response {
    if let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let acceptable = accept.split(',').map(|r| r.split(';').next().unwrap_or("").trim()).any(|r| {
            matches!(r, "" | "*/*" | "application/*" | "application/json" | "application/vnd.dwolla.v1.hal+json")
        });
        if !acceptable {
            return DwollaError::new(DwollaCode::InvalidVersion, "Missing or invalid API version.").into_response();
        }
    }
    next.run(req).await
}

/// The decoded `name=value` pairs of a query string, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

/// The `removed` filter of a funding-source list: only removed sources, or only live ones.
pub(crate) fn removed_filter(query: Option<&str>) -> Result<Option<bool>, DwollaError> {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "removed")
        .map(|(_, v)| v.parse::<bool>().map_err(|_| DwollaError::invalid("/removed", "Removed must be true or false.")))
        .transpose()
}

/// `limit` (default `default`, at most `max`) and `offset` from a query.
pub(crate) fn paging(params: &[(String, String)], default: i64, max: i64) -> Result<(i64, i64), DwollaError> {
    let number = |name: &str, fallback: i64| -> Result<i64, DwollaError> {
        match params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()) {
            None | Some("") => Ok(fallback),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                DwollaError::invalid(&format!("/{name}"), format!("{name} must be a non-negative integer."))
            }),
        }
    };
    let limit = number("limit", default)?.clamp(1, max);
    Ok((limit, number("offset", 0)?))
}
