//! The minimal Plaid API on the aggregation listener, through the real server: Plaid's request,
//! response and error JSON with the tenant's aggregation `client_id` and `api_key` as Plaid's
//! `client_id` and `secret`, and the processor token it makes for Dwolla's secure exchange.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::payments::support::{
    assert_error, exchange_funding_source_body, sandbox_tenant, Dwolla, HalResp, DWOLLA_SANDBOX, PLAID,
};
use crate::plaid_link::{LinkPage, FIRST_PLATYPUS, FIRST_PLATYPUS_NAME};

/// A Plaid API client with the sandbox tenant's keys.
struct PlaidApi {
    base: String,
    client_id: String,
    secret: String,
}

impl PlaidApi {
    fn sandbox(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client_id: app.sandbox.mx.client_id.clone(),
            secret: app.sandbox.mx.api_key.clone(),
        }
    }

    async fn post(&self, path: &str, mut body: Value) -> (u16, Value) {
        body["client_id"] = json!(self.client_id);
        body["secret"] = json!(self.secret);
        let r = reqwest::Client::new().post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.post(path, body).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body["request_id"].is_string(), "{body}");
        body
    }

    /// A sandbox item's access token and its checking account's id.
    async fn item(&self) -> (String, String, Value) {
        let public = self
            .ok(
                "/sandbox/public_token/create",
                json!({ "institution_id": FIRST_PLATYPUS, "initial_products": ["auth"] }),
            )
            .await;
        let public = public["public_token"].as_str().unwrap().to_owned();
        assert!(public.starts_with("public-sandbox-"), "{public}");
        let exchanged = self.ok("/item/public_token/exchange", json!({ "public_token": public })).await;
        let access = exchanged["access_token"].as_str().unwrap().to_owned();
        assert!(access.starts_with("access-sandbox-"), "{access}");
        let (status, again) = self.post("/item/public_token/exchange", json!({ "public_token": public })).await;
        assert_eq!((status, again["error_code"].as_str()), (400, Some("INVALID_PUBLIC_TOKEN")), "once");
        let item = exchanged["item_id"].clone();
        // The checking account: a link token in update mode shows the item's accounts after login.
        let link = self
            .ok("/link/token/create", json!({ "user": { "client_user_id": "sandbox" }, "access_token": access }))
            .await;
        let page = LinkPage::open(&self.base, link["link_token"].as_str().unwrap()).await;
        let done = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
        let checking =
            done["metadata"]["accounts"].as_array().unwrap().iter().find(|a| a["subtype"] == "checking").unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
        (access, checking, item)
    }
}

fn secure_exchange(token: &str) -> Value {
    json!({
        "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{PLAID}") } },
        "token": token,
    })
}

async fn exchange(d: &Dwolla, customer: &str, token: &str) -> HalResp {
    d.post(&format!("/customers/{customer}/exchanges"), secure_exchange(token)).await
}

#[tokio::test]
async fn a_processor_token_for_dwolla_makes_a_verified_funding_source() {
    let app = TestApp::spawn().await;
    let plaid = PlaidApi::sandbox(&app);
    let (access, checking, _) = plaid.item().await;
    let made = plaid
        .ok("/processor/token/create", json!({ "access_token": access, "account_id": checking, "processor": "dwolla" }))
        .await;
    let processor = made["processor_token"].as_str().unwrap().to_owned();
    assert!(processor.starts_with("processor-sandbox-"), "{processor}");

    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let exchange_id = exchange(&d, &customer, &processor).await.created_id();
    let r = d
        .post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&exchange_id, "Checking"))
        .await;
    let f = d.get(&r.location()).await;
    assert_eq!((f.body["status"].as_str(), f.body["bankName"].as_str()), (Some("verified"), Some(FIRST_PLATYPUS_NAME)));
    assert_error(&exchange(&d, &customer, &processor).await, 401, "InvalidExchangeToken", None);
    let reauth = d.post(&format!("/exchanges/{exchange_id}/exchange-sessions"), json!({})).await;
    let session = d.get(&reauth.location()).await;
    let token = session.body["externalProviderSessionToken"].as_str().unwrap();
    let page = LinkPage::open(&app.base, token).await;
    assert_eq!(page.opened["update"]["institution_id"], FIRST_PLATYPUS, "update mode for the processor token's item");
    assert_error(
        &exchange(&d, &customer, "processor-sandbox-00000000-0000-4000-8000-000000000000").await,
        401,
        "InvalidExchangeToken",
        None,
    );
}

