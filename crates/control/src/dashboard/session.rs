//! Logging in to the dashboard with the tenant's own credentials (MX client id and API key, or
//! Dwolla key and secret, checked by the very code the APIs check them with), the session it
//! opens (a random token in an `HttpOnly`, `SameSite=Strict` cookie, stored only as its SHA-256
//! in the store so every openiav process sharing the database knows it), the CSRF token every
//! action form carries (and the login form's own, in a cookie of its own, so another site cannot
//! log a browser in to a tenant of its choosing), logging out, and the one-shot flash message a
//! redirect carries.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openiav_core::clock::{Clock, SystemClock, Timestamp};
use openiav_core::crypto::{hash_token, random_url_token, token_matches};
use openiav_core::ids::TenantId;
use openiav_store::records::DashboardSessionRecord;
use openiav_store::repo::dashboard_sessions;

use super::render::{self, escape};
use super::ROOT;
use crate::{AppState, ControlCode, ControlError};

/// The session cookie.
pub const COOKIE: &str = "openiav_dashboard";
/// The cookie a redirect leaves its flash message in, read (and cleared) by the next page.
pub const FLASH_COOKIE: &str = "openiav_dashboard_flash";
/// The cookie holding the login form's CSRF token (the form carries the same value).
pub const LOGIN_COOKIE: &str = "openiav_dashboard_login";
/// How long a login form stays good.
const LOGIN_FORM_LIFETIME_SECS: i64 = 3600;
/// How long a session lives.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 3600;
/// The largest action form the dashboard reads.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Sessions run on the wall clock, not the sandbox's: moving the sandbox's time on (to age a
/// transfer or expire a challenge) must not log the person doing it out.
fn now() -> Timestamp {
    SystemClock.now()
}

/// A message shown once on the page a redirect lands on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flash {
    Ok(String),
    Error(String),
}

impl Flash {
    fn encode(&self) -> String {
        let (kind, msg) = match self {
            Flash::Ok(m) => ("ok", m),
            Flash::Error(m) => ("error", m),
        };
        format!("{kind}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(msg.as_bytes()))
    }

    fn decode(value: &str) -> Option<Self> {
        let (kind, b64) = value.split_once('.')?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b64).ok()?;
        let msg = String::from_utf8(raw).ok()?.chars().take(500).collect();
        match kind {
            "ok" => Some(Flash::Ok(msg)),
            "error" => Some(Flash::Error(msg)),
            _ => None,
        }
    }
}

/// The value of cookie `name` in the request.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A dashboard cookie: `HttpOnly`, `SameSite=Strict`, for the dashboard's paths only (the
/// dashboard's middleware adds `Secure` over TLS). A `max_age` of 0 takes it off the browser.
fn cookie_line(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path={ROOT}; Max-Age={max_age}")
}

fn set_cookie(response: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Takes the flash message off the browser once shown.
pub fn clear_flash(response: &mut Response) {
    set_cookie(response, cookie_line(FLASH_COOKIE, "", 0));
}

/// A 303 to `to` (a dashboard path), carrying `flash` to the page there.
pub fn redirect(to: &str, flash: Option<Flash>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    if let Some(flash) = flash {
        let value = flash.encode();
        set_cookie(&mut response, cookie_line(FLASH_COOKIE, &value, 60));
    }
    response
}

/// A logged-in dashboard session: whose it is, its CSRF token, and the flash message waiting.
#[derive(Clone, Debug)]
pub struct Session {
    pub tenant: TenantId,
    pub csrf: String,
    token_hash: String,
    pub flash: Option<Flash>,
}

impl FromRequestParts<AppState> for Session {
    /// Without a live session: a 303 to the login page.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || redirect(&format!("{ROOT}/login"), None);
        let token = cookie(parts, COOKIE).filter(|t| !t.is_empty()).ok_or_else(to_login)?;
        let hash = hash_token(token);
        let lookup = hash.clone();
        let found = state
            .store
            .read(|mut c| async move { dashboard_sessions::find_live(&mut c, &lookup, now()).await })
            .await
            .map_err(|e| failure(e.into()))?;
        // An expired or ended session's cookie is taken off the browser on the way to logging in.
        let record = found.ok_or_else(|| {
            let mut response = to_login();
            set_cookie(&mut response, cookie_line(COOKIE, "", 0));
            response
        })?;
        let flash = cookie(parts, FLASH_COOKIE).and_then(Flash::decode);
        Ok(Session { tenant: record.tenant_id, csrf: record.csrf_token, token_hash: hash, flash })
    }
}

/// A submitted action form of a live session whose CSRF token matched; anything else never
/// reaches the handler (no session: to the login page; a wrong or missing token: a 403 page).
pub struct Posted {
    pub session: Session,
    fields: Vec<(String, String)>,
}

impl Posted {
    /// The value of field `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The page to come back to: the form's `back` if it is a dashboard path, else the overview.
    pub fn back(&self) -> String {
        match self.get("back") {
            Some(b) if is_dashboard_path(b) => b.to_owned(),
            _ => ROOT.to_owned(),
        }
    }
}

