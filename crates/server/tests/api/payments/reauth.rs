//! Open-banking re-authentication for MX exchanges through the real server: a member that left
//! CONNECTED makes the balance answer 400 `UpdateCredentials` (Dwolla's body, byte for byte)
//! and records `customer_exchange_reauth_required` once per loss, delivered to webhooks; the
//! sandbox simulation that causes it and its body's validation; the MX-native path (a failing
//! password and an aggregation); the re-authentication session's widget in update-credentials
//! mode, whose completion restores the balance; tenant isolation; and concurrent reads racing
//! to record the loss (on PostgreSQL when `OPENIAV_TEST_POSTGRES_URL` is set).

use std::time::Duration;

use serde_json::{json, Value};

use super::receiver::{subscribe, Receiver};
use super::support::{
    assert_error, assert_field_error, assert_link, mx_flow, Dwolla, HalResp, IavFlow, Widget, DWOLLA_SANDBOX,
};
use crate::helpers::{Client, TestApp};

const TOPIC: &str = "customer_exchange_reauth_required";
const REAUTH_MESSAGE: &str = "Re-authentication is required in order to access account data. Please initiate the exchange session flow to regain access.";

fn simulation(exchange: &str) -> Value {
    json!({ "_links": { "exchange": { "href": format!("{DWOLLA_SANDBOX}/exchanges/{exchange}") } }, "simulate": "reauth-required" })
}

async fn balance(d: &Dwolla, flow: &IavFlow) -> HalResp {
    d.get(&format!("/funding-sources/{}/balance", flow.funding_source)).await
}

fn count(topics: &[String], topic: &str) -> usize {
    topics.iter().filter(|t| *t == topic).count()
}

/// The body Dwolla answers (`dwolla-wire.md` §6.3), as this server serializes every error
/// envelope (`_links` first, link fields in the order all its links have).
fn update_credentials_body(base: &str, exchange: &str) -> String {
    format!(
        r#"{{"_links":{{"about":{{"href":"{base}/exchanges/{exchange}/exchange-sessions","resource-type":"exchange-session","type":"application/vnd.dwolla.v1.hal+json"}}}},"code":"UpdateCredentials","message":"{REAUTH_MESSAGE}"}}"#
    )
}

#[track_caller]
fn assert_update_credentials(r: &HalResp, base: &str, exchange: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.text, update_credentials_body(base, exchange));
    // The same document as Dwolla's, key order aside.
    let dwolla = json!({
        "code": "UpdateCredentials",
        "message": REAUTH_MESSAGE,
        "_links": { "about": {
            "href": format!("{base}/exchanges/{exchange}/exchange-sessions"),
            "type": "application/vnd.dwolla.v1.hal+json",
            "resource-type": "exchange-session",
        } },
    });
    assert_eq!(r.body, dwolla);
}

/// The MX user behind a flow's customer (its partner id names the customer).
async fn aggregator_user(mx: &Client, flow: &IavFlow) -> String {
    let users = mx.get("/users?records_per_page=1000").await;
    assert_eq!(users.status, 200, "{}", users.text);
    let partner_id = format!("payments-customer-{}", flow.customer);
    let users = users.body["users"].as_array().unwrap();
    let user = users.iter().find(|u| u["id"] == partner_id.as_str()).expect("the customer's aggregator user");
    user["guid"].as_str().unwrap().to_owned()
}

