//! `GET /metrics`: the process's counters and histograms in Prometheus text format (one
//! recorder per process, through the `metrics` facade), plus job queue gauges read from the
//! store at scrape time. No tenant data: labels are listeners, methods, route templates,
//! statuses, queues and outcomes.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use openiav_core::clock::Clock;
use openiav_core::ops::Listener;
use openiav_store::repo::queue_stats;
use openiav_store::Store;
use std::sync::Arc;

pub const REQUESTS: &str = "openiav_http_requests_total";
pub const REQUEST_SECONDS: &str = "openiav_http_request_duration_seconds";
pub const QUEUE_DEPTH: &str = "openiav_job_queue_depth";
pub const QUEUE_OLDEST_AGE: &str = "openiav_job_queue_oldest_age_seconds";

/// Histogram buckets (seconds): sub-millisecond loopback requests up to the request deadline.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The queues whose depth is reported: aggregation jobs and outbound webhook deliveries.
const QUEUES: [&str; 2] = [openiav_aggregation::engine::QUEUE, openiav_outbound::QUEUE];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (several apps in one test process share it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().set_buckets(&BUCKETS).expect("buckets are not empty").build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what reaches this one");
        }
        handle
    })
}

/// Counts one answered request.
pub fn record_request(listener: Listener, method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("listener", listener.as_str().to_owned()),
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    let labels = [("listener", listener.as_str().to_owned()), ("route", route.to_owned())];
    metrics::histogram!(REQUEST_SECONDS, &labels).record(elapsed.as_secs_f64());
}

/// What a scrape reads.
#[derive(Clone)]
pub struct Scrape {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

pub async fn scrape(State(scrape): State<Scrape>) -> Response {
    let handle = handle();
    let now = scrape.clock.now();
    for queue in QUEUES {
        match scrape.store.read(|mut c| async move { queue_stats::depth(&mut c, queue, now).await }).await {
            Ok(depth) => {
                metrics::gauge!(QUEUE_DEPTH, "queue" => queue).set(depth.jobs as f64);
                let age = depth.oldest_due_at.map_or(0, |at| now.millis().saturating_sub(at.millis()).max(0));
                metrics::gauge!(QUEUE_OLDEST_AGE, "queue" => queue).set(age as f64 / 1000.0);
            }
            Err(e) => tracing::warn!(error = %e, queue, "reading a queue's depth for /metrics failed"),
        }
    }
    handle.run_upkeep();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
        .into_response()
}
