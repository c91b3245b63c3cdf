//! The Connect widget openiav serves at its widget URLs: the page and its assets (no CDN), the
//! session-bound API the page calls, and MX's post-message protocol (version 4), which the
//! page's script speaks to the embedding window.
//!
//! Opening a widget URL spends it and starts a session bound to the URL's tenant and user. The
//! page carries the session token and sends it in a header on every API call: a cross-site form
//! or script can neither read it nor send that header (no CORS on these routes), which is what
//! keeps other sites from acting in the session.

mod api;
mod assets;
mod page;
mod session;
mod view;

use axum::routing::{get, post, put};
use axum::Router;
use openiav_aggregation::widget_url::WIDGET_PATH;
use openiav_aggregation::AppState;

pub use view::widget_message;

/// The widget's routes, served on the aggregation listener.
pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/institutions", get(api::institutions))
        .route("/institutions/{code}", get(api::institution))
        .route("/members", post(api::connect))
        .route("/members/{member}", get(api::member))
        .route("/members/{member}/answers", put(api::answer))
        .route("/members/{member}/oauth_window", post(api::oauth_window))
        .route("/micro_deposits", post(api::micro_deposit));
    Router::new()
        .route(&format!("{WIDGET_PATH}/{{token}}"), get(page::open))
        .route(&format!("{WIDGET_PATH}/assets/{{file}}"), get(assets::serve))
        .nest(&format!("{WIDGET_PATH}/api"), api)
}
