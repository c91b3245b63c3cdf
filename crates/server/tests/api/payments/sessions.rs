//! Exchange sessions (seed 004's rules): MX widget URLs, Plaid link tokens, redirect URLs,
//! partners that offer no sessions, open banking switched off, and Visa's configured URLs.

use serde_json::{json, Value};

use super::support::{
    assert_error, assert_field_error, assert_link, assert_timestamp, sandbox_tenant, set_payment_settings, Dwolla,
    HalResp, Widget, DWOLLA_SANDBOX, FINICITY, FLINKS, MX, PLAID, VISA,
};
use crate::helpers::{Options, TestApp};

const REDIRECT_INVALID: &str = "/_links/redirect-url/href is invalid.";
const PARTNER_INVALID: &str = "/_links/exchange-partner/href is invalid.";
const MUST_MATCH: &str = "The provided redirect URL must exactly match one of the configured URLs for the account.";

async fn open(d: &Dwolla, customer: &str, partner_href: Value, redirect: Option<Value>) -> HalResp {
    let mut links = json!({ "exchange-partner": { "href": partner_href } });
    if let Some(r) = redirect {
        links["redirect-url"] = json!({ "href": r });
    }
    d.post(&format!("/customers/{customer}/exchange-sessions"), json!({ "_links": links })).await
}

fn partner(id: &str) -> Value {
    json!(format!("{DWOLLA_SANDBOX}/exchange-partners/{id}"))
}

#[track_caller]
fn assert_redirect_invalid(r: &HalResp, message: &str) {
    assert_field_error(r, "/_links/redirect-url/href", "Invalid");
    assert_eq!(r.error_at("/_links/redirect-url/href")["message"], message, "{}", r.text);
}

#[tokio::test]
async fn an_mx_session_carries_a_single_use_connect_widget_url() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let customer = d.customer("Jane", "jane@example.com").await;

    let r = open(&d, &customer, partner(MX), None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    let location = r.location();
    let id = r.created_id();
    assert_eq!(location, format!("{base}/exchange-sessions/{id}"));

    let s = d.get(&location).await;
    assert_eq!(s.status, 200, "{}", s.text);
    let links = &s.body["_links"];
    assert_link(&links["self"], &location, "exchange-sessions");
    assert_link(&links["exchange-partner"], &format!("{base}/exchange-partners/{MX}"), "exchange-partner");
    let widget = &links["external-provider-session"];
    assert_eq!(widget["type"], "application/vnd.dwolla.v1.hal+json");
    assert_eq!(widget["resource-type"], "text/html");
    let url = widget["href"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/md/connect/", app.base)), "a widget URL on the aggregation listener: {url}");
    assert!(s.body.get("externalProviderSessionToken").is_none(), "{}", s.text);
    assert_timestamp(&s.body["created"]);

    // The URL opens the widget in verification mode, once.
    let w = Widget::open(&app, url).await;
    assert_eq!(w.boot["config"]["verification"], true, "{}", w.boot);
    let again = reqwest::get(url).await.unwrap();
    assert_eq!(again.status().as_u16(), 410);

    // Every session is a fresh URL for the same aggregator user.
    let second = open(&d, &customer, json!(format!("{base}/exchange-partners/{MX}")), None).await;
    let second = d.get(&second.location()).await;
    let url2 = second.body["_links"]["external-provider-session"]["href"].as_str().unwrap();
    assert_ne!(url, url2);
    Widget::open(&app, url2).await;
    let users = app.client().get("/users").await;
    let partner_id = format!("payments-customer-{customer}");
    let mine = users.body["users"].as_array().unwrap().iter().filter(|u| u["id"] == partner_id.as_str()).count();
    assert_eq!(mine, 1, "{}", users.text);

    // A relative href and a bare Dwolla production host work as well.
    for href in [format!("/exchange-partners/{MX}"), format!("https://api.dwolla.com/exchange-partners/{MX}")] {
        assert_eq!(open(&d, &customer, json!(href), None).await.status, 201, "{href}");
    }
}

#[tokio::test]
async fn a_plaid_session_carries_a_sandbox_link_token() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;
    let r = open(&d, &customer, partner(PLAID), None).await;
    let s = d.get(&r.location()).await;
    assert_eq!(s.status, 200, "{}", s.text);
    let token = s.body["externalProviderSessionToken"].as_str().unwrap();
    assert!(token.starts_with("link-sandbox-") && token.len() > 20, "{token}");
    assert!(s.body["_links"].get("external-provider-session").is_none(), "{}", s.text);
    assert_link(
        &s.body["_links"]["exchange-partner"],
        &format!("{}/exchange-partners/{PLAID}", app.payments_base),
        "exchange-partner",
    );
    let other = d.get(&open(&d, &customer, partner(PLAID), None).await.location()).await;
    assert_ne!(other.body["externalProviderSessionToken"], s.body["externalProviderSessionToken"]);
}

