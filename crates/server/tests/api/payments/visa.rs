//! The Visa partner end to end through the real server: a Visa exchange session hands over the
//! bank page on the aggregation listener, a browser (driven here by hand, form post by form post,
//! redirects followed one at a time) chooses a bank, signs in as one of Dwolla's test users,
//! consents and picks an account; the page sends it to Dwolla's `/redirect/tink`, which makes the
//! exchange and lands it on the session's redirect URL; the exchange becomes a verified funding
//! source with the account's numbers.

use openiav_core::crypto::hash_token;
use openiav_store::repo::funding_sources;
use serde_json::{json, Value};

use super::support::{
    between, exchange_funding_source_body, sandbox_tenant, set_payment_settings, Dwolla, DWOLLA_SANDBOX, VISA,
};
use crate::helpers::{captured_logs, Options, TestApp};

/// The redirect URL of Dwolla's Visa sample app.
const REDIRECT: &str = "http://localhost:3000/create-funding-source";
/// A configured redirect URL that has a query of its own.
const REDIRECT_WITH_QUERY: &str = "https://app.example.com/back?from=visa";

async fn visa_app() -> (TestApp, Dwolla) {
    let app = TestApp::spawn_with(Options { visa_partner: true, ..Options::default() }).await;
    set_payment_settings(&app, sandbox_tenant(&app), true, &[REDIRECT, REDIRECT_WITH_QUERY]).await;
    let d = Dwolla::sandbox(&app).await;
    (app, d)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// What the browser got.
#[derive(Debug)]
struct Page {
    status: u16,
    location: Option<String>,
    csp: Option<String>,
    text: String,
}

impl Page {
    async fn of(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (location, csp) = (header("location"), header("content-security-policy"));
        Self { status, location, csp, text: resp.text().await.unwrap() }
    }

    /// The screen's step (`data-step` of the frame).
    fn step(&self) -> &str {
        between(&self.text, "data-step=\"", "\"").unwrap_or_default()
    }

    /// The page token the screen's forms carry.
    fn token(&self) -> String {
        between(&self.text, "name=\"page\" value=\"", "\"")
            .unwrap_or_else(|| panic!("no page token: {}", self.text))
            .into()
    }

    /// The `Location` of a redirect.
    #[track_caller]
    fn redirect(&self) -> String {
        assert!(matches!(self.status, 302 | 303), "{} {}", self.status, self.text);
        self.location.clone().expect("a Location")
    }
}

async fn get(url: &str) -> Page {
    Page::of(browser().get(url).header("accept", "text/html").send().await.unwrap()).await
}

/// The bank page as a browser works it.
struct Bank {
    base: String,
    token: String,
}

impl Bank {
    /// Opens the page at `url`; panics unless it opens at the bank choice.
    async fn open(app: &TestApp, url: &str) -> (Self, Page) {
        let page = get(url).await;
        assert_eq!((page.status, page.step()), (200, "bank"), "{}", page.text);
        (Self { base: app.base.clone(), token: page.token() }, page)
    }

    /// Posts the form of `step` with `fields` (and the page token).
    async fn post(&self, step: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = vec![("page", self.token.as_str())];
        form.extend_from_slice(fields);
        let url = format!("{}/1.0/account-check/steps/{step}", self.base);
        Page::of(browser().post(url).form(&form).send().await.unwrap()).await
    }

    async fn choose_bank(&self, bank: &str) -> Page {
        let page = self.post("bank", &[("bank", bank)]).await;
        assert_eq!((page.status, page.step()), (200, "login"), "{}", page.text);
        page
    }

    async fn log_in(&self, username: &str, password: &str) -> Page {
        self.post("login", &[("username", username), ("password", password), ("action", "continue")]).await
    }

    async fn consent(&self) -> Page {
        let page = self.post("consent", &[("action", "continue")]).await;
        assert_eq!((page.status, page.step()), (200, "account"), "{}", page.text);
        page
    }

    async fn choose_account(&self, account: &str) -> Page {
        self.post("account", &[("account", account), ("action", "continue")]).await
    }

    async fn cancel(&self, step: &str) -> Page {
        self.post(step, &[("action", "cancel")]).await
    }
}

/// Opens a Visa session for `customer` that returns to `redirect`; returns its id and body.
async fn visa_session(d: &Dwolla, customer: &str, redirect: &str) -> (String, Value) {
    let r = d
        .post(
            &format!("/customers/{customer}/exchange-sessions"),
            json!({ "_links": {
                "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{VISA}") },
                "redirect-url": { "href": redirect },
            } }),
        )
        .await;
    let id = r.created_id();
    let s = d.get(&r.location()).await;
    assert_eq!(s.status, 200, "{}", s.text);
    (id, s.body)
}

