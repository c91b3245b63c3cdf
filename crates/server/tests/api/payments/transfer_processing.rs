//! The sandbox's processing of bank transfers through `POST /sandbox-simulations`: one call
//! settles a bank-to-balance or balance-to-bank transfer, a bank-to-bank one needs two; the
//! sentinel banks `R01`, `R03`, `R01-late` and `R03-late` fail as Dwolla's sandbox fails them,
//! with their failure records, bank removals and balances taken back; micro-deposits are
//! processed by the same call; one call takes the newest 500 legs; every event carries the
//! transfer's correlationId, on `/events` and on the webhooks.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::receiver::{subscribe, Receiver};
use super::support::{assert_error, assert_link, personal, Dwolla, HalResp};
use crate::helpers::TestApp;

// ---- helpers shared with the races -------------------------------------------------------

/// A verified personal customer; returns its id.
pub async fn verified_customer(d: &Dwolla, first: &str) -> String {
    let r = d.post("/customers", personal(first, &format!("{}@example.com", first.to_lowercase()))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.created_id()
}

/// A bank of `customer` named `name`, verified by micro-deposits; returns its id.
pub async fn verified_bank(d: &Dwolla, customer: &str, account: &str, name: &str) -> String {
    let bank = d.bank_from_numbers(customer, account, name).await;
    let deposits = format!("/funding-sources/{bank}/micro-deposits");
    assert_eq!(d.send(d.request(Method::POST, &deposits)).await.status, 201);
    let amounts =
        json!({ "amount1": { "value": "0.03", "currency": "USD" }, "amount2": { "value": "0.09", "currency": "USD" } });
    let r = d.post(&deposits, amounts).await;
    assert_eq!(r.status, 200, "{}", r.text);
    bank
}

/// The balance funding source of `customer`.
pub async fn balance_of(d: &Dwolla, customer: &str) -> String {
    let r = d.get(&format!("/customers/{customer}/funding-sources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sources = r.body["_embedded"]["funding-sources"].as_array().expect("funding sources").clone();
    let balance = sources.iter().find(|s| s["type"] == "balance").unwrap_or_else(|| panic!("no balance: {}", r.text));
    balance["id"].as_str().unwrap().to_owned()
}

/// What the balance `fs` holds, as `GET /funding-sources/{id}/balance` answers it.
pub async fn balance(d: &Dwolla, fs: &str) -> String {
    let r = d.get(&format!("/funding-sources/{fs}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["balance"]["currency"], "USD", "{}", r.text);
    r.body["balance"]["value"].as_str().unwrap_or_else(|| panic!("no balance value: {}", r.text)).to_owned()
}

/// The body of a transfer from `source` to `destination` (funding-source ids) of `amount`.
pub fn transfer_body(d: &Dwolla, source: &str, destination: &str, amount: &str) -> Value {
    json!({
        "_links": {
            "source": { "href": d.url(&format!("/funding-sources/{source}")) },
            "destination": { "href": d.url(&format!("/funding-sources/{destination}")) },
        },
        "amount": { "currency": "USD", "value": amount },
    })
}

/// Creates a transfer; returns its id.
pub async fn transfer(d: &Dwolla, source: &str, destination: &str, amount: &str) -> String {
    let r = d.post("/transfers", transfer_body(d, source, destination, amount)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.created_id()
}

/// Runs one sandbox processing pass; returns its `total`.
pub async fn simulate(d: &Dwolla) -> i64 {
    let r = d.send(d.request(Method::POST, "/sandbox-simulations")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["total"].as_i64().unwrap_or_else(|| panic!("no total: {}", r.text))
}

pub async fn transfer_status(d: &Dwolla, id: &str) -> String {
    let r = d.get(&format!("/transfers/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["status"].as_str().unwrap().to_owned()
}

/// Every application event, oldest first.
pub async fn all_events(d: &Dwolla) -> Vec<Value> {
    let mut events = Vec::new();
    let mut offset = 0;
    loop {
        let r = d.get(&format!("/events?limit=200&offset={offset}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.body["_embedded"]["events"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        events.extend(page);
    }
    events.reverse();
    events
}

/// The topics of the events about `resource_id`, oldest first.
pub fn topics(events: &[Value], resource_id: &str) -> Vec<String> {
    events.iter().filter(|e| e["resourceId"] == resource_id).map(|e| e["topic"].as_str().unwrap().to_owned()).collect()
}

/// The ids of the resources events with `topic` are about, oldest first.
pub fn resources_of(events: &[Value], topic: &str) -> Vec<String> {
    events.iter().filter(|e| e["topic"] == topic).map(|e| e["resourceId"].as_str().unwrap().to_owned()).collect()
}

/// The ids of the legs (bank transfers) of the transfer `id`: those the events announce for it,
/// by its correlationId when it has one, else by the transfer's own links.
async fn legs(d: &Dwolla, id: &str) -> Vec<String> {
    let t = d.get(&format!("/transfers/{id}")).await;
    let mut found: Vec<String> = ["funding-transfer", "funded-transfer"]
        .iter()
        .filter_map(|rel| t.body["_links"][*rel]["href"].as_str())
        .map(|href| href.rsplit('/').next().unwrap().to_owned())
        .collect();
    found.sort();
    found.dedup();
    found
}

fn with_correlation(mut body: Value, correlation: &str) -> Value {
    body["correlationId"] = json!(correlation);
    body
}

async fn failure(d: &Dwolla, id: &str) -> HalResp {
    d.get(&format!("/transfers/{id}/failure")).await
}

async fn source(d: &Dwolla, id: &str) -> Value {
    let r = d.get(&format!("/funding-sources/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// A verified customer holding `amount` in its balance (funded from its verified bank and
/// processed), with that bank; returns (customer, bank, balance).
pub async fn funded(d: &Dwolla, first: &str, account: &str, amount: &str) -> (String, String, String) {
    let customer = verified_customer(d, first).await;
    let bank = verified_bank(d, &customer, account, "Checking").await;
    let wallet = balance_of(d, &customer).await;
    let t = transfer(d, &bank, &wallet, amount).await;
    simulate(d).await;
    assert_eq!(transfer_status(d, &t).await, "processed");
    assert_eq!(balance(d, &wallet).await, amount);
    (customer, bank, wallet)
}

// ---- the happy paths ---------------------------------------------------------------------

#[tokio::test]
async fn a_bank_to_balance_transfer_completes_in_one_call_and_credits_the_balance() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let r = d.post("/transfers", with_correlation(transfer_body(&d, &bank, &wallet, "10.00"), "order-1")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.created_id();
    assert_eq!(transfer_status(&d, &t).await, "pending");
    assert_eq!(balance(&d, &wallet).await, "0.00");

    assert_eq!(simulate(&d).await, 1);
    let body = d.get(&format!("/transfers/{t}")).await.body;
    assert_eq!(body["status"], "processed", "{body}");
    assert!(body["_links"].get("cancel").is_none(), "{body}");
    assert!(body["_links"].get("failure").is_none(), "{body}");
    assert_eq!(balance(&d, &wallet).await, "10.00");

    // The debit leg: processed, with its individual ACH id once it cleared.
    let debit = legs(&d, &t).await;
    assert_eq!(debit.len(), 1, "{body}");
    let leg = d.get(&format!("/transfers/{}", debit[0])).await;
    assert_eq!(leg.status, 200, "{}", leg.text);
    assert_eq!(leg.body["status"], "processed", "{}", leg.text);
    let ach = leg.body["individualAchId"].as_str().or(body["individualAchId"].as_str()).unwrap_or_default();
    assert!(ach.len() == 8 && ach.starts_with("IDA"), "individual ACH id {ach:?}: {} {body}", leg.text);

    let events = all_events(&d).await;
    assert_eq!(topics(&events, &debit[0]), ["customer_bank_transfer_created", "customer_bank_transfer_completed"]);
    assert_eq!(topics(&events, &t), ["customer_transfer_created", "customer_transfer_completed"]);
    for e in events.iter().filter(|e| e["resourceId"] == t.as_str() || e["resourceId"] == debit[0].as_str()) {
        assert_eq!(e["correlationId"], "order-1", "{e}");
        assert_link(&e["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    }

    // Nothing is processed twice.
    assert_eq!(simulate(&d).await, 0);
    assert_eq!(balance(&d, &wallet).await, "10.00");
    assert_eq!(topics(&all_events(&d).await, &t).len(), 2);
    // A processed transfer has no failure record.
    assert_error(&failure(&d, &t).await, 404, "NotFound", None);
}

#[tokio::test]
async fn a_balance_to_bank_transfer_debits_at_creation_and_completes_in_one_call() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (customer, bank, wallet) = funded(&d, "Jane", "123456789", "10.00").await;
    let t = transfer(&d, &wallet, &bank, "4.00").await;
    assert_eq!(balance(&d, &wallet).await, "6.00");
    assert_eq!(transfer_status(&d, &t).await, "pending");

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "processed");
    assert_eq!(balance(&d, &wallet).await, "6.00");
    let credit = legs(&d, &t).await;
    assert_eq!(credit.len(), 1);
    let events = all_events(&d).await;
    assert_eq!(topics(&events, &credit[0]), ["customer_bank_transfer_created", "customer_bank_transfer_completed"]);
    assert_eq!(topics(&events, &t), ["customer_transfer_created", "customer_transfer_completed"]);
    assert!(events
        .iter()
        .filter(|e| e["resourceId"] == t.as_str())
        .all(|e| e["_links"]["customer"]["href"].as_str().is_some_and(|h| h.ends_with(&customer))));
}

#[tokio::test]
async fn a_bank_to_bank_transfer_needs_two_calls_debit_then_credit() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let payer = verified_customer(&d, "Jane").await;
    let from = verified_bank(&d, &payer, "123456789", "Checking").await;
    let payee = d.customer("Rob", "rob@example.com").await;
    let to = d.bank_from_numbers(&payee, "987654321", "Savings").await;
    let r = d.post("/transfers", with_correlation(transfer_body(&d, &from, &to, "25.00"), "inv_7")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.created_id();
    let before = all_events(&d).await;
    let debits = resources_of(&before, "customer_bank_transfer_created");
    assert_eq!(debits.len(), 1, "only the debit exists at first");

    // First call: the debit clears, the credit is created, the transfer is still pending.
    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "pending");
    let events = all_events(&d).await;
    assert_eq!(topics(&events, &debits[0]), ["customer_bank_transfer_created", "customer_bank_transfer_completed"]);
    let created = resources_of(&events, "customer_bank_transfer_created");
    assert_eq!(created.len(), 2, "the credit leg was created: {created:?}");
    let credit = created[1].clone();
    let leg = d.get(&format!("/transfers/{credit}")).await;
    assert_eq!(leg.body["status"], "pending", "{}", leg.text);
    assert!(topics(&events, &t).iter().all(|topic| topic == "customer_transfer_created"));

    // Second call: the credit clears and the transfer completes.
    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "processed");
    let events = all_events(&d).await;
    assert_eq!(topics(&events, &credit), ["customer_bank_transfer_created", "customer_bank_transfer_completed"]);
    let done = topics(&events, &t);
    assert_eq!(done.iter().filter(|t| *t == "customer_transfer_completed").count(), 2, "payer and payee: {done:?}");
    for e in events.iter().filter(|e| [&t, &credit, &debits[0]].iter().any(|id| e["resourceId"] == id.as_str())) {
        assert_eq!(e["correlationId"], "inv_7", "{e}");
    }
    assert_eq!(simulate(&d).await, 0);
}

// ---- sentinels ---------------------------------------------------------------------------

#[tokio::test]
async fn an_r01_source_bank_fails_the_debit_with_its_failure_record() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "R01").await;
    let wallet = balance_of(&d, &customer).await;
    let t = transfer(&d, &bank, &wallet, "10.00").await;

    assert_eq!(simulate(&d).await, 1);
    let body = d.get(&format!("/transfers/{t}")).await.body;
    assert_eq!(body["status"], "failed", "{body}");
    assert_link(&body["_links"]["failure"], &format!("{base}/transfers/{t}/failure"), "failure");
    assert_eq!(balance(&d, &wallet).await, "0.00");
    assert_eq!(source(&d, &bank).await["removed"], false, "R01 keeps the bank");

    let f = failure(&d, &t).await;
    assert_eq!(f.status, 200, "{}", f.text);
    assert_eq!(failure(&d, &t.to_uppercase()).await.body, f.body, "ids in any case");
    assert_eq!(f.body["code"], "R01");
    assert_eq!(f.body["description"], "Insufficient Funds");
    assert_eq!(
        f.body["explanation"],
        "Available balance is not sufficient to cover the dollar value of the debit entry."
    );
    assert_link(&f.body["_links"]["self"], &format!("{base}/transfers/{t}/failure"), "failure");
    assert_link(
        &f.body["_links"]["failed-funding-source"],
        &format!("{base}/funding-sources/{bank}"),
        "funding-source",
    );
    assert_link(&f.body["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");

    // The failed leg has the same record.
    let debit = legs(&d, &t).await;
    assert_eq!(debit.len(), 1);
    let leg_failure = failure(&d, &debit[0]).await;
    assert_eq!(leg_failure.status, 200, "{}", leg_failure.text);
    assert_eq!(leg_failure.body["code"], "R01");

    let events = all_events(&d).await;
    assert_eq!(topics(&events, &debit[0]), ["customer_bank_transfer_created", "customer_bank_transfer_failed"]);
    assert_eq!(topics(&events, &t), ["customer_transfer_created", "customer_transfer_failed"]);
    assert!(!topics(&events, &bank).contains(&"customer_funding_source_removed".to_owned()));

    // Failed is final; unknown and foreign transfers have no failure either.
    assert_eq!(simulate(&d).await, 0);
    assert_error(&failure(&d, "5b1a7c2e-0000-4000-8000-000000000000").await, 404, "NotFound", None);
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_error(&failure(&other, &t).await, 404, "NotFound", None);
}

#[tokio::test]
async fn an_r03_destination_bank_fails_the_credit_refunds_the_balance_and_is_removed() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let (customer, _, wallet) = funded(&d, "Jane", "123456789", "10.00").await;
    let gone = verified_bank(&d, &customer, "555555555", "r03").await;
    let t = transfer(&d, &wallet, &gone, "4.00").await;
    assert_eq!(balance(&d, &wallet).await, "6.00");

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "failed");
    assert_eq!(balance(&d, &wallet).await, "10.00", "the debit is given back");
    assert_eq!(source(&d, &gone).await["removed"], true);
    let f = failure(&d, &t).await;
    assert_eq!(f.status, 200, "{}", f.text);
    assert_eq!(f.body["code"], "R03");
    assert_eq!(f.body["description"], "No Account/Unable to Locate Account");
    assert_eq!(
        f.body["explanation"],
        "The account number does not correspond to the individual identified in the entry or a valid account."
    );
    assert_link(
        &f.body["_links"]["failed-funding-source"],
        &format!("{base}/funding-sources/{gone}"),
        "funding-source",
    );

    let events = all_events(&d).await;
    let credit = legs(&d, &t).await;
    assert_eq!(topics(&events, &credit[0]), ["customer_bank_transfer_created", "customer_bank_transfer_failed"]);
    assert_eq!(topics(&events, &t), ["customer_transfer_created", "customer_transfer_failed"]);
    assert_eq!(topics(&events, &gone).last().map(String::as_str), Some("customer_funding_source_removed"));
    // The removal follows the failure.
    let at = |topic: &str, id: &str| events.iter().position(|e| e["topic"] == topic && e["resourceId"] == id).unwrap();
    assert!(at("customer_transfer_failed", &t) < at("customer_funding_source_removed", &gone));
}

#[tokio::test]
async fn an_r01_late_debit_completes_then_fails_and_takes_the_money_back_into_the_negative() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let late = verified_bank(&d, &customer, "123456789", "R01-late").await;
    let other = verified_bank(&d, &customer, "223456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let t = transfer(&d, &late, &wallet, "10.00").await;

    // First call: settles normally.
    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "processed");
    assert_eq!(balance(&d, &wallet).await, "10.00");
    // The money is spent before the return comes.
    let spend = transfer(&d, &wallet, &other, "7.00").await;
    assert_eq!(balance(&d, &wallet).await, "3.00");

    // Second call: the debit is returned, the balance gives back what it received.
    assert_eq!(simulate(&d).await, 2, "the late return and the spending's credit");
    assert_eq!(transfer_status(&d, &t).await, "failed");
    assert_eq!(transfer_status(&d, &spend).await, "processed");
    assert_eq!(balance(&d, &wallet).await, "-7.00");
    let f = failure(&d, &t).await;
    assert_eq!(f.body["code"], "R01", "{}", f.text);
    assert_eq!(source(&d, &late).await["removed"], false);

    let events = all_events(&d).await;
    let debit = legs(&d, &t).await;
    assert_eq!(
        topics(&events, &debit[0]),
        ["customer_bank_transfer_created", "customer_bank_transfer_completed", "customer_bank_transfer_failed"]
    );
    assert_eq!(
        topics(&events, &t),
        ["customer_transfer_created", "customer_transfer_completed", "customer_transfer_failed"]
    );
    assert_eq!(topics(&events, &wallet), ["customer_funding_source_negative"]);
    assert_eq!(simulate(&d).await, 0, "a late return happens once");
    assert_eq!(balance(&d, &wallet).await, "-7.00");
}

#[tokio::test]
async fn an_r03_late_credit_completes_then_fails_refunds_and_removes_the_bank() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (customer, _, wallet) = funded(&d, "Jane", "123456789", "10.00").await;
    let late = verified_bank(&d, &customer, "555555555", "R03-late").await;
    let t = transfer(&d, &wallet, &late, "4.00").await;
    assert_eq!(balance(&d, &wallet).await, "6.00");

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "processed");
    assert_eq!(source(&d, &late).await["removed"], false, "not removed before the return");
    assert_eq!(balance(&d, &wallet).await, "6.00");

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "failed");
    assert_eq!(balance(&d, &wallet).await, "10.00", "the returned credit comes back");
    assert_eq!(source(&d, &late).await["removed"], true);
    assert_eq!(failure(&d, &t).await.body["code"], "R03");
    let events = all_events(&d).await;
    assert_eq!(
        topics(&events, &t),
        ["customer_transfer_created", "customer_transfer_completed", "customer_transfer_failed"]
    );
    assert_eq!(topics(&events, &late).last().map(String::as_str), Some("customer_funding_source_removed"));
    assert!(!topics(&events, &wallet).contains(&"customer_funding_source_negative".to_owned()));
}

// ---- one call, micro-deposits and the 500 newest -----------------------------------------

#[tokio::test]
async fn micro_deposits_are_processed_by_the_same_call() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let t = transfer(&d, &bank, &wallet, "1.00").await;
    let fresh = d.bank_from_numbers(&customer, "999999999", "New").await;
    assert_eq!(d.send(d.request(Method::POST, &format!("/funding-sources/{fresh}/micro-deposits"))).await.status, 201);

    assert_eq!(simulate(&d).await, 2, "one leg and one bank's micro-deposits");
    assert_eq!(transfer_status(&d, &t).await, "processed");
    let deposits = d.get(&format!("/funding-sources/{fresh}/micro-deposits")).await;
    assert_eq!(deposits.body["status"], "processed", "{}", deposits.text);
    assert!(topics(&all_events(&d).await, &fresh).contains(&"customer_microdeposits_completed".to_owned()));
    assert_eq!(simulate(&d).await, 0);
}

#[tokio::test]
async fn one_call_processes_the_newest_500_legs_and_the_next_the_rest() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let mut ids = Vec::new();
    for _ in 0..501 {
        ids.push(transfer(&d, &bank, &wallet, "0.01").await);
    }
    assert_eq!(simulate(&d).await, 500);
    assert_eq!(transfer_status(&d, &ids[0]).await, "pending", "the oldest waits");
    assert_eq!(transfer_status(&d, &ids[1]).await, "processed");
    assert_eq!(transfer_status(&d, &ids[500]).await, "processed");
    assert_eq!(balance(&d, &wallet).await, "5.00");
    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &ids[0]).await, "processed");
    assert_eq!(balance(&d, &wallet).await, "5.01");
}

#[tokio::test]
async fn webhooks_carry_the_correlation_id_of_the_transfer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "R01").await;
    let wallet = balance_of(&d, &customer).await;
    subscribe(&d, &receiver.url("/hooks"), "a-secret-of-enough-length").await;
    let r = d.post("/transfers", with_correlation(transfer_body(&d, &bank, &wallet, "3.00"), "corr.42")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.created_id();
    assert_eq!(simulate(&d).await, 1);
    // Created: the leg and the transfer; failed: the leg and the transfer.
    let received = receiver.wait_for(4, Duration::from_secs(20)).await;
    let mut topics: Vec<String> = received.iter().map(|w| w.json()["topic"].as_str().unwrap().to_owned()).collect();
    topics.sort();
    assert_eq!(
        topics,
        [
            "customer_bank_transfer_created",
            "customer_bank_transfer_failed",
            "customer_transfer_created",
            "customer_transfer_failed"
        ]
    );
    for w in &received {
        assert_eq!(w.json()["correlationId"], "corr.42", "{}", w.text());
    }
    assert!(received.iter().any(|w| w.json()["resourceId"] == t.as_str()));
}

// ---- the account as a party, fees, and legs left behind by a failure ---------------------

/// The account's funding source of `kind` (`bank` or `balance`).
async fn account_source(d: &Dwolla, tenant: &str, kind: &str) -> String {
    let r = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["_embedded"]["funding-sources"].as_array().unwrap().clone();
    let found = list.iter().find(|f| f["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {}", r.text));
    found["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_customer_paying_the_account_is_announced_to_both_and_credits_the_account_balance() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = app.sandbox.id.clone();
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let account_balance = account_source(&d, &tenant, "balance").await;
    let t = transfer(&d, &bank, &account_balance, "12.34").await;

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "processed");
    assert_eq!(balance(&d, &account_balance).await, "12.34");
    let events = all_events(&d).await;
    assert_eq!(
        topics(&events, &t),
        ["customer_transfer_created", "transfer_created", "customer_transfer_completed", "transfer_completed"]
    );
    let completed: Vec<&Value> =
        events.iter().filter(|e| e["resourceId"] == t.as_str() && e["topic"] == "transfer_completed").collect();
    assert!(completed[0]["_links"].get("customer").is_none(), "{}", completed[0]);
}

#[tokio::test]
async fn the_account_bank_paying_a_customer_raises_the_account_topics_and_its_r03_removal() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = app.sandbox.id.clone();
    let account_bank = account_source(&d, &tenant, "bank").await;
    let r = d.post(&format!("/funding-sources/{account_bank}"), json!({ "name": "R03" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let customer = verified_customer(&d, "Jane").await;
    let wallet = balance_of(&d, &customer).await;
    let t = transfer(&d, &account_bank, &wallet, "5.00").await;

    assert_eq!(simulate(&d).await, 1);
    assert_eq!(transfer_status(&d, &t).await, "failed");
    assert_eq!(balance(&d, &wallet).await, "0.00");
    let events = all_events(&d).await;
    let debit = legs(&d, &t).await;
    assert_eq!(topics(&events, &debit[0]), ["bank_transfer_created", "bank_transfer_failed"]);
    assert_eq!(
        topics(&events, &t),
        ["transfer_created", "customer_transfer_created", "transfer_failed", "customer_transfer_failed"]
    );
    assert_eq!(topics(&events, &account_bank).last().map(String::as_str), Some("funding_source_removed"));
    let f = failure(&d, &t).await;
    assert_eq!(f.body["code"], "R03", "{}", f.text);
    assert_link(&f.body["_links"]["account"], &format!("{}/accounts/{tenant}", app.payments_base), "account");
}

fn with_fee(mut body: Value, d: &Dwolla, charge_to: &str, amount: &str) -> Value {
    body["fees"] = json!([{
        "_links": { "charge-to": { "href": d.url(&format!("/customers/{charge_to}")) } },
        "amount": { "value": amount, "currency": "USD" },
    }]);
    body
}

async fn fee_statuses(d: &Dwolla, t: &str) -> Vec<String> {
    let r = d.get(&format!("/transfers/{t}/fees")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["transactions"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_fee_is_collected_when_its_transfer_completes_and_cancelled_when_it_fails() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = app.sandbox.id.clone();
    let payer = verified_customer(&d, "Jane").await;
    let good = verified_bank(&d, &payer, "123456789", "Checking").await;
    let bad = verified_bank(&d, &payer, "223456789", "R01").await;
    let payee = verified_customer(&d, "Rob").await;
    let wallet = balance_of(&d, &payee).await;
    let account_balance = account_source(&d, &tenant, "balance").await;

    let r = d.post("/transfers", with_fee(transfer_body(&d, &good, &wallet, "10.00"), &d, &payee, "1.00")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let paid = r.created_id();
    let r = d.post("/transfers", with_fee(transfer_body(&d, &bad, &wallet, "10.00"), &d, &payee, "1.00")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let refused = r.created_id();
    assert_eq!(fee_statuses(&d, &paid).await, ["pending"]);

    assert_eq!(simulate(&d).await, 2);
    assert_eq!(transfer_status(&d, &paid).await, "processed");
    assert_eq!(transfer_status(&d, &refused).await, "failed");
    assert_eq!(fee_statuses(&d, &paid).await, ["processed"]);
    assert_eq!(fee_statuses(&d, &refused).await, ["cancelled"]);
    assert_eq!(balance(&d, &wallet).await, "9.00", "the receiver pays its fee out of what it received");
    assert_eq!(balance(&d, &account_balance).await, "1.00");
}

#[tokio::test]
async fn a_late_returned_debit_of_a_bank_to_bank_transfer_cancels_its_pending_credit() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let payer = verified_customer(&d, "Jane").await;
    let from = verified_bank(&d, &payer, "123456789", "R01-late").await;
    let payee = d.customer("Rob", "rob@example.com").await;
    let to = d.bank_from_numbers(&payee, "987654321", "Savings").await;
    let t = transfer(&d, &from, &to, "8.00").await;

    assert_eq!(simulate(&d).await, 1, "the debit settles");
    assert_eq!(transfer_status(&d, &t).await, "pending");
    let events = all_events(&d).await;
    let created = resources_of(&events, "customer_bank_transfer_created");
    assert_eq!(created.len(), 2, "debit and credit");

    assert_eq!(simulate(&d).await, 1, "the late return; the credit is not sent");
    assert_eq!(transfer_status(&d, &t).await, "failed");
    let credit = d.get(&format!("/transfers/{}", created[1])).await;
    assert_eq!(credit.body["status"], "cancelled", "{}", credit.text);
    let events = all_events(&d).await;
    assert_eq!(
        topics(&events, &created[0]),
        ["customer_bank_transfer_created", "customer_bank_transfer_completed", "customer_bank_transfer_failed"]
    );
    assert_eq!(topics(&events, &created[1]), ["customer_bank_transfer_created", "customer_bank_transfer_cancelled"]);
    assert_eq!(failure(&d, &t).await.body["code"], "R01");
    assert_eq!(simulate(&d).await, 0);
}
