//! `Idempotency-Key` on every POST: the same key and body within 24 hours replays the first
//! answer (status, `Location`, body); the same key while the first request runs is a 409; the
//! same key with another body is a 400.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openiav_core::crypto::hash_token;
use openiav_store::records::IdempotencyRecord;
use openiav_store::repo::idempotency as repo;

use crate::auth::AppToken;
use crate::error::ERROR_MEDIA_TYPE;
use crate::{AppState, DwollaError};

/// How long a key is remembered.
const KEY_LIFETIME_MS: i64 = 24 * 3_600_000;
/// The largest request body a key covers.
const MAX_BODY: usize = 1 << 20;

enum Claim {
    New,
    Running,
    Mismatch,
    Replay(IdempotencyRecord),
}

fn replay(r: &IdempotencyRecord) -> Response {
    let status = r.status.and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let body = r.body.clone().unwrap_or_default();
    let mut resp = (status, body.clone()).into_response();
    if let Some(location) = r.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        resp.headers_mut().insert(header::LOCATION, location);
    }
    if !body.is_empty() {
        let media = if status.is_client_error() || status.is_server_error() {
            ERROR_MEDIA_TYPE
        } else {
            "application/vnd.dwolla.v1.hal+json; charset=UTF-8"
        };
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    }
    resp
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_owned);
    let Some(key) = key.filter(|k| req.method() == Method::POST && !k.is_empty() && k.len() <= 255) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    // Keys belong to the application the token names; without a valid token the handler answers.
    let Ok(AppToken(tenant)) = AppToken::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return DwollaError::bad_request("The request body is too large.").into_response();
    };
    let mut fingerprint = format!("{} {}\n", parts.method, parts.uri.path());
    fingerprint.push_str(&String::from_utf8_lossy(&bytes));
    let request_hash = hash_token(&fingerprint);
    let now = state.clock.now();
    let record = IdempotencyRecord {
        tenant_id: tenant,
        key: key.clone(),
        request_hash: request_hash.clone(),
        status: None,
        location: None,
        body: None,
        created_at: now,
    };
    let claim = state
        .store
        .write(move |c| {
            Box::pin(async move {
                let since = now.plus_millis(-KEY_LIFETIME_MS);
                if repo::claim(c, &record, since).await? {
                    return Ok(Claim::New);
                }
                // Another request holds the key (it committed first, or before this one began).
                Ok(match repo::find(c, tenant, &record.key, since).await? {
                    None => Claim::Running,
                    Some(r) if r.request_hash != record.request_hash => Claim::Mismatch,
                    Some(r) if r.status.is_none() => Claim::Running,
                    Some(r) => Claim::Replay(r),
                })
            })
        })
        .await;
    match claim {
        Err(e) => DwollaError::from(e).into_response(),
        Ok(Claim::Replay(r)) => replay(&r),
        Ok(Claim::Running) => DwollaError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "A request with this Idempotency-Key is still being processed; try again shortly.",
        )
        .into_response(),
        Ok(Claim::Mismatch) => DwollaError::bad_request(
            "This Idempotency-Key was already used with a different request in the last 24 hours; use a new key.",
        )
        .into_response(),
        Ok(Claim::New) => {
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let status = resp.status();
            if status.is_server_error() {
                let _ = state.store.write(move |c| Box::pin(async move { repo::release(c, tenant, &key).await })).await;
                return resp;
            }
            let (resp_parts, resp_body) = resp.into_parts();
            let body = to_bytes(resp_body, usize::MAX).await.unwrap_or_default();
            let location = resp_parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let text = String::from_utf8_lossy(&body).into_owned();
            let saved = state
                .store
                .write(move |c| {
                    Box::pin(async move {
                        repo::complete(c, tenant, &key, i64::from(status.as_u16()), location.as_deref(), &text).await
                    })
                })
                .await;
            if let Err(e) = saved {
                tracing::error!(error = %e, "recording an idempotent answer failed");
            }
            Response::from_parts(resp_parts, Body::from(body))
        }
    }
}
