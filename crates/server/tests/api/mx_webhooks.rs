//! MX Platform webhooks through the real server: every type with its payload, a per-type URL
//! and the all-types URL, HTTP Basic auth on the wire, the `X-CALLBACK-PAYLOAD` echo, MX's retry
//! schedule on a manual clock, the delivery records API and its tenant scoping, the sandbox flag,
//! and no secret in payloads, records or logs.

use std::sync::Arc;
use std::time::Duration;

use openiav_aggregation::webhooks::settings;
use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::{Clock, ManualClock, SystemClock};
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use serde_json::{json, Value};

use crate::helpers::{captured_logs, Client, TestApp};
use crate::payments::raw_receiver::RawReceiver;
use crate::payments::receiver::{Received, Receiver};

const SOON: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(1500);
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// MX: retries thin out over about a day, at most 12 after the first attempt.
const RETRY_GAPS_MS: [i64; 12] = [
    MINUTE_MS,
    2 * MINUTE_MS,
    4 * MINUTE_MS,
    8 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    4 * HOUR_MS,
    6 * HOUR_MS,
    7 * HOUR_MS,
];

fn sandbox_tenant(app: &TestApp) -> TenantId {
    TenantId::parse(&app.sandbox.id).unwrap()
}

/// Points the tenant's MX webhooks of `kind` (all types with `None`) at `url`.
async fn configure(
    app: &TestApp,
    tenant: TenantId,
    kind: Option<MxWebhookType>,
    url: &str,
    basic: Option<(&str, &str)>,
) {
    let basic = basic.map(|(u, p)| (u.to_owned(), p.to_owned()));
    let keyring = Keyring::new(&app.key);
    settings::configure(&app.store, &keyring, SystemClock.now(), tenant, kind, url, basic).await.unwrap();
}

