//! `POST /_openiav/fire/{dwolla|mx}` through the real server: a Dwolla event of each resource
//! kind built as the real path builds it (links, customer, correlation id), stored, listed by
//! `GET /events` in Dwolla's exact shape and delivered signed, with the fired mark only where
//! strict clients do not look (the `X-Openiav-Fired` header, `GET /_openiav/events/{id}`); MX
//! webhooks of each resource kind delivered by the MX worker and marked in their record; and the
//! refusals: unknown topics and types, resources that do not fit, other tenants' resources.

use reqwest::Method;
use serde_json::{json, Value};

use crate::control_force::{dwolla_webhook, mx_endpoint, mx_records};
use crate::helpers::TestApp;
use crate::payments::receiver::{hmac_hex, subscribe, Receiver};
use crate::payments::support::{mx_flow, send_raw, Dwolla, HalResp};
use crate::payments::transfers::{pair, verified_personal};

async fn fire(d: &Dwolla, body: Value) -> HalResp {
    let req = d
        .request(Method::POST, "/_openiav/fire/dwolla")
        .header("content-type", "application/json")
        .body(body.to_string());
    send_raw(req).await
}

async fn record(d: &Dwolla, id: &str) -> HalResp {
    send_raw(d.request(Method::GET, &format!("/_openiav/events/{id}"))).await
}

/// The newest bank transfer (ACH leg), as the events of its creation name it.
pub async fn newest_leg(d: &Dwolla) -> String {
    let events = d.get("/events?limit=200").await;
    events.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "customer_bank_transfer_created")
        .expect("a leg's creation event")["resourceId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_fired_event_is_stored_listed_and_delivered_like_a_real_one_and_marked_fired() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    subscribe(&d, &receiver.url("/hooks"), "fire-secret").await;
    let customer = verified_personal(&d, "fired@example.com").await;

    let r = fire(&d, json!({ "topic": "customer_verified", "resourceId": customer })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!((r.body["fired"].as_bool(), r.body["topic"].as_str()), (Some(true), Some("customer_verified")));
    let id = r.body["id"].as_str().unwrap().to_owned();

    // Dwolla's own view of it is exactly that of a raised event: no openiav field.
    let event = d.get(&format!("/events/{id}")).await;
    assert_eq!(event.status, 200, "{}", event.text);
    assert_eq!(r.body["event"], event.body, "the record carries Dwolla's view");
    let mut keys: Vec<&str> = event.body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["_links", "created", "id", "resourceId", "topic"], "{}", event.text);
    assert_eq!(event.body["_links"]["resource"]["href"], format!("{}/customers/{customer}", app.payments_base));
    assert_eq!(event.body["_links"]["customer"]["href"], format!("{}/customers/{customer}", app.payments_base));
    let listed = d.get("/events?limit=200").await;
    assert!(listed.body["_embedded"]["events"].as_array().unwrap().contains(&event.body));

    // Delivered signed, with the mark in a header of its own; a raised event's webhook has none.
    dwolla_webhook(&receiver, "customer_verified").await;
    let raised = receiver
        .received()
        .into_iter()
        .find(|w| w.header("x-dwolla-topic") == Some("customer_created"))
        .expect("the creation's webhook");
    let fired = receiver
        .wait_for(3, crate::control_force::SOON)
        .await
        .into_iter()
        .find(|w| w.json()["id"] == id.as_str())
        .expect("the fired webhook");
    assert_eq!(fired.header("x-openiav-fired"), Some("true"));
    assert_eq!(fired.header("x-request-signature-sha-256"), Some(hmac_hex("fire-secret", &fired.body).as_str()));
    assert_eq!(fired.json(), event.body, "the webhook body is the event");
    assert_eq!(raised.header("x-openiav-fired"), None);

    let mine = record(&d, &id).await;
    assert_eq!((mine.status, mine.body["fired"].as_bool()), (200, Some(true)), "{}", mine.text);
    assert!(mine.body["firedAt"].is_string());
    let created = listed.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "customer_created" && e["resourceId"] == customer.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = record(&d, &created).await;
    assert_eq!((theirs.body["fired"].as_bool(), theirs.body["firedAt"].is_null()), (Some(false), true));
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(record(&other, &id).await.status, 404);
}

