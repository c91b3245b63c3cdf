//! The widget page a widget URL opens (or the expiry page, once the URL is spent or stale),
//! with the security headers both carry.

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use openiav_aggregation::widget_url::WIDGET_PATH;
use openiav_aggregation::AppState;
use serde_json::json;

use crate::session::{self, WidgetSession};

/// Scripts, styles and calls only from openiav itself; images may be inline (logos, challenge
/// images). Any site may frame the widget, as any MX client may embed MX's.
const WIDGET_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors *";
const STATIC_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

fn headers(csp: &'static str) -> [(HeaderName, &'static str); 5] {
    [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
    ]
}

/// JSON that is safe inside a `<script type="application/json">` element.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

pub async fn open(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match session::open(&state, &token).await {
        Ok(Some((session, session_token))) => widget_page(&session, &session_token),
        Ok(None) => message_page(
            StatusCode::GONE,
            "This link has expired",
            "This widget link was already used or is more than ten minutes old. Close the widget and start again \
             to get a new link.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "opening a widget URL failed");
            message_page(StatusCode::SERVICE_UNAVAILABLE, "Something went wrong", "Please try again in a moment.")
        }
    }
}

fn widget_page(session: &WidgetSession, session_token: &str) -> Response {
    let boot = json!({
        "user_guid": session.user,
        "session_guid": session.session_guid,
        "api": format!("{WIDGET_PATH}/api"),
        "config": session.config,
    });
    let scheme = session.config.color_scheme;
    let page = format!(
        "<!doctype html><html lang=\"en\" data-color-scheme=\"{scheme}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Connect your account</title>\
         <meta name=\"mx-widget-session\" content=\"{session_token}\">\
         <link rel=\"stylesheet\" href=\"{WIDGET_PATH}/assets/widget.css\">\
         <script type=\"application/json\" id=\"mx-widget-config\">{boot}</script>\
         <script type=\"module\" src=\"{WIDGET_PATH}/assets/widget.js\"></script></head>\
         <body><div id=\"mx-widget\" data-step=\"loading\"><main><p role=\"status\">Loading…</p></main></div>\
         <div id=\"mx-live\" class=\"visually-hidden\" aria-live=\"polite\"></div></body></html>",
        boot = script_json(&boot),
    );
    (StatusCode::OK, headers(WIDGET_CSP), Html(page)).into_response()
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>body{{font-family:system-ui,\
         sans-serif;margin:2rem 1.25rem;color:#1b2733}}h1{{font-size:1.3rem}}</style></head><body><main>\
         <h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    (status, headers(STATIC_CSP), Html(page)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_element() {
        let s = script_json(&json!({ "x": "</script><script>alert(1)</script>&" }));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["x"], "</script><script>alert(1)</script>&");
    }
}
