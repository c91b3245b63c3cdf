//! The tenant's test clock through `/_openiav/clock`: show, freeze, advance, set and release;
//! bad input; record timestamps on a frozen clock; MX challenge expiry, widget URLs, MX webhook
//! retries and micro-deposit landing driven by advancing (no sleeping); another tenant's clock
//! untouched; the `openiav sandbox clock` verb; and, on PostgreSQL, advances racing each other
//! and the background workers.

use openiav_aggregation::webhooks::settings;
use openiav_core::clock::{parse_rfc3339, Clock, SystemClock, Timestamp};
use openiav_core::crypto::Keyring;
use openiav_core::ids::TenantId;
use serde_json::{json, Value};

use crate::helpers::{Client, Options, Resp, TestApp};
use crate::payments::receiver::Receiver;
use crate::payments::support::Dwolla;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

fn time_of(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

async fn clock(c: &Client) -> Value {
    let r = c.get("/_openiav/clock").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn call(c: &Client, verb: &str, body: Value) -> Value {
    let r = c.post(&format!("/_openiav/clock/{verb}"), body).await;
    assert_eq!(r.status, 200, "{verb}: {}", r.text);
    r.body
}

async fn freeze(c: &Client) -> Timestamp {
    let r = call(c, "freeze", json!({})).await;
    assert_eq!(r["mode"], "frozen", "{r}");
    time_of(&r["now"])
}

async fn advance(c: &Client, duration: &str) -> Value {
    call(c, "advance", json!({ "duration": duration })).await
}

fn assert_control_error(r: &Resp, status: u16, code: &str, says: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

#[tokio::test]
async fn the_clock_is_real_until_frozen_then_moves_only_when_advanced_or_set_and_release_returns_to_real_time() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let before = SystemClock.now();
    let real = clock(&c).await;
    assert_eq!((real["mode"].as_str(), real["offset_ms"].as_i64()), (Some("real"), Some(0)), "{real}");
    assert!(time_of(&real["now"]) >= before.plus_millis(-1));

    let frozen = freeze(&c).await;
    let again = clock(&c).await;
    assert_eq!((again["mode"].as_str(), time_of(&again["now"])), (Some("frozen"), frozen), "a frozen clock stays put");
    assert_eq!(freeze(&c).await, frozen, "freezing a frozen clock keeps its time");

    let moved = advance(&c, "90s").await;
    assert_eq!((moved["mode"].as_str(), time_of(&moved["now"])), (Some("frozen"), frozen.plus_millis(90_000)));
    assert_eq!(moved["complete"], true);
    assert_eq!(moved["ran"], json!({ "member_jobs": 0, "dwolla_webhooks": 0, "mx_webhooks": 0 }));
    let iso = advance(&c, "PT1H").await;
    assert_eq!(time_of(&iso["now"]), frozen.plus_millis(90_000 + HOUR_MS));

    let target = frozen.plus_millis(2 * 86_400_000);
    let set = call(&c, "set", json!({ "time": target.to_rfc3339_millis() })).await;
    assert_eq!((set["mode"].as_str(), time_of(&set["now"])), (Some("frozen"), target), "{set}");
    let back = c.post("/_openiav/clock/set", json!({ "time": frozen.to_rfc3339_millis() })).await;
    assert_control_error(&back, 400, "BadRequest", "only moves forward");
    assert_eq!(time_of(&clock(&c).await["now"]), target, "a refused set leaves the clock");

    let released = call(&c, "release", json!({})).await;
    assert_eq!(released["mode"], "real", "{released}");
    let now = clock(&c).await;
    assert_eq!(now["mode"], "real");
    let t = time_of(&now["now"]);
    assert!(t < target && t >= before, "back on real time: {now}");

    // Advancing a real clock runs it ahead: an offset that keeps running.
    let ahead = advance(&c, "2d").await;
    assert_eq!(ahead["mode"], "offset", "{ahead}");
    let offset = ahead["offset_ms"].as_i64().unwrap();
    assert!((2 * 86_400_000 - 5_000..=2 * 86_400_000).contains(&offset), "{ahead}");
    call(&c, "release", json!({})).await;
}

#[tokio::test]
async fn bad_durations_times_and_bodies_are_400s_that_say_what_to_send() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for duration in ["soon", "-5m", "5 minutes", ""] {
        let r = c.post("/_openiav/clock/advance", json!({ "duration": duration })).await;
        assert_control_error(&r, 400, "BadRequest", "is not a duration");
    }
    let r = c.post("/_openiav/clock/advance", json!({ "by": "5m" })).await;
    assert_control_error(&r, 400, "BadRequest", r#"{"duration":"73h"}"#);
    let r = c.post("/_openiav/clock/set", json!({ "time": "next tuesday" })).await;
    assert_control_error(&r, 400, "BadRequest", "RFC 3339");
    let r = c.post_empty("/_openiav/clock/set").await;
    assert_control_error(&r, 400, "BadRequest", "JSON");
    let r = c.with_credentials(&app.sandbox.mx.client_id, "wrong").get("/_openiav/clock").await;
    assert_control_error(&r, 401, "Unauthorized", "credentials");
    assert_eq!(clock(&c).await["mode"], "real", "nothing changed");
}

#[tokio::test]
async fn a_frozen_clock_keeps_record_timestamps_still_and_another_tenants_clock_is_its_own() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let other = app.other_tenant().await;
    let frozen = freeze(&c).await;
    let d = Dwolla::sandbox(&app).await;
    let created = |d: Dwolla, n: u32| async move {
        let id = d.customer("Frozen", &format!("frozen-{n}@example.com")).await;
        time_of(&d.get(&format!("/customers/{id}")).await.body["created"])
    };
    assert_eq!(created(d.clone(), 1).await, frozen, "written at the frozen time");
    assert_eq!(created(d, 2).await, frozen, "and still, a moment later");
    let later = time_of(&advance(&c, "73h").await["now"]);
    assert_eq!(created(Dwolla::sandbox(&app).await, 3).await, later);

    // The other tenant is on the real clock, and its own moves never touch ours.
    let theirs = clock(&other).await;
    assert_eq!(theirs["mode"], "real", "{theirs}");
    call(&other, "freeze", json!({})).await;
    advance(&other, "1h").await;
    call(&other, "release", json!({})).await;
    assert_eq!(time_of(&clock(&c).await["now"]), later, "ours is still where we left it");
    let real_now = SystemClock.now();
    let (d, _) = Dwolla::other_tenant(&app).await;
    let theirs = d.customer("Real", "real@example.com").await;
    let stamp = time_of(&d.get(&format!("/customers/{theirs}")).await.body["created"]);
    assert!(stamp >= real_now.plus_millis(-1_000) && stamp < later, "another tenant writes real time: {stamp:?}");
}

#[tokio::test]
async fn an_mfa_challenge_expires_when_the_clock_passes_its_timeout() {
    let app = TestApp::spawn_with(Options { challenge_timeout_ms: 10 * MINUTE_MS as u64, ..Options::default() }).await;
    let c = app.client();
    freeze(&c).await;
    let user = c.create_user().await;
    let member = c.member_guid(&user, "mxuser", "challenge", false).await;
    // "0s" runs what is due now: the login step, which raises the challenge.
    let ran = advance(&c, "0s").await;
    assert!(ran["ran"]["member_jobs"].as_u64().unwrap() <= 1, "{ran}");
    assert_eq!(c.status(&user, &member).await["connection_status"], "CHALLENGED");

    let ran = advance(&c, "9m").await;
    assert_eq!(ran["ran"]["member_jobs"], 0, "{ran}");
    assert_eq!(c.status(&user, &member).await["connection_status"], "CHALLENGED", "not yet");
    let ran = advance(&c, "1m").await;
    assert_eq!(ran["ran"]["member_jobs"], 1, "the expiry job ran in the advance: {ran}");
    assert_eq!(c.status(&user, &member).await["connection_status"], "EXPIRED");
}

#[tokio::test]
async fn a_widget_url_cannot_be_opened_once_the_clock_is_ten_minutes_on() {
    let app = TestApp::spawn().await;
    let c = app.client();
    freeze(&c).await;
    let user = c.create_user().await;
    let mint = || async {
        let r = c
            .post(&format!("/users/{user}/widget_urls"), json!({ "widget_url": { "widget_type": "connect_widget" } }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["widget_url"]["url"].as_str().unwrap().to_owned()
    };
    let (early, late) = (mint().await, mint().await);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    advance(&c, "9m").await;
    assert_eq!(http.get(&early).send().await.unwrap().status(), 200, "nine minutes on");
    advance(&c, "1m").await;
    let r = http.get(&late).send().await.unwrap();
    assert_eq!(r.status(), 410, "ten minutes on, on the tenant's clock");
}

#[tokio::test]
async fn a_micro_deposit_lands_when_the_clock_reaches_its_landing() {
    let app = TestApp::spawn_with(Options { sandbox_delay_ms: HOUR_MS as u64, ..Options::default() }).await;
    let c = app.client();
    freeze(&c).await;
    let user = c.create_user().await;
    let body = json!({ "micro_deposit": {
        "account_name": "Clocked", "account_number": "3331261", "account_type": "CHECKING",
        "email": "a@example.com", "first_name": "Joshy", "last_name": "Grobanne", "routing_number": "068899994"
    }});
    let r = c.post(&format!("/users/{user}/micro_deposits"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let guid = r.body["micro_deposit"][0]["guid"].as_str().unwrap().to_owned();
    let status = || async {
        let r = c.get(&format!("/users/{user}/micro_deposits/{guid}")).await;
        r.body["micro_deposit"][0]["status"].as_str().unwrap_or_default().to_owned()
    };
    advance(&c, "59m").await;
    assert_eq!(status().await, "INITIATED");
    advance(&c, "1m").await;
    assert_eq!(status().await, "DEPOSITED");
}

#[tokio::test]
async fn advancing_walks_mx_webhook_retries_in_order_on_the_tenants_clock() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let tenant = TenantId::parse(&app.sandbox.id).unwrap();
    let keyring = Keyring::new(&app.key);
    settings::configure(&app.store, &keyring, SystemClock.now(), tenant, None, &receiver.url("/mx"), None)
        .await
        .unwrap();
    let frozen = freeze(&c).await;
    c.create_user().await;
    let ran = advance(&c, "25h").await;
    assert_eq!(ran["complete"], true, "{ran}");
    let got = receiver.received();
    assert_eq!(got.len(), 13, "the first attempt and twelve retries");
    assert!(ran["ran"]["mx_webhooks"].as_u64().unwrap() >= 12, "the retries ran in the advance: {ran}");

    let records = c.get("/_openiav/mx/webhooks").await;
    assert_eq!(records.status, 200, "{}", records.text);
    let list = records.body["webhooks"].as_array().cloned().unwrap_or_default();
    let webhook = list.first().unwrap_or_else(|| panic!("a webhook record: {}", records.text));
    let times: Vec<i64> = webhook["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| time_of(&a["request"]["timestamp"]).millis() - frozen.millis())
        .collect();
    let gaps = [1, 2, 4, 8, 15, 30, 60, 120, 180, 240, 360, 420].map(|m| m * MINUTE_MS);
    let expected: Vec<i64> = std::iter::once(0)
        .chain(gaps.iter().scan(0, |at, gap| {
            *at += gap;
            Some(*at)
        }))
        .collect();
    assert_eq!(times, expected, "attempts at MX's gaps on the tenant's clock");
}

/// Runs `openiav sandbox clock ARGS` against the app with the sandbox tenant's MX credentials.
async fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_openiav"));
    command
        .args(["sandbox", "clock"])
        .args(args)
        .env("OPENIAV_URL", &app.base)
        .env("OPENIAV_MX_CLIENT_ID", &app.sandbox.mx.client_id)
        .env("OPENIAV_MX_API_KEY", &app.sandbox.mx.api_key)
        .env_remove("OPENIAV_DWOLLA_KEY")
        .env_remove("OPENIAV_DWOLLA_SECRET");
    command.output().await.unwrap()
}

fn printed(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn the_sandbox_clock_verb_shows_freezes_advances_sets_and_releases_over_http() {
    let app = TestApp::spawn().await;
    assert_eq!(printed(&cli(&app, &["show"]).await)["mode"], "real");
    let frozen = printed(&cli(&app, &["freeze"]).await);
    assert_eq!(frozen["mode"], "frozen", "{frozen}");
    let start = time_of(&frozen["now"]);
    let moved = printed(&cli(&app, &["advance", "73h"]).await);
    assert_eq!((time_of(&moved["now"]), moved["complete"].as_bool()), (start.plus_millis(73 * HOUR_MS), Some(true)));
    assert!(moved["ran"].is_object(), "{moved}");
    let target = start.plus_millis(100 * HOUR_MS);
    let set = printed(&cli(&app, &["set", &target.to_rfc3339_millis()]).await);
    assert_eq!(time_of(&set["now"]), target);
    assert_eq!(time_of(&clock(&app.client()).await["now"]), target, "the server holds what the verb set");

    let refused = cli(&app, &["advance", "a while"]).await;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("is not a duration"), "{said}");

    assert_eq!(printed(&cli(&app, &["release"]).await)["mode"], "real");
    assert_eq!(clock(&app.client()).await["mode"], "real");
}
