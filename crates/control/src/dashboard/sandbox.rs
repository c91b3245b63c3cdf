//! The overview page: how many rows of each kind the tenant has, and the Reset and Snapshot
//! buttons (the same operations as `POST /_openiav/reset` and `GET /_openiav/snapshot`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use openiav_store::repo::customers::CustomerFilter;
use openiav_store::repo::users::UserFilter;
use openiav_store::repo::{customers, events, mx_webhooks, users, webhooks, PageRequest};

use super::render::{self, escape, Action};
use super::session::{after, failure, Posted, Session};
use super::ROOT;
use crate::{reset, snapshot, AppState, ControlError};

struct Counts {
    users: i64,
    customers: i64,
    events: i64,
    subscriptions: usize,
    mx_webhooks: i64,
}

async fn counts(state: &AppState, session: &Session) -> Result<Counts, ControlError> {
    let tenant = session.tenant;
    let one = PageRequest { page: 1, per_page: 1 };
    Ok(state
        .store
        .read(|mut c| async move {
            Ok(Counts {
                users: users::list(&mut c, tenant, &UserFilter::default(), one).await?.total,
                customers: customers::list(&mut c, tenant, &CustomerFilter::default(), 1, 0).await?.total,
                events: events::list(&mut c, tenant, 1, 0).await?.total,
                subscriptions: webhooks::list_subscriptions(&mut c, tenant).await?.len(),
                mx_webhooks: mx_webhooks::list_webhooks(&mut c, tenant, None, 1, 0).await?.total,
            })
        })
        .await?)
}

/// `GET /_openiav/dashboard`.
pub async fn overview(State(state): State<AppState>, session: Session) -> Response {
    let n = match counts(&state, &session).await {
        Ok(n) => n,
        Err(e) => return failure(e),
    };
    let row = |label: &str, count: String, path: &str| {
        vec![render::link(path, label), format!("<span class=\"count\">{}</span>", escape(&count))]
    };
    let rows = vec![
        row("MX users", n.users.to_string(), "/mx/users"),
        row("MX webhook deliveries", n.mx_webhooks.to_string(), "/mx/webhooks"),
        row("Dwolla customers", n.customers.to_string(), "/dwolla/customers"),
        row("Dwolla events", n.events.to_string(), "/events"),
        row("Dwolla webhook subscriptions", n.subscriptions.to_string(), "/events"),
    ];
    let reset = Action::button("/reset", ROOT, "Reset sandbox data");
    let snapshot = Action::button("/snapshot", ROOT, "Download snapshot");
    let body = format!(
        "<p>Tenant <code>{tenant}</code>.</p>{table}\
         <h2>Sandbox</h2><div class=\"actions\">\
         <section aria-labelledby=\"reset-h\"><h3 id=\"reset-h\">Reset</h3><p>Deletes every row of this tenant's \
         data (users, members, customers, transfers, events, …); credentials, settings and this session stay.</p>{reset}</section>\
         <section aria-labelledby=\"snapshot-h\"><h3 id=\"snapshot-h\">Snapshot</h3><p>Downloads this tenant's data as \
         one JSON document, which <code>POST /_openiav/restore</code> loads back.</p>{snapshot}</section></div>",
        tenant = escape(&session.tenant.to_string()),
        table = render::table("Rows", &["Kind", "Count"], &rows),
        reset = reset.render(&session),
        snapshot = snapshot.render(&session),
    );
    render::page(&session, "", "Overview", &body)
}

/// `POST /_openiav/dashboard/reset`.
pub async fn reset(State(state): State<AppState>, posted: Posted) -> Response {
    let outcome = reset::reset_tenant(&state, posted.session.tenant).await.map(|counts| {
        let total: u64 = counts.0.values().sum();
        format!("Reset: {total} rows deleted.")
    });
    after(&posted.back(), outcome)
}

/// `POST /_openiav/dashboard/snapshot`: the snapshot document as a download.
pub async fn snapshot(State(state): State<AppState>, posted: Posted) -> Response {
    let taken = match snapshot::take(&state, posted.session.tenant).await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let body = serde_json::to_vec(&taken).expect("snapshots serialise");
    let name = format!("openiav-snapshot-{}.json", posted.session.tenant);
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}
