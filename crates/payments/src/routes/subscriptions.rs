//! `/webhook-subscriptions` (create, list, retrieve, pause/unpause, delete, its webhooks) and
//! `/webhooks/{id}` with its retries.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{WebhookRecord, WebhookRetryRecord, WebhookSubscriptionRecord};
use openiav_store::repo::webhooks::WebhookFilter;
use openiav_store::repo::{tenants, webhooks as repo};
use serde_json::{json, Value};

use super::{find_or_404, paging};
use crate::auth::AppToken;
use crate::body::{is_http_url, DwollaJson};
use crate::error::{DwollaCode, FieldCode, FieldError};
use crate::hal::{self, link};
use crate::idempotency::{self, Answer, Idempotency};
use crate::webhooks;
use crate::{AppState, DwollaError};

/// Subscriptions a tenant may hold (Dwolla: 10 in the sandbox, 5 in production).
const SANDBOX_LIMIT: usize = 10;
const LIMIT: usize = 5;
const SUBSCRIPTION_NOT_FOUND: &str = "Webhook subscription not found.";

fn render(base: &str, s: &WebhookSubscriptionRecord) -> Value {
    let path = format!("/webhook-subscriptions/{}", s.id);
    json!({
        "_links": {
            "self": link(base, &path, "webhook-subscription"),
            "webhooks": link(base, &format!("{path}/webhooks"), "webhook"),
        },
        "id": s.id,
        "url": s.url,
        "paused": s.paused,
        "created": s.created_at.to_rfc3339_millis(),
    })
}

fn render_webhook(base: &str, w: &WebhookRecord) -> Value {
    let path = format!("/webhooks/{}", w.id);
    let attempts: Value = serde_json::from_str(&w.attempts).unwrap_or_else(|_| json!([]));
    json!({
        "_links": {
            "self": link(base, &path, "webhook"),
            "subscription": link(base, &format!("/webhook-subscriptions/{}", w.subscription_id), "webhook-subscription"),
            "retry": link(base, &format!("{path}/retries"), "retry"),
            "event": link(base, &format!("/events/{}", w.event_id), "event"),
        },
        "id": w.id,
        "topic": w.topic,
        "accountId": w.tenant_id.to_string(),
        "eventId": w.event_id,
        "subscriptionId": w.subscription_id,
        "attempts": attempts,
    })
}