/// Whether `path` is one of the dashboard's own paths (so a redirect to it stays on the dashboard).
fn is_dashboard_path(path: &str) -> bool {
    (path == ROOT || path.starts_with(&format!("{ROOT}/")))
        && !path.contains("//")
        && !path.contains("..")
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
}

fn form_fields(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| render::error_page(StatusCode::BAD_REQUEST, "Bad request", "The form could not be read."))?;
        let fields = form_fields(&bytes);
        let given = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
        // Compared as hashes, in constant time.
        if given.is_empty() || !token_matches(given, &hash_token(&session.csrf)) {
            return Err(render::error_page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This form is stale or did not come from the dashboard (its CSRF token does not match). \
                 Nothing was changed; go back, reload the page and try again.",
            ));
        }
        Ok(Posted { session, fields })
    }
}

/// The page for a control-plane failure while showing a page: 404 for another tenant's or an
/// unknown id, 400 for a bad request, else an opaque 500.
pub fn failure(e: ControlError) -> Response {
    match e.code {
        ControlCode::NotFound => render::error_page(StatusCode::NOT_FOUND, "Not found", &e.message),
        ControlCode::BadRequest | ControlCode::Conflict => {
            render::error_page(StatusCode::BAD_REQUEST, "Bad request", &e.message)
        }
        ControlCode::Unauthorized | ControlCode::ServerError => render::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "An internal error occurred; the server's log says more.",
        ),
    }
}

/// After an action: back to the page with the outcome as a flash message. An unknown (or
/// another tenant's) id is a 404 page, an internal failure a 500 page.
pub fn after(back: &str, outcome: Result<String, ControlError>) -> Response {
    match outcome {
        Ok(done) => redirect(back, Some(Flash::Ok(done))),
        Err(e) => match e.code {
            ControlCode::BadRequest | ControlCode::Conflict => redirect(back, Some(Flash::Error(e.message))),
            _ => failure(e),
        },
    }
}

fn login_form(message: Option<&str>, token: &str) -> String {
    let message =
        message.map(|m| format!("<p class=\"flash error\" role=\"alert\">{}</p>", escape(m))).unwrap_or_default();
    let token = format!("<input type=\"hidden\" name=\"login_csrf\" value=\"{}\">", escape(token));
    format!(
        "{message}<p>Log in with the credentials of a tenant: its MX client id and API key, or its Dwolla \
         application key and secret (<code>openiav serve</code> prints the sandbox tenant's).</p>\
         <div class=\"logins\">\
         <form method=\"post\" action=\"{ROOT}/login\" class=\"login\"><fieldset><legend>MX credentials</legend>\
         <input type=\"hidden\" name=\"via\" value=\"mx\">{token}\
         <label for=\"mx-client-id\">Client id</label>\
         <input id=\"mx-client-id\" name=\"client_id\" autocomplete=\"username\" required>\
         <label for=\"mx-api-key\">API key</label>\
         <input id=\"mx-api-key\" name=\"api_key\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Log in with MX credentials</button></fieldset></form>\
         <form method=\"post\" action=\"{ROOT}/login\" class=\"login\"><fieldset><legend>Dwolla credentials</legend>\
         <input type=\"hidden\" name=\"via\" value=\"dwolla\">{token}\
         <label for=\"dwolla-key\">Key</label>\
         <input id=\"dwolla-key\" name=\"key\" autocomplete=\"username\" required>\
         <label for=\"dwolla-secret\">Secret</label>\
         <input id=\"dwolla-secret\" name=\"secret\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Log in with Dwolla credentials</button></fieldset></form></div>"
    )
}

/// The login page, with a fresh login CSRF token in its forms and in its cookie.
fn login_page_with(status: StatusCode, message: Option<&str>) -> Response {
    let token = random_url_token();
    let mut response = render::bare(status, "Log in", &login_form(message, &token));
    set_cookie(&mut response, cookie_line(LOGIN_COOKIE, &token, LOGIN_FORM_LIFETIME_SECS));
    response
}

/// `GET /_openiav/dashboard/login`.
pub async fn login_page() -> Response {
    login_page_with(StatusCode::OK, None)
}

/// Whether the posted login form carries the token its cookie holds (a form posted from another
/// site has no such cookie: it is `SameSite=Strict`).
fn login_form_is_ours(parts: &Parts, fields: &[(String, String)]) -> bool {
    let posted = fields.iter().find(|(k, _)| k == "login_csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    match cookie(parts, LOGIN_COOKIE) {
        Some(kept) if !kept.is_empty() && !posted.is_empty() => token_matches(posted, &hash_token(kept)),
        _ => false,
    }
}

/// Why a login did not go through.
enum Refused {
    Incomplete,
    Wrong,
}

