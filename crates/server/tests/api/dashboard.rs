//! The sandbox dashboard through the real server: logging in with either vendor's credentials,
//! the session cookie and security headers exactly as sent, redirects without a session, CSRF
//! refusals that change nothing, tenant isolation, logout, the session held only as a hash, and
//! a Reset from the dashboard keeping the session.

use openiav_core::crypto::hash_token;
use openiav_store::repo::dashboard_sessions;
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::helpers::{captured_logs, Client, TestApp};
use crate::payments::support::Dwolla;
use crate::payments::transfers::verified_personal;

const ROOT: &str = "/_openiav/dashboard";
const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A form's fields.
type Form<'a> = &'a [(&'a str, &'a str)];

/// An answer of the dashboard: status, headers and text.
struct Page {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").expect("a form with a CSRF field") + 19;
        self.text[at..].split('"').next().unwrap().to_owned()
    }

    /// The flash message the page shows, if any.
    fn flash(&self) -> Option<String> {
        let at = self.text.find("class=\"flash")?;
        let start = self.text[at..].find('>')? + at + 1;
        let end = self.text[start..].find("</p>")? + start;
        Some(self.text[start..end].to_owned())
    }
}

/// A browser-like client of one listener, holding at most one session cookie (sent by hand, so
/// the test sees the cookie exactly as the server wrote it).
struct Browser {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    flash: Option<String>,
    /// The login form's CSRF cookie, which a login post sends back in the form too.
    login: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
            cookie: None,
            flash: None,
            login: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let mut cookies = Vec::new();
        if let Some(c) = &self.cookie {
            cookies.push(format!("openiav_dashboard={c}"));
        }
        if let Some(f) = &self.flash {
            cookies.push(format!("openiav_dashboard_flash={f}"));
        }
        if let Some(l) = &self.login {
            cookies.push(format!("openiav_dashboard_login={l}"));
        }
        let req = if cookies.is_empty() { req } else { req.header("cookie", cookies.join("; ")) };
        let r = req.send().await.unwrap();
        let page = Page { status: r.status().as_u16(), headers: r.headers().clone(), text: r.text().await.unwrap() };
        for c in page.set_cookies() {
            let value = c.split(';').next().unwrap();
            if let Some(v) = value.strip_prefix("openiav_dashboard_flash=") {
                self.flash = (!v.is_empty()).then(|| v.to_owned());
            } else if let Some(v) = value.strip_prefix("openiav_dashboard_login=") {
                self.login = (!v.is_empty()).then(|| v.to_owned());
            } else if let Some(v) = value.strip_prefix("openiav_dashboard=") {
                self.cookie = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// Posts the login form as a browser would: from the login page, carrying its token.
    async fn post_login(&mut self, form: &[(&str, &str)]) -> Page {
        if self.login.is_none() {
            assert_eq!(self.get(&format!("{ROOT}/login")).await.status, 200);
        }
        let token = self.login.clone().expect("the login page sets its CSRF cookie");
        let mut form = form.to_vec();
        form.push(("login_csrf", &token));
        self.post(&format!("{ROOT}/login"), &form).await
    }

    /// Logs in with MX credentials; answers the login's response.
    async fn login_mx(&mut self, client_id: &str, api_key: &str) -> Page {
        self.post_login(&[("via", "mx"), ("client_id", client_id), ("api_key", api_key)]).await
    }

    /// Logs in as the sandbox tenant and answers the CSRF token of its session.
    async fn logged_in(app: &TestApp) -> (Self, String) {
        let mut b = Self::new(&app.base);
        let r = b.login_mx(&app.sandbox.mx.client_id, &app.sandbox.mx.api_key).await;
        assert_eq!(r.status, 303, "{}", r.text);
        let csrf = b.get(ROOT).await.csrf();
        (b, csrf)
    }
}

fn assert_security_headers(p: &Page, what: &str) {
    assert_eq!(p.header("content-security-policy"), CSP, "{what}");
    assert_eq!(p.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(p.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(p.header("cache-control"), "no-store", "{what}");
}

async fn member_of(c: &Client) -> (String, String) {
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(c.settle(&user, &member).await["connection_status"], "CONNECTED");
    (user, member)
}

#[tokio::test]
async fn mx_credentials_open_a_session_whose_cookie_is_http_only_and_same_site_strict() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app.base);
    let form = b.get(&format!("{ROOT}/login")).await;
    assert_eq!(form.status, 200);
    assert!(form.text.contains("name=\"client_id\"") && form.text.contains("name=\"secret\""), "{}", form.text);

    let r = b.login_mx(&app.sandbox.mx.client_id, &app.sandbox.mx.api_key).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), ROOT);
    let cookies = r.set_cookies();
    let token = b.cookie.clone().expect("a session cookie");
    assert_eq!(
        cookies,
        [
            format!("openiav_dashboard={token}; HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=43200"),
            "openiav_dashboard_login=; HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=0".to_owned(),
        ],
        "the session, and the spent login form's token cleared"
    );
    assert_eq!(token.len(), 43, "32 random bytes, base64url: {token}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    let overview = b.get(ROOT).await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains(&app.sandbox.id), "the overview names the tenant");

    let logs = captured_logs();
    for secret in [token.as_str(), app.sandbox.mx.api_key.as_str(), overview.csrf().as_str()] {
        assert!(!logs.contains(secret), "a credential or token reached the logs");
    }
}

#[tokio::test]
async fn dwolla_key_and_secret_open_a_session_of_the_same_tenant_on_either_listener() {
    let app = TestApp::spawn().await;
    for base in [app.payments_base.clone(), app.base.clone()] {
        let mut b = Browser::new(&base);
        let d = &app.sandbox.dwolla;
        let r = b.post_login(&[("via", "dwolla"), ("key", &d.key), ("secret", &d.secret)]).await;
        assert_eq!(r.status, 303, "{}", r.text);
        let overview = b.get(ROOT).await;
        assert_eq!(overview.status, 200);
        assert!(overview.text.contains(&app.sandbox.id));
    }
}

#[tokio::test]
async fn a_login_posted_without_the_login_forms_own_token_opens_no_session() {
    let app = TestApp::spawn().await;
    let s = &app.sandbox;
    let creds = [("via", "mx"), ("client_id", s.mx.client_id.as_str()), ("api_key", s.mx.api_key.as_str())];
    // Another site's form: right credentials, but no token, or a token without its cookie.
    let mut forged = Browser::new(&app.base);
    let r = forged.post(&format!("{ROOT}/login"), &creds).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.flash().is_some_and(|f| f.contains("expired or was not this dashboard")), "{:?}", r.flash());
    assert!(forged.cookie.is_none());
    let mut with_token = creds.to_vec();
    with_token.push(("login_csrf", "a-token-of-the-attackers-choosing"));
    let mut forged = Browser::new(&app.base);
    assert_eq!(forged.post(&format!("{ROOT}/login"), &with_token).await.status, 403);
    assert!(forged.cookie.is_none());

