//! `POST /token`, bearer tokens on the API, media types and `GET /`.

use std::sync::Arc;

use openiav_core::clock::{Clock, ManualClock, SystemClock};
use reqwest::Method;
use serde_json::json;

use super::support::{
    access_token, assert_error, assert_link, send_raw, token_with_basic, token_with_form, Dwolla, HAL, VND_ERROR,
};
use crate::helpers::TestApp;

const HOUR_MS: i64 = 3600 * 1000;

#[tokio::test]
async fn token_accepts_credentials_in_the_form_body_and_in_http_basic() {
    let app = TestApp::spawn().await;
    let (key, secret) = (app.sandbox.dwolla.key.as_str(), app.sandbox.dwolla.secret.as_str());

    let form =
        token_with_form(&app, &[("client_id", key), ("client_secret", secret), ("grant_type", "client_credentials")])
            .await;
    let basic = token_with_basic(&app, key, secret, &[("grant_type", "client_credentials")]).await;
    for r in [&form, &basic] {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.content_type.starts_with("application/json"), "{}", r.content_type);
        assert!(r.body["access_token"].as_str().is_some_and(|t| t.len() >= 20), "{}", r.body);
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"], 3600);
        assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    }
    assert_ne!(form.body["access_token"], basic.body["access_token"]);

    // Both tokens open the API, and a new token leaves the older ones valid.
    for r in [&form, &basic] {
        let d = Dwolla::with_token(&app, r.body["access_token"].as_str().unwrap());
        assert_eq!(d.get("/").await.status, 200);
    }
}

#[tokio::test]
async fn token_refuses_wrong_secrets_unknown_keys_and_other_grants() {
    let app = TestApp::spawn().await;
    let (key, secret) = (app.sandbox.dwolla.key.as_str(), app.sandbox.dwolla.secret.as_str());
    let grant = ("grant_type", "client_credentials");

    let refused = [
        token_with_form(&app, &[("client_id", key), ("client_secret", "not-the-secret"), grant]).await,
        token_with_form(&app, &[("client_id", "no-such-key"), ("client_secret", secret), grant]).await,
        token_with_basic(&app, key, "not-the-secret", &[grant]).await,
        token_with_basic(&app, "no-such-key", secret, &[grant]).await,
        token_with_form(&app, &[grant]).await,
    ];
    for r in &refused {
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.content_type.starts_with("application/json"), "{}", r.content_type);
        assert_eq!(r.body["error"], "invalid_client", "{}", r.body);
        assert!(r.body.get("access_token").is_none());
    }

    let r = token_with_form(&app, &[("client_id", key), ("client_secret", secret)]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_request");
    for other in ["password", "authorization_code", "refresh_token", ""] {
        let r = token_with_form(&app, &[("client_id", key), ("client_secret", secret), ("grant_type", other)]).await;
        assert_eq!(r.status, 400, "{other}: {}", r.body);
        assert_eq!(r.body["error"], "unsupported_grant_type", "{other}: {}", r.body);
    }
    let r = token_with_basic(&app, key, secret, &[("grant_type", "password")]).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let token = access_token(&app, &app.sandbox.dwolla.key, &app.sandbox.dwolla.secret).await;
    let d = Dwolla::with_token(&app, &token);
    let customer = d.customer("Hash", "hash@example.com").await;
    assert_eq!(d.get(&format!("/customers/{customer}")).await.status, 200);

    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(customer.as_str()), "the scan reads the database files");
        assert!(!haystack.contains(token.as_str()), "the access token is stored in the clear");
        assert!(!haystack.contains(app.sandbox.dwolla.secret.as_str()), "the secret is stored in the clear");
    }
}

#[tokio::test]
async fn the_api_needs_a_valid_bearer_token() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let http = reqwest::Client::new();
    let url = format!("{}/customers", app.payments_base);

    let none = send_raw(http.get(&url).header("accept", HAL)).await;
    assert_error(&none, 401, "InvalidCredentials", Some("Missing or invalid Authorization header."));
    let basic = send_raw(
        http.get(&url).header("accept", HAL).basic_auth(&app.sandbox.dwolla.key, Some(&app.sandbox.dwolla.secret)),
    )
    .await;
    assert_error(&basic, 401, "InvalidCredentials", None);
    let empty = send_raw(http.get(&url).header("accept", HAL).header("authorization", "Bearer ")).await;
    assert_error(&empty, 401, "InvalidCredentials", None);

    let bad = Dwolla::with_token(&app, "not-a-real-token").get("/customers").await;
    assert_error(&bad, 401, "InvalidAccessToken", Some("Invalid access token."));
    // A token with one character changed is no token.
    let mut altered = d.token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let r = Dwolla::with_token(&app, &altered).get("/").await;
    assert_error(&r, 401, "InvalidAccessToken", None);
    // The application secret is not a bearer token either.
    let r = Dwolla::with_token(&app, &app.sandbox.dwolla.secret).get("/").await;
    assert_error(&r, 401, "InvalidAccessToken", None);

    for r in [&none, &basic, &empty, &bad] {
        assert!(r.content_type.starts_with(HAL) && r.content_type.contains(VND_ERROR), "{:?}", r.content_type);
    }
    // Writes are refused the same way.
    let r = send_raw(
        http.post(&url)
            .header("accept", HAL)
            .header("content-type", "application/json")
            .body(json!({ "firstName": "No", "lastName": "Auth", "email": "noauth@example.com" }).to_string()),
    )
    .await;
    assert_error(&r, 401, "InvalidCredentials", None);
    assert_eq!(d.get("/customers").await.body["total"], 0, "nothing was created");
}