#[tokio::test]
async fn reset_login_puts_the_item_into_item_login_required() {
    let app = TestApp::spawn().await;
    let plaid = PlaidApi::sandbox(&app);
    let (access, checking, _) = plaid.item().await;
    let made = plaid
        .ok("/processor/token/create", json!({ "access_token": access, "account_id": checking, "processor": "dwolla" }))
        .await;
    let processor = made["processor_token"].as_str().unwrap().to_owned();
    let reset = plaid.ok("/sandbox/item/reset_login", json!({ "access_token": access })).await;
    assert_eq!(reset["reset_login"], true);

    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let r = exchange(&d, &customer, &processor).await;
    assert_error(&r, 400, "UpdateCredentials", Some("The login details for this token have changed."));
    // Update mode logs the item back in; the processor token was not spent.
    let link = plaid
        .ok("/link/token/create", json!({ "user": { "client_user_id": "sandbox" }, "access_token": access }))
        .await;
    let page = LinkPage::open(&app.base, link["link_token"].as_str().unwrap()).await;
    assert_eq!(page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await["outcome"], "connected");
    assert_eq!(exchange(&d, &customer, &processor).await.status, 201);
}

#[tokio::test]
async fn link_token_create_issues_a_link_token_for_the_user() {
    let app = TestApp::spawn().await;
    let plaid = PlaidApi::sandbox(&app);
    let made = plaid
        .ok("/link/token/create", json!({ "client_name": "App", "user": { "client_user_id": "user-1" }, "products": ["auth"], "country_codes": ["US"], "language": "en" }))
        .await;
    let token = made["link_token"].as_str().unwrap();
    assert!(token.starts_with("link-sandbox-"), "{token}");
    let expiration = made["expiration"].as_str().unwrap();
    assert!(expiration.ends_with('Z') && expiration.len() == 20, "{expiration}");
    let done = LinkPage::complete(&app.base, token, "savings").await;
    assert_eq!(done["metadata"]["accounts"][0]["mask"], "1111");
    let (access, _, _) = plaid.item().await;
    let (status, body) = plaid
        .post("/link/token/create", json!({ "user": { "client_user_id": "someone-else" }, "access_token": access }))
        .await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_FIELD")), "another user's item");
}

#[tokio::test]
async fn the_plaid_api_refuses_bad_keys_missing_fields_and_strangers_in_plaids_envelope() {
    let app = TestApp::spawn().await;
    let plaid = PlaidApi::sandbox(&app);
    let wrong = PlaidApi { secret: "wrong".into(), ..PlaidApi::sandbox(&app) };
    let (status, body) = wrong.post("/link/token/create", json!({ "user": { "client_user_id": "u" } })).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_type"], "INVALID_INPUT");
    assert_eq!(body["error_code"], "INVALID_API_KEYS");
    for field in ["error_message", "display_message", "request_id"] {
        assert!(body.get(field).is_some(), "{field}: {body}");
    }
    let (status, body) = plaid.post("/link/token/create", json!({})).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("MISSING_FIELDS")));
    let (status, body) = plaid
        .post(
            "/processor/token/create",
            json!({ "access_token": "access-sandbox-x", "account_id": "a", "processor": "dwolla" }),
        )
        .await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_ACCESS_TOKEN")));
    let (access, checking, _) = plaid.item().await;
    let (status, body) = plaid
        .post(
            "/processor/token/create",
            json!({ "access_token": access, "account_id": checking, "processor": "stripe" }),
        )
        .await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_PROCESSOR")));
    let (status, body) = plaid
        .post("/processor/token/create", json!({ "access_token": access, "account_id": "nope", "processor": "dwolla" }))
        .await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_ACCOUNT_ID")));
    let (status, body) = plaid.post("/sandbox/public_token/create", json!({ "institution_id": "ins_1" })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_INSTITUTION")));
    let (status, body) = plaid
        .post(
            "/sandbox/public_token/create",
            json!({ "institution_id": FIRST_PLATYPUS, "options": { "override_password": "error_ITEM_LOCKED" } }),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str(), body["error_type"].as_str()),
        (400, Some("ITEM_LOCKED"), Some("ITEM_ERROR"))
    );

    // Another tenant's keys do not reach this tenant's item.
    let other = app.other_tenant_credentials().await;
    let stranger = PlaidApi { base: app.base.clone(), client_id: other.mx.client_id, secret: other.mx.api_key };
    let (status, body) = stranger.post("/sandbox/item/reset_login", json!({ "access_token": access })).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_ACCESS_TOKEN")));
    let r = reqwest::Client::new()
        .post(format!("{}/item/public_token/exchange", app.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let _ = sandbox_tenant(&app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_exchanges_of_one_processor_token_make_one_exchange() {
    let app = TestApp::spawn().await;
    let plaid = PlaidApi::sandbox(&app);
    let (access, checking, _) = plaid.item().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Rae", "rae@example.com").await;
    for round in 0..3 {
        let made = plaid
            .ok(
                "/processor/token/create",
                json!({ "access_token": access, "account_id": checking, "processor": "dwolla" }),
            )
            .await;
        let token = made["processor_token"].as_str().unwrap().to_owned();
        let running: Vec<_> = (0..4)
            .map(|_| {
                let (d, customer, token) = (d.clone(), customer.clone(), token.clone());
                tokio::spawn(async move { exchange(&d, &customer, &token).await })
            })
            .collect();
        let mut created = 0;
        for r in running {
            let r = r.await.unwrap();
            if r.status == 201 {
                created += 1;
            } else {
                assert_error(&r, 401, "InvalidExchangeToken", None);
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
}
