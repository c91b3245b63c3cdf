//! `/exchange-partners`: the open-banking partners, oldest first.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json, Value};

use crate::auth::AppToken;
use crate::hal::{self, link};
use crate::partners::{self, Partner};
use crate::{AppState, DwollaError};

fn render(base: &str, p: &Partner) -> Value {
    json!({
        "_links": {
            "self": link(base, &format!("/exchange-partners/{}", p.id), "exchange-partner"),
            "funding-source": link(base, "/funding-sources", "funding-source"),
        },
        "id": p.id,
        "name": p.name,
        "status": "active",
        "created": p.created.to_rfc3339_millis(),
    })
}

pub async fn list(State(state): State<AppState>, _: AppToken) -> Response {
    let base = state.base();
    let list: Vec<Value> = partners::all(state.config.visa_enabled).map(|p| render(base, p)).collect();
    hal::ok(&json!({
        "_links": { "self": link(base, "/exchange-partners", "exchange-partner") },
        "_embedded": { "exchange-partners": list },
        "total": list.len(),
    }))
}

pub async fn retrieve(
    State(state): State<AppState>,
    _: AppToken,
    Path(id): Path<String>,
) -> Result<Response, DwollaError> {
    let partner = partners::find(&id.to_ascii_lowercase(), state.config.visa_enabled)
        .ok_or_else(|| DwollaError::not_found("The requested resource was not found. Check Exchange Partner ID."))?;
    Ok(hal::ok(&render(state.base(), partner)))
}
