//! A Dwolla API client for tests (it checks the media type of every answer), the token
//! request, and the steps of the MX open-banking flow.

use std::time::Duration;

use base64::Engine;
use openiav_core::ids::TenantId;
use openiav_store::repo::tenants::{self, PaymentSettings};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Client, Resp, TestApp};

/// Dwolla's media type.
pub const HAL: &str = "application/vnd.dwolla.v1.hal+json";
/// The `profile` parameter of error answers.
pub const VND_ERROR: &str = "profile=\"http://nocarrier.co.uk/profiles/vnd.error/\"";
/// The host Dwolla's samples hard-code into `_links.*.href`.
pub const DWOLLA_SANDBOX: &str = "https://api-sandbox.dwolla.com";

pub const MX: &str = "bca8d065-49a5-475b-a6b4-509bc8504d22";
pub const PLAID: &str = "3aef60d1-878f-4692-8c06-c6b478efb60d";
pub const FINICITY: &str = "a12a48fe-65b6-4b09-9419-715ce39ca40c";
pub const FLINKS: &str = "a0b22a57-68df-4450-b507-47c937e64e89";
pub const VISA: &str = "2d36c06f-e283-49d8-829f-d4941a73fd6a";

/// The sandbox routing number Dwolla's docs use.
pub const ROUTING: &str = "222222226";

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A payments answer.
#[derive(Debug)]
pub struct HalResp {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub text: String,
    pub body: Value,
}

impl HalResp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// `_embedded.errors` of a ValidationError.
    pub fn errors(&self) -> Vec<Value> {
        self.body["_embedded"]["errors"].as_array().cloned().unwrap_or_default()
    }

    /// The embedded error at `path`.
    pub fn error_at(&self, path: &str) -> Value {
        self.errors()
            .into_iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("no embedded error at {path}: {}", self.text))
    }

    /// The JSON pointers of the embedded errors.
    pub fn paths(&self) -> Vec<String> {
        self.errors().iter().map(|e| e["path"].as_str().unwrap_or_default().to_owned()).collect()
    }

    /// The `Location` of a 201.
    pub fn location(&self) -> String {
        assert_eq!(self.status, 201, "{}", self.text);
        self.location.clone().expect("a Location header")
    }

    /// The id at the end of the `Location` of a 201.
    pub fn created_id(&self) -> String {
        self.location().rsplit('/').next().unwrap().to_owned()
    }
}

/// Asserts a 400 ValidationError whose embedded errors include `code` at `path`.
#[track_caller]
pub fn assert_field_error(r: &HalResp, path: &str, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "ValidationError", "{}", r.text);
    assert_eq!(r.message(), "Validation error(s) present. See embedded errors list for more details.");
    let e = r.error_at(path);
    assert_eq!(e["code"], code, "{}", r.text);
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    assert!(e["_links"].is_object(), "{}", r.text);
}

/// Asserts an error answer's status, code and (when given) message.
#[track_caller]
pub fn assert_error(r: &HalResp, status: u16, code: &str, message: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
    if let Some(m) = message {
        assert_eq!(r.message(), m, "{}", r.text);
    }
}

