//! Several `openiav serve` processes on one PostgreSQL database (the scale-out promise): flows
//! driven through all of them run each job once, deliver each webhook once per subscription,
//! open a widget URL once, replay an Idempotency-Key whichever process answers, and follow
//! sandbox fixtures and fault rules changed through any of them. Needs OPENIAV_TEST_POSTGRES_URL; without it the
//! test says so and passes.

mod process;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use openiav_store::testing;
use serde_json::{json, Value};

const DWOLLA_KEY: &str = "multi-process-key-001";
const DWOLLA_SECRET: &str = "multi-process-secret-001";
const MX_CLIENT: &str = "multi-process-client-001";
const MX_KEY: &str = "multi-process-api-key-001";
const CREDENTIALS: &[(&str, &str)] = &[
    ("OPENIAV_SANDBOX_DWOLLA_KEY", DWOLLA_KEY),
    ("OPENIAV_SANDBOX_DWOLLA_SECRET", DWOLLA_SECRET),
    ("OPENIAV_SANDBOX_MX_CLIENT_ID", MX_CLIENT),
    ("OPENIAV_SANDBOX_MX_API_KEY", MX_KEY),
];
const HAL: &str = "application/vnd.dwolla.v1.hal+json";

/// What the webhook receiver got: event id → how many deliveries.
type Received = Arc<Mutex<HashMap<String, usize>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(|State(r): State<Received>, _headers: HeaderMap, body: Bytes| async move {
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                *r.lock().unwrap().entry(id).or_default() += 1;
                "ok"
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/token"))
        .form(&[("client_id", DWOLLA_KEY), ("client_secret", DWOLLA_SECRET), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

async fn dwolla_post(http: &reqwest::Client, url: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, String) {
    let mut req = http.post(url).bearer_auth(token).header("accept", HAL).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let r = req.body(body.to_string()).send().await.unwrap();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (r.status().as_u16(), location)
}

async fn mx(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http
        .request(method, url)
        .basic_auth(MX_CLIENT, Some(MX_KEY))
        .header("accept", "application/vnd.mx.api.v1+json");
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// Polls `check` every 50 ms until it holds; panics after a minute (a hang guard, not a speed test).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_on_one_database_share_the_work_without_doing_it_twice() {
    let Some(admin) = testing::postgres_test_url() else {
        eprintln!("skipping the multi-process test: OPENIAV_TEST_POSTGRES_URL is not set");
        return;
    };
    let db = testing::scratch_postgres_url(&admin).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("openiav.key");
    // The first process bootstraps the sandbox tenant; the others find it.
    let mut servers = vec![process::start(&db, &key_file, CREDENTIALS)];
    servers.push(process::start(&db, &key_file, CREDENTIALS));
    servers.push(process::start(&db, &key_file, CREDENTIALS));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let tokens = futures::future::join_all(servers.iter().map(|s| token(&http, &s.payments))).await;

    // A webhook subscription made through one process receives events made through all.
    let (hook, received) = receiver().await;
    let sub = json!({ "url": hook, "secret": "multi-process-secret" });
    let (status, _) =
        dwolla_post(&http, &format!("{}/webhook-subscriptions", servers[0].payments), &tokens[0], None, &sub).await;
    assert_eq!(status, 201);

    // An Idempotency-Key replays through every process, even when they race for it.
    let jane = json!({ "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com" });
    let answers = futures::future::join_all(servers.iter().zip(&tokens).map(|(s, t)| {
        let (http, jane) = (http.clone(), jane.clone());
        async move { dwolla_post(&http, &format!("{}/customers", s.payments), t, Some("shared-key"), &jane).await }
    }))
    .await;
    let first = &answers[0].1;
    for (status, location) in &answers {
        assert_eq!((*status, location), (201, first), "{answers:?}");
    }
    for (s, t) in servers.iter().zip(&tokens) {
        let again = dwolla_post(&http, &format!("{}/customers", s.payments), t, Some("shared-key"), &jane).await;
        assert_eq!(&again.1, first, "a replay through {}", s.payments);
    }

    // Customers made through each process: each event is delivered once to the subscription.
    const PER_PROCESS: usize = 10;
    let creates = servers
        .iter()
        .zip(&tokens)
        .enumerate()
        .flat_map(|(p, (s, t))| (0..PER_PROCESS).map(move |i| (p, i, s.payments.clone(), t.clone())));
    let created = futures::future::join_all(creates.map(|(p, i, base, t)| {
        let http = http.clone();
        async move {
            let body = json!({ "firstName": "P", "lastName": "Q", "email": format!("p{p}-{i}@example.com") });
            dwolla_post(&http, &format!("{base}/customers"), &t, None, &body).await.0
        }
    }))
    .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let events = 1 + 3 * PER_PROCESS;
    eventually("every customer_created webhook arriving", || received.lock().unwrap().len() == events).await;
    // Give stragglers a chance to show up twice before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = received.lock().unwrap().clone();
    assert_eq!(counts.len(), events);
    assert!(counts.values().all(|n| *n == 1), "each webhook delivered once: {counts:?}");

    // Aggregation jobs queued through each process all run to the end.
    let (status, institution) =
        mx(&http, reqwest::Method::GET, &format!("{}/institutions/mxbank/credentials", servers[0].aggregation), None)
            .await;
    assert_eq!(status, 200);
    let creds = institution["credentials"].as_array().unwrap().clone();
    let guid = |t: &str| creds.iter().find(|c| c["field_type"] == t).unwrap()["guid"].as_str().unwrap().to_owned();
    let (login, pass) = (guid("LOGIN"), guid("PASSWORD"));
    let mut members = Vec::new();
    for s in &servers {
        let (status, user) =
            mx(&http, reqwest::Method::POST, &format!("{}/users", s.aggregation), Some(json!({ "user": {} }))).await;
        assert_eq!(status, 200);
        let user = user["user"]["guid"].as_str().unwrap().to_owned();
        let body = json!({ "member": { "institution_code": "mxbank",
            "credentials": [{ "guid": login, "value": "mxuser" }, { "guid": pass, "value": "password" }] } });
        let (status, member) =
            mx(&http, reqwest::Method::POST, &format!("{}/users/{user}/members", s.aggregation), Some(body)).await;
        assert_eq!(status, 202, "{member}");
        members.push((user, member["member"]["guid"].as_str().unwrap().to_owned()));
    }
    for (i, (user, member)) in members.iter().enumerate() {
        // Read through another process than the one that created it.
        let base = &servers[(i + 1) % servers.len()].aggregation;
        let url = format!("{base}/users/{user}/members/{member}/status");
        let mut connected = false;
        for _ in 0..1200 {
            let (_, s) = mx(&http, reqwest::Method::GET, &url, None).await;
            if s["member"]["connection_status"] == "CONNECTED" && s["member"]["is_being_aggregated"] == false {
                connected = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(connected, "member {member} connected");
    }

    // A widget URL opens once, whichever processes race to open it.
    let (user, _) = &members[0];
    let (status, widget) = mx(
        &http,
        reqwest::Method::POST,
        &format!("{}/users/{user}/widget_urls", servers[0].aggregation),
        Some(json!({ "widget_url": { "widget_type": "connect_widget" } })),
    )
    .await;
    assert_eq!(status, 200, "{widget}");
    let url = widget["widget_url"]["url"].as_str().unwrap().to_owned();
    let path = url::Url::parse(&url).unwrap().path().to_owned();
    let opened = futures::future::join_all(servers.iter().flat_map(|s| {
        let (http, u) = (http.clone(), format!("{}{path}", s.aggregation));
        [0, 1].map(move |_| {
            let (http, u) = (http.clone(), u.clone());
            async move { http.get(u).send().await.unwrap().status().as_u16() }
        })
    }))
    .await;
    assert_eq!(opened.iter().filter(|s| **s == 200).count(), 1, "{opened:?}");
    assert!(opened.iter().all(|s| *s == 200 || *s == 410), "{opened:?}");

    // Sandbox fixtures loaded through one process reach the others, and so does a newer document.
    let example = include_str!("../../../docs/sandbox-fixtures.example.json");
    for name in ["Acme Bank", "Acme Bank Renamed"] {
        let mut doc: Value = serde_json::from_str(example).unwrap();
        doc["institutions"][0]["name"] = json!(name);
        let (status, loaded) =
            mx(&http, reqwest::Method::POST, &format!("{}/_openiav/fixtures", servers[0].aggregation), Some(doc)).await;
        assert_eq!(status, 200, "{loaded}");
        for s in &servers[1..] {
            let url = format!("{}/institutions/acme_bank", s.aggregation);
            let mut seen = Value::Null;
            for _ in 0..1200 {
                seen = mx(&http, reqwest::Method::GET, &url, None).await.1;
                if seen["institution"]["name"] == name {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(seen["institution"]["name"], name, "{} follows the stored fixtures", s.aggregation);
        }
    }

    // A fault rule added through one process applies in the others (each caches the rules
    // until the store's notification says they changed), and so does its removal.
    let rule =
        json!({ "listener": "mx", "method": "GET", "path": "/institutions/mxbank", "effect": "status", "status": 503 });
    let (status, added) =
        mx(&http, reqwest::Method::POST, &format!("{}/_openiav/faults", servers[0].aggregation), Some(rule)).await;
    assert_eq!(status, 201, "{added}");
    let answers = |wanted: u16| {
        let http = http.clone();
        let urls: Vec<String> = servers.iter().map(|s| format!("{}/institutions/mxbank", s.aggregation)).collect();
        async move {
            for url in urls {
                let mut seen = 0;
                for _ in 0..1200 {
                    seen = mx(&http, reqwest::Method::GET, &url, None).await.0;
                    if seen == wanted {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert_eq!(seen, wanted, "{url} follows the stored fault rules");
            }
        }
    };
    answers(503).await;
    let id = added["id"].as_str().unwrap();
    let (status, _) =
        mx(&http, reqwest::Method::DELETE, &format!("{}/_openiav/faults/{id}", servers[1].aggregation), None).await;
    assert_eq!(status, 204);
    answers(200).await;

    drop(servers);
    testing::drop_scratch_postgres(&admin, &db).await.unwrap();
}
