//! MX Bank (OAuth) and the OAuth test bank pages.

use serde_json::json;

use crate::helpers::{Client, TestApp};

async fn oauth_member(c: &Client, user: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({ "member": { "institution_code": "mx_bank_oauth", "credentials": [] } });
    if let Some(obj) = extra.as_object() {
        for (k, v) in obj {
            body[k] = v.clone();
        }
    }
    let r = c.post(&format!("/users/{user}/members"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["member"].clone()
}

async fn decide(uri: &str, decision: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(uri)
        .form(&[("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn authorizing_at_the_test_bank_connects_the_member() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let m = oauth_member(&c, &user, json!({})).await;
    assert_eq!(m["is_oauth"], true);
    assert_eq!(m["connection_status"], "PENDING");
    assert_eq!(m["is_being_aggregated"], false);
    let guid = m["guid"].as_str().unwrap();
    let uri = m["oauth_window_uri"].as_str().unwrap();
    assert!(uri.starts_with(&app.base), "{uri}");

    let page = reqwest::get(uri).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Authorize") && html.contains("Deny") && html.contains("MX Bank (OAuth)"));

    let done = decide(uri, "authorize").await;
    assert_eq!(done.status(), 200);
    let s = c.settle(&user, guid).await;
    assert_eq!(s["connection_status"], "CONNECTED");
    assert_eq!(s["has_processed_accounts"], true);
    // Checking, savings, card and (MX Bank offers investments) a brokerage account.
    assert_eq!(c.get(&format!("/users/{user}/accounts")).await.body["pagination"]["total_entries"], 4);

    assert_eq!(reqwest::get(uri).await.unwrap().status(), 410, "window URIs are single use");
    assert_eq!(decide(uri, "authorize").await.status(), 410);
}

#[tokio::test]
async fn denying_leaves_the_member_denied_and_revoking_disconnects_it() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let m = oauth_member(&c, &user, json!({})).await;
    let guid = m["guid"].as_str().unwrap();
    decide(m["oauth_window_uri"].as_str().unwrap(), "deny").await;
    assert_eq!(c.read_member(&user, guid).await["connection_status"], "DENIED");

    let r = c.get(&format!("/users/{user}/members/{guid}/oauth_window_uri?skip_aggregation=true")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["member"]["guid"], guid);
    let uri = r.body["member"]["oauth_window_uri"].as_str().unwrap().to_owned();
    decide(&uri, "authorize").await;
    let m = c.read_member(&user, guid).await;
    assert_eq!(m["connection_status"], "CONNECTED");
    assert_eq!(m["is_being_aggregated"], false, "skip_aggregation");

    let uri = c.get(&format!("/users/{user}/members/{guid}/oauth_window_uri")).await.body["member"]["oauth_window_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reqwest::get(&uri).await.unwrap().text().await.unwrap().contains("Revoke access"));
    decide(&uri, "revoke").await;
    assert_eq!(c.read_member(&user, guid).await["connection_status"], "DISCONNECTED");
}

#[tokio::test]
async fn the_bank_returns_to_the_client_redirect_url() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let m = oauth_member(&c, &user, json!({ "client_redirect_url": "https://app.example/return?x=1" })).await;
    let r = decide(m["oauth_window_uri"].as_str().unwrap(), "authorize").await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("https://app.example/return?x=1&status=success&member_guid=MBR-"), "{location}");
}

#[tokio::test]
async fn oauth_windows_only_exist_for_oauth_members() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let user = c.create_user().await;
    let guid = c.member_guid(&user, "mxuser", "password", true).await;
    assert_eq!(c.get(&format!("/users/{user}/members/{guid}/oauth_window_uri")).await.status, 400);
    assert_eq!(reqwest::get(format!("{}/oauth/authorize/not-a-token", app.base)).await.unwrap().status(), 410);
}