fn page_url(session: &Value) -> String {
    session["_links"]["external-provider-session"]["href"].as_str().expect("a bank page link").to_owned()
}

/// A query parameter of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Works the page at `url` through to the account choice: bank, sign-in, consent.
async fn signed_in(app: &TestApp, url: &str, bank: &str, username: &str, password: &str) -> Bank {
    let (page, _) = Bank::open(app, url).await;
    page.choose_bank(bank).await;
    let consent = page.log_in(username, password).await;
    assert_eq!((consent.status, consent.step()), (200, "consent"), "{}", consent.text);
    page.consent().await;
    page
}

/// The whole browser flow for `username`, picking `account`: returns Dwolla's callback URL the
/// page sent the browser to.
async fn callback_for(app: &TestApp, url: &str, bank: &str, username: &str, password: &str, account: &str) -> String {
    let page = signed_in(app, url, bank, username, password).await;
    page.choose_account(account).await.redirect()
}

/// Follows Dwolla's callback: returns where it lands the browser.
async fn land(callback: &str) -> String {
    get(callback).await.redirect()
}

async fn exchanges_of(d: &Dwolla, customer: &str) -> Vec<Value> {
    let r = d.get(&format!("/customers/{customer}/exchanges")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["_embedded"]["exchanges"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_first_test_user_connects_an_account_that_becomes_a_verified_funding_source() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Vera", "vera@example.com").await;
    let (session, body) = visa_session(&d, &customer, REDIRECT).await;

    let link = &body["_links"]["external-provider-session"];
    assert_eq!(link["type"], "application/vnd.dwolla.v1.hal+json");
    assert_eq!(link["resource-type"], "text/html");
    let url = page_url(&body);
    assert!(url.starts_with(&format!("{}/1.0/account-check/connect?client_id=", app.base)), "{url}");
    let names: Vec<String> = url::Url::parse(&url).unwrap().query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "redirect_uri", "authorization_code", "market", "locale", "state", "session_id"]);
    assert_eq!(param(&url, "redirect_uri").unwrap(), format!("{}/redirect/tink", app.payments_base));
    assert_eq!((param(&url, "market").unwrap(), param(&url, "locale").unwrap()), ("US".into(), "en_US".into()));
    assert!(param(&url, "state").unwrap().len() >= 40 && param(&url, "authorization_code").unwrap().len() >= 40);

    let (page, opened) = Bank::open(&app, &url).await;
    let csp = opened.csp.clone().expect("a CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!opened.text.contains("<script"), "the page runs no script");
    for bank in ["Visa Demo Bank", "Demo Community Bank", "Demo Credit Union"] {
        assert!(opened.text.contains(bank), "{bank} is offered");
    }
    let login = page.choose_bank("visa-demo-bank").await;
    assert!(login.text.contains("Log in to Visa Demo Bank"), "{}", login.text);
    let consent = page.log_in("u51613239", "cty440").await;
    assert_eq!(consent.step(), "consent", "{}", consent.text);
    let accounts = page.consent().await;
    for shown in ["Everyday Checking", "••••9011", "$1,250.34", "High Yield Savings", "••••9029", "$9,800.00"]
    {
        assert!(accounts.text.contains(shown), "{shown} is shown: {}", accounts.text);
    }

    let callback = page.choose_account("savings-1").await.redirect();
    assert!(callback.starts_with(&format!("{}/redirect/tink?code=", app.payments_base)), "{callback}");
    assert_eq!(param(&callback, "state"), param(&url, "state"), "the page hands the state back");
    let landed = land(&callback).await;
    let exchange = landed.strip_prefix(&format!("{REDIRECT}?exchange=")).unwrap_or_else(|| panic!("{landed}"));

    let e = d.get(&format!("/exchanges/{exchange}")).await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_eq!(e.body["status"], "active");
    assert_eq!(e.body["_links"]["exchange-partner"]["href"], format!("{}/exchange-partners/{VISA}", app.payments_base));
    assert_eq!(e.body["_links"]["customer"]["href"], format!("{}/customers/{customer}", app.payments_base));
    assert_eq!(exchanges_of(&d, &customer).await.len(), 1);

    let body = json!({
        "_links": { "exchange": { "href": format!("{DWOLLA_SANDBOX}/exchanges/{exchange}") } },
        "bankAccountType": "savings",
        "name": "My Visa Savings",
    });
    let fs = d.post(&format!("/customers/{customer}/funding-sources"), body).await.created_id();
    let source = d.get(&format!("/funding-sources/{fs}")).await;
    assert_eq!(source.status, 200, "{}", source.text);
    assert_eq!(source.body["status"], "verified");
    assert_eq!(source.body["bankName"], "Visa Demo Bank");
    assert_eq!(source.body["bankAccountType"], "savings");
    assert_eq!(source.body["name"], "My Visa Savings");
    assert_eq!(d.topics_about(&fs).await, ["customer_funding_source_added", "customer_funding_source_verified"]);

    let tenant = sandbox_tenant(&app);
    let id = fs.clone();
    let record = app
        .store
        .read(|mut c| async move { funding_sources::find(&mut c, tenant, &id).await })
        .await
        .unwrap()
        .expect("the funding source");
    assert_eq!(record.routing_number, "091000019");
    assert_eq!(record.account_number_last4, "9029");
    assert_eq!(record.exchange_id.as_deref(), Some(exchange));

    let balance = d.get(&format!("/funding-sources/{fs}/balance")).await;
    assert_eq!(balance.status, 200, "{}", balance.text);
    assert_eq!(balance.body["available"]["value"], "9800.00", "{}", balance.text);

    // The session is spent: its page and its callback work once.
    assert_eq!(get(&url).await.status, 410);
    let again = get(&callback).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(exchanges_of(&d, &customer).await.len(), 1);
    let _ = session;
}

#[tokio::test]
async fn the_second_test_user_connects_at_another_bank() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Victor", "victor@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let page = signed_in(&app, &page_url(&body), "demo-credit-union", "u35490150", "ckr403").await;
    let landed = land(&page.choose_account("checking-1").await.redirect()).await;
    let exchange = landed.strip_prefix(&format!("{REDIRECT}?exchange=")).unwrap().to_owned();
    let fs = d
        .post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&exchange, "Premier"))
        .await
        .created_id();
    let source = d.get(&format!("/funding-sources/{fs}")).await;
    assert_eq!(
        (source.body["status"].as_str(), source.body["bankName"].as_str()),
        (Some("verified"), Some("Demo Credit Union"))
    );
    let tenant = sandbox_tenant(&app);
    let record =
        app.store.read(|mut c| async move { funding_sources::find(&mut c, tenant, &fs).await }).await.unwrap().unwrap();
    assert_eq!((record.routing_number.as_str(), record.account_number_last4.as_str()), ("091000035", "0013"));
}

