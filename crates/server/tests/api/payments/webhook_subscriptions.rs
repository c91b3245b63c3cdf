//! Webhook subscriptions: create, list, retrieve, pause and unpause, delete; validation of the
//! url and secret; the per-tenant limit; tenant isolation; the secret encrypted at rest.

use std::time::Duration;

use serde_json::{json, Value};

use super::receiver::{set_paused, subscribe, wait_for_attempts, webhook_about, Receiver};
use super::support::{assert_error, assert_field_error, assert_link, assert_timestamp, Dwolla};
use crate::helpers::{captured_logs, TestApp};

/// Asserts the shape of a subscription body.
#[track_caller]
fn assert_subscription(body: &Value, base: &str, id: &str, url: &str, paused: bool) {
    let path = format!("{base}/webhook-subscriptions/{id}");
    assert_link(&body["_links"]["self"], &path, "webhook-subscription");
    assert_link(&body["_links"]["webhooks"], &format!("{path}/webhooks"), "webhook");
    assert_eq!(body["id"], id, "{body}");
    assert_eq!(body["url"], url, "{body}");
    assert_eq!(body["paused"], paused, "{body}");
    assert_timestamp(&body["created"]);
    assert!(body.get("secret").is_none(), "the secret is never answered: {body}");
}

#[tokio::test]
async fn a_subscription_is_created_listed_retrieved_paused_unpaused_and_deleted() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let url = "https://hooks.example.com/dwolla";

    let r = d.post("/webhook-subscriptions", json!({ "url": url, "secret": "s3cret" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "", "a create answers with an empty body");
    let id = r.created_id();
    assert_eq!(r.location(), format!("{base}/webhook-subscriptions/{id}"));

    let got = d.get(&r.location()).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_subscription(&got.body, base, &id, url, false);

    // The TypeScript SDK sends this one as application/json; the HAL type works too.
    let other = "https://hooks.example.com/other";
    let r = d
        .post_raw(
            "/webhook-subscriptions",
            Some("application/vnd.dwolla.v1.hal+json"),
            &json!({ "url": other, "secret": "x" }).to_string(),
        )
        .await;
    let second = r.created_id();

    let list = d.get("/webhook-subscriptions").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_link(&list.body["_links"]["self"], &format!("{base}/webhook-subscriptions"), "webhook-subscription");
    assert_eq!(list.body["total"], 2, "{}", list.text);
    let items = list.body["_embedded"]["webhook-subscriptions"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let find = |sid: &str| items.iter().find(|s| s["id"] == sid).unwrap_or_else(|| panic!("{sid} listed"));
    assert_subscription(find(&id), base, &id, url, false);
    assert_subscription(find(&second), base, &second, other, false);

    // Pause and unpause answer the subscription.
    let paused = set_paused(&d, &id, true).await;
    assert_subscription(&paused, base, &id, url, true);
    assert_eq!(d.get(&format!("/webhook-subscriptions/{id}")).await.body["paused"], true);
    let r = d.post(&format!("/webhook-subscriptions/{id}"), json!({ "paused": "yes" })).await;
    assert_error(&r, 400, "ValidationError", None);
    assert_eq!(d.get(&format!("/webhook-subscriptions/{id}")).await.body["paused"], true, "unchanged");
    let unpaused = set_paused(&d, &id, false).await;
    assert_subscription(&unpaused, base, &id, url, false);

    // Delete answers 200 with the body; then it is gone.
    let r = d.send(d.request(reqwest::Method::DELETE, &format!("/webhook-subscriptions/{id}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_subscription(&r.body, base, &id, url, false);
    let r = d.get(&format!("/webhook-subscriptions/{id}")).await;
    assert_error(&r, 404, "NotFound", Some("Webhook subscription not found."));
    let r = d.send(d.request(reqwest::Method::DELETE, &format!("/webhook-subscriptions/{id}"))).await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.post(&format!("/webhook-subscriptions/{id}"), json!({ "paused": true })).await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.get(&format!("/webhook-subscriptions/{id}/webhooks")).await;
    assert_error(&r, 404, "NotFound", None);
    let list = d.get("/webhook-subscriptions").await;
    assert_eq!(list.body["total"], 1, "{}", list.text);
    assert_eq!(list.body["_embedded"]["webhook-subscriptions"][0]["id"], second.as_str());
}

#[tokio::test]
async fn an_invalid_url_or_a_long_secret_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    for url in [json!("not a url"), json!("ftp://example.com/hook"), json!("https://"), json!(""), json!(42)] {
        let r = d.post("/webhook-subscriptions", json!({ "url": url, "secret": "s" })).await;
        assert_field_error(&r, "/url", "InvalidFormat");
        assert_eq!(r.error_at("/url")["message"], "Url must be a valid url.", "{url}: {}", r.text);
    }
    let r = d.post("/webhook-subscriptions", json!({ "secret": "s" })).await;
    assert_field_error(&r, "/url", "InvalidFormat");

    let r =
        d.post("/webhook-subscriptions", json!({ "url": "https://example.com/h", "secret": "s".repeat(129) })).await;
    assert_field_error(&r, "/secret", "InvalidFormat");
    assert_eq!(r.error_at("/secret")["message"], "Secret must be 128 or fewer characters.");
    assert_eq!(r.paths(), ["/secret"], "the url was fine");

    // Both at once are both reported.
    let r = d.post("/webhook-subscriptions", json!({ "url": "nope", "secret": "s".repeat(200) })).await;
    assert_field_error(&r, "/url", "InvalidFormat");
    assert_field_error(&r, "/secret", "InvalidFormat");

    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 0, "nothing was created");
    // 128 characters is the limit, not over it.
    let r =
        d.post("/webhook-subscriptions", json!({ "url": "https://example.com/h", "secret": "s".repeat(128) })).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn the_sandbox_holds_ten_subscriptions_and_another_tenant_five() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(subscribe(&d, &format!("https://example.com/hook/{n}"), "s").await);
    }
    let r = d.post("/webhook-subscriptions", json!({ "url": "https://example.com/hook/11", "secret": "s" })).await;
    assert_error(&r, 400, "MaxNumberOfResources", Some("The maximum number of subscriptions has been reached."));
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 10);

    // Deleting one makes room again.
    let r = d.send(d.request(reqwest::Method::DELETE, &format!("/webhook-subscriptions/{}", ids[0]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    subscribe(&d, "https://example.com/hook/again", "s").await;

    // A non-sandbox tenant has Dwolla's production limit, and its own count.
    let (b, _) = Dwolla::other_tenant(&app).await;
    for n in 0..5 {
        subscribe(&b, &format!("https://example.com/b/{n}"), "s").await;
    }
    let r = b.post("/webhook-subscriptions", json!({ "url": "https://example.com/b/6", "secret": "s" })).await;
    assert_error(&r, 400, "MaxNumberOfResources", None);
}

#[tokio::test]
async fn another_tenant_gets_404_for_a_subscription_and_its_webhooks() {
    let app = TestApp::spawn().await;
    let a = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    let sub = subscribe(&a, &receiver.url("/hook"), "a-secret").await;
    let customer = a.customer("Jane", "jane@example.com").await;
    let webhook = webhook_about(&a, &sub, "customer_created", &customer).await;
    let webhook = webhook["id"].as_str().unwrap().to_owned();
    wait_for_attempts(&a, &webhook, 1, Duration::from_secs(5)).await;

    let (b, _) = Dwolla::other_tenant(&app).await;
    for path in [
        format!("/webhook-subscriptions/{sub}"),
        format!("/webhook-subscriptions/{sub}/webhooks"),
        format!("/webhooks/{webhook}"),
        format!("/webhooks/{webhook}/retries"),
    ] {
        assert_error(&b.get(&path).await, 404, "NotFound", None);
        assert_eq!(a.get(&path).await.status, 200, "the owner still reads {path}");
    }
    let r = b.post(&format!("/webhook-subscriptions/{sub}"), json!({ "paused": true })).await;
    assert_error(&r, 404, "NotFound", None);
    let r = b.send(b.request(reqwest::Method::DELETE, &format!("/webhook-subscriptions/{sub}"))).await;
    assert_error(&r, 404, "NotFound", None);
    let r = b.post(&format!("/webhooks/{webhook}/retries"), json!({})).await;
    assert_error(&r, 404, "NotFound", Some("Webhook not found."));
    assert_eq!(b.get("/webhook-subscriptions").await.body["total"], 0);

    // B's attempts changed nothing: A's subscription is active, and nothing was resent.
    assert_eq!(a.get(&format!("/webhook-subscriptions/{sub}")).await.body["paused"], false);
    assert_eq!(a.get(&format!("/webhooks/{webhook}/retries")).await.body["total"], 0);
    receiver.assert_still(1, Duration::from_millis(1500), "B's retry sent nothing").await;

    // Deleting the subscription deletes its webhooks.
    let r = a.send(a.request(reqwest::Method::DELETE, &format!("/webhook-subscriptions/{sub}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&a.get(&format!("/webhooks/{webhook}")).await, 404, "NotFound", Some("Webhook not found."));
}

#[tokio::test]
async fn a_subscription_secret_is_encrypted_at_rest_and_kept_out_of_logs() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let secret = "whsec-7d1f0c2e9b8a4f63-only-this-test";
    let url = "https://hooks.example.com/at-rest-check";
    let id = subscribe(&d, url, secret).await;
    let r = d.get(&format!("/webhook-subscriptions/{id}")).await;
    assert!(!r.text.contains(secret), "{}", r.text);
    let r = d.get("/webhook-subscriptions").await;
    assert!(!r.text.contains(secret), "{}", r.text);

    assert!(!captured_logs().contains(secret), "the webhook secret reached the logs");
    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(url), "the scan reads the database files");
        assert!(!haystack.contains(secret), "the webhook secret is stored in the clear");
    }
}

#[tokio::test]
async fn a_subscriptions_webhooks_filter_by_resource_and_dates() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    // An address nobody listens on: the webhooks exist whether or not they are delivered.
    let sub = subscribe(&d, "https://hooks.example.com/filtered", "s3cret").await;
    let jane = d.customer("Jane", "jane.filter@example.com").await;
    let john = d.customer("John", "john.filter@example.com").await;
    let list = |query: String| {
        let d = &d;
        let sub = sub.clone();
        async move { d.get(&format!("/webhook-subscriptions/{sub}/webhooks{query}")).await }
    };

    let all = list(String::new()).await;
    assert_eq!(all.body["total"], 2, "{}", all.text);
    let only_jane = list(format!("?resourceId={jane}")).await;
    assert_eq!(only_jane.body["total"], 1, "{}", only_jane.text);
    let event = d.get(only_jane.body["_embedded"]["webhooks"][0]["_links"]["event"]["href"].as_str().unwrap()).await;
    assert_eq!(event.body["resourceId"], jane.as_str());
    assert!(
        only_jane.body["_links"]["self"]["href"].as_str().unwrap().contains(&format!("resourceId={jane}")),
        "paging links keep the filter: {}",
        only_jane.text
    );
    assert_eq!(list(format!("?resourceId={john}")).await.body["total"], 1);
    assert_eq!(list("?startDate=2999-01-01".into()).await.body["total"], 0, "nothing after a future day");
    assert_eq!(list("?endDate=2000-01-01".into()).await.body["total"], 0, "nothing before a past day");
    assert_eq!(list("?startDate=2000-01-01&endDate=2999-12-31".into()).await.body["total"], 2);
    assert_eq!(list("?startDate=2000-01-01T00:00:00Z".into()).await.body["total"], 2, "ISO-8601 times too");
    let bad = list("?startDate=yesterday".into()).await;
    assert_field_error(&bad, "/startDate", "Invalid");
}