/// Waits until the receiver holds a webhook matching `pick`; returns it.
async fn webhook_where(receiver: &Receiver, what: &str, pick: impl Fn(&Value) -> bool) -> Received {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        if let Some(r) = receiver.received().into_iter().find(|r| pick(&r.json())) {
            return r;
        }
        let got: Vec<Value> = receiver.received().iter().map(Received::json).collect();
        assert!(tokio::time::Instant::now() < deadline, "no {what} webhook arrived; got {got:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn of_type<'a>(t: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |b| b["type"] == t
}

/// The tenant's delivery records (newest first).
async fn records(c: &Client, query: &str) -> Value {
    let r = c.get(&format!("/_openiav/mx/webhooks{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// Polls a record until it holds `n` attempts.
async fn record_with_attempts(c: &Client, guid: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let r = c.get(&format!("/_openiav/mx/webhooks/{guid}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["webhook"]["attempts"].as_array().is_some_and(|a| a.len() >= n) {
            return r.body["webhook"].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "fewer than {n} attempts: {}", r.text);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_array()?.iter().find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))?["value"]
        .as_str()
}

#[tokio::test]
async fn every_type_arrives_with_mx_fields() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let receiver = Receiver::start().await;
    configure(&app, sandbox_tenant(&app), None, &receiver.url("/mx"), None).await;

    // USER created and updated.
    let r = c.post("/users", json!({ "user": { "id": "partner-7", "email": "a@example.com" } })).await;
    let user = r.body["user"]["guid"].as_str().unwrap().to_owned();
    let created = webhook_where(&receiver, "USER created", |b| b["type"] == "USER" && b["action"] == "created").await;
    assert_eq!(created.path, "/mx");
    assert_eq!(created.header("content-type"), Some("application/json"));
    assert_eq!(created.headers.get("authorization"), None, "no Basic auth configured");
    let body = created.json();
    assert_eq!(
        body["user"],
        json!({ "email": "a@example.com", "guid": user, "id": "partner-7", "is_disabled": false, "metadata": null })
    );
    c.put(&format!("/users/{user}"), json!({ "user": { "metadata": "m" } })).await;
    let updated = webhook_where(&receiver, "USER updated", |b| b["type"] == "USER" && b["action"] == "updated").await;
    assert_eq!(updated.json()["user"]["metadata"], "m");

    // MEMBER created, echoing X-CALLBACK-PAYLOAD; the aggregation changes the connection status
    // and ends with AGGREGATION and its counts.
    let (login, pass) = c.credential_guids("mxbank").await;
    let resp = reqwest::Client::new()
        .post(format!("{}/users/{user}/members", app.base))
        .basic_auth(&app.sandbox.mx.client_id, Some(&app.sandbox.mx.api_key))
        .header("accept", "application/vnd.mx.api.v1+json")
        .header("content-type", "application/json")
        .header("X-CALLBACK-PAYLOAD", "order-42")
        .body(
            json!({ "member": { "institution_code": "mxbank", "id": "member-9",
                "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }] } })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let member: Value = resp.json().await.unwrap();
    let member = member["member"]["guid"].as_str().unwrap().to_owned();
    let m = webhook_where(&receiver, "MEMBER created", |b| b["type"] == "MEMBER" && b["action"] == "created").await;
    assert_eq!(m.header("x-callback-payload"), Some("order-42"));
    let b = m.json();
    assert_eq!(b["callback_payload"], "order-42");
    assert_eq!((b["guid"].as_str(), b["id"].as_str()), (Some(member.as_str()), Some("member-9")));
    assert_eq!((b["user_guid"].as_str(), b["user_id"].as_str()), (Some(user.as_str()), Some("partner-7")));
    assert_eq!(b["institution_code"], "mxbank");
    assert_eq!(b["connection_status"], "CREATED");
    c.settle(&user, &member).await;

    let cs = webhook_where(&receiver, "CONNECTION_STATUS", |b| {
        b["type"] == "CONNECTION_STATUS" && b["connection_status"] == "CONNECTED"
    })
    .await
    .json();
    assert_eq!(cs["action"], "CHANGED");
    assert_eq!(cs["connection_status_id"], 6);
    assert_eq!((cs["member_guid"].as_str(), cs["member_id"].as_str()), (Some(member.as_str()), Some("member-9")));
    assert_eq!((cs["user_guid"].as_str(), cs["user_id"].as_str()), (Some(user.as_str()), Some("partner-7")));
    assert_eq!(
        (cs["is_oauth"].clone(), cs["is_being_aggregated"].clone(), cs["is_background"].clone()),
        (json!(false), json!(false), json!(false))
    );
    assert!(
        cs["successfully_aggregated_at"].is_i64() && cs["aggregated_at"].is_i64() && cs["transmitted_at"].is_i64(),
        "{cs}"
    );
    assert_eq!(cs["institution_code"], "mxbank");

    let agg = webhook_where(&receiver, "AGGREGATION", of_type("AGGREGATION")).await.json();
    assert_eq!(agg["action"], "member_data_updated");
    assert_eq!(agg["member_guid"], member.as_str());
    assert_eq!(agg["user_id"], "partner-7");
    assert_eq!(agg["is_background"], false);
    let listed = c.get(&format!("/users/{user}/members/{member}/transactions?records_per_page=1000")).await;
    let total = listed.body["pagination"]["total_entries"].as_i64().unwrap();
    assert!(total > 0);
    assert_eq!(agg["transactions_created_count"], total, "every transaction is new on the first aggregation");
    assert_eq!(agg["transactions_updated_count"], 0);
    assert!(agg["completed_at"].is_i64() && agg["completed_on"].as_str().is_some_and(|d| d.len() == 10), "{agg}");

    // BALANCE, then HISTORY counting the older transactions it brought in.
    c.post_empty(&format!("/users/{user}/members/{member}/check_balance")).await;
    c.settle(&user, &member).await;
    let bal = webhook_where(&receiver, "BALANCE", of_type("BALANCE")).await.json();
    assert_eq!(
        (bal["action"].as_str(), bal["member_guid"].as_str()),
        (Some("member_data_updated"), Some(member.as_str()))
    );
    c.post_empty(&format!("/users/{user}/members/{member}/extend_history")).await;
    c.settle(&user, &member).await;
    let hist = webhook_where(&receiver, "HISTORY", of_type("HISTORY")).await.json();
    let after =
        c.get(&format!("/users/{user}/members/{member}/transactions?records_per_page=1000&from_date=2000-01-01")).await;
    let total_after = after.body["pagination"]["total_entries"].as_i64().unwrap();
    assert!(hist["transactions_created_count"].as_i64().unwrap() > 0, "{hist}");
    assert!(total_after > total, "extend_history brings in older transactions: {hist}");

    // STATEMENT when a statement fetch finishes: MX Bank's two deposit accounts get 12 each,
    // and a second fetch in the same month creates none.
    c.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    c.settle(&user, &member).await;
    let st = webhook_where(&receiver, "STATEMENT", of_type("STATEMENT")).await.json();
    assert_eq!(
        (st["action"].as_str(), st["member_guid"].as_str(), st["statements_created_count"].as_i64()),
        (Some("member_data_updated"), Some(member.as_str()), Some(24)),
        "{st}"
    );
    let listed = c.get(&format!("/users/{user}/members/{member}/statements")).await;
    assert_eq!(listed.body["pagination"]["total_entries"], 24, "{}", listed.text);
    c.post_empty(&format!("/users/{user}/members/{member}/fetch_statements")).await;
    c.settle(&user, &member).await;
    let again =
        webhook_where(&receiver, "second STATEMENT", |b| b["type"] == "STATEMENT" && b["job_guid"] != st["job_guid"])
            .await
            .json();
    assert_eq!(again["statements_created_count"], 0, "{again}");

    // VERIFICATION once the chosen account's numbers are available; every status on the way
    // (CHALLENGED, RESUMED, CONNECTED) sends CONNECTION_STATUS.
    c.post_empty(&format!("/users/{user}/members/{member}/verify")).await;
    let s = c.settle(&user, &member).await;
    let ch = &s["challenges"][0];
    let chosen = ch["options"][0]["value"].as_str().unwrap().to_owned();
    c.resume(&user, &member, ch["guid"].as_str().unwrap(), &chosen).await;
    c.settle(&user, &member).await;
    let v = webhook_where(&receiver, "VERIFICATION", of_type("VERIFICATION")).await.json();
    assert_eq!(v["accounts"], json!([chosen]));
    assert_eq!((v["action"].as_str(), v["user_id"].as_str()), (Some("member_data_updated"), Some("partner-7")));
    for status in ["CHALLENGED", "RESUMED"] {
        let cs =
            webhook_where(&receiver, status, |b| b["type"] == "CONNECTION_STATUS" && b["connection_status"] == status)
                .await
                .json();
        assert_eq!(cs["member_guid"], member.as_str());
    }

    // MICRODEPOSIT created (INITIATED), DEPOSITED when the deposits land, VERIFIED.
    let md = c
        .post(
            &format!("/users/{user}/micro_deposits"),
            json!({ "micro_deposit": { "account_number": "3331261", "account_type": "CHECKING", "routing_number": "068899994" } }),
        )
        .await;
    let md = md.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let of_md = |status: &'static str| {
        let md = md.clone();
        move |b: &Value| {
            b["type"] == "MICRODEPOSIT"
                && b["micro_deposit"]["guid"] == md.as_str()
                && b["micro_deposit"]["status_name"] == status
        }
    };
    let initiated = webhook_where(&receiver, "MICRODEPOSIT INITIATED", of_md("INITIATED")).await.json();
    assert_eq!((initiated["action"].as_str(), initiated["version"].as_i64()), (Some("created"), Some(1)));
    assert_eq!(initiated["micro_deposit"]["status"], 0);
    assert_eq!(initiated["micro_deposit"]["routing_number"], "068899994");
    assert_eq!(initiated["micro_deposit"]["user_id"], "partner-7");
    assert_eq!(initiated["micro_deposit"]["account_number"], "XXXXXX1261", "masked: stored only encrypted");
    webhook_where(&receiver, "MICRODEPOSIT DEPOSITED", of_md("DEPOSITED")).await;
    let r = c
        .put(
            &format!("/micro_deposits/{md}/verify"),
            json!({ "micro_deposit": { "deposit_amount_1": 0.09, "deposit_amount_2": 0.09 } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let verified = webhook_where(&receiver, "MICRODEPOSIT VERIFIED", of_md("VERIFIED")).await.json();
    assert_eq!((verified["action"].as_str(), verified["micro_deposit"]["status"].as_i64()), (Some("updated"), Some(2)));

    // MEMBER updated and deleted, USER deleted.
    c.put(&format!("/users/{user}/members/{member}"), json!({ "member": { "metadata": "x" } })).await;
    let up =
        webhook_where(&receiver, "MEMBER updated", |b| b["type"] == "MEMBER" && b["action"] == "updated").await.json();
    assert_eq!(up["metadata"], "x");
    assert!(up.get("callback_payload").is_none(), "no header, no echo");
    assert_eq!(c.delete(&format!("/users/{user}/members/{member}")).await.status, 204);
    webhook_where(&receiver, "MEMBER deleted", |b| {
        b["type"] == "MEMBER" && b["action"] == "deleted" && b["guid"] == member.as_str()
    })
    .await;
    assert_eq!(c.delete(&format!("/users/{user}")).await.status, 204);
    webhook_where(&receiver, "USER deleted", |b| b["type"] == "USER" && b["action"] == "deleted").await;

    // Every webhook sent is on record, with its payload as sent and a 200 attempt.
    let all = records(&c, "?records_per_page=100").await;
    let sent = receiver.received();
    assert_eq!(all["pagination"]["total_entries"].as_u64().unwrap() as usize, sent.len(), "{all}");
    for w in all["webhooks"].as_array().unwrap() {
        assert_eq!(w["url"], receiver.url("/mx"));
        let att = record_with_attempts(&c, w["guid"].as_str().unwrap(), 1).await;
        assert_eq!(att["attempts"][0]["response"]["statusCode"], 200, "{att}");
        assert!(sent.iter().any(|r| r.json() == w["payload"]), "{w}");
    }
}

#[tokio::test]
async fn a_type_with_its_own_url_goes_there_with_basic_auth_and_the_password_stays_secret() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let tenant = sandbox_tenant(&app);
    let all = Receiver::start().await;
    let members = RawReceiver::start().await;
    let password = "pw-9f3c1e7a5b-never-shown";
    configure(&app, tenant, None, &all.url("/all"), None).await;
    configure(&app, tenant, Some(MxWebhookType::Member), &members.url("/members"), Some(("hooks", password))).await;

    let user = c.create_user().await;
    c.member_guid(&user, "mxuser", "password", true).await;
    let raw = members.wait_for(1, SOON).await;
    let head = raw[0].head_text();
    assert!(head.starts_with("POST /members HTTP/1.1\r\n"), "{head}");
    // base64("hooks:pw-9f3c1e7a5b-never-shown")
    let expected = format!("Authorization: Basic {}\r\n", base64_encode(&format!("hooks:{password}")));
    assert!(head.contains(&expected), "{head}");
    assert!(head.contains("Content-Type: application/json\r\n"), "{head}");
    let body: Value = serde_json::from_slice(&raw[0].body).unwrap();
    assert_eq!(body["type"], "MEMBER");

    let user_hook = webhook_where(&all, "USER", of_type("USER")).await;
    assert_eq!(user_hook.path, "/all");
    assert_eq!(user_hook.headers.get("authorization"), None, "the all-types URL has no credentials");
    all.assert_still(1, QUIET, "the MEMBER webhook went to its own URL only").await;

    // The record redacts the Authorization value; the password is nowhere.
    let listed = records(&c, "?type=MEMBER").await;
    assert_eq!(listed["pagination"]["total_entries"], 1, "{listed}");
    let guid = listed["webhooks"][0]["guid"].as_str().unwrap();
    let w = record_with_attempts(&c, guid, 1).await;
    assert_eq!(w["url"], members.url("/members"));
    assert_eq!(header(&w["attempts"][0]["request"]["headers"], "authorization"), Some("Basic [REDACTED]"), "{w}");
    let everything = records(&c, "?records_per_page=100").await.to_string();
    let encoded = base64_encode(&format!("hooks:{password}"));
    for secret in [password, encoded.as_str()] {
        assert!(!everything.contains(secret) && !w.to_string().contains(secret));
        assert!(!String::from_utf8_lossy(&raw[0].body).contains(secret));
        assert!(!captured_logs().contains(secret), "a secret reached the logs");
    }
    // At rest the password is ciphertext.
    let stored = app
        .store
        .read(|mut conn| async move { openiav_store::repo::mx_webhooks::list_endpoints(&mut conn, tenant).await })
        .await
        .unwrap();
    let sealed = stored.iter().find_map(|e| e.basic_password.clone()).unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(password));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn a_failing_receiver_gets_twelve_retries_over_a_day_then_no_more_and_a_2xx_stops_them() {
    let clock = ManualClock::new(SystemClock.now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let c = app.client();
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    configure(&app, sandbox_tenant(&app), Some(MxWebhookType::User), &receiver.url("/down"), None).await;

    c.create_user().await;
    let first = receiver.wait_for(1, SOON).await[0].clone();
    receiver.assert_still(1, QUIET, "a failure is not retried at once").await;
    let guid = records(&c, "").await["webhooks"][0]["guid"].as_str().unwrap().to_owned();
    let mut made = 1;
    for (i, gap) in RETRY_GAPS_MS.iter().enumerate() {
        // Not a second early (checked for the first gaps; each check costs a quiet wait)...
        if i < 3 {
            clock.advance_millis(gap - 1000);
            receiver.assert_still(made, QUIET, &format!("retry {} not before its time", i + 1)).await;
            clock.advance_millis(1000);
        } else {
            clock.advance_millis(*gap);
        }
        // ...and then sent, the same body each time.
        let got = receiver.wait_for(made + 1, SOON).await;
        made += 1;
        assert_eq!(got[made - 1].body, first.body, "retry {} sends the same body", i + 1);
        record_with_attempts(&c, &guid, made).await;
    }
    assert_eq!(made, 13, "the first attempt and 12 retries");
    let w = record_with_attempts(&c, &guid, 13).await;
    let at: Vec<i64> = w["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| openiav_test_millis(a["request"]["timestamp"].as_str().unwrap()))
        .collect();
    let gaps: Vec<i64> = at.windows(2).map(|p| p[1] - p[0]).collect();
    assert_eq!(gaps, RETRY_GAPS_MS.to_vec(), "attempts at the scheduled offsets");
    assert_eq!(at[12] - at[0], 24 * HOUR_MS);
    assert!(w["attempts"].as_array().unwrap().iter().all(|a| a["response"]["statusCode"] == 500));
    clock.advance_millis(48 * HOUR_MS);
    receiver.assert_still(13, QUIET, "no retry after the twelfth").await;

    // A 2xx ends the retries of another webhook.
    c.create_user().await;
    receiver.wait_for(14, SOON).await;
    receiver.answer_with(204);
    clock.advance_millis(RETRY_GAPS_MS[0]);
    receiver.wait_for(15, SOON).await;
    let newest = records(&c, "").await["webhooks"][0]["guid"].as_str().unwrap().to_owned();
    let w = record_with_attempts(&c, &newest, 2).await;
    assert_eq!(w["attempts"][1]["response"]["statusCode"], 204);
    assert_eq!(w["delivered"], true);
    clock.advance_millis(24 * HOUR_MS);
    receiver.assert_still(15, QUIET, "a delivered webhook is not retried").await;
}

/// Milliseconds of an RFC 3339 timestamp with milliseconds (`…T12:34:56.789Z`).
fn openiav_test_millis(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn records_page_newest_first_filter_by_type_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let receiver = Receiver::start().await;
    configure(&app, sandbox_tenant(&app), None, &receiver.url("/mx"), None).await;
    let u1 = c.create_user().await;
    let u2 = c.create_user().await;
    c.put(&format!("/users/{u1}"), json!({ "user": { "metadata": "later" } })).await;
    receiver.wait_for(3, SOON).await;

    let all = records(&c, "").await;
    assert_eq!(all["pagination"]["total_entries"], 3);
    let ws = all["webhooks"].as_array().unwrap();
    assert_eq!(ws[0]["payload"]["action"], "updated", "newest first");
    assert_eq!(ws[1]["payload"]["user"]["guid"], u2.as_str());
    assert_eq!(ws[2]["payload"]["user"]["guid"], u1.as_str());
    assert!(ws.iter().all(|w| w["type"] == "USER" && w["created_at"].is_string()));
    // MX's paging rules: at least 10 a page; a page past the data is empty.
    let page = records(&c, "?records_per_page=10&page=2").await;
    assert_eq!(page["webhooks"], json!([]));
    assert_eq!(
        (page["pagination"]["total_pages"].as_i64(), page["pagination"]["current_page"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(records(&c, "?type=MEMBER").await["pagination"]["total_entries"], 0);
    assert_eq!(records(&c, "?type=USER").await["pagination"]["total_entries"], 3);
    let bad = c.get("/_openiav/mx/webhooks?type=NOPE").await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("NOPE"), "{}", bad.text);

    let guid = ws[0]["guid"].as_str().unwrap();
    let one = c.get(&format!("/_openiav/mx/webhooks/{guid}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["webhook"]["payload"], ws[0]["payload"]);

    // Another tenant sees none of it; a wrong password is refused.
    let other = app.other_tenant().await;
    assert_eq!(other.get(&format!("/_openiav/mx/webhooks/{guid}")).await.status, 404);
    assert_eq!(other.get("/_openiav/mx/webhooks").await.body["pagination"]["total_entries"], 0);
    assert_eq!(c.get("/_openiav/mx/webhooks/WHK-none").await.status, 404);
    let wrong = c.with_credentials(&app.sandbox.mx.client_id, "wrong");
    assert_eq!(wrong.get("/_openiav/mx/webhooks").await.status, 401);
}

#[tokio::test]
async fn without_an_endpoint_or_after_a_refused_change_nothing_is_sent() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let receiver = Receiver::start().await;
    // No endpoint yet: nothing written.
    c.create_user().await;
    assert_eq!(records(&c, "").await["pagination"]["total_entries"], 0);

    configure(&app, sandbox_tenant(&app), None, &receiver.url("/mx"), None).await;
    let taken = c.post("/users", json!({ "user": { "id": "taken" } })).await;
    assert_eq!(taken.status, 200);
    let other = c.create_user().await;
    receiver.wait_for(1, SOON).await;
    // The update fails (the id is taken) and its transaction rolls back: no USER updated.
    let r = c.put(&format!("/users/{other}"), json!({ "user": { "id": "taken" } })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    receiver.assert_still(2, QUIET, "the refused change sent nothing").await;
    assert!(receiver.received().iter().all(|r| r.json()["action"] == "created"));

    // Removing the endpoint stops new webhooks.
    configure(&app, sandbox_tenant(&app), None, "", None).await;
    c.create_user().await;
    receiver.assert_still(2, QUIET, "no endpoint, no webhook").await;
}

#[tokio::test]
async fn the_sandbox_flag_sets_the_all_types_url() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/mx");
    let app = TestApp::spawn_with_args(|a| a.sandbox_mx_webhook_url = Some(url)).await;
    let user = app.client().create_user().await;
    let got = webhook_where(&receiver, "USER", of_type("USER")).await;
    assert_eq!(got.path, "/mx");
    assert_eq!(got.json()["user"]["guid"], user.as_str());
}

#[tokio::test]
async fn another_tenant_may_not_reach_loopback() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let other = app.other_tenant_credentials().await;
    let tenant = TenantId::parse(&other.id).unwrap();
    configure(&app, tenant, None, &receiver.url("/mx"), None).await;
    let c = Client::new(&app.base, &other.mx.client_id, &other.mx.api_key);
    c.create_user().await;
    let guid = records(&c, "").await["webhooks"][0]["guid"].as_str().unwrap().to_owned();
    let w = record_with_attempts(&c, &guid, 1).await;
    assert_eq!(w["attempts"][0]["response"]["statusCode"], 0, "{w}");
    assert!(w["attempts"][0]["response"]["body"].as_str().unwrap().contains("may not reach"), "{w}");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn oauth_decisions_and_credential_updates_send_connection_status() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let receiver = Receiver::start().await;
    configure(&app, sandbox_tenant(&app), Some(MxWebhookType::ConnectionStatus), &receiver.url("/cs"), None).await;
    let user = c.create_user().await;

    // OAuth: PENDING (no change from the member's first status, so nothing yet), then DENIED.
    let r = c
        .post(
            &format!("/users/{user}/members"),
            json!({ "member": { "institution_code": "mx_bank_oauth", "credentials": [] } }),
        )
        .await;
    let uri = r.body["member"]["oauth_window_uri"].as_str().unwrap().to_owned();
    let oauth_member = r.body["member"]["guid"].as_str().unwrap().to_owned();
    let denied = reqwest::Client::new().post(&uri).form(&[("decision", "deny")]).send().await.unwrap();
    assert_eq!(denied.status(), 200);
    let cs = webhook_where(&receiver, "DENIED", |b| b["connection_status"] == "DENIED").await.json();
    assert_eq!((cs["member_guid"].as_str(), cs["is_oauth"].as_bool()), (Some(oauth_member.as_str()), Some(true)));
    assert_eq!(cs["connection_status_id"], 2);

    // New credentials: UPDATED, then CONNECTED once the aggregation they start finishes.
    let member = c.member_guid(&user, "mxuser", "password", true).await;
    let (_, pass) = c.credential_guids("mxbank").await;
    let r = c
        .put(
            &format!("/users/{user}/members/{member}"),
            json!({ "member": { "credentials": [{ "guid": pass, "value": "password" }] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    c.settle(&user, &member).await;
    let of_member = |status: &'static str| {
        let member = member.clone();
        move |b: &Value| b["member_guid"] == member.as_str() && b["connection_status"] == status
    };
    webhook_where(&receiver, "UPDATED", of_member("UPDATED")).await;
    webhook_where(&receiver, "CONNECTED", of_member("CONNECTED")).await;
    assert!(receiver.received().iter().all(|r| r.path == "/cs" && r.json()["type"] == "CONNECTION_STATUS"));
}
