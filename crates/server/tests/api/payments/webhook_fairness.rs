//! Fair webhook delivery: one tenant's hung endpoints do not hold up another tenant's webhooks, and
//! a subscription gets at most 10 deliveries at once. No timing is asserted; timeouts only keep a
//! broken build from hanging the run.

use std::time::Duration;

use super::raw_receiver::RawReceiver;
use super::receiver::{subscribe, wait_for_attempts, webhooks_of};
use super::support::Dwolla;
use crate::helpers::TestApp;

/// A hang guard, well past the 10-second delivery timeout.
const GUARD: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_tenants_hung_endpoints_do_not_hold_up_another_tenants_webhooks() {
    let app = TestApp::spawn_with_args(|args| args.webhook_allowlist = vec!["127.0.0.1".into()]).await;
    let a = Dwolla::sandbox(&app).await;
    let (b, _) = Dwolla::other_tenant(&app).await;

    // Tenant A: ten subscriptions (the sandbox's most) whose endpoint never answers.
    let hung = RawReceiver::hung().await;
    let mut subs = Vec::new();
    for n in 0..10 {
        subs.push(subscribe(&a, &hung.url(&format!("/a{n}")), "a-secret").await);
    }
    for n in 0..3 {
        a.customer("Ann", &format!("ann{n}@example.com")).await;
    }
    // More hung deliveries than the worker once claimed in one batch (16), all connected.
    let held = hung.wait_for(30, GUARD).await.len();

    let fine = RawReceiver::start().await;
    subscribe(&b, &fine.url("/b"), "b-secret").await;
    let bea = b.customer("Bea", "bea@example.com").await;
    let got = fine.wait_for(1, GUARD).await;
    assert!(std::str::from_utf8(&got[0].body).unwrap().contains(&bea), "B's webhook is about B's customer");
    assert_eq!(hung.closed_by_client(), 0, "B's webhook arrived while A's deliveries were all still waiting");
    assert_eq!(hung.requests().len(), held);

    // Released, A's deliveries all succeed.
    hung.release();
    for sub in &subs {
        for w in webhooks_of(&a, sub).await {
            let w = wait_for_attempts(&a, w["id"].as_str().unwrap(), 1, GUARD).await;
            assert_eq!(w["attempts"][0]["response"]["statusCode"], 200, "{w}");
        }
    }
    assert_eq!(hung.closed_by_client(), 0);
}

#[tokio::test]
async fn a_subscription_gets_at_most_ten_deliveries_at_once_and_the_rest_wait_for_a_slot() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let hung = RawReceiver::hung().await;
    let burst = subscribe(&d, &hung.url("/burst"), "burst-secret").await;
    for n in 0..12 {
        d.customer("Cy", &format!("cy{n}@example.com")).await;
    }
    hung.wait_for(10, GUARD).await;

    // Another subscription of the same tenant is not held up by that one's bound.
    let fine = RawReceiver::start().await;
    let other = subscribe(&d, &fine.url("/other"), "other-secret").await;
    d.customer("Di", "di@example.com").await;
    fine.wait_for(1, GUARD).await;
    assert_eq!(hung.requests().len(), 10, "Dwolla's burst: at most 10 concurrent requests per subscription");
    assert_eq!(hung.closed_by_client(), 0);

    // Released, the slots free up and the waiting deliveries go out, each once.
    hung.release();
    hung.wait_for(13, GUARD).await;
    for w in webhooks_of(&d, &burst).await {
        let w = wait_for_attempts(&d, w["id"].as_str().unwrap(), 1, GUARD).await;
        assert_eq!(w["attempts"].as_array().unwrap().len(), 1, "{w}");
        assert_eq!(w["attempts"][0]["response"]["statusCode"], 200, "{w}");
    }
    assert_eq!(webhooks_of(&d, &other).await.len(), 1);
    assert_eq!(hung.requests().len(), 13);
}