    // The login page's cookie with another page's token is refused too.
    let mut b = Browser::new(&app.base);
    let page = b.get(&format!("{ROOT}/login")).await;
    let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("openiav_dashboard_login=")).unwrap();
    assert_eq!(
        cookie.split_once("; ").unwrap().1,
        "HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=3600",
        "{cookie}"
    );
    let token = b.login.clone().unwrap();
    assert!(page.text.contains(&format!("name=\"login_csrf\" value=\"{token}\"")), "the forms carry it");
    assert_eq!(b.post(&format!("{ROOT}/login"), &with_token).await.status, 403);
    assert!(b.cookie.is_none());
    assert_eq!(b.post_login(&creds).await.status, 303, "the page's own form logs in");
    assert!(b.cookie.is_some());
}

#[tokio::test]
async fn wrong_or_missing_credentials_show_the_login_page_again_with_why() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app.base);
    let s = &app.sandbox;
    let wrong_key = format!("{}x", s.mx.api_key);
    let cases: [(Form, u16, &str); 6] = [
        (&[("via", "mx"), ("client_id", &s.mx.client_id), ("api_key", &wrong_key)], 401, "not a tenant"),
        (&[("via", "mx"), ("client_id", "nobody"), ("api_key", &s.mx.api_key)], 401, "not a tenant"),
        (&[("via", "dwolla"), ("key", &s.dwolla.key), ("secret", &s.mx.api_key)], 401, "not a tenant"),
        (&[("via", "mx"), ("client_id", &s.mx.client_id)], 400, "Enter both"),
        (&[("via", "dwolla"), ("key", ""), ("secret", &s.dwolla.secret)], 400, "Enter both"),
        (&[("client_id", &s.mx.client_id), ("api_key", &s.mx.api_key)], 400, "Enter both"),
    ];
    for (form, status, why) in cases {
        let r = b.post_login(form).await;
        assert_eq!(r.status, status, "{form:?}: {}", r.text);
        assert!(r.flash().is_some_and(|f| f.contains(why)), "{form:?}: {:?}", r.flash());
        assert!(r.text.contains("name=\"api_key\""), "the form again");
        let cookies = r.set_cookies();
        assert!(
            cookies.iter().all(|c| c.starts_with("openiav_dashboard_login=")),
            "no session for {form:?}: {cookies:?}"
        );
        assert_security_headers(&r, "a refused login");
    }
    assert!(b.cookie.is_none());
}

