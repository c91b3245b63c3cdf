//! The Plaid Link stand-in through the real server: the Link script and page, and the Link
//! session API driven over HTTP as the page drives it (open with a link token, credentials,
//! MFA, account selection), with Plaid's sandbox credentials and errors.

use std::sync::Arc;

use openiav_core::clock::{Clock, ManualClock};
use openiav_core::crypto::hash_token;
use openiav_store::repo::plaid;
use serde_json::{json, Value};

use crate::helpers::{captured_logs, TestApp};
use crate::payments::support::{Dwolla, PLAID};

/// A Link page's session, as the page holds it.
pub struct LinkPage {
    base: String,
    session: String,
    /// The answer to opening the session.
    pub opened: Value,
    http: reqwest::Client,
}

/// `POST /link/api/open` with `link_token`: status and body.
pub async fn open_raw(base: &str, link_token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/link/api/open"))
        .json(&json!({ "link_token": link_token }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A new Dwolla customer's Plaid exchange session's link token.
pub async fn link_token(d: &Dwolla, customer: &str) -> String {
    let session = d.session(customer, PLAID).await;
    session["externalProviderSessionToken"].as_str().expect("a link token").to_owned()
}

impl LinkPage {
    /// Opens the Link session of `link_token`.
    pub async fn open(base: &str, link_token: &str) -> Self {
        let (status, opened) = open_raw(base, link_token).await;
        assert_eq!(status, 200, "{opened}");
        let session = opened["session_token"].as_str().expect("a session token").to_owned();
        Self { base: base.to_owned(), session, opened, http: reqwest::Client::new() }
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/link/api{path}", self.base))
            .header("x-link-session", &self.session)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/link/api{path}", self.base))
            .header("x-link-session", &self.session)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn step(&self, path: &str, body: Value) -> Value {
        let (status, step) = self.post(path, body).await;
        assert_eq!(status, 200, "{step}");
        step
    }

    pub async fn credentials(&self, institution: &str, username: &str, password: &str) -> Value {
        self.step("/credentials", json!({ "institution_id": institution, "username": username, "password": password }))
            .await
    }

    pub async fn mfa(&self, answers: &[&str]) -> Value {
        self.step("/mfa", json!({ "answers": answers })).await
    }

    pub async fn accounts(&self, ids: &[&str]) -> Value {
        self.step("/accounts", json!({ "account_ids": ids })).await
    }

    /// Logs in at First Platypus Bank as `user_good` and shares the account of `subtype`;
    /// returns the connected step (public token and onSuccess metadata).
    pub async fn complete(base: &str, link_token: &str, subtype: &str) -> Value {
        let page = Self::open(base, link_token).await;
        let step = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
        assert_eq!(step["outcome"], "select_account", "{step}");
        let account = step["accounts"].as_array().unwrap().iter().find(|a| a["subtype"] == subtype).unwrap().clone();
        let done = page.accounts(&[account["id"].as_str().unwrap()]).await;
        assert_eq!(done["outcome"], "connected", "{done}");
        done
    }
}

pub const FIRST_PLATYPUS_NAME: &str = "First Platypus Bank";
pub const FIRST_PLATYPUS: &str = "ins_109508";

fn code(step: &Value) -> &str {
    step["error"]["error_code"].as_str().unwrap_or_default()
}

async fn sandbox_link_token(app: &TestApp) -> String {
    let d = Dwolla::sandbox(app).await;
    let customer = d.customer("Lin", &format!("lin-{}@example.com", openiav_core::crypto::random_hex(6))).await;
    link_token(&d, &customer).await
}

#[tokio::test]
async fn the_link_script_defines_plaid_create_bound_to_this_origin() {
    let app = TestApp::spawn().await;
    let r = reqwest::get(format!("{}/link/v2/stable/link-initialize.js", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let script = r.text().await.unwrap();
    assert!(script.contains("window.Plaid = { create: create"), "{script}");
    assert!(script.contains(&format!("var ORIGIN = \"{}\";", app.base)), "the script talks to this origin only");
    assert!(!script.contains("__OPENIAV_LINK_ORIGIN__"));
}

#[tokio::test]
async fn the_link_page_carries_no_token_and_a_strict_policy() {
    let app = TestApp::spawn().await;
    let r = reqwest::get(format!("{}/link/v2/stable/link.html", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors *"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers().get("set-cookie").is_none(), "no cookies");
    let page = r.text().await.unwrap();
    assert!(page.contains("/link/v2/stable/assets/link.js") && !page.contains("link-sandbox-"), "{page}");
    for asset in ["link.js", "link.css"] {
        let r = reqwest::get(format!("{}/link/v2/stable/assets/{asset}", app.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("innerHTML"), "{asset} builds from the DOM");
    }
    let r = reqwest::get(format!("{}/link/v2/stable/assets/other.js", app.base)).await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_type"], "INVALID_REQUEST");
    assert!(body["request_id"].is_string(), "{body}");
}

#[tokio::test]
async fn a_link_token_opens_one_session_once() {
    let app = TestApp::spawn().await;
    let token = sandbox_link_token(&app).await;
    assert!(token.starts_with("link-sandbox-"), "{token}");
    let page = LinkPage::open(&app.base, &token).await;
    assert!(page.opened["link_session_id"].is_string());
    assert!(page.opened["update"].is_null(), "a new link, not update mode");
    let names: Vec<&str> =
        page.opened["institutions"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "First Platypus Bank",
            "First Gingham Credit Union",
            "Tattersall Federal Credit Union",
            "Tartan Bank",
            "Houndstooth Bank"
        ]
    );
    let (status, again) = open_raw(&app.base, &token).await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(again["error_code"], "INVALID_LINK_TOKEN");
    assert_eq!(again["error_message"], "link token has already been used");
    let (status, unknown) = open_raw(&app.base, "link-sandbox-00000000-0000-4000-8000-000000000000").await;
    assert_eq!((status, unknown["error_message"].as_str()), (400, Some("link token is invalid")));
}

#[tokio::test]
async fn a_link_token_expires_after_four_hours() {
    let clock = Arc::new(ManualClock::new(openiav_core::clock::SystemClock.now()));
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let (late, in_time) = (sandbox_link_token(&app).await, sandbox_link_token(&app).await);
    clock.advance_millis(4 * 3_600_000 - 1);
    LinkPage::open(&app.base, &in_time).await;
    clock.advance_millis(1);
    let (status, body) = open_raw(&app.base, &late).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (body["error_code"].as_str(), body["error_message"].as_str()),
        (Some("INVALID_LINK_TOKEN"), Some("link token has expired"))
    );
}

#[tokio::test]
async fn the_session_api_answers_only_its_own_page_with_its_session_token() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let http = reqwest::Client::new();
    let url = format!("{}/link/api/institutions", app.base);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_LINK_SESSION");
    let r = http.get(&url).header("x-link-session", "forged").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(&url)
        .header("x-link-session", &page.session)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{}/link/api/open", app.base))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "link_token": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a foreign page cannot open a session either");
    let (status, found) = page.get("/institutions?query=tartan").await;
    assert_eq!(status, 200);
    assert_eq!(found["institutions"], json!([{ "institution_id": "ins_109511", "name": "Tartan Bank" }]));
}

#[tokio::test]
async fn the_link_session_expires_after_thirty_minutes() {
    let clock = Arc::new(ManualClock::new(openiav_core::clock::SystemClock.now()));
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    clock.advance_millis(30 * 60_000);
    let (status, body) = page.get("/institutions").await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("INVALID_LINK_SESSION")));
}

#[tokio::test]
async fn user_good_shares_a_sandbox_account_and_link_ends_with_a_public_token() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let step = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
    assert_eq!(step["outcome"], "select_account", "{step}");
    let accounts = step["accounts"].as_array().unwrap();
    let shown: Vec<(&str, &str, &str)> = accounts
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["mask"].as_str().unwrap(), a["subtype"].as_str().unwrap()))
        .collect();
    assert_eq!(shown, [("Plaid Checking", "0000", "checking"), ("Plaid Saving", "1111", "savings")]);
    let checking = accounts[0]["id"].as_str().unwrap();

    let done = page.accounts(&[checking]).await;
    assert_eq!(done["outcome"], "connected", "{done}");
    let token = done["public_token"].as_str().unwrap();
    assert!(token.starts_with("public-sandbox-") && token.len() == "public-sandbox-".len() + 36, "{token}");
    let m = &done["metadata"];
    assert_eq!(m["institution"], json!({ "name": FIRST_PLATYPUS_NAME, "institution_id": FIRST_PLATYPUS }));
    assert_eq!(
        m["accounts"],
        json!([{ "id": checking, "name": "Plaid Checking", "mask": "0000", "type": "depository", "subtype": "checking",
                 "verification_status": null, "class_type": null }])
    );
    assert_eq!(m["account"], m["accounts"][0]);
    assert_eq!(m["account_id"], checking);
    assert_eq!(m["link_session_id"], page.opened["link_session_id"]);
    assert!(m["transfer_status"].is_null());

    let (status, after) = page
        .post(
            "/credentials",
            json!({ "institution_id": FIRST_PLATYPUS, "username": "user_good", "password": "pass_good" }),
        )
        .await;
    assert_eq!((status, after["error_code"].as_str()), (400, Some("INVALID_FIELD")), "the session is over");
    let (status, _) = page.post("/accounts", json!({ "account_ids": [checking] })).await;
    assert_eq!(status, 400, "one public token per session");
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials_and_may_be_tried_again() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    for (user, password) in [("user_good", "wrong"), ("someone", "pass_good")] {
        let step = page.credentials(FIRST_PLATYPUS, user, password).await;
        assert_eq!(step["outcome"], "error", "{step}");
        assert_eq!(
            step["error"],
            json!({ "error_type": "ITEM_ERROR", "error_code": "INVALID_CREDENTIALS",
                    "error_message": "the provided credentials were not correct",
                    "display_message": "The provided credentials were not correct. Please try again." })
        );
        assert_eq!(step["retry"], true);
    }
    let step = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
    assert_eq!(step["outcome"], "select_account", "{step}");
}

