//! The test clock across processes sharing one database (on PostgreSQL a second `App` on the
//! same database; on SQLite, whose one writer is one process, the same server twice): a change
//! made through one is seen by the next request to the other; concurrent advances take turns
//! and add up; and advances racing every process's background workers run each delivery once.

use std::collections::HashMap;
use std::sync::Arc;

use openiav_core::clock::{parse_rfc3339, SystemClock, Timestamp};
use openiav_server::app::App;
use openiav_server::config::ServeArgs;
use openiav_store::testing;
use serde_json::{json, Value};

use super::receiver::{subscribe, Receiver};
use super::support::{assert_error, Dwolla};
use crate::helpers::{Client, TestApp};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Another server on the same database: its aggregation and payments base URLs.
struct Peer {
    base: String,
    payments_base: String,
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn peer(app: &TestApp) -> Peer {
    if testing::postgres_test_url().is_none() {
        return Peer { base: app.base.clone(), payments_base: app.payments_base.clone(), _stop: None };
    }
    let second = App::build(&app.database_url, &app.key, ServeArgs::ephemeral(), Arc::new(SystemClock)).await.unwrap();
    let (base, payments_base) =
        (format!("http://{}", second.aggregation_addr()), format!("http://{}", second.payments_addr()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(second.run_until_stopped(async move {
        let _ = rx.await;
    }));
    Peer { base, payments_base, _stop: Some(tx) }
}

impl Peer {
    fn control(&self, app: &TestApp) -> Client {
        Client::new(&self.base, &app.sandbox.mx.client_id, &app.sandbox.mx.api_key)
    }

    async fn dwolla(&self, app: &TestApp) -> Dwolla {
        let form = [
            ("client_id", app.sandbox.dwolla.key.as_str()),
            ("client_secret", app.sandbox.dwolla.secret.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let r = reqwest::Client::new().post(format!("{}/token", self.payments_base)).form(&form).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        let mut d = Dwolla::with_token(app, body["access_token"].as_str().unwrap());
        d.base = self.payments_base.clone();
        d
    }
}

fn time_of(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

async fn clock_call(c: &Client, verb: &str, body: Value) -> Value {
    let r = c.post(&format!("/_openiav/clock/{verb}"), body).await;
    assert_eq!(r.status, 200, "{verb}: {}", r.text);
    r.body
}

/// How many times the receiver got each event.
fn deliveries_per_event(receiver: &Receiver) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for r in receiver.received() {
        *seen.entry(r.json()["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    seen
}

#[tokio::test]
async fn a_clock_changed_through_one_process_is_read_by_the_next_request_to_another() {
    let app = TestApp::spawn().await;
    let other = peer(&app).await;
    let (here, there) = (app.client(), other.control(&app));
    let frozen = time_of(&clock_call(&here, "freeze", json!({})).await["now"]);
    let seen = there.get("/_openiav/clock").await.body;
    assert_eq!((seen["mode"].as_str(), time_of(&seen["now"])), (Some("frozen"), frozen), "{seen}");

    let d = other.dwolla(&app).await;
    assert_eq!(d.get("/customers").await.status, 200);
    clock_call(&here, "advance", json!({ "duration": "61m" })).await;
    assert_error(&d.get("/customers").await, 401, "ExpiredAccessToken", None);
    clock_call(&here, "release", json!({})).await;
    assert_eq!(there.get("/_openiav/clock").await.body["mode"], "real");
    assert_eq!(d.get("/customers").await.status, 200);
}

#[tokio::test]
async fn concurrent_advances_take_turns_add_up_and_run_each_delivery_once() {
    let app = TestApp::spawn().await;
    let other = peer(&app).await;
    let (here, there) = (app.client(), other.control(&app));
    let start = time_of(&clock_call(&here, "freeze", json!({})).await["now"]);
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    subscribe(&d, &receiver.url("/race"), "race-secret").await;
    let events = 8;
    for i in 0..events {
        d.customer("Race", &format!("race-{i}@example.com")).await;
    }

    let (a, b) = tokio::join!(
        clock_call(&here, "advance", json!({ "duration": "2h" })),
        clock_call(&there, "advance", json!({ "duration": "2h" }))
    );
    let ends = [time_of(&a["now"]), time_of(&b["now"])];
    assert!(ends.contains(&start.plus_millis(4 * HOUR_MS)), "one advance came after the other: {a} {b}");
    assert!(ends.contains(&start.plus_millis(2 * HOUR_MS)), "{a} {b}");
    assert_eq!(time_of(&here.get("/_openiav/clock").await.body["now"]), start.plus_millis(4 * HOUR_MS));

    // Attempts at 0, 15 min, 1 h and 3 h for every event, each exactly once.
    let seen = deliveries_per_event(&receiver);
    assert_eq!(seen.len(), events);
    assert!(seen.values().all(|n| *n == 4), "{seen:?}");
    let retries = |v: &Value| v["ran"]["dwolla_webhooks"].as_u64().unwrap() as usize;
    assert!(retries(&a) + retries(&b) >= 3 * events, "the retries ran in the advances: {a} {b}");
}

#[tokio::test]
async fn an_advance_racing_the_background_workers_runs_every_due_delivery_once_in_order() {
    let app = TestApp::spawn().await;
    let other = peer(&app).await;
    let control = other.control(&app);
    let start = time_of(&clock_call(&control, "freeze", json!({})).await["now"]);
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let sub = subscribe(&d, &receiver.url("/busy"), "busy-secret").await;
    let events = 30;
    // The first deliveries are due at once: every process's worker reaches for them while the
    // advance starts.
    let creating = async {
        for i in 0..events {
            d.customer("Busy", &format!("busy-{i}@example.com")).await;
        }
    };
    // (Within the token's hour: events made meanwhile are written at whatever the clock reads.)
    let ((), advanced) = tokio::join!(creating, clock_call(&control, "advance", json!({ "duration": "30m" })));
    // What the advance did not see yet was due at once and is the workers' or the next advance's.
    let rest = clock_call(&control, "advance", json!({ "duration": "1h" })).await;
    let seen = deliveries_per_event(&receiver);
    assert_eq!(seen.len(), events, "{advanced} {rest}");
    assert!(seen.values().all(|n| *n >= 3), "0, 15 min and 1 h after each first attempt, at least: {seen:?}");

    let d = Dwolla::sandbox(&app).await;
    let r = d.get(&format!("/webhook-subscriptions/{sub}/webhooks?limit=100")).await;
    for w in r.body["_embedded"]["webhooks"].as_array().unwrap() {
        let w = d.get(w["_links"]["self"]["href"].as_str().unwrap()).await.body;
        let at: Vec<i64> = w["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| time_of(&a["request"]["timestamp"]).millis() - start.millis())
            .collect();
        assert!(at.windows(2).all(|p| p[0] < p[1]), "attempts in order, none twice: {at:?}");
        let first = at[0];
        let gaps: Vec<i64> = at.windows(2).map(|p| p[1] - p[0]).collect();
        assert_eq!(
            gaps[..2],
            [15 * MINUTE_MS, 45 * MINUTE_MS],
            "Dwolla's gaps from the first attempt at {first}: {at:?}"
        );
        assert_eq!(at.len(), seen[w["_links"]["event"]["href"].as_str().unwrap().rsplit('/').next().unwrap()]);
    }
}
