//! Webhooks: every event fans out to each of the tenant's subscriptions as a webhook written in
//! the event's own transaction, with a durable delivery job; the worker POSTs compact JSON signed
//! with `X-Request-Signature-SHA-256` (hex HMAC-SHA256 of the raw body with the subscription
//! secret), records every attempt, retries on Dwolla's schedule and pauses a subscription after
//! 400 consecutive failures and a day without success. Outbound requests go only to public
//! addresses unless allowed (the sandbox tenant may call loopback). Deliveries run as independent
//! tasks, bounded in all, per tenant and per subscription, so one hung endpoint delays no other.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{EventRecord, JobRecord, WebhookRecord, WebhookSubscriptionRecord};
use openiav_store::repo::{jobs, tenants, webhooks};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::AppState;

mod outbound;
mod scheduler;

/// The queue deliveries run on.
pub const QUEUE: &str = "webhooks";
/// How long a subscriber has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Gaps before each automatic retry (Dwolla: 8 retries over 72 hours).
const RETRY_GAPS_MS: [i64; 8] = [
    15 * 60_000,
    45 * 60_000,
    2 * 3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    24 * 3_600_000,
    24 * 3_600_000,
];
/// Consecutive failures, and hours without success, after which a subscription pauses.
const PAUSE_AFTER_FAILURES: i64 = 400;
const PAUSE_AFTER_MS: i64 = 24 * 3_600_000;
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
            attempts: "[]".into(),
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

/// Whether an address may be called: public ones always; private or loopback ones only when
/// the allowlist names them, and loopback for the sandbox tenant.
fn address_allowed(ip: IpAddr, host: &str, sandbox: bool, config: &DeliveryConfig) -> bool {
    if config.allowlist.iter().any(|a| a == host || a.parse::<IpAddr>().is_ok_and(|a| a == ip)) {
        return true;
    }
    if ip.is_loopback() {
        return sandbox;
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some())
        }
    }
}

/// What one attempt came to.
struct Outcome {
    success: bool,
    attempt: Value,
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
    let request_record = json!({
        "timestamp": now.to_rfc3339_millis(),
        "url": url,
        "headers": headers.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect::<Vec<_>>(),
        "body": body,
    });
    let failed = |reason: String| Outcome {
        success: false,
        attempt: json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "request": request_record.clone(),
            "response": { "timestamp": now.to_rfc3339_millis(), "headers": [], "statusCode": 0, "body": reason },
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
    let Some(addr) = addresses.into_iter().find(|a| address_allowed(a.ip(), &bare_host, sandbox, config)) else {
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
    let response_headers: Vec<Value> = resp.headers.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect();
    Outcome {
        success: (200..300).contains(&resp.status),
        attempt: json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "request": request_record,
            "response": {
                "timestamp": now.to_rfc3339_millis(),
                "headers": response_headers,
                "statusCode": resp.status,
                "body": kept_text(resp.body),
            },
        }),
    }
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
                let mut attempts: Vec<Value> = serde_json::from_str(&webhook.attempts).unwrap_or_default();
                // The retry this failure schedules is the n-th, n being the attempts made before it.
                let retries_so_far = attempts.len();
                attempts.push(outcome.attempt);
                webhook.attempts = Value::Array(attempts).to_string();
                webhooks::save_webhook(c, &webhook).await?;
                if let Some(mut subscription) =
                    webhooks::find_subscription_for_update(c, tenant, &subscription_id).await?
                {
                    if count_outcome(&mut subscription, outcome.success, now) {
                        tracing::warn!(subscription.id = %subscription.id, "pausing a webhook subscription after repeated failures");
                    }
                    webhooks::save_subscription(c, &subscription).await?;
                }
                let next_retry = (!outcome.success && !delivery.manual)
                    .then(|| RETRY_GAPS_MS.get(retries_so_far))
                    .flatten()
                    .map(|gap| now.plus_millis(*gap));
                match next_retry {
                    Some(at) => jobs::retry_at(c, job.seq, at).await,
                    None => jobs::complete(c, job.seq).await,
                }
            })
        })
        .await
}

/// Counts one delivery's outcome on its subscription; returns whether that paused it (400
/// consecutive failures and a day without success).
fn count_outcome(subscription: &mut WebhookSubscriptionRecord, success: bool, now: Timestamp) -> bool {
    if success {
        subscription.consecutive_failures = 0;
        subscription.last_success_at = Some(now);
        return false;
    }
    subscription.consecutive_failures += 1;
    let since = subscription.last_success_at.unwrap_or(subscription.created_at);
    let pause = !subscription.paused
        && subscription.consecutive_failures >= PAUSE_AFTER_FAILURES
        && now.millis() - since.millis() >= PAUSE_AFTER_MS;
    if pause {
        subscription.paused = true;
    }
    pause
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
    fn a_subscription_pauses_after_400_failures_and_a_day_without_success() {
        let mut s = WebhookSubscriptionRecord {
            id: "s".into(),
            tenant_id: TenantId::generate(),
            url: "https://example.com".into(),
            secret: Vec::new(),
            paused: false,
            consecutive_failures: 0,
            last_success_at: None,
            created_at: Timestamp::from_millis(0),
        };
        let early = Timestamp::from_millis(1000);
        for _ in 0..PAUSE_AFTER_FAILURES {
            assert!(!count_outcome(&mut s, false, early), "not within the first day");
        }
        assert!(count_outcome(&mut s, false, Timestamp::from_millis(PAUSE_AFTER_MS)));
        assert!(s.paused);
        assert!(!count_outcome(&mut s, false, Timestamp::from_millis(PAUSE_AFTER_MS + 1)), "pauses once");
        assert!(!count_outcome(&mut s, true, Timestamp::from_millis(PAUSE_AFTER_MS + 2)));
        assert_eq!(s.consecutive_failures, 0);
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_public_addresses_unless_allowed() {
        let none = DeliveryConfig::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(address_allowed(ip("93.184.216.34"), "example.com", false, &none));
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(!address_allowed(ip(private), "h", false, &none), "{private}");
        }
        assert!(address_allowed(ip("127.0.0.1"), "localhost", true, &none), "the sandbox may call loopback");
        assert!(!address_allowed(ip("10.0.0.5"), "intranet", true, &none), "but not other private networks");
        let allow = DeliveryConfig { allowlist: vec!["intranet".into()] };
        assert!(address_allowed(ip("10.0.0.5"), "intranet", false, &allow));
    }
}
