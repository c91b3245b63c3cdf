//! The sandbox dashboard at `/_openiav/dashboard`: server-rendered pages (no script, one
//! same-origin stylesheet, a strict CSP) over the tenant's data, logged in with the tenant's own
//! credentials, whose action forms call the same control-plane operations as the JSON routes.

pub mod dwolla;
pub mod events;
pub mod mx;
pub mod ops;
pub mod render;
pub mod sandbox;
pub mod session;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// Where the dashboard lives.
pub const ROOT: &str = "/_openiav/dashboard";

/// How many rows a table shows (the newest).
pub const MAX_ROWS: i64 = 100;

pub fn routes() -> Router<AppState> {
    let r = |path: &str| format!("{ROOT}{path}");
    Router::new()
        .route(ROOT, get(sandbox::overview))
        .route(&r("/"), get(sandbox::overview))
        .route(&r("/assets/style.css"), get(render::stylesheet))
        .route(&r("/login"), get(session::login_page).post(session::login))
        .route(&r("/logout"), post(session::logout))
        .route(&r("/reset"), post(sandbox::reset))
        .route(&r("/snapshot"), post(sandbox::snapshot))
        .route(&r("/mx/users"), get(mx::users))
        .route(&r("/mx/users/{guid}"), get(mx::user))
        .route(&r("/mx/members/{guid}/force"), post(mx::force_member))
        .route(&r("/mx/micro-deposits/{guid}/force"), post(mx::force_micro_deposit))
        .route(&r("/mx/fire"), post(mx::fire))
        .route(&r("/mx/webhooks"), get(events::mx_webhooks))
        .route(&r("/dwolla/customers"), get(dwolla::customers))
        .route(&r("/dwolla/customers/{id}"), get(dwolla::customer))
        .route(&r("/dwolla/customers/{id}/force"), post(dwolla::force_customer))
        .route(&r("/dwolla/funding-sources/{id}/force"), post(dwolla::force_funding_source))
        .route(&r("/dwolla/funding-sources/{id}/micro-deposits/force"), post(dwolla::force_micro_deposits))
        .route(&r("/dwolla/transfers/{id}/force"), post(dwolla::force_transfer))
        .route(&r("/dwolla/fire"), post(dwolla::fire))
        .route(&r("/events"), get(events::events))
        .route(&r("/webhooks/{id}/retry"), post(events::retry))
        .route(&r("/clock"), get(ops::clock_page))
        .route(&r("/clock/advance"), post(ops::advance))
        .route(&r("/clock/freeze"), post(ops::freeze))
        .route(&r("/clock/release"), post(ops::release))
        .route(&r("/faults"), get(ops::faults_page).post(ops::add_fault))
        .route(&r("/faults/{id}/remove"), post(ops::remove_fault))
        .route(&r("/journal"), get(ops::journal_page))
        .layer(axum::middleware::map_response(render::security_headers))
}

/// The newest `MAX_ROWS` of a list the store gives oldest first: the offset of its last page.
pub(crate) fn last_page_offset(total: i64) -> i64 {
    (total - MAX_ROWS).max(0)
}
