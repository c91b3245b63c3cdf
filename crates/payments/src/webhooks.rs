//! Webhooks: every event fans out to each of the tenant's subscriptions as a webhook written in
//! the event's own transaction, with a durable delivery job; the worker POSTs compact JSON signed
//! with `X-Request-Signature-SHA-256` (hex HMAC-SHA256 of the raw body with the subscription
//! secret), records every attempt, retries on Dwolla's schedule and pauses a subscription after
//! 400 consecutive failures and a day without success. Outbound requests go only to public
//! addresses unless allowed (the sandbox tenant may call loopback). Deliveries run as independent
//! tasks, bounded in all, per tenant and per subscription, so one hung endpoint delays no other.

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{EventRecord, JobRecord, WebhookRecord, WebhookSubscriptionRecord};
use openiav_store::repo::{jobs, tenants, webhooks};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AppState;
use attempts::{Attempt, AttemptRequest, AttemptResponse, Header};

pub mod attempts;
mod outbound;
pub mod rules;
mod scheduler;
pub mod subscriptions;
pub mod view;

/// The queue deliveries run on.
pub const QUEUE: &str = "webhooks";
/// How long a subscriber has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim is leased (well over the 10-second timeout).
const LEASE_MS: i64 = 60_000;
/// The most of a subscriber's answer that is kept.
const KEPT_RESPONSE_BYTES: usize = 4096;

/// Settings of outbound delivery.
#[derive(Clone, Debug, Default)]
pub struct DeliveryConfig {
    /// Hosts or IP addresses webhooks may reach even when they are private or loopback.
    pub allowlist: Vec<String>,
}

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

/// What one attempt came to.
struct Outcome {
    success: bool,
    attempt: Attempt,
}

/// Sends one webhook (no redirects, 10-second timeout) to an address checked against the rules.
async fn send(
    url: &str,
    sandbox: bool,
    config: &DeliveryConfig,
    headers: &[(&str, String)],
    body: &str,
    now: Timestamp,
) -> Outcome {
    let timestamp = now.to_rfc3339_millis();
    let request = AttemptRequest {
        body: body.to_owned(),
        headers: headers.iter().map(|(n, v)| Header::new(*n, v.as_str())).collect(),
        timestamp: timestamp.clone(),
        url: url.to_owned(),
    };
    let attempt = |response: AttemptResponse| Attempt {
        id: uuid::Uuid::new_v4().to_string(),
        request: request.clone(),
        response,
    };
    let failed = |reason: String| Outcome {
        success: false,
        attempt: attempt(AttemptResponse {
            body: reason,
            headers: Vec::new(),
            status_code: 0,
            timestamp: timestamp.clone(),
        }),
    };
    let Ok(parsed) = url::Url::parse(url) else { return failed("invalid URL".into()) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return failed("invalid URL".into());
    }
    let (Some(host), Some(port)) = (parsed.host_str().map(str::to_owned), parsed.port_or_known_default()) else {
        return failed("invalid URL".into());
    };
    let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((bare_host.as_str(), port)).await {
        Ok(found) => found.collect(),
        Err(e) => return failed(format!("could not resolve {host}: {e}")),
    };
    let Some(addr) = addresses.into_iter().find(|a| rules::address_allowed(a.ip(), &bare_host, sandbox, config)) else {
        return failed(format!("{host} resolves only to addresses webhooks may not reach"));
    };
    // The vetted address is the one connected to, so a second DNS answer cannot redirect the request.
    let sent =
        tokio::time::timeout(TIMEOUT, outbound::post(&parsed, addr, headers, body.as_bytes(), KEPT_RESPONSE_BYTES));
    let resp = match sent.await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => return failed(e.to_string()),
        Err(_) => return failed("timed out after 10 seconds".into()),
    };
    let response = AttemptResponse {
        body: kept_text(resp.body),
        headers: resp.headers.iter().map(|(n, v)| Header::new(n.as_str(), v.as_str())).collect(),
        status_code: resp.status,
        timestamp: timestamp.clone(),
    };
    Outcome { success: (200..300).contains(&resp.status), attempt: attempt(response) }
}

