//! Jobs: concurrency rules, expiry, restart durability, and the data aggregation produces.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{Options, TestApp};

#[tokio::test]
async fn a_running_job_answers_same_type_calls_and_refuses_other_types() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "challenge", false).await;
    assert_eq!(c.settle(&user, &guid).await["connection_status"], "CHALLENGED");
    let r = c.post_empty(&format!("/users/{user}/members/{guid}/aggregate")).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["member"]["connection_status"], "CHALLENGED");
    for job in ["verify", "identify", "check_balance", "extend_history"] {
        let r = c.post_empty(&format!("/users/{user}/members/{guid}/{job}")).await;
        assert_eq!(r.status, 409, "{job}: {}", r.text);
        assert!(!r.error_message().is_empty());
    }
}

#[tokio::test]
async fn a_refused_job_is_named_with_the_right_article() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{guid}/verify")).await.status, 200);
    assert_eq!(c.settle(&user, &guid).await["connection_status"], "CHALLENGED");
    for (job, phrase) in [
        ("aggregate", "an aggregate job"),
        ("identify", "an identify job"),
        ("check_balance", "a check_balance job"),
        ("extend_history", "an extend_history job"),
    ] {
        let r = c.post_empty(&format!("/users/{user}/members/{guid}/{job}")).await;
        assert_eq!(r.status, 409, "{job}: {}", r.text);
        assert!(r.error_message().contains(phrase), "{job}: {}", r.error_message());
    }
}

#[tokio::test]
async fn every_job_endpoint_answers_with_its_spec_status() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    for (job, code) in
        [("aggregate", 202), ("identify", 202), ("check_balance", 202), ("extend_history", 202), ("verify", 200)]
    {
        let r = c.post_empty(&format!("/users/{user}/members/{guid}/{job}")).await;
        assert_eq!(r.status, code, "{job}: {}", r.text);
        assert_eq!(r.body["member"]["is_being_aggregated"], true, "{job}");
        let s = c.settle(&user, &guid).await;
        if job == "verify" {
            assert_eq!(s["connection_status"], "CHALLENGED");
        } else {
            assert_eq!(s["connection_status"], "CONNECTED", "{job}");
        }
    }
    assert_eq!(c.post_empty(&format!("/users/{user}/members/MBR-nope/aggregate")).await.status, 404);
}

#[tokio::test]
async fn an_unanswered_challenge_expires() {
    let app = TestApp::spawn_with(Options { challenge_timeout_ms: 150, ..Options::default() }).await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "options", false).await;
    assert_eq!(c.settle(&user, &guid).await["connection_status"], "CHALLENGED");
    let mut status = Value::Null;
    for _ in 0..200 {
        status = c.status(&user, &guid).await;
        if status["connection_status"] == "EXPIRED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status["connection_status"], "EXPIRED");
    assert_eq!(status["is_being_aggregated"], false);
    assert_eq!(c.get(&format!("/users/{user}/members/{guid}/challenges")).await.status, 204);
    assert_eq!(c.resume(&user, &guid, "CRD-x", "correct").await.status, 405);
}

#[tokio::test]
async fn a_queued_job_survives_a_restart() {
    let app = TestApp::spawn_with(Options { sandbox_delay_ms: 60_000, ..Options::default() }).await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", false).await;
    assert_eq!(c.status(&user, &guid).await["is_being_aggregated"], true);
    let app = app.restart(Options::default()).await;
    let c = app.client();
    // The job was due in a minute; after the restart it is still queued and still runs then.
    assert_eq!(c.status(&user, &guid).await["is_being_aggregated"], true);
    let r = c.post_empty(&format!("/users/{user}/members/{guid}/verify")).await;
    assert_eq!(r.status, 409, "the persisted aggregation is still running");
}

