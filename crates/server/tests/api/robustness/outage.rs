//! PostgreSQL going away (connections cut, or stalled without closing) answers 503 in each
//! vendor's envelope, `/ready` follows the database while `/health` stays 200, and the server
//! recovers without a restart. PostgreSQL only.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use openiav_store::testing;
use serde_json::{json, Value};

use super::proxy::Proxy;
use crate::helpers::{Client, TestApp};
use crate::payments::support::{self, Dwolla};

/// Fails the test instead of letting it hang; never a claim about speed.
async fn answered<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(90), fut).await.unwrap_or_else(|_| panic!("{what} never answered"))
}

/// `url` pointed at `addr` instead of its own host and port, and the address it named.
async fn redirected(url: &str, addr: SocketAddr) -> (String, SocketAddr) {
    let start = url.find("://").unwrap() + 3;
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    let target = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let upstream = tokio::net::lookup_host(target).await.unwrap().next().unwrap();
    (format!("{}{}{}", &url[..start + host_start], addr, &url[end..]), upstream)
}

async fn status_of(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

async fn assert_probes(app: &TestApp, ready: u16) {
    let http = reqwest::Client::new();
    for base in [&app.base, &app.payments_base] {
        let (status, body) = answered("/ready", status_of(&http, format!("{base}/ready"))).await;
        assert_eq!(status, ready, "{base}/ready: {body}");
        assert_eq!(body["status"], if ready == 200 { "ready" } else { "unavailable" });
        let (status, _) = answered("/health", status_of(&http, format!("{base}/health"))).await;
        assert_eq!(status, 200, "{base}/health stays up");
    }
}

/// Polls `/ready` on both listeners until the database is back.
async fn wait_until_ready(app: &TestApp) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        let a = status_of(&http, format!("{}/ready", app.base)).await.0;
        let p = status_of(&http, format!("{}/ready", app.payments_base)).await.0;
        if a == 200 && p == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the server never became ready again");
}

async fn assert_writes_unavailable(mx: &Client, d: &Dwolla, round: &str) {
    let r = answered("an MX write", mx.post("/users", json!({ "user": {} }))).await;
    assert_eq!(r.status, 503, "{round}: MX write: {}", r.text);
    assert!(!r.error_message().is_empty(), "{}", r.text);
    let r = answered(
        "a Dwolla write",
        d.post("/customers", json!({ "firstName": "Out", "lastName": "Age", "email": format!("{round}@example.com") })),
    )
    .await;
    assert_eq!(r.status, 503, "{round}: Dwolla write: {}", r.text);
    assert_eq!(r.code(), "ServiceUnavailable");
    support::check_media_type(&r);
}

async fn assert_writes_work(mx: &Client, d: &Dwolla, round: &str) {
    mx.create_user().await;
    d.customer("Back", &format!("back-{round}@example.com")).await;
}

#[tokio::test]
async fn a_cut_or_stalled_database_answers_503_and_the_server_recovers() {
    let Some(admin) = testing::postgres_test_url() else {
        eprintln!("skipped: {} is not set; database outages are PostgreSQL tests", testing::POSTGRES_URL_VAR);
        return;
    };
    let direct = testing::scratch_postgres_url(&admin).await.unwrap();
    let (_, upstream) = redirected(&direct, "127.0.0.1:1".parse().unwrap()).await;
    let proxy = Proxy::start(upstream).await;
    let (via_proxy, _) = redirected(&direct, proxy.addr).await;
    let mut app = TestApp::spawn_on_database(via_proxy, |a| a.request_timeout_ms = 3_000).await;
    let mx = app.client();
    let d = Dwolla::sandbox(&app).await;
    assert_probes(&app, 200).await;
    assert_writes_work(&mx, &d, "start").await;

    proxy.cut();
    assert_writes_unavailable(&mx, &d, "cut").await;
    assert_probes(&app, 503).await;
    proxy.restore();
    wait_until_ready(&app).await;
    assert_writes_work(&mx, &d, "after-cut").await;

    proxy.hold();
    assert_writes_unavailable(&mx, &d, "held").await;
    assert_probes(&app, 503).await;
    proxy.restore();
    wait_until_ready(&app).await;
    assert_writes_work(&mx, &d, "after-hold").await;

    answered("a graceful stop", app.stop()).await.unwrap();
    drop(proxy);
    let _ = testing::drop_scratch_postgres(&admin, &direct).await;
}
