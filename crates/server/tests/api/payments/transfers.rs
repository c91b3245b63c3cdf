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

// ---- who may send to whom ------------------------------------------------------------------

#[tokio::test]
async fn funding_sources_and_parties_decide_who_may_send_and_receive() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let src = "/_links/source/href";
    let dst = "/_links/destination/href";

    // An unverified bank only receives.
    let unverified = d.bank_from_numbers(&p.a, "99990000", "Unverified").await;
    let r = d.post("/transfers", body(&unverified, &p.b_balance, "1.00")).await;
    assert_refused(&r, src, "Invalid", "Invalid funding source.");
    assert_eq!(d.post("/transfers", body(&p.a_bank, &unverified, "1.00")).await.status, 201);

    // Unknown, removed and identical funding sources.
    let unknown = "0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    assert_refused(
        &d.post("/transfers", body(unknown, &p.b_balance, "1.00")).await,
        src,
        "Invalid",
        "Funding source not found.",
    );
    assert_refused(
        &d.post("/transfers", body(&p.a_bank, unknown, "1.00")).await,
        dst,
        "Invalid",
        "Receiver not found.",
    );
    let removed = verified_bank(&d, &p.a, "77778888", "Removed").await;
    assert_eq!(d.post(&format!("/funding-sources/{removed}"), json!({ "removed": true })).await.status, 200);
    assert_refused(
        &d.post("/transfers", body(&removed, &p.b_balance, "1.00")).await,
        src,
        "Invalid",
        "Funding source not found.",
    );
    assert_refused(
        &d.post("/transfers", body(&p.a_bank, &removed, "1.00")).await,
        dst,
        "Invalid",
        "Invalid destination funding source.",
    );
    assert_refused(
        &d.post("/transfers", body(&p.a_bank, &p.a_bank, "1.00")).await,
        dst,
        "Invalid",
        "Receiver cannot be the owner of the source funding source.",
    );

    // Two unverified customers cannot transact; an unverified one can with a verified one.
    let u1 = d.customer("Una", "una@example.com").await;
    let u2 = d.customer("Ugo", "ugo@example.com").await;
    let u1_bank = verified_bank(&d, &u1, "12121212", "U1").await;
    let u2_bank = d.bank_from_numbers(&u2, "34343434", "U2").await;
    assert_refused(
        &d.post("/transfers", body(&u1_bank, &u2_bank, "1.00")).await,
        dst,
        "NotAllowed",
        "Receiver cannot receive from sender.",
    );
    assert_eq!(d.post("/transfers", body(&u1_bank, &p.b_balance, "1.00")).await.status, 201);

    // Receive-only users only receive.
    let ro = d
        .post(
            "/customers",
            json!({ "type": "receive-only", "firstName": "R", "lastName": "O", "email": "ro@example.com" }),
        )
        .await
        .created_id();
    let ro_bank = verified_bank(&d, &ro, "56565656", "RO").await;
    assert_refused(
        &d.post("/transfers", body(&ro_bank, &p.b_balance, "1.00")).await,
        src,
        "Invalid",
        "Invalid funding source.",
    );
    assert_eq!(d.post("/transfers", body(&p.a_bank, &ro_bank, "1.00")).await.status, 201);

    // Suspended and deactivated parties are restricted.
    let s = verified_personal(&d, "sue@example.com").await;
    let s_bank = verified_bank(&d, &s, "78787878", "Sue").await;
    assert_eq!(d.post(&format!("/customers/{s}"), json!({ "status": "suspended" })).await.status, 200);
    assert_refused(
        &d.post("/transfers", body(&s_bank, &p.b_balance, "1.00")).await,
        src,
        "Restricted",
        "Sender restricted.",
    );
    assert_refused(
        &d.post("/transfers", body(&p.a_bank, &s_bank, "1.00")).await,
        dst,
        "Restricted",
        "Receiver restricted.",
    );
}

