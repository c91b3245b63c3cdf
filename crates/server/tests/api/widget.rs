//! The Connect widget: widget URLs (MX's request and response, CORS, single use, ten minutes),
//! the page a URL opens, and the page's session-bound API, through the real server.

use std::sync::Arc;
use std::time::Duration;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{captured_logs, Client, Resp, TestApp};

const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;
const SIXTY_MINUTES_MS: i64 = 60 * 60 * 1000;
const EXPIRED: &str = "This link has expired";

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A response with its headers.
struct Raw {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Raw {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn raw(req: reqwest::RequestBuilder) -> Raw {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Raw { status, headers, text }
}

fn resp(r: Raw) -> Resp {
    let content_type = r.header("content-type").to_owned();
    let body = serde_json::from_str(&r.text).unwrap_or(Value::Null);
    Resp { status: r.status, content_type, text: r.text, body }
}

/// `{"widget_url": {"widget_type": "connect_widget", ...extra}}`.
fn widget_request(extra: Value) -> Value {
    let mut w = json!({ "widget_type": "connect_widget" });
    for (k, v) in extra.as_object().expect("an object") {
        w[k] = v.clone();
    }
    json!({ "widget_url": w })
}

async fn widget_url(c: &Client, user: &str, extra: Value) -> String {
    let r = c.post(&format!("/users/{user}/widget_urls"), widget_request(extra)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["widget_url"]["url"].as_str().unwrap().to_owned()
}

fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// The text between `start` and the next `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// Every value of `attr="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

async fn poll<F: Fn(&Value) -> bool>(s: &Session, guid: &str, done: F) -> Value {
    let mut last = Value::Null;
    for _ in 0..500 {
        let r = s.get(&format!("/members/{guid}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        last = r.body["member"].clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("member {guid} never got there; last seen {last}");
}

/// An opened widget page: its session token and boot configuration.
struct Session {
    base: String,
    http: reqwest::Client,
    url_token: String,
    token: String,
    boot: Value,
    page: Raw,
}

impl Session {
    /// Mints a widget URL for `user` with `extra` settings and opens it.
    async fn start(app: &TestApp, c: &Client, user: &str, extra: Value) -> Self {
        let url = widget_url(c, user, extra).await;
        Self::open(app, &url).await
    }

    async fn open(app: &TestApp, url: &str) -> Self {
        let page = raw(http().get(url)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let token = between(&page.text, "<meta name=\"mx-widget-session\" content=\"", "\"").unwrap().to_owned();
        let boot_json =
            between(&page.text, "<script type=\"application/json\" id=\"mx-widget-config\">", "</script>").unwrap();
        let boot = serde_json::from_str(boot_json).unwrap();
        Self { base: app.base.clone(), http: http(), url_token: token_of(url).to_owned(), token, boot, page }
    }

    /// A request to the widget API carrying this session's header.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}/md/connect/api{path}", self.base)).header("x-widget-session", &self.token)
    }

    async fn call(&self, req: reqwest::RequestBuilder, body: Option<Value>) -> Resp {
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(b.to_string()),
            None => req,
        };
        resp(raw(req).await)
    }

    async fn get(&self, path: &str) -> Resp {
        self.call(self.request(Method::GET, path), None).await
    }
    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(self.request(Method::POST, path), Some(body)).await
    }
    async fn post_empty(&self, path: &str) -> Resp {
        self.call(self.request(Method::POST, path), None).await
    }
    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(self.request(Method::PUT, path), Some(body)).await
    }

    /// The institution's credential fields as the widget lists them: (LOGIN guid, PASSWORD guid).
    async fn credential_guids(&self, code: &str) -> (String, String) {
        let r = self.get(&format!("/institutions/{code}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let creds = r.body["institution"]["credentials"].as_array().unwrap();
        let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].as_str().unwrap().to_owned();
        (guid("LOGIN"), guid("PASSWORD"))
    }

    /// `POST /members` with a username and password; `retry` names a member to connect again.
    async fn connect(&self, code: &str, username: &str, password: &str, retry: Option<&str>) -> Resp {
        let (login, pass) = self.credential_guids(code).await;
        let mut body = json!({
            "institution_code": code,
            "credentials": [{ "guid": login, "value": username }, { "guid": pass, "value": password }]
        });
        if let Some(guid) = retry {
            body["member_guid"] = json!(guid);
        }
        self.post("/members", body).await
    }

    /// Connects and returns the new member's guid.
    async fn member_guid(&self, code: &str, username: &str, password: &str) -> String {
        let r = self.connect(code, username, password, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["member"]["guid"].as_str().unwrap().to_owned()
    }

    /// Follows the member until the bank has finished working.
    async fn settle(&self, guid: &str) -> Value {
        poll(self, guid, |m| m["outcome"] != "working").await
    }

    async fn answer(&self, guid: &str, challenge: &str, value: &str) -> Resp {
        self.put(&format!("/members/{guid}/answers"), json!({ "answers": [{ "guid": challenge, "value": value }] }))
            .await
    }
}

async fn create_user_with_id(c: &Client, id: &str) -> String {
    let r = c.post("/users", json!({ "user": { "id": id } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["user"]["guid"].as_str().unwrap().to_owned()
}

async fn decide(uri: &str, decision: &str) -> Raw {
    raw(http().post(uri).form(&[("decision", decision)])).await
}

// ---- widget URLs -------------------------------------------------------------------------

#[tokio::test]
async fn widget_urls_answer_in_mx_shape_with_the_users_partner_id() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = create_user_with_id(&c, "partner-widget-1").await;

    let r = c
        .post(
            &format!("/users/{user}/widget_urls"),
            widget_request(json!({
                "mode": "verification", "color_scheme": "dark", "ui_message_version": 4,
                "include_transactions": true, "additional_product_option": "transactions",
                "wait_for_full_aggregation": true, "is_mobile_webview": false
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/vnd.mx.api.v1+json"), "{}", r.content_type);
    let w = &r.body["widget_url"];
    let keys: Vec<_> = w.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "{w}");
    assert_eq!(w["type"], "connect_widget");
    assert_eq!(w["user_id"], "partner-widget-1");
    let url = w["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/md/connect/", app.base)), "{url}");
    let token = token_of(url);
    assert!(token.len() >= 32, "{token}");
    assert!(token.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'), "{token}");
    assert_ne!(widget_url(&c, &user, json!({})).await, url, "every request mints a new URL");

    // The URL opens a widget for that user with those settings.
    let s = Session::open(&app, url).await;
    assert_eq!(s.boot["user_guid"], user.as_str());
    assert!(s.boot["session_guid"].as_str().unwrap().starts_with("SES-"), "{}", s.boot);
    assert_eq!(s.boot["api"], "/md/connect/api");
    assert_eq!(s.boot["config"]["verification"], true);
    assert_eq!(s.boot["config"]["color_scheme"], "dark");
    assert!(s.page.text.contains("data-color-scheme=\"dark\""));

    // A user without a partner id.
    let anonymous = c.create_user().await;
    let r = c.post(&format!("/users/{anonymous}/widget_urls"), widget_request(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["widget_url"]["user_id"], Value::Null);

    // The deprecated endpoint: `config` instead of `widget_url`, the user in the answer.
    let r = c
        .post(
            &format!("/users/{user}/connect_widget_url"),
            json!({ "config": { "mode": "verification", "color_scheme": "light" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["guid"], user.as_str());
    let legacy = r.body["user"]["connect_widget_url"].as_str().unwrap();
    assert!(legacy.starts_with(&format!("{}/md/connect/", app.base)), "{legacy}");
    let s = Session::open(&app, legacy).await;
    assert_eq!(s.boot["config"]["verification"], true);
    let r = c.post(&format!("/users/{user}/connect_widget_url"), json!({})).await;
    assert_eq!(r.status, 200, "no config means an aggregation widget: {}", r.text);
    let s = Session::open(&app, r.body["user"]["connect_widget_url"].as_str().unwrap()).await;
    assert_eq!(s.boot["config"]["verification"], false);

    // v20250224 names the user by partner id in the path.
    let v2 = c.v2025();
    let r = v2.post("/users/partner-widget-1/widget_urls", widget_request(json!({ "mode": "aggregation" }))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"), "{}", r.content_type);
    assert_eq!(r.body["widget_url"]["type"], "connect_widget");
    assert_eq!(r.body["widget_url"]["user_id"], "partner-widget-1");
    let s = Session::open(&app, r.body["widget_url"]["url"].as_str().unwrap()).await;
    assert_eq!(s.boot["user_guid"], user.as_str());
    let r = v2.post(&format!("/users/{user}/widget_urls"), widget_request(json!({}))).await;
    assert_eq!(r.status, 200, "the guid still works in v20250224: {}", r.text);
    // v20111101 does not take partner ids in the path.
    let r = c.post("/users/partner-widget-1/widget_urls", widget_request(json!({}))).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn widget_urls_take_booleans_and_integers_as_strings_like_the_sso_proxy_sends() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let path = format!("/users/{user}/widget_urls");
    let body = json!({ "widget_url": {
        "widget_type": "connect_widget", "is_mobile_webview": "true", "ui_message_version": "4",
        "disable_institution_search": "false", "include_transactions": "true"
    }});
    let r = c.post(&path, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = Session::open(&app, r.body["widget_url"]["url"].as_str().unwrap()).await;
    assert_eq!(s.boot["config"]["is_mobile_webview"], true, "{}", s.boot);
    assert_eq!(s.boot["config"]["disable_institution_search"], false, "{}", s.boot);
    assert_eq!(s.boot["config"]["oauth_referral_source"], "APP", "{}", s.boot);
    let r = c.post(&path, widget_request(json!({ "include_identity": "false", "update_credentials": "true" }))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .post(&format!("/users/{user}/connect_widget_url"), json!({ "config": { "is_mobile_webview": "false" } }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    for (extra, expected) in [
        (json!({ "is_mobile_webview": "maybe" }), "`widget_url.is_mobile_webview` must be true or false."),
        (json!({ "include_transactions": 1 }), "`widget_url.include_transactions` must be true or false."),
        (json!({ "ui_message_version": "four" }), "`widget_url.ui_message_version` must be an integer."),
        (json!({ "ui_message_version": 4.5 }), "`widget_url.ui_message_version` must be an integer."),
    ] {
        let r = c.post(&path, widget_request(extra.clone())).await;
        assert_eq!(r.status, 400, "{extra}: {}", r.text);
        assert_eq!(r.body["error"]["status"], 400, "{extra}");
        assert_eq!(r.error_message(), expected, "{extra}");
    }
    let r = c.post(&path, widget_request(json!({ "ui_message_version": "3" }))).await;
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("version 4"), "{}", r.text);
}

#[tokio::test]
async fn bad_widget_url_requests_are_refused_with_clear_messages() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let someone_else = c.create_user().await;
    let their_member = c.member_guid(&someone_else, "mxuser", "password", true).await;
    let path = format!("/users/{user}/widget_urls");

    let cases = [
        (json!({}), "widget_url"),
        (json!({ "widget_url": {} }), "widget_type is required"),
        (json!({ "widget_url": { "mode": "verification" } }), "widget_type is required"),
        (widget_request(json!({ "widget_type": "pulse_widget" })), "pulse_widget"),
        (widget_request(json!({ "mode": "spying" })), "`spying` is not a valid mode"),
        (widget_request(json!({ "mode": "verification,spying" })), "`spying` is not a valid mode"),
        (widget_request(json!({ "color_scheme": "pink" })), "color_scheme"),
        (widget_request(json!({ "ui_message_version": 3 })), "ui_message_version 3 is not supported"),
        (widget_request(json!({ "disable_institution_search": true })), "disable_institution_search requires"),
        (widget_request(json!({ "current_institution_code": "nope_bank" })), "`nope_bank` is not a valid"),
        (widget_request(json!({ "current_member_guid": their_member })), "is not a member of this user"),
        (widget_request(json!({ "current_member_guid": "MBR-nope" })), "is not a member of this user"),
    ];
    for (body, needle) in cases {
        let r = c.post(&path, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["status"], 400, "{body}: {}", r.text);
        assert!(r.error_message().contains(needle), "{body}: {}", r.text);
    }

    // The same settings are fine where they make sense.
    let mine = c.member_guid(&user, "mxuser", "password", true).await;
    for ok in [
        json!({ "current_member_guid": mine, "disable_institution_search": true }),
        json!({ "current_institution_code": "mxbank", "disable_institution_search": true }),
        json!({ "mode": "aggregation,verification", "ui_message_version": 4, "color_scheme": "browser" }),
    ] {
        let r = c.post(&path, widget_request(ok.clone())).await;
        assert_eq!(r.status, 200, "{ok}: {}", r.text);
    }

    // Malformed JSON.
    for text in ["{\"widget_url\": {", "", "[1, 2"] {
        let r = resp(
            raw(http()
                .post(format!("{}{path}", app.base))
                .basic_auth(&app.sandbox.mx.client_id, Some(&app.sandbox.mx.api_key))
                .header("accept", "application/vnd.mx.api.v1+json")
                .header("content-type", "application/json")
                .body(text))
            .await,
        );
        assert_eq!(r.status, 400, "{text:?}: {}", r.text);
        assert_eq!(r.body["error"]["status"], 400, "{text:?}: {}", r.text);
        assert!(!r.error_message().is_empty(), "{text:?}: {}", r.text);
    }

    // Unknown users, and another tenant's.
    let r = c.post("/users/USR-does-not-exist/widget_urls", widget_request(json!({}))).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 404);
    let r = c.post("/users/USR-does-not-exist/connect_widget_url", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let b = app.other_tenant().await;
    let r = b.post(&path, widget_request(json!({}))).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 404);
    assert_eq!(b.post(&format!("/users/{user}/connect_widget_url"), json!({})).await.status, 404);
    // Without credentials, nothing.
    let r = c.with_credentials("nobody", "nothing").post(&path, widget_request(json!({}))).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn widget_url_requests_allow_any_origin_but_the_widget_does_not() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let path = format!("{}/users/{user}/widget_urls", app.base);

    for origin in ["https://client.example", "http://localhost:3000"] {
        let pre = raw(http()
            .request(Method::OPTIONS, &path)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,accept-language"))
        .await;
        assert!(pre.status == 200 || pre.status == 204, "{}: {}", pre.status, pre.text);
        assert_eq!(pre.header("access-control-allow-origin"), "*");
        let allowed = pre.header("access-control-allow-headers").to_ascii_lowercase();
        for h in ["authorization", "content-type", "accept-language", "accept"] {
            assert!(allowed.split(',').any(|a| a.trim() == h), "{h} in {allowed}");
        }
        assert!(pre.header("access-control-allow-methods").contains("POST"), "{:?}", pre.headers);
    }
    let r = raw(http()
        .post(&path)
        .header("origin", "https://client.example")
        .basic_auth(&app.sandbox.mx.client_id, Some(&app.sandbox.mx.api_key))
        .header("accept", "application/vnd.mx.api.v1+json")
        .json(&widget_request(json!({}))))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), "*");
    let url: Value = serde_json::from_str(&r.text).unwrap();
    let url = url["widget_url"]["url"].as_str().unwrap();

    // The widget page and its API are for the widget's own origin only.
    let page = raw(http().get(url).header("origin", "https://client.example")).await;
    assert_eq!(page.status, 200);
    assert!(page.headers.get("access-control-allow-origin").is_none(), "{:?}", page.headers);
    let s = Session::open(&app, &widget_url(&c, &user, json!({})).await).await;
    let api = raw(s.request(Method::GET, "/institutions").header("origin", "https://client.example")).await;
    assert_eq!(api.status, 200, "{}", api.text);
    assert!(api.headers.get("access-control-allow-origin").is_none(), "{:?}", api.headers);
    let pre = raw(http()
        .request(Method::OPTIONS, format!("{}/md/connect/api/members", app.base))
        .header("origin", "https://client.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-widget-session,content-type"))
    .await;
    assert!(pre.headers.get("access-control-allow-origin").is_none(), "{}: {:?}", pre.status, pre.headers);
    assert!(pre.headers.get("access-control-allow-headers").is_none(), "{:?}", pre.headers);
}

#[tokio::test]
async fn widget_url_opens_once_and_then_shows_the_expiry_page() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let url = widget_url(&c, &user, json!({})).await;
    let s = Session::open(&app, &url).await;

    let again = raw(http().get(&url)).await;
    assert_eq!(again.status, 410);
    assert!(again.header("content-type").starts_with("text/html"), "{:?}", again.headers);
    assert!(again.text.contains(EXPIRED), "{}", again.text);
    assert_eq!(again.header("cache-control"), "no-store");
    assert!(!again.text.contains("mx-widget-session"));
    // Spending the URL again does not end the session it opened.
    assert_eq!(s.get("/institutions").await.status, 200);

    for unknown in ["not-a-real-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = raw(http().get(format!("{}/md/connect/{unknown}", app.base))).await;
        assert_eq!(r.status, 410, "{unknown}");
        assert!(r.text.contains(EXPIRED));
    }
    // The session token does not open pages, and the URL token is no session.
    let r = raw(http().get(format!("{}/md/connect/{}", app.base, s.token))).await;
    assert_eq!(r.status, 410);
    let r =
        raw(http().get(format!("{}/md/connect/api/institutions", app.base)).header("x-widget-session", token_of(&url)))
            .await;
    assert_eq!(r.status, 403);

    // However many requests race for a fresh URL, exactly one opens it.
    let url = widget_url(&c, &user, json!({})).await;
    let racers: Vec<_> = (0..8).map(|_| tokio::spawn(raw(http().get(url.clone())))).collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap().status);
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 410, 410, 410, 410, 410, 410, 410]);
}

#[tokio::test]
async fn widget_urls_expire_after_ten_minutes_and_sessions_after_an_hour() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let c = app.client();
    let user = c.create_user().await;
    let early = widget_url(&c, &user, json!({})).await;
    let late = widget_url(&c, &user, json!({})).await;

    clock.advance_millis(TEN_MINUTES_MS - 1);
    let s = Session::open(&app, &early).await;
    assert_eq!(s.get("/institutions").await.status, 200);
    clock.advance_millis(2);
    let r = raw(http().get(&late)).await;
    assert_eq!(r.status, 410, "ten minutes and a millisecond after minting");
    assert!(r.text.contains(EXPIRED));

    // The session opened at 10:00 - 1 ms lives sixty minutes from then.
    clock.advance_millis(SIXTY_MINUTES_MS - 3);
    assert_eq!(s.get("/institutions").await.status, 200, "one millisecond before the end");
    clock.advance_millis(2);
    let r = s.get("/institutions").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 403);
    assert!(r.error_message().contains("expired"), "{}", r.text);
    assert_eq!(s.get("/institutions/mxbank").await.status, 403);
    let r = s.post("/members", json!({ "institution_code": "mxbank", "credentials": [] })).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // A URL minted now still opens.
    let s = Session::start(&app, &c, &user, json!({})).await;
    assert_eq!(s.get("/institutions").await.status, 200);
}

// ---- the page ----------------------------------------------------------------------------

#[tokio::test]
async fn the_widget_page_carries_security_headers_and_only_same_origin_assets() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({ "mode": "verification" })).await;
    let page = &s.page;

    let csp = page.header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert!(page.header("content-type").starts_with("text/html"), "{:?}", page.headers);
    assert!(page.headers.get("x-frame-options").is_none(), "any site may frame the widget");

    // Assets come from openiav itself, by relative path; the only inline script is data.
    let html = &page.text;
    let refs: Vec<&str> = attribute_values(html, "src").into_iter().chain(attribute_values(html, "href")).collect();
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(r.starts_with('/') && !r.starts_with("//"), "{r}");
        assert!(!r.contains("http"), "{r}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"), "{html}");
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(open.contains(" src=\"/") || open.contains("type=\"application/json\""), "inline script: {open}");
    }
    for asset in refs {
        let r = raw(http().get(format!("{}{asset}", app.base))).await;
        assert_eq!(r.status, 200, "{asset}");
    }

    // The session token is new, and not the URL's.
    assert_ne!(s.token, s.url_token);
    assert!(s.token.len() >= 32);

    let js = raw(http().get(format!("{}/md/connect/assets/widget.js", app.base))).await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"), "{:?}", js.headers);
    assert!(!js.text.is_empty());
    let css = raw(http().get(format!("{}/md/connect/assets/widget.css", app.base))).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"), "{:?}", css.headers);
    for missing in ["nope.js", "widget.js.map", "..%2Fsrc%2Flib.rs"] {
        let r = raw(http().get(format!("{}/md/connect/assets/{missing}", app.base))).await;
        assert_eq!(r.status, 404, "{missing}");
    }
}

// ---- the session-bound API ---------------------------------------------------------------

#[tokio::test]
async fn the_widget_api_answers_only_its_own_pages_session() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({})).await;
    let api = |path: &str| format!("{}/md/connect/api{path}", app.base);

    let r = resp(raw(http().get(api("/institutions"))).await);
    assert_eq!(r.status, 403, "no header: {}", r.text);
    assert_eq!(r.body["error"]["status"], 403);
    assert!(!r.error_message().is_empty());
    let r = resp(raw(http().get(api("/institutions")).header("x-widget-session", "not-the-token")).await);
    assert_eq!(r.status, 403, "wrong token: {}", r.text);
    let r = resp(raw(http().get(api("/institutions")).header("x-widget-session", "")).await);
    assert_eq!(r.status, 403, "empty token: {}", r.text);
    let r = resp(raw(http().post(api("/members")).json(&json!({ "institution_code": "mxbank" }))).await);
    assert_eq!(r.status, 403, "no header on a write: {}", r.text);

    for site in ["cross-site", "same-site"] {
        let r = s.call(s.request(Method::GET, "/institutions").header("sec-fetch-site", site), None).await;
        assert_eq!(r.status, 403, "{site}: {}", r.text);
        assert_eq!(r.body["error"]["status"], 403);
        let r = s
            .call(
                s.request(Method::POST, "/members").header("sec-fetch-site", site),
                Some(json!({ "institution_code": "mxbank", "credentials": [] })),
            )
            .await;
        assert_eq!(r.status, 403, "{site}: {}", r.text);
    }
    for site in ["same-origin", "none"] {
        let r = s.call(s.request(Method::GET, "/institutions").header("sec-fetch-site", site), None).await;
        assert_eq!(r.status, 200, "{site}: {}", r.text);
    }
    assert_eq!(s.get("/institutions").await.status, 200, "no Sec-Fetch-Site (not a browser)");
}

#[tokio::test]
async fn a_session_only_sees_its_own_users_members() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let neighbour = c.create_user().await;
    let mine = c.member_guid(&user, "mxuser", "password", false).await;
    let theirs = c.member_guid(&neighbour, "mxuser", "password", false).await;
    c.settle(&user, &mine).await;
    c.settle(&neighbour, &theirs).await;
    let s = Session::start(&app, &c, &user, json!({})).await;