#[tokio::test]
async fn error_passwords_give_their_error_code() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    for (password, code_, kind) in [
        ("error_ITEM_LOCKED", "ITEM_LOCKED", "ITEM_ERROR"),
        ("error_NO_ACCOUNTS", "NO_ACCOUNTS", "ITEM_ERROR"),
        ("error_INSTITUTION_DOWN", "INSTITUTION_DOWN", "INSTITUTION_ERROR"),
        ("error_INTERNAL_SERVER_ERROR", "INTERNAL_SERVER_ERROR", "API_ERROR"),
    ] {
        let step = page.credentials(FIRST_PLATYPUS, "user_good", password).await;
        assert_eq!((code(&step), step["error"]["error_type"].as_str()), (code_, Some(kind)), "{step}");
        assert_eq!(step["retry"], false, "{password} ends Link");
        assert!(step["error"]["error_message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn device_mfa_takes_the_code_1234() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let step = page.credentials(FIRST_PLATYPUS, "user_good", "mfa_device").await;
    assert_eq!((step["outcome"].as_str(), step["mfa_type"].as_str()), (Some("mfa"), Some("code")), "{step}");
    assert_eq!(step["prompts"].as_array().unwrap().len(), 1);
    let wrong = page.mfa(&["0000"]).await;
    assert_eq!((code(&wrong), wrong["retry"].as_bool()), ("INVALID_MFA", Some(true)), "{wrong}");
    let step = page.mfa(&["1234"]).await;
    assert_eq!(step["outcome"], "select_account", "{step}");
}

#[tokio::test]
async fn question_mfa_goes_round_by_round() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let step = page.credentials(FIRST_PLATYPUS, "user_good", "mfa_questions_2_2").await;
    assert_eq!((step["mfa_type"].as_str(), step["prompts"].as_array().unwrap().len()), (Some("questions"), 2));
    let step = page.mfa(&["answer_1_1", "answer_1_2"]).await;
    assert_eq!(step["outcome"], "mfa", "a second round: {step}");
    assert_eq!(code(&page.mfa(&["answer_1_1", "answer_1_2"]).await), "INVALID_MFA");
    let step = page.mfa(&["answer_2_1", "answer_2_2"]).await;
    assert_eq!(step["outcome"], "select_account", "{step}");
}

#[tokio::test]
async fn selection_mfa_takes_yes_and_the_scenario_may_be_the_username() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let step = page.credentials(FIRST_PLATYPUS, "mfa_selections", "pass_good").await;
    assert_eq!(step["mfa_type"], "selections", "{step}");
    assert_eq!(step["prompts"][0]["choices"], json!(["Yes", "No"]));
    assert_eq!(code(&page.mfa(&["No"]).await), "INVALID_MFA");
    assert_eq!(page.mfa(&["Yes"]).await["outcome"], "select_account");
}