#[tokio::test]
async fn limits_and_balances_bound_the_amount() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let over = "Invalid amount. The supplied amount is greater than your transaction limit.";
    // A personal customer may move $5,000 a transfer.
    assert_eq!(d.post("/transfers", body(&p.a_bank, &p.b_balance, "5000.00")).await.status, 201);
    assert_refused(
        &d.post("/transfers", body(&p.a_bank, &p.b_balance, "5000.01")).await,
        "/amount/value",
        "Invalid",
        over,
    );
    // A business customer $10,000.
    let biz = verified_business(&d, "bo@example.com").await;
    let biz_bank = verified_bank(&d, &biz, "55556666", "Bo checking").await;
    let biz_balance = balance_of(&d, &biz).await;
    assert_eq!(d.post("/transfers", body(&biz_bank, &biz_balance, "10000.00")).await.status, 201);
    assert_refused(
        &d.post("/transfers", body(&biz_bank, &biz_balance, "10000.01")).await,
        "/amount/value",
        "Invalid",
        over,
    );
    // An unverified customer sends $5,000 a week, whatever the number of transfers.
    let u = d.customer("Una", "una@example.com").await;
    let u_bank = verified_bank(&d, &u, "12121212", "U").await;
    assert_eq!(d.post("/transfers", body(&u_bank, &biz_balance, "3000.00")).await.status, 201);
    assert_eq!(d.post("/transfers", body(&u_bank, &biz_balance, "2000.00")).await.status, 201);
    assert_refused(&d.post("/transfers", body(&u_bank, &biz_balance, "0.01")).await, "/amount/value", "Invalid", over);

    // A balance sends what it holds, no more.
    fund(&app, &p.a_balance, 199).await;
    let r = d.post("/transfers", body(&p.a_balance, &p.b_balance, "2.00")).await;
    assert_refused(&r, "/_links/source/href", "InsufficientFunds", "Insufficient funds.");
    assert_eq!(cents_in(&app, &p.a_balance).await, 199, "a refusal debits nothing");
    assert_eq!(d.post("/transfers", body(&p.a_balance, &p.b_balance, "1.99")).await.status, 201);
    assert_eq!(cents_in(&app, &p.a_balance).await, 0);

    // Amounts past two places round half to even.
    let mut b = body(&p.a_bank, &p.b_balance, "1.005");
    let t = transfer(&d, &d.post("/transfers", b.clone()).await.location()).await;
    assert_eq!(t["amount"]["value"], "1.00");
    b["amount"]["value"] = json!("1.015");
    let t = transfer(&d, &d.post("/transfers", b).await.location()).await;
    assert_eq!(t["amount"]["value"], "1.02");
}

#[tokio::test]
async fn options_are_kept_and_rendered_for_the_strict_sdk() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let mut b = body(&p.a_bank, &p.b_bank, "12.34");
    b["metadata"] = json!({ "paymentId": "12345678", "note": "rent" });
    b["clearing"] = json!({ "source": "next-available", "destination": "next-available" });
    let r = d.post("/transfers", b).await;
    let location = r.location();
    let raw = d.get(&location).await;
    assert!(raw.content_type.starts_with(HAL), "{}", raw.content_type);
    let t = raw.body;
    assert_eq!(t["metadata"], json!({ "note": "rent", "paymentId": "12345678" }));
    assert_eq!(t["clearing"], json!({ "source": "same-day", "destination": "same-day" }));
    assert!(t.get("processingChannel").is_none() && t.get("achDetails").is_none(), "{t}");
    // The created timestamp carries milliseconds and Z, as zod's datetime wants.
    assert_timestamp(&t["created"]);
    // The bytes a strict client parses: Dwolla's field order, link objects, the amount as strings.
    assert!(raw.text.starts_with("{\"_links\":{\""), "{}", raw.text);
    assert!(
        raw.text.contains(&format!(
            "\"id\":\"{}\",\"status\":\"pending\",\"amount\":{{\"value\":\"12.34\",\"currency\":\"USD\"}},\"created\":\"",
            id_of(&location)
        )),
        "{}",
        raw.text
    );

    // Metadata cannot ride on a balance transfer.
    let mut b = body(&p.a_bank, &p.b_balance, "1.00");
    b["metadata"] = json!({ "a": "b" });
    assert_refused(
        &d.post("/transfers", b).await,
        "/metadata",
        "Invalid",
        "Metadata not supported for this type of transfer.",
    );
}