    let r = s.get(&format!("/members/{mine}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], mine.as_str());
    assert_eq!(r.body["member"]["outcome"], "connected");

    let r = s.get(&format!("/members/{theirs}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 404);
    assert_eq!(s.answer(&theirs, "CRD-x", "correct").await.status, 404);
    assert_eq!(s.post_empty(&format!("/members/{theirs}/oauth_window")).await.status, 404);
    let r = s.connect("mxbank", "mxuser", "SERVER_ERROR", Some(&theirs)).await;
    assert_eq!(r.status, 404, "a retry of someone else's member: {}", r.text);
    assert_eq!(c.read_member(&neighbour, &theirs).await["connection_status"], "CONNECTED", "untouched");

    // Another tenant's session sees neither; this session sees nothing of the other tenant.
    let b = app.other_tenant().await;
    let b_user = b.create_user().await;
    let b_member = b.member_guid(&b_user, "mxuser", "password", true).await;
    let bs = Session::start(&app, &b, &b_user, json!({})).await;
    assert_eq!(bs.get(&format!("/members/{b_member}")).await.status, 200);
    for guid in [&mine, &theirs] {
        assert_eq!(bs.get(&format!("/members/{guid}")).await.status, 404);
        assert_eq!(bs.answer(guid, "CRD-x", "correct").await.status, 404);
    }
    assert_eq!(s.get(&format!("/members/{b_member}")).await.status, 404);
    assert_eq!(s.post_empty(&format!("/members/{b_member}/oauth_window")).await.status, 404);
    // A member created in a session belongs to the session's user, in its tenant.
    let created = bs.member_guid("mxbank", "mxuser", "another-password").await;
    bs.settle(&created).await;
    assert_eq!(b.read_member(&b_user, &created).await["guid"], created.as_str());
    assert_eq!(c.get(&format!("/users/{user}/members/{created}")).await.status, 404);
}

#[tokio::test]
async fn verification_through_the_widget_api_connects_the_chosen_account() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({ "mode": "verification" })).await;

    let r = s.get("/institutions?search=MX%20Bank").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["institutions"].as_array().unwrap();
    let mx = list.iter().find(|i| i["code"] == "mxbank").expect("MX Bank is offered");
    assert_eq!(mx["name"], "MX Bank");
    assert_eq!(mx["instant_verification"], true);
    assert!(mx.get("credentials").is_none(), "lists carry no credential fields");
    let r = s.get("/institutions/mxbank").await;
    let creds = r.body["institution"]["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0]["field_type"], "LOGIN");
    assert_eq!(creds[1]["field_type"], "PASSWORD");
    assert!(creds.iter().all(|c| c["label"].is_string() && c["guid"].is_string()));

    let r = s.connect("mxbank", "mxuser", "password", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = &r.body["member"];
    let guid = m["guid"].as_str().unwrap().to_owned();
    assert!(guid.starts_with("MBR-"), "{guid}");
    assert_eq!(m["institution_code"], "mxbank");
    assert_eq!(m["is_oauth"], false);
    assert!(m["outcome"].is_string(), "{m}");

    let m = poll(&s, &guid, |m| m["outcome"] == "select_account").await;
    let challenges = m["challenges"].as_array().unwrap();
    assert_eq!(challenges.len(), 1, "{m}");
    let ch = &challenges[0];
    assert_eq!(ch["type"], "OPTIONS");
    let options = ch["options"].as_array().unwrap();
    assert!(!options.is_empty());
    assert!(options.iter().all(|o| o["value"].as_str().unwrap().starts_with("ACT-")), "{ch}");
    let chosen = options[0]["value"].as_str().unwrap().to_owned();

    let r = s.answer(&guid, ch["guid"].as_str().unwrap(), &chosen).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], guid.as_str());
    let m = poll(&s, &guid, |m| m["outcome"] == "connected").await;
    assert_eq!(m["has_verified_account"], true);
    assert_eq!(m["connection_status"], "CONNECTED");
    assert_eq!(m["connection_status_id"], 6);
    assert_eq!(m["message"], Value::Null);
    assert_eq!(m["challenges"], json!([]));

    // The MX API sees the same member, verified.
    let api = c.read_member(&user, &guid).await;
    assert_eq!(api["connection_status"], "CONNECTED");
    assert_eq!(
        api["background_aggregation_is_disabled"], true,
        "verification widgets do not aggregate in the background"
    );
    let numbers = c.get(&format!("/users/{user}/members/{guid}/account_numbers")).await;
    let numbers = numbers.body["account_numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    assert_eq!(numbers[0]["account_guid"], chosen.as_str());
    assert_eq!(c.get(&format!("/users/{user}/members")).await.body["members"].as_array().unwrap().len(), 1);
}

/// Picks the first offered account of a member waiting in account selection.
async fn select_first_account(s: &Session, guid: &str) {
    let m = poll(s, guid, |m| m["outcome"] == "select_account").await;
    let ch = &m["challenges"][0];
    let chosen = ch["options"][0]["value"].as_str().unwrap();
    assert_eq!(s.answer(guid, ch["guid"].as_str().unwrap(), chosen).await.status, 200);
    let m = poll(s, guid, |m| m["outcome"] == "connected").await;
    assert_eq!(m["has_verified_account"], true);
}

#[tokio::test]
async fn verification_with_transactions_and_identity_gathers_them_too() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let counts = |user: String, guid: String| {
        let c = c.clone();
        async move {
            let txns = c.get(&format!("/users/{user}/members/{guid}/transactions")).await;
            let by_user = c.get(&format!("/users/{user}/transactions")).await;
            let owners = c.get(&format!("/users/{user}/members/{guid}/account_owners")).await;
            let member = c.status(&user, &guid).await;
            (
                txns.body["pagination"]["total_entries"].as_i64().unwrap(),
                by_user.body["pagination"]["total_entries"].as_i64().unwrap(),
                owners.body["account_owners"].as_array().unwrap().len(),
                member["has_processed_transactions"].clone(),
            )
        }
    };

    let plain = Session::start(&app, &c, &user, json!({ "mode": "verification" })).await;
    let guid = plain.member_guid("mxbank", "mxuser", "password").await;
    select_first_account(&plain, &guid).await;
    assert_eq!(counts(user.clone(), guid.clone()).await, (0, 0, 0, json!(false)), "nothing asked for");

    let other = c.create_user().await;
    let extra = json!({ "mode": "verification", "include_transactions": true, "include_identity": true });
    let s = Session::start(&app, &c, &other, extra.clone()).await;
    let guid = s.member_guid("mxbank", "mxuser", "password").await;
    select_first_account(&s, &guid).await;
    let (txns, by_user, owners, processed_txns) = counts(other.clone(), guid.clone()).await;
    assert!(txns > 0 && by_user == txns, "{txns} {by_user}");
    assert!(owners > 0);
    assert_eq!(processed_txns, json!(true));
    let numbers = c.get(&format!("/users/{other}/members/{guid}/account_numbers")).await;
    assert_eq!(numbers.body["account_numbers"].as_array().unwrap().len(), 1, "still verifies one account");

    // Through OAuth, the job run after consent carries the same request.
    let third = c.create_user().await;
    let s = Session::start(&app, &c, &third, extra).await;
    let (guid, uri) = oauth_member(&s).await;
    assert_eq!(decide(&uri, "authorize").await.status, 200);
    select_first_account(&s, &guid).await;
    let (txns, _, owners, _) = counts(third.clone(), guid.clone()).await;
    assert!(txns > 0 && owners > 0, "{txns} {owners}");
}

#[tokio::test]
async fn failed_logins_show_the_institutions_message_and_a_retry_reconnects_the_same_member() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({})).await;
    let table = [
        (
            "UNAUTHORIZED",
            "denied",
            "DENIED",
            "The credentials entered do not match those at MX Bank. Please correct them below to continue.",
        ),
        (
            "LOCKED",
            "error",
            "LOCKED",
            "Your account is locked. Please log in to the appropriate website for MX Bank and follow the steps to resolve the issue.",
        ),
        (
            "SERVER_ERROR",
            "error",
            "FAILED",
            "There was a problem validating your credentials with MX Bank. Please try again later.",
        ),
    ];
    for (n, (password, outcome, status, message)) in table.into_iter().enumerate() {
        let guid = s.member_guid("mxbank", "mxuser", password).await;
        let m = s.settle(&guid).await;
        assert_eq!(m["outcome"], outcome, "{password}: {m}");
        assert_eq!(m["connection_status"], status, "{password}");
        assert_eq!(m["message"], message, "{password}");
        assert_eq!(m["challenges"], json!([]));
        assert_eq!(c.read_member(&user, &guid).await["connection_status"], status, "{password}");

        let r = s.connect("mxbank", "mxuser", "password", Some(&guid)).await;
        assert_eq!(r.status, 200, "{password}: {}", r.text);
        assert_eq!(r.body["member"]["guid"], guid.as_str(), "the same member");
        let m = poll(&s, &guid, |m| m["outcome"] != "working" && m["connection_status"] != status).await;
        assert_eq!(m["outcome"], "connected", "{password}: {m}");
        assert_eq!(m["connection_status_id"], 6);
        assert_eq!(m["message"], Value::Null);
        assert_eq!(c.read_member(&user, &guid).await["connection_status"], "CONNECTED");
        let members = c.get(&format!("/users/{user}/members")).await;
        assert_eq!(members.body["members"].as_array().unwrap().len(), n + 1, "a retry makes no new member");
    }