#[tokio::test]
async fn the_failing_test_users_land_with_their_error_and_nothing_is_made() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Fay", "fay@example.com").await;
    for (username, password, error) in
        [("u92721594", "nbs589", "AUTHENTICATION_ERROR"), ("u91902655", "jtx720", "TEMPORARY_ERROR")]
    {
        let (_, body) = visa_session(&d, &customer, REDIRECT).await;
        let url = page_url(&body);
        let (page, _) = Bank::open(&app, &url).await;
        page.choose_bank("visa-demo-bank").await;
        let callback = page.log_in(username, password).await.redirect();
        assert_eq!(param(&callback, "error").as_deref(), Some(error), "{callback}");
        assert_eq!(param(&callback, "state"), param(&url, "state"));
        assert_eq!(param(&callback, "code"), None);
        assert_eq!(land(&callback).await, format!("{REDIRECT}?error={error}"));
    }
    assert!(exchanges_of(&d, &customer).await.is_empty());
}

#[tokio::test]
async fn wrong_credentials_show_the_banks_message_and_let_the_user_try_again() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Wes", "wes@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let (page, _) = Bank::open(&app, &page_url(&body)).await;
    page.choose_bank("demo-community-bank").await;
    for (username, password) in [("u51613239", "wrong"), ("someone", "cty440"), ("", "")] {
        let retry = page.log_in(username, password).await;
        assert_eq!((retry.status, retry.step()), (200, "login"), "{}", retry.text);
        assert!(retry.text.contains("The username or password you entered is incorrect"), "{}", retry.text);
    }
    let consent = page.log_in("u51613239", "cty440").await;
    assert_eq!(consent.step(), "consent", "{}", consent.text);
}

