//! Dwolla's Plaid flow through openiav's own Link: exchange session → link token → Link
//! completed as the end user → exchange with the public token → verified funding source with
//! the chosen account's numbers; and every refusal of a public token (spent, expired, another
//! customer's or tenant's, its item needing a new login), and re-authentication in update mode.

use std::sync::Arc;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use openiav_plaid::{link, Plaid, PlaidConfig};
use openiav_store::repo::{exchanges, funding_sources};
use serde_json::{json, Value};

use super::support::{
    assert_error, assert_field_error, assert_link, exchange_funding_source_body, sandbox_tenant, Dwolla, HalResp,
    DWOLLA_SANDBOX, PLAID,
};
use crate::helpers::{aba_valid, TestApp};
use crate::plaid_link::{link_token, open_raw, LinkPage, FIRST_PLATYPUS, FIRST_PLATYPUS_NAME};

const INVALID_TOKEN: &str = "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.";

fn plaid_exchange(public_token: &str) -> Value {
    json!({
        "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{PLAID}") } },
        "plaid": { "publicToken": public_token },
    })
}

/// Runs Link for a new session of `customer`, sharing the account of `subtype`; returns the
/// public token.
async fn public_token(app: &TestApp, d: &Dwolla, customer: &str, subtype: &str) -> String {
    let token = link_token(d, customer).await;
    let done = LinkPage::complete(&app.base, &token, subtype).await;
    done["public_token"].as_str().unwrap().to_owned()
}

async fn exchange(d: &Dwolla, customer: &str, public_token: &str) -> HalResp {
    d.post(&format!("/customers/{customer}/exchanges"), plaid_exchange(public_token)).await
}

/// A customer with a verified funding source from a Plaid exchange of the checking account:
/// (customer, exchange, funding source).
async fn checking_source(app: &TestApp, d: &Dwolla) -> (String, String, String) {
    let customer = d.customer("Pat", "pat@example.com").await;
    let token = public_token(app, d, &customer, "checking").await;
    let exchange_id = exchange(d, &customer, &token).await.created_id();
    let r = d
        .post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&exchange_id, "Checking"))
        .await;
    let source = r.created_id();
    (customer, exchange_id, source)
}

/// The item a Plaid exchange reads (from its stored connection).
async fn item_of(app: &TestApp, exchange_id: &str) -> String {
    let (tenant, id) = (sandbox_tenant(app), exchange_id.to_owned());
    let record = app.store.read(|mut c| async move { exchanges::find(&mut c, tenant, &id).await }).await.unwrap();
    let connection: Value = serde_json::from_str(&record.unwrap().connection).unwrap();
    assert_eq!(connection["partner"], "plaid");
    assert!(connection.get("public_token").is_none(), "no token is kept: {connection}");
    connection["item"].as_str().unwrap().to_owned()
}

/// Puts an item into `ITEM_LOGIN_REQUIRED`, as the sandbox's `reset_login` does.
async fn require_login(app: &TestApp, item: &str) {
    let plaid = Plaid::new(app.store.clone(), Arc::new(SystemClock), PlaidConfig { public_base_url: app.base.clone() });
    link::require_login(&plaid, sandbox_tenant(app), item).await.unwrap();
    assert!(link::needs_login(&plaid, sandbox_tenant(app), item).await.unwrap());
}

#[tokio::test]
async fn the_plaid_flow_makes_a_verified_funding_source_with_the_chosen_accounts_numbers() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let session = d.session(&customer, PLAID).await;
    let token = session["externalProviderSessionToken"].as_str().unwrap();
    assert!(token.starts_with("link-sandbox-"), "{token}");
    let done = LinkPage::complete(&app.base, token, "savings").await;
    assert_eq!(done["metadata"]["institution"]["name"], FIRST_PLATYPUS_NAME);

    let r = exchange(&d, &customer, done["public_token"].as_str().unwrap()).await;
    let exchange_id = r.created_id();
    let e = d.get(&format!("/exchanges/{exchange_id}")).await;
    assert_eq!(e.body["status"], "active");
    assert_link(
        &e.body["_links"]["exchange-partner"],
        &format!("{}/exchange-partners/{PLAID}", app.payments_base),
        "exchange-partner",
    );

    let r = d
        .post(
            &format!("/customers/{customer}/funding-sources"),
            exchange_funding_source_body(&exchange_id, "My savings"),
        )
        .await;
    let f = d.get(&r.location()).await;
    assert_eq!(f.body["status"], "verified", "{}", f.text);
    assert_eq!(f.body["bankName"], FIRST_PLATYPUS_NAME);
    let id = f.body["id"].as_str().unwrap().to_owned();
    assert_eq!(d.topics_about(&id).await, ["customer_funding_source_added", "customer_funding_source_verified"]);

    let (tenant, fid) = (sandbox_tenant(&app), id.clone());
    let stored = app.store.read(|mut c| async move { funding_sources::find(&mut c, tenant, &fid).await }).await;
    let stored = stored.unwrap().unwrap();
    assert!(aba_valid(&stored.routing_number), "{}", stored.routing_number);
    assert_eq!(stored.account_number_last4, "1111", "the chosen account, Plaid Saving");

    let balance = d.get(&format!("/funding-sources/{id}/balance")).await;
    assert_eq!(balance.status, 200, "{}", balance.text);
    assert_eq!(balance.body["available"], json!({ "value": "200.00", "currency": "USD" }));
}

