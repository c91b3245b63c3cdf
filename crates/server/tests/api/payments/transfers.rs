//! `/transfers` through the real server: creation (legs, balances, events, fees, options),
//! every validation rule at its JSON pointer with Dwolla's message, reading transfers, fees and
//! legs with the strict SDK's wire format, cancellation, lists with filters and paging,
//! idempotent replay and tenant isolation.

use openiav_core::money::Cents;
use openiav_store::repo::funding_sources;
use reqwest::Method;
use serde_json::{json, Value};

use super::support::{
    assert_error, assert_field_error, assert_link, assert_timestamp, personal, sandbox_tenant, Dwolla, HalResp,
    DWOLLA_SANDBOX, HAL,
};
use crate::helpers::TestApp;

// ---- fixtures ------------------------------------------------------------------------------

pub fn fs_href(id: &str) -> String {
    format!("{DWOLLA_SANDBOX}/funding-sources/{id}")
}

pub fn body(source: &str, destination: &str, amount: &str) -> Value {
    json!({
        "_links": { "source": { "href": fs_href(source) }, "destination": { "href": fs_href(destination) } },
        "amount": { "currency": "USD", "value": amount },
    })
}

/// A bank added by numbers and verified with micro-deposits; returns its id.
pub async fn verified_bank(d: &Dwolla, customer: &str, account: &str, name: &str) -> String {
    let fs = d.bank_from_numbers(customer, account, name).await;
    let path = format!("/funding-sources/{fs}/micro-deposits");
    let r = d.send(d.request(Method::POST, &path)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let amounts =
        json!({ "amount1": { "value": "0.03", "currency": "USD" }, "amount2": { "value": "0.09", "currency": "USD" } });
    let r = d.post(&path, amounts).await;
    assert_eq!(r.status, 200, "{}", r.text);
    fs
}

/// A verified personal customer; returns its id.
pub async fn verified_personal(d: &Dwolla, email: &str) -> String {
    d.post("/customers", personal("Jane", email)).await.created_id()
}

/// A verified business customer (a sole proprietorship); returns its id.
pub async fn verified_business(d: &Dwolla, email: &str) -> String {
    let b = json!({
        "firstName": "Bo", "lastName": "Owner", "email": email, "type": "business",
        "businessType": "soleProprietorship", "businessName": "Bo's Bikes",
        "businessClassification": "9ed3f670-7d6f-11e3-b1ce-5404a6144203",
        "address1": "1 Main St", "city": "Des Moines", "state": "IA", "postalCode": "50309",
        "dateOfBirth": "1980-05-05", "ssn": "6789",
    });
    d.post("/customers", b).await.created_id()
}

/// The customer's balance funding source.
pub async fn balance_of(d: &Dwolla, customer: &str) -> String {
    let r = d.get(&format!("/customers/{customer}/funding-sources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["_embedded"]["funding-sources"].as_array().unwrap();
    // Found by name as well: the funding-source view may not tell balances apart yet.
    let balance = list
        .iter()
        .find(|f| f["type"] == "balance" || f["name"] == "Balance")
        .unwrap_or_else(|| panic!("no balance: {}", r.text));
    balance["id"].as_str().unwrap().to_owned()
}

/// Puts `cents` into a balance through the store (processing is the API's only way in).
pub async fn fund(app: &TestApp, balance: &str, cents: i64) {
    let (tenant, id) = (sandbox_tenant(app), balance.to_owned());
    app.store
        .write(move |c| {
            Box::pin(async move {
                let mut fs = funding_sources::find(c, tenant, &id).await?.expect("the balance");
                fs.balance = Cents(cents);
                funding_sources::save(c, &fs).await
            })
        })
        .await
        .unwrap();
}

/// What a balance holds, in cents.
pub async fn cents_in(app: &TestApp, balance: &str) -> i64 {
    let (tenant, id) = (sandbox_tenant(app), balance.to_owned());
    let fs = app
        .store
        .read(|mut c| async move { funding_sources::find(&mut c, tenant, &id).await })
        .await
        .unwrap()
        .expect("the balance");
    fs.balance.0
}

/// Two verified personal customers with a verified bank and a balance each.
pub struct Pair {
    pub a: String,
    pub a_bank: String,
    pub a_balance: String,
    pub b: String,
    pub b_bank: String,
    pub b_balance: String,
}

pub async fn pair(d: &Dwolla) -> Pair {
    let a = verified_personal(d, "a@example.com").await;
    let b = verified_personal(d, "b@example.com").await;
    Pair {
        a_bank: verified_bank(d, &a, "11112222", "A checking").await,
        a_balance: balance_of(d, &a).await,
        b_bank: verified_bank(d, &b, "33334444", "B checking").await,
        b_balance: balance_of(d, &b).await,
        a,
        b,
    }
}

async fn transfer(d: &Dwolla, location: &str) -> Value {
    let r = d.get(location).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn href(v: &Value, rel: &str) -> String {
    v["_links"][rel]["href"].as_str().unwrap_or_else(|| panic!("no {rel} link: {v}")).to_owned()
}

fn id_of(href: &str) -> String {
    href.rsplit('/').next().unwrap().to_owned()
}

/// The events about `resource`, oldest first, as (topic, customer id).
async fn events_about(d: &Dwolla, resource: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let r = d.get("/events?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut out: Vec<_> = r.body["_embedded"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resourceId"] == resource)
        .map(|e| {
            let customer = e["_links"]["customer"]["href"].as_str().map(id_of);
            (e["topic"].as_str().unwrap().to_owned(), customer, e["correlationId"].as_str().map(str::to_owned))
        })
        .collect();
    out.reverse();
    out
}

// ---- creation ------------------------------------------------------------------------------

#[tokio::test]
async fn a_bank_to_balance_transfer_opens_a_pending_debit_leg_and_announces_it() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let base = &app.payments_base;

    let mut b = body(&p.a_bank, &p.b_balance, "42.00");
    b["correlationId"] = json!("invoice_27471");
    let r = d.post("/transfers", b).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.is_empty(), "a 201 has no body: {}", r.text);
    let location = r.location();
    assert!(location.starts_with(&format!("{base}/transfers/")), "{location}");
    let id = id_of(&location);

    let t = transfer(&d, &location).await;
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["status"], "pending");
    assert_eq!(t["amount"], json!({ "value": "42.00", "currency": "USD" }));
    assert_eq!(t["correlationId"], "invoice_27471");
    assert_timestamp(&t["created"]);
    assert_link(&t["_links"]["self"], &location, "transfer");
    assert_link(&t["_links"]["source"], &format!("{base}/customers/{}", p.a), "customer");
    assert_link(&t["_links"]["destination"], &format!("{base}/customers/{}", p.b), "customer");
    assert_link(
        &t["_links"]["source-funding-source"],
        &format!("{base}/funding-sources/{}", p.a_bank),
        "funding-source",
    );
    assert_link(
        &t["_links"]["destination-funding-source"],
        &format!("{base}/funding-sources/{}", p.b_balance),
        "funding-source",
    );
    assert_link(&t["_links"]["cancel"], &location, "transfer");
    assert!(t["_links"].get("failure").is_none() && t["_links"].get("fees").is_none(), "{t}");
    for (_, link) in t["_links"].as_object().unwrap() {
        assert!(link.is_object(), "every link is an object: {t}");
    }

    // The debit leg is a transfer of its own, funding this one.
    let leg_href = href(&t, "funding-transfer");
    let leg = transfer(&d, &leg_href).await;
    assert_eq!(leg["status"], "pending");
    assert_eq!(leg["amount"]["value"], "42.00");
    assert_eq!(leg["correlationId"], "invoice_27471");
    assert_link(&leg["_links"]["source"], &format!("{base}/funding-sources/{}", p.a_bank), "funding-source");
    assert_link(&leg["_links"]["destination"], &format!("{base}/customers/{}", p.a), "customer");
    assert_link(&leg["_links"]["funded-transfer"], &location, "transfer");
    assert_link(&leg["_links"]["cancel"], &leg_href, "transfer");

    let leg_id = id_of(&leg_href);
    let corr = Some("invoice_27471".to_owned());
    assert_eq!(
        events_about(&d, &leg_id).await,
        vec![("customer_bank_transfer_created".to_owned(), Some(p.a.clone()), corr.clone())]
    );
    assert_eq!(
        events_about(&d, &id).await,
        vec![
            ("customer_transfer_created".to_owned(), Some(p.a.clone()), corr.clone()),
            ("customer_transfer_created".to_owned(), Some(p.b.clone()), corr),
        ]
    );
    // Nothing moves before the debit clears.
    assert_eq!(cents_in(&app, &p.b_balance).await, 0);
}