/// Asserts `value` is an RFC 3339 UTC timestamp with milliseconds (`2024-03-25T17:13:38.430Z`).
#[track_caller]
pub fn assert_timestamp(value: &Value) {
    let s = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    let format = time::format_description::well_known::Rfc3339;
    assert!(time::OffsetDateTime::parse(s, &format).is_ok(), "not RFC 3339: {s}");
    assert!(s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.', "not UTC with milliseconds: {s}");
}

/// Asserts a HAL link object with `href`, the HAL `type` and `resource-type`.
#[track_caller]
pub fn assert_link(link: &Value, href: &str, resource_type: &str) {
    assert_eq!(link["href"], href, "{link}");
    assert_eq!(link["type"], HAL, "{link}");
    assert_eq!(link["resource-type"], resource_type, "{link}");
}

/// The answer to a token request.
pub struct TokenResp {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

/// `POST /token` with the credentials in the form body (dwolla-v2, dwollav2).
pub async fn token_with_form(app: &TestApp, form: &[(&str, &str)]) -> TokenResp {
    token_request(http().post(format!("{}/token", app.payments_base)).form(form)).await
}

/// `POST /token` with HTTP Basic credentials (the TypeScript SDK).
pub async fn token_with_basic(app: &TestApp, key: &str, secret: &str, form: &[(&str, &str)]) -> TokenResp {
    token_request(http().post(format!("{}/token", app.payments_base)).basic_auth(key, Some(secret)).form(form)).await
}

async fn token_request(req: reqwest::RequestBuilder) -> TokenResp {
    let resp = req.header("accept", "*/*").send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
    TokenResp { status, content_type, body }
}

/// A fresh access token for `key`/`secret`.
pub async fn access_token(app: &TestApp, key: &str, secret: &str) -> String {
    let r =
        token_with_form(app, &[("client_id", key), ("client_secret", secret), ("grant_type", "client_credentials")])
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// A Dwolla API client holding one application token.
#[derive(Clone)]
pub struct Dwolla {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Dwolla {
    /// A client for the sandbox tenant.
    pub async fn sandbox(app: &TestApp) -> Self {
        let token = access_token(app, &app.sandbox.dwolla.key, &app.sandbox.dwolla.secret).await;
        Self::with_token(app, &token)
    }

    /// A client for a second tenant on the same server, and that tenant's id.
    pub async fn other_tenant(app: &TestApp) -> (Self, TenantId) {
        let t = app.other_tenant_credentials().await;
        let token = access_token(app, &t.dwolla.key, &t.dwolla.secret).await;
        (Self::with_token(app, &token), TenantId::parse(&t.id).unwrap())
    }

    pub fn with_token(app: &TestApp, token: &str) -> Self {
        Self { base: app.payments_base.clone(), token: token.to_owned(), http: http() }
    }

    /// `path` under the payments base, or an absolute URL as is.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// A request with the bearer token and the HAL `Accept`.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.token).header("accept", HAL)
    }

    /// Sends and checks the media type: HAL on every answer with a body, with the vnd.error
    /// profile on errors.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> HalResp {
        let r = send_raw(req).await;
        check_media_type(&r);
        r
    }

    pub async fn get(&self, path: &str) -> HalResp {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> HalResp {
        self.send(self.request(Method::POST, path).header("content-type", "application/json").body(body.to_string()))
            .await
    }

    /// A POST whose body is sent as given, with `content_type` if any.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &str) -> HalResp {
        let mut req = self.request(Method::POST, path).body(body.to_owned());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req).await
    }

    // ---- resources ---------------------------------------------------------------------

    /// Creates an unverified customer; returns its id.
    pub async fn customer(&self, first: &str, email: &str) -> String {
        let r = self.post("/customers", json!({ "firstName": first, "lastName": "Doe", "email": email })).await;
        r.created_id()
    }

    /// Opens an exchange session with `partner` for `customer`; returns the session.
    pub async fn session(&self, customer: &str, partner: &str) -> Value {
        let r = self
            .post(
                &format!("/customers/{customer}/exchange-sessions"),
                json!({ "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{partner}") } } }),
            )
            .await;
        let location = r.location();
        let s = self.get(&location).await;
        assert_eq!(s.status, 200, "{}", s.text);
        s.body
    }

    /// Adds an unverified bank from numbers; returns its id.
    pub async fn bank_from_numbers(&self, customer: &str, account: &str, name: &str) -> String {
        let r = self
            .post(
                &format!("/customers/{customer}/funding-sources"),
                json!({ "routingNumber": ROUTING, "accountNumber": account, "bankAccountType": "checking", "name": name }),
            )
            .await;
        r.created_id()
    }

    /// The topics of the application's events about `resource_id`, oldest first.
    pub async fn topics_about(&self, resource_id: &str) -> Vec<String> {
        let r = self.get("/events?limit=200").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut topics: Vec<String> = r.body["_embedded"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resourceId"] == resource_id)
            .map(|e| e["topic"].as_str().unwrap().to_owned())
            .collect();
        topics.reverse();
        topics
    }
}

pub async fn send_raw(req: reqwest::RequestBuilder) -> HalResp {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    HalResp { status, content_type, location, text, body }
}

