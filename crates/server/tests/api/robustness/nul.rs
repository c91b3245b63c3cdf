//! NUL characters anywhere in a request are refused at the edge in each vendor's envelope
//! (PostgreSQL cannot store them in text), and never reach an ERROR log line.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{captured_logs, Resp, TestApp};
use crate::payments::support::{self, Dwolla, HalResp};

const NUL_JSON: &str = "a\u{0}b";

fn assert_refused_mx(what: &str, r: &Resp) {
    assert!(matches!(r.status, 400 | 401 | 404), "{what}: {} {}", r.status, r.text);
    assert!(!r.error_message().is_empty(), "{what}: MX envelope, got {}", r.text);
}

fn assert_refused_dwolla(what: &str, r: &HalResp) {
    assert!(matches!(r.status, 400 | 401 | 404), "{what}: {} {}", r.status, r.text);
    assert!(!r.code().is_empty() && !r.message().is_empty(), "{what}: Dwolla envelope, got {}", r.text);
    support::check_media_type(r);
}

#[tokio::test]
async fn nul_characters_are_refused_on_both_listeners_and_never_logged_as_errors() {
    let app = TestApp::spawn().await;

    // Aggregation (MX).
    let c = app.client();
    assert_refused_mx("path id", &c.get("/users/%00").await);
    assert_refused_mx("path id inside", &c.get("/users/USR-a%00b/members").await);
    assert_refused_mx("query value", &c.get("/institutions?name=a%00").await);
    assert_refused_mx("JSON string", &c.post("/users", json!({ "user": { "id": NUL_JSON } })).await);
    assert_refused_mx("Basic login", &c.with_credentials("a\u{0}", "b").get("/users").await);
    assert_refused_mx("Basic password", &c.with_credentials(&app.sandbox.mx.client_id, "x\u{0}").get("/users").await);

    // Payments (Dwolla): unauthenticated token requests first.
    let http = reqwest::Client::new();
    let token = |body: &'static str| {
        http.post(format!("{}/token", app.payments_base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "*/*")
            .body(body)
    };
    assert_refused_dwolla(
        "token form",
        &support::send_raw(token("client_id=a%00&client_secret=b&grant_type=client_credentials")).await,
    );
    let login = base64::engine::general_purpose::STANDARD.encode("a\u{0}:b");
    assert_refused_dwolla(
        "token Basic login",
        &support::send_raw(token("grant_type=client_credentials").header("authorization", format!("Basic {login}")))
            .await,
    );
    let d = Dwolla::sandbox(&app).await;
    assert_refused_dwolla("path id", &d.get("/customers/%00").await);
    assert_refused_dwolla("query value", &d.get("/customers?search=a%00").await);
    assert_refused_dwolla(
        "JSON string",
        &d.post("/customers", json!({ "firstName": NUL_JSON, "lastName": "Doe", "email": "nul@example.com" })).await,
    );
    assert_refused_dwolla(
        "raw JSON escape",
        &d.post_raw(
            "/customers",
            Some("application/json"),
            r#"{"firstName":"A","lastName":"D\u0000","email":"nul2@example.com"}"#,
        )
        .await,
    );
    assert_refused_dwolla(
        "form field",
        &d.send(
            d.request(Method::POST, "/customers")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("firstName=a%00"),
        )
        .await,
    );

    // An escaped backslash before `u0000` is text, not a NUL.
    let r = c.post("/users", serde_json::from_str(r#"{"user":{"id":"A\\u0000"}}"#).unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], "A\\u0000");

    let logs = captured_logs();
    for line in logs.lines().filter(|l| l.contains("ERROR")) {
        for sign in ["0x00", "22021", "22P05", "invalid byte sequence"] {
            assert!(!line.contains(sign), "a NUL reached an ERROR log line: {line}");
        }
    }
}