#[tokio::test]
async fn every_dashboard_answer_carries_the_csp_and_the_other_security_headers() {
    let app = TestApp::spawn().await;
    let mut anonymous = Browser::new(&app.base);
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let (user, _member) = member_of(&app.client()).await;
    let css = anonymous.get(&format!("{ROOT}/assets/style.css")).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert_security_headers(&css, "stylesheet");
    let login = anonymous.get(&format!("{ROOT}/login")).await;
    assert_security_headers(&login, "login page");
    let redirected = anonymous.get(&format!("{ROOT}/mx/users")).await;
    assert_eq!(redirected.status, 303);
    assert_security_headers(&redirected, "redirect to login");
    for path in ["", "/mx/users", "/mx/webhooks", "/dwolla/customers", "/events"] {
        let p = b.get(&format!("{ROOT}{path}")).await;
        assert_eq!(p.status, 200, "{path}: {}", p.text);
        assert!(p.header("content-type").starts_with("text/html"), "{path}");
        assert_security_headers(&p, path);
        assert!(!p.text.contains("<script") && !p.text.contains("style=\""), "{path}: no script, no inline style");
    }
    let user_page = b.get(&format!("{ROOT}/mx/users/{user}")).await;
    assert_security_headers(&user_page, "user page");
    let forbidden = b.post(&format!("{ROOT}/reset"), &[("csrf", "nope")]).await;
    assert_eq!(forbidden.status, 403);
    assert_security_headers(&forbidden, "403");
    let missing = b.get(&format!("{ROOT}/mx/users/USR-00000000-0000-0000-0000-000000000000")).await;
    assert_eq!(missing.status, 404);
    assert_security_headers(&missing, "404");
    let action = b.post(&format!("{ROOT}/reset"), &[("csrf", &csrf)]).await;
    assert_eq!(action.status, 303);
    assert_security_headers(&action, "action redirect");
}

#[tokio::test]
async fn without_a_live_session_every_page_and_action_redirects_to_login() {
    let app = TestApp::spawn().await;
    let (user, member) = member_of(&app.client()).await;
    let mut b = Browser::new(&app.base);
    for cookie in [None, Some("not-a-session".to_owned()), Some(String::new())] {
        b.cookie = cookie;
        for path in ["", "/", "/mx/users", &format!("/mx/users/{user}"), "/dwolla/customers", "/events"] {
            let p = b.get(&format!("{ROOT}{path}")).await;
            assert_eq!((p.status, p.header("location")), (303, "/_openiav/dashboard/login"), "{path}");
        }
        let forced = b
            .post(&format!("{ROOT}/mx/members/{member}/force"), &[("connection_status", "LOCKED"), ("csrf", "x")])
            .await;
        assert_eq!((forced.status, forced.header("location")), (303, "/_openiav/dashboard/login"));
    }
    let status = app.client().status(&user, &member).await;
    assert_eq!(status["connection_status"], "CONNECTED", "nothing was forced");
}

