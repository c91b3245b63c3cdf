//! The extractor that binds every Link session API call to the session its page opened: the
//! page sends the session token in a header, which a cross-site form or script can neither
//! read nor send (no CORS on these routes). No cookies.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openiav_core::browser::is_cross_site;
use openiav_core::crypto::hash_token;
use openiav_store::records::PlaidLinkTokenRecord;
use openiav_store::repo::plaid as repo;

use crate::error::PlaidError;
use crate::AppState;

/// The header the Link page sends its session token in.
pub const SESSION_HEADER: &str = "x-link-session";

/// The open Link session a call belongs to.
pub struct LinkSession(pub PlaidLinkTokenRecord);

impl FromRequestParts<AppState> for LinkSession {
    type Rejection = PlaidError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        refuse_cross_site(parts)?;
        let token =
            parts.headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(PlaidError::session_expired)?;
        // Real time: the store compares it with the tenant's clock in SQL.
        let (hash, now) = (hash_token(token), state.clock.now());
        let found = state.store.read(|mut c| async move { repo::find_link_session(&mut c, &hash, now).await }).await?;
        found.map(LinkSession).ok_or_else(PlaidError::session_expired)
    }
}

/// Browsers label every request with where it came from; only Link's own page may call.
pub fn refuse_cross_site(parts: &Parts) -> Result<(), PlaidError> {
    if is_cross_site(parts.headers.get("sec-fetch-site").map(|v| v.as_bytes())) {
        return Err(PlaidError::invalid_request("INVALID_ORIGIN", "the Link session API only answers Link's own page")
            .with_status(axum::http::StatusCode::FORBIDDEN));
    }
    Ok(())
}
