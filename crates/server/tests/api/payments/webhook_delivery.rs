//! Webhook delivery to a real local receiver: the signed compact body and its headers, the
//! recorded attempts, webhooks and events; paused subscriptions and manual retries; automatic
//! retries on Dwolla's schedule (on a manual clock); redirects as failures; auto-pause; and the
//! address rules that keep a non-sandbox tenant off loopback and private networks.

use std::sync::Arc;
use std::time::Duration;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use openiav_store::records::WebhookSubscriptionRecord;
use openiav_store::repo::webhooks as repo;
use serde_json::{json, Value};

use super::raw_receiver::RawReceiver;
use super::receiver::{
    attempt_header, hmac_hex, set_paused, subscribe, wait_for_attempts, webhook_about, webhooks_of, Receiver,
};
use super::support::{assert_error, assert_link, assert_timestamp, sandbox_tenant, Dwolla};
use crate::helpers::TestApp;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// How long to wait for something the worker should do now (it sleeps at most 1 s).
const SOON: Duration = Duration::from_secs(5);
/// How long to watch for something that should not happen.
const QUIET: Duration = Duration::from_millis(1500);

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_subscriber_gets_a_compact_event_signed_with_its_own_secret() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    let (secret, other_secret) = ("first-subscriber-secret", "second-subscriber-secret");
    let sub = subscribe(&d, &receiver.url("/dwolla"), secret).await;
    let other = subscribe(&d, &receiver.url("/second"), other_secret).await;

    let customer = d.customer("Jane", "jane@example.com").await;
    let got = receiver.wait_for(2, SOON).await;
    receiver.assert_still(2, QUIET, "one request per subscription").await;
    let hit = got.iter().find(|r| r.path == "/dwolla").expect("the first subscriber was called");
    let second = got.iter().find(|r| r.path == "/second").expect("the second subscriber was called");

    // The request: POST, topic header, signature over the raw body with the subscriber's secret.
    assert_eq!(hit.method, reqwest::Method::POST);
    assert_eq!(hit.header("x-dwolla-topic"), Some("customer_created"));
    assert_eq!(hit.header("x-request-signature-sha-256"), Some(hmac_hex(secret, &hit.body).as_str()));
    assert!(hit.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", hit.headers);
    assert_eq!(second.header("x-request-signature-sha-256"), Some(hmac_hex(other_secret, &second.body).as_str()));
    assert_ne!(
        second.header("x-request-signature-sha-256"),
        Some(hmac_hex(secret, &second.body).as_str()),
        "each subscription signs with its own secret"
    );
    let signature = hit.header("x-request-signature-sha-256").unwrap();
    assert!(signature.len() == 64 && signature.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')), "{signature}");

    // The body: compact JSON of the event.
    let text = hit.text();
    assert!(!text.contains(": ") && !text.contains(", ") && !text.contains('\n'), "not compact: {text}");
    let body = hit.json();
    let event_id = id_of(&body);
    assert_eq!(body["topic"], "customer_created");
    assert_eq!(body["resourceId"], customer.as_str());
    assert_timestamp(&body["created"]);
    assert_eq!(body["_links"]["resource"]["href"], format!("{base}/customers/{customer}"));
    assert_eq!(body["_links"]["self"]["href"], format!("{base}/events/{event_id}"));
    assert_eq!(body["_links"]["customer"]["href"], format!("{base}/customers/{customer}"));
    assert_eq!(body["_links"]["account"]["href"], format!("{base}/accounts/{}", app.sandbox.id));
    assert_eq!(second.json()["id"], event_id.as_str(), "both webhooks carry the same event");

    // GET /events/{id} is the body that was sent.
    let event = d.get(&format!("/events/{event_id}")).await;
    assert_eq!(event.status, 200, "{}", event.text);
    assert_eq!(event.body, body);

    // The webhook lists with its one attempt.
    let list = d.get(&format!("/webhook-subscriptions/{sub}/webhooks")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["total"], 1, "{}", list.text);
    assert!(list.body["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .contains(&format!("/webhook-subscriptions/{sub}/webhooks")));
    let webhook_id = id_of(&list.body["_embedded"]["webhooks"][0]);
    let w = wait_for_attempts(&d, &webhook_id, 1, SOON).await;
    let listed = &d.get(&format!("/webhook-subscriptions/{sub}/webhooks")).await.body["_embedded"]["webhooks"][0];
    assert_eq!(listed, &w, "the list and the retrieve agree");

    let path = format!("{base}/webhooks/{webhook_id}");
    assert_link(&w["_links"]["self"], &path, "webhook");
    assert_link(&w["_links"]["subscription"], &format!("{base}/webhook-subscriptions/{sub}"), "webhook-subscription");
    assert_link(&w["_links"]["retry"], &format!("{path}/retries"), "retry");
    assert_link(&w["_links"]["event"], &format!("{base}/events/{event_id}"), "event");
    assert_eq!(w["id"], webhook_id.as_str());
    assert_eq!(w["topic"], "customer_created");
    assert_eq!(w["accountId"], app.sandbox.id.as_str());
    assert_eq!(w["eventId"], event_id.as_str());
    assert_eq!(w["subscriptionId"], sub.as_str());
    let attempts = w["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{w}");
    let a = &attempts[0];
    assert!(a["id"].as_str().is_some_and(|s| !s.is_empty()), "{a}");
    assert_timestamp(&a["request"]["timestamp"]);
    assert_eq!(a["request"]["url"], receiver.url("/dwolla"));
    assert_eq!(a["request"]["body"], text, "the recorded body is the raw body sent");
    assert_eq!(attempt_header(&a["request"]["headers"], "X-Dwolla-Topic"), Some("customer_created"));
    assert_eq!(attempt_header(&a["request"]["headers"], "X-Request-Signature-SHA-256"), Some(signature));
    assert_timestamp(&a["response"]["timestamp"]);
    assert_eq!(a["response"]["statusCode"], 200);
    assert_eq!(a["response"]["body"], "receiver says 200");
    assert!(a["response"]["headers"].as_array().is_some_and(|h| !h.is_empty()), "{a}");
    assert!(!w.to_string().contains(secret), "the secret is not part of the webhook record");

    // No manual retries yet; the other subscription has its own webhook of the same event.
    let retries = d.get(&format!("/webhooks/{webhook_id}/retries")).await;
    assert_eq!(retries.status, 200, "{}", retries.text);
    assert_eq!(retries.body["total"], 0);
    assert_link(&retries.body["_links"]["self"], &format!("{path}/retries"), "retry");
    let theirs = webhooks_of(&d, &other).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["eventId"], event_id.as_str());
    assert_ne!(theirs[0]["id"], webhook_id.as_str());

    assert_error(&d.get("/webhooks/00000000-0000-4000-8000-000000000000").await, 404, "NotFound", None);
}

#[tokio::test]
async fn header_names_go_out_spelled_exactly_as_dwolla_spells_them() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = RawReceiver::start().await;
    let secret = "exact-case-secret";
    let sub = subscribe(&d, &receiver.url("/raw?via=tcp"), secret).await;
    let customer = d.customer("Jane", "jane@example.com").await;

    let got = receiver.wait_for(1, SOON).await;
    let (head, body) = (got[0].head_text(), &got[0].body);
    let signature = hmac_hex(secret, body);
    assert!(head.starts_with("POST /raw?via=tcp HTTP/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nX-Request-Signature-SHA-256: {signature}\r\n")), "{head}");
    assert!(head.contains("\r\nX-Dwolla-Topic: customer_created\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: application/json; charset=UTF-8\r\n"), "{head}");
    assert!(head.contains("\r\nUser-Agent: dwolla-webhooks/1.0"), "{head}");
    assert!(head.contains(&format!("\r\nHost: {}\r\n", receiver.addr)), "{head}");
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "{head}");
    let event: Value = serde_json::from_slice(body).expect("a JSON body");
    assert_eq!(event["resourceId"], customer.as_str());

    let id = id_of(&webhook_about(&d, &sub, "customer_created", &customer).await);
    let w = wait_for_attempts(&d, &id, 1, SOON).await;
    let a = &w["attempts"][0];
    assert_eq!(a["response"]["statusCode"], 200, "{w}");
    assert_eq!(a["response"]["body"], "ok", "{w}");
    assert_eq!(attempt_header(&a["response"]["headers"], "content-length"), Some("2"), "{w}");
    assert_eq!(attempt_header(&a["request"]["headers"], "X-Request-Signature-SHA-256"), Some(signature.as_str()));
}

