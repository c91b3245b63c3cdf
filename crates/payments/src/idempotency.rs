//! `Idempotency-Key` on every POST but `/token`: the same key and body within 24 hours replays
//! the first answer (status, `Location`, body, byte for byte); the same key with another
//! request is a 400. The key is claimed and its answer recorded inside the transaction of the
//! write it covers ([`write`]), so a crash at any point leaves either nothing (a retry runs
//! afresh) or the answer (a retry replays), and a client that hangs up cannot leave a key
//! half-claimed. Requests are told apart by a keyed fingerprint, never a plain hash of bodies
//! that may hold account numbers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::IdempotencyRecord;
use openiav_store::repo::idempotency as repo;
use openiav_store::{Conn, StoreError};
use serde::Serialize;

use crate::auth::AppToken;
use crate::error::ERROR_MEDIA_TYPE;
use crate::hal::HAL_CONTENT_TYPE;
use crate::{AppState, DwollaError};

/// How long a key is remembered.
const KEY_LIFETIME_MS: i64 = 24 * 3_600_000;
/// The largest request body a key covers.
const MAX_BODY: usize = 1 << 20;
/// How often expired keys are pruned, and how many one pass deletes.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_BATCH: i64 = 1000;

/// A finished answer, as a write decides it and as a key replays it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    /// Empty for a 201.
    pub body: String,
}

impl Answer {
    /// A 201 with an empty body and the new resource's absolute URL in `Location`.
    pub fn created(base: &str, path: &str) -> Self {
        Self { status: StatusCode::CREATED, location: Some(format!("{base}{path}")), body: String::new() }
    }

    /// A 200 with a HAL body.
    pub fn ok(body: &impl Serialize) -> Self {
        Self { status: StatusCode::OK, location: None, body: serde_json::to_string(body).expect("views serialise") }
    }

    fn of_error(e: &DwollaError) -> Self {
        Self { status: e.status(), location: None, body: e.body() }
    }

    fn from_record(r: &IdempotencyRecord) -> Self {
        let status = r.status.and_then(|s| u16::try_from(s).ok()).and_then(|s| StatusCode::from_u16(s).ok());
        Self {
            status: status.unwrap_or(StatusCode::OK),
            location: r.location.clone(),
            body: r.body.clone().unwrap_or_default(),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let media = if self.status.is_client_error() || self.status.is_server_error() {
            ERROR_MEDIA_TYPE
        } else {
            HAL_CONTENT_TYPE
        };
        let has_body = !self.body.is_empty();
        let mut resp = (self.status, self.body).into_response();
        if let Some(location) = self.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
            resp.headers_mut().insert(header::LOCATION, location);
        }
        if has_body {
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        } else {
            resp.headers_mut().remove(header::CONTENT_TYPE);
        }
        resp
    }
}

/// The key a request carries, for the write that answers it.
#[derive(Clone, Debug)]
pub struct Scope {
    tenant: TenantId,
    key: String,
    request_hash: String,
    now: Timestamp,
    /// Set once a write took charge of recording the answer.
    taken: Arc<AtomicBool>,
}

impl Scope {
    fn record(&self, answer: Option<&Answer>) -> IdempotencyRecord {
        IdempotencyRecord {
            tenant_id: self.tenant,
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            status: answer.map(|a| i64::from(a.status.as_u16())),
            location: answer.and_then(|a| a.location.clone()),
            body: answer.map(|a| a.body.clone()),
            created_at: self.now,
        }
    }

    fn since(&self) -> Timestamp {
        self.now.plus_millis(-KEY_LIFETIME_MS)
    }
}

/// The request's `Idempotency-Key`, if it has one: what a POST handler hands to [`write`].
#[derive(Clone, Debug, Default)]
pub struct Idempotency(Option<Scope>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Scope>().cloned()))
    }
}

fn mismatch() -> DwollaError {
    DwollaError::bad_request(
        "This Idempotency-Key was already used with a different request in the last 24 hours; use a new key.",
    )
}

/// What a key already says about a request.
enum Known {
    Replay(Answer),
    Mismatch,
}

fn judge(existing: &IdempotencyRecord, request_hash: &str) -> Option<Known> {
    if existing.request_hash != request_hash {
        return Some(Known::Mismatch);
    }
    existing.status.is_some().then(|| Known::Replay(Answer::from_record(existing)))
}

/// Runs `op` in one write transaction. With an `Idempotency-Key`, the key is claimed first in
/// that transaction (a key already answered replays without running `op`), and the answer
/// `op` decides is recorded before it commits. A client error `op` decides is recorded too; a
/// store failure rolls everything back, key included.
pub async fn write<F>(
    state: &AppState,
    idempotency: Idempotency,
    op: F,
) -> Result<Result<Answer, DwollaError>, StoreError>
where
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<Result<Answer, DwollaError>, StoreError>> + Send + 'static,
{
    let Some(scope) = idempotency.0 else { return state.store.write(op).await };
    scope.taken.store(true, Ordering::Release);
    state
        .store
        .write(move |c| {
            Box::pin(async move {
                if !repo::claim(c, &scope.record(None), scope.since()).await? {
                    let existing = repo::find(c, scope.tenant, &scope.key, scope.since()).await?;
                    match existing.as_ref().and_then(|e| judge(e, &scope.request_hash)) {
                        Some(Known::Replay(answer)) => return Ok(Ok(answer)),
                        Some(Known::Mismatch) => return Ok(Err(mismatch())),
                        None => return Err(StoreError::Conflict("idempotency key claimed twice".into())),
                    }
                }
                let result = op(c).await?;
                let answer = match &result {
                    Ok(answer) => Some(answer.clone()),
                    Err(e) if e.status().is_client_error() => Some(Answer::of_error(e)),
                    Err(_) => None,
                };
                if let Some(a) = answer {
                    let status = i64::from(a.status.as_u16());
                    repo::complete(c, scope.tenant, &scope.key, status, a.location.as_deref(), &a.body).await?;
                }
                Ok(result)
            })
        })
        .await
}