#[tokio::test]
async fn steps_out_of_order_or_naming_strangers_are_refused_in_plaids_envelope() {
    let app = TestApp::spawn().await;
    let page = LinkPage::open(&app.base, &sandbox_link_token(&app).await).await;
    let (status, body) = page.post("/mfa", json!({ "answers": ["1234"] })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_FIELD")), "no challenge yet");
    let (status, body) = page.post("/accounts", json!({ "account_ids": ["x"] })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_FIELD")), "not logged in");
    let (status, body) = page
        .post("/credentials", json!({ "institution_id": "ins_1", "username": "user_good", "password": "pass_good" }))
        .await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_INSTITUTION")));
    page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
    let (status, body) = page.post("/accounts", json!({ "account_ids": ["not-an-account"] })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_ACCOUNT_ID")));
    let (status, body) = page.post("/accounts", json!({ "account_ids": [] })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("MISSING_FIELDS")));
    let (status, body) = page.post("/accounts", json!({ "account_ids": "x" })).await;
    assert_eq!((status, body["error_type"].as_str()), (400, Some("INVALID_REQUEST")), "{body}");
    let r = reqwest::Client::new()
        .post(format!("{}/link/api/accounts", app.base))
        .header("x-link-session", &page.session)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    for field in ["error_type", "error_code", "error_message", "display_message", "request_id"] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
}

#[tokio::test]
async fn link_and_public_tokens_are_stored_only_as_hashes_and_never_logged() {
    let app = TestApp::spawn().await;
    let link = sandbox_link_token(&app).await;
    let done = LinkPage::complete(&app.base, &link, "checking").await;
    let public = done["public_token"].as_str().unwrap().to_owned();
    let hash = hash_token(&link);
    let stored = app.store.read(|mut c| async move { plaid::find_link_token(&mut c, &hash).await }).await.unwrap();
    let stored = stored.expect("the link token is found by its hash");
    assert_eq!(stored.id, done["metadata"]["link_session_id"].as_str().unwrap());
    let logs = captured_logs();
    assert!(logs.contains("/link/api/"), "Link requests are logged");
    assert!(!logs.contains(&link) && !logs.contains(&public), "a token reached the logs");
    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(&stored.id), "the scan reads the database files");
        assert!(!haystack.contains(&link) && !haystack.contains(&public), "a token is stored in the clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_opens_of_one_link_token_open_it_once() {
    let app = TestApp::spawn().await;
    for round in 0..4 {
        let token = sandbox_link_token(&app).await;
        let running: Vec<_> = (0..4)
            .map(|_| {
                let (base, token) = (app.base.clone(), token.clone());
                tokio::spawn(async move { open_raw(&base, &token).await })
            })
            .collect();
        let mut opened = 0;
        for r in running {
            let (status, body) = r.await.unwrap();
            match status {
                200 => opened += 1,
                _ => assert_eq!(body["error_code"], "INVALID_LINK_TOKEN", "round {round}: {body}"),
            }
        }
        assert_eq!(opened, 1, "round {round}");
    }
}
