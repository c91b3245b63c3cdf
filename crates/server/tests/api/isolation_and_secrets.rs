//! Tenant isolation, secrets at rest and in logs.

use serde_json::json;

use crate::helpers::{captured_logs, TestApp};

#[tokio::test]
async fn another_tenant_gets_404_for_every_resource() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let b = app.other_tenant().await;
    let user = a.create_user().await;
    let member = a.member_guid(&user, "mxuser", "password", false).await;
    a.settle(&user, &member).await;
    let account =
        a.get(&format!("/users/{user}/accounts")).await.body["accounts"][0]["guid"].as_str().unwrap().to_owned();
    let tx = a.get(&format!("/users/{user}/transactions")).await.body["transactions"][0]["guid"]
        .as_str()
        .unwrap()
        .to_owned();

    let paths = [
        format!("/users/{user}"),
        format!("/users/{user}/members"),
        format!("/users/{user}/members/{member}"),
        format!("/users/{user}/members/{member}/status"),
        format!("/users/{user}/members/{member}/challenges"),
        format!("/users/{user}/members/{member}/credentials"),
        format!("/users/{user}/members/{member}/accounts"),
        format!("/users/{user}/members/{member}/accounts/{account}"),
        format!("/users/{user}/members/{member}/account_numbers"),
        format!("/users/{user}/members/{member}/account_owners"),
        format!("/users/{user}/members/{member}/transactions"),
        format!("/users/{user}/members/{member}/oauth_window_uri"),
        format!("/users/{user}/accounts"),
        format!("/users/{user}/accounts/{account}"),
        format!("/users/{user}/accounts/{account}/account_numbers"),
        format!("/users/{user}/accounts/{account}/transactions"),
        format!("/users/{user}/transactions"),
        format!("/users/{user}/transactions/{tx}"),
    ];
    for p in &paths {
        let r = b.get(p).await;
        assert_eq!(r.status, 404, "GET {p}: {}", r.text);
    }
    for job in ["aggregate", "verify", "identify", "check_balance", "extend_history"] {
        assert_eq!(b.post_empty(&format!("/users/{user}/members/{member}/{job}")).await.status, 404, "{job}");
    }
    assert_eq!(b.put(&format!("/users/{user}"), json!({ "user": { "metadata": "x" } })).await.status, 404);
    assert_eq!(
        b.put(&format!("/users/{user}/members/{member}"), json!({ "member": { "metadata": "x" } })).await.status,
        404
    );
    assert_eq!(b.resume(&user, &member, "CRD-x", "correct").await.status, 404);
    assert_eq!(
        b.post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "mx_bank_oauth", "credentials": [] } })
        )
        .await
        .status,
        404
    );
    assert_eq!(b.delete(&format!("/users/{user}/members/{member}")).await.status, 404);
    assert_eq!(b.delete(&format!("/users/{user}")).await.status, 404);
    assert_eq!(b.get("/users").await.body["users"], json!([]));

    // Nothing of A's changed.
    assert_eq!(a.read_member(&user, &member).await["metadata"], serde_json::Value::Null);
    assert_eq!(a.status(&user, &member).await["connection_status"], "CONNECTED");
}

#[tokio::test]
async fn credentials_and_account_numbers_are_unreadable_at_rest_and_absent_from_logs() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    // A login that still connects, but whose password is a unique canary.
    let canary = "canary-pw-7f3a9c1e";
    let member = c.member_guid(&user, "mxuser", canary, true).await;
    c.post_empty(&format!("/users/{user}/members/{member}/verify")).await;
    let s = c.settle(&user, &member).await;
    let ch = &s["challenges"][0];
    let mfa_canary = ch["options"][0]["value"].as_str().unwrap().to_owned();
    c.resume(&user, &member, ch["guid"].as_str().unwrap(), &mfa_canary).await;
    c.settle(&user, &member).await;
    let numbers = c.get(&format!("/users/{user}/members/{member}/account_numbers")).await;
    let account_number = numbers.body["account_numbers"][0]["account_number"].as_str().unwrap().to_owned();

    let logs = captured_logs();
    assert!(!logs.is_empty(), "logging is captured");
    for secret in [canary, account_number.as_str(), app.sandbox.mx.api_key.as_str()] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }

    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(member.as_str()), "the scan reads the database files");
        for secret in
            [canary, account_number.as_str(), app.sandbox.mx.api_key.as_str(), app.sandbox.dwolla.secret.as_str()]
        {
            assert!(!haystack.contains(secret), "a secret is stored in the clear");
        }
    }
}
