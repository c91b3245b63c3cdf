//! Fault injection through the control plane: rules per tenant, applied before the handler in
//! the vendor's own words, spent after their count, drawn from a seed.

use openiav_control::faults::rules::draw;
use serde_json::{json, Value};

use crate::helpers::{Client, Resp, TestApp};
use crate::payments::support::{token_with_basic, token_with_form, Dwolla, HAL};

const MX_503: &str = r#"{"error":{"message":"The MX Platform is being updated.","status":503}}"#;
const MX_429: &str = r#"{"error":{"message":"Too many requests: the rate limit or the maximum number of concurrent connections was exceeded.","status":429}}"#;
const DWOLLA_429: &str =
    r#"{"code":"TooManyRequests","message":"Please wait a short period of time before re-attempting the request."}"#;

async fn add_rule(control: &Client, rule: Value) -> Value {
    let r = control.post("/_openiav/faults", rule).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn rules(control: &Client) -> Vec<Value> {
    let r = control.get("/_openiav/faults").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["rules"].as_array().unwrap().clone()
}

fn sandbox_form(app: &TestApp) -> [(&'static str, String); 3] {
    [
        ("client_id", app.sandbox.dwolla.key.clone()),
        ("client_secret", app.sandbox.dwolla.secret.clone()),
        ("grant_type", "client_credentials".to_owned()),
    ]
}

async fn raw(method: reqwest::Method, url: String, basic: Option<(&str, &str)>) -> reqwest::Response {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some((u, p)) = basic {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_count_two_rule_fails_the_next_two_token_calls_with_dwollas_500_then_is_spent() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let rule = add_rule(
        &control,
        json!({ "listener": "dwolla", "method": "POST", "path": "/token", "effect": "status", "status": 500, "count": 2 }),
    )
    .await;
    assert_eq!(rule["remaining"], 2);
    let form = sandbox_form(&app);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..2 {
        let resp =
            reqwest::Client::new().post(format!("{}/token", app.payments_base)).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 500);
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with(HAL));
        assert_eq!(
            resp.text().await.unwrap(),
            format!(r#"{{"code":"ServerError","message":"A server error occurred. Error ID: {id}"}}"#)
        );
    }
    let third = token_with_form(&app, &form).await;
    assert_eq!(third.status, 200, "the rule is spent after two: {}", third.body);
    let listed = rules(&control).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["remaining"].clone(), listed[0]["applied"].clone()), (json!(0), json!(2)));
}