/// Gives the flow's member a new password through the MX API (which aggregates it) and waits
/// for the aggregation to finish; returns the member's status.
async fn mx_password(mx: &Client, user: &str, flow: &IavFlow, password: &str) -> Value {
    let (_, pass) = mx.credential_guids("mxbank").await;
    let r = mx
        .put(
            &format!("/users/{user}/members/{}", flow.member),
            json!({ "member": { "credentials": [{ "guid": pass, "value": password }] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    mx.settle(user, &flow.member).await
}

/// Waits for a delivered webhook with `topic`.
async fn webhook_with_topic(receiver: &Receiver, topic: &str) -> super::receiver::Received {
    for _ in 0..500 {
        if let Some(hit) = receiver.received().into_iter().find(|r| r.header("x-dwolla-topic") == Some(topic)) {
            return hit;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {topic} webhook arrived");
}

#[tokio::test]
async fn a_lost_connection_answers_update_credentials_and_is_told_once() {
    let app = TestApp::spawn().await;
    let (base, d, mx) = (app.payments_base.clone(), Dwolla::sandbox(&app).await, app.client());
    let flow = mx_flow(&app, &d, "lost@example.com").await;
    assert_eq!(balance(&d, &flow).await.status, 200, "a connected member's balance reads");

    let r = d.post("/sandbox-simulations", simulation(&flow.exchange)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_link(&r.body["_links"]["self"], &format!("{base}/sandbox-simulations"), "sandbox-simulation");
    assert_link(&r.body["_links"]["exchange"], &format!("{base}/exchanges/{}", flow.exchange), "exchange");
    assert_eq!(r.body["total"], 1);

    // The event is recorded by the simulation itself, before anyone reads the balance.
    assert_eq!(d.topics_about(&flow.exchange).await, [TOPIC]);
    let events = d.get("/events?limit=200").await;
    let event =
        events.body["_embedded"]["events"].as_array().unwrap().iter().find(|e| e["topic"] == TOPIC).cloned().unwrap();
    assert_eq!(event["_links"]["resource"]["href"], format!("{base}/exchanges/{}", flow.exchange));
    assert_eq!(event["_links"]["customer"]["href"], format!("{base}/customers/{}", flow.customer));

    // MX's own reads show the member out of CONNECTED.
    let user = aggregator_user(&mx, &flow).await;
    let member = mx.read_member(&user, &flow.member).await;
    assert_eq!(member["connection_status"], "DENIED", "{member}");

    for _ in 0..3 {
        assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);
    }
    // Simulating again while the loss stands tells nothing new.
    assert_eq!(d.post("/sandbox-simulations", simulation(&flow.exchange)).await.status, 200);
    assert_eq!(count(&d.topics_about(&flow.exchange).await, TOPIC), 1);
}

#[tokio::test]
async fn the_reauth_event_reaches_the_webhook_subscription() {
    let app = TestApp::spawn().await;
    let (base, d) = (app.payments_base.clone(), Dwolla::sandbox(&app).await);
    let receiver = Receiver::start().await;
    subscribe(&d, &receiver.url("/hooks"), "reauth-secret").await;
    let flow = mx_flow(&app, &d, "hook@example.com").await;

    assert_eq!(d.post("/sandbox-simulations", simulation(&flow.exchange)).await.status, 200);
    let hit = webhook_with_topic(&receiver, TOPIC).await;
    let body = hit.json();
    assert_eq!(body["topic"], TOPIC);
    assert_eq!(body["resourceId"], flow.exchange.as_str());
    assert_eq!(body["_links"]["resource"]["href"], format!("{base}/exchanges/{}", flow.exchange));
    assert_eq!(body["_links"]["customer"]["href"], format!("{base}/customers/{}", flow.customer));
}

#[tokio::test]
async fn a_failing_password_at_mx_makes_the_balance_ask_for_credentials() {
    let app = TestApp::spawn().await;
    let (base, d, mx) = (app.payments_base.clone(), Dwolla::sandbox(&app).await, app.client());
    let flow = mx_flow(&app, &d, "native@example.com").await;
    let user = aggregator_user(&mx, &flow).await;

    let status = mx_password(&mx, &user, &flow, "UNAUTHORIZED").await;
    assert_eq!(status["connection_status"], "DENIED", "{status}");
    assert!(d.topics_about(&flow.exchange).await.is_empty(), "nothing is told before a read finds it");
    assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);
    assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);
    assert_eq!(d.topics_about(&flow.exchange).await, [TOPIC]);

    // A bank that stops answering is not the end user's to fix: the last numbers stay readable.
    let status = mx_password(&mx, &user, &flow, "password").await;
    assert_eq!(status["connection_status"], "CONNECTED", "{status}");
    assert_eq!(balance(&d, &flow).await.status, 200);
    let status = mx_password(&mx, &user, &flow, "SERVER_ERROR").await;
    assert_eq!(status["connection_status"], "FAILED", "{status}");
    assert_eq!(balance(&d, &flow).await.status, 200);

    // LOCKED is another status only the end user can clear: a new loss, told again.
    mx_password(&mx, &user, &flow, "LOCKED").await;
    assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);
    assert_eq!(d.topics_about(&flow.exchange).await, [TOPIC, TOPIC]);
}

#[tokio::test]
async fn the_reauth_session_opens_the_widget_at_the_members_credentials_and_restores_the_balance() {
    let app = TestApp::spawn().await;
    let (base, d) = (app.payments_base.clone(), Dwolla::sandbox(&app).await);
    let flow = mx_flow(&app, &d, "again@example.com").await;
    assert_eq!(d.post("/sandbox-simulations", simulation(&flow.exchange)).await.status, 200);
    assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);

    // The link the error points at: no body is needed for MX.
    let r = d.post(&format!("/exchanges/{}/exchange-sessions", flow.exchange), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let session = d.get(&r.location()).await;
    assert_eq!(session.status, 200, "{}", session.text);
    let url = session.body["_links"]["external-provider-session"]["href"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/md/connect/", app.base)), "{url}");

    let widget = Widget::open(&app, &url).await;
    let config = &widget.boot["config"];
    assert_eq!(config["current_member_guid"], flow.member.as_str(), "{config}");
    assert_eq!(config["update_credentials"], true, "{config}");
    assert_eq!(config["verification"], true, "{config}");
    assert_eq!(config["disable_institution_search"], true, "{config}");

    widget.update_credentials(&flow.member, &flow.account).await;
    let r = balance(&d, &flow).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["available"]["currency"], "USD", "{}", r.text);

    // The mark is cleared, so a later loss is told again.
    assert_eq!(d.post("/sandbox-simulations", simulation(&flow.exchange)).await.status, 200);
    assert_eq!(d.topics_about(&flow.exchange).await, [TOPIC, TOPIC]);
    assert_update_credentials(&balance(&d, &flow).await, &base, &flow.exchange);
}

#[tokio::test]
async fn simulation_bodies_are_checked_field_by_field() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "bodies@example.com").await;
    let href = format!("{DWOLLA_SANDBOX}/exchanges/{}", flow.exchange);

    // No body and `{}` keep the bank processing (nothing pending here).
    for r in [d.post_raw("/sandbox-simulations", None, "").await, d.post("/sandbox-simulations", json!({})).await] {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["total"], 0, "{}", r.text);
        assert!(r.body["_links"].get("exchange").is_none(), "{}", r.text);
    }

    let r = d.post("/sandbox-simulations", json!({ "simulate": "reauth-required" })).await;
    assert_error(&r, 400, "ValidationError", None);
    assert_field_error(&r, "/_links/exchange/href", "Required");
    let r = d.post("/sandbox-simulations", json!({ "_links": { "exchange": { "href": href } } })).await;
    assert_field_error(&r, "/simulate", "Required");
    let r = d
        .post(
            "/sandbox-simulations",
            json!({ "simulate": "meteor", "_links": { "exchange": { "href": "https://x/customers/1" } } }),
        )
        .await;
    assert_error(&r, 400, "ValidationError", None);
    assert_field_error(&r, "/simulate", "Invalid");
    assert_field_error(&r, "/_links/exchange/href", "Invalid");
    let r = d.post("/sandbox-simulations", json!({ "simulate": true, "_links": { "exchange": { "href": 5 } } })).await;
    assert_field_error(&r, "/simulate", "Invalid");
    assert_field_error(&r, "/_links/exchange/href", "Invalid");
    let r = d.post_raw("/sandbox-simulations", Some("application/json"), "{not json").await;
    assert_error(&r, 400, "BadRequest", None);

    let unknown = format!("{DWOLLA_SANDBOX}/exchanges/8f0b2a9e-5d1c-4c61-9f7e-3b7f6f0d2a11");
    let r = d
        .post(
            "/sandbox-simulations",
            json!({ "simulate": "reauth-required", "_links": { "exchange": { "href": unknown } } }),
        )
        .await;
    assert_error(&r, 404, "NotFound", None);

    // Nothing was simulated by any of these.
    assert!(d.topics_about(&flow.exchange).await.is_empty());
    assert_eq!(balance(&d, &flow).await.status, 200);
}

