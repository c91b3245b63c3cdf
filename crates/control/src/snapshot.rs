//! `GET /_openiav/snapshot` and `POST /_openiav/restore`: the tenant's data as one versioned JSON
//! document, and replacing the tenant's data with such a document in one write.
//!
//! The document holds every row of the tenant's data as stored: credentials and account numbers
//! stay sealed under the server's encryption key and bound to the tenant, tokens and secrets stay
//! hashes. So a snapshot restores into the tenant it was taken of, on a server with the same
//! encryption key (the same database, or another one started with the same
//! `OPENIAV_ENCRYPTION_KEY` and `--load-snapshot`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use openiav_core::ids::TenantId;
use openiav_store::repo::sandbox::{self, Rows};
use openiav_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::reset::Counts;
use crate::{AppState, ControlError, ControlTenant};

/// The `format` every snapshot carries.
pub const FORMAT: &str = "openiav-snapshot";
/// The one version this server writes and reads.
pub const VERSION: u64 = 1;
/// How large a snapshot `POST /_openiav/restore` takes.
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

/// A snapshot document (version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub format: String,
    pub version: u64,
    /// The tenant it was taken of.
    pub tenant: String,
    /// When it was taken (RFC 3339, milliseconds).
    pub taken_at: String,
    /// Every table of tenant data by name: its columns and rows.
    pub tables: BTreeMap<String, Rows>,
}

/// Reads a snapshot document, refusing anything that is not one of this version with a message
/// that says what is wrong (and, for a field, where).
pub fn parse(body: &[u8]) -> Result<Snapshot, ControlError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(format!("The snapshot is not valid JSON: {e}.")))?;
    match value.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(ControlError::bad_request(format!(
                "Not an openiav snapshot: `format` is {other:?}, expected {FORMAT:?}."
            )))
        }
        None => {
            return Err(ControlError::bad_request(format!("Not an openiav snapshot: `format` must be {FORMAT:?}.")))
        }
    }
    match value.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(ControlError::bad_request(format!(
                "Snapshot version {other} is not supported; this server reads version {VERSION}."
            )))
        }
        None => return Err(ControlError::bad_request("The snapshot's `version` must be a number.")),
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| ControlError::bad_request(format!("Invalid snapshot at `{}`: {}.", e.path(), e.inner())))
}

/// The snapshot's tenant, which must be `into`: sealed columns are bound to their tenant.
pub fn tenant_of(snapshot: &Snapshot, into: Option<TenantId>) -> Result<TenantId, ControlError> {
    let taken_of = TenantId::parse(&snapshot.tenant)
        .ok_or_else(|| ControlError::bad_request("Invalid snapshot at `tenant`: not a tenant id."))?;
    match into {
        Some(into) if into != taken_of => Err(ControlError::bad_request(format!(
            "This snapshot is of tenant {taken_of}; a snapshot restores only into the tenant it was taken of."
        ))),
        _ => Ok(taken_of),
    }
}

/// Takes a snapshot of `tenant` (in one write, so it is one consistent moment of the data).
pub async fn take(state: &AppState, tenant: TenantId) -> Result<Snapshot, ControlError> {
    let tables = state.store.write(move |c| Box::pin(async move { sandbox::dump(c, tenant).await })).await?;
    Ok(Snapshot {
        format: FORMAT.to_owned(),
        version: VERSION,
        tenant: tenant.to_string(),
        taken_at: state.aggregation.now(tenant).await?.to_rfc3339_millis(),
        tables,
    })
}

/// Replaces `tenant`'s data with the snapshot's, in one write.
pub async fn restore_into(store: &Store, tenant: TenantId, snapshot: Snapshot) -> Result<Counts, ControlError> {
    let tenant = tenant_of(&snapshot, Some(tenant))?;
    let tables = snapshot.tables;
    let counts = store
        .write(move |c| Box::pin(async move { sandbox::restore(c, tenant, &tables).await }))
        .await
        .map_err(|e| match e {
            StoreError::InvalidInput(why) => {
                ControlError::bad_request(format!("The snapshot cannot be restored: {why}."))
            }
            StoreError::Conflict(what) => {
                ControlError::bad_request(format!("The snapshot cannot be restored: its rows collide ({what})."))
            }
            other => other.into(),
        })?;
    tracing::info!(tenant = %tenant, "sandbox restored from a snapshot");
    Ok(counts.into())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_openiav/snapshot", get(snapshot))
        .route("/_openiav/restore", post(restore).layer(DefaultBodyLimit::max(MAX_SNAPSHOT_BYTES)))
}

async fn snapshot(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<Snapshot>, ControlError> {
    Ok(Json(take(&state, tenant).await?))
}

#[derive(Debug, Serialize)]
pub struct RestoreAnswer {
    pub restored: Counts,
}

async fn restore(
    State(state): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    body: Bytes,
) -> Result<Json<RestoreAnswer>, ControlError> {
    let snapshot = parse(&body)?;
    Ok(Json(RestoreAnswer { restored: restore_into(&state.store, tenant, snapshot).await? }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(body: Value) -> String {
        parse(body.to_string().as_bytes()).unwrap_err().message
    }

    fn document(tenant: &str) -> Value {
        json!({
            "format": FORMAT,
            "version": 1,
            "tenant": tenant,
            "taken_at": "2026-01-01T00:00:00.000Z",
            "tables": {"users": {"columns": ["guid", "tenant_id"], "rows": [["USR-1", tenant]]}}
        })
    }

    #[test]
    fn a_document_of_this_version_parses() {
        let tenant = TenantId::generate().to_string();
        let s = parse(document(&tenant).to_string().as_bytes()).unwrap();
        assert_eq!(s.tables["users"].rows.len(), 1);
        assert_eq!(tenant_of(&s, None).unwrap().to_string(), tenant);
    }

    #[test]
    fn other_formats_versions_and_bad_fields_are_refused_with_what_is_wrong() {
        assert!(parse(b"{").unwrap_err().message.contains("not valid JSON"));
        assert!(message(json!({"version": 1})).contains("`format` must be \"openiav-snapshot\""));
        assert!(message(json!({"format": "pg_dump", "version": 1})).contains("`format` is \"pg_dump\""));
        let mut v2 = document("x");
        v2["version"] = json!(2);
        assert_eq!(message(v2), "Snapshot version 2 is not supported; this server reads version 1.");
        let mut bad = document("x");
        bad["tables"]["users"]["rows"] = json!("none");
        assert!(message(bad).starts_with("Invalid snapshot at `tables.users.rows`"));
        let mut extra = document("x");
        extra["owner"] = json!("me");
        assert!(message(extra).contains("unknown field `owner`"));
    }

    #[test]
    fn a_snapshot_restores_only_into_its_own_tenant() {
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let s = parse(document(&a.to_string()).to_string().as_bytes()).unwrap();
        assert_eq!(tenant_of(&s, Some(a)).unwrap(), a);
        assert!(tenant_of(&s, Some(b)).unwrap_err().message.contains("restores only into the tenant it was taken of"));
        let mut odd = s.clone();
        odd.tenant = "nope".into();
        assert!(tenant_of(&odd, None).is_err());
    }
}
