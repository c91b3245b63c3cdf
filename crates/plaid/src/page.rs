//! What the browser loads: the Link script a host page includes (in place of Plaid's CDN
//! script), the Link page its iframe shows, and the page's script and styles, all compiled in.

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::{AppState, LINK_PATH};

/// Scripts, styles and calls only from openiav itself. Any site may frame Link, as any Plaid
/// client may embed Plaid's.
const LINK_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors *";

const INITIALIZE_JS: &str = include_str!("../assets/link-initialize.js");
const LINK_JS: &str = include_str!("../assets/link.js");
const LINK_CSS: &str = include_str!("../assets/link.css");

/// Where the Link script puts the origin it talks to.
const ORIGIN_PLACEHOLDER: &str = "__OPENIAV_LINK_ORIGIN__";

fn no_store(content_type: &'static str) -> [(HeaderName, &'static str); 3] {
    [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

/// The origin of a base URL (`http://host:port`), which the script posts to and accepts from.
pub fn origin_of(base: &str) -> String {
    let trimmed = base.trim_end_matches('/');
    match trimmed.find("://") {
        Some(i) => match trimmed[i + 3..].find('/') {
            Some(j) => trimmed[..i + 3 + j].to_owned(),
            None => trimmed.to_owned(),
        },
        None => trimmed.to_owned(),
    }
}

/// `GET /link/v2/stable/link-initialize.js`: `window.Plaid`, bound to this server's origin.
pub async fn initialize(State(state): State<AppState>) -> Response {
    let origin = serde_json::to_string(&origin_of(&state.config.public_base_url)).expect("a string serialises");
    let script = INITIALIZE_JS.replace(&format!("\"{ORIGIN_PLACEHOLDER}\""), &origin);
    // The host page is anywhere; the script itself carries nothing secret.
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    (StatusCode::OK, no_store("text/javascript; charset=utf-8"), cors, script).into_response()
}

/// `GET /link/v2/stable/link.html`: the page Link's iframe shows. It holds no token: the
/// link token arrives from the host page by postMessage.
pub async fn page() -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Link your bank</title>\
         <link rel=\"stylesheet\" href=\"{LINK_PATH}/assets/link.css\">\
         <script type=\"module\" src=\"{LINK_PATH}/assets/link.js\"></script></head>\
         <body><div id=\"plaid-link\" class=\"backdrop\"><main class=\"pane\" data-view=\"LOADING\">\
         <p role=\"status\">Loading…</p></main></div></body></html>"
    );
    let headers = [
        (header::CONTENT_SECURITY_POLICY, LINK_CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
    ];
    (StatusCode::OK, headers, Html(page)).into_response()
}

/// `GET /link/v2/stable/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "link.js" => (StatusCode::OK, no_store("text/javascript; charset=utf-8"), LINK_JS).into_response(),
        "link.css" => (StatusCode::OK, no_store("text/css; charset=utf-8"), LINK_CSS).into_response(),
        _ => crate::error::PlaidError::invalid_request("NOT_FOUND", "no such asset")
            .with_status(StatusCode::NOT_FOUND)
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://iav.example.com/base/"), "https://iav.example.com");
        assert_eq!(origin_of("http://h:1/"), "http://h:1");
    }

    #[test]
    fn the_script_carries_the_placeholder_it_is_served_with() {
        assert!(INITIALIZE_JS.contains(&format!("\"{ORIGIN_PLACEHOLDER}\"")));
    }
}
