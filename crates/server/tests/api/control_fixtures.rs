//! Custom sandbox data through the real server: `POST /_openiav/fixtures` and
//! `--sandbox-fixtures FILE` add institutions only their tenant sees, and users whose sign-in
//! yields exactly the given accounts, balances, numbers and transactions through the MX API, the
//! widget and on into a Dwolla exchange and funding source.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Client, Resp, TestApp};
use crate::payments::support::{between, exchange_funding_source_body, mx_exchange_body, Dwolla};

fn document() -> Value {
    serde_json::from_str(include_str!("../../../../docs/sandbox-fixtures.example.json")).unwrap()
}

async fn load(client: &Client, doc: Value) -> Resp {
    client.post("/_openiav/fixtures", doc).await
}

/// Creates a member at `code` with `username`/`password` and waits until it settles.
async fn connect(mx: &Client, user: &str, code: &str, username: &str, password: &str) -> Value {
    let (login, pass) = mx.credential_guids(code).await;
    let r = mx
        .post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": code, "credentials": [
                { "guid": login, "value": username }, { "guid": pass, "value": password }
            ] } }),
        )
        .await;
    assert!(r.status == 200 || r.status == 202, "{}", r.text);
    let member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    mx.settle(user, &member).await;
    mx.read_member(user, &member).await
}

#[tokio::test]
async fn fixture_institutions_are_listed_searched_and_read_only_by_their_tenant() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let r = load(&mx, document()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "institutions": 1, "users": 2, "accounts": 3 }));

    let found = mx.get("/institutions?name=acme").await;
    assert_eq!(found.status, 200, "{}", found.text);
    let names: Vec<&str> =
        found.body["institutions"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme Bank"]);
    let inst = mx.get("/institutions/acme_bank").await;
    assert_eq!(inst.status, 200, "{}", inst.text);
    assert_eq!(inst.body["institution"]["url"], "https://acme.example");
    assert_eq!(inst.body["institution"]["supports_account_verification"], true);
    assert_eq!(inst.body["institution"]["supports_account_statement"], false);
    let creds = mx.get("/institutions/acme_bank/credentials").await;
    let labels: Vec<&str> =
        creds.body["credentials"].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Username", "Password"]);
    let reread = mx.get("/_openiav/fixtures").await;
    assert_eq!(reread.body, document(), "the stored document reads back");

    // Another tenant sees none of it, and cannot connect to it.
    let other = app.other_tenant().await;
    assert_eq!(other.get("/institutions/acme_bank").await.status, 404);
    let theirs = other.get("/institutions?name=acme").await;
    assert_eq!(theirs.body["institutions"], json!([]));
    let user = other.create_user().await;
    let r = other
        .post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "acme_bank", "credentials": [] } }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A fixture user at a catalog bank is the loading tenant's only: elsewhere `bob` is denied.
    let denied = connect(&other, &user, "mxbank", "bob", "builder").await;
    assert_eq!(denied["connection_status"], "DENIED");

    // A reset keeps fixtures (they are a setting).
    assert_eq!(mx.post_empty("/_openiav/reset").await.status, 200);
    assert_eq!(mx.get("/institutions/acme_bank").await.status, 200);
}

