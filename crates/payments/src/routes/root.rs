//! `GET /`: the links an application token opens.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use crate::auth::AppToken;
use crate::hal::{self, Links};
use crate::AppState;

/// The root is nothing but links.
#[derive(Serialize)]
struct RootView {
    #[serde(rename = "_links")]
    links: Links,
}

pub async fn root(State(state): State<AppState>, AppToken(tenant): AppToken) -> Response {
    let base = state.base();
    let links = Links::new()
        .with("self", base, "/", "root")
        .with("account", base, &format!("/accounts/{tenant}"), "account")
        .with("customers", base, "/customers", "customer")
        .with("events", base, "/events", "event")
        .with("exchange-partners", base, "/exchange-partners", "exchange-partner")
        .with("webhook-subscriptions", base, "/webhook-subscriptions", "webhook-subscription");
    hal::ok(&RootView { links })
}
