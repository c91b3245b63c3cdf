//! Payments operations raced against themselves and each other: each decides on state it
//! read and saved inside one write, so concurrent requests leave one consistent outcome and
//! one event trail. These matter most on PostgreSQL, where writes run side by side.

use serde_json::{json, Value};

use super::support::{assert_error, personal, Dwolla, HalResp};
use crate::helpers::TestApp;

/// Sends every `(path, body)` POST at once and returns the answers in order.
async fn all_at_once(d: &Dwolla, requests: Vec<(String, Value)>) -> Vec<HalResp> {
    let running: Vec<_> = requests
        .into_iter()
        .map(|(path, body)| {
            let d = d.clone();
            tokio::spawn(async move { d.post(&path, body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for r in running {
        answers.push(r.await.unwrap());
    }
    answers
}

fn count(topics: &[String], topic: &str) -> usize {
    topics.iter().filter(|t| *t == topic).count()
}

fn amounts(a: &str, b: &str) -> Value {
    json!({ "amount1": { "value": a, "currency": "USD" }, "amount2": { "value": b, "currency": "USD" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_of_one_funding_source_remove_it_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Rae", "rae@example.com").await;
    for round in 0..5 {
        let bank = d.bank_from_numbers(&customer, &format!("1234567{round}"), "Bank").await;
        let path = format!("/funding-sources/{bank}");
        let answers = all_at_once(&d, vec![(path.clone(), json!({ "removed": true })); 2]).await;
        let removed = answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(removed, 1, "round {round}: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_error(r, 403, "InvalidResourceState", Some("A removed bank cannot be updated."));
        }
        let topics = d.topics_about(&bank).await;
        assert_eq!(count(&topics, "customer_funding_source_removed"), 1, "round {round}: {topics:?}");
        assert_eq!(d.get(&path).await.body["removed"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rename_racing_a_verification_never_unverifies_the_bank() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Ren", "ren@example.com").await;
    for round in 0..6 {
        let bank = d.bank_from_numbers(&customer, &format!("2234567{round}"), "Bank").await;
        let path = format!("/funding-sources/{bank}");
        let deposits = format!("{path}/micro-deposits");
        assert_eq!(d.post(&deposits, json!({})).await.status, 201);
        let mut requests = vec![(deposits.clone(), amounts("0.03", "0.09"))];
        requests.push((path.clone(), json!({ "name": format!("Renamed {round}") })));
        if round % 2 == 1 {
            requests.reverse();
        }
        let answers = all_at_once(&d, requests).await;
        for r in &answers {
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
        }
        let source = d.get(&path).await;
        assert_eq!(source.body["status"], "verified", "round {round}: {}", source.text);
        assert_eq!(source.body["name"], format!("Renamed {round}"));
        let topics = d.topics_about(&bank).await;
        assert_eq!(count(&topics, "customer_funding_source_verified"), 1, "round {round}: {topics:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_amounts_count_as_three_attempts() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Max", "max@example.com").await;
    let bank = d.bank_from_numbers(&customer, "32345678", "Bank").await;
    let deposits = format!("/funding-sources/{bank}/micro-deposits");
    assert_eq!(d.post(&deposits, json!({})).await.status, 201);

    let answers = all_at_once(&d, vec![(deposits.clone(), amounts("0.11", "0.12")); 20]).await;
    let wrong = answers.iter().filter(|r| r.status == 400).count();
    let refused = answers.iter().filter(|r| r.status == 403).count();
    assert_eq!((wrong, refused), (2, 18), "{:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status == 403) {
        assert_error(r, 403, "InvalidResourceState", Some("Too many attempts."));
    }
    let topics = d.topics_about(&bank).await;
    assert_eq!(count(&topics, "customer_microdeposits_maxattempts"), 1, "{topics:?}");
    let details = d.get(&deposits).await;
    assert_eq!(details.body["status"], "failed", "{}", details.text);
    // Even the right amounts are refused now, as Dwolla does.
    assert_error(&d.post(&deposits, amounts("0.03", "0.09")).await, 403, "InvalidResourceState", None);
    assert_eq!(d.get(&format!("/funding-sources/{bank}")).await.body["status"], "unverified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_upgrades_give_one_verified_customer_and_one_event_trail() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    for round in 0..5 {
        let email = format!("up{round}@example.com");
        let id = d.customer("Uma", &email).await;
        let path = format!("/customers/{id}");
        let answers = all_at_once(&d, vec![(path.clone(), personal("Uma", &email)); 2]).await;
        let upgraded = answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(upgraded, 1, "round {round}: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_error(r, 403, "InvalidResourceState", Some("Resource cannot be modified."));
        }
        let customer = d.get(&path).await;
        assert_eq!(
            (customer.body["type"].as_str(), customer.body["status"].as_str()),
            (Some("personal"), Some("verified"))
        );
        assert_eq!(d.topics_about(&id).await, ["customer_created", "customer_verified"], "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_subscriptions_stop_at_the_limit() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let requests = (0..16).map(|i| {
        ("/webhook-subscriptions".to_owned(), json!({ "url": format!("https://example.com/{i}"), "secret": "s" }))
    });
    let answers = all_at_once(&d, requests.collect()).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 10, "the sandbox allows ten: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_error(r, 400, "MaxNumberOfResources", None);
    }
    assert_eq!(d.get("/webhook-subscriptions").await.body["total"], 10);
}
