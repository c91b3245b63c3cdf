//! Whose request this is, found before the handler runs (for fault rules and the journal): the
//! tenant of MX Basic credentials or of a Dwolla bearer token (either checked once and left in
//! the request for the handler's own extractor), or of the client id of a Dwolla `/token` call.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, HeaderMap, Method};
use base64::Engine;
use openiav_core::ids::TenantId;
use openiav_core::ops::Listener;
use openiav_store::repo::tenants;

use super::Ops;

/// The most of a `/token` form read to find its client id.
const TOKEN_FORM_LIMIT: usize = 64 * 1024;

fn scheme_of(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    Some((scheme.to_ascii_lowercase(), rest.trim().to_owned()))
}

fn basic_user(encoded: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(raw).ok()?;
    Some(text.split_once(':')?.0.to_owned())
}

/// The request's tenant, if its credentials name one; the request comes back whole (its body
/// re-attached when `/token`'s form was read).
pub async fn resolve(ops: &Ops, req: Request) -> (Option<TenantId>, Request) {
    let (mut parts, body) = req.into_parts();
    let scheme = scheme_of(&parts.headers);
    let token_call = ops.listener == Listener::Dwolla && parts.method == Method::POST && parts.uri.path() == "/token";
    match (ops.listener, scheme) {
        (Listener::Mx, Some((s, _))) if s == "basic" => {
            match openiav_aggregation::auth::Tenant::from_request_parts(&mut parts, &ops.aggregation).await {
                Ok(tenant) => {
                    parts.extensions.insert(tenant);
                    (Some(tenant.0), Request::from_parts(parts, body))
                }
                Err(_) => (None, Request::from_parts(parts, body)),
            }
        }
        (Listener::Dwolla, Some((s, encoded))) if s == "basic" && token_call => {
            let tenant = match basic_user(&encoded) {
                Some(key) => by_dwolla_key(ops, key).await,
                None => None,
            };
            (tenant, Request::from_parts(parts, body))
        }
        (Listener::Dwolla, Some((s, _))) if s == "bearer" => {
            match openiav_payments::auth::AppToken::from_request_parts(&mut parts, &ops.payments).await {
                Ok(token) => {
                    parts.extensions.insert(token);
                    (Some(token.0), Request::from_parts(parts, body))
                }
                Err(_) => (None, Request::from_parts(parts, body)),
            }
        }
        (Listener::Dwolla, None) if token_call && small_body(&parts.headers) => {
            let Ok(bytes) = axum::body::to_bytes(body, TOKEN_FORM_LIMIT).await else {
                return (None, Request::from_parts(parts, Body::empty()));
            };
            let key = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "client_id").map(|(_, v)| v.into_owned());
            let tenant = match key {
                Some(key) => by_dwolla_key(ops, key).await,
                None => None,
            };
            (tenant, Request::from_parts(parts, Body::from(bytes)))
        }
        _ => (None, Request::from_parts(parts, body)),
    }
}

/// A body of a known length under the limit (a longer or chunked one is left to the handler).
fn small_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| n <= TOKEN_FORM_LIMIT)
}

async fn by_dwolla_key(ops: &Ops, key: String) -> Option<TenantId> {
    let found = ops.store.read(|mut c| async move { tenants::find_by_dwolla_key(&mut c, &key).await }).await;
    found.ok().flatten().map(|t| t.id)
}