/// Every answer with a body is HAL; errors carry the vnd.error profile.
#[track_caller]
pub fn check_media_type(r: &HalResp) {
    if r.text.is_empty() {
        return;
    }
    assert!(r.content_type.starts_with(HAL), "{} answered {:?}: {}", r.status, r.content_type, r.text);
    if r.status >= 400 {
        assert!(r.content_type.contains(VND_ERROR), "{} answered {:?}: {}", r.status, r.content_type, r.text);
        assert!(r.body["code"].is_string() && r.body["message"].is_string(), "{}", r.text);
    } else {
        assert!(!r.content_type.contains("profile="), "{} answered {:?}", r.status, r.content_type);
    }
    assert!(r.content_type.contains("charset=UTF-8"), "{:?}", r.content_type);
}

/// Changes a tenant's payments settings through the app's store.
pub async fn set_payment_settings(app: &TestApp, tenant: TenantId, open_banking: bool, redirect_urls: &[&str]) {
    let settings =
        PaymentSettings { open_banking, redirect_urls: redirect_urls.iter().map(|u| (*u).to_owned()).collect() };
    app.store
        .write(move |c| Box::pin(async move { tenants::set_payment_settings(c, tenant, &settings).await }))
        .await
        .unwrap();
}

pub fn sandbox_tenant(app: &TestApp) -> TenantId {
    TenantId::parse(&app.sandbox.id).unwrap()
}

/// A full personal-customer body with `first` as its first name (the sandbox's status picker).
pub fn personal(first: &str, email: &str) -> Value {
    json!({
        "firstName": first, "lastName": "Doe", "email": email, "type": "personal",
        "address1": "99-99 33rd St", "city": "Some City", "state": "NY", "postalCode": "11101",
        "dateOfBirth": "1970-01-01", "ssn": "1234",
    })
}

// ---- the MX widget, as a browser drives it -----------------------------------------------

/// The text between `start` and the next `end`.
pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// A Connect widget page opened from an exchange session's URL.
pub struct Widget {
    base: String,
    session: String,
    pub boot: Value,
    http: reqwest::Client,
}

impl Widget {
    /// Opens `url` (once); panics unless the page opens.
    pub async fn open(app: &TestApp, url: &str) -> Self {
        let page = http().get(url).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let text = page.text().await.unwrap();
        let session = between(&text, "<meta name=\"mx-widget-session\" content=\"", "\"").unwrap().to_owned();
        let boot = between(&text, "<script type=\"application/json\" id=\"mx-widget-config\">", "</script>")
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        Self { base: app.base.clone(), session, boot, http: http() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/md/connect/api{path}", self.base))
            .header("x-widget-session", &self.session);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, content_type, text, body }
    }