/// [`write`] for an operation that decides a typed outcome, which `render` turns into the
/// answer inside the same transaction (so the key records exactly what the client is told).
pub async fn answer<T, F, R>(
    state: &AppState,
    idempotency: Idempotency,
    op: F,
    render: R,
) -> Result<Answer, DwollaError>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<Result<T, DwollaError>, StoreError>> + Send + 'static,
    R: FnOnce(T) -> Answer + Send + 'static,
{
    write(state, idempotency, move |c| Box::pin(async move { Ok(op(c).await?.map(render)) })).await?
}

/// The layer: looks the key up, replays what it already answered, and otherwise hands it to
/// the handler's write. A client error decided before any write is recorded after it.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_owned);
    // Access tokens are secrets: `/token` answers are never stored for replay.
    let covered = req.method() == Method::POST && req.uri().path() != "/token";
    let Some(key) = key.filter(|k| covered && !k.is_empty() && k.len() <= 255) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    // Keys belong to the application the token names; without a valid token the handler answers.
    let Ok(token) = AppToken::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    parts.extensions.insert(token);
    let tenant = token.0;
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return DwollaError::bad_request("The request body is too large.").into_response();
    };
    let request_hash = state.keyring.fingerprint(&[
        "idempotency",
        parts.method.as_str(),
        parts.uri.path(),
        &String::from_utf8_lossy(&bytes),
    ]);
    let now = match state.now(tenant).await {
        Ok(now) => now,
        Err(e) => return DwollaError::from(e).into_response(),
    };
    let scope = Scope { tenant, key, request_hash, now, taken: Arc::default() };

    let (key, since) = (scope.key.clone(), scope.since());
    match state.store.read(|mut c| async move { repo::find(&mut c, tenant, &key, since).await }).await {
        Err(e) => return DwollaError::from(e).into_response(),
        Ok(Some(existing)) => match judge(&existing, &scope.request_hash) {
            Some(Known::Replay(answer)) => return answer.into_response(),
            Some(Known::Mismatch) => return mismatch().into_response(),
            None => {}
        },
        Ok(None) => {}
    }

    parts.extensions.insert(scope.clone());
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if scope.taken.load(Ordering::Acquire) || !resp.status().is_client_error() {
        if resp.status().is_success() && !scope.taken.load(Ordering::Acquire) {
            tracing::error!(
                http.status = resp.status().as_u16(),
                "a POST answered without recording its Idempotency-Key"
            );
        }
        return resp;
    }
    // Refused before any write: keep the refusal, so a retry gets the same answer.
    let (resp_parts, resp_body) = resp.into_parts();
    let body = to_bytes(resp_body, MAX_BODY).await.unwrap_or_default();
    let answer =
        Answer { status: resp_parts.status, location: None, body: String::from_utf8_lossy(&body).into_owned() };
    let record = scope.record(Some(&answer));
    let stored =
        state.store.write(move |c| Box::pin(async move { repo::claim(c, &record, scope.since()).await })).await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "recording a refused idempotent request failed");
    }
    Response::from_parts(resp_parts, Body::from(body))
}

/// Deletes expired keys every minute until `shutdown` resolves.
pub async fn prune_expired(state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        // Each key ages on its tenant's own clock.
        let now = state.clock.now();
        loop {
            match state
                .store
                .write(move |c| Box::pin(async move { repo::prune(c, now, KEY_LIFETIME_MS, PRUNE_BATCH).await }))
                .await
            {
                Ok(n) if n as i64 == PRUNE_BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning expired idempotency keys failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &str, status: Option<i64>) -> IdempotencyRecord {
        IdempotencyRecord {
            tenant_id: TenantId::generate(),
            key: "k".into(),
            request_hash: hash.into(),
            status,
            location: Some("http://h/customers/1".into()),
            body: Some(String::new()),
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_key_replays_only_its_own_request() {
        assert!(
            matches!(judge(&record("a", Some(201)), "a"), Some(Known::Replay(a)) if a.status == StatusCode::CREATED)
        );
        assert!(matches!(judge(&record("a", Some(201)), "b"), Some(Known::Mismatch)));
        assert!(judge(&record("a", None), "a").is_none(), "an unanswered leftover gives way");
    }

    #[test]
    fn replays_carry_the_media_type_of_their_status() {
        let created = Answer::created("http://h", "/customers/1").into_response();
        assert!(created.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(created.headers()[header::LOCATION], "http://h/customers/1");
        let refused = Answer::of_error(&DwollaError::bad_request("no")).into_response();
        assert_eq!(refused.headers()[header::CONTENT_TYPE], ERROR_MEDIA_TYPE);
    }
}
