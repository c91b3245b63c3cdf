//! HTTP Basic authentication (`client_id:api_key`) resolving the tenant of every request.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use openiav_core::crypto::token_matches;
use openiav_core::ids::TenantId;
use openiav_store::repo::tenants;

use crate::{AppState, MxError};

/// The authenticated tenant of a request.
#[derive(Clone, Copy, Debug)]
pub struct Tenant(pub TenantId);

/// Tenants by client id, so a request costs one hash and no query. Tenants are never deleted
/// and their keys never change, so entries need no invalidation.
#[derive(Default)]
pub struct TenantCache(RwLock<HashMap<String, (TenantId, String)>>);

impl TenantCache {
    fn get(&self, client_id: &str) -> Option<(TenantId, String)> {
        self.0.read().ok()?.get(client_id).cloned()
    }

    fn put(&self, client_id: &str, tenant: TenantId, key_hash: String) {
        if let Ok(mut map) = self.0.write() {
            map.insert(client_id.to_owned(), (tenant, key_hash));
        }
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, key) = text.split_once(':')?;
    Some((id.to_owned(), key.to_owned()))
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The operations layer may have checked the credentials already.
        if let Some(known) = parts.extensions.get::<Tenant>() {
            return Ok(*known);
        }
        let (client_id, api_key) = basic_credentials(parts).ok_or(MxError::Unauthorized)?;
        let (tenant, key_hash) = match state.tenants.get(&client_id) {
            Some(hit) => hit,
            None => {
                let lookup = client_id.clone();
                let found = state
                    .store
                    .read(|mut c| async move { tenants::find_by_mx_client_id(&mut c, &lookup).await })
                    .await?
                    .ok_or(MxError::Unauthorized)?;
                state.tenants.put(&client_id, found.id, found.mx_api_key_hash.clone());
                (found.id, found.mx_api_key_hash)
            }
        };
        if token_matches(&api_key, &key_hash) {
            Ok(Tenant(tenant))
        } else {
            Err(MxError::Unauthorized)
        }
    }
}
