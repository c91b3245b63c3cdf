//! Fault injection: a tenant's rules (`/_openiav/faults`), and the decision, per request, of
//! whether one applies (from a per-process cache the store invalidates). A rule's count is
//! spent in the same write that decides on it.

pub mod render;
pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use openiav_core::ids::TenantId;
use openiav_core::ops::Listener;
use openiav_store::repo::faults::{self, FaultRuleRecord};
use openiav_store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::{AppState, Control, ControlError, ControlTenant};
pub use rules::FaultEffect;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_openiav/faults", get(list).post(add).delete(clear))
        .route("/_openiav/faults/{id}", delete(remove))
}

/// A rule as the control API shows it.
#[derive(Serialize)]
pub struct RuleView {
    pub id: String,
    pub listener: &'static str,
    pub method: String,
    pub path: String,
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    pub probability: f64,
    pub seed: i64,
    /// `null`: unlimited.
    pub remaining: Option<i64>,
    pub matched: i64,
    pub applied: i64,
    pub created: String,
}

impl From<FaultRuleRecord> for RuleView {
    fn from(r: FaultRuleRecord) -> Self {
        Self {
            listener: r.listener.map_or("any", Listener::as_str),
            method: r.method.unwrap_or_else(|| "any".into()),
            effect: r.effect.as_str(),
            status: r.status,
            latency_ms: r.latency_ms,
            retry_after: r.retry_after_secs,
            probability: r.probability_ppm as f64 / rules::CERTAIN_PPM as f64,
            seed: r.seed,
            remaining: r.remaining,
            matched: r.matched,
            applied: r.applied,
            created: r.created_at.to_rfc3339_millis(),
            path: r.path,
            id: r.id,
        }
    }
}

async fn list(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<Value>, ControlError> {
    let rules = list_rules(&control, tenant).await?;
    Ok(Json(serde_json::json!({ "total": rules.len(), "rules": rules })))
}

/// The tenant's fault rules.
pub async fn list_rules(control: &Control, tenant: TenantId) -> Result<Vec<RuleView>, ControlError> {
    let rules = control.store.read(|mut c| async move { faults::list(&mut c, tenant).await }).await?;
    Ok(rules.into_iter().map(RuleView::from).collect())
}

async fn add(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    body: axum::body::Bytes,
) -> Result<Response, ControlError> {
    let rule: rules::NewRule =
        serde_json::from_slice(&body).map_err(|e| ControlError::bad_request(format!("a fault rule: {e}")))?;
    Ok((StatusCode::CREATED, Json(add_rule(&control, tenant, rule).await?)).into_response())
}

/// Adds a fault rule to the tenant's.
pub async fn add_rule(control: &Control, tenant: TenantId, rule: rules::NewRule) -> Result<RuleView, ControlError> {
    let id = format!("flt_{}", uuid::Uuid::new_v4().simple());
    let record = rule.into_record(id, tenant, control.payments.clock.now()).map_err(ControlError::bad_request)?;
    let stored = record.clone();
    control.store.write(move |c| Box::pin(async move { faults::insert(c, &stored).await })).await?;
    Ok(RuleView::from(record))
}

async fn remove(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    remove_rule(&control, tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the tenant's fault rule `id` (another tenant's or an unknown id is a 404).
pub async fn remove_rule(control: &Control, tenant: TenantId, id: String) -> Result<(), ControlError> {
    let gone = control.store.write(move |c| Box::pin(async move { faults::delete(c, tenant, &id).await })).await?;
    if gone {
        Ok(())
    } else {
        Err(ControlError::not_found("fault rule"))
    }
}

async fn clear(
    State(control): State<AppState>,
    ControlTenant(tenant): ControlTenant,
) -> Result<Json<Value>, ControlError> {
    let removed = control.store.write(move |c| Box::pin(async move { faults::clear(c, tenant).await })).await?;
    Ok(Json(serde_json::json!({ "removed": removed })))
}

/// A rule that applied to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub rule_id: String,
    pub effect: FaultEffect,
}

/// Each tenant's live rules as last read, with the store's [`Store::fault_rules_version`] at
/// that read: current while the version stays, so a request costs no query.
#[derive(Default)]
pub struct RuleCache(RwLock<HashMap<TenantId, CachedRules>>);

/// The store's rules version at a read, and the live rules it gave.
type CachedRules = (u64, Arc<[FaultRuleRecord]>);

impl RuleCache {
    async fn live(&self, store: &Store, tenant: TenantId) -> Result<Arc<[FaultRuleRecord]>, StoreError> {
        // Read before loading: a change committed meanwhile leaves this entry stale, not current.
        let version = store.fault_rules_version();
        if let Some((at, rules)) = self.0.read().ok().and_then(|m| m.get(&tenant).cloned()) {
            if at == version {
                return Ok(rules);
            }
        }
        let rules: Arc<[FaultRuleRecord]> =
            store.read(|mut c| async move { faults::live(&mut c, tenant).await }).await?.into();
        if let Ok(mut map) = self.0.write() {
            map.insert(tenant, (version, rules.clone()));
        }
        Ok(rules)
    }
}

/// Whether a fault applies to this request of `tenant`, spending one of the rule's count if so.
/// The cached rules first: a tenant with no matching rule costs neither a query nor a write;
/// a match is decided again on the locked rows.
pub async fn decide(
    store: &Store,
    cache: &RuleCache,
    tenant: TenantId,
    listener: Listener,
    method: &Method,
    path: &str,
) -> Result<Option<Applied>, StoreError> {
    if rules::exempt(path) {
        return Ok(None);
    }
    let live = cache.live(store, tenant).await?;
    if !live.iter().any(|r| rules::rule_matches(r, listener, method, path)) {
        return Ok(None);
    }
    let (method, path) = (method.clone(), path.to_owned());
    store
        .write(move |c| {
            Box::pin(async move {
                for rule in faults::lock_live(c, tenant).await? {
                    if !rules::rule_matches(&rule, listener, &method, &path) {
                        continue;
                    }
                    let fire = rules::draw(rule.seed, rule.matched, rule.probability_ppm);
                    if faults::record_match(c, tenant, &rule.id, fire).await? {
                        return Ok(Some(Applied { effect: FaultEffect::of(&rule), rule_id: rule.id }));
                    }
                }
                Ok(None)
            })
        })
        .await
}