#[tokio::test]
async fn a_balance_to_balance_transfer_is_processed_at_once_and_moves_the_money() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    fund(&app, &p.a_balance, 10_000).await;

    let r = d.post("/transfers", body(&p.a_balance, &p.b_balance, "25.50")).await;
    let t = transfer(&d, &r.location()).await;
    assert_eq!(t["status"], "processed");
    assert!(t["_links"].get("cancel").is_none(), "{t}");
    assert!(t["_links"].get("funding-transfer").is_none() && t["_links"].get("funded-transfer").is_none(), "{t}");
    assert_eq!(cents_in(&app, &p.a_balance).await, 10_000 - 2_550);
    assert_eq!(cents_in(&app, &p.b_balance).await, 2_550);
    let topics: Vec<String> = events_about(&d, t["id"].as_str().unwrap()).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        topics,
        [
            "customer_transfer_created",
            "customer_transfer_created",
            "customer_transfer_completed",
            "customer_transfer_completed"
        ]
    );
}

#[tokio::test]
async fn a_balance_to_bank_transfer_debits_the_balance_and_opens_the_credit_leg() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    fund(&app, &p.a_balance, 5_000).await;

    let r = d.post("/transfers", body(&p.a_balance, &p.b_bank, "10.00")).await;
    let location = r.location();
    let t = transfer(&d, &location).await;
    assert_eq!(t["status"], "pending");
    assert_eq!(cents_in(&app, &p.a_balance).await, 4_000);
    let credit = transfer(&d, &href(&t, "funded-transfer")).await;
    assert_eq!(credit["status"], "pending");
    assert_link(&credit["_links"]["funding-transfer"], &location, "transfer");
    assert_eq!(credit["_links"]["destination"]["href"], fs_href(&p.b_bank).replace(DWOLLA_SANDBOX, &app.payments_base));
    let topics: Vec<String> = events_about(&d, credit["id"].as_str().unwrap()).await.into_iter().map(|e| e.0).collect();
    assert_eq!(topics, ["customer_bank_transfer_created"]);
}

