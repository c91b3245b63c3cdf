//! Secure exchange: an MX authorization code (requested by the client for a verified account)
//! becomes a Dwolla token exchange, and the exchange a verified funding source, with the
//! processor's access token kept encrypted; used, unknown and expired codes, partners whose
//! token exchanges this server cannot serve, tenants, and racing redemptions.

use std::sync::Arc;

use base64::Engine;
use openiav_core::clock::{Clock, ManualClock, SystemClock};
use openiav_core::crypto::{hash_token, Keyring};
use openiav_core::ids::{TenantId, UserGuid};
use openiav_store::repo::{exchanges, processor_tokens};
use serde_json::{json, Value};

use super::support::{
    assert_error, assert_field_error, exchange_funding_source_body, sandbox_tenant, Dwolla, HalResp, DWOLLA_SANDBOX,
    FINICITY, FLINKS, MX,
};
use crate::helpers::TestApp;
use crate::processor_tokens::{code_for, verified, Verified, TEN_MINUTES_MS};

const CHECKOUT: &str = "6f5c1b8e-4d0a-4c3b-9a8e-2f1d7c6b5a49";

const INVALID_TOKEN: &str = "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.";

fn token_body(partner: &str, token: &str) -> Value {
    json!({
        "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{partner}") } },
        "token": token,
    })
}

async fn exchange(d: &Dwolla, customer: &str, body: Value) -> HalResp {
    d.post(&format!("/customers/{customer}/exchanges"), body).await
}

#[tokio::test]
async fn an_mx_authorization_code_becomes_a_verified_funding_source() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v = verified(&mx).await;
    let code = code_for(&mx, &v).await;
    let customer = d.customer("Sam", "sam@example.com").await;

    let r = exchange(&d, &customer, token_body(MX, &code)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let exchange_id = r.created_id();
    let e = d.get(&format!("/exchanges/{exchange_id}")).await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_eq!(e.body["status"], "active");
    assert!(e.body["_links"]["exchange-partner"]["href"].as_str().unwrap().ends_with(MX), "{}", e.text);

    let r = d
        .post(
            &format!("/customers/{customer}/funding-sources"),
            exchange_funding_source_body(&exchange_id, "Processor"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let fs = r.created_id();
    let f = d.get(&format!("/funding-sources/{fs}")).await;
    assert_eq!(f.body["status"], "verified", "{}", f.text);
    assert_eq!(f.body["bankName"], "MX Bank");
    assert_eq!(f.body["name"], "Processor");
    assert_eq!(d.topics_about(&fs).await, ["customer_funding_source_added", "customer_funding_source_verified"]);

    // The bank's balance is read through the processor grant, as the MX account has it.
    let r = d.get(&format!("/funding-sources/{fs}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = mx.get(&format!("/users/{}/accounts/{}", v.user, v.chosen)).await;
    assert_eq!(r.body["closing"]["value"], format!("{:.2}", a.body["account"]["balance"].as_f64().unwrap()));

    // The funding source has the chosen account's numbers: the same bank from them is a duplicate.
    let numbers = mx.get(&format!("/users/{}/accounts/{}/account_numbers", v.user, v.chosen)).await;
    let n = &numbers.body["account_numbers"][0];
    let r = d
        .post(
            &format!("/customers/{customer}/funding-sources"),
            json!({ "routingNumber": n["routing_number"], "accountNumber": n["account_number"],
                    "bankAccountType": "checking", "name": "Again" }),
        )
        .await;
    assert_error(&r, 400, "DuplicateResource", Some(&format!("Bank already exists: id={fs}")));
}

#[tokio::test]
async fn a_used_or_unknown_code_is_an_invalid_exchange_token() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v = verified(&mx).await;
    let code = code_for(&mx, &v).await;
    let customer = d.customer("Una", "una@example.com").await;
    assert_eq!(exchange(&d, &customer, token_body(MX, &code)).await.status, 201);
    let r = exchange(&d, &customer, token_body(MX, &code)).await;
    assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
    let r = exchange(&d, &customer, token_body(MX, "no-such-code")).await;
    assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));

    // A code the processor redeemed itself is used too.
    let code = code_for(&mx, &v).await;
    let redeemed = mx.post_empty(&format!("/token?grant_type=authorization_code&code={code}")).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    let r = exchange(&d, &customer, token_body(MX, &code)).await;
    assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
}

#[tokio::test]
async fn an_expired_code_is_refused_as_expired() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v = verified(&mx).await;
    let code = code_for(&mx, &v).await;
    let customer = d.customer("Eve", "eve@example.com").await;
    clock.advance_millis(TEN_MINUTES_MS);
    let r = exchange(&d, &customer, token_body(MX, &code)).await;
    assert_error(&r, 400, "InvalidExchangeToken", Some("Exchange token is expired."));
}

