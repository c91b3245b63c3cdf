//! The OAuth test bank behind MX Bank (OAuth): the page an `oauth_window_uri` opens, where the
//! end user authorizes or denies access (or revokes it again), and the return to the app.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use openiav_core::aggregation::ReferralSource;
use openiav_core::crypto::hash_token;
use openiav_store::repo::members;
use serde::Deserialize;

use crate::engine::{self, OauthDecision};
use crate::status::ConnectionStatus;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize/{token}", get(page).post(decide))
        .route("/oauth/assets/complete.js", get(complete_script))
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'";

/// Tells the window that opened the bank (the Connect widget) how the authorization ended, as
/// MX's OAuth-complete page does, then offers to close the window.
const COMPLETE_JS: &str = r#"const result = document.getElementById("oauth-result");
const message = { mx: true, type: "oauthComplete/" + result.dataset.status, metadata: { member_guid: result.dataset.memberGuid } };
if (window.opener) window.opener.postMessage(message, window.location.origin);
document.getElementById("close").addEventListener("click", () => window.close());
"#;

async fn complete_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        COMPLETE_JS,
    )
        .into_response()
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b2733}}\
         button{{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem .5rem 0 0;border-radius:.4rem;border:1px solid #1f6feb;background:#fff;cursor:pointer}}\
         button.primary{{background:#1f6feb;color:#fff}}</style></head><body>{body}</body></html>"
    );
    (status, [(header::CONTENT_SECURITY_POLICY, CSP), (header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn expired() -> Response {
    html(
        StatusCode::GONE,
        "Link expired",
        "<h1>This link has expired</h1><p>This authorization link was already used or is no longer valid. Return to the app and start again.</p>",
    )
}

/// The member a live token names.
async fn member_for(state: &AppState, token: &str) -> Option<openiav_store::records::MemberRecord> {
    let hash = hash_token(token);
    let member =
        state.store.read(|mut c| async move { members::find_by_oauth_token(&mut c, &hash).await }).await.ok()??;
    let now = state.now(member.tenant_id).await.ok()?;
    member.oauth_expires_at.is_some_and(|exp| exp > now).then_some(member)
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(member) = member_for(&state, &token).await else { return expired() };
    let connected = engine::oauth_state(&member).is_ok_and(|o| o.granted)
        && member.connection_status == ConnectionStatus::Connected;
    let second = if connected {
        "<button type=\"submit\" name=\"decision\" value=\"revoke\">Revoke access</button>"
    } else {
        "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>"
    };
    let body = format!(
        "<h1>{name}</h1><p>An app is asking to connect to your accounts at {name} through openiav's test bank.</p>\
         <form method=\"post\"><button class=\"primary\" type=\"submit\" name=\"decision\" value=\"authorize\">Authorize</button>{second}</form>",
        name = escape(&member.name)
    );
    html(StatusCode::OK, "Authorize access", &body)
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
}

async fn decide(State(state): State<AppState>, Path(token): Path<String>, Form(form): Form<DecisionForm>) -> Response {
    let decision = match form.decision.as_str() {
        "authorize" => OauthDecision::Authorize,
        "deny" => OauthDecision::Deny,
        "revoke" => OauthDecision::Revoke,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "Unknown choice",
                "<h1>Unknown choice</h1><p>Choose Authorize or Deny.</p>",
            )
        }
    };
    let Some(member) = member_for(&state, &token).await else { return expired() };
    let agg = state.clone();
    let hash = hash_token(&token);
    let result = state
        .store
        .write(move |c| {
            Box::pin(async move {
                // The token is single use: whoever consumes it first wins.
                let Some(mut m) = members::find_by_oauth_token_for_update(c, &hash).await? else { return Ok(None) };
                engine::oauth_decision(c, &agg, &mut m, decision).await?;
                crate::webhooks::save_member(c, &agg, &m).await?;
                let oauth = engine::oauth_state(&m)?;
                Ok(Some((m, oauth)))
            })
        })
        .await;
    let (m, oauth) = match result {
        Ok(Some(decided)) => decided,
        Ok(None) => return expired(),
        Err(e) => {
            tracing::error!(member.guid = %member.guid, error = %e, "recording an OAuth decision failed");
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<h1>Something went wrong</h1><p>Please try again.</p>",
            );
        }
    };
    let success = decision == OauthDecision::Authorize;
    let error_reason = if decision == OauthDecision::Deny { "DENIED" } else { "CANCELLED" };
    // Back to the app: its redirect URL, or in an app (APP referral) its URL scheme.
    let app_return = oauth.client_redirect_url.clone().or_else(|| {
        (oauth.referral_source == Some(ReferralSource::App))
            .then(|| format!("{}://oauth_complete", oauth.ui_message_webview_url_scheme.as_deref().unwrap_or("mx")))
    });
    if let Some(mut target) = app_return.as_deref().and_then(|u| url::Url::parse(u).ok()) {
        {
            let mut q = target.query_pairs_mut();
            q.append_pair("status", if success { "success" } else { "error" });
            q.append_pair("member_guid", m.guid.as_str());
            if !success {
                q.append_pair("error_reason", error_reason);
            }
        }
        return Redirect::to(target.as_str()).into_response();
    }
    let (title, text) = if success {
        ("Access authorized", "You authorized access. You can close this window and return to the app.")
    } else {
        ("Access not granted", "Access was not granted. You can close this window and return to the app.")
    };
    let body = format!(
        "<h1>{title}</h1><p>{text}</p><div id=\"oauth-result\" data-status=\"{status}\" data-member-guid=\"{guid}\"></div>\
         <button type=\"button\" id=\"close\">Close window</button><script src=\"/oauth/assets/complete.js\"></script>",
        status = if success { "success" } else { "error" },
        guid = escape(m.guid.as_str()),
    );
    html(StatusCode::OK, title, &body)
}