#[tokio::test]
async fn cancelling_at_any_step_lands_with_user_cancelled() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Cal", "cal@example.com").await;
    for stop_at in ["bank", "login", "consent", "account"] {
        let (_, body) = visa_session(&d, &customer, REDIRECT).await;
        let (page, _) = Bank::open(&app, &page_url(&body)).await;
        if stop_at != "bank" {
            page.choose_bank("visa-demo-bank").await;
        }
        if matches!(stop_at, "consent" | "account") {
            assert_eq!(page.log_in("u51613239", "cty440").await.step(), "consent");
        }
        if stop_at == "account" {
            page.consent().await;
        }
        let callback = page.cancel(stop_at).await.redirect();
        assert_eq!(param(&callback, "error").as_deref(), Some("USER_CANCELLED"), "{stop_at}: {callback}");
        assert_eq!(land(&callback).await, format!("{REDIRECT}?error=USER_CANCELLED"), "{stop_at}");
        let after = page.post(stop_at, &[("action", "continue")]).await;
        assert_eq!(after.status, 410, "{stop_at}: a cancelled page is over");
    }
    assert!(exchanges_of(&d, &customer).await.is_empty());
}

#[tokio::test]
async fn a_bank_page_opens_once_and_unknown_or_altered_links_show_an_error_page() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Opal", "opal@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let url = page_url(&body);
    Bank::open(&app, &url).await;
    let twice = get(&url).await;
    assert_eq!((twice.status, twice.step()), (410, "message"), "{}", twice.text);
    assert!(twice.text.contains("This link has expired"));

    let unknown = url.replace(&param(&url, "authorization_code").unwrap(), "not-a-code");
    assert_eq!(get(&unknown).await.status, 410);
    assert_eq!(get(&format!("{}/1.0/account-check/connect", app.base)).await.status, 410);

    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let url = page_url(&body);
    let state = param(&url, "state").unwrap();
    let altered = url.replace(&state, "another-state");
    let refused = get(&altered).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("This link is not valid"));
    assert_eq!(get(&url).await.status, 410, "an altered link is spent all the same");

    let stale = Bank { base: app.base.clone(), token: "no-such-page".into() };
    assert_eq!(stale.post("bank", &[("bank", "visa-demo-bank")]).await.status, 410);
}

