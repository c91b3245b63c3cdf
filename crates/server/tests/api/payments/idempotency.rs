//! `Idempotency-Key`: replays of the same request, a different body under a used key,
//! concurrent duplicates, keys per tenant, the 24-hour lifetime, replayed 4xx answers, and
//! requests without the header.

use std::sync::Arc;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use reqwest::Method;
use serde_json::{json, Value};

use super::support::{assert_error, assert_field_error, Dwolla, HalResp};
use crate::helpers::TestApp;

const HOUR_MS: i64 = 3_600_000;

/// `POST path` with `body` (compact JSON) under `key`.
async fn post_with_key(d: &Dwolla, path: &str, key: &str, body: &Value) -> HalResp {
    d.send(
        d.request(Method::POST, path)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

fn jane() -> Value {
    json!({ "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com" })
}

async fn customer_total(d: &Dwolla) -> u64 {
    let r = d.get("/customers").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["total"].as_u64().unwrap()
}

#[tokio::test]
async fn the_same_key_and_body_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let key = "c5a2b0a8-8a4b-4f0e-9d59-4a3b0b1f6a11";

    let first = post_with_key(&d, "/customers", key, &jane()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let location = first.location();
    let again = post_with_key(&d, "/customers", key, &jane()).await;
    assert_eq!(again.status, 201, "a replay answers 201: {}", again.text);
    assert_eq!(again.location(), location, "with the same Location");
    assert_eq!(again.text, "");
    assert_eq!(customer_total(&d).await, 1, "only one customer exists");
    let topics = d.topics_about(location.rsplit('/').next().unwrap()).await;
    assert_eq!(topics, ["customer_created"], "the replay fired no second event");

    // The same key with a different body is refused, and creates nothing.
    let mut john = jane();
    john["firstName"] = json!("John");
    john["email"] = json!("john@example.com");
    let r = post_with_key(&d, "/customers", key, &john).await;
    assert_error(&r, 400, "BadRequest", None);
    assert!(r.message().contains("Idempotency-Key"), "the message names the key: {}", r.text);
    assert!(r.message().contains("different request"), "and says why: {}", r.text);
    assert_eq!(customer_total(&d).await, 1);
    // So is the same key and body on another path.
    let r = post_with_key(&d, "/webhook-subscriptions", key, &jane()).await;
    assert_error(&r, 400, "BadRequest", None);
    // The original is still replayed.
    assert_eq!(post_with_key(&d, "/customers", key, &jane()).await.location(), location);

    // A new key is a new request (here refused: the email is taken).
    let r = post_with_key(&d, "/customers", "another-key", &jane()).await;
    assert_field_error(&r, "/email", "Duplicate");
}

#[tokio::test]
async fn requests_without_the_header_are_not_deduplicated() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let body = json!({ "url": "https://example.com/hook", "secret": "s" });
    let one = d.post("/webhook-subscriptions", body.clone()).await.location();
    let two = d.post("/webhook-subscriptions", body.clone()).await.location();
    assert_ne!(one, two, "two identical POSTs without a key make two resources");
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 2);
    // An empty key is no key.
    let r = d
        .send(
            d.request(Method::POST, "/webhook-subscriptions")
                .header("idempotency-key", "")
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 3);
    // Only POSTs are covered: a DELETE under a key runs each time.
    let delete = || d.send(d.request(Method::DELETE, &one).header("idempotency-key", "delete-key"));
    assert_eq!(delete().await.status, 200);
    assert_error(&delete().await, 404, "NotFound", None);

    // Customers without a key: the second identical POST is the usual duplicate-email error.
    assert_eq!(d.post("/customers", jane()).await.status, 201);
    assert_field_error(&d.post("/customers", jane()).await, "/email", "Duplicate");
}

#[tokio::test]
async fn concurrent_duplicates_make_one_customer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    for round in 0..5 {
        let key = format!("concurrent-{round}");
        let body = json!({ "firstName": "Jane", "lastName": "Doe", "email": format!("jane{round}@example.com") });
        let (a, b) =
            tokio::join!(post_with_key(&d, "/customers", &key, &body), post_with_key(&d, "/customers", &key, &body));
        let location = assert_one_created(&[a, b], round);
        // Afterwards the key replays the one answer.
        let r = post_with_key(&d, "/customers", &key, &body).await;
        assert_eq!(r.location(), location, "round {round}");
        assert_eq!(customer_total(&d).await, round as u64 + 1, "round {round}: never two customers");
    }
}

#[tokio::test]
async fn a_key_belongs_to_one_tenant() {
    let app = TestApp::spawn().await;
    let a = Dwolla::sandbox(&app).await;
    let (b, _) = Dwolla::other_tenant(&app).await;
    let key = "shared-key-1";

    let mine = post_with_key(&a, "/customers", key, &jane()).await.location();
    let theirs = post_with_key(&b, "/customers", key, &jane()).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_ne!(theirs.location(), mine, "B's request is B's own");
    assert_eq!(b.get(&theirs.location()).await.status, 200);
    assert_error(&b.get(&mine).await, 404, "NotFound", None);
    assert_eq!(customer_total(&a).await, 1);
    assert_eq!(customer_total(&b).await, 1);

    // A third tenant with another body under the same key is no mismatch with A's request.
    let mut other = jane();
    other["email"] = json!("other@example.com");
    let (c, _) = Dwolla::other_tenant(&app).await;
    assert_eq!(post_with_key(&c, "/customers", key, &other).await.status, 201);
    assert_eq!(post_with_key(&a, "/customers", key, &jane()).await.location(), mine, "A's replay is unchanged");
}

