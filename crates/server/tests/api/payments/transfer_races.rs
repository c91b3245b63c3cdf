//! Transfers raced against themselves: concurrent cancels of one transfer cancel it once (one
//! refund, one set of events), and concurrent transfers from one balance never overdraw it.
//! Both run on PostgreSQL too (when `OPENIAV_TEST_POSTGRES_URL` is set), where writes run side
//! by side and only the row locks keep them apart.

use serde_json::{json, Value};

use super::support::{Dwolla, HalResp};
use super::transfers::{body, cents_in, fund, pair};
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

fn texts(answers: &[HalResp]) -> Vec<&str> {
    answers.iter().map(|r| r.text.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancels_of_one_transfer_cancel_it_once() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    fund(&app, &p.a_balance, 10_000).await;
    for round in 0..5 {
        let location = d.post("/transfers", body(&p.a_balance, &p.b_bank, "10.00")).await.location();
        let id = location.rsplit('/').next().unwrap().to_owned();
        let answers = all_at_once(&d, vec![(location.clone(), json!({ "status": "cancelled" })); 2]).await;
        let ok = answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "round {round}: {:?}", texts(&answers));
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 400, "round {round}: {}", r.text);
            assert_eq!(r.body["_embedded"]["errors"][0]["message"], "Status not allowed.", "{}", r.text);
            assert_eq!(r.body["_embedded"]["errors"][0]["code"], "NotAllowed", "{}", r.text);
        }
        // Refunded exactly once: every round starts from the same balance.
        assert_eq!(cents_in(&app, &p.a_balance).await, 10_000, "round {round}");
        let topics = d.topics_about(&id).await;
        let cancelled = topics.iter().filter(|t| *t == "customer_transfer_cancelled").count();
        assert_eq!(cancelled, 2, "one event per party, once: round {round}: {topics:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transfers_from_one_balance_never_overdraw_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    // Funded the way a client funds it: a bank-to-balance transfer the sandbox processes.
    let deposit = d.post("/transfers", body(&p.a_bank, &p.a_balance, "5.00")).await.location();
    assert_eq!(d.post("/sandbox-simulations", json!({})).await.status, 200);
    assert_eq!(d.get(&deposit).await.body["status"], "processed");
    assert_eq!(cents_in(&app, &p.a_balance).await, 500);
    let requests = (0..10).map(|_| ("/transfers".to_owned(), body(&p.a_balance, &p.b_balance, "1.00"))).collect();
    let answers = all_at_once(&d, requests).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 5, "{:?}", texts(&answers));
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["_embedded"]["errors"][0]["code"], "InsufficientFunds", "{}", r.text);
    }
    assert_eq!(cents_in(&app, &p.a_balance).await, 0);
    assert_eq!(cents_in(&app, &p.b_balance).await, 500);
    let listed = d.get(&format!("/customers/{}/transfers", p.a)).await;
    assert_eq!(listed.body["total"], 6, "the deposit and five sends: {}", listed.text);
}