async fn subscription_of(
    state: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<WebhookSubscriptionRecord, DwollaError> {
    find_or_404(state, id, SUBSCRIPTION_NOT_FOUND, |mut c, id| async move {
        repo::find_subscription(&mut c, tenant, &id).await
    })
    .await
}

async fn webhook_of(state: &AppState, tenant: TenantId, id: &str) -> Result<WebhookRecord, DwollaError> {
    find_or_404(
        state,
        id,
        "Webhook not found.",
        |mut c, id| async move { repo::find_webhook(&mut c, tenant, &id).await },
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let mut errors = Vec::new();
    let url = body.get("url").and_then(Value::as_str).map(str::trim).unwrap_or_default().to_owned();
    if !is_http_url(&url) {
        errors.push(FieldError::new(FieldCode::InvalidFormat, "/url", "Url must be a valid url."));
    }
    let secret = body.get("secret").and_then(Value::as_str).unwrap_or_default().to_owned();
    if secret.is_empty() {
        errors.push(FieldError::required("/secret", "Secret required."));
    } else if secret.chars().count() > 128 {
        errors.push(FieldError::new(FieldCode::InvalidFormat, "/secret", "Secret must be 128 or fewer characters."));
    }
    if !errors.is_empty() {
        return Err(DwollaError::validation(errors));
    }
    let mut record = WebhookSubscriptionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        url,
        secret: Vec::new(),
        paused: false,
        consecutive_failures: 0,
        last_success_at: None,
        created_at: state.clock.now(),
    };
    record.secret = webhooks::seal_secret(&state, &record, &secret);
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            // Concurrent creates take turns on the tenant's row, so the count stays true.
            let limit = if tenants::get_for_update(c, tenant).await?.is_sandbox { SANDBOX_LIMIT } else { LIMIT };
            if repo::list_subscriptions(c, tenant).await?.len() >= limit {
                return Ok(Err(DwollaError::new(
                    DwollaCode::MaxNumberOfResources,
                    "The maximum number of subscriptions has been reached.",
                )));
            }
            repo::insert_subscription(c, &record).await?;
            Ok(Ok(Answer::created(&base, &format!("/webhook-subscriptions/{}", record.id))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn list(State(state): State<AppState>, AppToken(tenant): AppToken) -> Result<Response, DwollaError> {
    let found = state.store.read(|mut c| async move { repo::list_subscriptions(&mut c, tenant).await }).await?;
    let base = state.base();
    let list: Vec<Value> = found.iter().map(|s| render(base, s)).collect();
    Ok(hal::ok(&json!({
        "_links": { "self": link(base, "/webhook-subscriptions", "webhook-subscription") },
        "_embedded": { "webhook-subscriptions": list },
        "total": list.len(),
    })))
}

pub async fn retrieve(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(hal::ok(&render(state.base(), &subscription_of(&state, tenant, &id).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
    DwollaJson(body): DwollaJson<Value>,
) -> Result<Response, DwollaError> {
    let paused = body
        .get("paused")
        .and_then(Value::as_bool)
        .ok_or_else(|| DwollaError::invalid("/paused", "Paused must be true or false."))?;
    let id = id.to_ascii_lowercase();
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            let Some(mut sub) = repo::find_subscription_for_update(c, tenant, &id).await? else {
                return Ok(Err(DwollaError::not_found(SUBSCRIPTION_NOT_FOUND)));
            };
            sub.paused = paused;
            if !paused {
                // Unpausing starts a fresh count; missed webhooks are retried by hand, as on Dwolla.
                sub.consecutive_failures = 0;
            }
            repo::save_subscription(c, &sub).await?;
            Ok(Ok(Answer::ok(&render(&base, &sub))))
        })
    })
    .await??;
    Ok(answer.into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let sub = subscription_of(&state, tenant, &id).await?;
    let sid = sub.id.clone();
    state.store.write(move |c| Box::pin(async move { repo::delete_subscription(c, tenant, &sid).await })).await?;
    Ok(hal::ok(&render(state.base(), &sub)))
}

pub async fn list_webhooks(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DwollaError> {
    let sub = subscription_of(&state, tenant, &id).await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    let (limit, offset) = paging(&params, 25, 200)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = WebhookFilter {
        since: get("startDate").map(|d| parse_date(&d, "/startDate", false)).transpose()?,
        until: get("endDate").map(|d| parse_date(&d, "/endDate", true)).transpose()?,
        resource_id: get("resourceId").map(|r| r.to_ascii_lowercase()),
    };
    let mut kept: Vec<String> = Vec::new();
    for (k, v) in &params {
        if matches!(k.as_str(), "startDate" | "endDate" | "resourceId") {
            kept.push(url::form_urlencoded::Serializer::new(String::new()).append_pair(k, v).finish());
        }
    }
    let sid = sub.id.clone();
    let page = state
        .store
        .read(|mut c| async move { repo::list_webhooks(&mut c, tenant, &sid, &filter, limit, offset).await })
        .await?;
    let base = state.base();
    let list: Vec<Value> = page.items.iter().map(|w| render_webhook(base, w)).collect();
    let path = format!("/webhook-subscriptions/{}/webhooks", sub.id);
    Ok(hal::ok(&json!({
        "_links": hal::Links::paging(base, &path, &kept.join("&"), "webhook", hal::Paging { limit, offset, total: page.total }),
        "_embedded": { "webhooks": list },
        "total": page.total,
    })))
}

/// A `startDate`/`endDate` bound: an RFC 3339 time, or a `YYYY-MM-DD` day (its start, or with
/// `end_of_day` its last millisecond).
fn parse_date(value: &str, path: &str, end_of_day: bool) -> Result<Timestamp, DwollaError> {
    let invalid =
        || DwollaError::invalid(path, format!("{} must be a date (YYYY-MM-DD) or an ISO-8601 time.", &path[1..]));
    if let Ok(t) = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Ok(Timestamp::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64));
    }
    let day =
        time::Date::parse(value, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| invalid())?;
    let start = day.midnight().assume_utc().unix_timestamp() * 1000;
    Ok(Timestamp::from_millis(if end_of_day { start + 86_400_000 - 1 } else { start }))
}

pub async fn retrieve_webhook(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    Ok(hal::ok(&render_webhook(state.base(), &webhook_of(&state, tenant, &id).await?)))
}

pub async fn list_retries(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let webhook = webhook_of(&state, tenant, &id).await?;
    let wid = webhook.id.clone();
    let retries = state.store.read(|mut c| async move { repo::list_retries(&mut c, tenant, &wid).await }).await?;
    let base = state.base();
    let path = format!("/webhooks/{}", webhook.id);
    let list: Vec<Value> = retries
        .iter()
        .map(|r| {
            json!({
                "_links": {
                    "self": link(base, &format!("{path}/retries/{}", r.id), "retry"),
                    "webhook": link(base, &path, "webhook"),
                },
                "id": r.id,
                "timestamp": r.created_at.to_rfc3339_millis(),
            })
        })
        .collect();
    Ok(hal::ok(&json!({
        "_links": { "self": link(base, &format!("{path}/retries"), "retry") },
        "_embedded": { "retries": list },
        "total": list.len(),
    })))
}

pub async fn retry(
    State(state): State<AppState>,
    AppToken(tenant): AppToken,
    idempotency: Idempotency,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let webhook = webhook_of(&state, tenant, &id).await?;
    let now = state.clock.now();
    let record = WebhookRetryRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        webhook_id: webhook.id.clone(),
        created_at: now,
    };
    let location = format!("/webhooks/{}/retries/{}", webhook.id, record.id);
    let base = state.base().to_owned();
    let answer = idempotency::write(&state, idempotency, move |c| {
        Box::pin(async move {
            repo::insert_retry(c, &record).await?;
            webhooks::retry(c, &webhook, now).await?;
            Ok(Ok(Answer::created(&base, &location)))
        })
    })
    .await??;
    Ok(answer.into_response())
}
