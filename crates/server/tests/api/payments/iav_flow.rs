//! Seed 000's MX flow: customer → MX exchange session → Connect widget → available exchange
//! connections → exchange → verified funding source → balance and events, plus re-auth
//! sessions and the errors along the way.

use base64::Engine;
use serde_json::{json, Value};

use super::support::{
    account_number_of, assert_error, assert_field_error, assert_link, assert_timestamp, connection_token,
    exchange_funding_source_body, mx_exchange_body, mx_flow, Dwolla, IavFlow, Widget, DWOLLA_SANDBOX, MX,
};
use crate::helpers::TestApp;

fn is_fingerprint(v: &Value) -> bool {
    v.as_str().is_some_and(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[tokio::test]
async fn the_mx_flow_ends_in_a_verified_funding_source() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = app.payments_base.clone();

    // 1. The customer, and no connections before any session.
    let customer = d.customer("Jane", "jane@example.com").await;
    let connections_path = format!("/customers/{customer}/available-exchange-connections");
    let r = d.get(&connections_path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["_embedded"]["available-exchange-connections"], json!([]));

    // 2. The MX session, and the widget driven like a browser.
    let partners = d.get("/exchange-partners").await.body;
    let mx = partners["_embedded"]["exchange-partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().eq_ignore_ascii_case("mx"))
        .unwrap()["_links"]["self"]["href"]
        .clone();
    let r = d
        .post(
            &format!("/customers/{customer}/exchange-sessions"),
            json!({ "_links": { "exchange-partner": { "href": mx } } }),
        )
        .await;
    let session = d.get(&r.location()).await;
    let url = session.body["_links"]["external-provider-session"]["href"].as_str().unwrap();
    let (member, account) = Widget::open(&app, url).await.verify_first_account().await;

    // 3. The verified account is an available connection.
    let r = d.get(&connections_path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_link(&r.body["_links"]["self"], &format!("{base}{connections_path}"), "customer");
    assert_link(&r.body["_links"]["customers"], &format!("{base}/customers/{customer}"), "customer");
    assert!(r.body.get("total").is_none(), "{}", r.text);
    let list = r.body["_embedded"]["available-exchange-connections"].as_array().unwrap();
    assert_eq!(list.len(), 1, "only the chosen account: {}", r.text);
    assert!(list[0]["name"].as_str().is_some_and(|n| !n.is_empty()), "{}", r.text);
    let token = list[0]["availableConnectionToken"].as_str().unwrap().to_owned();
    let decoded = base64::engine::general_purpose::STANDARD.decode(&token).expect("standard base64");
    let decoded: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(decoded, json!({ "accountId": account, "memberId": member }));
    assert_eq!(token, connection_token(&account, &member));

    // 4. The exchange.
    let exchanges_path = format!("/customers/{customer}/exchanges");
    let r = d.post(&exchanges_path, mx_exchange_body(&token)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    let exchange = r.created_id();
    assert_eq!(r.location(), format!("{base}/exchanges/{exchange}"));
    let e = d.get(&r.location()).await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_link(&e.body["_links"]["self"], &format!("{base}/exchanges/{exchange}"), "exchange");
    assert_link(&e.body["_links"]["exchange-partner"], &format!("{base}/exchange-partners/{MX}"), "exchange-partner");
    assert_link(&e.body["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    assert_eq!(e.body["id"], exchange.as_str());
    assert_eq!(e.body["status"], "active");
    assert_timestamp(&e.body["created"]);
    let list = d.get(&exchanges_path).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["_links"]["self"]["resource-type"], "exchange");
    assert_eq!(list.body["total"], 1);
    let listed = &list.body["_embedded"]["exchanges"][0];
    assert_eq!(listed["id"], exchange.as_str());
    assert_link(&listed["_links"]["funding-sources"], &format!("{base}/funding-sources"), "funding-source");

    // 5. The funding source, named by the exchange on Dwolla's own host.
    let fs_path = format!("/customers/{customer}/funding-sources");
    let r = d.post(&fs_path, exchange_funding_source_body(&exchange, "My Checking")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "");
    let fs = r.created_id();
    assert_eq!(r.location(), format!("{base}/funding-sources/{fs}"));
    let f = d.get(&r.location()).await;
    assert_eq!(f.status, 200, "{}", f.text);
    let body = &f.body;
    assert_eq!(body["id"], fs.as_str());
    assert_eq!(body["status"], "verified");
    assert_eq!(body["type"], "bank");
    assert_eq!(body["bankAccountType"], "checking");
    assert_eq!(body["name"], "My Checking");
    assert_eq!(body["bankName"], "MX Bank");
    assert_eq!(body["removed"], false);
    assert_eq!(body["channels"], json!(["ach"]));
    assert!(is_fingerprint(&body["fingerprint"]), "{body}");
    assert_timestamp(&body["created"]);
    assert_link(&body["_links"]["self"], &format!("{base}/funding-sources/{fs}"), "funding-source");
    assert_link(&body["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    assert_link(&body["_links"]["balance"], &format!("{base}/funding-sources/{fs}/balance"), "balance");
    assert!(body["_links"].get("initiate-micro-deposits").is_none(), "verified banks need no micro-deposits");

    let flow = IavFlow {
        customer: customer.clone(),
        session: String::new(),
        exchange: exchange.clone(),
        funding_source: fs.clone(),
        member,
        account,
        connection_token: token.clone(),
    };
    let number = account_number_of(&app.client(), &flow).await;
    assert!(number.len() >= 4);
    let listed = d.get(&fs_path).await;
    assert_eq!(listed.body["_embedded"]["funding-sources"][0]["id"], fs.as_str());
    for text in [&f.text, &listed.text, &d.get(&format!("/funding-sources/{fs}/balance")).await.text] {
        assert!(!text.contains(number.as_str()), "the account number is answered: {text}");
    }

    // 6. The same account again is a duplicate.
    let r = d.post(&fs_path, exchange_funding_source_body(&exchange, "Again")).await;
    assert_error(&r, 400, "DuplicateResource", Some(&format!("Bank already exists: id={fs}")));
    assert_link(&r.body["_links"]["about"], &format!("{base}/funding-sources/{fs}"), "funding-source");
    assert_eq!(d.get(&fs_path).await.body["_embedded"]["funding-sources"].as_array().unwrap().len(), 1);

    // 7. The bank's balance, as the bank reports it.
    let r = d.get(&format!("/funding-sources/{fs}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_link(&r.body["_links"]["self"], &format!("{base}/funding-sources/{fs}/balance"), "balance");
    assert_link(&r.body["_links"]["funding-source"], &format!("{base}/funding-sources/{fs}"), "funding-source");
    for key in ["available", "closing"] {
        let v = r.body[key]["value"].as_str().unwrap();
        let (units, cents) = v.split_once('.').unwrap();
        assert!(units.parse::<i64>().is_ok() && cents.len() == 2, "{key}: {v}");
        assert_eq!(r.body[key]["currency"], "USD");
    }
    assert_timestamp(&r.body["lastUpdated"]);
    let mx_user = mx_user_of(&app, &customer).await;
    let a = app.client().get(&format!("/users/{mx_user}/accounts/{}", flow.account)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(r.body["closing"]["value"], format!("{:.2}", a.body["account"]["balance"].as_f64().unwrap()));
    if let Some(available) = a.body["account"]["available_balance"].as_f64() {
        assert_eq!(r.body["available"]["value"], format!("{available:.2}"));
    }

    // 8. The events.
    assert_eq!(d.topics_about(&customer).await, ["customer_created"]);
    assert_eq!(d.topics_about(&fs).await, ["customer_funding_source_added", "customer_funding_source_verified"]);
    let events = d.get("/events").await;
    assert_eq!(events.status, 200, "{}", events.text);
    assert_eq!(events.body["total"], 3);
    let verified = events.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "customer_funding_source_verified")
        .unwrap()
        .clone();
    let id = verified["id"].as_str().unwrap();
    assert_link(&verified["_links"]["self"], &format!("{base}/events/{id}"), "event");
    assert_link(&verified["_links"]["resource"], &format!("{base}/funding-sources/{fs}"), "funding-source");
    assert_link(&verified["_links"]["customer"], &format!("{base}/customers/{customer}"), "customer");
    assert_link(&verified["_links"]["account"], &format!("{base}/accounts/{}", app.sandbox.id), "account");
    assert_eq!(verified["resourceId"], fs.as_str());
    assert_timestamp(&verified["created"]);
    let one = d.get(verified["_links"]["self"]["href"].as_str().unwrap()).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body, verified);
    let r = d.get("/events/00000000-0000-4000-8000-000000000000").await;
    assert_error(&r, 404, "NotFound", Some("Application event not found."));
}

/// The aggregator user the payments side made for `customer`.
async fn mx_user_of(app: &TestApp, customer: &str) -> String {
    let users = app.client().get("/users").await;
    let partner_id = format!("payments-customer-{customer}");
    let user = users.body["users"].as_array().unwrap().iter().find(|u| u["id"] == partner_id.as_str()).unwrap().clone();
    user["guid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn exchanges_need_a_valid_available_connection_token() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "jane@example.com").await;
    let path = format!("/customers/{}/exchanges", flow.customer);
    let invalid = "The exchange token is not valid to perform this operation. Either the token is expired or invalid, or the products permissions to the token are invalid or expired.";

    for token in [
        connection_token("ACT-00000000-0000-4000-8000-000000000000", &flow.member),
        connection_token(&flow.account, "MBR-00000000-0000-4000-8000-000000000000"),
        base64::engine::general_purpose::STANDARD.encode("{\"accountId\":1}"),
        "not base64 at all!".to_owned(),
        String::new(),
    ] {
        let r = d.post(&path, mx_exchange_body(&token)).await;
        assert_error(&r, 401, "InvalidExchangeToken", Some(invalid));
    }
    let r = d
        .post(
            &path,
            json!({ "_links": { "exchange-partner": { "href": format!("{DWOLLA_SANDBOX}/exchange-partners/{MX}") } } }),
        )
        .await;
    assert_field_error(&r, "/mx/availableConnectionToken", "Required");
    let r = d.post(&path, json!({ "mx": { "availableConnectionToken": flow.connection_token } })).await;
    assert_field_error(&r, "/_links/exchange-partner/href", "Invalid");
    let r = d
        .post("/customers/00000000-0000-4000-8000-000000000000/exchanges", mx_exchange_body(&flow.connection_token))
        .await;
    assert_error(&r, 404, "NotFound", None);

    // Another customer of the same tenant cannot use this customer's token.
    let other = d.customer("Otto", "otto@example.com").await;
    let r = d.post(&format!("/customers/{other}/exchanges"), mx_exchange_body(&flow.connection_token)).await;
    assert_error(&r, 401, "InvalidExchangeToken", None);
    assert_eq!(d.get(&format!("/customers/{other}/exchanges")).await.body["total"], 0);
    assert_eq!(d.get(&path).await.body["total"], 1, "only the flow's exchange");
}

#[tokio::test]
async fn funding_sources_from_exchanges_check_the_exchange_type_and_name() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "jane@example.com").await;
    let path = format!("/customers/{}/funding-sources", flow.customer);

    let mut body = exchange_funding_source_body(&flow.exchange, "x");
    body["bankAccountType"] = json!("loan");
    assert_field_error(&d.post(&path, body).await, "/bankAccountType", "Invalid");
    let mut body = exchange_funding_source_body(&flow.exchange, "x");
    body.as_object_mut().unwrap().remove("name");
    assert_field_error(&d.post(&path, body).await, "/name", "Required");
    let body = exchange_funding_source_body(&flow.exchange, &"n".repeat(51));
    assert_field_error(&d.post(&path, body).await, "/name", "Invalid");
    for href in [
        format!("{DWOLLA_SANDBOX}/exchanges/00000000-0000-4000-8000-000000000000"),
        format!("{DWOLLA_SANDBOX}/customers/{}", flow.exchange),
        "nonsense".to_owned(),
    ] {
        let r = d
            .post(
                &path,
                json!({ "_links": { "exchange": { "href": href } }, "bankAccountType": "checking", "name": "x" }),
            )
            .await;
        assert_field_error(&r, "/_links/exchange/href", "Invalid");
    }
    // Another customer cannot add a bank from this customer's exchange.
    let other = d.customer("Otto", "otto@example.com").await;
    let r =
        d.post(&format!("/customers/{other}/funding-sources"), exchange_funding_source_body(&flow.exchange, "x")).await;
    assert_field_error(&r, "/_links/exchange/href", "Invalid");
}

#[tokio::test]
async fn an_exchange_gets_a_reauthentication_session() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "jane@example.com").await;

    let r = d.post(&format!("/exchanges/{}/exchange-sessions", flow.exchange), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.location().starts_with(&format!("{}/exchange-sessions/", app.payments_base)));
    let s = d.get(&r.location()).await;
    assert_eq!(s.status, 200, "{}", s.text);
    let url = s.body["_links"]["external-provider-session"]["href"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/md/connect/", app.base)), "{url}");
    assert_eq!(s.body["_links"]["exchange-partner"]["href"], format!("{}/exchange-partners/{MX}", app.payments_base));
    // No body at all works too.
    let r = d.post_raw(&format!("/exchanges/{}/exchange-sessions", flow.exchange), None, "").await;
    assert_eq!(r.status, 201, "{}", r.text);
    // A body that is not a JSON object is refused, on both session endpoints.
    for body in ["[]", "42", "\"x\""] {
        let r = d
            .post_raw(&format!("/exchanges/{}/exchange-sessions", flow.exchange), Some("application/json"), body)
            .await;
        assert_error(&r, 400, "BadRequest", Some("The request body must be a JSON object."));
        let r = d
            .post_raw(&format!("/customers/{}/exchange-sessions", flow.customer), Some("application/json"), body)
            .await;
        assert_error(&r, 400, "BadRequest", Some("The request body must be a JSON object."));
    }

    let r = d.post("/exchanges/00000000-0000-4000-8000-000000000000/exchange-sessions", json!({})).await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.get("/exchanges/00000000-0000-4000-8000-000000000000").await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.get("/customers/00000000-0000-4000-8000-000000000000/exchanges").await;
    assert_error(&r, 404, "NotFound", None);
    let r = d.get("/customers/00000000-0000-4000-8000-000000000000/available-exchange-connections").await;
    assert_error(&r, 404, "NotFound", Some("The requested resource was not found. Check Customer ID."));
}

#[tokio::test]
async fn a_removed_exchange_backed_bank_has_no_balance_and_can_be_added_again() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let flow = mx_flow(&app, &d, "jane@example.com").await;
    let fs = format!("/funding-sources/{}", flow.funding_source);
    let r = d.post(&fs, json!({ "removed": true })).await;
    assert_eq!(r.body["removed"], true, "{}", r.text);
    assert!(r.body["_links"].get("balance").is_none(), "{}", r.text);
    let r = d.get(&format!("{fs}/balance")).await;
    assert_error(&r, 400, "UnsupportedOperation", None);
    // With the old one removed, the account is no duplicate; the fingerprint is the same.
    let r = d
        .post(
            &format!("/customers/{}/funding-sources", flow.customer),
            exchange_funding_source_body(&flow.exchange, "Back"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let again = d.get(&r.location()).await;
    assert_eq!(again.body["fingerprint"], d.get(&fs).await.body["fingerprint"]);
}

#[tokio::test]
async fn events_are_listed_newest_first_and_paged() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    for n in 0..3 {
        d.customer("E", &format!("e{n}@example.com")).await;
    }
    let r = d.get("/events?limit=2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 3);
    let events = r.body["_embedded"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0]["created"].as_str() >= events[1]["created"].as_str(), "newest first");
    assert_eq!(r.body["_links"]["self"]["href"], format!("{base}/events?limit=2&offset=0"));
    assert_eq!(r.body["_links"]["next"]["href"], format!("{base}/events?limit=2&offset=2"));
    let next = d.get(r.body["_links"]["next"]["href"].as_str().unwrap()).await;
    assert_eq!(next.body["_embedded"]["events"].as_array().unwrap().len(), 1);
    let mut all: Vec<Value> = events.clone();
    all.extend(next.body["_embedded"]["events"].as_array().unwrap().iter().cloned());
    let mut ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "pages do not overlap");
    assert!(all.iter().all(|e| e["topic"] == "customer_created"));
}