#[tokio::test]
async fn a_code_works_only_with_its_own_sessions_state_and_a_state_only_once() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Stan", "stan@example.com").await;
    let (_, first) = visa_session(&d, &customer, REDIRECT).await;
    let (_, second) = visa_session(&d, &customer, REDIRECT).await;
    let callback = callback_for(&app, &page_url(&first), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    let code = param(&callback, "code").unwrap();
    let other_state = param(&page_url(&second), "state").unwrap();
    let tink = format!("{}/redirect/tink", app.payments_base);

    let crossed = get(&format!("{tink}?code={code}&state={other_state}")).await;
    assert_eq!(crossed.status, 400, "another session's state: {}", crossed.text);
    let body: Value = serde_json::from_str(&crossed.text).unwrap();
    assert_eq!(body["code"], "BadRequest", "{body}");
    assert!(crossed.location.is_none());
    for bad in [
        format!("{tink}?code={code}&state=guess"),
        format!("{tink}?code={code}"),
        format!("{tink}?state=x"),
        tink.clone(),
    ] {
        let r = get(&bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        let body: Value = serde_json::from_str(&r.text).unwrap();
        assert!(body["code"].is_string() && body["message"].is_string(), "{body}");
    }
    assert!(exchanges_of(&d, &customer).await.is_empty(), "nothing made");

    assert!(land(&callback).await.starts_with(&format!("{REDIRECT}?exchange=")), "the right pairing still works");
    let replay = get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    assert_eq!(exchanges_of(&d, &customer).await.len(), 1);
    // The other session's state is still good for its own page.
    let callback = callback_for(&app, &page_url(&second), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    assert!(land(&callback).await.starts_with(&format!("{REDIRECT}?exchange=")));
}

#[tokio::test]
async fn the_landing_is_appended_to_a_redirect_url_that_has_a_query() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Quin", "quin@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT_WITH_QUERY).await;
    let callback = callback_for(&app, &page_url(&body), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    let landed = land(&callback).await;
    assert!(landed.starts_with(&format!("{REDIRECT_WITH_QUERY}&exchange=")), "{landed}");

    let (_, body) = visa_session(&d, &customer, REDIRECT_WITH_QUERY).await;
    let (page, _) = Bank::open(&app, &page_url(&body)).await;
    let landed = land(&page.cancel("bank").await.redirect()).await;
    assert_eq!(landed, format!("{REDIRECT_WITH_QUERY}&error=USER_CANCELLED"));
}

#[tokio::test]
async fn another_tenant_cannot_see_or_use_a_visa_exchange() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Tess", "tess@example.com").await;
    let (session, body) = visa_session(&d, &customer, REDIRECT).await;
    let callback = callback_for(&app, &page_url(&body), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    let landed = land(&callback).await;
    let exchange = landed.rsplit('=').next().unwrap().to_owned();

    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(other.get(&format!("/exchanges/{exchange}")).await.status, 404);
    assert_eq!(other.get(&format!("/exchange-sessions/{session}")).await.status, 404);
    assert_eq!(other.post(&format!("/exchanges/{exchange}/exchange-sessions"), json!({})).await.status, 404);
    let own = other.customer("Mallory", "mallory@example.com").await;
    let r = other
        .post(&format!("/customers/{own}/funding-sources"), exchange_funding_source_body(&exchange, "Stolen"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.paths().contains(&"/_links/exchange/href".to_owned()), "{}", r.text);
}

#[tokio::test]
async fn codes_states_and_account_numbers_are_hashed_or_sealed_at_rest_and_stay_out_of_logs() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Hash", "hash@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let url = page_url(&body);
    let page = signed_in(&app, &url, "visa-demo-bank", "u51613239", "cty440").await;
    let callback = page.choose_account("savings-1").await.redirect();
    let landed = land(&callback).await;
    let exchange = landed.rsplit('=').next().unwrap().to_owned();
    d.post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&exchange, "Sealed")).await;

    let authorization_code = param(&url, "authorization_code").unwrap();
    let state = param(&url, "state").unwrap();
    let code = param(&callback, "code").unwrap();
    let secrets = [
        ("authorization code", authorization_code.as_str()),
        ("state", state.as_str()),
        ("page token", page.token.as_str()),
        ("code", code.as_str()),
        ("account number", "4000051613239029"),
    ];
    let logs = captured_logs();
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }
    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(exchange.as_str()), "the scan reads the database files");
        for (what, secret) in secrets {
            assert!(!haystack.contains(secret), "the {what} is stored in the clear");
        }
        for (what, secret) in [("authorization code", &authorization_code), ("state", &state), ("code", &code)] {
            assert!(haystack.contains(&hash_token(secret)), "the {what} is stored as its hash");
        }
    }
}

