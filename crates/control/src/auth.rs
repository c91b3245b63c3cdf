//! Who a control request is for: the tenant of MX Basic credentials or of a Dwolla bearer token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use openiav_core::ids::TenantId;

use crate::{AppState, ControlError};

/// The authenticated tenant every control operation is scoped to.
#[derive(Clone, Copy, Debug)]
pub struct ControlTenant(pub TenantId);

impl FromRequestParts<AppState> for ControlTenant {
    type Rejection = ControlError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let scheme = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("basic") => openiav_aggregation::auth::Tenant::from_request_parts(parts, &state.aggregation)
                .await
                .map(|t| Self(t.0))
                .map_err(|_| ControlError::unauthorized()),
            Some("bearer") => openiav_payments::auth::AppToken::from_request_parts(parts, &state.payments)
                .await
                .map(|t| Self(t.0))
                .map_err(|_| ControlError::unauthorized()),
            _ => Err(ControlError::unauthorized()),
        }
    }
}