#[tokio::test]
async fn a_fixture_user_signs_in_to_exactly_its_accounts_balances_and_transactions() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    assert_eq!(load(&mx, document()).await.status, 200);
    let user = mx.create_user().await;

    let wrong = connect(&mx, &user, "acme_bank", "alice", "not-it").await;
    assert_eq!(wrong["connection_status"], "DENIED");
    let member = connect(&mx, &user, "acme_bank", "alice", "wonderland").await;
    assert_eq!(member["connection_status"], "CONNECTED", "{member}");
    let m = member["guid"].as_str().unwrap();

    let accounts = mx.get(&format!("/users/{user}/members/{m}/accounts")).await;
    assert_eq!(accounts.status, 200, "{}", accounts.text);
    let listed: Vec<(Value, Value, Value, Value)> = accounts.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].clone(), a["type"].clone(), a["balance"].clone(), a["available_balance"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("Everyday Checking"), json!("CHECKING"), json!(1234.56), json!(1200.0)),
            (json!("Acme Rewards Card"), json!("CREDIT_CARD"), json!(310.0), Value::Null),
        ]
    );
    let txns = mx.get(&format!("/users/{user}/members/{m}/transactions")).await;
    assert_eq!(txns.status, 200, "{}", txns.text);
    let given: Vec<(Value, Value, Value, Value, Value)> = txns.body["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (t["date"].clone(), t["amount"].clone(), t["type"].clone(), t["description"].clone(), t["category"].clone())
        })
        .collect();
    assert_eq!(
        given,
        [
            (json!("2026-11-15"), json!(2500.0), json!("CREDIT"), json!("Acme Corp Payroll"), json!("Paycheck")),
            (json!("2026-11-02"), json!(42.1), json!("DEBIT"), json!("Corner Coffee"), json!("Coffee Shops")),
        ],
        "exactly the given transactions: {}",
        txns.text
    );

    // Verification releases exactly the given numbers.
    let r = mx.post_empty(&format!("/users/{user}/members/{m}/verify")).await;
    assert!(r.status == 200 || r.status == 202, "{}", r.text);
    let challenged = mx.settle(&user, m).await;
    assert_eq!(challenged["connection_status"], "CHALLENGED", "the account selection: {challenged}");
    let ch = mx.get(&format!("/users/{user}/members/{m}/challenges")).await;
    assert_eq!(ch.status, 200, "{}", ch.text);
    let challenge = &ch.body["challenges"][0];
    let options = challenge["options"].as_array().unwrap();
    let labels: Vec<&str> = options.iter().map(|o| o["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Everyday Checking"], "only the checking account takes deposits");
    let r = mx.resume(&user, m, challenge["guid"].as_str().unwrap(), options[0]["value"].as_str().unwrap()).await;
    assert!(r.status == 200 || r.status == 202, "{}", r.text);
    assert_eq!(mx.settle(&user, m).await["connection_status"], "CONNECTED");
    let numbers = mx.get(&format!("/users/{user}/members/{m}/account_numbers")).await;
    assert_eq!(numbers.status, 200, "{}", numbers.text);
    let n = &numbers.body["account_numbers"][0];
    assert_eq!((n["account_number"].clone(), n["routing_number"].clone()), (json!("1111222233"), json!("021000021")));
}