    async fn member(&self, guid: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..500 {
            let r = self.call(Method::GET, &format!("/members/{guid}"), None).await;
            assert_eq!(r.status, 200, "{}", r.text);
            last = r.body["member"].clone();
            if done(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("member {guid} never got there; last seen {last}");
    }

    /// Connects MX Bank as `mxuser`, picks the first account offered, and waits for the
    /// connection; returns (member guid, account guid).
    pub async fn verify_first_account(&self) -> (String, String) {
        let r = self.call(Method::GET, "/institutions/mxbank", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let creds = r.body["institution"]["credentials"].as_array().unwrap();
        let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].as_str().unwrap().to_owned();
        let body = json!({
            "institution_code": "mxbank",
            "credentials": [{ "guid": guid("LOGIN"), "value": "mxuser" }, { "guid": guid("PASSWORD"), "value": "password" }]
        });
        let r = self.call(Method::POST, "/members", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
        let m = self.member(&member, |m| m["outcome"] == "select_account").await;
        let challenge = &m["challenges"][0];
        let account = challenge["options"][0]["value"].as_str().unwrap().to_owned();
        let answers = json!({ "answers": [{ "guid": challenge["guid"], "value": account }] });
        let r = self.call(Method::PUT, &format!("/members/{member}/answers"), Some(answers)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let m = self.member(&member, |m| m["outcome"] == "connected").await;
        assert_eq!(m["has_verified_account"], true, "{m}");
        (member, account)
    }

    /// Gives `member` of MX Bank new credentials (`mxuser` / `password`), as the widget's
    /// update-credentials view does, picks `account` again and waits for the connection.
    pub async fn update_credentials(&self, member: &str, account: &str) {
        let r = self.call(Method::GET, "/institutions/mxbank", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let creds = r.body["institution"]["credentials"].as_array().unwrap();
        let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].as_str().unwrap().to_owned();
        let body = json!({
            "institution_code": "mxbank",
            "member_guid": member,
            "credentials": [{ "guid": guid("LOGIN"), "value": "mxuser" }, { "guid": guid("PASSWORD"), "value": "password" }]
        });
        let r = self.call(Method::POST, "/members", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["member"]["guid"], member, "the same member is updated");
        let m = self.member(member, |m| m["outcome"] == "select_account").await;
        let challenge = &m["challenges"][0];
        let offered = challenge["options"].as_array().unwrap();
        assert!(offered.iter().any(|o| o["value"] == account), "{challenge}");
        let answers = json!({ "answers": [{ "guid": challenge["guid"], "value": account }] });
        let r = self.call(Method::PUT, &format!("/members/{member}/answers"), Some(answers)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        self.member(member, |m| m["outcome"] == "connected").await;
    }
}

// ---- the whole MX flow ---------------------------------------------------------------------

/// What the MX open-banking flow created.
pub struct IavFlow {
    pub customer: String,
    pub session: String,
    pub exchange: String,
    pub funding_source: String,
    pub member: String,
    pub account: String,
    pub connection_token: String,
}

/// The token Dwolla encodes for an MX account: base64 of `{"accountId","memberId"}`.
pub fn connection_token(account: &str, member: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({ "accountId": account, "memberId": member }).to_string())
}

pub fn mx_exchange_body(token: &str) -> Value {
    json!({
        "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{MX}") } },
        "mx": { "availableConnectionToken": token },
    })
}

pub fn exchange_funding_source_body(exchange: &str, name: &str) -> Value {
    json!({
        "_links": { "exchange": { "href": format!("{DWOLLA_SANDBOX}/exchanges/{exchange}") } },
        "bankAccountType": "checking",
        "name": name,
    })
}

/// Customer → MX session → widget (MX Bank, first account) → available connection →
/// exchange → verified funding source, as Dwolla's MX sample does it.
pub async fn mx_flow(app: &TestApp, d: &Dwolla, email: &str) -> IavFlow {
    let customer = d.customer("Jane", email).await;
    let session = d.session(&customer, MX).await;
    let session_id = session["_links"]["self"]["href"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let url = session["_links"]["external-provider-session"]["href"].as_str().unwrap();
    let (member, account) = Widget::open(app, url).await.verify_first_account().await;

    let r = d.get(&format!("/customers/{customer}/available-exchange-connections")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let connection_token = r.body["_embedded"]["available-exchange-connections"][0]["availableConnectionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let exchange = d.post(&format!("/customers/{customer}/exchanges"), mx_exchange_body(&connection_token)).await;
    let exchange = exchange.created_id();
    let fs = d
        .post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&exchange, "My Checking"))
        .await;
    IavFlow {
        customer,
        session: session_id,
        exchange,
        funding_source: fs.created_id(),
        member,
        account,
        connection_token,
    }
}

/// The account number behind a flow's funding source, read through the MX API from the
/// customer's aggregator user.
pub async fn account_number_of(mx: &Client, flow: &IavFlow) -> String {
    let users = mx.get("/users?records_per_page=1000").await;
    assert_eq!(users.status, 200, "{}", users.text);
    let partner_id = format!("payments-customer-{}", flow.customer);
    let user = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == partner_id.as_str())
        .unwrap_or_else(|| panic!("no aggregator user for the customer: {}", users.text));
    let user = user["guid"].as_str().unwrap();
    let r = mx.get(&format!("/users/{user}/members/{}/account_numbers", flow.member)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let numbers = r.body["account_numbers"].as_array().unwrap();
    let n = numbers.iter().find(|n| n["account_guid"] == flow.account.as_str()).expect("the chosen account's numbers");
    n["account_number"].as_str().unwrap().to_owned()
}
