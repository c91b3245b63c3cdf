//! The session-bound API the Link page calls: open a session with a link token, search the
//! institutions, and the session's steps. Each answers where the end user stands next.

use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{PlaidError, PlaidJson};
use crate::institutions;
use crate::link::{self, Opened, Step};
use crate::session::{refuse_cross_site, LinkSession};
use crate::AppState;

/// `POST /link/api/open`.
#[derive(Deserialize)]
pub struct OpenRequest {
    pub link_token: String,
}

/// The page's own origin check, as an extractor: only the Link page may open a session.
pub struct SameSite;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SameSite {
    type Rejection = PlaidError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        refuse_cross_site(parts).map(|()| SameSite)
    }
}

pub async fn open(
    State(state): State<AppState>,
    _: SameSite,
    PlaidJson(request): PlaidJson<OpenRequest>,
) -> Result<Json<Opened>, PlaidError> {
    Ok(Json(link::open(&state, &request.link_token).await?))
}

/// `GET /link/api/institutions?query=`.
#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub query: String,
}

pub async fn institutions(_: LinkSession, Query(q): Query<SearchQuery>) -> Json<Value> {
    Json(json!({ "institutions": institutions::search(&q.query) }))
}

/// `POST /link/api/credentials`.
#[derive(Deserialize)]
pub struct CredentialsRequest {
    #[serde(default)]
    pub institution_id: String,
    pub username: String,
    pub password: String,
}

pub async fn credentials(
    State(state): State<AppState>,
    LinkSession(session): LinkSession,
    PlaidJson(r): PlaidJson<CredentialsRequest>,
) -> Result<Json<Step>, PlaidError> {
    Ok(Json(link::submit_credentials(&state, session, &r.institution_id, &r.username, &r.password).await?))
}

/// `POST /link/api/mfa`.
#[derive(Deserialize)]
pub struct MfaRequest {
    pub answers: Vec<String>,
}

pub async fn mfa(
    State(state): State<AppState>,
    LinkSession(session): LinkSession,
    PlaidJson(r): PlaidJson<MfaRequest>,
) -> Result<Json<Step>, PlaidError> {
    Ok(Json(link::submit_mfa(&state, session, &r.answers).await?))
}

/// `POST /link/api/accounts`.
#[derive(Deserialize)]
pub struct AccountsRequest {
    pub account_ids: Vec<String>,
}

pub async fn accounts(
    State(state): State<AppState>,
    LinkSession(session): LinkSession,
    PlaidJson(r): PlaidJson<AccountsRequest>,
) -> Result<Json<Step>, PlaidError> {
    Ok(Json(link::select_accounts(&state, session, &r.account_ids).await?))
}
