//! `GET /metrics`: Prometheus text on both listeners, without credentials, counting requests by
//! listener, method, route template and status, with latency, queue, webhook and store figures.

use std::collections::HashMap;
use std::time::Duration;

use crate::helpers::TestApp;
use crate::payments::receiver::{subscribe, wait_for_attempts, webhooks_of, Receiver};
use crate::payments::support::Dwolla;

/// Samples by their full name with labels, e.g. `m{a="b"}`, from the text format.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample line: {l}"));
            (name.to_owned(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {l}")))
        })
        .collect()
}

async fn scrape(base: &str) -> (String, HashMap<String, f64>) {
    let r = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn requests_are_counted_by_listener_route_and_status_with_latency_histograms() {
    let app = TestApp::spawn().await;
    let control = app.client();
    let users = r#"openiav_http_requests_total{listener="mx",method="GET",route="/users",status="200"}"#;
    let missing = r#"openiav_http_requests_total{listener="mx",method="GET",route="/users/{user}",status="404"}"#;
    let (_, before) = scrape(&app.base).await;
    for _ in 0..3 {
        assert_eq!(control.get("/users").await.status, 200);
    }
    assert_eq!(control.get("/users/USR-00000000-0000-0000-0000-000000000000").await.status, 404);
    let d = Dwolla::sandbox(&app).await;
    assert_eq!(d.get("/customers").await.status, 200);

    let (text, after) = scrape(&app.payments_base).await;
    // Several apps share the test process's recorder: counts only grow by at least ours.
    assert!(value(&after, users) - value(&before, users) >= 3.0, "{text}");
    assert!(value(&after, missing) - value(&before, missing) >= 1.0, "{text}");
    let customers = r#"openiav_http_requests_total{listener="dwolla",method="GET",route="/customers",status="200"}"#;
    assert!(value(&after, customers) >= 1.0, "{text}");
    let count = r#"openiav_http_request_duration_seconds_count{listener="mx",route="/users"}"#;
    assert!(value(&after, count) >= 3.0, "{text}");
    let inf = r#"openiav_http_request_duration_seconds_bucket{listener="mx",route="/users",le="+Inf"}"#;
    assert_eq!(value(&after, inf), value(&after, count));
    assert!(value(&after, "openiav_store_commit_duration_seconds_count") >= 1.0, "{text}");
    for queue in ["aggregation", "webhooks"] {
        assert!(after.contains_key(&format!(r#"openiav_job_queue_depth{{queue="{queue}"}}"#)), "{text}");
        assert!(after.contains_key(&format!(r#"openiav_job_queue_oldest_age_seconds{{queue="{queue}"}}"#)), "{text}");
    }
    // No tenant data: no credentials, no tenant or resource ids.
    for secret in [&app.sandbox.mx.client_id, &app.sandbox.mx.api_key, &app.sandbox.id, &d.token] {
        assert!(!text.contains(secret.as_str()), "{secret} in /metrics");
    }
}

#[tokio::test]
async fn webhook_deliveries_are_counted_by_vendor_and_outcome() {
    let app = TestApp::spawn().await;
    let d = Dwolla::sandbox(&app).await;
    let receiver = Receiver::start().await;
    let sub = subscribe(&d, &receiver.url("/hook"), "a-subscriber-secret").await;
    let delivered = r#"openiav_webhook_deliveries_total{vendor="dwolla",outcome="delivered"}"#;
    let (_, before) = scrape(&app.base).await;
    d.customer("Jane", "jane@example.com").await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let webhook = webhooks_of(&d, &sub).await[0]["id"].as_str().unwrap().to_owned();
    // The attempt is recorded after it is counted.
    wait_for_attempts(&d, &webhook, 1, Duration::from_secs(5)).await;
    let (text, after) = scrape(&app.base).await;
    assert!(value(&after, delivered) - value(&before, delivered) >= 1.0, "{text}");
}