#[tokio::test]
async fn each_resource_kind_takes_its_topics_with_the_links_the_real_path_writes() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let base = app.payments_base.clone();

    let r = fire(&d, json!({ "topic": "customer_funding_source_verified", "resourceId": p.a_bank })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["event"]["_links"]["resource"]["href"], format!("{base}/funding-sources/{}", p.a_bank));
    assert_eq!(r.body["event"]["_links"]["customer"]["href"], format!("{base}/customers/{}", p.a));

    let correlated = json!({
        "_links": { "source": { "href": crate::payments::transfers::fs_href(&p.a_bank) },
                    "destination": { "href": crate::payments::transfers::fs_href(&p.b_balance) } },
        "amount": { "currency": "USD", "value": "2.00" },
        "correlationId": "order-77",
    });
    let t = d.post("/transfers", correlated).await.created_id();
    let r = fire(&d, json!({ "topic": "customer_transfer_completed", "resourceId": t })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["event"]["_links"]["resource"]["href"], format!("{base}/transfers/{t}"));
    assert_eq!(r.body["event"]["_links"]["customer"]["href"], format!("{base}/customers/{}", p.a));
    assert_eq!(r.body["event"]["correlationId"], "order-77", "{}", r.text);
    // Each customer of the transfer is told, as the real path tells them: the sender, then the
    // receiver, each event stored, marked and listed by Dwolla's own API.
    let told = r.body["events"].as_array().expect("every event the fire wrote");
    let customers: Vec<&str> =
        told.iter().map(|e| e["event"]["_links"]["customer"]["href"].as_str().unwrap()).collect();
    assert_eq!(customers, [format!("{base}/customers/{}", p.a), format!("{base}/customers/{}", p.b)], "{}", r.text);
    assert_eq!(told[0]["id"], r.body["id"]);
    for e in told {
        assert_eq!((e["topic"].as_str(), e["fired"].as_bool()), (Some("customer_transfer_completed"), Some(true)));
        assert_eq!(e["event"]["correlationId"], "order-77");
        let stored = d.get(&format!("/events/{}", e["id"].as_str().unwrap())).await;
        assert_eq!(stored.body, e["event"], "{}", stored.text);
    }

    // A leg: the events of the transfer's creation name it.
    let leg = newest_leg(&d).await;
    let r = fire(&d, json!({ "topic": "customer_bank_transfer_completed", "resourceId": leg })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["event"]["_links"]["resource"]["href"], format!("{base}/transfers/{leg}"));

    // The resource must fit the topic: the account's topics need the account on one side.
    let r = fire(&d, json!({ "topic": "transfer_completed", "resourceId": t })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("the account"), "{}", r.text);
    let r = fire(&d, json!({ "topic": "funding_source_removed", "resourceId": p.a_bank })).await;
    assert_eq!(r.status, 409, "a customer's bank is not the account's: {}", r.text);
    // A customer topic about a funding source's id finds no customer.
    assert_eq!(fire(&d, json!({ "topic": "customer_created", "resourceId": p.a_bank })).await.status, 404);
    assert_eq!(fire(&d, json!({ "topic": "customer_bored", "resourceId": p.a })).await.status, 400);
    assert_eq!(fire(&d, json!({ "topic": "customer_created" })).await.status, 400);
    let (other, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(fire(&other, json!({ "topic": "customer_created", "resourceId": p.a })).await.status, 404);
}

#[tokio::test]
async fn an_exchange_takes_the_reauth_topic() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "exchange@example.com").await;
    let r = fire(&d, json!({ "topic": "customer_exchange_reauth_required", "resourceId": flow.exchange })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let base = &app.payments_base;
    assert_eq!(r.body["event"]["_links"]["resource"]["href"], format!("{base}/exchanges/{}", flow.exchange));
    assert_eq!(r.body["event"]["_links"]["customer"]["href"], format!("{base}/customers/{}", flow.customer));
    // Firing tells; it does not take the connection away.
    assert_eq!(d.get(&format!("/funding-sources/{}/balance", flow.funding_source)).await.status, 200);
}