    // A retry must name the member's own institution and every credential.
    let guid = s.member_guid("mxbank", "mxuser", "UNAUTHORIZED").await;
    s.settle(&guid).await;
    let r = s.post("/members", json!({ "institution_code": "mx_bank_oauth", "member_guid": guid })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("another institution"), "{}", r.text);
    let r = s.post("/members", json!({ "institution_code": "mxbank", "credentials": [], "member_guid": guid })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("required"), "{}", r.text);
}

#[tokio::test]
async fn mfa_through_the_widget_api_connects_with_the_right_answer_only() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({ "mode": "aggregation" })).await;
    let guid = s.member_guid("mxbank", "mxuser", "challenge").await;
    let m = s.settle(&guid).await;
    assert_eq!(m["outcome"], "challenged", "{m}");
    assert_eq!(m["connection_status"], "CHALLENGED");
    let challenges = m["challenges"].as_array().unwrap();
    assert_eq!(challenges.len(), 1);
    assert_eq!(challenges[0]["type"], "TEXT");
    assert!(!challenges[0]["label"].as_str().unwrap().is_empty());
    let challenge = challenges[0]["guid"].as_str().unwrap().to_owned();

    let r = s.answer(&guid, &challenge, "").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("answer"), "{}", r.text);
    let r = s.put(&format!("/members/{guid}/answers"), json!({ "answers": [{ "guid": challenge }] })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s.answer(&guid, &challenge, "correct").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = poll(&s, &guid, |m| m["outcome"] != "working" && m["outcome"] != "challenged").await;
    assert_eq!(m["outcome"], "connected", "{m}");
    assert_eq!(m["has_verified_account"], false, "aggregation verifies nothing");
    assert_eq!(c.read_member(&user, &guid).await["connection_status"], "CONNECTED");
    assert!(c.get(&format!("/users/{user}/accounts")).await.body["pagination"]["total_entries"].as_u64().unwrap() > 0);

    let other = c.create_user().await;
    let s = Session::start(&app, &c, &other, json!({})).await;
    let guid = s.member_guid("mxbank", "mxuser", "challenge").await;
    let m = s.settle(&guid).await;
    let challenge = m["challenges"][0]["guid"].as_str().unwrap().to_owned();
    assert_eq!(s.answer(&guid, &challenge, "paris").await.status, 200);
    let m = poll(&s, &guid, |m| m["outcome"] != "working" && m["outcome"] != "challenged").await;
    assert_eq!(m["outcome"], "error", "{m}");
    assert_eq!(m["connection_status"], "REJECTED");
    assert_eq!(m["message"], "The answer you provided was incorrect. Please try again.");
    // Answering outside a challenge is refused.
    let r = s.answer(&guid, &challenge, "correct").await;
    assert!(r.status >= 400 && r.status < 500, "{}", r.text);
}

