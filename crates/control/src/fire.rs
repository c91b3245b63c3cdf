//! `POST /_openiav/fire/dwolla` and `POST /_openiav/fire/mx`: a Dwolla event of any topic, or an
//! MX webhook of any type, about one of the tenant's resources, built as the real path builds
//! it, stored and delivered like a real one and marked as fired; and `GET /_openiav/events/{id}`,
//! openiav's own record of an event: the event as Dwolla's API shows it, and whether it was
//! fired. The Dwolla body stays exactly Dwolla's; a fired event's webhooks carry the header
//! `X-Openiav-Fired: true`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use openiav_aggregation::webhooks::fired::{self as mx_fired, Refusal, Subject};
use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::payments::EventTopic;
use openiav_payments::events::{fired, view};
use openiav_store::records::{EventRecord, MxWebhookRecord};
use openiav_store::repo::events;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::force::{body, from_dwolla, from_mx, word};
use crate::{AppState, ControlError, ControlTenant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_openiav/fire/dwolla", post(dwolla))
        .route("/_openiav/fire/mx", post(mx))
        .route("/_openiav/events/{id}", get(event))
}

/// openiav's record of an event: Dwolla's view of it under `event`, and the fired mark.
fn record(base: &str, e: &EventRecord, fired_at: Option<Timestamp>) -> Value {
    json!({
        "id": e.id,
        "topic": e.topic.as_str(),
        "fired": fired_at.is_some(),
        "firedAt": fired_at.map(|t| t.to_rfc3339_millis()),
        "event": view::of(base, e),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DwollaFire {
    topic: String,
    resource_id: String,
}

async fn dwolla(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ControlError> {
    let b: DwollaFire = body(&bytes)?;
    let (events, now) = fire_dwolla(&state, tenant, &b.topic, b.resource_id).await?;
    let base = state.payments.base();
    let records: Vec<Value> = events.iter().map(|e| record(base, e, Some(now))).collect();
    // The first event's record, and every event written: a transfer with a customer on each
    // side tells each of them, as the real path does.
    let mut answer = records[0].clone();
    answer["events"] = Value::Array(records);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Fires a Dwolla event of `topic` about the tenant's resource `resource_id`; answers the
/// events written (at least one) and when they were fired.
pub async fn fire_dwolla(
    state: &AppState,
    tenant: TenantId,
    topic: &str,
    resource_id: String,
) -> Result<(Vec<EventRecord>, Timestamp), ControlError> {
    let topic = word("topic", topic, EventTopic::ALL, EventTopic::as_str)?;
    let (id, payments) = (resource_id, state.payments.clone());
    let (fired, now) = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let now = payments.now_in(c, tenant).await?;
                Ok((fired::fire(c, payments.base(), tenant, topic, &id, now).await?, now))
            })
        })
        .await?;
    Ok((fired.map_err(|e| from_dwolla(e, "resource"))?, now))
}

async fn event(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
) -> Result<Json<Value>, ControlError> {
    let found = state
        .store
        .read(|mut c| async move {
            let Some(e) = events::find(&mut c, tenant, &id).await? else { return Ok(None) };
            let fired_at = events::fired_at(&mut c, tenant, &id).await?;
            Ok(Some((e, fired_at)))
        })
        .await?;
    let (e, fired_at) = found.ok_or_else(|| ControlError::not_found("event"))?;
    Ok(Json(record(state.payments.base(), &e, fired_at)))
}

/// What `POST /_openiav/fire/mx` names: the webhook type and the guid of its subject.
#[derive(Debug, Default, Deserialize)]
pub struct MxFire {
    #[serde(rename = "type")]
    pub kind: String,
    pub member_guid: Option<String>,
    pub user_guid: Option<String>,
    pub micro_deposit_guid: Option<String>,
}

async fn mx(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ControlError> {
    let b: MxFire = body(&bytes)?;
    let w = fire_mx(&state, tenant, &b).await?;
    let payload: Value = serde_json::from_str(&w.body).expect("a webhook body is the JSON it was built from");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "webhook": {
            "guid": w.guid,
            "type": w.webhook_type,
            "url": w.url,
            "payload": payload,
            "created_at": w.created_at.to_rfc3339_millis(),
            "fired": true,
            "fired_at": w.created_at.to_rfc3339_millis(),
        } })),
    ))
}

/// Fires an MX webhook of the type named about the resource its type is about (a member, a user
/// or a micro-deposit, whose guid `b` names).
pub async fn fire_mx(state: &AppState, tenant: TenantId, b: &MxFire) -> Result<MxWebhookRecord, ControlError> {
    let kind = word("type", &b.kind, MxWebhookType::ALL, MxWebhookType::as_str)?;
    let subject = mx_fired::subject_of(kind);
    let id = match subject {
        Subject::Member => b.member_guid.clone(),
        Subject::User => b.user_guid.clone(),
        Subject::MicroDeposit => b.micro_deposit_guid.clone(),
    };
    let id = id.ok_or_else(|| ControlError::bad_request(format!("A {kind} webhook needs `{}`.", subject.field())))?;
    let what = match subject {
        Subject::Member => "member",
        Subject::User => "user",
        Subject::MicroDeposit => "micro-deposit",
    };
    let fired = mx_fired::fire(&state.aggregation, tenant, kind, &id).await.map_err(|e| from_mx(e, what))?;
    fired.map_err(|Refusal::NoEndpoint(kind)| {
        ControlError::conflict(format!(
            "No MX webhook endpoint of this tenant takes {kind}; set one (or an all-types one) first."
        ))
    })
}