#[tokio::test]
async fn a_bank_to_bank_transfer_opens_only_the_debit_leg_at_creation() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let t = transfer(&d, &d.post("/transfers", body(&p.a_bank, &p.b_bank, "1.00")).await.location()).await;
    assert!(t["_links"].get("funding-transfer").is_some(), "{t}");
    assert!(t["_links"].get("funded-transfer").is_none(), "the credit waits for the debit: {t}");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_creates_one_transfer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    fund(&app, &p.a_balance, 1_000).await;
    let send = || {
        d.send(
            d.request(Method::POST, "/transfers")
                .header("content-type", HAL)
                .header("idempotency-key", "pay-once")
                .body(body(&p.a_balance, &p.b_balance, "4.00").to_string()),
        )
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.location(), second.location());
    assert_eq!(cents_in(&app, &p.a_balance).await, 600, "one transfer, debited once");
    let list = d.get(&format!("/customers/{}/transfers", p.a)).await;
    assert_eq!(list.body["total"], 1, "{}", list.text);
}

// ---- helpers for error tables --------------------------------------------------------------

#[track_caller]
fn assert_refused(r: &HalResp, path: &str, code: &str, message: &str) {
    assert_field_error(r, path, code);
    assert_eq!(r.error_at(path)["message"], message, "{}", r.text);
}