// ---- institutions and micro-deposits ------------------------------------------------------

fn codes(r: &Resp) -> Vec<String> {
    r.body["institutions"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn identity_widgets_offer_only_institutions_that_support_identity() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    // Citibank is popular but does not support account identification.
    let api = c.get("/institutions/citibank").await;
    assert_eq!(api.body["institution"]["supports_account_identification"], false, "{}", api.text);

    let plain = Session::start(&app, &c, &user, json!({})).await;
    assert!(codes(&plain.get("/institutions").await).contains(&"citibank".to_owned()));
    assert!(codes(&plain.get("/institutions?search=citi").await).contains(&"citibank".to_owned()));
    assert_eq!(plain.get("/institutions/citibank").await.status, 200);

    let s = Session::start(&app, &c, &user, json!({ "include_identity": true })).await;
    let popular = codes(&s.get("/institutions").await);
    assert!(popular.contains(&"mxbank".to_owned()), "{popular:?}");
    assert!(!popular.contains(&"citibank".to_owned()), "{popular:?}");
    let found = codes(&s.get("/institutions?search=citi").await);
    assert!(!found.contains(&"citibank".to_owned()), "{found:?}");
    let r = s.get("/institutions/citibank").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 404);
    let r = s.post("/members", json!({ "institution_code": "citibank", "credentials": [] })).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(s.get("/institutions/not_a_bank").await.status, 404);
}

