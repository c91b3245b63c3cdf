//! The delivery pages: Dwolla events and their webhooks with every attempt (status, time,
//! response code) and a Retry button (the operation behind `POST /webhooks/{id}/retries`), and
//! the MX webhook deliveries with theirs.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use openiav_payments::webhooks::attempts::Attempt;
use openiav_payments::webhooks::subscriptions;
use openiav_store::records::{EventRecord, WebhookRecord, WebhookSubscriptionRecord};
use openiav_store::repo::webhooks::WebhookFilter;
use openiav_store::repo::{events as events_repo, mx_webhooks as mx_repo, webhooks};

use super::render::{self, code, escape, Action};
use super::session::{after, failure, Posted, Session};
use super::{PageQuery, MAX_ROWS, ROOT};
use crate::force::from_dwolla;
use crate::{AppState, ControlError};

/// Every attempt of a delivery, oldest first: when, to where, and the answer's status code.
fn attempts_list(stored: &str) -> String {
    let attempts: Vec<Attempt> = serde_json::from_str(stored).unwrap_or_default();
    if attempts.is_empty() {
        return "<span class=\"muted\">no attempt yet</span>".to_owned();
    }
    let items: String = attempts
        .iter()
        .map(|a| {
            let code = a.response.status_code;
            let class = if (200..300).contains(&code) { "ok" } else { "failed" };
            let shown = if code == 0 { "no answer".to_owned() } else { code.to_string() };
            format!(
                "<li class=\"attempt\"><span class=\"code {class}\">{}</span> <time>{}</time></li>",
                escape(&shown),
                escape(&a.request.timestamp)
            )
        })
        .collect();
    format!("<ol class=\"attempts\">{items}</ol>")
}

fn event_row(e: &EventRecord) -> Vec<String> {
    vec![
        code(&e.id),
        escape(e.topic.as_str()),
        escape(e.resource_type.as_str()),
        code(&e.resource_id),
        escape(&e.created_at.to_rfc3339_millis()),
    ]
}

fn webhook_row(session: &Session, w: &WebhookRecord, subs: &[WebhookSubscriptionRecord]) -> Vec<String> {
    let url = subs.iter().find(|s| s.id == w.subscription_id).map(|s| s.url.as_str()).unwrap_or_default();
    let back = format!("{ROOT}/events");
    let retry = Action::button(format!("/webhooks/{}/retry", w.id), &back, "Retry");
    vec![
        code(&w.id),
        escape(w.topic.as_str()),
        code(&w.event_id),
        escape(url),
        escape(&w.created_at.to_rfc3339_millis()),
        attempts_list(&w.attempts),
        retry.render(session),
    ]
}

/// `GET /_openiav/dashboard/events`.
pub async fn events(State(state): State<AppState>, session: Session, Query(page): Query<PageQuery>) -> Response {
    let tenant = session.tenant;
    let found = state
        .store
        .read(|mut c| async move {
            let evs = events_repo::list(&mut c, tenant, MAX_ROWS, page.newest_first_offset()).await?;
            let subs = webhooks::list_subscriptions(&mut c, tenant).await?;
            let mut hooks = Vec::new();
            for s in &subs {
                let page =
                    webhooks::list_webhooks(&mut c, tenant, &s.id, &WebhookFilter::default(), MAX_ROWS, 0).await?;
                hooks.extend(page.items);
            }
            Ok((evs, subs, hooks))
        })
        .await;
    let (evs, subs, mut hooks) = match found {
        Ok(found) => found,
        Err(e) => return failure(e.into()),
    };
    hooks.sort_by_key(|w| std::cmp::Reverse(w.created_at));
    hooks.truncate(MAX_ROWS as usize);
    let event_rows: Vec<Vec<String>> = evs.items.iter().map(event_row).collect();
    let hook_rows: Vec<Vec<String>> = hooks.iter().map(|w| webhook_row(&session, w, &subs)).collect();
    let sub_rows: Vec<Vec<String>> = subs
        .iter()
        .map(|s| {
            vec![
                code(&s.id),
                escape(&s.url),
                escape(if s.paused { "yes" } else { "no" }),
                escape(&s.consecutive_failures.to_string()),
            ]
        })
        .collect();
    let body = format!(
        "{subs}{hooks}{pager}{events}",
        pager = render::pager("/events", "events", page, evs.total),
        subs = render::table("Webhook subscriptions", &["Id", "URL", "Paused", "Failures in a row"], &sub_rows),
        hooks = render::table(
            "Webhook deliveries",
            &["Id", "Topic", "Event", "URL", "Created", "Attempts", "Actions"],
            &hook_rows
        ),
        events = render::table("Events", &["Id", "Topic", "Resource", "Resource id", "Created"], &event_rows),
    );
    render::page(&session, "/events", "Events and webhooks", &body)
}

/// `POST /_openiav/dashboard/webhooks/{id}/retry`.
pub async fn retry(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let tenant = posted.session.tenant;
    let (target, payments) = (id.clone(), state.payments.clone());
    let done = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = payments.now_in(c, tenant).await?;
                subscriptions::retry(c, tenant, &target, now).await
            })
        })
        .await
        .map_err(ControlError::from)
        .and_then(|r| r.map_err(|e| from_dwolla(e, "webhook")))
        .map(|r| format!("Retry {} of webhook {} queued.", r.id, r.webhook_id));
    after(&posted.back(), done)
}

/// `GET /_openiav/dashboard/mx/webhooks`.
pub async fn mx_webhooks(State(state): State<AppState>, session: Session, Query(paging): Query<PageQuery>) -> Response {
    let tenant = session.tenant;
    let found = state
        .store
        .read(|mut c| async move {
            let page = mx_repo::list_webhooks(&mut c, tenant, None, MAX_ROWS, paging.newest_first_offset()).await?;
            let endpoints = mx_repo::list_endpoints(&mut c, tenant).await?;
            Ok((page, endpoints))
        })
        .await;
    let (page, endpoints) = match found {
        Ok(found) => found,
        Err(e) => return failure(e.into()),
    };
    let endpoint_rows: Vec<Vec<String>> = endpoints
        .iter()
        .map(|e| {
            let kind = e.webhook_type.map(|t| t.as_str()).unwrap_or("all types");
            vec![escape(kind), escape(&e.url)]
        })
        .collect();
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|w| {
            vec![
                code(&w.guid),
                escape(w.webhook_type.as_str()),
                escape(&w.url),
                escape(&w.created_at.to_rfc3339_millis()),
                attempts_list(&w.attempts),
            ]
        })
        .collect();
    let body = format!(
        "{endpoints}{pager}{deliveries}",
        pager = render::pager("/mx/webhooks", "MX webhooks", paging, page.total),
        endpoints = render::table("Endpoints", &["Type", "URL"], &endpoint_rows),
        deliveries = render::table("Deliveries", &["Guid", "Type", "URL", "Created", "Attempts"], &rows),
    );
    render::page(&session, "/mx/webhooks", "MX webhook deliveries", &body)
}
