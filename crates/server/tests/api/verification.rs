//! Instant account verification, API only (seed 001).

use serde_json::json;

use crate::helpers::{aba_valid, TestApp};

#[tokio::test]
async fn seed_001_flow_verifies_the_chosen_account() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c
        .post(
            "/users",
            json!({ "user": { "id": "partner-2345", "email": "totally.fake.email@notreal.com", "metadata": "Yada" } }),
        )
        .await;
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let search = c.get("/institutions?name=MX%20Bank").await;
    assert_eq!(search.body["institutions"][0]["code"], "mxbank");
    let guid = c.member_guid(&user, "mxuser", "password", true).await;

    let r = c.post_empty(&format!("/users/{user}/members/{guid}/verify")).await;
    assert_eq!(r.status, 200, "verify answers 200: {}", r.text);
    assert_eq!(r.body["member"]["is_being_aggregated"], true);

    let s = c.settle(&user, &guid).await;
    assert_eq!(s["connection_status"], "CHALLENGED");
    assert_eq!(s["is_authenticated"], true);
    let ch = &s["challenges"][0];
    assert_eq!(ch["type"], "OPTIONS");
    assert_eq!(ch["label"], "Please select an account:");
    let options = ch["options"].as_array().unwrap();
    assert_eq!(options.iter().map(|o| o["label"].as_str().unwrap()).collect::<Vec<_>>(), vec!["Checking", "Savings"]);
    let chosen = options[1]["value"].as_str().unwrap().to_owned();
    assert!(chosen.starts_with("ACT-"));

    assert_eq!(
        c.get(&format!("/users/{user}/members/{guid}/account_numbers")).await.body["account_numbers"],
        json!([]),
        "nothing before the choice"
    );

    let r = c.resume(&user, &guid, ch["guid"].as_str().unwrap(), &chosen).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["member"]["connection_status"], "RESUMED");
    let s = c.settle(&user, &guid).await;
    assert_eq!(s["connection_status"], "CONNECTED");
    assert_eq!(s["is_being_aggregated"], false);
    assert_eq!(s["has_processed_account_numbers"], true);
    assert!(s["successfully_aggregated_at"].is_string());

    let r = c.get(&format!("/users/{user}/members/{guid}/account_numbers")).await;
    let numbers = r.body["account_numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0]["account_guid"], chosen.as_str());
    assert!(aba_valid(numbers[0]["routing_number"].as_str().unwrap()));
    let acct_no = numbers[0]["account_number"].as_str().unwrap();
    assert!(acct_no.len() >= 4 && acct_no.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(numbers[0]["passed_validation"], true);
    assert_eq!(r.body["pagination"]["total_entries"], 1);

    let by_account = c.get(&format!("/users/{user}/accounts/{chosen}/account_numbers")).await;
    assert_eq!(by_account.body["account_numbers"][0]["account_number"], acct_no);
    let other = options[0]["value"].as_str().unwrap();
    assert_eq!(
        c.get(&format!("/users/{user}/accounts/{other}/account_numbers")).await.body["account_numbers"],
        json!([])
    );
}

#[tokio::test]
async fn the_same_login_always_sees_the_same_numbers() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let user = c.create_user().await;
        let guid = c.member_guid(&user, "mxuser", "password", true).await;
        c.post_empty(&format!("/users/{user}/members/{guid}/verify")).await;
        let s = c.settle(&user, &guid).await;
        let ch = &s["challenges"][0];
        c.resume(&user, &guid, ch["guid"].as_str().unwrap(), ch["options"][0]["value"].as_str().unwrap()).await;
        c.settle(&user, &guid).await;
        let r = c.get(&format!("/users/{user}/members/{guid}/account_numbers")).await;
        seen.push((
            r.body["account_numbers"][0]["account_number"].clone(),
            r.body["account_numbers"][0]["routing_number"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn verification_after_mfa_still_asks_for_the_account() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "challenge", true).await;
    c.post_empty(&format!("/users/{user}/members/{guid}/verify")).await;
    let s = c.settle(&user, &guid).await;
    assert_eq!(s["challenges"][0]["type"], "TEXT");
    c.resume(&user, &guid, s["challenges"][0]["guid"].as_str().unwrap(), "correct").await;
    let s = c.settle(&user, &guid).await;
    assert_eq!(s["connection_status"], "CHALLENGED");
    assert_eq!(s["challenges"][0]["label"], "Please select an account:");
    let r = c.resume(&user, &guid, s["challenges"][0]["guid"].as_str().unwrap(), "ACT-not-an-option").await;
    assert_eq!(r.status, 202);
    assert_eq!(c.settle(&user, &guid).await["connection_status"], "REJECTED");
}

#[tokio::test]
async fn challenges_and_resume_outside_a_challenge() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    let r = c.get(&format!("/users/{user}/members/{guid}/challenges")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    let r = c.resume(&user, &guid, "CRD-x", "correct").await;
    assert_eq!(r.status, 405);
    assert!(r.error_message().contains("CHALLENGED"));
    let r = c.put(&format!("/users/{user}/members/{guid}/resume"), json!({ "member": {} })).await;
    assert_eq!(r.status, 400);
}