#[tokio::test]
async fn instant_payments_go_from_a_balance_to_an_rtp_bank_and_name_the_network() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let biz = verified_business(&d, "bo@example.com").await;
    let biz_balance = balance_of(&d, &biz).await;
    let biz_bank = verified_bank(&d, &biz, "55556666", "Bo checking").await;
    fund(&app, &biz_balance, 100_000).await;
    fund(&app, &p.a_balance, 100_000).await;
    let instant = |source: &str, destination: &str| {
        let mut b = body(source, destination, "10.00");
        b["processingChannel"] = json!({ "destination": "instant" });
        b
    };
    let t = transfer(&d, &d.post("/transfers", instant(&biz_balance, &p.b_bank)).await.location()).await;
    assert_eq!(t["processingChannel"], json!({ "destination": "real-time-payments" }), "{t}");
    let credit = transfer(&d, &href(&t, "funded-transfer")).await;
    assert_eq!(credit["processingChannel"]["destination"], "real-time-payments");

    let r = d.post("/transfers", instant(&biz_bank, &p.b_bank)).await;
    assert_refused(
        &r,
        "/_links/destination/href",
        "NotAllowed",
        "Transfers using the Real Time Payments processing channel must be funded by a balance",
    );
    let r = d.post("/transfers", instant(&p.a_balance, &p.b_bank)).await;
    assert_refused(
        &r,
        "",
        "NotAllowed",
        "Real Time Payments does not currently support transfers between personal accounts",
    );
    let mut b = instant(&biz_balance, &p.b_bank);
    b["fees"] = json!([{ "_links": { "charge-to": { "href": format!("{DWOLLA_SANDBOX}/customers/{}", p.b) } },
                          "amount": { "value": "1.00", "currency": "USD" } }]);
    assert_refused(
        &d.post("/transfers", b).await,
        "",
        "NotAllowed",
        "Real Time Payments does not currently support facilitator fees",
    );
    // A routing number off the sandbox's RTP list is ACH only.
    let r = d
        .post(
            &format!("/customers/{}/funding-sources", p.b),
            json!({ "routingNumber": "011000015", "accountNumber": "4444555566", "bankAccountType": "checking", "name": "ACH only" }),
        )
        .await;
    let ach_only = r.created_id();
    let r = d.post("/transfers", instant(&biz_balance, &ach_only)).await;
    assert_refused(
        &r,
        "/processingChannel/destination",
        "NotAllowed",
        "Destination funding source does not support processing channel",
    );
    assert_refused(
        &d.post("/transfers", instant(&biz_balance, &p.b_balance)).await,
        "/processingChannel/destination",
        "NotAllowed",
        "Destination funding source does not support processing channel",
    );
}

// ---- fees ----------------------------------------------------------------------------------

fn fee(customer: &str, value: &str) -> Value {
    json!({ "_links": { "charge-to": { "href": format!("{DWOLLA_SANDBOX}/customers/{customer}") } },
            "amount": { "value": value, "currency": "USD" } })
}

async fn account_balance(app: &TestApp) -> String {
    let tenant = sandbox_tenant(app);
    let sources = app
        .store
        .read(|mut c| async move { funding_sources::list_for_account(&mut c, tenant, None).await })
        .await
        .unwrap();
    let balance = sources.iter().find(|f| f.kind == openiav_core::payments::FundingSourceKind::Balance);
    balance.expect("the account's balance").id.clone()
}

#[tokio::test]
async fn facilitator_fees_are_transfers_of_their_own_collected_on_completion() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let base = &app.payments_base;
    fund(&app, &p.a_balance, 10_000).await;

    let mut b = body(&p.a_balance, &p.b_balance, "10.00");
    b["fees"] = json!([fee(&p.b, "1.00"), fee(&p.b, "0.50")]);
    let location = d.post("/transfers", b).await.location();
    let t = transfer(&d, &location).await;
    assert_eq!(t["status"], "processed");
    assert_link(&t["_links"]["fees"], &format!("{location}/fees"), "fee");

    let fees = d.get(&format!("{location}/fees")).await;
    assert_eq!(fees.status, 200, "{}", fees.text);
    assert_eq!(fees.body["total"], 2);
    let first = &fees.body["transactions"][0];
    assert_eq!(first["amount"]["value"], "1.00");
    assert_eq!(first["status"], "processed");
    assert_link(&first["_links"]["created-from-transfer"], &location, "transfer");
    assert_link(&first["_links"]["source"], &format!("{base}/customers/{}", p.b), "customer");
    assert_link(&first["_links"]["destination"], &format!("{base}/accounts/{}", app.sandbox.id), "account");
    assert_timestamp(&first["created"]);
    let fee_id = first["id"].as_str().unwrap();
    assert_eq!(transfer(&d, &format!("/transfers/{fee_id}")).await["id"], fee_id);

    // The receiver got the amount less its fees; the account collected them.
    assert_eq!(cents_in(&app, &p.a_balance).await, 9_000);
    assert_eq!(cents_in(&app, &p.b_balance).await, 850);
    assert_eq!(cents_in(&app, &account_balance(&app).await).await, 150);

    // The fee shows in the lists of the charged customer and of the account.
    let listed = d.get(&format!("/customers/{}/transfers", p.b)).await;
    assert_eq!(listed.body["total"], 3, "{}", listed.text);
    let account = d.get(&format!("/accounts/{}/transfers", app.sandbox.id)).await;
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!(account.body["total"], 2, "{}", account.text);

    // A transfer without fees has an empty fee list.
    let plain = d.post("/transfers", body(&p.a_bank, &p.b_balance, "1.00")).await.location();
    assert_eq!(d.get(&format!("{plain}/fees")).await.body, json!({ "transactions": [], "total": 0 }));
}