#[tokio::test]
async fn tokens_expire_after_an_hour() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let d = Dwolla::sandbox(&app).await;

    clock.advance_millis(HOUR_MS - 1);
    assert_eq!(d.get("/customers").await.status, 200, "one millisecond before the hour");
    clock.advance_millis(1);
    let r = d.get("/customers").await;
    assert_error(&r, 401, "ExpiredAccessToken", Some("Generate a new access token using your client credentials."));
    // A new token works.
    let fresh = Dwolla::sandbox(&app).await;
    assert_eq!(fresh.get("/customers").await.status, 200);
    clock.advance_millis(HOUR_MS + 1);
    assert_error(&fresh.get("/").await, 401, "ExpiredAccessToken", None);
}

#[tokio::test]
async fn answers_are_hal_and_accept_must_allow_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;

    // Dwolla's media type, a generic one, or none at all are served.
    for accept in [Some(HAL), Some("application/json"), Some("*/*"), None] {
        let mut req = reqwest::Client::new().get(format!("{}/customers", app.payments_base)).bearer_auth(&d.token);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let r = send_raw(req).await;
        assert_eq!(r.status, 200, "{accept:?}: {}", r.text);
        assert_eq!(r.content_type, "application/vnd.dwolla.v1.hal+json; charset=UTF-8");
    }
    for accept in ["text/html", "application/xml", "application/vnd.dwolla.v2.hal+json"] {
        let req = reqwest::Client::new().get(format!("{}/customers", app.payments_base)).bearer_auth(&d.token);
        let r = d.send(req.header("accept", accept)).await;
        assert_error(&r, 406, "InvalidVersion", Some("Missing or invalid API version."));
        assert!(r.content_type.contains(VND_ERROR));
    }

    // Unknown paths and methods answer in the same envelope.
    let r = d.get("/no-such-resource").await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.send(d.request(Method::DELETE, "/customers")).await;
    assert_eq!(r.status, 405, "{}", r.text);

    // A 201 has an empty body and an absolute Location under the payments base URL.
    let r = d.post("/customers", json!({ "firstName": "Ann", "lastName": "Lee", "email": "ann@example.com" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    assert!(r.location().starts_with(&format!("{}/customers/", app.payments_base)), "{:?}", r.location);
}

#[tokio::test]
async fn request_bodies_may_be_hal_or_json_pretty_or_empty() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let pretty =
        serde_json::to_string_pretty(&json!({ "email": "p@example.com", "firstName": "Pat", "lastName": "Ray" }))
            .unwrap();
    let r = d.post_raw("/customers", Some("application/vnd.dwolla.v1.hal+json"), &pretty).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.created_id();
    let r = d
        .post_raw("/customers", Some("application/json"), r#"{"firstName":"Q","lastName":"R","email":"q@example.com"}"#)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // An empty POST (no body, no content type) reads as `{}`.
    let r = d.send(d.request(Method::POST, &format!("/customers/{id}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["firstName"], "Pat");
    let r = d.post_raw(&format!("/customers/{id}/exchange-sessions"), Some("application/json"), "").await;
    assert_eq!(r.code(), "ValidationError", "an empty body is not malformed: {}", r.text);

    let r = d.post_raw("/customers", Some("application/json"), "{\"firstName\": \"Broken\",").await;
    assert_error(&r, 400, "BadRequest", None);
    let r = d.post_raw("/customers", Some("application/json"), "[1, 2]").await;
    assert_error(&r, 400, "BadRequest", None);
}

#[tokio::test]
async fn root_links_the_applications_resources() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let r = d.get("/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let base = &app.payments_base;
    let links = &r.body["_links"];
    assert_link(&links["account"], &format!("{base}/accounts/{}", app.sandbox.id), "account");
    assert_link(&links["customers"], &format!("{base}/customers"), "customer");
    assert_link(&links["events"], &format!("{base}/events"), "event");
    assert_link(&links["webhook-subscriptions"], &format!("{base}/webhook-subscriptions"), "webhook-subscription");
    assert_link(&links["exchange-partners"], &format!("{base}/exchange-partners"), "exchange-partner");
    // The links lead somewhere.
    for rel in ["customers", "events", "exchange-partners"] {
        let r = d.get(links[rel]["href"].as_str().unwrap()).await;
        assert_eq!(r.status, 200, "{rel}: {}", r.text);
    }
    let r = Dwolla::with_token(&app, "nope").get("/").await;
    assert_error(&r, 401, "InvalidAccessToken", Some("Invalid access token."));
}