/// The body as text, cut to at most `KEPT_RESPONSE_BYTES` on a character boundary.
fn kept_text(mut body: Vec<u8>) -> String {
    body.truncate(KEPT_RESPONSE_BYTES);
    // A character cut off at the end of what was read is dropped, not replaced.
    if let Err(e) = std::str::from_utf8(&body) {
        if e.error_len().is_none() {
            body.truncate(e.valid_up_to());
        }
    }
    let mut text = String::from_utf8_lossy(&body).into_owned();
    let mut cut = text.len().min(KEPT_RESPONSE_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

/// Delivers one claimed job and records the attempt.
async fn deliver(state: &AppState, config: &DeliveryConfig, job: JobRecord) -> Result<(), StoreError> {
    let Ok(delivery) = serde_json::from_str::<Delivery>(&job.payload) else {
        tracing::error!(job.seq = job.seq, "dropping a webhook job whose payload cannot be read");
        return state.store.write(move |c| Box::pin(async move { jobs::complete(c, job.seq).await })).await;
    };
    let tenant = job.tenant_id;
    let id = delivery.webhook.clone();
    let found = state
        .store
        .read(|mut c| async move {
            let Some(webhook) = webhooks::find_webhook(&mut c, tenant, &id).await? else { return Ok(None) };
            let sub = webhooks::find_subscription(&mut c, tenant, &webhook.subscription_id).await?;
            let sandbox = tenants::get(&mut c, tenant).await?.is_sandbox;
            Ok(sub.map(|s| (webhook, s, sandbox)))
        })
        .await?;
    let Some((webhook, subscription, sandbox)) = found.filter(|(_, s, _)| !s.paused) else {
        // Deleted, or paused: paused subscriptions keep their webhooks unsent.
        return state.store.write(move |c| Box::pin(async move { jobs::complete(c, job.seq).await })).await;
    };
    let secret = state
        .keyring
        .decrypt(&secret_context(&subscription), &subscription.secret)
        .map_err(|e| StoreError::Corrupt(format!("decrypting a webhook secret: {e}")))?;
    let headers = [
        ("Content-Type", "application/json; charset=UTF-8".to_owned()),
        ("User-Agent", "dwolla-webhooks/1.0 (openiav)".to_owned()),
        ("X-Dwolla-Topic", webhook.topic.to_string()),
        ("X-Request-Signature-SHA-256", signature(&secret, webhook.body.as_bytes())),
    ];
    let now = state.clock.now();
    let outcome = send(&subscription.url, sandbox, config, &headers, &webhook.body, now).await;
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

/// Runs the delivery worker until `shutdown` resolves.
pub async fn run(state: AppState, config: DeliveryConfig, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let wake = state.store.jobs_ready();
    let mut pool = scheduler::Pool::default();
    loop {
        pool.reap();
        let now = state.clock.now();
        let mut started = 0;
        if let Some(room) = pool.room() {
            let (tenants, subjects) = pool.saturated();
            let claimed = state
                .store
                .write(move |c| {
                    Box::pin(
                        async move { jobs::claim_skipping(c, QUEUE, now, LEASE_MS, room, &tenants, &subjects).await },
                    )
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "webhook worker could not claim deliveries");
                    Vec::new()
                });
            let mut put_back = Vec::new();
            for job in claimed {
                if !pool.has_slot(&job) {
                    put_back.push(job.seq);
                    continue;
                }
                let (state, config) = (state.clone(), config.clone());
                pool.spawn(job, |job| async move {
                    let seq = job.seq;
                    if let Err(e) = deliver(&state, &config, job).await {
                        tracing::error!(job.seq = seq, error = %e, "recording a webhook delivery failed");
                    }
                });
                started += 1;
            }
            if !put_back.is_empty() {
                let released = state
                    .store
                    .write(move |c| {
                        Box::pin(async move {
                            for seq in put_back {
                                jobs::release(c, seq).await?;
                            }
                            Ok(())
                        })
                    })
                    .await;
                if let Err(e) = released {
                    tracing::error!(error = %e, "webhook worker could not give back deliveries; their leases will run out");
                }
            }
        }
        if started > 0 {
            continue;
        }
        let next = state.store.read(|mut c| async move { jobs::next_due(&mut c, QUEUE).await }).await.ok().flatten();
        let wait = match next {
            Some(due) if due.millis() > now.millis() => {
                Duration::from_millis(due.millis().saturating_sub(now.millis()).clamp(20, 1000) as u64)
            }
            // Due but not claimable: running here (a finishing delivery wakes the loop) or leased elsewhere.
            Some(_) if !pool.is_empty() => Duration::from_secs(1),
            Some(_) => Duration::from_millis(20),
            None => Duration::from_secs(1),
        };
        tokio::select! {
            _ = &mut shutdown => break,
            _ = wake.notified() => {}
            _ = pool.finished() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Deliveries under way finish (within their timeout) and are recorded before the store closes.
    while !pool.is_empty() {
        pool.finished().await;
    }
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