#[tokio::test]
async fn a_key_is_forgotten_after_24_hours() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;
    let hook = json!({ "url": "https://example.com/hook", "secret": "s" });
    let mut other_hook = hook.clone();
    other_hook["url"] = json!("https://example.com/other");
    let first = post_with_key(&d, "/webhook-subscriptions", "day-key", &hook).await.location();
    let customer = post_with_key(&d, "/customers", "customer-key", &jane()).await.location();
    assert_eq!(post_with_key(&d, "/webhook-subscriptions", "reused-key", &hook).await.status, 201);

    // A second before the day is out, all still hold (with a fresh token: the first expired).
    clock.advance_millis(24 * HOUR_MS - 1000);
    let d = Dwolla::sandbox(&app).await;
    assert_eq!(post_with_key(&d, "/webhook-subscriptions", "day-key", &hook).await.location(), first);
    assert_eq!(post_with_key(&d, "/customers", "customer-key", &jane()).await.location(), customer);
    let r = post_with_key(&d, "/webhook-subscriptions", "reused-key", &other_hook).await;
    assert_error(&r, 400, "BadRequest", None);
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 2);

    // After 24 hours each key is forgotten: the same request runs again and makes a new
    // resource (or, for the customer, meets the duplicate email), and a key may carry a
    // different body.
    clock.advance_millis(2000);
    let second = post_with_key(&d, "/webhook-subscriptions", "day-key", &hook).await.location();
    assert_ne!(second, first, "a new resource");
    let r = post_with_key(&d, "/customers", "customer-key", &jane()).await;
    assert_field_error(&r, "/email", "Duplicate");
    assert_eq!(customer_total(&d).await, 1);
    let r = post_with_key(&d, "/webhook-subscriptions", "reused-key", &other_hook).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 4);
    // The key now replays its new answer.
    assert_eq!(post_with_key(&d, "/webhook-subscriptions", "day-key", &hook).await.location(), second);
}

#[tokio::test]
async fn a_client_error_is_replayed_as_the_same_answer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let key = "bad-request-key";
    let bad = json!({ "firstName": "Jane", "email": "not-an-email" });

    let first = post_with_key(&d, "/customers", key, &bad).await;
    assert_error(&first, 400, "ValidationError", None);
    let again = post_with_key(&d, "/customers", key, &bad).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(again.text, first.text, "the same body");
    assert_eq!(again.content_type, first.content_type, "with the error media type");
    assert_eq!(customer_total(&d).await, 0);

    // The fixed request needs a new key.
    let mut good = bad.clone();
    good["lastName"] = json!("Doe");
    good["email"] = json!("jane@example.com");
    assert_error(&post_with_key(&d, "/customers", key, &good).await, 400, "BadRequest", None);
    assert_eq!(post_with_key(&d, "/customers", "fixed-key", &good).await.status, 201);

    // A 404 is replayed too.
    let missing = "/customers/00000000-0000-4000-8000-000000000000/funding-sources";
    let body = json!({ "routingNumber": "222222226", "accountNumber": "123456789", "bankAccountType": "checking", "name": "n" });
    let first = post_with_key(&d, missing, "missing-key", &body).await;
    assert_error(&first, 404, "NotFound", None);
    assert_eq!(post_with_key(&d, missing, "missing-key", &body).await.text, first.text);
}

/// Asserts that each of several simultaneous answers to one idempotent request is the one
/// 201 (same Location) or a 409; returns the Location.
#[track_caller]
fn assert_one_created(answers: &[HalResp], round: usize) -> String {
    let location = answers.iter().find(|r| r.status == 201).and_then(|r| r.location.clone()).unwrap_or_else(|| {
        panic!("round {round}: none created: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>())
    });
    for r in answers {
        match r.status {
            201 => assert_eq!(r.location(), location, "round {round}: a second resource was created"),
            409 => assert_error(r, 409, "Conflict", None),
            s => panic!("round {round}: a duplicate answered {s}: {}", r.text),
        }
    }
    location
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_simultaneous_duplicates_make_one_subscription() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let body = json!({ "url": "https://example.com/hook", "secret": "s" });
    for round in 0..20 {
        let key = format!("burst-{round}");
        let mut running = Vec::new();
        for _ in 0..4 {
            let (d, key, body) = (d.clone(), key.clone(), body.clone());
            running.push(tokio::spawn(async move { post_with_key(&d, "/webhook-subscriptions", &key, &body).await }));
        }
        let mut answers = Vec::new();
        for r in running {
            answers.push(r.await.unwrap());
        }
        let location = assert_one_created(&answers, round);
        let list = d.get("/webhook-subscriptions").await;
        assert_eq!(list.body["total"], 1, "round {round}: {}", list.text);
        assert_eq!(post_with_key(&d, "/webhook-subscriptions", &key, &body).await.location(), location);
        let r = d.send(d.request(Method::DELETE, &location)).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}