#[tokio::test]
async fn fee_rules_refuse_with_dwollas_messages() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let stranger = d.customer("Sam", "sam@example.com").await;
    let path = "/fees/_links/charge-to/href";
    let with_fees = |fees: Value| {
        let mut b = body(&p.a_bank, &p.b_balance, "10.00");
        b["fees"] = fees;
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!([fee(&p.b, "5.01")]), "", "Facilitator fee sum too large."),
        (json!([fee(&p.b, "3.00"), fee(&p.b, "2.01")]), "", "Facilitator fee sum too large."),
        (json!([fee(&p.b, "0.00")]), "", "Facilitator fee below minimum."),
        (json!([fee(&p.b, "abc")]), path, "Invalid facilitator fee amount."),
        (json!([fee(&stranger, "1.00")]), path, "Unable to charge fee to specified destination."),
        (
            json!([fee(&p.a, "1.00"), fee(&p.b, "1.00")]),
            path,
            "Currently, all fees must be paid by same destination.\"",
        ),
        (json!([fee("0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "1.00")]), "", "Facilitator fee account not found."),
        (
            json!([{ "_links": { "charge-to": { "href": format!("{DWOLLA_SANDBOX}/accounts/{}", app.sandbox.id) } },
                     "amount": { "value": "1.00", "currency": "USD" } }]),
            path,
            "Unable to charge fee to specified destination.",
        ),
    ];
    for (fees, at, message) in cases {
        let r = d.post("/transfers", with_fees(fees.clone())).await;
        assert_refused(&r, at, "Invalid", message);
    }
    // Exactly half is allowed.
    assert_eq!(d.post("/transfers", with_fees(json!([fee(&p.a, "5.00")]))).await.status, 201);
    // A customer paying itself has no one to facilitate for.
    let mut own = body(&p.a_bank, &p.a_balance, "10.00");
    own["fees"] = json!([fee(&p.a, "1.00")]);
    assert_refused(&d.post("/transfers", own).await, "", "Invalid", "Account cannot facilitate this transaction.");
}

// ---- cancellation --------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_transfer_cancels_once_with_its_legs_and_refunds_its_balance() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    fund(&app, &p.a_balance, 5_000).await;
    let mut b = body(&p.a_balance, &p.b_bank, "20.00");
    b["correlationId"] = json!("c-1");
    b["fees"] = json!([fee(&p.a, "1.00")]);
    let location = d.post("/transfers", b).await.location();
    assert_eq!(cents_in(&app, &p.a_balance).await, 2_900, "the amount and the sender's fee are held");
    let t = transfer(&d, &location).await;
    let credit = id_of(&href(&t, "funded-transfer"));

    let r = d.post(&location, json!({ "status": "processed" })).await;
    assert_refused(&r, "/status", "Invalid", "Status invalid.");
    let r = d.post(&location, json!({})).await;
    assert_refused(&r, "/status", "Invalid", "Status invalid.");

    let r = d.post(&location, json!({ "status": "cancelled" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    assert!(r.body["_links"].get("cancel").is_none(), "{}", r.text);
    assert_eq!(cents_in(&app, &p.a_balance).await, 5_000, "refunded");
    assert_eq!(transfer(&d, &format!("/transfers/{credit}")).await["status"], "cancelled");
    let fees = d.get(&format!("{location}/fees")).await;
    assert_eq!(fees.body["transactions"][0]["status"], "cancelled");

    let r = d.post(&location, json!({ "status": "cancelled" })).await;
    assert_refused(&r, "/status", "NotAllowed", "Status not allowed.");
    assert_eq!(cents_in(&app, &p.a_balance).await, 5_000, "refunded once");

    let corr = Some("c-1".to_owned());
    assert_eq!(
        events_about(&d, &credit).await,
        vec![
            ("customer_bank_transfer_created".to_owned(), Some(p.b.clone()), corr.clone()),
            ("customer_bank_transfer_cancelled".to_owned(), Some(p.b.clone()), corr.clone()),
        ]
    );
    let topics: Vec<String> = events_about(&d, &id_of(&location)).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        topics,
        [
            "customer_transfer_created",
            "customer_transfer_created",
            "customer_transfer_cancelled",
            "customer_transfer_cancelled"
        ]
    );

    // A processed transfer is not cancellable; an unknown one is a 404.
    let done = d.post("/transfers", body(&p.a_balance, &p.b_balance, "1.00")).await.location();
    assert_refused(
        &d.post(&done, json!({ "status": "cancelled" })).await,
        "/status",
        "NotAllowed",
        "Status not allowed.",
    );
    let r = d.post("/transfers/0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", json!({ "status": "cancelled" })).await;
    assert_error(&r, 404, "NotFound", None);
}

#[tokio::test]
async fn cancelling_a_leg_cancels_its_transfer() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let location = d.post("/transfers", body(&p.a_bank, &p.b_balance, "3.00")).await.location();
    let leg = href(&transfer(&d, &location).await, "funding-transfer");
    let r = d.post(&leg, json!({ "status": "cancelled" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], id_of(&leg).as_str());
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(transfer(&d, &location).await["status"], "cancelled");
}

// ---- lists ---------------------------------------------------------------------------------

#[tokio::test]
async fn transfer_lists_filter_and_page() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let p = pair(&d).await;
    let base = &app.payments_base;
    let mut ids = Vec::new();
    for (i, amount) in ["1.00", "2.00", "3.00", "4.00", "5.00"].iter().enumerate() {
        let mut b = body(&p.a_bank, &p.b_balance, amount);
        b["correlationId"] = json!(format!("order-{}", i % 2));
        ids.push(d.post("/transfers", b).await.created_id());
    }
    let cancel = format!("/transfers/{}", ids[0]);
    assert_eq!(d.post(&cancel, json!({ "status": "cancelled" })).await.status, 200);
    let list = |query: &str| {
        let path = format!("/customers/{}/transfers{query}", p.a);
        let d = d.clone();
        async move { d.get(&path).await }
    };
    let ids_of = |r: &HalResp| -> Vec<String> {
        r.body["_embedded"]["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = list("").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["total"], 5);
    assert_eq!(ids_of(&all), ids.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    let path = format!("{base}/customers/{}/transfers", p.a);
    assert_link(&all.body["_links"]["self"], &format!("{path}?limit=25&offset=0"), "transfer");
    assert_link(&all.body["_links"]["first"], &format!("{path}?limit=25&offset=0"), "transfer");
    for t in all.body["_embedded"]["transfers"].as_array().unwrap() {
        assert_timestamp(&t["created"]);
    }

    assert_eq!(list("?startAmount=2.00&endAmount=4.00").await.body["total"], 3);
    assert_eq!(ids_of(&list("?status=cancelled").await), [ids[0].clone()]);
    assert_eq!(list("?status=pending").await.body["total"], 4);
    assert_eq!(list("?correlationId=order-1").await.body["total"], 2);
    assert_eq!(list("?search=b%40example.com").await.body["total"], 5);
    assert_eq!(list("?search=nobody").await.body["total"], 0);
    let today = openiav_core::clock::Timestamp::from_millis(time::OffsetDateTime::now_utc().unix_timestamp() * 1000)
        .to_date_string();
    assert_eq!(list(&format!("?startDate={today}&endDate={today}")).await.body["total"], 5);
    assert_eq!(list("?endDate=2000-01-01").await.body["total"], 0);

    let page = list("?limit=2&offset=1&status=pending").await;
    assert_eq!(page.body["total"], 4);
    assert_eq!(ids_of(&page).len(), 2);
    assert_link(&page.body["_links"]["next"], &format!("{path}?limit=2&offset=3&status=pending"), "transfer");
    assert_link(&page.body["_links"]["prev"], &format!("{path}?limit=2&offset=0&status=pending"), "transfer");
    assert_link(&page.body["_links"]["last"], &format!("{path}?limit=2&offset=2&status=pending"), "transfer");

    assert_field_error(&list("?status=done").await, "/status", "Invalid");
    assert_field_error(&list("?startAmount=x").await, "/startAmount", "Invalid");
    assert_field_error(&list("?startDate=yesterday").await, "/startDate", "Invalid");
    assert_error(&d.get("/customers/0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f/transfers").await, 404, "NotFound", None);
    assert_error(&d.get("/accounts/0b1f7b7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f/transfers").await, 404, "NotFound", None);
    // The account takes no part in customer-to-customer transfers.
    assert_eq!(d.get(&format!("/accounts/{}/transfers", app.sandbox.id)).await.body["total"], 0);
}

// ---- isolation -----------------------------------------------------------------------------

#[tokio::test]
async fn another_tenant_sees_none_of_the_transfers_or_funding_sources() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let (other, _) = Dwolla::other_tenant(&app).await;
    let p = pair(&d).await;
    let location = d.post("/transfers", body(&p.a_bank, &p.b_balance, "1.00")).await.location();
    let leg = href(&transfer(&d, &location).await, "funding-transfer");

    assert_error(&other.get(&location).await, 404, "NotFound", None);
    assert_error(&other.get(&leg).await, 404, "NotFound", None);
    assert_error(&other.get(&format!("{location}/fees")).await, 404, "NotFound", None);
    assert_error(&other.post(&location, json!({ "status": "cancelled" })).await, 404, "NotFound", None);
    assert_error(&other.get(&format!("/customers/{}/transfers", p.a)).await, 404, "NotFound", None);
    assert_error(&other.get(&format!("/accounts/{}/transfers", app.sandbox.id)).await, 404, "NotFound", None);
    let r = other.post("/transfers", body(&p.a_bank, &p.b_balance, "1.00")).await;
    assert_refused(&r, "/_links/source/href", "Invalid", "Funding source not found.");
    assert_eq!(transfer(&d, &location).await["status"], "pending", "untouched");
}

// ---- the account as a party ----------------------------------------------------------------

/// The account's bank and balance, as `GET /accounts/{id}/funding-sources` lists them.
pub async fn account_sources(d: &Dwolla, tenant: &str) -> (String, String) {
    let r = d.get(&format!("/accounts/{tenant}/funding-sources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["_embedded"]["funding-sources"].as_array().unwrap();
    let id = |kind: &str| list.iter().find(|f| f["type"] == kind).unwrap()["id"].as_str().unwrap().to_owned();
    (id("bank"), id("balance"))
}

#[tokio::test]
async fn the_account_sends_from_its_bank_with_unprefixed_topics_and_lists_its_transfers() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let base = &app.payments_base;
    let tenant = app.sandbox.id.clone();
    let (bank, balance) = account_sources(&d, &tenant).await;
    // An unverified customer may receive from the account.
    let u = d.customer("Una", "una@example.com").await;
    let u_bank = d.bank_from_numbers(&u, "12121212", "U").await;

    let location = d.post("/transfers", body(&bank, &u_bank, "7.00")).await.location();
    let t = transfer(&d, &location).await;
    assert_link(&t["_links"]["source"], &format!("{base}/accounts/{tenant}"), "account");
    assert_link(&t["_links"]["destination"], &format!("{base}/customers/{u}"), "customer");
    let leg = id_of(&href(&t, "funding-transfer"));
    assert_eq!(events_about(&d, &leg).await, vec![("bank_transfer_created".to_owned(), None, None)]);
    assert_eq!(
        events_about(&d, &id_of(&location)).await,
        vec![
            ("transfer_created".to_owned(), None, None),
            ("customer_transfer_created".to_owned(), Some(u.clone()), None)
        ]
    );
    let leg_view = transfer(&d, &format!("/transfers/{leg}")).await;
    assert_link(&leg_view["_links"]["destination"], &format!("{base}/accounts/{tenant}"), "account");

    // Its balance sends what it holds.
    fund(&app, &balance, 300).await;
    let p_customer = verified_personal(&d, "p@example.com").await;
    let p_balance = balance_of(&d, &p_customer).await;
    assert_eq!(d.post("/transfers", body(&balance, &p_balance, "3.00")).await.status, 201);
    assert_eq!(cents_in(&app, &p_balance).await, 300);
    let r = d.post("/transfers", body(&balance, &p_balance, "0.01")).await;
    assert_refused(&r, "/_links/source/href", "InsufficientFunds", "Insufficient funds.");

    let listed = d.get(&format!("/accounts/{tenant}/transfers")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["total"], 2, "{}", listed.text);
    assert_eq!(d.get(&format!("/accounts/{}/transfers", tenant.to_uppercase())).await.body["total"], 2);
}
