//! `POST /_openiav/force/…` through the real server: every force target with its side effects
//! as the real path has them (events in `GET /events`, Dwolla webhooks with their signature, MX
//! webhook records, balances, legs, failure records), illegal transitions (409 with the reason),
//! 404 across tenants, the re-authentication flow reacting to a member forced into LOCKED, and
//! races: a forced failure against `POST /sandbox-simulations`, two forces of one member (on
//! PostgreSQL when `OPENIAV_TEST_POSTGRES_URL` is set).

use std::time::Duration;

use openiav_aggregation::webhooks::settings;
use openiav_core::clock::{Clock, SystemClock};
use openiav_core::crypto::Keyring;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Client, Options, TestApp};
use crate::payments::receiver::{hmac_hex, subscribe, Receiver};
use crate::payments::support::{
    exchange_funding_source_body, mx_flow, sandbox_tenant, send_raw, Dwolla, HalResp, IavFlow,
};
use crate::payments::transfers::{body as transfer_body, cents_in, fund, pair, verified_personal};

pub const SOON: Duration = Duration::from_secs(10);

/// `POST /_openiav/force/{kind}/{id}` with the Dwolla bearer token.
pub async fn force(d: &Dwolla, kind: &str, id: &str, body: Value) -> HalResp {
    let req = d
        .request(Method::POST, &format!("/_openiav/force/{kind}/{id}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    send_raw(req).await
}

/// Points the tenant's MX webhooks (all types) at `url`.
pub async fn mx_endpoint(app: &TestApp, url: &str) {
    let keyring = Keyring::new(&app.key);
    settings::configure(&app.store, &keyring, SystemClock.now(), sandbox_tenant(app), None, url, None).await.unwrap();
}

/// The tenant's MX webhook records of `kind`, newest first.
pub async fn mx_records(mx: &Client, kind: &str) -> Vec<Value> {
    let r = mx.get(&format!("/_openiav/mx/webhooks?type={kind}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["webhooks"].as_array().unwrap().clone()
}

/// Waits until the receiver holds a Dwolla webhook with `topic`; returns its body and headers.
pub async fn dwolla_webhook(receiver: &Receiver, topic: &str) -> crate::payments::receiver::Received {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        if let Some(hit) = receiver.received().into_iter().find(|r| r.header("x-dwolla-topic") == Some(topic)) {
            return hit;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {topic} webhook arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn topics(events: &HalResp, resource: &str) -> Vec<String> {
    let mut out: Vec<String> = events.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resourceId"] == resource)
        .map(|e| e["topic"].as_str().unwrap().to_owned())
        .collect();
    out.reverse();
    out
}

async fn topics_about(d: &Dwolla, resource: &str) -> Vec<String> {
    topics(&d.get("/events?limit=200").await, resource)
}

/// The MX user behind a flow's customer.
async fn aggregator_user(mx: &Client, flow: &IavFlow) -> String {
    let users = mx.get("/users?records_per_page=1000").await;
    let partner_id = format!("payments-customer-{}", flow.customer);
    let users = users.body["users"].as_array().unwrap().clone();
    let user = users.iter().find(|u| u["id"] == partner_id.as_str()).expect("the customer's aggregator user");
    user["guid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_member_forced_into_locked_makes_its_exchange_ask_for_new_credentials() {
    let app = TestApp::spawn().await;
    let (d, mx) = (Dwolla::sandbox(&app).await, app.client());
    let receiver = Receiver::start().await;
    mx_endpoint(&app, &receiver.url("/mx")).await;
    let flow = mx_flow(&app, &d, "locked@example.com").await;
    let balance = format!("/funding-sources/{}/balance", flow.funding_source);
    assert_eq!(d.get(&balance).await.status, 200);

    // MX credentials reach the control plane on the aggregation listener.
    let r =
        mx.post(&format!("/_openiav/force/members/{}", flow.member), json!({ "connection_status": "LOCKED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["member"]["connection_status"], "LOCKED");
    assert_eq!(r.body["member"]["connection_status_message"], "The credentials are valid, but the user is locked.");
    let user = aggregator_user(&mx, &flow).await;
    assert_eq!(mx.read_member(&user, &flow.member).await["connection_status"], "LOCKED");

    // The CONNECTION_STATUS webhook, recorded and delivered with MX's payload.
    let records = mx_records(&mx, "CONNECTION_STATUS").await;
    let record = records.iter().find(|w| w["payload"]["connection_status"] == "LOCKED").expect("the webhook record");
    assert_eq!(record["payload"]["member_guid"], flow.member.as_str());
    assert_eq!(record["payload"]["connection_status_id"], 5);
    let deadline = tokio::time::Instant::now() + SOON;
    while !receiver.received().iter().any(|w| w.json()["connection_status"] == "LOCKED") {
        assert!(tokio::time::Instant::now() < deadline, "the CONNECTION_STATUS webhook never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // As with a member that lost its connection at the bank: found by the next read.
    assert!(topics_about(&d, &flow.exchange).await.is_empty(), "nothing is told before a read finds it");
    let r = d.get(&balance).await;
    assert_eq!((r.status, r.code()), (400, "UpdateCredentials"), "{}", r.text);
    assert_eq!(topics_about(&d, &flow.exchange).await, ["customer_exchange_reauth_required"]);
    let r = d
        .post(
            &format!("/customers/{}/funding-sources", flow.customer),
            exchange_funding_source_body(&flow.exchange, "Again"),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "UpdateCredentials"), "{}", r.text);
    assert_eq!(topics_about(&d, &flow.exchange).await, ["customer_exchange_reauth_required"], "told once per loss");

    // Forced back to CONNECTED, the numbers read again and the mark clears.
    let r = force(&d, "members", &flow.member, json!({ "connection_status": "CONNECTED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(d.get(&balance).await.status, 200);
    // Forced into a status that needs re-authentication again: a new loss, told again.
    let r = force(&d, "members", &flow.member, json!({ "connection_status": "EXPIRED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(d.get(&balance).await.status, 400);
    assert_eq!(
        topics_about(&d, &flow.exchange).await,
        ["customer_exchange_reauth_required", "customer_exchange_reauth_required"]
    );
}

#[tokio::test]
async fn member_forces_refuse_what_the_state_machine_does_not_allow_and_other_tenants() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let user = mx.create_user().await;
    let denied = mx.member_guid(&user, "mxuser", "INVALID", false).await;
    assert_eq!(mx.settle(&user, &denied).await["connection_status"], "DENIED");
    let path = format!("/_openiav/force/members/{denied}");

    let r = mx.post(&path, json!({ "connection_status": "CONNECTED" })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["code"], "Conflict");
    assert!(r.body["message"].as_str().unwrap().contains("never connected"), "{}", r.text);
    let r = mx.post(&path, json!({ "connection_status": "DENIED" })).await;
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("The member is DENIED already.")));
    let r = mx.post(&path, json!({ "connection_status": "SLEEPY" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("LOCKED"), "names the statuses: {}", r.text);
    assert_eq!(mx.post(&path, json!({})).await.status, 400);
    assert_eq!(mx.post("/_openiav/force/members/MBR-none", json!({ "connection_status": "LOCKED" })).await.status, 404);

    // Another tenant's member is not found, and stays as it was.
    let other = app.other_tenant().await;
    let r = other.post(&path, json!({ "connection_status": "LOCKED" })).await;
    assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NotFound")), "{}", r.text);
    assert_eq!(mx.read_member(&user, &denied).await["connection_status"], "DENIED");
    let anonymous = Client::new(&app.base, "nobody", "nothing");
    assert_eq!(anonymous.post(&path, json!({ "connection_status": "LOCKED" })).await.status, 401);

    // A failed member may go to any other status: the challenge-free ones end the job.
    let r = mx.post(&path, json!({ "connection_status": "PREVENTED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mx.read_member(&user, &denied).await["connection_status"], "PREVENTED");
}

#[tokio::test]
async fn customers_are_forced_through_dwollas_statuses_with_their_events_and_signed_webhooks() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    subscribe(&d, &receiver.url("/hooks"), "force-secret").await;
    let customer = verified_personal(&d, "forced@example.com").await;

    let r = force(&d, "customers", &customer, json!({ "status": "suspended" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "suspended");
    assert_eq!(r.body["id"], customer.as_str());
    assert_eq!(d.get(&format!("/customers/{customer}")).await.body["status"], "suspended");
    let hook = dwolla_webhook(&receiver, "customer_suspended").await;
    assert_eq!(hook.header("x-request-signature-sha-256"), Some(hmac_hex("force-secret", &hook.body).as_str()));
    assert_eq!(hook.json()["resourceId"], customer.as_str());
    assert_eq!(hook.header("x-openiav-fired"), None, "a forced change raises real events, not fired ones");

    for (status, topic) in [("verified", "customer_verified"), ("retry", "customer_reverification_needed")] {
        let r = force(&d, "customers", &customer, json!({ "status": status })).await;
        assert_eq!(r.status, 200, "{status}: {}", r.text);
        assert_eq!(topics_about(&d, &customer).await.last().map(String::as_str), Some(topic));
    }
    let r = force(&d, "customers", &customer, json!({ "status": "kba" })).await;
    assert_eq!(r.status, 200, "a personal customer takes KBA: {}", r.text);
    let r = force(&d, "customers", &customer, json!({ "status": "deactivated" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = force(&d, "customers", &customer, json!({ "status": "suspended" })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["message"], "A deactivated customer can only be reactivated (to verified).");
    let r = force(&d, "customers", &customer, json!({ "status": "verified" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        topics_about(&d, &customer).await,
        [
            "customer_created",
            "customer_verified",
            "customer_suspended",
            "customer_verified",
            "customer_reverification_needed",
            "customer_kba_verification_needed",
            "customer_deactivated",
            "customer_activated",
        ]
    );

    // An unverified customer stays unverified; another tenant's customer is not found.
    let plain = d.customer("Plain", "plain@example.com").await;
    let r = force(&d, "customers", &plain, json!({ "status": "verified" })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(force(&d, "customers", &plain, json!({ "status": "pending" })).await.status, 400);
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(force(&other, "customers", &plain, json!({ "status": "suspended" })).await.status, 404);
    assert_eq!(d.get(&format!("/customers/{plain}")).await.body["status"], "unverified");
}

#[tokio::test]
async fn banks_are_forced_verified_unverified_and_removed_as_the_api_removes_them() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_personal(&d, "banks@example.com").await;
    let bank = d.bank_from_numbers(&customer, "12345678", "Forced").await;

    let r = force(&d, "funding-sources", &bank, json!({ "state": "verified" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("verified")), "{}", r.text);
    assert_eq!(d.get(&format!("/funding-sources/{bank}")).await.body["status"], "verified");
    let r = force(&d, "funding-sources", &bank, json!({ "state": "verified" })).await;
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("The bank is verified already.")));
    let r = force(&d, "funding-sources", &bank, json!({ "state": "unverified" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("unverified")), "{}", r.text);
    let r = force(&d, "funding-sources", &bank, json!({ "state": "removed" })).await;
    assert_eq!((r.status, r.body["removed"].as_bool()), (200, Some(true)), "{}", r.text);
    assert_eq!(d.get(&format!("/funding-sources/{bank}")).await.body["removed"], true);
    assert_eq!(force(&d, "funding-sources", &bank, json!({ "state": "verified" })).await.status, 409);
    assert_eq!(
        topics_about(&d, &bank).await,
        [
            "customer_funding_source_added",
            "customer_funding_source_verified",
            "customer_funding_source_unverified",
            "customer_funding_source_removed",
        ]
    );

    let balance = crate::payments::transfers::balance_of(&d, &customer).await;
    let r = force(&d, "funding-sources", &balance, json!({ "state": "removed" })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(force(&d, "funding-sources", &balance, json!({ "state": "gone" })).await.status, 400);
    let (other, _) = Dwolla::other_tenant(&app).await;
    let mine = d.bank_from_numbers(&customer, "87654321", "Mine").await;
    assert_eq!(force(&other, "funding-sources", &mine, json!({ "state": "removed" })).await.status, 404);
    assert_eq!(d.get(&format!("/funding-sources/{mine}")).await.body["removed"], false);
}

#[tokio::test]
async fn micro_deposits_are_forced_to_process_or_fail_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_personal(&d, "deposits@example.com").await;
    let bank = d.bank_from_numbers(&customer, "12345678", "Deposits").await;
    let r = force(&d, "micro-deposits", &bank, json!({ "status": "processed" })).await;
    assert_eq!(r.status, 409, "not initiated yet: {}", r.text);
    let initiate = d.send(d.request(Method::POST, &format!("/funding-sources/{bank}/micro-deposits"))).await;
    assert_eq!(initiate.status, 201, "{}", initiate.text);

    let r = force(&d, "micro-deposits", &bank, json!({ "status": "processed" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("processed")), "{}", r.text);
    assert_eq!(d.get(&format!("/funding-sources/{bank}/micro-deposits")).await.body["status"], "processed");
    assert_eq!(force(&d, "micro-deposits", &bank, json!({ "status": "failed" })).await.status, 409);

    let second = d.bank_from_numbers(&customer, "22223333", "Fails").await;
    d.send(d.request(Method::POST, &format!("/funding-sources/{second}/micro-deposits"))).await;
    let r = force(&d, "micro-deposits", &second, json!({ "status": "failed" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("failed")), "{}", r.text);
    assert_eq!(
        topics_about(&d, &bank).await[1..],
        ["customer_microdeposits_added", "customer_microdeposits_completed"]
    );
    assert_eq!(topics_about(&d, &second).await[1..], ["customer_microdeposits_added", "customer_microdeposits_failed"]);
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(force(&other, "micro-deposits", &bank, json!({ "status": "processed" })).await.status, 404);
}

#[tokio::test]
async fn mx_micro_deposits_are_forced_with_their_microdeposit_webhook() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let receiver = Receiver::start().await;
    mx_endpoint(&app, &receiver.url("/mx")).await;
    let user = mx.create_user().await;
    let create = json!({ "micro_deposit": {
        "account_name": "Forced", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": "068899994"
    }});
    let r = mx.post(&format!("/users/{user}/micro_deposits"), create.clone()).await;
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let path = format!("/_openiav/force/mx-micro-deposits/{guid}");

    let r = mx.post(&path, json!({ "status": "VERIFIED" })).await;
    assert_eq!((r.status, r.body["micro_deposit"]["status"].as_str()), (200, Some("VERIFIED")), "{}", r.text);
    let read = mx.get(&format!("/users/{user}/micro_deposits/{guid}")).await;
    assert_eq!(read.body["micro_deposit"][0]["status"], "VERIFIED");
    let records = mx_records(&mx, "MICRODEPOSIT").await;
    assert_eq!(records[0]["payload"]["micro_deposit"]["status_name"], "VERIFIED", "{:#?}", records[0]);
    assert_eq!(records[0]["payload"]["micro_deposit"]["status"], 2, "MX's numeric status");
    let r = mx.post(&path, json!({ "status": "DENIED" })).await;
    assert_eq!(r.status, 409, "a judged micro-deposit is final: {}", r.text);
    assert_eq!(mx.post(&path, json!({ "status": "INITIATED" })).await.status, 409);

    let r = mx.post(&format!("/users/{user}/micro_deposits"), create).await;
    let second = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let r = mx.post(&format!("/_openiav/force/mx-micro-deposits/{second}"), json!({ "status": "ERRORED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["micro_deposit"]["error_message"], "The deposits could not be made to this account.");
    let other = app.other_tenant().await;
    assert_eq!(other.post(&path, json!({ "status": "VERIFIED" })).await.status, 404);
}

/// How many of the MX webhook records are about micro-deposit `guid` in `status`.
fn deposit_webhooks(records: &[Value], guid: &str, status: &str) -> usize {
    let about = |w: &&Value| w["payload"]["micro_deposit"]["guid"] == guid;
    records.iter().filter(about).filter(|w| w["payload"]["micro_deposit"]["status_name"] == status).count()
}

#[tokio::test]
async fn a_micro_deposit_forced_before_it_lands_sends_no_deposited_webhook_when_the_landing_comes() {
    // The deposits land an hour after they are made.
    let app = TestApp::spawn_with(Options { sandbox_delay_ms: 3_600_000, ..Options::default() }).await;
    let mx = app.client();
    let receiver = Receiver::start().await;
    mx_endpoint(&app, &receiver.url("/mx")).await;
    let user = mx.create_user().await;
    let create = json!({ "micro_deposit": {
        "account_name": "Forced", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": "068899994"
    }});
    let mut guids = Vec::new();
    for _ in 0..3 {
        let r = mx.post(&format!("/users/{user}/micro_deposits"), create.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        guids.push(r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned());
    }
    let (verified, early, untouched) = (&guids[0], &guids[1], &guids[2]);
    for (guid, status) in [(verified, "VERIFIED"), (early, "DEPOSITED")] {
        let r = mx.post(&format!("/_openiav/force/mx-micro-deposits/{guid}"), json!({ "status": status })).await;
        assert_eq!((r.status, r.body["micro_deposit"]["status"].as_str()), (200, Some(status)), "{}", r.text);
    }
    let r = mx.post("/_openiav/clock/advance", json!({ "duration": "2h" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let records = mx_records(&mx, "MICRODEPOSIT").await;
    assert_eq!(deposit_webhooks(&records, verified, "DEPOSITED"), 0, "verified first: {records:#?}");
    assert_eq!(deposit_webhooks(&records, verified, "VERIFIED"), 1);
    assert_eq!(deposit_webhooks(&records, early, "DEPOSITED"), 1, "landed early, once: {records:#?}");
    assert_eq!(deposit_webhooks(&records, untouched, "DEPOSITED"), 1, "the real landing still announces itself");
}

#[tokio::test]
async fn transfers_are_forced_to_fail_with_a_return_or_to_clear_through_the_sandbox_pass() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;

    // Bank → balance, failed with R03: the leg fails, the bank is removed, nothing is credited.
    let t = d.post("/transfers", transfer_body(&p.a_bank, &p.a_balance, "12.50")).await.created_id();
    let r = force(&d, "transfers", &t, json!({ "status": "failed", "returnCode": "R03" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("failed")), "{}", r.text);
    let failure = d.get(&format!("/transfers/{t}/failure")).await;
    assert_eq!(failure.status, 200, "{}", failure.text);
    assert_eq!(failure.body["code"], "R03");
    assert_eq!(failure.body["description"], "No Account/Unable to Locate Account");
    assert_eq!(cents_in(&app, &p.a_balance).await, 0);
    assert_eq!(d.get(&format!("/funding-sources/{}", p.a_bank)).await.body["removed"], true);
    assert_eq!(topics_about(&d, &t).await, ["customer_transfer_created", "customer_transfer_failed"]);
    assert_eq!(topics_about(&d, &p.a_bank).await.last().map(String::as_str), Some("customer_funding_source_removed"));
    let again = force(&d, "transfers", &t, json!({ "status": "processed" })).await;
    assert_eq!(
        (again.status, again.body["message"].as_str()),
        (409, Some("Only a pending transfer's outcome can be forced."))
    );

    // Bank → bank, forced to clear: the debit clears, the credit opens and clears.
    let t = d.post("/transfers", transfer_body(&p.b_bank, &p.a_bank, "3.00")).await;
    assert_eq!(t.status, 400, "the removed bank takes nothing: {}", t.text);
    let c = verified_personal(&d, "c@example.com").await;
    let c_bank = crate::payments::transfers::verified_bank(&d, &c, "55556666", "C checking").await;
    let t = d.post("/transfers", transfer_body(&p.b_bank, &c_bank, "3.00")).await.created_id();
    let r = force(&d, "transfers", &t, json!({ "status": "processed" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("processed")), "{}", r.text);
    assert_eq!(r.body["individualAchId"].as_str().map(|s| s.starts_with("IDA")), Some(true), "{}", r.text);
    let events = d.get("/events?limit=200").await;
    let legs: Vec<String> = events.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "customer_bank_transfer_completed")
        .map(|e| e["resourceId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(legs.len(), 2, "debit and credit legs completed");

    // Balance → balance settles at once: nothing to force. A pending one is cancelled.
    fund(&app, &p.b_balance, 10_000).await;
    let instant = d.post("/transfers", transfer_body(&p.b_balance, &p.a_balance, "1.00")).await.created_id();
    assert_eq!(force(&d, "transfers", &instant, json!({ "status": "processed" })).await.status, 409);
    let pending = d.post("/transfers", transfer_body(&p.b_balance, &c_bank, "2.00")).await.created_id();
    assert_eq!(cents_in(&app, &p.b_balance).await, 10_000 - 100 - 200);
    let r = force(&d, "transfers", &pending, json!({ "status": "cancelled" })).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("cancelled")), "{}", r.text);
    assert_eq!(cents_in(&app, &p.b_balance).await, 10_000 - 100, "the cancel refunds the balance");
    assert_eq!(force(&d, "transfers", &pending, json!({ "status": "cancelled" })).await.status, 409);

    // A leg's id names its transfer; the answer is the leg, as `GET /transfers/{leg}` shows it.
    let by_leg = d.post("/transfers", transfer_body(&p.b_balance, &c_bank, "4.00")).await.created_id();
    let events = d.get("/events?limit=200").await;
    let leg = events.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "customer_bank_transfer_created" && e["correlationId"].is_null())
        .map(|e| e["resourceId"].as_str().unwrap().to_owned())
        .unwrap();
    let r = force(&d, "transfers", &leg, json!({ "status": "failed", "returnCode": "R01" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(d.get(&format!("/transfers/{by_leg}")).await.body["status"], "failed");
    assert_eq!(cents_in(&app, &p.b_balance).await, 10_000 - 100, "the failure refunds the balance");

    // Bodies are checked; another tenant's transfer is not found.
    assert_eq!(force(&d, "transfers", &pending, json!({ "status": "failed" })).await.status, 400);
    assert_eq!(force(&d, "transfers", &pending, json!({ "status": "failed", "returnCode": "R99" })).await.status, 400);
    assert_eq!(
        force(&d, "transfers", &pending, json!({ "status": "processed", "returnCode": "R01" })).await.status,
        400
    );
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(force(&other, "transfers", &t, json!({ "status": "processed" })).await.status, 404);
}

#[tokio::test]
async fn a_forced_failure_racing_the_sandbox_processing_has_exactly_one_outcome() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    for round in 0..6 {
        let before = cents_in(&app, &p.a_balance).await;
        let t = d.post("/transfers", transfer_body(&p.b_bank, &p.a_balance, "1.00")).await.created_id();
        let (forced, simulated) = tokio::join!(
            force(&d, "transfers", &t, json!({ "status": "failed", "returnCode": "R01" })),
            d.post("/sandbox-simulations", json!({})),
        );
        assert_eq!(simulated.status, 200, "round {round}: {}", simulated.text);
        let status = d.get(&format!("/transfers/{t}")).await.body["status"].as_str().unwrap().to_owned();
        let after = cents_in(&app, &p.a_balance).await;
        match forced.status {
            200 => {
                assert_eq!(status, "failed", "round {round}");
                assert_eq!(after, before, "round {round}: a failed transfer credits nothing");
            }
            409 => {
                assert_eq!(status, "processed", "round {round}");
                assert_eq!(after, before + 100, "round {round}: credited once");
            }
            other => panic!("round {round}: force answered {other}: {}", forced.text),
        }
        // One outcome, told to each of the two parties.
        let mut ended: Vec<String> =
            topics_about(&d, &t).await.into_iter().filter(|t| t != "customer_transfer_created").collect();
        ended.dedup();
        let outcome = if forced.status == 200 { "customer_transfer_failed" } else { "customer_transfer_completed" };
        assert_eq!(ended, [outcome], "round {round}");
    }
}

#[tokio::test]
async fn two_concurrent_forces_of_one_member_change_it_once() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let receiver = Receiver::start().await;
    mx_endpoint(&app, &receiver.url("/mx")).await;
    let user = mx.create_user().await;
    let member = mx.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(mx.settle(&user, &member).await["connection_status"], "CONNECTED");
    let path = format!("/_openiav/force/members/{member}");
    let of_member =
        |records: Vec<Value>| records.iter().filter(|w| w["payload"]["member_guid"] == member.as_str()).count();
    let connecting = of_member(mx_records(&mx, "CONNECTION_STATUS").await);
    for (round, status) in ["LOCKED", "CONNECTED", "DENIED", "CONNECTED"].into_iter().enumerate() {
        let body = json!({ "connection_status": status });
        let (a, b) = tokio::join!(mx.post(&path, body.clone()), mx.post(&path, body.clone()));
        let mut answers = [a.status, b.status];
        answers.sort_unstable();
        assert_eq!(answers, [200, 409], "round {round}: {} / {}", a.text, b.text);
        let told = of_member(mx_records(&mx, "CONNECTION_STATUS").await);
        assert_eq!(told, connecting + round + 1, "round {round}: one CONNECTION_STATUS per change");
    }
}

/// Runs the `openiav` binary with `args` (blocking, off the runtime's threads).
async fn openiav(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_openiav"))
            .args(args)
            .env_remove("OPENIAV_URL")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("the openiav binary runs")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sandbox_cli_forces_and_fires_over_http_with_the_tenants_credentials() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let user = mx.create_user().await;
    let member = mx.member_guid(&user, "mxuser", "password", false).await;
    mx.settle(&user, &member).await;
    let with_mx = |verb: &[&str]| {
        let mut args: Vec<String> = ["sandbox", "--url", &app.base, "--mx-client-id", &app.sandbox.mx.client_id]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--mx-api-key".to_owned(), app.sandbox.mx.api_key.clone()]);
        args.extend(verb.iter().map(|s| s.to_string()));
        args
    };

    let out = openiav(with_mx(&["force", "member", &member, "--status", "LOCKED"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["member"]["connection_status"], "LOCKED");
    assert_eq!(mx.read_member(&user, &member).await["connection_status"], "LOCKED");
    let out = openiav(with_mx(&["force", "member", &member, "--status", "LOCKED"])).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("409 Conflict: The member is LOCKED already."));

    // Dwolla credentials go through `/token` on the payments listener.
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_personal(&d, "cli@example.com").await;
    let dwolla = |verb: &[&str]| {
        let mut args: Vec<String> = vec!["sandbox".into(), "--url".into(), app.payments_base.clone()];
        args.extend(["--dwolla-key".into(), app.sandbox.dwolla.key.clone()]);
        args.extend(["--dwolla-secret".into(), app.sandbox.dwolla.secret.clone()]);
        args.extend(verb.iter().map(|s| s.to_string()));
        args
    };
    let out = openiav(dwolla(&["force", "customer", &customer, "--status", "suspended"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"], "suspended");
    let out = openiav(dwolla(&["fire", "dwolla", "customer_suspended", "--resource", &customer])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fired: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (fired["fired"].as_bool(), fired["event"]["resourceId"].as_str()),
        (Some(true), Some(customer.as_str()))
    );
    assert_eq!(topics_about(&d, &customer).await.last().map(String::as_str), Some("customer_suspended"));
}

#[tokio::test]
async fn a_member_forced_into_challenged_waits_on_a_question_that_answers_as_the_sandbox_banks() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let user = mx.create_user().await;
    let member = mx.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(mx.settle(&user, &member).await["connection_status"], "CONNECTED");

    let r = mx.post(&format!("/_openiav/force/members/{member}"), json!({ "connection_status": "CHALLENGED" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let status = mx.status(&user, &member).await;
    assert_eq!(
        (status["connection_status"].as_str(), status["is_being_aggregated"].as_bool()),
        (Some("CHALLENGED"), Some(true))
    );
    let challenges = mx.get(&format!("/users/{user}/members/{member}/challenges")).await;
    assert_eq!(challenges.status, 200, "{}", challenges.text);
    let challenge = challenges.body["challenges"][0]["guid"].as_str().unwrap().to_owned();

    let r = mx.resume(&user, &member, &challenge, "correct").await;
    assert!(r.status == 200 || r.status == 202, "{}", r.text);
    assert_eq!(mx.settle(&user, &member).await["connection_status"], "CONNECTED");
}
