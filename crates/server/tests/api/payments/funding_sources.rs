//! Funding sources from routing and account numbers: validation, duplicates, listing with
//! `removed`, rename, removal, and the balance they do not have.

use serde_json::{json, Value};

use super::support::{assert_error, assert_field_error, assert_link, assert_timestamp, Dwolla, ROUTING};
use crate::helpers::TestApp;

fn numbers(account: &str, kind: &str, name: &str) -> Value {
    json!({ "routingNumber": ROUTING, "accountNumber": account, "bankAccountType": kind, "name": name })
}

#[tokio::test]
async fn a_bank_added_by_its_numbers_is_unverified() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let customer = d.customer("Jane", "jane@example.com").await;
    let path = format!("/customers/{customer}/funding-sources");

    let r = d.post(&path, numbers("123456789", "checking", "Test checking account")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    let id = r.created_id();
    assert_eq!(r.location(), format!("{base}/funding-sources/{id}"));
    let f = d.get(&r.location()).await;
    assert_eq!(f.status, 200, "{}", f.text);
    let b = &f.body;
    assert_eq!(b["id"], id.as_str());
    assert_eq!(b["status"], "unverified");
    assert_eq!(b["type"], "bank");
    assert_eq!(b["bankAccountType"], "checking");
    assert_eq!(b["name"], "Test checking account");
    assert_eq!(b["removed"], false);
    assert_eq!(b["channels"], json!(["ach"]));
    assert_eq!(b["bankName"], "SANDBOX TEST BANK");
    let fingerprint = b["fingerprint"].as_str().unwrap();
    assert!(fingerprint.len() == 64 && fingerprint.bytes().all(|c| c.is_ascii_hexdigit()), "{fingerprint}");
    assert_timestamp(&b["created"]);
    assert_link(&b["_links"]["self"], &format!("{base}/funding-sources/{id}"), "funding-source");
    assert_link(&b["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    assert_link(
        &b["_links"]["initiate-micro-deposits"],
        &format!("{base}/funding-sources/{id}/micro-deposits"),
        "micro-deposits",
    );
    assert!(b["_links"].get("balance").is_none() && b["_links"].get("exchange").is_none(), "{b}");
    assert!(!f.text.contains("123456789"), "the account number is not answered");
    assert_eq!(d.topics_about(&id).await, ["customer_funding_source_added"]);

    // Every bank account type, wire channels, and the HAL request type.
    for (n, kind) in ["savings", "general-ledger", "loan"].into_iter().enumerate() {
        let r = d.post(&path, numbers(&format!("98765432{n}"), kind, kind)).await;
        assert_eq!(d.get(&r.location()).await.body["bankAccountType"], kind);
    }
    let mut wire = numbers("55554444", "checking", "Wire");
    wire["channels"] = json!(["wire"]);
    let r = d.post_raw(&path, Some("application/vnd.dwolla.v1.hal+json"), &wire.to_string()).await;
    assert_eq!(d.get(&r.location()).await.body["channels"], json!(["wire"]));
}

#[tokio::test]
async fn bad_numbers_are_refused_with_json_pointer_paths() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let path = format!("/customers/{customer}/funding-sources");

    let r = d.post(&path, json!({})).await;
    for (p, code) in [
        ("/routingNumber", "Required"),
        ("/accountNumber", "Required"),
        ("/name", "Required"),
        ("/bankAccountType", "Invalid"),
    ] {
        assert_field_error(&r, p, code);
    }
    let patch = |k: &str, v: Value| {
        let mut b = numbers("123456789", "checking", "n");
        b[k] = v;
        b
    };
    for (body, p) in [
        (patch("routingNumber", json!("222222227")), "/routingNumber"),
        (patch("routingNumber", json!("22222222")), "/routingNumber"),
        (patch("routingNumber", json!("2222222a6")), "/routingNumber"),
        (patch("accountNumber", json!("123")), "/accountNumber"),
        (patch("accountNumber", json!("123456789012345678")), "/accountNumber"),
        (patch("accountNumber", json!("12ab5678")), "/accountNumber"),
        (patch("bankAccountType", json!("brokerage")), "/bankAccountType"),
        (patch("name", json!("n".repeat(51))), "/name"),
    ] {
        let r = d.post(&path, body.clone()).await;
        assert_field_error(&r, p, "Invalid");
    }
    let r = d.post(&path, patch("channels", json!(["carrier-pigeon"]))).await;
    assert_error(&r, 400, "ValidationError", None);
    assert_eq!(r.paths(), ["/channels"]);

    let r = d
        .post("/customers/00000000-0000-4000-8000-000000000000/funding-sources", numbers("1234", "checking", "n"))
        .await;
    assert_error(&r, 404, "NotFound", None);
    assert_eq!(d.get(&path).await.body["_embedded"]["funding-sources"], json!([]), "nothing was added");
}

#[tokio::test]
async fn the_same_bank_twice_is_a_duplicate_but_another_customer_may_add_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let jane = d.customer("Jane", "jane@example.com").await;
    let john = d.customer("John", "john@example.com").await;
    let first = d.bank_from_numbers(&jane, "123456789", "Mine").await;

    let r = d.post(&format!("/customers/{jane}/funding-sources"), numbers("123456789", "savings", "Again")).await;
    assert_error(&r, 400, "DuplicateResource", Some(&format!("Bank already exists: id={first}")));
    assert_link(
        &r.body["_links"]["about"],
        &format!("{}/funding-sources/{first}", app.payments_base),
        "funding-source",
    );

    let johns = d.bank_from_numbers(&john, "123456789", "His").await;
    let other = d.bank_from_numbers(&jane, "123456780", "Other").await;
    let fp = |id: String| {
        let d = d.clone();
        async move { d.get(&format!("/funding-sources/{id}")).await.body["fingerprint"].as_str().unwrap().to_owned() }
    };
    assert_eq!(fp(first.clone()).await, fp(johns).await, "the same account has the same fingerprint");
    assert_ne!(fp(first).await, fp(other).await);
}