#[tokio::test]
async fn verification_widgets_list_banks_without_instant_verification_for_micro_deposits() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({ "mode": "verification" })).await;

    let r = s.get("/institutions?search=U.S.%20Bank").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let us = r.body["institutions"].as_array().unwrap().iter().find(|i| i["name"] == "U.S. Bank").cloned();
    let us = us.expect("U.S. Bank is listed");
    assert_eq!(us["instant_verification"], false);
    let code = us["code"].as_str().unwrap();
    let r = s.connect(code, "mxuser", "password", None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 400);
    assert!(r.error_message().contains("routing and account numbers"), "{}", r.text);
    assert_eq!(c.get(&format!("/users/{user}/members")).await.body["members"], json!([]));

    let r = s
        .post(
            "/micro_deposits",
            json!({ "routing_number": "068899994", "account_number": "3331261", "account_type": "CHECKING" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = &r.body["micro_deposit"];
    let guid = d["guid"].as_str().unwrap().to_owned();
    assert!(guid.starts_with("MIC-"), "{guid}");
    assert_eq!(d["account_number_last4"], "1261");
    assert_eq!(d["routing_number"], "068899994");
    let list = c.get(&format!("/users/{user}/micro_deposits")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["pagination"]["total_entries"], 1);
    assert_eq!(list.body["micro_deposits"][0]["guid"], guid.as_str());

    let r = s
        .post(
            "/micro_deposits",
            json!({ "routing_number": "123456789", "account_number": "3331261", "account_type": "CHECKING" }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_message().contains("routing_number"), "{}", r.text);

    let agg = Session::start(&app, &c, &user, json!({ "mode": "aggregation" })).await;
    let r = agg
        .post(
            "/micro_deposits",
            json!({ "routing_number": "068899994", "account_number": "3331261", "account_type": "CHECKING" }),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["error"]["status"], 403);
    assert_eq!(c.get(&format!("/users/{user}/micro_deposits")).await.body["pagination"]["total_entries"], 1);
}

// ---- OAuth -------------------------------------------------------------------------------

async fn oauth_member(s: &Session) -> (String, String) {
    let r = s.post("/members", json!({ "institution_code": "mx_bank_oauth" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = &r.body["member"];
    assert_eq!(m["is_oauth"], true);
    assert_eq!(m["outcome"], "oauth", "{m}");
    let uri = m["oauth_window_uri"].as_str().unwrap().to_owned();
    (m["guid"].as_str().unwrap().to_owned(), uri)
}

#[tokio::test]
async fn oauth_in_the_widget_returns_to_the_widget_and_then_verifies() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(&app, &c, &user, json!({ "mode": "verification" })).await;
    let (guid, uri) = oauth_member(&s).await;
    assert!(uri.starts_with(&format!("{}/oauth/authorize/", app.base)), "{uri}");
    let m = s.get(&format!("/members/{guid}")).await.body["member"].clone();
    assert_eq!(m["outcome"], "oauth");
    assert!(m.get("oauth_window_uri").is_none(), "the window URI is only handed out once: {m}");

    let done = decide(&uri, "authorize").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("id=\"oauth-result\" data-status=\"success\""), "{}", done.text);
    assert!(done.text.contains(&format!("data-member-guid=\"{guid}\"")), "{}", done.text);
    assert!(done.text.contains("<script src=\"/oauth/assets/complete.js\"></script>"), "{}", done.text);
    let js = raw(http().get(format!("{}/oauth/assets/complete.js", app.base))).await;
    assert_eq!(js.status, 200);
    assert!(js.text.contains("oauthComplete/"));

    let m = s.settle(&guid).await;
    assert_eq!(m["outcome"], "select_account", "verification after consent: {m}");
    let ch = &m["challenges"][0];
    let chosen = ch["options"][0]["value"].as_str().unwrap();
    assert_eq!(s.answer(&guid, ch["guid"].as_str().unwrap(), chosen).await.status, 200);
    let m = poll(&s, &guid, |m| m["outcome"] == "connected").await;
    assert_eq!(m["has_verified_account"], true);
    let numbers = c.get(&format!("/users/{user}/members/{guid}/account_numbers")).await;
    assert_eq!(numbers.body["account_numbers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn oauth_in_a_mobile_webview_returns_to_the_apps_url_scheme() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let s = Session::start(
        &app,
        &c,
        &user,
        json!({ "is_mobile_webview": true, "ui_message_webview_url_scheme": "myapp", "mode": "verification" }),
    )
    .await;
    assert_eq!(s.boot["config"]["oauth_referral_source"], "APP");

    let (guid, uri) = oauth_member(&s).await;
    let r = decide(&uri, "authorize").await;
    assert!((300..400).contains(&r.status), "{}: {}", r.status, r.text);
    assert_eq!(r.header("location"), format!("myapp://oauth_complete?status=success&member_guid={guid}"));
    assert!(guid.starts_with("MBR-"));
    assert_eq!(s.settle(&guid).await["outcome"], "select_account");

    let (denied, uri) = oauth_member(&s).await;
    assert_ne!(denied, guid);
    let r = decide(&uri, "deny").await;
    assert!((300..400).contains(&r.status), "{}: {}", r.status, r.text);
    assert_eq!(
        r.header("location"),
        format!("myapp://oauth_complete?status=error&member_guid={denied}&error_reason=DENIED")
    );
    let m = s.settle(&denied).await;
    assert_eq!(m["outcome"], "error", "{m}");
    assert_eq!(m["connection_status"], "DENIED");
    assert_eq!(m["message"], "Access to MX Bank (OAuth) was not granted. To connect, try again and allow access.");

    // A new window for the same member.
    let r = s.post_empty(&format!("/members/{denied}/oauth_window")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], denied.as_str());
    assert_eq!(r.body["member"]["outcome"], "oauth");
    let again = r.body["member"]["oauth_window_uri"].as_str().unwrap().to_owned();
    assert_ne!(again, uri);
    assert_eq!(raw(http().get(&uri)).await.status, 410, "the old window is spent");
    let r = decide(&again, "authorize").await;
    assert_eq!(r.header("location"), format!("myapp://oauth_complete?status=success&member_guid={denied}"));
    assert_eq!(s.settle(&denied).await["outcome"], "select_account");

    // Retrying an OAuth member through POST /members also opens a new window.
    let (third, uri) = oauth_member(&s).await;
    decide(&uri, "deny").await;
    let r = s.post("/members", json!({ "institution_code": "mx_bank_oauth", "member_guid": third })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["guid"], third.as_str());
    assert_eq!(r.body["member"]["outcome"], "oauth");
    assert!(r.body["member"]["oauth_window_uri"].as_str().unwrap().starts_with(&app.base));

    // Credential members have no OAuth window.
    let plain = s.member_guid("mxbank", "mxuser", "password").await;
    assert_eq!(s.post_empty(&format!("/members/{plain}/oauth_window")).await.status, 400);
}

// ---- secrets -----------------------------------------------------------------------------

#[tokio::test]
async fn widget_tokens_and_passwords_stay_out_of_the_logs() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let url = widget_url(&c, &user, json!({ "mode": "verification" })).await;
    let s = Session::open(&app, &url).await;
    let canary = "widget-canary-pw-5d81be07";
    let guid = s.member_guid("mxbank", "mxuser", canary).await;
    let m = poll(&s, &guid, |m| m["outcome"] == "select_account").await;
    let ch = &m["challenges"][0];
    s.answer(&guid, ch["guid"].as_str().unwrap(), ch["options"][0]["value"].as_str().unwrap()).await;
    assert_eq!(poll(&s, &guid, |m| m["outcome"] == "connected").await["has_verified_account"], true);
    // Spent and refused requests carry the tokens too.
    assert_eq!(raw(http().get(&url)).await.status, 410);
    let r =
        raw(http().get(format!("{}/md/connect/api/institutions", app.base)).header("x-widget-session", &s.url_token))
            .await;
    assert_eq!(r.status, 403);

    let logs = captured_logs();
    assert!(!logs.is_empty(), "logging is captured");
    assert!(logs.contains("/md/connect"), "the widget's requests are logged");
    for (what, secret) in
        [("widget URL token", s.url_token.as_str()), ("session token", s.token.as_str()), ("password", canary)]
    {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }
}

#[tokio::test]
async fn widgets_requesting_investments_and_rewards_offer_only_supporting_banks_and_gather_them() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    // Chase has a rewards program but no investments in the catalog.
    let s = Session::start(&app, &c, &user, json!({ "data_request": { "products": ["investments"] } })).await;
    assert!(codes(&s.get("/institutions?search=mx%20bank").await).contains(&"mxbank".to_owned()));
    assert!(!codes(&s.get("/institutions?search=chase").await).contains(&"chase".to_owned()));
    assert_eq!(s.get("/institutions/chase").await.status, 404);
    let rewards_only = Session::start(&app, &c, &user, json!({ "data_request": { "products": ["rewards"] } })).await;
    assert!(codes(&rewards_only.get("/institutions?search=chase").await).contains(&"chase".to_owned()));

    let both = json!({ "data_request": { "products": ["investments", "rewards"] } });
    let s = Session::start(&app, &c, &user, both).await;
    let guid = s.member_guid("mxbank", "mxuser", "password").await;
    assert_eq!(s.settle(&guid).await["outcome"], "connected");
    let holdings = c.get(&format!("/users/{user}/members/{guid}/investment_holdings")).await;
    assert!(!holdings.body["investment_holdings"].as_array().unwrap().is_empty(), "{}", holdings.text);
    // Rewards come with the widget's job, without a fetch_rewards.
    let rewards = c.get(&format!("/users/{user}/members/{guid}/rewards")).await;
    assert_eq!(rewards.body["rewards"].as_array().unwrap().len(), 3, "{}", rewards.text);
}