#[tokio::test]
async fn another_tenants_exchange_is_not_found_and_stays_connected() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let flow = mx_flow(&app, &d, "mine@example.com").await;

    assert_error(&other.post("/sandbox-simulations", simulation(&flow.exchange)).await, 404, "NotFound", None);
    let r = other.post(&format!("/exchanges/{}/exchange-sessions", flow.exchange), json!({})).await;
    assert_error(&r, 404, "NotFound", None);
    assert_error(&balance(&other, &flow).await, 404, "NotFound", None);
    assert_eq!(balance(&d, &flow).await.status, 200, "the owner's connection is untouched");
    assert!(d.topics_about(&flow.exchange).await.is_empty());

    // And the owner's loss is not the other tenant's news.
    assert_eq!(d.post("/sandbox-simulations", simulation(&flow.exchange)).await.status, 200);
    assert!(other.topics_about(&flow.exchange).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_balance_reads_of_a_lost_connection_tell_it_once() {
    let app = TestApp::spawn().await;
    let (base, d, mx) = (app.payments_base.clone(), Dwolla::sandbox(&app).await, app.client());
    let flow = mx_flow(&app, &d, "race@example.com").await;
    let user = aggregator_user(&mx, &flow).await;
    let path = format!("/funding-sources/{}/balance", flow.funding_source);
    for round in 1..=4 {
        // Lost at MX, unknown to payments until a read finds it: every read below races to note it.
        mx_password(&mx, &user, &flow, "UNAUTHORIZED").await;
        let reads: Vec<_> = (0..6)
            .map(|_| {
                let (d, path) = (d.clone(), path.clone());
                tokio::spawn(async move { d.get(&path).await })
            })
            .collect();
        for r in reads {
            assert_update_credentials(&r.await.unwrap(), &base, &flow.exchange);
        }
        assert_eq!(count(&d.topics_about(&flow.exchange).await, TOPIC), round, "round {round}");

        // Connected again: concurrent reads all succeed and clear the mark once.
        mx_password(&mx, &user, &flow, "password").await;
        let reads: Vec<_> = (0..6)
            .map(|_| {
                let (d, path) = (d.clone(), path.clone());
                tokio::spawn(async move { d.get(&path).await })
            })
            .collect();
        for r in reads {
            let r = r.await.unwrap();
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
        }
    }
}
