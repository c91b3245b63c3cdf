//! Micro-deposits on a bank added by its numbers: initiate once, details, verification with the
//! sandbox amounts, wrong and invalid answers, running out of attempts, sandbox simulations, and
//! the banks that cannot take micro-deposits.

use reqwest::Method;
use serde_json::{json, Value};

use super::support::{assert_error, assert_field_error, assert_link, assert_timestamp, mx_flow, Dwolla, HalResp};
use crate::helpers::TestApp;

fn amounts(one: &str, two: &str) -> Value {
    json!({ "amount1": { "value": one, "currency": "USD" }, "amount2": { "value": two, "currency": "USD" } })
}

fn path(fs: &str) -> String {
    format!("/funding-sources/{fs}/micro-deposits")
}

/// Initiates micro-deposits with no body at all (the TypeScript SDK's request).
async fn initiate(d: &Dwolla, fs: &str) -> HalResp {
    d.send(d.request(Method::POST, &path(fs))).await
}

async fn verify(d: &Dwolla, fs: &str, one: &str, two: &str) -> HalResp {
    d.post(&path(fs), amounts(one, two)).await
}

/// A customer with an unverified bank added by numbers; returns the bank's id.
async fn bank(d: &Dwolla, email: &str, account: &str) -> String {
    let customer = d.customer("Jane", email).await;
    d.bank_from_numbers(&customer, account, "Checking").await
}

/// Asserts a 400 ValidationError whose embedded errors include `message`.
#[track_caller]
fn assert_embedded_message(r: &HalResp, message: &str) {
    assert_error(r, 400, "ValidationError", None);
    assert!(r.errors().iter().any(|e| e["message"] == message), "no {message:?} in {}", r.text);
}

async fn status_of(d: &Dwolla, fs: &str) -> Value {
    let r = d.get(&format!("/funding-sources/{fs}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["status"].clone()
}

#[tokio::test]
async fn micro_deposits_start_once_and_their_details_are_pending() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "jane@example.com", "123456789").await;

    let r = initiate(&d, &fs).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(r.location(), format!("{base}{}", path(&fs)));
    assert_eq!(d.topics_about(&fs).await, ["customer_funding_source_added", "customer_microdeposits_added"]);

    // Only once, whatever the body (the Python SDK sends `{}`).
    let r = d.post(&path(&fs), json!({})).await;
    assert_error(&r, 400, "MaxNumberOfResources", Some("Micro-deposits already initiated for this funding source."));
    assert_eq!(d.topics_about(&fs).await.len(), 2, "no second event");

    let r = d.get(&path(&fs)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    assert_timestamp(&r.body["created"]);
    assert_link(&r.body["_links"]["self"], &format!("{base}{}", path(&fs)), "micro-deposits");
    assert_link(&r.body["_links"]["verify-micro-deposits"], &format!("{base}{}", path(&fs)), "micro-deposits");
    assert!(r.body.get("failure").is_none(), "{}", r.text);
    assert_eq!(status_of(&d, &fs).await, "unverified");

    // Another tenant sees none of it.
    let (b, _) = Dwolla::other_tenant(&app).await;
    assert_error(&b.get(&path(&fs)).await, 404, "NotFound", None);
    assert_error(&initiate(&b, &fs).await, 404, "NotFound", None);
    assert_error(&verify(&b, &fs, "0.03", "0.09").await, 404, "NotFound", None);
    assert_eq!(status_of(&d, &fs).await, "unverified");
}

#[tokio::test]
async fn amounts_below_ten_cents_verify_the_bank() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "jane@example.com", "123456789").await;
    assert_eq!(initiate(&d, &fs).await.status, 201);

    // One wrong answer still leaves attempts.
    assert_embedded_message(&verify(&d, &fs, "0.12", "0.03").await, "Wrong amount(s).");
    let r = verify(&d, &fs, "0.03", "0.09").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_link(&r.body["_links"]["self"], &format!("{base}{}", path(&fs)), "micro-deposits");
    assert_eq!(status_of(&d, &fs).await, "verified");
    assert_eq!(
        d.topics_about(&fs).await,
        [
            "customer_funding_source_added",
            "customer_microdeposits_added",
            "customer_microdeposits_completed",
            "customer_funding_source_verified",
        ]
    );
    let details = d.get(&path(&fs)).await;
    assert_eq!(details.body["status"], "processed", "{}", details.text);
    assert!(details.body["_links"].get("verify-micro-deposits").is_none(), "{}", details.text);

    // Verified is final.
    let r = verify(&d, &fs, "0.03", "0.09").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Bank already verified."));
    let r = initiate(&d, &fs).await;
    assert_error(&r, 403, "InvalidResourceState", Some("Bank already verified."));
    assert_eq!(d.topics_about(&fs).await.len(), 4, "no further events");
}