#[tokio::test]
async fn graceful_stop_returns_cleanly() {
    let mut app = TestApp::spawn().await;
    let c = app.client();
    c.create_user().await;
    assert!(app.stop().await.is_ok());
    assert!(reqwest::get(format!("{}/health", app.base)).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn aggregation_yields_accounts_transactions_and_identity() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", false).await;
    c.settle(&user, &guid).await;

    let r = c.get(&format!("/users/{user}/accounts")).await;
    let accounts = r.body["accounts"].as_array().unwrap();
    let types: Vec<&str> = accounts.iter().map(|a| a["type"].as_str().unwrap()).collect();
    // MX Bank offers investments, which an aggregation gathers by default.
    assert_eq!(types, vec!["CHECKING", "SAVINGS", "CREDIT_CARD", "INVESTMENT"]);
    assert!(accounts.iter().all(|a| a["balance"].is_number() && a["member_guid"] == guid.as_str()));
    assert!(accounts[2]["credit_limit"].as_f64().unwrap() > 0.0);
    let checking = accounts[0]["guid"].as_str().unwrap().to_owned();
    assert_eq!(c.get(&format!("/users/{user}/members/{guid}/accounts")).await.body["pagination"]["total_entries"], 4);
    assert_eq!(c.get(&format!("/users/{user}/accounts/{checking}")).await.body["account"]["name"], "Checking");
    assert_eq!(c.get(&format!("/users/{user}/members/{guid}/accounts/{checking}")).await.status, 200);
    assert_eq!(c.get(&format!("/users/{user}/accounts?is_manual=true")).await.body["accounts"], json!([]));

    let r = c.get(&format!("/users/{user}/transactions?records_per_page=1000")).await;
    assert_eq!(r.status, 200);
    let txns = r.body["transactions"].as_array().unwrap();
    assert!(txns.len() > 50, "{}", txns.len());
    let dates: Vec<&str> = txns.iter().map(|t| t["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest first");
    let oldest =
        time::Date::parse(dates.last().unwrap(), &time::macros::format_description!("[year]-[month]-[day]")).unwrap();
    let newest = time::Date::parse(dates[0], &time::macros::format_description!("[year]-[month]-[day]")).unwrap();
    assert!((newest - oldest).whole_days() >= 80 && (newest - oldest).whole_days() < 90);
    assert!(txns.iter().all(|t| t["amount"].is_number() && (t["type"] == "DEBIT" || t["type"] == "CREDIT")));
    assert_eq!(r.body["pagination"]["total_entries"].as_u64().unwrap() as usize, txns.len());

    let tx_guid = txns[3]["guid"].as_str().unwrap();
    let one = c.get(&format!("/users/{user}/transactions/{tx_guid}")).await;
    assert_eq!(one.body["transaction"]["guid"], tx_guid);
    assert_eq!(one.body["transactions"][0]["guid"], tx_guid, "the spec's list shape too");
    assert_eq!(one.body["pagination"]["total_entries"], 1);
    assert!(txns.iter().all(|t| t.get("merchant").is_none()), "enhancements only when asked");

    let enhanced = c
        .get(&format!("/users/{user}/transactions?records_per_page=1000&includes=merchants,classifications,repeating_transactions,geolocations"))
        .await;
    let enhanced = enhanced.body["transactions"].as_array().unwrap();
    assert!(enhanced.iter().all(|t| t["classification"]["parent_class"].is_string()));
    assert!(enhanced.iter().any(|t| t["merchant"]["guid"].as_str().is_some_and(|g| g.starts_with("MCH-"))));
    assert!(enhanced.iter().any(|t| t["repeating_transaction"]["repeating_transaction_type"] == "INCOME"));
    assert!(enhanced.iter().any(|t| t["geolocation"]["postal code"].is_string()));
    assert_eq!(c.get(&format!("/users/{user}/transactions?includes=horoscopes")).await.status, 400);
    let by_member = c.get(&format!("/users/{user}/members/{guid}/transactions?records_per_page=10&page=2")).await;
    assert_eq!(by_member.body["transactions"].as_array().unwrap().len(), 10);
    assert_eq!(by_member.body["pagination"]["current_page"], 2);
    let by_account = c.get(&format!("/users/{user}/accounts/{checking}/transactions?records_per_page=1000")).await;
    assert!(by_account.body["transactions"].as_array().unwrap().iter().all(|t| t["account_guid"] == checking.as_str()));
    let window = c
        .get(&format!("/users/{user}/transactions?from_date={}&to_date={}&records_per_page=1000", dates[0], dates[0]))
        .await;
    assert!(window.body["transactions"].as_array().unwrap().iter().all(|t| t["date"] == dates[0]));
    assert_eq!(c.get(&format!("/users/{user}/transactions?from_date=yesterday")).await.status, 400);

    assert_eq!(c.get(&format!("/users/{user}/members/{guid}/account_owners")).await.body["account_owners"], json!([]));
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{guid}/identify")).await.status, 202);
    c.settle(&user, &guid).await;
    let owners = c.get(&format!("/users/{user}/members/{guid}/account_owners")).await;
    let owners = owners.body["account_owners"].as_array().unwrap();
    assert_eq!(owners.len(), 4);
    assert!(owners.iter().all(|o| o["guid"].as_str().unwrap().starts_with("ACO-") && o["owner_name"].is_string()));

    assert_eq!(c.post_empty(&format!("/users/{user}/members/{guid}/extend_history")).await.status, 202);
    c.settle(&user, &guid).await;
    let longer = c
        .get(&format!("/users/{user}/accounts/{checking}/transactions?from_date=2000-01-01&records_per_page=1000"))
        .await;
    assert!(
        longer.body["pagination"]["total_entries"].as_i64().unwrap()
            > by_account.body["pagination"]["total_entries"].as_i64().unwrap()
    );
}

#[tokio::test]
async fn every_aggregated_account_carries_a_masked_number_including_the_card() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", false).await;
    c.settle(&user, &guid).await;
    assert_eq!(c.post_empty(&format!("/users/{user}/members/{guid}/identify")).await.status, 202);
    c.settle(&user, &guid).await;
    for path in [format!("/users/{user}/accounts"), format!("/users/{user}/members/{guid}/accounts")] {
        let r = c.get(&path).await;
        let accounts = r.body["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), 4, "{path}");
        for a in accounts {
            let masked = a["account_number"].as_str().unwrap_or_else(|| panic!("{path}: {a}"));
            assert_eq!(masked.len(), 4, "{path}: {a}");
            assert!(masked.chars().all(|ch| ch.is_ascii_digit()), "{path}: {a}");
        }
        assert_eq!(accounts[2]["type"], "CREDIT_CARD");
    }
}