#[tokio::test]
async fn plaid_redirect_urls_are_web_urls_or_android_package_names() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Pat", "pat@example.com").await;

    for ok in ["https://example.com/app123", "http://localhost:3000/cb", "com.example.app", "com.example.app123"] {
        let r = open(&d, &customer, partner(PLAID), Some(json!(ok))).await;
        assert_eq!(r.status, 201, "{ok}: {}", r.text);
    }
    for bad in [json!("not a url"), json!("https://"), json!("ftp//x"), json!(""), json!(5), json!("com..app")] {
        let r = open(&d, &customer, partner(PLAID), Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_redirect_invalid(&r, REDIRECT_INVALID);
    }
}

#[tokio::test]
async fn sessions_need_a_known_exchange_partner_href() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let path = format!("/customers/{customer}/exchange-sessions");

    let mut refused = vec![
        d.post(&path, json!({})).await,
        d.post(&path, json!({ "_links": {} })).await,
        d.post(&path, json!({ "_links": { "exchange-partner": {} } })).await,
    ];
    for href in [
        json!(format!("{DWOLLA_SANDBOX}/exchange-partners/00000000-0000-4000-8000-000000000000")),
        json!(format!("{DWOLLA_SANDBOX}/customers/{MX}")),
        json!(format!("{DWOLLA_SANDBOX}/exchange-partners/")),
        json!("not a url"),
        json!(42),
        partner(VISA),
    ] {
        refused.push(open(&d, &customer, href, None).await);
    }
    for r in &refused {
        assert_field_error(r, "/_links/exchange-partner/href", "Invalid");
        assert_eq!(r.error_at("/_links/exchange-partner/href")["message"], PARTNER_INVALID);
    }
}

#[tokio::test]
async fn partners_without_sessions_are_forbidden() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    for id in [FINICITY, FLINKS] {
        let r = open(&d, &customer, partner(id), None).await;
        assert_error(&r, 403, "Forbidden", Some("The exchange partner specified does not support this product."));
    }
}

#[tokio::test]
async fn sessions_for_unknown_customers_and_unknown_sessions_are_not_found() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let r = open(&d, "00000000-0000-4000-8000-000000000000", partner(MX), None).await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.get("/exchange-sessions/00000000-0000-4000-8000-000000000000").await;
    assert_error(&r, 404, "NotFound", None);
    assert!(r.message().starts_with("Exchange session not found."), "{}", r.text);
}

#[tokio::test]
async fn open_banking_switched_off_for_a_tenant_is_an_invalid_scope() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let customer = d.customer("Jane", "jane@example.com").await;
    let theirs = other.customer("Theo", "theo@example.com").await;

    set_payment_settings(&app, sandbox_tenant(&app), false, &[]).await;
    for p in [MX, PLAID] {
        let r = open(&d, &customer, partner(p), None).await;
        assert_error(&r, 401, "InvalidScope", Some("Missing or invalid scopes for requested endpoint."));
    }
    let r = d
        .post(
            &format!("/customers/{customer}/exchanges"),
            json!({ "_links": { "exchange-partner": { "href": partner(MX) } }, "mx": { "availableConnectionToken": "eyJ9" } }),
        )
        .await;
    assert_error(&r, 401, "InvalidScope", None);
    // Other tenants are not affected, nor are the tenant's other endpoints.
    assert_eq!(open(&other, &theirs, partner(MX), None).await.status, 201);
    assert_eq!(d.get(&format!("/customers/{customer}")).await.status, 200);

    set_payment_settings(&app, sandbox_tenant(&app), true, &[]).await;
    assert_eq!(open(&d, &customer, partner(MX), None).await.status, 201);
}

#[tokio::test]
async fn visa_sessions_need_a_redirect_url_that_exactly_matches_a_configured_one() {
    let app = TestApp::spawn_with(Options { visa_partner: true, ..Options::default() }).await;
    let d = Dwolla::sandbox(&app).await;
    let customer = d.customer("Vi", "vi@example.com").await;

    let r = open(&d, &customer, partner(VISA), None).await;
    assert_redirect_invalid(&r, REDIRECT_INVALID);
    let r = open(&d, &customer, partner(VISA), Some(json!("com.example.app"))).await;
    assert_redirect_invalid(&r, REDIRECT_INVALID);
    let r = open(&d, &customer, partner(VISA), Some(json!("https://app.example.com/callback"))).await;
    assert_redirect_invalid(&r, MUST_MATCH);

    let configured = ["https://app.example.com/callback", "http://localhost:3000/create-funding-source"];
    set_payment_settings(&app, sandbox_tenant(&app), true, &configured).await;
    for url in configured {
        let r = open(&d, &customer, partner(VISA), Some(json!(url))).await;
        assert_eq!(r.status, 201, "{url}: {}", r.text);
        let s = d.get(&r.location()).await;
        assert_eq!(s.status, 200, "{}", s.text);
        assert_eq!(
            s.body["_links"]["exchange-partner"]["href"],
            format!("{}/exchange-partners/{VISA}", app.payments_base)
        );
    }
    for near in [
        "https://app.example.com/callback/",
        "https://app.example.com/Callback",
        "http://app.example.com/callback",
        "https://app.example.com:8443/callback",
        "https://app.example.com/callback?x=1",
        "http://localhost:3001/create-funding-source",
    ] {
        let r = open(&d, &customer, partner(VISA), Some(json!(near))).await;
        assert_redirect_invalid(&r, MUST_MATCH);
    }
}
