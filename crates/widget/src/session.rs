//! Widget sessions: opening a widget URL (once) and the extractor that binds every API call to
//! the session's tenant, user and settings.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openiav_aggregation::widget_url::WidgetConfig;
use openiav_aggregation::{AppState, MxError};
use openiav_core::browser::is_cross_site;
use openiav_core::crypto::{hash_token, random_url_token};
use openiav_core::ids::{TenantId, UserGuid};
use openiav_store::records::WidgetSessionRecord;
use openiav_store::repo::widget_sessions;

/// The header the page sends its session token in.
pub const SESSION_HEADER: &str = "x-widget-session";

/// A session that an opened widget URL started.
pub struct WidgetSession {
    pub tenant: TenantId,
    pub user: UserGuid,
    pub session_guid: String,
    pub config: WidgetConfig,
}

impl WidgetSession {
    fn from_record(r: WidgetSessionRecord) -> Result<Self, MxError> {
        let config = serde_json::from_str(&r.config)
            .map_err(|e| MxError::Internal(format!("widget session {}: column config: {e}", r.session_guid)))?;
        Ok(Self { tenant: r.tenant_id, user: r.user_guid, session_guid: r.session_guid, config })
    }
}

/// Spends the widget URL `token`; on success returns the new session and its token.
pub async fn open(state: &AppState, token: &str) -> Result<Option<(WidgetSession, String)>, MxError> {
    let url_hash = hash_token(token);
    let session_token = random_url_token();
    let session_hash = hash_token(&session_token);
    // Real time: the URL's expiry and the session's are judged on its tenant's clock in SQL.
    let (now, ttl) = (state.clock.now(), state.config.widget_session_ttl_ms);
    let opened = state
        .store
        .write(move |c| Box::pin(async move { widget_sessions::open(c, &url_hash, &session_hash, now, ttl).await }))
        .await?;
    opened.map(|r| Ok((WidgetSession::from_record(r)?, session_token))).transpose()
}

fn session_expired() -> MxError {
    MxError::Forbidden("This widget session has expired. Close the widget and open a new widget URL.".into())
}

impl FromRequestParts<AppState> for WidgetSession {
    type Rejection = MxError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Browsers label every request with where it came from; only the widget's own page may call.
        if is_cross_site(parts.headers.get("sec-fetch-site").map(|v| v.as_bytes())) {
            return Err(MxError::Forbidden("The widget API only answers the widget's own page.".into()));
        }
        let token = parts.headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(session_expired)?;
        let hash = hash_token(token);
        let now = state.clock.now();
        let found =
            state.store.read(|mut c| async move { widget_sessions::find_live(&mut c, &hash, now).await }).await?;
        WidgetSession::from_record(found.ok_or_else(session_expired)?)
    }
}