/// The tenant of MX Basic credentials, through the aggregation API's own extractor.
async fn mx_tenant(state: &AppState, client_id: &str, api_key: &str) -> Result<Option<TenantId>, ControlError> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{api_key}"));
    let Ok(request) = Request::builder().header(header::AUTHORIZATION, format!("Basic {basic}")).body(()) else {
        return Ok(None);
    };
    let (mut parts, ()) = request.into_parts();
    match openiav_aggregation::auth::Tenant::from_request_parts(&mut parts, &state.aggregation).await {
        Ok(t) => Ok(Some(t.0)),
        Err(openiav_aggregation::MxError::Unauthorized) => Ok(None),
        Err(e) => Err(crate::force::from_mx(e, "tenant")),
    }
}

async fn tenant_of(state: &AppState, fields: &[(String, String)]) -> Result<Result<TenantId, Refused>, ControlError> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let found = match get("via") {
        Some("mx") => {
            let (Some(id), Some(key)) = (get("client_id"), get("api_key")) else { return Ok(Err(Refused::Incomplete)) };
            mx_tenant(state, id, key).await?
        }
        Some("dwolla") => {
            let (Some(key), Some(secret)) = (get("key"), get("secret")) else { return Ok(Err(Refused::Incomplete)) };
            openiav_payments::auth::client_tenant(&state.payments, key.to_owned(), secret).await?.map(|t| t.id)
        }
        _ => return Ok(Err(Refused::Incomplete)),
    };
    Ok(found.ok_or(Refused::Wrong))
}

/// `POST /_openiav/dashboard/login`: opens a session for the credentials' tenant.
pub async fn login(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return login_page_with(StatusCode::PAYLOAD_TOO_LARGE, Some("That form is too large."));
    };
    let fields = form_fields(&body);
    if !login_form_is_ours(&parts, &fields) {
        return login_page_with(
            StatusCode::FORBIDDEN,
            Some("This login form has expired or was not this dashboard's. Log in again here."),
        );
    }
    let tenant = match tenant_of(&state, &fields).await {
        Ok(Ok(tenant)) => tenant,
        Ok(Err(Refused::Incomplete)) => {
            return login_page_with(
                StatusCode::BAD_REQUEST,
                Some("Enter both the MX client id and API key, or both the Dwolla key and secret."),
            )
        }
        Ok(Err(Refused::Wrong)) => {
            return login_page_with(
                StatusCode::UNAUTHORIZED,
                Some("Those credentials are not a tenant's. Check them and try again."),
            )
        }
        Err(e) => return failure(e),
    };
    let token = random_url_token();
    let at = now();
    let record = DashboardSessionRecord {
        token_hash: hash_token(&token),
        tenant_id: tenant,
        csrf_token: random_url_token(),
        created_at: at,
        expires_at: at.plus_millis(SESSION_LIFETIME_SECS * 1000),
    };
    let saved = state
        .store
        .write(move |c| {
            Box::pin(async move {
                dashboard_sessions::delete_expired(c, at).await?;
                dashboard_sessions::insert(c, &record).await
            })
        })
        .await;
    if let Err(e) = saved {
        return failure(e.into());
    }
    tracing::info!(tenant = %tenant, "dashboard login");
    let mut response = redirect(ROOT, None);
    set_cookie(&mut response, cookie_line(COOKIE, &token, SESSION_LIFETIME_SECS));
    set_cookie(&mut response, cookie_line(LOGIN_COOKIE, "", 0));
    response
}

/// `POST /_openiav/dashboard/logout`: ends the session and takes the cookie off the browser.
pub async fn logout(State(state): State<AppState>, posted: Posted) -> Response {
    let hash = posted.session.token_hash.clone();
    if let Err(e) =
        state.store.write(move |c| Box::pin(async move { dashboard_sessions::delete(c, &hash).await })).await
    {
        return failure(e.into());
    }
    let mut response = redirect(&format!("{ROOT}/login"), None);
    set_cookie(&mut response, cookie_line(COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_message_survives_its_cookie_and_a_forged_one_is_dropped() {
        for f in [Flash::Ok("Member MBR-1 is LOCKED.".into()), Flash::Error("<b>no</b>; \"x\"".into())] {
            assert_eq!(Flash::decode(&f.encode()), Some(f.clone()));
            assert!(f.encode().chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        }
        assert_eq!(Flash::decode("warn.aGk"), None);
        assert_eq!(Flash::decode("ok.***"), None);
        assert_eq!(Flash::decode("nodot"), None);
    }

    #[test]
    fn only_dashboard_paths_are_places_to_come_back_to() {
        for ok in [ROOT, "/_openiav/dashboard/mx/users/USR-1", "/_openiav/dashboard/dwolla/customers/ab-12"] {
            assert!(is_dashboard_path(ok), "{ok}");
        }
        for bad in [
            "https://example.com/",
            "//example.com",
            "/_openiav/dashboardx",
            "/_openiav/dashboard//evil",
            "/_openiav/dashboard/../reset",
            "/_openiav/dashboard/a?b=c",
            "/",
        ] {
            assert!(!is_dashboard_path(bad), "{bad}");
        }
    }
}