#[tokio::test]
async fn a_public_token_exchanges_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let token = public_token(&app, &d, &customer, "checking").await;
    assert_eq!(exchange(&d, &customer, &token).await.status, 201);
    assert_error(&exchange(&d, &customer, &token).await, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
}

#[tokio::test]
async fn made_up_or_missing_public_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    for made_up in ["garbage", "public-sandbox-d5456acb-0000-4000-8000-000000000000", "link-sandbox-x"] {
        let r = exchange(&d, &customer, made_up).await;
        assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
    }
    let r = d
        .post(
            &format!("/customers/{customer}/exchanges"),
            json!({ "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{PLAID}") } } }),
        )
        .await;
    assert_field_error(&r, "/plaid/publicToken", "Required");
}

#[tokio::test]
async fn another_customers_public_token_is_refused_and_stays_theirs() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (mine, theirs) = (d.customer("Pat", "pat@example.com").await, d.customer("Sam", "sam@example.com").await);
    let token = public_token(&app, &d, &theirs, "checking").await;
    assert_error(&exchange(&d, &mine, &token).await, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
    assert_eq!(exchange(&d, &theirs, &token).await.status, 201, "the refusal did not spend it");
}

#[tokio::test]
async fn another_tenants_public_token_is_refused() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let stranger = other.customer("Theo", "theo@example.com").await;
    let token = public_token(&app, &d, &customer, "checking").await;
    assert_error(&exchange(&other, &stranger, &token).await, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
    assert_error(&exchange(&other, &customer, &token).await, 404, "NotFound", None);
    assert_eq!(exchange(&d, &customer, &token).await.status, 201);
}

#[tokio::test]
async fn a_public_token_expires_after_thirty_minutes() {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let (late, in_time) =
        (public_token(&app, &d, &customer, "checking").await, public_token(&app, &d, &customer, "savings").await);
    clock.advance_millis(30 * 60_000 - 1);
    assert_eq!(exchange(&d, &customer, &in_time).await.status, 201);
    clock.advance_millis(1);
    assert_error(
        &exchange(&d, &customer, &late).await,
        400,
        "InvalidExchangeToken",
        Some("Exchange token is expired."),
    );
}

#[tokio::test]
async fn a_public_token_whose_item_needs_a_new_login_asks_for_updated_credentials() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let first = public_token(&app, &d, &customer, "checking").await;
    let exchange_id = exchange(&d, &customer, &first).await.created_id();
    let item = item_of(&app, &exchange_id).await;

    // Update mode gives a second public token for the same item; its login then lapses.
    let session = d.post(&format!("/exchanges/{exchange_id}/exchange-sessions"), json!({})).await;
    let session = d.get(&session.location()).await;
    let page = LinkPage::open(&app.base, session.body["externalProviderSessionToken"].as_str().unwrap()).await;
    let second = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
    assert_eq!(second["outcome"], "connected", "{second}");
    require_login(&app, &item).await;
    let r = exchange(&d, &customer, second["public_token"].as_str().unwrap()).await;
    assert_error(&r, 400, "UpdateCredentials", Some("The login details for this token have changed."));
}