#[tokio::test]
async fn the_token_wins_and_without_either_token_the_connection_token_is_required() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v = verified(&mx).await;
    let customer = d.customer("Tia", "tia@example.com").await;

    let r = exchange(&d, &customer, json!({ "_links": token_body(MX, "")["_links"] })).await;
    assert_error(&r, 400, "ValidationError", None);
    assert_field_error(&r, "/mx/availableConnectionToken", "Required");
    let mut empty = token_body(MX, " ");
    empty["mx"] = json!({});
    assert_field_error(&exchange(&d, &customer, empty).await, "/mx/availableConnectionToken", "Required");

    let mut both = token_body(MX, &code_for(&mx, &v).await);
    both["mx"] = json!({ "availableConnectionToken": "bm90IGEgY29ubmVjdGlvbg==" });
    let r = exchange(&d, &customer, both).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn token_exchanges_with_partners_this_server_cannot_reach_are_forbidden() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Fin", "fin@example.com").await;
    for (partner, name) in [(FINICITY, "Finicity"), (FLINKS, "Flinks"), (CHECKOUT, "Checkout.com")] {
        let r = exchange(&d, &customer, token_body(partner, "dG9rZW4=")).await;
        let message = format!("Token exchanges with {name} are not supported by this server.");
        assert_error(&r, 403, "Forbidden", Some(&message));
    }
    let finicity = json!({
        "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{FINICITY}") } },
        "finicity": { "profile": 3, "version": "1", "receiptId": "cr_x", "receiptVersion": "1", "customerId": "1",
                      "partnerId": 2445583946651i64, "products": [], "timestamp": "2022-07-11T06:06:23Z" },
    });
    let r = exchange(&d, &customer, finicity).await;
    assert_error(&r, 403, "Forbidden", Some("Token exchanges with Finicity are not supported by this server."));
}

#[tokio::test]
async fn another_tenants_code_is_unknown_and_stays_usable_by_its_owner() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let (other, _) = Dwolla::other_tenant(&app).await;
    let v = verified(&mx).await;
    let code = code_for(&mx, &v).await;
    let stranger = other.customer("Ola", "ola@example.com").await;
    let r = exchange(&other, &stranger, token_body(MX, &code)).await;
    assert_error(&r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
    let customer = d.customer("Ada", "ada@example.com").await;
    assert_eq!(exchange(&d, &customer, token_body(MX, &code)).await.status, 201);
}

#[tokio::test]
async fn the_processor_token_is_kept_only_encrypted_under_its_exchange() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v: Verified = verified(&mx).await;
    let code = code_for(&mx, &v).await;
    let customer = d.customer("Kim", "kim@example.com").await;
    let exchange_id = exchange(&d, &customer, token_body(MX, &code)).await.created_id();

    let tenant: TenantId = sandbox_tenant(&app);
    let (id, user) = (exchange_id.clone(), UserGuid::parse(&v.user).unwrap());
    let (record, tokens) = app
        .store
        .read(|mut c| async move {
            let found = exchanges::find(&mut c, tenant, &id).await?;
            Ok((found, processor_tokens::list_tokens(&mut c, tenant, Some(&user), None, None).await?))
        })
        .await
        .unwrap();
    let connection: Value = serde_json::from_str(&record.expect("the exchange").connection).unwrap();
    assert_eq!(connection["partner"], "mx_processor");
    assert_eq!(connection["account"], v.chosen.as_str());
    let sealed =
        base64::engine::general_purpose::STANDARD.decode(connection["sealed_token"].as_str().unwrap()).unwrap();
    let keyring = Keyring::new(&app.key);
    let token = keyring.decrypt(&format!("{tenant}/{exchange_id}/processor_token"), &sealed).expect("bound to the row");
    let token = String::from_utf8(token).unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_hash, hash_token(&token), "the sealed token is the one the code redeemed into");
    assert!(keyring.decrypt(&format!("{tenant}/another-exchange/processor_token"), &sealed).is_err());
    assert!(!connection.to_string().contains(&token) && !connection.to_string().contains(&code));

    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(&exchange_id), "the scan reads the database files");
        assert!(!haystack.contains(&token) && !haystack.contains(&code), "a secret is stored in the clear");
    }
    let logs = crate::helpers::captured_logs();
    assert!(!logs.contains(&token) && !logs.contains(&code), "a secret reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_exchanges_of_one_code_make_one_exchange() {
    let app = TestApp::spawn().await;
    let (mx, d) = (app.client(), Dwolla::sandbox(&app).await);
    let v = verified(&mx).await;
    let customer = d.customer("Roy", "roy@example.com").await;
    for round in 0..3 {
        let code = code_for(&mx, &v).await;
        let running: Vec<_> = (0..8)
            .map(|_| {
                let (d, customer, body) = (d.clone(), customer.clone(), token_body(MX, &code));
                tokio::spawn(async move { exchange(&d, &customer, body).await })
            })
            .collect();
        let mut answers = Vec::new();
        for r in running {
            answers.push(r.await.unwrap());
        }
        let created = answers.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 1, "round {round}: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
        for r in answers.iter().filter(|r| r.status != 201) {
            assert_error(r, 401, "InvalidExchangeToken", Some(INVALID_TOKEN));
        }
    }
    let listed = d.get(&format!("/customers/{customer}/exchanges")).await;
    assert_eq!(listed.body["total"], 3, "{}", listed.text);
}