/// The widget's session API, as the Connect widget's script calls it.
struct Widget {
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Widget {
    async fn open(app: &TestApp, url: &str) -> Self {
        let http = reqwest::Client::new();
        let text = http.get(url).send().await.unwrap().text().await.unwrap();
        let session = between(&text, "<meta name=\"mx-widget-session\" content=\"", "\"").unwrap().to_owned();
        Self { base: app.base.clone(), session, http }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/md/connect/api{path}", self.base))
            .header("x-widget-session", &self.session);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn member_until(&self, guid: &str, outcome: &str) -> Value {
        for _ in 0..500 {
            let m = self.call(Method::GET, &format!("/members/{guid}"), None).await["member"].clone();
            if m["outcome"] == outcome {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("member {guid} never reached {outcome}");
    }
}

#[tokio::test]
async fn sandbox_fixtures_at_start_flow_through_the_widget_into_a_dwolla_funding_source() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document().to_string()).unwrap();
    let path = file.path().to_owned();
    let app = TestApp::spawn_with_args(move |args| args.sandbox_fixtures = Some(path)).await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Alice", "alice@example.com").await;
    let session = d
        .post(
            &format!("/customers/{customer}/exchange-sessions"),
            json!({ "_links": { "exchange-partner": { "href": format!("{}/exchange-partners/{}", crate::payments::support::DWOLLA_SANDBOX, crate::payments::support::MX) } } }),
        )
        .await;
    let session = d.get(&session.location()).await.body;
    let widget = Widget::open(&app, session["_links"]["external-provider-session"]["href"].as_str().unwrap()).await;

    let search = widget.call(Method::GET, "/institutions?search=acme", None).await;
    assert_eq!(search["institutions"][0]["name"], "Acme Bank", "{search}");
    let inst = widget.call(Method::GET, "/institutions/acme_bank", None).await;
    let creds = inst["institution"]["credentials"].as_array().unwrap().clone();
    let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].clone();
    let body = json!({ "institution_code": "acme_bank", "credentials": [
        { "guid": guid("LOGIN"), "value": "alice" }, { "guid": guid("PASSWORD"), "value": "wonderland" }
    ] });
    let member = widget.call(Method::POST, "/members", Some(body)).await["member"]["guid"].as_str().unwrap().to_owned();
    let m = widget.member_until(&member, "select_account").await;
    let challenge = &m["challenges"][0];
    let options = challenge["options"].as_array().unwrap();
    assert_eq!(options.len(), 1, "{challenge}");
    assert_eq!(options[0]["label"], "Everyday Checking");
    let answers = json!({ "answers": [{ "guid": challenge["guid"], "value": options[0]["value"] }] });
    widget.call(Method::PUT, &format!("/members/{member}/answers"), Some(answers)).await;
    widget.member_until(&member, "connected").await;

    let r = d.get(&format!("/customers/{customer}/available-exchange-connections")).await;
    let connection = &r.body["_embedded"]["available-exchange-connections"][0];
    assert_eq!(connection["name"], "Everyday Checking", "{}", r.text);
    let token = connection["availableConnectionToken"].as_str().unwrap();
    let exchange = d.post(&format!("/customers/{customer}/exchanges"), mx_exchange_body(token)).await.created_id();
    let fs = d
        .post(
            &format!("/customers/{customer}/funding-sources"),
            exchange_funding_source_body(&exchange, "Alice checking"),
        )
        .await;
    assert_eq!(fs.status, 201, "{}", fs.text);
    let fs = d.get(&fs.location()).await;
    assert_eq!(fs.body["status"], "verified", "{}", fs.text);
    assert_eq!(fs.body["bankAccountType"], "checking");
    let balance = d.get(&format!("/exchanges/{exchange}")).await;
    assert_eq!(balance.status, 200, "{}", balance.text);
}

#[tokio::test]
async fn invalid_fixtures_are_refused_with_the_path_of_the_bad_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let refused = |r: Resp| {
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "BadRequest");
        r.body["message"].as_str().unwrap().to_owned()
    };
    let mut doc = document();
    doc["users"][0]["accounts"][0]["routing_number"] = json!("123456789");
    assert_eq!(
        refused(load(&mx, doc).await),
        "Invalid fixtures at `users[0].accounts[0].routing_number`: \"123456789\" is not a valid ABA routing number."
    );
    let mut doc = document();
    doc["users"][0]["accounts"][0]["transactions"][0]["amount"] = json!(12);
    assert!(
        refused(load(&mx, doc).await).starts_with("Invalid fixtures at `users[0].accounts[0].transactions[0].amount`")
    );
    assert!(refused(load(&mx, json!({ "institutions": {} })).await).starts_with("Invalid fixtures at `institutions`"));
    assert_eq!(mx.get("/institutions/acme_bank").await.status, 404, "nothing was loaded");
    assert_eq!(mx.get("/_openiav/fixtures").await.body, json!({ "institutions": [], "users": [] }));
    // And a start with a bad file fails with the same message.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), r#"{"users":[{"institution":"nowhere","username":"a","password":"b","accounts":[]}]}"#)
        .unwrap();
    let mut args = openiav_server::config::ServeArgs::ephemeral();
    args.sandbox_fixtures = Some(file.path().to_owned());
    let url = format!("sqlite://{}/bad-fixtures.db", app.dir.path().display());
    let key = openiav_core::crypto::MasterKey::generate();
    let failed =
        openiav_server::app::App::build(&url, &key, args, std::sync::Arc::new(openiav_core::clock::SystemClock)).await;
    let message = format!("{:#}", failed.err().expect("refused"));
    assert!(message.contains("users[0].institution"), "{message}");
}
