//! MX webhooks as a kind of delivery of the shared worker: a JSON POST with HTTP Basic auth
//! when the endpoint has credentials (recorded redacted), any 2xx a success, retried on MX's
//! schedule ([`super::schedule`]).

use std::sync::Arc;

use futures::future::BoxFuture;
use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::Timestamp;
use openiav_outbound::worker::{self, Kind};
use openiav_outbound::DeliveryConfig;
use openiav_store::records::{JobRecord, MxWebhookRecord};
use openiav_store::repo::{jobs, mx_webhooks, tenants};
use openiav_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};

use super::{schedule, settings};
use crate::AppState;

/// The value recorded in place of an `Authorization` header's credentials.
pub const REDACTED: &str = "Basic [REDACTED]";

#[derive(Serialize, Deserialize)]
struct Delivery {
    mx_webhook: String,
}

/// The concurrency subject of an endpoint (the worker bounds deliveries per subject).
fn subject(w: &MxWebhookRecord) -> String {
    format!("mx:{}:{}", w.tenant_id, w.endpoint.map_or("ALL", MxWebhookType::as_str))
}

/// Queues the delivery of `w` at `at`.
pub(super) async fn enqueue(
    conn: &mut Conn,
    w: &MxWebhookRecord,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&Delivery { mx_webhook: w.guid.clone() }).expect("payload serialises");
    jobs::enqueue(conn, w.tenant_id, openiav_outbound::QUEUE, &subject(w), &payload, at, now).await?;
    Ok(())
}

struct Mx {
    state: AppState,
    config: DeliveryConfig,
}

impl Kind for Mx {
    fn vendor(&self) -> &'static str {
        "mx"
    }

    fn takes(&self, job: &JobRecord) -> bool {
        serde_json::from_str::<Delivery>(&job.payload).is_ok()
    }

    fn deliver(&self, job: JobRecord) -> BoxFuture<'static, Result<(), StoreError>> {
        let (state, config) = (self.state.clone(), self.config.clone());
        Box::pin(async move { deliver(&state, &config, job).await })
    }
}

/// MX's deliveries, for the shared delivery worker to run.
pub fn delivery_kind(state: AppState, config: DeliveryConfig) -> Arc<dyn Kind> {
    Arc::new(Mx { state, config })
}

async fn deliver(state: &AppState, config: &DeliveryConfig, job: JobRecord) -> Result<(), StoreError> {
    let Ok(delivery) = serde_json::from_str::<Delivery>(&job.payload) else {
        return worker::complete(&state.store, job.seq).await;
    };
    let tenant = job.tenant_id;
    let guid = delivery.mx_webhook.clone();
    let found = state
        .store
        .read(|mut c| async move {
            let Some(webhook) = mx_webhooks::find_webhook(&mut c, tenant, &guid).await? else { return Ok(None) };
            let endpoints = mx_webhooks::list_endpoints(&mut c, tenant).await?;
            let endpoint = endpoints.into_iter().find(|e| e.webhook_type == webhook.endpoint);
            let sandbox = tenants::get(&mut c, tenant).await?.is_sandbox;
            Ok(Some((webhook, endpoint, sandbox)))
        })
        .await?;
    // A webhook whose endpoint was removed since is not sent.
    let Some((webhook, Some(endpoint), sandbox)) = found else {
        return worker::complete(&state.store, job.seq).await;
    };
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("Accept", "application/json".to_owned()),
        ("User-Agent", "openiav-mx-webhooks/1.0".to_owned()),
    ];
    if let Some(auth) = settings::authorization(&state.keyring, &endpoint)? {
        headers.push(("Authorization", auth));
    }
    if webhook.webhook_type == MxWebhookType::Member {
        // MX: the X-CALLBACK-PAYLOAD of the request that created or updated the member appears
        // on its MEMBER webhook (as a header and as `callback_payload`).
        let body: serde_json::Value = serde_json::from_str(&webhook.body).unwrap_or_default();
        if let Some(p) = body.get("callback_payload").and_then(|v| v.as_str()) {
            headers.push(("X-CALLBACK-PAYLOAD", p.to_owned()));
        }
    }
    let now = state.now(tenant).await?;
    let redact = |name: &str, value: &str| {
        if name.eq_ignore_ascii_case("authorization") {
            REDACTED.to_owned()
        } else {
            value.to_owned()
        }
    };
    let outcome = openiav_outbound::send(&webhook.url, sandbox, config, &headers, redact, &webhook.body, now).await;
    let guid = webhook.guid.clone();
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                let Some(mut webhook) = mx_webhooks::find_webhook_for_update(c, tenant, &guid).await? else {
                    return jobs::complete(c, job.seq).await;
                };
                let mut attempts: Vec<openiav_outbound::attempts::Attempt> = serde_json::from_str(&webhook.attempts)
                    .map_err(|e| StoreError::Corrupt(format!("MX webhook {guid}: attempts do not decode: {e}")))?;
                let made = attempts.len();
                attempts.push(outcome.attempt);
                webhook.attempts = serde_json::to_string(&attempts).expect("attempts serialise");
                mx_webhooks::save_webhook(c, &webhook).await?;
                match schedule::next_retry_at(made, outcome.success, now) {
                    Some(at) => jobs::retry_at(c, job.seq, at).await,
                    None => jobs::complete(c, job.seq).await,
                }
            })
        })
        .await
}
