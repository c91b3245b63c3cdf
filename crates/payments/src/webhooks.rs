//! Webhooks: every event fans out to each of the tenant's subscriptions as a webhook written in
//! the event's own transaction, with a durable delivery job; the worker POSTs compact JSON signed
//! with `X-Request-Signature-SHA-256` (hex HMAC-SHA256 of the raw body with the subscription
//! secret), records every attempt, retries on Dwolla's schedule and pauses a subscription after
//! 400 consecutive failures and a day without success. Outbound requests go only to public
//! addresses unless allowed (the sandbox tenant may call loopback). Deliveries run as independent
//! tasks, bounded in all, per tenant and per subscription, so one hung endpoint delays no other.

use hmac::{Hmac, Mac};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{EventRecord, JobRecord, WebhookRecord, WebhookSubscriptionRecord};
use openiav_store::repo::{events, jobs, tenants, webhooks};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AppState;
pub use openiav_outbound::DeliveryConfig;

pub mod attempts;
pub mod rules;
pub mod subscriptions;
pub mod view;

/// The queue deliveries run on (the shared delivery queue).
pub const QUEUE: &str = openiav_outbound::QUEUE;

#[derive(Serialize, Deserialize)]
struct Delivery {
    webhook: String,
    /// A manual retry sends once and schedules nothing further.
    #[serde(default)]
    manual: bool,
}

fn secret_context(s: &WebhookSubscriptionRecord) -> String {
    format!("{}/{}/webhook_secret", s.tenant_id, s.id)
}

/// Encrypts a subscription secret for storage.
pub fn seal_secret(state: &AppState, s: &WebhookSubscriptionRecord, secret: &str) -> Vec<u8> {
    state.keyring.encrypt(&secret_context(s), secret.as_bytes())
}

/// Hex HMAC-SHA256 of `body` keyed with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Queues a delivery; its subject is the subscription, which the worker bounds concurrency by.
async fn enqueue(
    conn: &mut Conn,
    tenant: TenantId,
    subscription: &str,
    webhook: &str,
    manual: bool,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&Delivery { webhook: webhook.to_owned(), manual }).expect("payload serialises");
    jobs::enqueue(conn, tenant, QUEUE, subscription, &payload, at, now).await?;
    Ok(())
}

/// Writes a webhook of `event` for each of the tenant's subscriptions (inside the event's
/// transaction) and queues the deliveries of the active ones.
pub async fn fan_out(conn: &mut Conn, event: &EventRecord, body: &str) -> Result<bool, StoreError> {
    let subscriptions = webhooks::list_subscriptions(conn, event.tenant_id).await?;
    let mut queued = false;
    for s in subscriptions {
        let webhook = WebhookRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: event.tenant_id,
            subscription_id: s.id.clone(),
            event_id: event.id.clone(),
            topic: event.topic,
            body: body.to_owned(),
            attempts: attempts::encode(&[]),
            created_at: event.created_at,
        };
        webhooks::insert_webhook(conn, &webhook).await?;
        if !s.paused {
            enqueue(conn, event.tenant_id, &s.id, &webhook.id, false, event.created_at, event.created_at).await?;
            queued = true;
        }
    }
    Ok(queued)
}

/// Queues a manual retry of a webhook.
pub async fn retry(conn: &mut Conn, webhook: &WebhookRecord, now: Timestamp) -> Result<(), StoreError> {
    enqueue(conn, webhook.tenant_id, &webhook.subscription_id, &webhook.id, true, now, now).await
}

