//! Tenants see only their own payments resources; tokens and account numbers stay out of the
//! logs and out of the database in the clear.

use serde_json::json;

use super::support::{
    account_number_of, assert_error, assert_field_error, exchange_funding_source_body, mx_exchange_body, mx_flow,
    Dwolla, DWOLLA_SANDBOX, MX,
};
use crate::helpers::{captured_logs, TestApp};

#[tokio::test]
async fn another_tenant_gets_404_for_every_payments_resource() {
    let app = TestApp::spawn().await;
    let a = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &a, "jane@example.com").await;
    let event = a.get("/events").await.body["_embedded"]["events"][0]["id"].as_str().unwrap().to_owned();
    let (b, _) = Dwolla::other_tenant(&app).await;
    let c = &flow.customer;

    for path in [
        format!("/customers/{c}"),
        format!("/customers/{c}/funding-sources"),
        format!("/customers/{c}/exchanges"),
        format!("/customers/{c}/available-exchange-connections"),
        format!("/exchange-sessions/{}", flow.session),
        format!("/exchanges/{}", flow.exchange),
        format!("/funding-sources/{}", flow.funding_source),
        format!("/funding-sources/{}/balance", flow.funding_source),
        format!("/events/{event}"),
    ] {
        let r = b.get(&path).await;
        assert_error(&r, 404, "NotFound", None);
        assert_eq!(a.get(&path).await.status, 200, "the owner still reads {path}");
    }
    let partner = json!({ "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{MX}") } });
    for (path, body) in [
        (format!("/customers/{c}"), json!({ "firstName": "Hijack" })),
        (format!("/customers/{c}/exchange-sessions"), json!({ "_links": partner })),
        (format!("/customers/{c}/exchanges"), mx_exchange_body(&flow.connection_token)),
        (format!("/customers/{c}/funding-sources"), exchange_funding_source_body(&flow.exchange, "Hijack")),
        (format!("/exchanges/{}/exchange-sessions", flow.exchange), json!({})),
        (format!("/funding-sources/{}", flow.funding_source), json!({ "removed": true })),
    ] {
        let r = b.post(&path, body).await;
        assert_error(&r, 404, "NotFound", None);
    }

    // B's own customer cannot borrow A's exchange or connection token.
    let mine = b.customer("Bea", "bea@example.com").await;
    let r =
        b.post(&format!("/customers/{mine}/funding-sources"), exchange_funding_source_body(&flow.exchange, "x")).await;
    assert_field_error(&r, "/_links/exchange/href", "Invalid");
    let r = b.post(&format!("/customers/{mine}/exchanges"), mx_exchange_body(&flow.connection_token)).await;
    assert_error(&r, 401, "InvalidExchangeToken", None);

    // B's lists hold only B's things; A's are unchanged.
    let customers = b.get("/customers").await;
    assert_eq!(customers.body["total"], 1);
    assert_eq!(customers.body["_embedded"]["customers"][0]["id"], mine.as_str());
    let events = b.get("/events").await;
    assert!(events.body["_embedded"]["events"].as_array().unwrap().iter().all(|e| e["resourceId"] == mine.as_str()));
    assert_eq!(a.get(&format!("/customers/{c}")).await.body["firstName"], "Jane");
    assert_eq!(a.get(&format!("/funding-sources/{}", flow.funding_source)).await.body["removed"], false);
}

#[tokio::test]
async fn access_tokens_and_account_numbers_stay_out_of_logs_and_the_database() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "secret-keeper@example.com").await;
    assert_eq!(d.get(&format!("/funding-sources/{}/balance", flow.funding_source)).await.status, 200);
    // A bank added by its numbers, with a number only this test uses.
    let typed = "40917263558";
    d.bank_from_numbers(&flow.customer, typed, "Typed").await;
    let number = account_number_of(&app.client(), &flow).await;

    let logs = captured_logs();
    assert!(!logs.is_empty(), "logging is captured");
    assert!(logs.contains("/funding-sources"), "payments requests are logged");
    for (what, secret) in [
        ("access token", d.token.as_str()),
        ("account number", number.as_str()),
        ("typed account number", typed),
        ("application secret", app.sandbox.dwolla.secret.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }

    if app.database_url.starts_with("sqlite:") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(haystack.contains(flow.funding_source.as_str()), "the scan reads the database files");
        for (what, secret) in
            [("access token", d.token.as_str()), ("account number", number.as_str()), ("typed account number", typed)]
        {
            assert!(!haystack.contains(secret), "the {what} is stored in the clear");
        }
    }
}
