//! `GET /_openiav/mx/webhooks` (newest first, paginated, `type` filter) and
//! `GET /_openiav/mx/webhooks/{guid}`: the tenant's MX webhooks as sent, each with its type,
//! URL, payload and every attempt (the `Authorization` value redacted); one read also says
//! whether it was fired on demand.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use openiav_core::aggregation::MxWebhookType;
use openiav_outbound::attempts::Attempt;
use openiav_store::records::MxWebhookRecord;
use openiav_store::repo::mx_webhooks;
use serde_json::{json, Value};

use crate::auth::Tenant;
use crate::params::{Pagination, QueryParams};
use crate::{AppState, MxError};

fn render(w: &MxWebhookRecord) -> Result<Value, MxError> {
    let payload: Value = serde_json::from_str(&w.body)
        .map_err(|e| MxError::Internal(format!("MX webhook {}: body does not decode: {e}", w.guid)))?;
    let attempts: Vec<Attempt> = serde_json::from_str(&w.attempts)
        .map_err(|e| MxError::Internal(format!("MX webhook {}: attempts do not decode: {e}", w.guid)))?;
    let delivered = attempts.iter().any(|a| (200..300).contains(&a.response.status_code));
    Ok(json!({
        "guid": w.guid,
        "type": w.webhook_type,
        "url": w.url,
        "payload": payload,
        "created_at": w.created_at.to_rfc3339_millis(),
        "delivered": delivered,
        "attempts": attempts,
    }))
}

pub async fn list(State(state): State<AppState>, Tenant(tenant): Tenant, q: QueryParams) -> Result<Response, MxError> {
    let page = q.page(1000)?;
    let kind = match q.get("type") {
        None | Some("") => None,
        Some(t) => Some(t.parse::<MxWebhookType>().map_err(|_| {
            MxError::bad_request(format!("`{t}` is not an MX webhook type; use one of {}.", type_names()))
        })?),
    };
    let found = state
        .store
        .read(
            |mut c| async move { mx_webhooks::list_webhooks(&mut c, tenant, kind, page.limit(), page.offset()).await },
        )
        .await?;
    let items = found.items.iter().map(render).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "webhooks": items, "pagination": Pagination::new(page, found.total) })).into_response())
}

pub async fn read(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    Path(guid): Path<String>,
) -> Result<Response, MxError> {
    let found = state
        .store
        .read(|mut c| async move {
            let Some(w) = mx_webhooks::find_webhook(&mut c, tenant, &guid).await? else { return Ok(None) };
            let fired_at = mx_webhooks::webhook_fired_at(&mut c, tenant, &guid).await?;
            Ok(Some((w, fired_at)))
        })
        .await?;
    let (w, fired_at) = found.ok_or(MxError::NotFound)?;
    let mut webhook = render(&w)?;
    // Fired on demand through the control plane (`POST /_openiav/fire/mx`), or raised by a change.
    webhook["fired"] = fired_at.is_some().into();
    webhook["fired_at"] = fired_at.map(|t| t.to_rfc3339_millis()).into();
    Ok(Json(json!({ "webhook": webhook })).into_response())
}

fn type_names() -> String {
    MxWebhookType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}
