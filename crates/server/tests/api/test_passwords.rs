//! Every row of the MX Bank test-credential table and every MFA type.

use serde_json::Value;

use crate::helpers::{Client, TestApp};

async fn final_member(c: &Client, user: &str, username: &str, password: &str) -> (Value, Value) {
    let guid = c.member_guid(user, username, password, false).await;
    let status = c.settle(user, &guid).await;
    (status, c.read_member(user, &guid).await)
}

#[tokio::test]
async fn each_test_password_gives_the_table_status_and_message() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let table = [
        ("password", "CONNECTED", None),
        ("anything-else", "CONNECTED", None),
        ("BAD_REQUEST", "FAILED", Some("You must fill out the username and password fields.")),
        ("UNAUTHORIZED", "DENIED", Some("Invalid credentials.")),
        ("INVALID", "DENIED", Some("The login and/or password are invalid.")),
        ("LOCKED", "LOCKED", Some("The credentials are valid, but the user is locked.")),
        ("DISABLED", "DENIED", Some("The credentials are valid, but the user is locked.")),
        ("SERVER_ERROR", "FAILED", Some("Internal server error.")),
        ("UNAVAILABLE", "FAILED", Some("Service is Unavailable.")),
    ];
    for (password, status, message) in table {
        let (s, m) = final_member(&c, &user, "mxuser", password).await;
        assert_eq!(s["connection_status"], status, "{password}");
        assert_eq!(s["is_being_aggregated"], false, "{password}");
        assert_eq!(m["connection_status_message"].as_str(), message, "{password}");
        if status != "CONNECTED" {
            assert_eq!(s["is_authenticated"], false, "{password}");
            assert_eq!(s["successfully_aggregated_at"], Value::Null, "{password}");
            assert!(s["aggregated_at"].is_string(), "{password}");
        }
    }
}

#[tokio::test]
async fn a_username_other_than_mxuser_is_denied() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let (s, m) = final_member(&c, &user, "someone", "password").await;
    assert_eq!(s["connection_status"], "DENIED");
    assert_eq!(m["connection_status_message"], "Invalid credentials.");
}

/// Creates an aggregating member with `password`, waits for its MFA challenge, answers it.
async fn answer_mfa(c: &Client, password: &str, expected_type: &str, answer: &str) -> Value {
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", password, false).await;
    let s = c.settle(&user, &guid).await;
    assert_eq!(s["connection_status"], "CHALLENGED", "{password}");
    assert_eq!(s["is_being_aggregated"], true);
    let challenges = c.get(&format!("/users/{user}/members/{guid}/challenges")).await;
    assert_eq!(challenges.status, 200);
    let ch = &challenges.body["challenges"][0];
    assert_eq!(ch["type"], expected_type, "{password}");
    assert_eq!(s["challenges"][0]["guid"], ch["guid"]);
    match expected_type {
        "OPTIONS" => assert!(ch["options"].as_array().unwrap().iter().any(|o| o["value"] == "correct")),
        "IMAGE_DATA" => assert!(ch["image_data"].as_str().unwrap().starts_with("data:image/png;base64,iVBOR")),
        _ => assert!(!ch["label"].as_str().unwrap().is_empty()),
    }
    let r = c.resume(&user, &guid, ch["guid"].as_str().unwrap(), answer).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["member"]["connection_status"], "RESUMED");
    let done = c.settle(&user, &guid).await;
    let mut m = c.read_member(&user, &guid).await;
    m["final_status"] = done["connection_status"].clone();
    m
}

#[tokio::test]
async fn every_mfa_type_answered_correct_connects() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for (password, kind) in [("challenge", "TEXT"), ("options", "OPTIONS"), ("image", "IMAGE_DATA")] {
        let m = answer_mfa(&c, password, kind, "correct").await;
        assert_eq!(m["final_status"], "CONNECTED", "{password}");
        assert_eq!(m["is_being_aggregated"], false);
    }
}

#[tokio::test]
async fn wrong_and_server_error_mfa_answers_fail_as_the_table_says() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let wrong = answer_mfa(&c, "challenge", "TEXT", "paris").await;
    assert_eq!(wrong["final_status"], "REJECTED");
    let wrong_option = answer_mfa(&c, "options", "OPTIONS", "incorrect").await;
    assert_eq!(wrong_option["final_status"], "REJECTED");
    let server = answer_mfa(&c, "image", "IMAGE_DATA", "SERVER_ERROR").await;
    assert_eq!(server["final_status"], "FAILED");
    assert_eq!(server["connection_status_message"], "Internal server error.");
    let unavailable = answer_mfa(&c, "challenge", "TEXT", "UNAVAILABLE").await;
    assert_eq!(unavailable["final_status"], "FAILED");
    assert_eq!(unavailable["connection_status_message"], "Service is Unavailable.");
    let disabled = answer_mfa(&c, "options", "OPTIONS", "DISABLED").await;
    assert_eq!(disabled["final_status"], "DENIED");
}