#[tokio::test]
async fn reauthentication_opens_link_in_update_mode_and_logs_the_item_back_in() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (customer, exchange_id, source) = checking_source(&app, &d).await;
    let item = item_of(&app, &exchange_id).await;

    require_login(&app, &item).await;
    let balance = d.get(&format!("/funding-sources/{source}/balance")).await;
    assert_error(&balance, 400, "UpdateCredentials", None);
    assert!(balance.message().starts_with("Re-authentication is required"), "{}", balance.text);
    assert_link(
        &balance.body["_links"]["about"],
        &format!("{}/exchanges/{exchange_id}/exchange-sessions", app.payments_base),
        "exchange-session",
    );

    let r = d.post(&format!("/exchanges/{exchange_id}/exchange-sessions"), json!({})).await;
    let session = d.get(&r.location()).await;
    let update_token = session.body["externalProviderSessionToken"].as_str().unwrap().to_owned();
    assert!(update_token.starts_with("link-sandbox-"));
    let page = LinkPage::open(&app.base, &update_token).await;
    assert_eq!(page.opened["update"], json!({ "institution_id": FIRST_PLATYPUS, "name": FIRST_PLATYPUS_NAME }));
    let wrong = page.credentials(FIRST_PLATYPUS, "user_good", "nope").await;
    assert_eq!(wrong["error"]["error_code"], "INVALID_CREDENTIALS");
    assert_eq!(d.get(&format!("/funding-sources/{source}/balance")).await.status, 400, "still needs a login");
    let done = page.credentials("ins_109512", "user_good", "mfa_device").await;
    assert_eq!(done["outcome"], "mfa", "{done}");
    let done = page.mfa(&["1234"]).await;
    assert_eq!(done["outcome"], "connected", "update mode skips account selection: {done}");
    assert_eq!(done["metadata"]["institution"]["institution_id"], FIRST_PLATYPUS, "the item's institution");
    assert_eq!(done["metadata"]["accounts"][0]["mask"], "0000");
    assert_eq!(d.get(&format!("/funding-sources/{source}/balance")).await.status, 200, "logged back in");

    // The update's public token names the same account: a second source of it is a duplicate.
    let again = exchange(&d, &customer, done["public_token"].as_str().unwrap()).await;
    let second = again.created_id();
    let r =
        d.post(&format!("/customers/{customer}/funding-sources"), exchange_funding_source_body(&second, "Again")).await;
    assert_error(&r, 400, "DuplicateResource", Some(&format!("Bank already exists: id={source}")));
}

#[tokio::test]
async fn the_sandbox_simulation_makes_a_plaid_exchange_need_reauthentication_told_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (_, exchange_id, source) = checking_source(&app, &d).await;

    let simulation = json!({
        "_links": { "exchange": { "href": format!("{DWOLLA_SANDBOX}/exchanges/{exchange_id}") } },
        "simulate": "reauth-required",
    });
    assert_eq!(d.post("/sandbox-simulations", simulation).await.status, 200);
    assert!(link::needs_login(
        &Plaid::new(app.store.clone(), Arc::new(SystemClock), PlaidConfig { public_base_url: app.base.clone() }),
        sandbox_tenant(&app),
        &item_of(&app, &exchange_id).await
    )
    .await
    .unwrap());
    for _ in 0..2 {
        let balance = d.get(&format!("/funding-sources/{source}/balance")).await;
        assert_error(&balance, 400, "UpdateCredentials", None);
    }
    assert_eq!(d.topics_about(&exchange_id).await, ["customer_exchange_reauth_required"], "told once");

    let r = d.post(&format!("/exchanges/{exchange_id}/exchange-sessions"), json!({})).await;
    let session = d.get(&r.location()).await;
    let update_token = session.body["externalProviderSessionToken"].as_str().unwrap().to_owned();
    let page = LinkPage::open(&app.base, &update_token).await;
    let done = page.credentials(FIRST_PLATYPUS, "user_good", "pass_good").await;
    assert_eq!(done["outcome"], "connected", "{done}");
    assert_eq!(d.get(&format!("/funding-sources/{source}/balance")).await.status, 200, "logged back in");
}

#[tokio::test]
async fn two_accounts_of_one_login_make_two_funding_sources() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let mut names = Vec::new();
    for subtype in ["checking", "savings"] {
        let token = public_token(&app, &d, &customer, subtype).await;
        let exchange_id = exchange(&d, &customer, &token).await.created_id();
        let r = d
            .post(
                &format!("/customers/{customer}/funding-sources"),
                exchange_funding_source_body(&exchange_id, subtype),
            )
            .await;
        names.push(d.get(&r.location()).await.body["name"].clone());
    }
    assert_eq!(names, [json!("checking"), json!("savings")]);
}

#[tokio::test]
async fn a_link_token_is_the_customers_own_session_and_opens_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let token = link_token(&d, &customer).await;
    LinkPage::complete(&app.base, &token, "checking").await;
    let (status, body) = open_raw(&app.base, &token).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_LINK_TOKEN")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_exchanges_of_one_public_token_make_one_exchange() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Rae", "rae@example.com").await;
    for round in 0..3 {
        let token = public_token(&app, &d, &customer, "checking").await;
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
                assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
    let list = d.get(&format!("/customers/{customer}/exchanges")).await;
    assert_eq!(list.body["total"], 3);
}
