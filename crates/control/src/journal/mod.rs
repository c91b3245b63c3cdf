//! The request journal: `GET /_openiav/journal` reads the tenant's most recent requests, newest
//! first; [`Recorder`] writes them off the request path.

mod recorder;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use openiav_store::repo::journal::{self, JournalFilter, JournalRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use recorder::{Recorder, DEFAULT_KEEP};

use openiav_core::ids::TenantId;

use crate::{AppState, Control, ControlError, ControlTenant};

/// How many entries a read returns when no `limit` is given.
const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new().route("/_openiav/journal", get(read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    limit: Option<i64>,
    status: Option<i64>,
    route: Option<String>,
}

/// One entry as the control API shows it.
#[derive(Serialize)]
pub struct EntryView {
    pub at: String,
    pub listener: &'static str,
    pub method: String,
    pub route: String,
    pub status: i64,
    pub latency_ms: i64,
    pub request_id: String,
    pub resource_ids: Vec<String>,
    /// The id of the fault rule that applied, if one did.
    pub fault: Option<String>,
}

impl From<JournalRecord> for EntryView {
    fn from(e: JournalRecord) -> Self {
        Self {
            at: e.at.to_rfc3339_millis(),
            listener: e.listener.as_str(),
            method: e.method,
            route: e.route,
            status: e.status,
            latency_ms: e.latency_ms,
            request_id: e.request_id,
            resource_ids: e.resource_ids,
            fault: e.fault_id,
        }
    }
}

async fn read(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    recorder: Option<Extension<Recorder>>,
    query: Result<Query<ReadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ControlError> {
    let Query(q) = query.map_err(|e| ControlError::bad_request(e.body_text()))?;
    let keep = recorder.as_ref().map_or(DEFAULT_KEEP, |r| r.keep());
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT.min(keep));
    if !(1..=keep).contains(&limit) {
        return Err(ControlError::bad_request(format!("limit: 1 to {keep}")));
    }
    let filter = JournalFilter { limit, status: q.status, route: q.route };
    let entries = entries(&control, tenant, recorder.as_ref().map(|r| &r.0), filter).await?;
    Ok(Json(serde_json::json!({ "total": entries.len(), "entries": entries })))
}

/// The tenant's most recent journal entries the filter keeps, newest first; what this process
/// answered before the call is flushed to the journal first.
pub async fn entries(
    control: &Control,
    tenant: TenantId,
    recorder: Option<&Recorder>,
    filter: JournalFilter,
) -> Result<Vec<EntryView>, ControlError> {
    if let Some(recorder) = recorder {
        recorder.flush().await;
    }
    let entries = control.store.read(|mut c| async move { journal::list(&mut c, tenant, &filter).await }).await?;
    Ok(entries.into_iter().map(EntryView::from).collect())
}