#[tokio::test]
async fn funding_sources_are_listed_with_or_without_removed_ones() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let customer = d.customer("Jane", "jane@example.com").await;
    let kept = d.bank_from_numbers(&customer, "11112222", "Kept").await;
    let gone = d.bank_from_numbers(&customer, "33334444", "Gone").await;
    assert_eq!(d.post(&format!("/funding-sources/{gone}"), json!({ "removed": true })).await.status, 200);

    let path = format!("/customers/{customer}/funding-sources");
    let ids = |r: &super::support::HalResp| -> Vec<String> {
        r.body["_embedded"]["funding-sources"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = d.get(&path).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids(&all), [kept.as_str(), gone.as_str()]);
    assert_link(&all.body["_links"]["self"], &format!("{base}{path}"), "funding-source");
    assert_link(&all.body["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    let live = d.get(&format!("{path}?removed=false")).await;
    assert_eq!(ids(&live), [kept.as_str()]);
    let removed = d.get(&format!("{path}?removed=true")).await;
    assert_eq!(ids(&removed), [gone.as_str()]);
    assert_eq!(removed.body["_embedded"]["funding-sources"][0]["removed"], true);

    assert_field_error(&d.get(&format!("{path}?removed=maybe")).await, "/removed", "Invalid");
    let r = d.get("/customers/00000000-0000-4000-8000-000000000000/funding-sources").await;
    assert_error(&r, 404, "NotFound", None);
}

#[tokio::test]
async fn a_bank_is_renamed_then_removed_and_then_refuses_updates() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = d.bank_from_numbers(&customer, "123456789", "Old name").await;
    let path = format!("/funding-sources/{id}");

    let r = d.post(&path, json!({ "name": "New name" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "New name");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(d.get(&path).await.body["name"], "New name");
    for bad in [json!(""), json!("n".repeat(51)), json!(7)] {
        assert_field_error(&d.post(&path, json!({ "name": bad })).await, "/name", "Invalid");
    }
    assert_field_error(&d.post(&path, json!({ "removed": "yes" })).await, "/removed", "Invalid");

    let r = d.post(&path, json!({ "removed": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["removed"], true);
    assert!(r.body["_links"].get("remove").is_none(), "{}", r.text);
    let f = d.get(&path).await;
    assert_eq!((f.status, f.body["removed"].as_bool()), (200, Some(true)), "a removed bank stays readable");
    let topics = d.topics_about(&id).await;
    assert_eq!(topics.first().map(String::as_str), Some("customer_funding_source_added"));
    assert_eq!(topics.last().map(String::as_str), Some("customer_funding_source_removed"));

    for body in [json!({ "name": "Revived" }), json!({ "removed": true }), json!({ "removed": false })] {
        let r = d.post(&path, body).await;
        assert_error(&r, 403, "InvalidResourceState", Some("A removed bank cannot be updated."));
    }
    assert_eq!(d.get(&path).await.body["name"], "New name");
}

#[tokio::test]
async fn an_unverified_bank_changes_its_details() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = d.bank_from_numbers(&customer, "123456789", "Mine").await;
    let before = d.get(&format!("/funding-sources/{id}")).await.body;
    let r = d
        .post(
            &format!("/funding-sources/{id}"),
            json!({ "routingNumber": ROUTING, "accountNumber": "987654321", "bankAccountType": "savings" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["bankAccountType"], "savings");
    assert_ne!(r.body["fingerprint"], before["fingerprint"]);
}

#[tokio::test]
async fn re_adding_a_removed_unverified_bank_reactivates_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = d.bank_from_numbers(&customer, "123456789", "Mine").await;
    d.post(&format!("/funding-sources/{id}"), json!({ "removed": true })).await;
    let again = d.bank_from_numbers(&customer, "123456789", "Mine again").await;
    assert_eq!(again, id);
    assert_eq!(d.get(&format!("/funding-sources/{id}")).await.body["removed"], false);
}

#[tokio::test]
async fn banks_without_an_exchange_have_no_balance() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = d.bank_from_numbers(&customer, "123456789", "Mine").await;
    let r = d.get(&format!("/funding-sources/{id}/balance")).await;
    assert_error(
        &r,
        400,
        "UnsupportedOperation",
        Some("Retrieving the balance is not supported for this type of funding source."),
    );
}

#[tokio::test]
async fn unknown_funding_sources_are_not_found_and_inactive_customers_add_none() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let unknown = "/funding-sources/00000000-0000-4000-8000-000000000000";
    assert_error(&d.get(unknown).await, 404, "NotFound", Some("Funding source not found."));
    assert_error(&d.post(unknown, json!({ "name": "x" })).await, 404, "NotFound", None);
    assert_error(&d.get(&format!("{unknown}/balance")).await, 404, "NotFound", None);

    let customer = d.customer("Dee", "dee@example.com").await;
    d.post(&format!("/customers/{customer}"), json!({ "status": "deactivated" })).await;
    let r = d.post(&format!("/customers/{customer}/funding-sources"), numbers("123456789", "checking", "n")).await;
    assert_error(&r, 403, "Forbidden", Some("Not authorized to create funding source."));
}