#[tokio::test]
async fn malformed_bodies_are_refused_at_their_pointers_with_dwollas_messages() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let ok = body(&p.a_bank, &p.b_balance, "1.00");
    let with = |pointer: &str, value: Value| {
        let mut b = ok.clone();
        *b.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
        b
    };
    let parse = "Invalid amount. The supplied amount must be a positive number.";
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (
            with("/_links/source/href", json!("https://x/customers/1")),
            "/_links/source/href",
            "Invalid",
            "Funding source not found.",
        ),
        (with("/_links/destination/href", json!("nope")), "/_links/destination/href", "Invalid", "Receiver not found."),
        (with("/amount/value", json!("0.00")), "/amount/value", "InvalidFormat", parse),
        (with("/amount/value", json!("-5.00")), "/amount/value", "InvalidFormat", parse),
        (with("/amount/value", json!("ten")), "/amount/value", "InvalidFormat", parse),
        (with("/amount/value", json!("0.004")), "/amount/value", "InvalidFormat", parse),
        (
            with("/amount/currency", json!("EUR")),
            "/amount/currency",
            "Invalid",
            "Invalid amount. The supplied currency must be USD.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "correlationId": "has space" }),
            "/correlationId",
            "InvalidFormat",
            "Correlation id must be at least one character and up to 255 characters when supplied.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "correlationId": "x".repeat(256) }),
            "/correlationId",
            "InvalidFormat",
            "Correlation id must be at least one character and up to 255 characters when supplied.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "metadata": { "a": 1 } }),
            "/metadata",
            "Invalid",
            "Invalid metadata.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(),
                    "metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>() }),
            "/metadata",
            "Invalid",
            "Invalid metadata.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "metadata": { "a": "v".repeat(255) } }),
            "/metadata",
            "Invalid",
            "Invalid metadata.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "clearing": { "source": "same-day" } }),
            "/clearing/source",
            "Invalid",
            "Invalid clearing type.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(), "clearing": { "destination": "standard" } }),
            "/clearing/destination",
            "Invalid",
            "Invalid clearing type.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(),
                    "achDetails": { "source": { "addenda": { "values": ["x".repeat(81)] } } } }),
            "/achDetails/source/addenda/values",
            "InvalidFormat",
            "Ach addenda entries can be up to 80 characters when supplied.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(),
                    "achDetails": { "destination": { "addenda": { "values": ["a", "b"] } } } }),
            "/achDetails/destination/addenda/values",
            "InvalidFormat",
            "Ach addenda entries can be up to 80 characters when supplied.",
        ),
        (
            json!({ "_links": ok["_links"].clone(), "amount": ok["amount"].clone(),
                    "processingChannel": { "destination": "wire" } }),
            "/processingChannel/destination",
            "Invalid",
            "Invalid processing channel.",
        ),
    ];
    for (b, path, code, message) in cases {
        let r = d.post("/transfers", b.clone()).await;
        assert_refused(&r, path, code, message);
        assert!(r.body["_embedded"]["errors"][0]["_links"].is_object(), "{}", r.text);
    }
    // Missing links and amount report every field at once.
    let r = d.post("/transfers", json!({})).await;
    assert_eq!(r.paths(), ["/_links/source/href", "/_links/destination/href", "/amount/value"], "{}", r.text);
    // A value of the wrong type is refused at its pointer, never a 500.
    let r = d.post("/transfers", with("/amount/value", json!(5))).await;
    assert_field_error(&r, "/amount/value", "Invalid");
    let r = d.post_raw("/transfers", Some("application/json"), "{not json").await;
    assert_error(&r, 400, "BadRequest", None);
    assert_eq!(d.get(&format!("/customers/{}/transfers", p.a)).await.body["total"], 0);
}

#[tokio::test]
async fn addenda_are_kept_for_business_customers_only() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let biz = verified_business(&d, "bo@example.com").await;
    let biz_bank = verified_bank(&d, &biz, "55556666", "Bo checking").await;
    let addenda = json!({ "source": { "addenda": { "values": ["ABC123_AddendaValue"] } } });

    let mut b = body(&biz_bank, &p.b_balance, "3.00");
    b["achDetails"] = addenda.clone();
    let t = transfer(&d, &d.post("/transfers", b).await.location()).await;
    assert_eq!(t["achDetails"], addenda, "{t}");

    let mut b = body(&p.a_bank, &p.b_balance, "3.00");
    b["achDetails"] = addenda;
    let r = d.post("/transfers", b).await;
    assert_refused(&r, "", "NotAllowed", "Supplying ach addenda entries is currently not enabled.");
}