#[tokio::test]
async fn a_paused_subscription_keeps_its_webhooks_unsent_until_retried_by_hand() {
    let app = TestApp::spawn().await;
    let base = &app.payments_base;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    let secret = "paused-secret";
    let sub = subscribe(&d, &receiver.url("/hook"), secret).await;
    set_paused(&d, &sub, true).await;

    let customer = d.customer("Jane", "jane@example.com").await;
    let webhook = webhook_about(&d, &sub, "customer_created", &customer).await;
    let id = id_of(&webhook);
    assert_eq!(webhook["attempts"], json!([]));
    receiver.assert_still(0, QUIET, "a paused subscription is not called").await;

    // Unpausing resends nothing by itself.
    set_paused(&d, &sub, false).await;
    receiver.assert_still(0, QUIET, "unpausing does not resend").await;
    assert_eq!(d.get(&format!("/webhooks/{id}")).await.body["attempts"], json!([]));

    // A manual retry (no body, as the TypeScript SDK sends it) delivers it.
    let r = d.send(d.request(reqwest::Method::POST, &format!("/webhooks/{id}/retries"))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    let retry = r.created_id();
    assert_eq!(r.location(), format!("{base}/webhooks/{id}/retries/{retry}"));
    let got = receiver.wait_for(1, SOON).await;
    assert_eq!(got[0].header("x-dwolla-topic"), Some("customer_created"));
    assert_eq!(got[0].header("x-request-signature-sha-256"), Some(hmac_hex(secret, &got[0].body).as_str()));
    assert_eq!(got[0].json()["resourceId"], customer.as_str());
    let w = wait_for_attempts(&d, &id, 1, SOON).await;
    assert_eq!(w["attempts"][0]["response"]["statusCode"], 200, "{w}");

    let list = d.get(&format!("/webhooks/{id}/retries")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["total"], 1, "{}", list.text);
    let listed = &list.body["_embedded"]["retries"][0];
    assert_eq!(listed["id"], retry.as_str());
    assert_timestamp(&listed["timestamp"]);
    assert_link(&listed["_links"]["self"], &format!("{base}/webhooks/{id}/retries/{retry}"), "retry");
    assert_link(&listed["_links"]["webhook"], &format!("{base}/webhooks/{id}"), "webhook");

    // A manual retry sends again even after a success (duplicates are possible on Dwolla too).
    let r = d.post(&format!("/webhooks/{id}/retries"), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    receiver.wait_for(2, SOON).await;
    wait_for_attempts(&d, &id, 2, SOON).await;
    assert_eq!(d.get(&format!("/webhooks/{id}/retries")).await.body["total"], 2);
    receiver.assert_still(2, QUIET, "each retry sends once").await;

    let r = d.post("/webhooks/00000000-0000-4000-8000-000000000000/retries", json!({})).await;
    assert_error(&r, 404, "NotFound", Some("Webhook not found."));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_fifteen_then_forty_five_minutes() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let secret = "retry-secret";
    let sub = subscribe(&d, &receiver.url("/flaky"), secret).await;

    let customer = d.customer("Jane", "jane@example.com").await;
    let first = receiver.wait_for(1, SOON).await[0].clone();
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &customer).await);
    let w = wait_for_attempts(&d, &id, 1, SOON).await;
    assert_eq!(w["attempts"][0]["response"]["statusCode"], 500, "{w}");
    assert_eq!(w["attempts"][0]["response"]["body"], "receiver says 500");
    receiver.assert_still(1, QUIET, "a failure is not retried at once").await;

    // The first retry is due 15 minutes after the attempt, not before.
    clock.advance_millis(15 * MINUTE_MS - 1000);
    receiver.assert_still(1, QUIET, "not before 15 minutes").await;
    clock.advance_millis(2000);
    let got = receiver.wait_for(2, SOON).await;
    assert_eq!(got[1].body, first.body, "a retry sends the same body");
    assert_eq!(got[1].header("x-request-signature-sha-256"), Some(hmac_hex(secret, &got[1].body).as_str()));
    let w = wait_for_attempts(&d, &id, 2, SOON).await;
    assert_eq!(w["attempts"][1]["response"]["statusCode"], 500, "{w}");
    assert_ne!(w["attempts"][0]["id"], w["attempts"][1]["id"]);
    receiver.assert_still(2, QUIET, "one retry at a time").await;

    // The second retry comes 45 minutes after the first; this time the subscriber is up.
    receiver.answer_with(200);
    clock.advance_millis(45 * MINUTE_MS - 1000);
    let d = Dwolla::sandbox(&app).await; // the first token is an hour old by now
    receiver.assert_still(2, QUIET, "not before 45 more minutes").await;
    clock.advance_millis(2000);
    receiver.wait_for(3, SOON).await;
    let w = wait_for_attempts(&d, &id, 3, SOON).await;
    let codes: Vec<&Value> = w["attempts"].as_array().unwrap().iter().map(|a| &a["response"]["statusCode"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)], "{w}");

    // Delivered: nothing more is scheduled.
    clock.advance_millis(3 * HOUR_MS);
    receiver.assert_still(3, QUIET, "a delivered webhook is not retried").await;
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(302);
    let sub = subscribe(&d, &receiver.url("/moved"), "redirect-secret").await;

    let customer = d.customer("Jane", "jane@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &customer).await);
    let w = wait_for_attempts(&d, &id, 1, SOON).await;
    let response = &w["attempts"][0]["response"];
    assert_eq!(response["statusCode"], 302, "{w}");
    assert_eq!(attempt_header(&response["headers"], "location"), Some("/followed"), "{w}");
    receiver.assert_still(1, QUIET, "the redirect is not followed").await;
    assert!(receiver.received().iter().all(|r| r.path == "/moved"));

    // It counts as a failure: the retry comes 15 minutes later.
    receiver.answer_with(204);
    clock.advance_millis(15 * MINUTE_MS + 1000);
    let got = receiver.wait_for(2, SOON).await;
    assert_eq!(got[1].path, "/moved");
    let w = wait_for_attempts(&d, &id, 2, SOON).await;
    assert_eq!(w["attempts"][1]["response"]["statusCode"], 204, "any 2xx is a success: {w}");
}

