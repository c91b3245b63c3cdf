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
use serde::Deserialize;

use crate::AppState;

/// Where the dashboard lives.
pub const ROOT: &str = "/_openiav/dashboard";

/// How many rows a table shows (a page, newest first).
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
        .route(&r("/dwolla/account"), get(dwolla::account))
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
        .layer(axum::middleware::from_fn(render::security_headers))
}

/// `?page=N` of a dashboard list shown newest first: page 1 is the newest `MAX_ROWS`. Anything
/// that is not a page number reads as the first page.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    #[serde(deserialize_with = "lenient_page")]
    page: Option<i64>,
}

fn lenient_page<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.and_then(|t| t.trim().parse().ok()))
}

impl PageQuery {
    pub fn number(self) -> i64 {
        self.page.unwrap_or(1).clamp(1, i64::MAX / MAX_ROWS)
    }

    /// Where this page starts in a list the store gives newest first.
    pub fn newest_first_offset(self) -> i64 {
        (self.number() - 1) * MAX_ROWS
    }

    /// The offset and length of this page in a list of `total` rows the store gives oldest
    /// first (read, then reversed, to show newest first).
    pub fn oldest_first_window(self, total: i64) -> (i64, i64) {
        let end = (total - self.newest_first_offset()).max(0);
        let start = (end - MAX_ROWS).max(0);
        (start, end - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: Option<i64>) -> PageQuery {
        PageQuery { page: n }
    }

    #[test]
    fn pages_count_from_the_newest_rows_back() {
        assert_eq!(page(None).number(), 1);
        assert_eq!(page(Some(0)).number(), 1, "no page before the first");
        assert_eq!((page(None).newest_first_offset(), page(Some(3)).newest_first_offset()), (0, 2 * MAX_ROWS));
        // 250 rows oldest first: the newest 100 are 150..250, then 50..150, then 0..50, then none.
        assert_eq!(page(Some(1)).oldest_first_window(250), (150, 100));
        assert_eq!(page(Some(2)).oldest_first_window(250), (50, 100));
        assert_eq!(page(Some(3)).oldest_first_window(250), (0, 50));
        assert_eq!(page(Some(4)).oldest_first_window(250), (0, 0));
        assert_eq!(page(Some(i64::MAX)).oldest_first_window(250), (0, 0), "no overflow");
        let parsed: PageQuery = serde_json::from_str(r#"{"page":"x"}"#).unwrap();
        assert_eq!(parsed.number(), 1, "not a number: the first page");
    }
}
