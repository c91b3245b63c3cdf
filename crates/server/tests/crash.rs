//! Idempotency-Key across a crash: the real binary is killed with SIGKILL while idempotent
//! creates are in flight, restarted on the same database, and every request is retried with
//! its key. Each retry must answer the one customer its key created (a replay) or create it
//! afresh, never a 409 or a second customer; the same holds for clients that hang up
//! mid-request. Runs on SQLite, and on PostgreSQL when OPENIAV_TEST_POSTGRES_URL is set.

mod process;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openiav_store::testing;
use serde_json::{json, Value};

const KEY: &str = "crash-test-key-0001";
const SECRET: &str = "crash-test-secret-0001";

async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/token"))
        .form(&[("client_id", KEY), ("client_secret", SECRET), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().expect("a token").to_owned()
}

fn body(i: usize) -> String {
    json!({ "firstName": "Crash", "lastName": format!("Test{i}"), "email": format!("crash{i}@example.com") })
        .to_string()
}

/// `POST /customers` for request `i` under its key; the status and Location, or `None` when
/// the connection failed (the server died) or the client gave up after `give_up`.
async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    i: usize,
    give_up: Option<Duration>,
) -> Option<(u16, String)> {
    let mut req = http
        .post(format!("{base}/customers"))
        .bearer_auth(token)
        .header("accept", "application/vnd.dwolla.v1.hal+json")
        .header("content-type", "application/json")
        .header("idempotency-key", format!("crash-key-{i}"))
        .body(body(i));
    if let Some(t) = give_up {
        req = req.timeout(t);
    }
    let r = req.send().await.ok()?;
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert!(status == 201, "request {i} answered {status}: {text}");
    Some((status, location))
}

/// Retries every request with its key and checks that each key names exactly one customer.
async fn retry_all(http: &reqwest::Client, base: &str, count: usize, first: &[Option<(u16, String)>]) {
    let token = token(http, base).await;
    let mut locations = Vec::new();
    for i in 0..count {
        let (status, location) = create(http, base, &token, i, None).await.expect("the restarted server answers");
        assert_eq!(status, 201);
        if let Some(Some((_, before))) = first.get(i) {
            assert_eq!(&location, before, "request {i} replays the answer it was given before");
        }
        locations.push(location);
    }
    let mut unique = locations.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), count, "one customer per key");
    let r = http
        .get(format!("{base}/customers?limit=200"))
        .bearer_auth(&token)
        .header("accept", "application/vnd.dwolla.v1.hal+json")
        .send()
        .await
        .unwrap();
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed["total"].as_u64(), Some(count as u64), "no key made a second customer, none was lost");
}

async fn database(dir: &std::path::Path) -> String {
    match testing::postgres_test_url() {
        Some(admin) => testing::scratch_postgres_url(&admin).await.unwrap(),
        None => format!("sqlite://{}/crash.db", dir.display()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_of_requests_cut_short_by_sigkill_replay_or_run_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let key_file = dir.path().join("openiav.key");
    let http = reqwest::Client::new();
    const COUNT: usize = 150;
    const CLIENTS: usize = 12;

    let mut server = process::start(
        &db,
        &key_file,
        &[("OPENIAV_SANDBOX_DWOLLA_KEY", KEY), ("OPENIAV_SANDBOX_DWOLLA_SECRET", SECRET)],
    );
    let base = server.payments.clone();
    let token = token(&http, &base).await;
    // Twelve clients send the requests one after another; the server is killed once a third
    // of them have been answered, so some are answered, some in flight, some never sent.
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let third = Arc::new(tokio::sync::Notify::new());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            let (next, answered, third) = (next.clone(), answered.clone(), third.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= COUNT {
                        return mine;
                    }
                    let answer = create(&http, &base, &token, i, None).await;
                    if answer.is_some() && answered.fetch_add(1, Ordering::SeqCst) + 1 == COUNT / 3 {
                        third.notify_one();
                    }
                    mine.push((i, answer));
                }
            })
        })
        .collect();
    third.notified().await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut first = vec![None; COUNT];
    for client in clients {
        for (i, answer) in client.await.unwrap() {
            first[i] = answer;
        }
    }
    let cut = first.iter().filter(|a| a.is_none()).count();
    assert!(cut > 0, "the kill came while requests were still to be answered");

    let mut server = process::start(
        &db,
        &key_file,
        &[("OPENIAV_SANDBOX_DWOLLA_KEY", KEY), ("OPENIAV_SANDBOX_DWOLLA_SECRET", SECRET)],
    );
    retry_all(&http, &server.payments, COUNT, &first).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_of_requests_whose_clients_hang_up_replay_or_run_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let key_file = dir.path().join("openiav.key");
    let http = reqwest::Client::new();
    const COUNT: usize = 40;

    let mut server = process::start(
        &db,
        &key_file,
        &[("OPENIAV_SANDBOX_DWOLLA_KEY", KEY), ("OPENIAV_SANDBOX_DWOLLA_SECRET", SECRET)],
    );
    let base = server.payments.clone();
    let token = token(&http, &base).await;
    let running: Vec<_> = (0..COUNT)
        .map(|i| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            // Hang up after 1 to 8 ms: some before the server read the request, some while the
            // handler runs, some after it answered.
            let give_up = Duration::from_millis(1 + (i % 8) as u64);
            tokio::spawn(async move { create(&http, &base, &token, i, Some(give_up)).await })
        })
        .collect();
    let mut first = Vec::new();
    for r in running {
        first.push(r.await.unwrap());
    }
    // Right away, not after a lease runs out: no key is left half-claimed.
    retry_all(&http, &base, COUNT, &first).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