/// Delivers one claimed job and records the attempt.
async fn deliver(state: &AppState, config: &DeliveryConfig, job: JobRecord) -> Result<(), StoreError> {
    let Ok(delivery) = serde_json::from_str::<Delivery>(&job.payload) else {
        tracing::error!(job.seq = job.seq, "dropping a webhook job whose payload cannot be read");
        return openiav_outbound::worker::complete(&state.store, job.seq).await;
    };
    let tenant = job.tenant_id;
    let id = delivery.webhook.clone();
    let found = state
        .store
        .read(|mut c| async move {
            let Some(webhook) = webhooks::find_webhook(&mut c, tenant, &id).await? else { return Ok(None) };
            let sub = webhooks::find_subscription(&mut c, tenant, &webhook.subscription_id).await?;
            let sandbox = tenants::get(&mut c, tenant).await?.is_sandbox;
            let fired = events::fired_at(&mut c, tenant, &webhook.event_id).await?.is_some();
            Ok(sub.map(|s| (webhook, s, sandbox, fired)))
        })
        .await?;
    let Some((webhook, subscription, sandbox, fired)) = found.filter(|(_, s, _, _)| !s.paused) else {
        // Deleted, or paused: paused subscriptions keep their webhooks unsent.
        return state.store.write(move |c| Box::pin(async move { jobs::complete(c, job.seq).await })).await;
    };
    let secret = state
        .keyring
        .decrypt(&secret_context(&subscription), &subscription.secret)
        .map_err(|e| StoreError::Corrupt(format!("decrypting a webhook secret: {e}")))?;
    let mut headers = vec![
        ("Content-Type", "application/json; charset=UTF-8".to_owned()),
        ("User-Agent", "dwolla-webhooks/1.0 (openiav)".to_owned()),
        ("X-Dwolla-Topic", webhook.topic.to_string()),
        ("X-Request-Signature-SHA-256", signature(&secret, webhook.body.as_bytes())),
    ];
    // The body stays Dwolla's own; only this header tells a fired event from a raised one.
    if fired {
        headers.push(("X-Openiav-Fired", "true".to_owned()));
    }
    let now = state.now(tenant).await?;
    let outcome =
        openiav_outbound::send(&subscription.url, sandbox, config, &headers, |_, v| v.to_owned(), &webhook.body, now)
            .await;
    // The attempt is recorded on the rows as they stand now: other deliveries of the same
    // subscription (or a manual retry of the same webhook) may have finished meanwhile.
    let (webhook_id, subscription_id) = (webhook.id.clone(), subscription.id.clone());
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut webhook) = webhooks::find_webhook_for_update(c, tenant, &webhook_id).await? else {
                    return jobs::complete(c, job.seq).await;
                };
                let mut attempts = attempts::of(&webhook)?;
                // The retry this failure schedules is the n-th, n being the attempts made before it.
                let made = attempts.len();
                attempts.push(outcome.attempt);
                webhook.attempts = attempts::encode(&attempts);
                webhooks::save_webhook(c, &webhook).await?;
                if let Some(mut subscription) =
                    webhooks::find_subscription_for_update(c, tenant, &subscription_id).await?
                {
                    if rules::count_outcome(&mut subscription, outcome.success, now) {
                        tracing::warn!(subscription.id = %subscription.id, "pausing a webhook subscription after repeated failures");
                    }
                    webhooks::save_subscription(c, &subscription).await?;
                }
                match rules::next_retry_at(made, outcome.success, delivery.manual, now) {
                    Some(at) => jobs::retry_at(c, job.seq, at).await,
                    None => jobs::complete(c, job.seq).await,
                }
            })
        })
        .await
}

/// Dwolla's webhooks as a kind of delivery of the shared worker ([`openiav_outbound::worker`]).
struct Dwolla {
    state: AppState,
    config: DeliveryConfig,
}

impl openiav_outbound::worker::Kind for Dwolla {
    fn vendor(&self) -> &'static str {
        "dwolla"
    }

    fn takes(&self, job: &JobRecord) -> bool {
        serde_json::from_str::<Delivery>(&job.payload).is_ok()
    }

    fn deliver(&self, job: JobRecord) -> futures::future::BoxFuture<'static, Result<(), StoreError>> {
        let (state, config) = (self.state.clone(), self.config.clone());
        Box::pin(async move { deliver(&state, &config, job).await })
    }
}

/// Dwolla's deliveries, for the shared delivery worker to run.
pub fn delivery_kind(state: AppState, config: DeliveryConfig) -> std::sync::Arc<dyn openiav_outbound::worker::Kind> {
    std::sync::Arc::new(Dwolla { state, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