#[tokio::test]
async fn token_calls_with_basic_credentials_are_found_by_their_key() {
    let app = TestApp::spawn().await;
    add_rule(&app.client(), json!({ "path": "/token", "effect": "rate_limit", "retry_after": 9, "count": 1 })).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/token", app.payments_base))
        .basic_auth(&app.sandbox.dwolla.key, Some(&app.sandbox.dwolla.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "9");
    assert_eq!(resp.text().await.unwrap(), DWOLLA_429);
    let next = token_with_basic(
        &app,
        &app.sandbox.dwolla.key,
        &app.sandbox.dwolla.secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn mx_answers_429_with_retry_after_and_503_being_updated_in_its_own_words() {
    let app = TestApp::spawn().await;
    let control = app.client();
    add_rule(&control, json!({ "listener": "mx", "method": "GET", "path": "/users", "effect": "rate_limit", "retry_after": 30, "count": 1 })).await;
    add_rule(
        &control,
        json!({ "listener": "mx", "method": "GET", "path": "/users", "effect": "status", "status": 503, "count": 1 }),
    )
    .await;
    let (id, key) = (&app.sandbox.mx.client_id, &app.sandbox.mx.api_key);
    let first = raw(reqwest::Method::GET, format!("{}/users", app.base), Some((id, key))).await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "30");
    assert_eq!(first.headers()["content-type"], "application/json");
    assert_eq!(first.text().await.unwrap(), MX_429);
    let second = raw(reqwest::Method::GET, format!("{}/users", app.base), Some((id, key))).await;
    assert_eq!(second.status(), 503);
    assert!(second.headers().get("retry-after").is_none());
    assert_eq!(second.text().await.unwrap(), MX_503);
    assert_eq!(control.get("/users").await.status, 200, "both rules are spent");
}

#[tokio::test]
async fn a_dwolla_bearer_request_is_faulted_for_its_tenant() {
    let app = TestApp::spawn().await;
    let dwolla = Dwolla::sandbox(&app).await;
    let rule = json!({ "listener": "dwolla", "path": "/customers/**", "effect": "rate_limit", "count": 1 });
    let r = dwolla.request(reqwest::Method::POST, "/_openiav/faults").json(&rule).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let faulted = dwolla.get("/customers").await;
    assert_eq!(faulted.status, 429);
    assert_eq!(faulted.text, DWOLLA_429);
    assert_eq!(dwolla.get("/customers").await.status, 200);
    // The MX side of the same tenant is untouched by a Dwolla rule.
    add_rule(&app.client(), json!({ "listener": "dwolla", "path": "/users", "effect": "status", "status": 500 })).await;
    assert_eq!(app.client().get("/users").await.status, 200);
}

#[tokio::test]
async fn a_faulted_request_has_no_side_effects() {
    let app = TestApp::spawn().await;
    let control = app.client();
    add_rule(&control, json!({ "method": "POST", "path": "/users", "effect": "status", "status": 500, "count": 1 }))
        .await;
    let r = control.post("/users", json!({ "user": { "id": "faulted" } })).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_message(), "Something went wrong with MX's servers.");
    let users = control.get("/users").await;
    assert_eq!(users.body["users"].as_array().unwrap().len(), 0, "no user was created: {}", users.text);
    let again = control.post("/users", json!({ "user": { "id": "faulted" } })).await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn a_reset_closes_the_connection_without_an_answer_and_latency_still_runs_the_handler() {
    let app = TestApp::spawn().await;
    let control = app.client();
    add_rule(&control, json!({ "method": "GET", "path": "/users", "effect": "reset", "count": 1 })).await;
    let (id, key) = (&app.sandbox.mx.client_id, &app.sandbox.mx.api_key);
    let reset = reqwest::Client::new().get(format!("{}/users", app.base)).basic_auth(id, Some(key)).send().await;
    let err = reset.expect_err("no answer on a reset connection");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    add_rule(&control, json!({ "method": "GET", "path": "/users", "effect": "latency", "latency_ms": 5, "count": 1 }))
        .await;
    let slowed = control.get("/users").await;
    assert_eq!(slowed.status, 200, "{}", slowed.text);
    let listed = rules(&control).await;
    assert!(listed.iter().all(|r| r["applied"] == 1 && r["remaining"] == 0), "{listed:?}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_sequence_of_faulted_requests() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let rule =
        json!({ "path": "/users", "method": "GET", "effect": "status", "status": 503, "probability": 0.5, "seed": 42 });
    let run = || async {
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(control.get("/users").await.status == 503);
        }
        statuses
    };
    add_rule(&control, rule.clone()).await;
    let first = run().await;
    assert_eq!(control.delete("/_openiav/faults").await.body["removed"], 1);
    add_rule(&control, rule).await;
    let second = run().await;
    assert_eq!(first, second);
    let expected: Vec<bool> = (0..24).map(|i| draw(42, i, 500_000)).collect();
    assert_eq!(first, expected);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

#[tokio::test]
async fn patterns_match_methods_and_segments_and_never_the_control_plane() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let user = control.create_user().await;
    add_rule(&control, json!({ "method": "GET", "path": "/users/*/members", "effect": "status", "status": 404 })).await;
    assert_eq!(control.get(&format!("/users/{user}/members")).await.status, 404);
    assert_eq!(control.get(&format!("/users/{user}")).await.status, 200, "another path");
    assert_ne!(control.post(&format!("/users/{user}/members"), json!({})).await.status, 404, "another method");
    // A rule over everything still leaves the control plane, probes and metrics alone.
    let all = add_rule(&control, json!({ "path": "/**", "effect": "status", "status": 500 })).await;
    assert_eq!(control.get("/users").await.status, 500);
    assert_eq!(control.get("/health").await.status, 200);
    assert_eq!(control.get("/metrics").await.status, 200);
    assert_eq!(rules(&control).await.len(), 2);
    let id = all["id"].as_str().unwrap();
    assert_eq!(control.delete(&format!("/_openiav/faults/{id}")).await.status, 204);
    assert_eq!(control.get("/users").await.status, 200);
}

#[tokio::test]
async fn rules_belong_to_their_tenant() {
    let app = TestApp::spawn().await;
    let mine = app.client();
    let other = app.other_tenant().await;
    let rule = add_rule(&mine, json!({ "path": "/users", "effect": "status", "status": 503 })).await;
    assert_eq!(other.get("/users").await.status, 200, "another tenant's requests are not faulted");
    assert!(rules(&other).await.is_empty());
    let id = rule["id"].as_str().unwrap();
    let r = other.delete(&format!("/_openiav/faults/{id}")).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!("NotFound")));
    assert_eq!(other.delete("/_openiav/faults").await.body["removed"], 0);
    assert_eq!(mine.get("/users").await.status, 503, "the rule is still there");
    let anonymous = raw(reqwest::Method::GET, format!("{}/_openiav/faults", app.base), None).await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn malformed_rules_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let control = app.client();
    for (bad, says) in [
        (json!({ "path": "/token", "effect": "status" }), "needs status"),
        (json!({ "path": "/token", "effect": "status", "status": 200 }), "400 to 599"),
        (json!({ "path": "token", "effect": "reset" }), "start with /"),
        (json!({ "path": "/token", "effect": "explode" }), "effect"),
        (json!({ "path": "/token", "effect": "reset", "probability": 2 }), "probability"),
        (json!({ "path": "/token", "effect": "reset", "count": 0 }), "count"),
        (json!({ "path": "/token", "effect": "reset", "listener": "plaid" }), "listener"),
        (json!({ "path": "/token", "effect": "reset", "colour": "red" }), "unknown field"),
    ] {
        let r: Resp = control.post("/_openiav/faults", bad.clone()).await;
        assert_eq!((r.status, r.body["code"].clone()), (400, json!("BadRequest")), "{bad}: {}", r.text);
        assert!(r.body["message"].as_str().unwrap().contains(says), "{bad}: {}", r.text);
    }
    assert!(rules(&control).await.is_empty());
}

/// Ten requests at once against a rule with a count of two: exactly two are faulted (the count
/// is spent with a conditional update under a row lock on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_spend_a_count_exactly_once_each() {
    let app = TestApp::spawn().await;
    let control = app.client();
    add_rule(&control, json!({ "method": "GET", "path": "/users", "effect": "status", "status": 503, "count": 2 }))
        .await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = control.clone();
            tokio::spawn(async move { c.get("/users").await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 8, "{statuses:?}");
    let listed = rules(&control).await;
    assert_eq!((listed[0]["applied"].clone(), listed[0]["matched"].clone()), (json!(2), json!(2)));
}