#[tokio::test]
async fn a_failing_subscriber_gets_eight_retries_over_72_hours_then_no_more() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(503);
    let sub = subscribe(&d, &receiver.url("/down"), "schedule-secret").await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &customer).await);
    wait_for_attempts(&d, &id, 1, SOON).await;

    // Gaps from the previous attempt: 15 min, 45 min, 2 h, 3 h, 6 h, 12 h, 24 h, 24 h.
    let gaps = [
        15 * MINUTE_MS,
        45 * MINUTE_MS,
        2 * HOUR_MS,
        3 * HOUR_MS,
        6 * HOUR_MS,
        12 * HOUR_MS,
        24 * HOUR_MS,
        24 * HOUR_MS,
    ];
    for (n, gap) in gaps.into_iter().enumerate() {
        let attempts = n + 1;
        clock.advance_millis(gap - 1000);
        receiver
            .assert_still(attempts, Duration::from_millis(1200), &format!("retry {} comes no earlier", n + 1))
            .await;
        clock.advance_millis(1000);
        receiver.wait_for(attempts + 1, SOON).await;
        let d = Dwolla::sandbox(&app).await;
        wait_for_attempts(&d, &id, attempts + 1, SOON).await;
    }
    let d = Dwolla::sandbox(&app).await;
    let w = d.get(&format!("/webhooks/{id}")).await.body;
    let attempts = w["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 9, "the first attempt and eight retries: {w}");
    assert!(attempts.iter().all(|a| a["response"]["statusCode"] == 503), "{w}");

    // Then it gives up.
    clock.advance_millis(30 * 24 * HOUR_MS);
    receiver.assert_still(9, QUIET, "no ninth retry").await;
    let d = Dwolla::sandbox(&app).await;
    assert_eq!(d.get(&format!("/webhooks/{id}")).await.body["attempts"].as_array().unwrap().len(), 9);
    // A manual retry still sends it, once.
    assert_eq!(d.post(&format!("/webhooks/{id}/retries"), json!({})).await.status, 201);
    receiver.wait_for(10, SOON).await;
    wait_for_attempts(&d, &id, 10, SOON).await;
    clock.advance_millis(HOUR_MS);
    receiver.assert_still(10, QUIET, "a failed manual retry schedules nothing").await;
}

