//! Application authorization: `POST /token` (client credentials in the form body or in HTTP
//! Basic), and the `AppToken` extractor that turns a Bearer token into its tenant. Tokens are
//! stored as SHA-256 hashes and expire after an hour.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openiav_core::crypto::{hash_token, random_url_token, token_matches};
use openiav_core::ids::TenantId;
use openiav_store::records::PaymentTokenRecord;
use openiav_store::repo::{payment_tokens, tenants};
use serde::Serialize;

use crate::{AppState, DwollaError, Payments};

/// Seconds an access token lives.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

/// The OAuth error codes `/token` answers with (RFC 6749 §5.2), each with its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum OauthErrorCode {
    InvalidRequest,
    InvalidClient,
    UnsupportedGrantType,
}

impl OauthErrorCode {
    fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest | Self::UnsupportedGrantType => StatusCode::BAD_REQUEST,
        }
    }
}

/// An OAuth error body (`{"error": "invalid_client", "error_description": …}`), as the SDKs expect.
#[derive(Serialize)]
struct OauthError {
    error: OauthErrorCode,
    error_description: &'static str,
}

/// A token answer.
#[derive(Serialize)]
struct TokenView {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

fn oauth_json(status: StatusCode, body: &impl Serialize) -> Response {
    let body = serde_json::to_string(body).expect("token bodies serialise");
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

fn oauth_error(error: OauthErrorCode, error_description: &'static str) -> Response {
    oauth_json(error.status(), &OauthError { error, error_description })
}

/// The client credentials of a token request: HTTP Basic, else the form body.
fn client_credentials(headers: &HeaderMap, form: &[(String, String)]) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(k, s)| (k.to_owned(), s.to_owned())));
    basic.or_else(|| {
        let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Some((get("client_id")?, get("client_secret")?))
    })
}

/// The tenant whose application `key` and `secret` are, or `None` when they are not a pair:
/// the one check of an application's client credentials (`/token` and the dashboard's login).
pub async fn client_tenant(
    state: &Payments,
    key: String,
    secret: &str,
) -> Result<Option<openiav_store::records::TenantRecord>, openiav_store::StoreError> {
    let found = state.store.read(|mut c| async move { tenants::find_by_dwolla_key(&mut c, &key).await }).await?;
    Ok(found.filter(|t| token_matches(secret, &t.dwolla_secret_hash)))
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.iter().find(|(k, _)| k == "grant_type").map(|(_, v)| v.as_str()) {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(OauthErrorCode::UnsupportedGrantType, "Only the client_credentials grant is supported.")
        }
        None => return oauth_error(OauthErrorCode::InvalidRequest, "grant_type is required."),
    }
    let Some((key, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(OauthErrorCode::InvalidClient, "Client credentials are required.");
    };
    let tenant = match client_tenant(&state, key, &secret).await {
        Ok(Some(t)) => t,
        Ok(None) => return oauth_error(OauthErrorCode::InvalidClient, "Invalid client credentials."),
        Err(e) => return DwollaError::from(e).into_response(),
    };
    let token = random_url_token();
    let now = match state.now(tenant.id).await {
        Ok(now) => now,
        Err(e) => return DwollaError::from(e).into_response(),
    };
    let record = PaymentTokenRecord {
        token_hash: hash_token(&token),
        tenant_id: tenant.id,
        expires_at: now.plus_millis(TOKEN_LIFETIME_SECS * 1000),
        created_at: now,
    };
    if let Err(e) = state.store.write(move |c| Box::pin(async move { payment_tokens::insert(c, &record).await })).await
    {
        return DwollaError::from(e).into_response();
    }
    oauth_json(
        StatusCode::OK,
        &TokenView { access_token: token, token_type: "bearer", expires_in: TOKEN_LIFETIME_SECS },
    )
}

/// The tenant an application access token belongs to.
#[derive(Clone, Copy, Debug)]
pub struct AppToken(pub TenantId);

impl FromRequestParts<AppState> for AppToken {
    type Rejection = DwollaError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The Idempotency-Key layer may have looked the token up already.
        if let Some(known) = parts.extensions.get::<AppToken>() {
            return Ok(*known);
        }
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(DwollaError::invalid_credentials)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(DwollaError::invalid_credentials)?;
        let hash = hash_token(token);
        let found = state.store.read(|mut c| async move { payment_tokens::find(&mut c, &hash).await }).await?;
        let record = found.ok_or_else(DwollaError::invalid_access_token)?;
        if record.expires_at <= state.now(record.tenant_id).await? {
            return Err(DwollaError::expired_access_token());
        }
        Ok(AppToken(record.tenant_id))
    }
}
