//! The operations layer every request passes on both listeners: request ids ([`request_id`]),
//! the tenant found from its credentials ([`tenant`]), fault rules applied before the handler
//! (so a faulted request has no side effects), the request journal and the metrics
//! ([`metrics`]).

pub mod metrics;
pub mod request_id;
pub mod tenant;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::RequestExt;
use openiav_aggregation::Aggregation;
use openiav_control::faults::{self, render, rules, Applied, FaultEffect, RuleCache};
use openiav_control::journal::Recorder;
use openiav_core::clock::Clock;
use openiav_core::ops::Listener;
use openiav_payments::Payments;
use openiav_store::repo::journal::JournalRecord;
use openiav_store::Store;

use crate::serve::AbortConnection;
use request_id::RequestId;

/// What the layer of one listener reaches.
pub struct Ops {
    pub listener: Listener,
    pub store: Store,
    pub fault_rules: Arc<RuleCache>,
    pub aggregation: Arc<Aggregation>,
    pub payments: Arc<Payments>,
    pub recorder: Recorder,
    pub clock: Arc<dyn Clock>,
}

/// The route label of a request no route matched (so unknown paths cannot grow the label set).
const UNMATCHED: &str = "(unmatched)";

/// Path parameters that name a resource; others (institution codes, OAuth window tokens, file
/// names) stay out of the journal.
const RESOURCE_PARAMS: [&str; 15] = [
    "id",
    "guid",
    "user",
    "user_guid",
    "member",
    "member_guid",
    "account",
    "customer",
    "customer_id",
    "exchange",
    "exchange_id",
    "micro_deposit",
    "transaction",
    "holding",
    "reward",
];

/// Whether a value looks like an id (and so cannot smuggle anything else into the journal).
fn id_like(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ids a request named in its path and, for a 201, the one its `Location` points at.
fn resource_ids(params: Option<&RawPathParams>, resp: &Response) -> Vec<String> {
    let mut ids: Vec<String> = params
        .into_iter()
        .flat_map(|p| p.iter())
        .filter(|(name, value)| RESOURCE_PARAMS.contains(name) && id_like(value))
        .map(|(_, value)| value.to_owned())
        .collect();
    if resp.status() == StatusCode::CREATED {
        let created = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|id| id_like(id));
        if let Some(id) = created {
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// The answer a rule gives instead of the handler's; `None` lets the handler run (after the
/// rule's latency, if any).
async fn faulted(listener: Listener, applied: &Applied, request_id: &str) -> Option<Response> {
    match applied.effect {
        FaultEffect::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(render::status_answer(listener, status, request_id))
        }
        FaultEffect::RateLimit { retry_after_secs } => {
            Some(render::rate_limited(listener, retry_after_secs, request_id))
        }
        FaultEffect::Reset => {
            let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            resp.extensions_mut().insert(AbortConnection);
            Some(resp)
        }
        FaultEffect::Latency(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
    }
}

/// The layer: tenant, faults, handler, then journal and metrics.
pub async fn observe(State(ops): State<Arc<Ops>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = ops.clock.now();
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED, |p| p.as_str()).to_owned();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let params = req.extract_parts::<RawPathParams>().await.ok();
    let exempt = rules::exempt(&path);
    let tenant = if exempt {
        None
    } else {
        let (tenant, whole) = tenant::resolve(&ops, req).await;
        req = whole;
        tenant
    };
    let mut applied = None;
    if let Some(tenant) = tenant {
        match faults::decide(&ops.store, &ops.fault_rules, tenant, ops.listener, &method, &path).await {
            Ok(found) => applied = found,
            Err(e) => tracing::warn!(error = %e, "reading fault rules failed; the request runs without them"),
        }
    }
    if let Some(a) = &applied {
        tracing::info!(fault.rule = %a.rule_id, fault.effect = ?a.effect, "a fault rule applies to this request");
    }
    let answer = match &applied {
        Some(a) => faulted(ops.listener, a, &request_id).await,
        None => None,
    };
    let resp = match answer {
        Some(resp) => resp,
        None => next.run(req).await,
    };
    let elapsed = started.elapsed();
    let reset = resp.extensions().get::<AbortConnection>().is_some();
    let status = if reset { 0 } else { resp.status().as_u16() };
    metrics::record_request(ops.listener, method.as_str(), &route, status, elapsed);
    tracing::debug!(http.status = status, latency_ms = elapsed.as_millis() as u64, "answered");
    if let Some(tenant) = tenant {
        ops.recorder.record(JournalRecord {
            seq: 0,
            tenant_id: tenant,
            at,
            listener: ops.listener,
            method: method.as_str().to_owned(),
            route,
            status: i64::from(status),
            latency_ms: elapsed.as_millis() as i64,
            request_id,
            resource_ids: resource_ids(params.as_ref(), &resp),
            fault_id: applied.map(|a| a.rule_id),
        });
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_id_like_values_count_as_resource_ids() {
        assert!(id_like("USR-1f2e") && id_like("0b6f7c4e-1d2a-4c1e-9f3a-2b8d7e6f5a4c"));
        assert!(!id_like("") && !id_like("a/b") && !id_like(&"x".repeat(65)) && !id_like("a b"));
        let mut resp = StatusCode::CREATED.into_response();
        resp.headers_mut().insert(header::LOCATION, "http://h/customers/abc-1".parse().unwrap());
        assert_eq!(resource_ids(None, &resp), ["abc-1"]);
        let resp = StatusCode::OK.into_response();
        assert!(resource_ids(None, &resp).is_empty());
    }
}