#[tokio::test]
async fn a_subscriber_that_takes_over_ten_seconds_has_failed() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_after(Duration::from_secs(12));
    let sub = subscribe(&d, &receiver.url("/slow"), "slow-secret").await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &customer).await);
    receiver.wait_for(1, SOON).await;
    let started = std::time::Instant::now();
    let w = wait_for_attempts(&d, &id, 1, Duration::from_secs(15)).await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(11), "the attempt ended at the 10-second timeout, after {waited:?}");
    let response = &w["attempts"][0]["response"];
    assert_eq!(response["statusCode"], 0, "{w}");
    assert!(response["body"].as_str().unwrap().contains("timed out"), "{w}");
}

#[tokio::test]
async fn the_allowlist_lets_any_tenant_reach_a_private_host() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with_args(|args| args.webhook_allowlist = vec!["127.0.0.1".into()]).await;
    let (b, _) = Dwolla::other_tenant(&app).await;
    let secret = "allowlisted-secret";
    let sub = subscribe(&b, &receiver.url("/allowed"), secret).await;
    let refused = subscribe(&b, "http://10.0.0.1/hook", secret).await;
    let customer = b.customer("Bea", "bea@example.com").await;

    let got = receiver.wait_for(1, SOON).await;
    assert_eq!(got[0].path, "/allowed");
    assert_eq!(got[0].header("x-request-signature-sha-256"), Some(hmac_hex(secret, &got[0].body).as_str()));
    let id = id_of(&webhook_about(&b, &sub, "customer_created", &customer).await);
    assert_eq!(wait_for_attempts(&b, &id, 1, SOON).await["attempts"][0]["response"]["statusCode"], 200);
    // Only the named address: other private ones stay refused.
    let id = id_of(&webhook_about(&b, &refused, "customer_created", &customer).await);
    assert_eq!(wait_for_attempts(&b, &id, 1, SOON).await["attempts"][0]["response"]["statusCode"], 0);
}

