//! A webhook receiver for tests (an axum server on 127.0.0.1:0 that records every request's
//! headers and raw body and answers with a status the test picks), and the webhook calls the
//! delivery tests share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::support::Dwolla;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

/// A local HTTP server recording what it is sent (each request as it arrives, before answering).
/// It answers 200 at once until told otherwise; a 3xx answer carries `Location: /followed`, so a
/// followed redirect would show up in the log.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

async fn record(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.log.lock().unwrap().push(Received { method, path: uri.path().to_owned(), headers, body });
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap();
    let mut resp = (status, format!("receiver says {}", status.as_u16())).into_response();
    if status.is_redirection() {
        resp.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/followed"));
    }
    resp
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared { log: Arc::default(), status: Arc::new(AtomicU16::new(200)), delay_ms: Arc::default() };
        let router = Router::new().fallback(record).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers every later request with `status`.
    pub fn answer_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Holds every later answer back for `delay`.
    pub fn answer_after(&self, delay: Duration) {
        self.shared.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits (up to `within`) until at least `n` requests have arrived; panics otherwise.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits `wait` (longer than the delivery worker's longest sleep), then asserts that the
    /// receiver holds exactly `n` requests.
    pub async fn assert_still(&self, n: usize, wait: Duration, why: &str) {
        tokio::time::sleep(wait).await;
        let got = self.received();
        assert_eq!(got.len(), n, "{why}: {:?}", got.iter().map(|r| &r.path).collect::<Vec<_>>());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Lower-case hex HMAC-SHA256 of `body` keyed with `secret`, computed independently of the server.
pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Creates a webhook subscription; returns its id.
pub async fn subscribe(d: &Dwolla, url: &str, secret: &str) -> String {
    let r = d.post("/webhook-subscriptions", json!({ "url": url, "secret": secret })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.created_id()
}

/// Pauses or unpauses a subscription; returns its body.
pub async fn set_paused(d: &Dwolla, subscription: &str, paused: bool) -> Value {
    let r = d.post(&format!("/webhook-subscriptions/{subscription}"), json!({ "paused": paused })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["paused"], paused, "{}", r.text);
    r.body
}

/// A subscription's webhooks, newest first.
pub async fn webhooks_of(d: &Dwolla, subscription: &str) -> Vec<Value> {
    let r = d.get(&format!("/webhook-subscriptions/{subscription}/webhooks")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["_embedded"]["webhooks"].as_array().unwrap().clone()
}

/// The subscription's webhook about `topic` and `resource_id` (its event's resource).
pub async fn webhook_about(d: &Dwolla, subscription: &str, topic: &str, resource_id: &str) -> Value {
    for w in webhooks_of(d, subscription).await {
        if w["topic"] != topic {
            continue;
        }
        let event = d.get(w["_links"]["event"]["href"].as_str().unwrap()).await;
        if event.body["resourceId"] == resource_id {
            return w;
        }
    }
    panic!("no {topic} webhook about {resource_id} for subscription {subscription}");
}

/// Polls `GET /webhooks/{id}` (for up to `within`) until it records at least `n` attempts.
pub async fn wait_for_attempts(d: &Dwolla, webhook: &str, n: usize, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = d.get(&format!("/webhooks/{webhook}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["attempts"].as_array().is_some_and(|a| a.len() >= n) {
            return r.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "webhook {webhook} has fewer than {n} attempts: {}", r.text);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The value of the header `name` in a recorded attempt's `[{name,value}]` list.
pub fn attempt_header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_array()?
        .iter()
        .find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h["value"].as_str())
}