#[tokio::test]
async fn an_action_without_its_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, member) = member_of(&c).await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let (_other, other_csrf) = Browser::logged_in(&app).await;
    assert_ne!(csrf, other_csrf, "each session has its own CSRF token");
    let path = format!("{ROOT}/mx/members/{member}/force");
    for given in [None, Some(""), Some("forged"), Some(other_csrf.as_str())] {
        let mut form = vec![("connection_status", "LOCKED")];
        if let Some(t) = given {
            form.push(("csrf", t));
        }
        let r = b.post(&path, &form).await;
        assert_eq!(r.status, 403, "{given:?}");
        assert!(r.text.contains("CSRF"), "{}", r.text);
        assert_eq!(c.status(&user, &member).await["connection_status"], "CONNECTED", "{given:?} changed nothing");
    }
    let reset = b.post(&format!("{ROOT}/reset"), &[("csrf", "forged")]).await;
    assert_eq!(reset.status, 403);
    assert_eq!(c.get(&format!("/users/{user}")).await.status, 200, "a refused reset deletes nothing");

    let back = format!("{ROOT}/mx/users/{user}");
    let r = b.post(&path, &[("connection_status", "LOCKED"), ("csrf", &csrf), ("back", &back)]).await;
    assert_eq!((r.status, r.header("location")), (303, back.as_str()));
    assert_eq!(c.status(&user, &member).await["connection_status"], "LOCKED");
    let page = b.get(&back).await;
    assert_eq!(page.flash().as_deref(), Some(format!("Member {member} is now LOCKED.").as_str()));
    assert!(page.text.contains("<span class=\"status\">LOCKED</span>"));
    assert!(page.set_cookies().iter().any(|c| c.starts_with("openiav_dashboard_flash=;")), "the flash is shown once");
}