#[tokio::test]
async fn mx_webhooks_of_each_kind_are_fired_delivered_and_marked_in_their_record() {
    let app = TestApp::spawn().await;
    let mx = app.client();
    let user = mx.create_user().await;
    let member = mx.member_guid(&user, "mxuser", "password", false).await;
    mx.settle(&user, &member).await;

    // No endpoint takes the type yet.
    let r = mx.post("/_openiav/fire/mx", json!({ "type": "CONNECTION_STATUS", "member_guid": member })).await;
    assert_eq!(r.status, 409, "{}", r.text);

    let receiver = Receiver::start().await;
    mx_endpoint(&app, &receiver.url("/mx")).await;
    let r = mx.post("/_openiav/fire/mx", json!({ "type": "CONNECTION_STATUS", "member_guid": member })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["webhook"]["payload"]["connection_status"], "CONNECTED");
    assert_eq!(r.body["webhook"]["payload"]["member_guid"], member.as_str());
    let guid = r.body["webhook"]["guid"].as_str().unwrap().to_owned();
    let delivered = receiver.wait_for(1, crate::control_force::SOON).await;
    assert_eq!(delivered[0].json(), r.body["webhook"]["payload"], "delivered as recorded");
    let mine = mx.get(&format!("/_openiav/mx/webhooks/{guid}")).await;
    assert_eq!((mine.status, mine.body["webhook"]["fired"].as_bool()), (200, Some(true)), "{}", mine.text);
    assert!(mine.body["webhook"]["fired_at"].is_string());

    let r = mx.post("/_openiav/fire/mx", json!({ "type": "AGGREGATION", "member_guid": member })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["webhook"]["payload"]["action"], "member_data_updated");
    assert_eq!(r.body["webhook"]["payload"]["type"], "AGGREGATION");
    let r = mx.post("/_openiav/fire/mx", json!({ "type": "USER", "user_guid": user })).await;
    assert_eq!((r.status, r.body["webhook"]["payload"]["user"]["guid"].as_str()), (201, Some(user.as_str())));
    let create = json!({ "micro_deposit": {
        "account_name": "Fired", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": "068899994"
    }});
    let deposit = mx.post(&format!("/users/{user}/micro_deposits"), create).await;
    let deposit = deposit.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let r = mx.post("/_openiav/fire/mx", json!({ "type": "MICRODEPOSIT", "micro_deposit_guid": deposit })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["webhook"]["payload"]["micro_deposit"]["guid"], deposit.as_str());

    // A webhook a change raised is not marked.
    let raised = mx_records(&mx, "MICRODEPOSIT").await;
    let raised = raised.iter().find(|w| w["payload"]["action"] == "created").expect("the creation's webhook");
    let raised = raised["guid"].as_str().unwrap();
    let theirs = mx.get(&format!("/_openiav/mx/webhooks/{raised}")).await;
    assert_eq!(theirs.body["webhook"]["fired"], false);

    // Refusals: the type's own id is needed, types are MX's, other tenants' members are not found.
    assert_eq!(mx.post("/_openiav/fire/mx", json!({ "type": "USER", "member_guid": member })).await.status, 400);
    assert_eq!(mx.post("/_openiav/fire/mx", json!({ "type": "HOLDINGS", "member_guid": member })).await.status, 400);
    let missing = mx.post("/_openiav/fire/mx", json!({ "type": "MEMBER", "member_guid": "MBR-none" })).await;
    assert_eq!(missing.status, 404);
    let other = app.other_tenant().await;
    let r = other.post("/_openiav/fire/mx", json!({ "type": "MEMBER", "member_guid": member })).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn the_accounts_own_funding_sources_take_the_accounts_topics() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let tenant = crate::payments::support::sandbox_tenant(&app);
    let r = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sources = r.body["_embedded"]["funding-sources"].as_array().unwrap().clone();
    let bank =
        sources.iter().find(|f| f["type"] == "bank").expect("the account's bank")["id"].as_str().unwrap().to_owned();

    let r = fire(&d, json!({ "topic": "funding_source_removed", "resourceId": bank })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let links = &r.body["event"]["_links"];
    assert_eq!(links["resource"]["href"], format!("{}/funding-sources/{bank}", app.payments_base));
    assert!(links.get("customer").is_none(), "the account's event names no customer: {links}");
    let r = fire(&d, json!({ "topic": "customer_funding_source_removed", "resourceId": bank })).await;
    assert_eq!(r.status, 409, "a customer topic needs a customer's bank: {}", r.text);
    // Firing tells; it does not remove the bank.
    assert_eq!(d.get(&format!("/funding-sources/{bank}")).await.body["removed"], false);
}