#[tokio::test]
async fn wrong_answers_run_out_after_three_and_invalid_amounts_do_not_count() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "jane@example.com", "123456789").await;
    assert_eq!(initiate(&d, &fs).await.status, 201);

    assert_embedded_message(&verify(&d, &fs, "0.12", "0.03").await, "Wrong amount(s).");
    // Amounts that cannot be micro-deposits are invalid, and are not an attempt.
    let r = verify(&d, &fs, "0.50", "0.03").await;
    assert_field_error(&r, "/amount1/value", "Invalid");
    assert_eq!(r.error_at("/amount1/value")["message"], "Invalid amount.");
    for (one, two, at) in [
        ("0.03", "0.00", "/amount2/value"),
        ("abc", "0.03", "/amount1/value"),
        ("0.031", "0.03", "/amount1/value"),
        ("-0.03", "0.03", "/amount1/value"),
    ] {
        let r = verify(&d, &fs, one, two).await;
        assert_field_error(&r, at, "Invalid");
        assert_eq!(r.error_at(at)["message"], "Invalid amount.", "{one}/{two}");
    }
    let r = d.post(&path(&fs), json!({ "amount1": { "value": "0.03", "currency": "USD" } })).await;
    assert_field_error(&r, "/amount2/value", "Invalid");
    let r = d
        .post(
            &path(&fs),
            json!({ "amount1": { "value": "0.03", "currency": "EUR" }, "amount2": { "value": "0.09", "currency": "USD" } }),
        )
        .await;
    assert_field_error(&r, "/amount1/value", "Invalid");

    assert_embedded_message(&verify(&d, &fs, "0.11", "0.12").await, "Wrong amount(s).");
    assert!(!d.topics_about(&fs).await.contains(&"customer_microdeposits_maxattempts".to_owned()));
    // The third wrong answer ends it.
    let r = verify(&d, &fs, "0.13", "0.14").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Too many attempts."));
    let topics = d.topics_about(&fs).await;
    assert_eq!(topics.last().map(String::as_str), Some("customer_microdeposits_maxattempts"), "{topics:?}");
    // Even the right amounts are refused now.
    let r = verify(&d, &fs, "0.03", "0.09").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Too many attempts."));
    assert_eq!(status_of(&d, &fs).await, "unverified");
    let details = d.get(&path(&fs)).await;
    assert_eq!(details.body["status"], "failed", "{}", details.text);
    assert!(details.body["_links"].get("verify-micro-deposits").is_none(), "{}", details.text);
    assert_eq!(details.body["failure"]["code"], "R03", "{}", details.text);
    assert_eq!(d.topics_about(&fs).await.len(), topics.len(), "no events after the end");
}

#[tokio::test]
async fn nine_cents_twice_simulates_running_out_of_attempts() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "jane@example.com", "123456789").await;
    assert_eq!(initiate(&d, &fs).await.status, 201);

    let r = verify(&d, &fs, "0.09", "0.09").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Too many attempts."));
    assert_eq!(
        d.topics_about(&fs).await,
        ["customer_funding_source_added", "customer_microdeposits_added", "customer_microdeposits_maxattempts"]
    );
    assert_eq!(d.get(&path(&fs)).await.body["status"], "failed");
    let r = verify(&d, &fs, "0.03", "0.09").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Too many attempts."));
    assert_eq!(status_of(&d, &fs).await, "unverified");
}

#[tokio::test]
async fn micro_deposits_must_be_initiated_before_they_are_verified() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "jane@example.com", "123456789").await;

    assert_error(&verify(&d, &fs, "0.03", "0.09").await, 404, "NotFound", None);
    assert_error(&d.get(&path(&fs)).await, 404, "NotFound", None);
    assert_eq!(status_of(&d, &fs).await, "unverified");
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_error(&initiate(&d, unknown).await, 404, "NotFound", Some("Funding source not found."));
    assert_error(&d.get(&path(unknown)).await, 404, "NotFound", None);
}

