//! Sandbox processing raced against cancels, against itself and against spending: every pass
//! locks the transfers it settles before their legs and balances, so a transfer ends cancelled
//! or processed (never both), a leg is processed once, and a balance is never overdrawn. These
//! run on PostgreSQL too (`OPENIAV_TEST_POSTGRES_URL`), where writes run side by side.

use reqwest::Method;
use serde_json::{json, Value};

use super::support::{assert_error, Dwolla, HalResp};
use super::transfer_processing::{
    all_events, balance, balance_of, funded, simulate, topics, transfer, transfer_body, transfer_status, verified_bank,
    verified_customer,
};
use crate::helpers::TestApp;

fn count(topics: &[String], topic: &str) -> usize {
    topics.iter().filter(|t| *t == topic).count()
}

async fn simulate_raw(d: &Dwolla) -> HalResp {
    d.send(d.request(Method::POST, "/sandbox-simulations")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_racing_a_processing_pass_leaves_the_transfer_cancelled_or_processed() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let mut credited = 0;
    for round in 0..8 {
        let t = transfer(&d, &bank, &wallet, "1.00").await;
        let (dc, ds) = (d.clone(), d.clone());
        let path = format!("/transfers/{t}");
        let cancel = tokio::spawn(async move { dc.post(&path, json!({ "status": "cancelled" })).await });
        let pass = tokio::spawn(async move { simulate_raw(&ds).await });
        let (cancel, pass) = (cancel.await.unwrap(), pass.await.unwrap());
        assert_eq!(pass.status, 200, "round {round}: {}", pass.text);
        let status = transfer_status(&d, &t).await;
        let events = all_events(&d).await;
        let seen = topics(&events, &t);
        match status.as_str() {
            "cancelled" => {
                assert_eq!(cancel.status, 200, "round {round}: {}", cancel.text);
                assert_eq!(pass.body["total"], 0, "round {round}: nothing left to process");
                assert_eq!(count(&seen, "customer_transfer_cancelled"), 1, "round {round}: {seen:?}");
                assert_eq!(count(&seen, "customer_transfer_completed"), 0, "round {round}: {seen:?}");
            }
            "processed" => {
                assert_error(&cancel, 400, "ValidationError", None);
                assert_eq!(pass.body["total"], 1, "round {round}");
                assert_eq!(count(&seen, "customer_transfer_completed"), 1, "round {round}: {seen:?}");
                assert_eq!(count(&seen, "customer_transfer_cancelled"), 0, "round {round}: {seen:?}");
                credited += 100;
            }
            other => panic!("round {round}: ended {other}"),
        }
        // Whatever won, one more pass finds nothing.
        assert_eq!(simulate(&d).await, 0, "round {round}");
        assert_eq!(balance(&d, &wallet).await, format!("{}.{:02}", credited / 100, credited % 100), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_processing_passes_never_process_a_leg_twice() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = verified_customer(&d, "Jane").await;
    let bank = verified_bank(&d, &customer, "123456789", "Checking").await;
    let wallet = balance_of(&d, &customer).await;
    let mut ids = Vec::new();
    for round in 0..4 {
        let batch: Vec<String> = {
            let mut batch = Vec::new();
            for _ in 0..10 {
                batch.push(transfer(&d, &bank, &wallet, "0.50").await);
            }
            batch
        };
        let passes: Vec<_> = (0..2)
            .map(|_| {
                let d = d.clone();
                tokio::spawn(async move { simulate_raw(&d).await })
            })
            .collect();
        let mut total = 0;
        for p in passes {
            let r = p.await.unwrap();
            assert_eq!(r.status, 200, "round {round}: {}", r.text);
            total += r.body["total"].as_i64().unwrap();
        }
        assert_eq!(total, 10, "round {round}: each leg once between the two passes");
        ids.extend(batch);
    }
    let events = all_events(&d).await;
    for t in &ids {
        assert_eq!(transfer_status(&d, t).await, "processed");
        assert_eq!(topics(&events, t), ["customer_transfer_created", "customer_transfer_completed"], "{t}");
    }
    let completed = events.iter().filter(|e| e["topic"] == "customer_bank_transfer_completed").count();
    assert_eq!(completed, ids.len());
    assert_eq!(balance(&d, &wallet).await, "20.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transfers_from_one_funded_balance_never_overdraw_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (customer, bank, wallet) = funded(&d, "Jane", "123456789", "10.00").await;
    let other = verified_bank(&d, &customer, "223456789", "Savings").await;
    let running: Vec<_> = (0..6)
        .map(|i| {
            let d = d.clone();
            let to = if i % 2 == 0 { bank.clone() } else { other.clone() };
            let body: Value = transfer_body(&d, &wallet, &to, "3.00");
            tokio::spawn(async move { d.post("/transfers", body).await })
        })
        .collect();
    let mut sent = Vec::new();
    for r in running {
        let r = r.await.unwrap();
        match r.status {
            201 => sent.push(r.created_id()),
            // Refused: short of funds, or Dwolla's guard against concurrent balance transfers.
            400 => assert!(r.errors().iter().any(|e| e["message"] == "Insufficient funds."), "refused with {}", r.text),
            429 => assert_eq!(r.body["code"], "TooManyRequests", "{}", r.text),
            other => panic!("answered {other}: {}", r.text),
        }
    }
    assert!(!sent.is_empty() && sent.len() <= 3, "{} transfers of 3.00 from 10.00", sent.len());
    let left = 1000 - 300 * sent.len() as i64;
    let shown = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
    assert_eq!(balance(&d, &wallet).await, shown(left));
    assert_eq!(simulate(&d).await, sent.len() as i64);
    for t in &sent {
        assert_eq!(transfer_status(&d, t).await, "processed");
    }
    assert_eq!(balance(&d, &wallet).await, shown(left));
}
