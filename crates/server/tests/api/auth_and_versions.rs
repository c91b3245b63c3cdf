//! Authentication, version negotiation, error envelopes and health.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_answers_on_both_listeners() {
    let app = TestApp::spawn().await;
    for base in [&app.base, &app.payments_base] {
        let r = reqwest::get(format!("{base}/health")).await.unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_the_mx_envelope() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let bad = c.with_credentials(&app.sandbox.mx.client_id, "not-the-key");
    let r = bad.get("/users").await;
    assert_eq!(r.status, 401);
    assert!(r.error_message().contains("client_id"), "{}", r.text);
    let unknown = c.with_credentials("nobody", "nothing");
    assert_eq!(unknown.get("/institutions").await.status, 401);
    let r = reqwest::get(format!("{}/users", app.base)).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn both_version_conventions_are_served_and_others_refused() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let v1 = c.get("/institutions/mxbank").await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.content_type, "application/vnd.mx.api.v1+json");
    assert_eq!(v1.body["institution"]["supports_account_verification"], true);
    let v2 = c.v2025().get("/institutions/mxbank").await;
    assert_eq!(v2.status, 200);
    assert_eq!(v2.content_type, "application/json");
    assert!(v2.body["institution"]["supported_products"].as_array().unwrap().contains(&json!("account_verification")));
    assert!(v2.body["institution"]["guid"].as_str().unwrap().starts_with("INS-"));

    let mut generic = c.clone();
    generic.accept = Some("application/json, text/plain, */*");
    assert_eq!(generic.get("/institutions/mxbank").await.status, 200);
    generic.accept = None;
    assert_eq!(generic.get("/institutions/mxbank").await.status, 200);

    let mut html = c.clone();
    html.accept = Some("text/html");
    let r = html.get("/institutions/mxbank").await;
    assert_eq!(r.status, 406);
    assert!(r.error_message().contains("API version"));
    let mut wrong = c.clone();
    wrong.accept_version = Some("v1999");
    assert_eq!(wrong.get("/institutions/mxbank").await.status, 406);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_mx_envelope() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get("/no/such/thing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_message(), "We were unable to find the record you requested.");
    let r = c.send(reqwest::Method::PATCH, "/users", None).await;
    assert_eq!(r.status, 405);
    assert!(!r.error_message().is_empty());
}

#[tokio::test]
async fn malformed_bodies_are_400_not_500() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for body in [json!("string"), json!({"user": {"is_disabled": "yes"}}), json!({"user": {"id": 5}})] {
        let r = c.post("/users", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(!r.error_message().is_empty());
    }
    let r = c.send(reqwest::Method::POST, "/users", None).await;
    assert_eq!(r.status, 400);
    let raw = reqwest::Client::new()
        .post(format!("{}/users", app.base))
        .basic_auth(&app.sandbox.mx.client_id, Some(&app.sandbox.mx.api_key))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
}