#[tokio::test]
async fn a_reauthentication_session_reactivates_the_same_exchange() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Rita", "rita@example.com").await;
    let (_, body) = visa_session(&d, &customer, REDIRECT).await;
    let callback = callback_for(&app, &page_url(&body), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    let exchange = land(&callback).await.rsplit('=').next().unwrap().to_owned();

    let r = d.post(&format!("/exchanges/{exchange}/exchange-sessions"), json!({})).await;
    assert_eq!(r.status, 400, "a Visa re-authentication needs its redirect URL: {}", r.text);
    let r = d
        .post(
            &format!("/exchanges/{exchange}/exchange-sessions"),
            json!({ "_links": { "redirect-url": { "href": REDIRECT } } }),
        )
        .await;
    let reauth = d.get(&r.location()).await;
    assert_eq!(reauth.status, 200, "{}", reauth.text);
    let callback =
        callback_for(&app, &page_url(&reauth.body), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
    assert_eq!(land(&callback).await, format!("{REDIRECT}?exchange={exchange}"));
    let all = exchanges_of(&d, &customer).await;
    assert_eq!(all.len(), 1, "no second exchange");
    assert_eq!(all[0]["status"], "active");
}

/// Sends every URL at once and returns the answers in order.
async fn all_at_once(urls: Vec<String>) -> Vec<Page> {
    let racing: Vec<_> = urls.into_iter().map(|url| tokio::spawn(async move { get(&url).await })).collect();
    let mut answers = Vec::new();
    for r in racing {
        answers.push(r.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_callbacks_racing_for_one_session_make_exactly_one_exchange() {
    let (app, d) = visa_app().await;
    let customer = d.customer("Race", "race@example.com").await;
    let mut made = 0;
    for round in 0..6 {
        let (_, body) = visa_session(&d, &customer, REDIRECT).await;
        let callback =
            callback_for(&app, &page_url(&body), "visa-demo-bank", "u51613239", "cty440", "checking-1").await;
        // The same redirect replayed, or (every other round) raced by an error redirect that
        // carries the session's state but no code, so the state itself is what they race for.
        let state = param(&callback, "state").unwrap();
        let cancel = format!("{}/redirect/tink?error=USER_CANCELLED&state={state}", app.payments_base);
        let mut urls = vec![callback.clone(), callback.clone(), cancel.clone()];
        if round % 2 == 1 {
            urls = vec![cancel.clone(), callback.clone(), cancel];
        }
        let answers = all_at_once(urls).await;
        let landed: Vec<_> = answers.iter().filter(|a| a.status == 302).collect();
        assert_eq!(landed.len(), 1, "round {round}: {answers:?}");
        assert!(answers.iter().filter(|a| a.status != 302).all(|a| a.status == 400), "round {round}: {answers:?}");
        let location = landed[0].location.clone().unwrap();
        if location.starts_with(&format!("{REDIRECT}?exchange=")) {
            made += 1;
        } else {
            assert_eq!(location, format!("{REDIRECT}?error=USER_CANCELLED"), "round {round}");
        }
        assert_eq!(exchanges_of(&d, &customer).await.len(), made, "round {round}");
    }
}

#[tokio::test]
async fn without_the_switch_there_is_no_bank_page_and_no_redirect_endpoint_work() {
    let app = TestApp::spawn().await;
    let page = get(&format!("{}/1.0/account-check/connect?authorization_code=x", app.base)).await;
    assert_eq!(page.status, 404, "{}", page.text);
    let r = get(&format!("{}/redirect/tink?code=x&state=y", app.payments_base)).await;
    assert_eq!(r.status, 400, "no state is live: {}", r.text);
}
