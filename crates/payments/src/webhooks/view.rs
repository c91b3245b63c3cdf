//! The wire form of webhook subscriptions, webhooks (with their attempts) and retries. Fields
//! are declared in the order these bodies have always had.

use openiav_core::payments::EventTopic;
use openiav_store::records::{WebhookRecord, WebhookRetryRecord, WebhookSubscriptionRecord};
use serde::Serialize;

use super::attempts::{self, Attempt};
use crate::hal::{Collection, Links, Paging};
use crate::DwollaError;

/// One webhook subscription (its secret is never answered).
#[derive(Clone, Debug, Serialize)]
pub struct SubscriptionView {
    #[serde(rename = "_links")]
    links: Links,
    created: String,
    id: String,
    paused: bool,
    url: String,
}

/// Where a subscription lives.
pub fn subscription_path(id: &str) -> String {
    format!("/webhook-subscriptions/{id}")
}

pub fn subscription(base: &str, s: &WebhookSubscriptionRecord) -> SubscriptionView {
    let path = subscription_path(&s.id);
    SubscriptionView {
        links: Links::new().with("self", base, &path, "webhook-subscription").with(
            "webhooks",
            base,
            &format!("{path}/webhooks"),
            "webhook",
        ),
        created: s.created_at.to_rfc3339_millis(),
        id: s.id.clone(),
        paused: s.paused,
        url: s.url.clone(),
    }
}

/// `GET /webhook-subscriptions`.
pub fn subscriptions(base: &str, found: &[WebhookSubscriptionRecord]) -> Collection<SubscriptionView> {
    let links = Links::new().with("self", base, "/webhook-subscriptions", "webhook-subscription");
    Collection::all("webhook-subscriptions", found.iter().map(|s| subscription(base, s)).collect(), links)
}

/// One webhook and its attempts.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    #[serde(rename = "_links")]
    links: Links,
    account_id: String,
    attempts: Vec<Attempt>,
    event_id: String,
    id: String,
    subscription_id: String,
    topic: EventTopic,
}

fn webhook_path(id: &str) -> String {
    format!("/webhooks/{id}")
}

pub fn webhook(base: &str, w: &WebhookRecord) -> Result<WebhookView, DwollaError> {
    let path = webhook_path(&w.id);
    Ok(WebhookView {
        links: Links::new()
            .with("self", base, &path, "webhook")
            .with("subscription", base, &subscription_path(&w.subscription_id), "webhook-subscription")
            .with("retry", base, &format!("{path}/retries"), "retry")
            .with("event", base, &format!("/events/{}", w.event_id), "event"),
        account_id: w.tenant_id.to_string(),
        attempts: attempts::of(w)?,
        event_id: w.event_id.clone(),
        id: w.id.clone(),
        subscription_id: w.subscription_id.clone(),
        topic: w.topic,
    })
}

/// A page of `GET /webhook-subscriptions/{id}/webhooks`; `query` holds the filter's parameters.
pub fn webhooks(
    base: &str,
    subscription_id: &str,
    query: &str,
    found: &[WebhookRecord],
    paging: Paging,
) -> Result<Collection<WebhookView>, DwollaError> {
    let items = found.iter().map(|w| webhook(base, w)).collect::<Result<_, _>>()?;
    let path = format!("{}/webhooks", subscription_path(subscription_id));
    Ok(Collection::page("webhooks", items, Links::paging(base, &path, query, "webhook", paging), paging.total))
}

/// One manual retry.
#[derive(Clone, Debug, Serialize)]
pub struct RetryView {
    #[serde(rename = "_links")]
    links: Links,
    id: String,
    timestamp: String,
}

/// Where a retry lives.
pub fn retry_path(r: &WebhookRetryRecord) -> String {
    format!("{}/retries/{}", webhook_path(&r.webhook_id), r.id)
}

/// `GET /webhooks/{id}/retries`.
pub fn retries(base: &str, webhook_id: &str, found: &[WebhookRetryRecord]) -> Collection<RetryView> {
    let webhook = webhook_path(webhook_id);
    let items = found
        .iter()
        .map(|r| RetryView {
            links: Links::new().with("self", base, &retry_path(r), "retry").with("webhook", base, &webhook, "webhook"),
            id: r.id.clone(),
            timestamp: r.created_at.to_rfc3339_millis(),
        })
        .collect();
    Collection::all("retries", items, Links::new().with("self", base, &format!("{webhook}/retries"), "retry"))
}