#[tokio::test]
async fn a_sandbox_simulation_processes_pending_micro_deposits() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let first = bank(&d, "jane@example.com", "123456789").await;
    let second = bank(&d, "john@example.com", "987654321").await;
    let untouched = bank(&d, "ann@example.com", "55554444").await;
    assert_eq!(initiate(&d, &first).await.status, 201);
    assert_eq!(initiate(&d, &second).await.status, 201);

    let r = d.send(d.request(Method::POST, "/sandbox-simulations")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for fs in [&first, &second] {
        let details = d.get(&path(fs)).await;
        assert_eq!(details.body["status"], "processed", "{}", details.text);
        assert_link(
            &details.body["_links"]["verify-micro-deposits"],
            &format!("{}{}", app.payments_base, path(fs)),
            "micro-deposits",
        );
        assert_eq!(
            d.topics_about(fs).await,
            ["customer_funding_source_added", "customer_microdeposits_added", "customer_microdeposits_completed"]
        );
        assert_eq!(status_of(&d, fs).await, "unverified", "processed is not verified");
    }
    assert_eq!(d.topics_about(&untouched).await, ["customer_funding_source_added"]);

    // Nothing is pending any more: a second simulation adds no events.
    let r = d.post("/sandbox-simulations", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(d.topics_about(&first).await.len(), 3);

    // Verifying a processed deposit completes nothing twice.
    assert_eq!(verify(&d, &first, "0.03", "0.09").await.status, 200);
    assert_eq!(
        d.topics_about(&first).await,
        [
            "customer_funding_source_added",
            "customer_microdeposits_added",
            "customer_microdeposits_completed",
            "customer_funding_source_verified",
        ]
    );
    assert_eq!(status_of(&d, &first).await, "verified");
}

#[tokio::test]
async fn verified_and_removed_banks_cannot_take_micro_deposits() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "jane@example.com").await;
    assert_eq!(status_of(&d, &flow.funding_source).await, "verified");
    let r = initiate(&d, &flow.funding_source).await;
    assert_error(&r, 403, "InvalidResourceState", Some("Bank already verified."));
    let r = verify(&d, &flow.funding_source, "0.03", "0.09").await;
    assert_error(&r, 403, "InvalidResourceState", Some("Bank already verified."));
    assert_error(&d.get(&path(&flow.funding_source)).await, 404, "NotFound", None);

    let fs = d.bank_from_numbers(&flow.customer, "123456789", "Removed").await;
    let r = d.post(&format!("/funding-sources/{fs}"), json!({ "removed": true })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&initiate(&d, &fs).await, 403, "InvalidResourceState", None);
    assert!(!d.topics_about(&fs).await.contains(&"customer_microdeposits_added".to_owned()));
}

/// The source's links, checked to be the same in its customer's list.
async fn source_links(d: &Dwolla, bank: &str) -> Value {
    let r = d.get(&format!("/funding-sources/{bank}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let customer = r.body["_links"]["customer"]["href"].as_str().unwrap().to_owned();
    let listed = d.get(&format!("{customer}/funding-sources")).await;
    let sources = listed.body["_embedded"]["funding-sources"].as_array().unwrap();
    let in_list = &sources.iter().find(|f| f["id"] == bank).unwrap()["_links"];
    assert_eq!(in_list, &r.body["_links"], "the list and the source agree");
    r.body["_links"].clone()
}

#[tokio::test]
async fn the_funding_source_links_follow_its_micro_deposits() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let fs = bank(&d, "links.jane@example.com", "123456789").await;
    let before = source_links(&d, &fs).await;
    assert!(
        before.get("initiate-micro-deposits").is_some() && before.get("verify-micro-deposits").is_none(),
        "{before}"
    );

    assert_eq!(initiate(&d, &fs).await.status, 201);
    let sent = source_links(&d, &fs).await;
    assert!(sent.get("verify-micro-deposits").is_some() && sent.get("initiate-micro-deposits").is_none(), "{sent}");

    assert_eq!(verify(&d, &fs, "0.09", "0.09").await.status, 403);
    let failed = source_links(&d, &fs).await;
    assert!(
        failed.get("failed-verification-micro-deposits").is_some() && failed.get("verify-micro-deposits").is_none(),
        "{failed}"
    );
}