#[tokio::test]
async fn a_refused_action_says_why_and_a_redirect_never_leaves_the_dashboard() {
    let app = TestApp::spawn().await;
    let (_user, member) = member_of(&app.client()).await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let path = format!("{ROOT}/mx/members/{member}/force");
    let r = b.post(&path, &[("connection_status", "ASLEEP"), ("csrf", &csrf), ("back", "https://evil.example/")]).await;
    assert_eq!((r.status, r.header("location")), (303, ROOT), "an outside `back` goes to the overview");
    let page = b.get(ROOT).await;
    assert!(page.flash().is_some_and(|f| f.contains("`connection_status` must be one of")), "{:?}", page.flash());
    assert!(page.text.contains("role=\"alert\""));
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_on_pages_and_in_actions() {
    let app = TestApp::spawn().await;
    let other = app.other_tenant().await;
    let (user, member) = member_of(&other).await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let page = b.get(&format!("{ROOT}/mx/users/{user}")).await;
    assert_eq!(page.status, 404, "{}", page.text);
    let r =
        b.post(&format!("{ROOT}/mx/members/{member}/force"), &[("connection_status", "LOCKED"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(other.status(&user, &member).await["connection_status"], "CONNECTED");
    let fired =
        b.post(&format!("{ROOT}/mx/fire"), &[("type", "MEMBER"), ("member_guid", &member), ("csrf", &csrf)]).await;
    assert_eq!(fired.status, 404, "{}", fired.text);
    let customer = b.get(&format!("{ROOT}/dwolla/customers/6b1c7ad4-3f1f-4a39-9a47-08a0a4b9d0c1")).await;
    assert_eq!(customer.status, 404);
    let retry =
        b.post(&format!("{ROOT}/webhooks/6b1c7ad4-3f1f-4a39-9a47-08a0a4b9d0c1/retry"), &[("csrf", &csrf)]).await;
    assert_eq!(retry.status, 404);
    let users = b.get(&format!("{ROOT}/mx/users")).await;
    assert!(!users.text.contains(&user), "another tenant's user is not listed");
}

#[tokio::test]
async fn logging_out_ends_the_session_for_good() {
    let app = TestApp::spawn().await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let token = b.cookie.clone().unwrap();
    let r = b.post(&format!("{ROOT}/logout"), &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.header("location")), (303, "/_openiav/dashboard/login"));
    assert!(
        r.set_cookies()
            .contains(&"openiav_dashboard=; HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=0".to_owned()),
        "{:?}",
        r.set_cookies()
    );
    b.cookie = Some(token.clone());
    let again = b.get(ROOT).await;
    assert_eq!((again.status, again.header("location")), (303, "/_openiav/dashboard/login"), "the old cookie is dead");
    let hash = hash_token(&token);
    let found = app
        .store
        .read(|mut c| async move {
            dashboard_sessions::find_live(&mut c, &hash, openiav_core::clock::Timestamp::from_millis(0)).await
        })
        .await
        .unwrap();
    assert!(found.is_none(), "the session row is gone");
}

#[tokio::test]
async fn the_session_token_is_stored_only_as_its_hash() {
    let app = TestApp::spawn().await;
    let (b, _csrf) = Browser::logged_in(&app).await;
    let token = b.cookie.clone().unwrap();
    let lookup = |hash: String| {
        let store = app.store.clone();
        async move {
            store
                .read(|mut c| async move {
                    dashboard_sessions::find_live(&mut c, &hash, openiav_core::clock::Timestamp::from_millis(0)).await
                })
                .await
                .unwrap()
        }
    };
    let row = lookup(hash_token(&token)).await.expect("stored under the token's SHA-256");
    assert_eq!(row.tenant_id.to_string(), app.sandbox.id);
    assert_eq!(row.expires_at.millis() - row.created_at.millis(), 12 * 3600 * 1000);
    assert!(lookup(token.clone()).await.is_none(), "not under the token itself");
    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(&hash_token(&token)), "the scan reads the database");
        assert!(!text.contains(&token), "the token is nowhere in the database files");
    }
}

#[tokio::test]
async fn a_reset_from_the_dashboard_deletes_the_data_and_keeps_the_session() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (user, _member) = member_of(&c).await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let r = b.post(&format!("{ROOT}/reset"), &[("csrf", &csrf), ("back", ROOT)]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(c.get(&format!("/users/{user}")).await.status, 404, "the user went");
    let overview = b.get(ROOT).await;
    assert_eq!(overview.status, 200, "still logged in");
    assert!(overview.flash().is_some_and(|f| f.starts_with("Reset: ")), "{:?}", overview.flash());
    assert_eq!(overview.csrf(), csrf, "the same session");
    assert_eq!(c.get(&format!("/users/{user}")).await.status, 404);
}

#[tokio::test]
async fn the_snapshot_button_downloads_the_tenants_snapshot_document() {
    let app = TestApp::spawn().await;
    let (user, _member) = member_of(&app.client()).await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let r = b.post(&format!("{ROOT}/snapshot"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        format!("attachment; filename=\"openiav-snapshot-{}.json\"", app.sandbox.id)
    );
    let doc: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(
        (doc["format"].as_str(), doc["tenant"].as_str()),
        (Some("openiav-snapshot"), Some(app.sandbox.id.as_str()))
    );
    assert!(r.text.contains(&user));
    let api = app.client().get("/_openiav/snapshot").await;
    assert_eq!(api.body["tables"], doc["tables"], "the same document as GET /_openiav/snapshot");
}

#[tokio::test]
async fn values_shown_on_pages_are_escaped() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.post("/users", json!({ "user": { "id": "<script>alert(1)</script>", "email": "\"><b>x@y.z" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (mut b, _csrf) = Browser::logged_in(&app).await;
    let page = b.get(&format!("{ROOT}/mx/users")).await;
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.text);
    assert!(page.text.contains("&quot;&gt;&lt;b&gt;x@y.z"));
    assert!(!page.text.contains("<script>") && !page.text.contains("<b>x@"));
}

#[tokio::test]
async fn the_clock_page_advances_freezes_and_releases_the_tenants_clock() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let page = b.get(&format!("{ROOT}/clock")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<span class=\"status\" id=\"clock-mode\">real</span>"), "{}", page.text);
    let back = format!("{ROOT}/clock");
    let r = b.post(&format!("{ROOT}/clock/advance"), &[("duration", "24h"), ("csrf", &csrf), ("back", &back)]).await;
    assert_eq!((r.status, r.header("location")), (303, back.as_str()));
    let clock = c.get("/_openiav/clock").await;
    let offset = clock.body["offset_ms"].as_i64().unwrap();
    assert!(offset > 23 * 3600 * 1000, "the API's clock moved on a day: {}", clock.text);
    let page = b.get(&back).await;
    assert!(page.flash().is_some_and(|f| f.starts_with("Advanced 24h: the clock reads ")), "{:?}", page.flash());
    let mode = clock.body["mode"].as_str().unwrap();
    assert!(page.text.contains(&format!("id=\"clock-mode\">{mode}</span>")), "the page shows the API's mode {mode}");

    b.post(&format!("{ROOT}/clock/freeze"), &[("csrf", &csrf)]).await;
    assert_eq!(c.get("/_openiav/clock").await.body["mode"], "frozen");
    let bad = b.post(&format!("{ROOT}/clock/advance"), &[("duration", "soon"), ("csrf", &csrf), ("back", &back)]).await;
    assert_eq!(bad.status, 303);
    assert!(b.get(&back).await.flash().is_some_and(|f| !f.starts_with("Advanced")), "a bad duration says why");
    b.post(&format!("{ROOT}/clock/release"), &[("csrf", &csrf)]).await;
    assert_eq!(c.get("/_openiav/clock").await.body["mode"], "real");
    let forged = b.post(&format!("{ROOT}/clock/advance"), &[("duration", "73h"), ("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(c.get("/_openiav/clock").await.body["mode"], "real", "a refused advance moves nothing");
}

#[tokio::test]
async fn fault_rules_added_on_the_page_apply_show_in_the_journal_and_go_when_removed() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let back = format!("{ROOT}/faults");
    let form = [
        ("csrf", csrf.as_str()),
        ("back", back.as_str()),
        ("listener", "mx"),
        ("method", "GET"),
        ("path", "/users"),
        ("effect", "status"),
        ("status", "503"),
        ("count", "1"),
        ("latency_ms", ""),
        ("probability", ""),
    ];
    let r = b.post(&format!("{ROOT}/faults"), &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let rules = c.get("/_openiav/faults").await;
    let id = rules.body["rules"][0]["id"].as_str().expect("a rule").to_owned();
    assert_eq!(rules.body["rules"][0]["status"], 503);
    let page = b.get(&back).await;
    assert!(page.flash().is_some_and(|f| f.contains(&id)), "{:?}", page.flash());
    assert!(page.text.contains(&id) && page.text.contains("status 503"));

    assert_eq!(c.get("/users").await.status, 503, "the rule applies");
    assert_eq!(c.get("/users").await.status, 200, "once");
    let journal = b.get(&format!("{ROOT}/journal")).await;
    assert_eq!(journal.status, 200);
    assert!(
        journal.text.contains(&format!("<code>{id}</code>")),
        "the faulted request names its rule: {}",
        journal.text
    );
    assert!(journal.text.contains("<span class=\"status\">503</span>"));

    let bad = b
        .post(
            &format!("{ROOT}/faults"),
            &[("csrf", &csrf), ("back", &back), ("path", "/x"), ("effect", "status"), ("status", "many")],
        )
        .await;
    assert_eq!(bad.status, 303);
    assert!(b.get(&back).await.flash().is_some_and(|f| f.contains("status: &quot;many&quot; is not a whole number")));

    let r = b.post(&format!("{ROOT}/faults/{id}/remove"), &[("csrf", &csrf), ("back", &back)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(c.get("/_openiav/faults").await.body["total"], 0, "removed, and the bad rule was never added");
    let again = b.post(&format!("{ROOT}/faults/{id}/remove"), &[("csrf", &csrf), ("back", &back)]).await;
    assert_eq!(again.status, 404, "a rule that is gone is not found");
}

#[tokio::test]
async fn micro_deposits_of_both_vendors_are_forced_from_the_pages_that_list_them() {
    let app = TestApp::spawn().await;
    let (mut b, csrf) = Browser::logged_in(&app).await;

    // MX: the user's page lists the micro-deposit and forces it VERIFIED.
    let mx = app.client();
    let user = mx.create_user().await;
    let create = json!({ "micro_deposit": {
        "account_name": "Dashboard", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": "068899994"
    }});
    let r = mx.post(&format!("/users/{user}/micro_deposits"), create).await;
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let back = format!("{ROOT}/mx/users/{user}");
    let page = b.get(&back).await;
    assert!(page.text.contains(&format!("{ROOT}/mx/micro-deposits/{guid}/force")), "{}", page.text);
    let r = b
        .post(
            &format!("{ROOT}/mx/micro-deposits/{guid}/force"),
            &[("status", "VERIFIED"), ("csrf", &csrf), ("back", &back)],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, back.as_str()));
    assert_eq!(b.get(&back).await.flash().as_deref(), Some(format!("Micro-deposit {guid} is now VERIFIED.").as_str()));
    assert_eq!(
        mx.get(&format!("/users/{user}/micro_deposits/{guid}")).await.body["micro_deposit"][0]["status"],
        "VERIFIED"
    );

    // Dwolla: the customer's page shows the bank's pending micro-deposits and forces them processed.
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_personal(&d, "dash-deposits@example.com").await;
    let bank = d.bank_from_numbers(&customer, "12345678", "Deposits").await;
    let initiate = d.send(d.request(reqwest::Method::POST, &format!("/funding-sources/{bank}/micro-deposits"))).await;
    assert_eq!(initiate.status, 201, "{}", initiate.text);
    let back = format!("{ROOT}/dwolla/customers/{customer}");
    let path = format!("{ROOT}/dwolla/funding-sources/{bank}/micro-deposits/force");
    assert!(b.get(&back).await.text.contains(&path));
    let r = b.post(&path, &[("status", "processed"), ("csrf", &csrf), ("back", &back)]).await;
    assert_eq!((r.status, r.header("location")), (303, back.as_str()));
    let flash = b.get(&back).await.flash();
    assert_eq!(
        flash.as_deref(),
        Some(format!("The micro-deposits of funding source {bank} are now processed.").as_str())
    );
    assert_eq!(d.get(&format!("/funding-sources/{bank}/micro-deposits")).await.body["status"], "processed");
    let again = b.post(&path, &[("status", "failed"), ("csrf", &csrf), ("back", &back)]).await;
    assert_eq!(again.status, 303);
    assert!(b.get(&back).await.flash().is_some_and(|f| !f.contains("now failed")), "a second outcome is refused");
}

#[tokio::test]
async fn the_account_page_lists_its_own_sources_and_transfers_and_fires_about_a_bank_transfer() {
    let app = TestApp::spawn().await;
    let (mut b, csrf) = Browser::logged_in(&app).await;
    let d = Dwolla::sandbox(&app).await;
    let p = crate::payments::transfers::pair(&d).await;
    let sources = d.get(&format!("/accounts/{}/funding-sources", app.sandbox.id)).await;
    let listed = sources.body["_embedded"]["funding-sources"].as_array().unwrap().clone();
    let (_, balance) = crate::payments::transfers::account_sources(&d, &app.sandbox.id).await;
    // A customer's bank pays the account: the transfer has the account on one side and a debit leg.
    let t = d.post("/transfers", crate::payments::transfers::body(&p.a_bank, &balance, "3.00")).await.created_id();
    // Its leg: the one bank transfer so far.
    let leg = crate::control_fire::newest_leg(&d).await;
    let between = d.post("/transfers", crate::payments::transfers::body(&p.a_bank, &p.b_balance, "1.00")).await;
    let between = between.created_id();

    let page = b.get(&format!("{ROOT}/dwolla/account")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_security_headers(&page, "the account page");
    for f in &listed {
        assert!(page.text.contains(f["id"].as_str().unwrap()), "the account's {} is listed", f["type"]);
    }
    assert!(page.text.contains(&t), "the transfer to the account is listed");
    assert!(!page.text.contains(&between), "a transfer between customers is not the account's");
    assert!(page.text.contains("<option value=\"transfer_completed\">"), "account transfers fire unprefixed topics");
    assert!(page.text.contains("<option value=\"funding_source_removed\">"));

    // The leg is listed with its own fire form; firing about it writes the customer's event.
    assert!(page.text.contains(&format!("value=\"{leg}\"")), "{}", page.text);
    let back = format!("{ROOT}/dwolla/account");
    let r = b
        .post(
            &format!("{ROOT}/dwolla/fire"),
            &[("topic", "customer_bank_transfer_completed"), ("resource_id", &leg), ("csrf", &csrf), ("back", &back)],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, back.as_str()));
    let flash = b.get(&back).await.flash().unwrap();
    let fired = flash.strip_prefix("Fired customer_bank_transfer_completed event ").expect(&flash);
    let event = d.get(&format!("/events/{}", fired.trim_end_matches('.'))).await;
    assert_eq!(event.status, 200, "{}", event.text);
    assert_eq!(event.body["_links"]["resource"]["href"], format!("{}/transfers/{leg}", app.payments_base));

    // The customer's page lists the same leg, and firing a transfer topic tells both customers.
    let back = format!("{ROOT}/dwolla/customers/{}", p.a);
    assert!(b.get(&back).await.text.contains(&format!("value=\"{leg}\"")));
    let r = b
        .post(
            &format!("{ROOT}/dwolla/fire"),
            &[("topic", "customer_transfer_created"), ("resource_id", &between), ("csrf", &csrf), ("back", &back)],
        )
        .await;
    assert_eq!(r.status, 303);
    let flash = b.get(&back).await.flash().unwrap();
    let ids = flash.strip_prefix("Fired customer_transfer_created events ").expect(&flash);
    assert_eq!(ids.trim_end_matches('.').split(", ").count(), 2, "{flash}");
}

#[tokio::test]
async fn long_lists_page_back_from_the_newest() {
    let app = TestApp::spawn().await;
    let (mut b, _) = Browser::logged_in(&app).await;
    let mx = app.client();
    let mut guids = Vec::new();
    for _ in 0..105 {
        guids.push(mx.create_user().await);
    }
    let first = b.get(&format!("{ROOT}/mx/users")).await;
    assert!(first.text.contains("105 users, newest first: page 1 of 2."), "{}", first.text);
    assert!(first.text.contains(&guids[104]) && first.text.contains(&guids[5]));
    assert!(!first.text.contains(&guids[4]), "the five oldest are on the next page");
    assert!(first.text.contains("href=\"/_openiav/dashboard/mx/users?page=2\" rel=\"next\">Older</a>"));
    assert!(!first.text.contains("rel=\"prev\""));
    let second = b.get(&format!("{ROOT}/mx/users?page=2")).await;
    assert!(second.text.contains("page 2 of 2."));
    for g in &guids[..5] {
        assert!(second.text.contains(g.as_str()));
    }
    assert!(!second.text.contains(&guids[5]));
    assert!(second.text.contains("href=\"/_openiav/dashboard/mx/users?page=1\" rel=\"prev\">Newer</a>"));
    assert!(!second.text.contains("rel=\"next\""));
    let past = b.get(&format!("{ROOT}/mx/users?page=9")).await;
    assert_eq!(past.status, 200);
    assert!(past.text.contains("None yet."), "a page past the end is empty");
    let nonsense = b.get(&format!("{ROOT}/mx/users?page=zz")).await;
    assert!(nonsense.text.contains("page 1 of 2."), "not a number: the first page");

    let d = Dwolla::sandbox(&app).await;
    for i in 0..3 {
        verified_personal(&d, &format!("pages-{i}@example.com")).await;
    }
    let customers = b.get(&format!("{ROOT}/dwolla/customers?page=1")).await;
    assert!(customers.text.contains("3 customers, newest first: page 1 of 1."), "{}", customers.text);
    let events = b.get(&format!("{ROOT}/events")).await;
    assert!(events.text.contains("events, newest first: page 1 of 1."), "{}", events.text);
}

#[tokio::test]
async fn an_expired_sessions_cookie_is_taken_off_the_browser_on_the_way_to_login() {
    let app = TestApp::spawn().await;
    let (mut b, _) = Browser::logged_in(&app).await;
    let token = b.cookie.clone().unwrap();
    let hash = hash_token(&token);
    app.store.write(move |c| Box::pin(async move { dashboard_sessions::delete(c, &hash).await })).await.unwrap();
    let r = b.get(&format!("{ROOT}/events")).await;
    assert_eq!((r.status, r.header("location")), (303, "/_openiav/dashboard/login"));
    assert!(
        r.set_cookies()
            .contains(&"openiav_dashboard=; HttpOnly; SameSite=Strict; Path=/_openiav/dashboard; Max-Age=0".to_owned()),
        "{:?}",
        r.set_cookies()
    );
    assert!(b.cookie.is_none());
}

#[tokio::test]
async fn transfers_on_the_account_and_customer_pages_page_back_from_the_newest() {
    let app = TestApp::spawn().await;
    let (mut b, _) = Browser::logged_in(&app).await;
    let d = Dwolla::sandbox(&app).await;
    let p = crate::payments::transfers::pair(&d).await;
    let (_, balance) = crate::payments::transfers::account_sources(&d, &app.sandbox.id).await;
    let mut ids = Vec::new();
    for _ in 0..101 {
        ids.push(
            d.post("/transfers", crate::payments::transfers::body(&p.a_bank, &balance, "0.01")).await.created_id(),
        );
    }
    for path in [format!("{ROOT}/dwolla/account"), format!("{ROOT}/dwolla/customers/{}", p.a)] {
        let first = b.get(&path).await;
        assert!(first.text.contains("101 transfers, newest first: page 1 of 2."), "{path}: {}", first.text);
        assert!(first.text.contains(&ids[100]) && first.text.contains(&ids[1]));
        assert!(!first.text.contains(&ids[0]), "{path}: the oldest is on the next page");
        assert!(first.text.contains(&format!("href=\"{path}?page=2\" rel=\"next\">Older</a>")), "{}", first.text);
        let second = b.get(&format!("{path}?page=2")).await;
        assert!(second.text.contains("page 2 of 2.") && second.text.contains(&ids[0]));
        assert!(!second.text.contains(&ids[1]));
    }
}