async fn subscription_record(app: &TestApp, sub: &str) -> WebhookSubscriptionRecord {
    let (tenant, sub) = (sandbox_tenant(app), sub.to_owned());
    app.store.read(|mut c| async move { repo::find_subscription(&mut c, tenant, &sub).await }).await.unwrap().unwrap()
}

async fn save_subscription_record(app: &TestApp, record: WebhookSubscriptionRecord) {
    app.store.write(move |c| Box::pin(async move { repo::save_subscription(c, &record).await })).await.unwrap();
}

#[tokio::test]
async fn a_subscription_pauses_after_400_consecutive_failures_and_a_day_without_success() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let sub = subscribe(&d, &receiver.url("/down"), "pause-secret").await;

    // 399 failures, the last success 23 hours ago: the 400th failure is not enough alone.
    let mut record = subscription_record(&app, &sub).await;
    record.consecutive_failures = 399;
    record.last_success_at = Some(clock.now().plus_millis(-23 * HOUR_MS));
    save_subscription_record(&app, record).await;
    let first = d.customer("Ann", "ann@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &first).await);
    wait_for_attempts(&d, &id, 1, SOON).await;
    assert_eq!(d.get(&format!("/webhook-subscriptions/{sub}")).await.body["paused"], false);
    let mut record = subscription_record(&app, &sub).await;
    assert_eq!(record.consecutive_failures, 400, "the failure was counted");

    // A day without success as well: the next failure pauses it.
    record.last_success_at = Some(clock.now().plus_millis(-25 * HOUR_MS));
    save_subscription_record(&app, record).await;
    let second = d.customer("Bob", "bob@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &second).await);
    wait_for_attempts(&d, &id, 1, SOON).await;
    assert_eq!(d.get(&format!("/webhook-subscriptions/{sub}")).await.body["paused"], true, "auto-paused");
    assert_eq!(receiver.received().len(), 2);

    // Paused: later webhooks are written but not sent.
    let third = d.customer("Cy", "cy@example.com").await;
    let w = webhook_about(&d, &sub, "customer_created", &third).await;
    receiver.assert_still(2, QUIET, "an auto-paused subscription is not called").await;
    assert_eq!(w["attempts"], json!([]));

    // Unpausing starts a fresh count: one more failure does not pause it again.
    set_paused(&d, &sub, false).await;
    assert_eq!(subscription_record(&app, &sub).await.consecutive_failures, 0);
    let fourth = d.customer("Di", "di@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &fourth).await);
    wait_for_attempts(&d, &id, 1, SOON).await;
    assert_eq!(d.get(&format!("/webhook-subscriptions/{sub}")).await.body["paused"], false);

    // A success resets the count and records when it happened.
    receiver.answer_with(200);
    let fifth = d.customer("Ed", "ed@example.com").await;
    let id = id_of(&webhook_about(&d, &sub, "customer_created", &fifth).await);
    wait_for_attempts(&d, &id, 1, SOON).await;
    let record = subscription_record(&app, &sub).await;
    assert_eq!(record.consecutive_failures, 0);
    assert_eq!(record.last_success_at, Some(clock.now()));
}

#[tokio::test]
async fn a_non_sandbox_tenant_cannot_deliver_to_loopback_or_private_addresses() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let (b, _) = Dwolla::other_tenant(&app).await;
    let targets = [
        (receiver.url("/b"), "127.0.0.1"),
        (format!("http://localhost:{port}/b"), "localhost"),
        (format!("http://[::1]:{port}/b"), "::1"),
        ("http://10.0.0.1/hook".to_owned(), "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data".to_owned(), "169.254.169.254"),
    ];
    let mut subs = Vec::new();
    for (url, host) in &targets {
        // Subscribing is allowed; delivering is not.
        subs.push((subscribe(&b, url, "b-secret").await, url, *host));
    }

    let customer = b.customer("Bea", "bea@example.com").await;
    for (sub, url, host) in &subs {
        let id = id_of(&webhook_about(&b, sub, "customer_created", &customer).await);
        // Refused before any connection: a connection to 10.0.0.1 would take the 10-second timeout.
        let w = wait_for_attempts(&b, &id, 1, SOON).await;
        let a = &w["attempts"][0];
        assert_eq!(a["request"]["url"], url.as_str(), "{w}");
        assert_eq!(a["response"]["statusCode"], 0, "{url}: {w}");
        assert_eq!(a["response"]["headers"], json!([]), "{url}: {w}");
        let reason = a["response"]["body"].as_str().unwrap();
        assert!(reason.contains(host), "{url}: the reason names the address: {reason}");
        assert!(!reason.contains("timed out"), "{url}: no connection was attempted: {reason}");
    }
    receiver.assert_still(0, QUIET, "the non-sandbox tenant reached the receiver").await;

    // The sandbox tenant may call loopback.
    let a = Dwolla::sandbox(&app).await;
    subscribe(&a, &receiver.url("/sandbox"), "a-secret").await;
    let mine = a.customer("Jane", "jane@example.com").await;
    let got = receiver.wait_for(1, SOON).await;
    receiver.assert_still(1, QUIET, "only the sandbox's webhook arrives").await;
    assert_eq!(got[0].path, "/sandbox");
    assert_eq!(got[0].json()["resourceId"], mine.as_str());
}
