//! `GET /`: the links an application token opens.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::auth::AppToken;
use crate::hal::{self, link};
use crate::AppState;

pub async fn root(State(state): State<AppState>, AppToken(tenant): AppToken) -> Response {
    let base = state.base();
    hal::ok(&json!({ "_links": {
        "self": link(base, "/", "root"),
        "account": link(base, &format!("/accounts/{tenant}"), "account"),
        "customers": link(base, "/customers", "customer"),
        "events": link(base, "/events", "event"),
        "exchange-partners": link(base, "/exchange-partners", "exchange-partner"),
        "webhook-subscriptions": link(base, "/webhook-subscriptions", "webhook-subscription"),
    }}))
}
