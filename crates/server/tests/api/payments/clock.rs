//! Dwolla's time rules on the tenant's test clock: a failing subscription's eight retries and
//! its pause walked by one 73-hour advance (no sleeping), access-token expiry, the
//! Idempotency-Key's 24 hours, and another tenant's advance leaving this tenant's work alone.

use openiav_core::clock::{parse_rfc3339, Timestamp};
use serde_json::{json, Value};

use super::receiver::{subscribe, Receiver};
use super::support::{assert_error, Dwolla};
use crate::helpers::{Client, TestApp};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// Failures in a row (with a day without success) after which Dwolla pauses a subscription.
const PAUSE_AFTER_FAILURES: usize = 400;

fn time_of(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

async fn clock_call(c: &Client, verb: &str, body: Value) -> Value {
    let r = c.post(&format!("/_openiav/clock/{verb}"), body).await;
    assert_eq!(r.status, 200, "{verb}: {}", r.text);
    r.body
}

async fn freeze(c: &Client) -> Timestamp {
    time_of(&clock_call(c, "freeze", json!({})).await["now"])
}

/// The subscription's webhook about the event on `resource_id`, among its first hundred.
async fn webhook_about(d: &Dwolla, subscription: &str, resource_id: &str) -> Value {
    let r = d.get(&format!("/webhook-subscriptions/{subscription}/webhooks?limit=100")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for w in r.body["_embedded"]["webhooks"].as_array().unwrap() {
        let event = d.get(w["_links"]["event"]["href"].as_str().unwrap()).await;
        if event.body["resourceId"] == resource_id {
            return d.get(w["_links"]["self"]["href"].as_str().unwrap()).await.body;
        }
    }
    panic!("no webhook about {resource_id} for subscription {subscription}");
}

#[tokio::test]
async fn advancing_73_hours_walks_a_failing_subscriptions_eight_retries_and_then_its_pause() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let start = freeze(&control).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let sub = subscribe(&d, &receiver.url("/down"), "clock-secret").await;
    // 45 events: 405 deliveries would fail by 72 h, and the 400th failure (a day on) pauses.
    let mut customers = Vec::new();
    for i in 0..45 {
        customers.push(d.customer("Clock", &format!("clock-{i}@example.com")).await);
    }

    let advanced = clock_call(&control, "advance", json!({ "duration": "73h" })).await;
    assert_eq!(advanced["complete"], true, "{advanced}");
    assert_eq!(time_of(&advanced["now"]), start.plus_millis(73 * HOUR_MS));
    // Every retry job ran in the advance (the first deliveries may have gone before it began).
    let ran = advanced["ran"]["dwolla_webhooks"].as_u64().unwrap() as usize;
    assert!((8 * customers.len()..=9 * customers.len()).contains(&ran), "{advanced}");
    assert_eq!(receiver.received().len(), PAUSE_AFTER_FAILURES, "deliveries stop at the pause");

    // The token from before is an hour past its life on this clock; a new one is not.
    let d = Dwolla::sandbox(&app).await;
    let subscription = d.get(&format!("/webhook-subscriptions/{sub}")).await;
    assert_eq!(subscription.body["paused"], true, "{}", subscription.text);

    let w = webhook_about(&d, &sub, &customers[0]).await;
    let attempts = w["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 9, "the first attempt and eight retries: {w}");
    assert!(attempts.iter().all(|a| a["response"]["statusCode"] == 500), "{w}");
    let at: Vec<i64> = attempts.iter().map(|a| time_of(&a["request"]["timestamp"]).millis() - start.millis()).collect();
    let hours = |h: i64| h * HOUR_MS;
    assert_eq!(
        at,
        vec![0, 15 * MINUTE_MS, hours(1), hours(3), hours(6), hours(12), hours(24), hours(48), hours(72)],
        "Dwolla's offsets, on the tenant's clock"
    );

    // The last events' final retries came after the pause: unsent.
    let w = webhook_about(&d, &sub, customers.last().unwrap()).await;
    assert_eq!(w["attempts"].as_array().unwrap().len(), 8, "{w}");

    // Nothing is left to run: another day sends nothing.
    let quiet = clock_call(&control, "advance", json!({ "duration": "1d" })).await;
    assert_eq!(quiet["ran"]["dwolla_webhooks"], 0, "{quiet}");
    assert_eq!(receiver.received().len(), PAUSE_AFTER_FAILURES);
}

#[tokio::test]
async fn an_access_token_expires_an_hour_after_it_was_issued_on_the_tenants_clock() {
    let app = TestApp::spawn().await;
    let control = app.client();
    freeze(&control).await;
    let d = Dwolla::sandbox(&app).await;
    clock_call(&control, "advance", json!({ "duration": "59m" })).await;
    assert_eq!(d.get("/customers").await.status, 200, "59 minutes on");
    clock_call(&control, "advance", json!({ "duration": "2m" })).await;
    let r = d.get("/customers").await;
    assert_error(&r, 401, "ExpiredAccessToken", None);
    // A token issued on the advanced clock lives an hour from there.
    let fresh = Dwolla::sandbox(&app).await;
    assert_eq!(fresh.get("/customers").await.status, 200);
    clock_call(&control, "release", json!({})).await;
    assert_eq!(d.get("/customers").await.status, 200, "back on real time the first token is young again");
}

#[tokio::test]
async fn an_idempotency_key_replays_within_24_hours_of_the_tenants_clock_and_not_after() {
    let app = TestApp::spawn().await;
    let control = app.client();
    freeze(&control).await;
    let body = json!({ "firstName": "Ida", "lastName": "Doe", "email": "ida@example.com" });
    let send = |d: Dwolla| {
        let body = body.clone();
        async move {
            d.send(
                d.request(reqwest::Method::POST, "/customers")
                    .header("content-type", "application/json")
                    .header("idempotency-key", "clock-key-1")
                    .body(body.to_string()),
            )
            .await
        }
    };
    let first = send(Dwolla::sandbox(&app).await).await;
    assert_eq!(first.status, 201, "{}", first.text);
    clock_call(&control, "advance", json!({ "duration": "23h59m" })).await;
    let replay = send(Dwolla::sandbox(&app).await).await;
    assert_eq!((replay.status, replay.location()), (201, first.location()), "a replay within 24 h");
    clock_call(&control, "advance", json!({ "duration": "2m" })).await;
    let fresh = send(Dwolla::sandbox(&app).await).await;
    assert_eq!(fresh.status, 400, "run afresh after 24 h: the email is taken now: {}", fresh.text);
}

#[tokio::test]
async fn another_tenants_advance_runs_none_of_this_tenants_due_work() {
    let app = TestApp::spawn().await;
    let control = app.client();
    freeze(&control).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let sub = subscribe(&d, &receiver.url("/ours"), "ours-secret").await;
    let customer = d.customer("Ours", "ours@example.com").await;
    // "0s" runs (or waits for) the first delivery, due now.
    clock_call(&control, "advance", json!({ "duration": "0s" })).await;
    assert_eq!(receiver.received().len(), 1);

    let other = app.other_tenant_credentials().await;
    let theirs = Client::new(&app.base, &other.mx.client_id, &other.mx.api_key);
    clock_call(&theirs, "freeze", json!({})).await;
    let ran = clock_call(&theirs, "advance", json!({ "duration": "3d" })).await;
    assert_eq!(ran["ran"]["dwolla_webhooks"], 0, "{ran}");
    assert_eq!(receiver.received().len(), 1, "our retries wait for our clock");
    let w = webhook_about(&d, &sub, &customer).await;
    assert_eq!(w["attempts"].as_array().unwrap().len(), 1, "{w}");

    let ours = clock_call(&control, "advance", json!({ "duration": "15m" })).await;
    assert_eq!(ours["ran"]["dwolla_webhooks"], 1, "{ours}");
    assert_eq!(receiver.received().len(), 2);
}
