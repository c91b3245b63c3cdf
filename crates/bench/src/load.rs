//! The load loop: N workers, each with its own keep-alive connection, repeat one operation
//! (a single request or a whole IAV flow) for a warm-up and then a measured window.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;

use crate::client::{truncate, Conn, Target};
use crate::flow::{self, FlowPlan};
use crate::iav::{self, IavPlan, WidgetSide};

/// How much of a failing response body an error report keeps.
pub const DETAIL_CHARS: usize = 600;

/// Why one operation failed: `kind` groups like failures, `detail` shows one of them.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: String,
    pub detail: String,
}

impl Failure {
    pub fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { kind: kind.into(), detail: detail.into() }
    }
}

/// Failures grouped by kind: how many, and the first one's detail.
#[derive(Debug, Default, Clone)]
pub struct Failures(BTreeMap<String, (u64, String)>);

impl Failures {
    pub fn add(&mut self, f: Failure) {
        self.0.entry(f.kind).or_insert((0, f.detail)).0 += 1;
    }

    pub fn merge(&mut self, other: Failures) {
        for (kind, (n, detail)) in other.0 {
            self.0.entry(kind).or_insert((0, detail)).0 += n;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &(u64, String))> {
        self.0.iter()
    }
}

/// What a worker repeats.
pub enum Op {
    /// One request; `label` names it in error reports (no concrete ids).
    Request { label: &'static str, method: Method, path: String, body: Option<Bytes> },
    /// One complete API-only IAV flow.
    Flow(FlowPlan),
    /// One complete seed 000 flow through the payments API, the widget completed by hand.
    Iav(Box<IavPlan>),
}

/// What one worker keeps from one operation to the next.
pub struct Worker {
    /// Its keep-alive connection to the run's target (for `iav`, the payments listener).
    pub conn: Conn,
    /// `iav` only: a second connection, to the aggregation listener, and the access token.
    pub widget: Option<WidgetSide>,
}

impl Worker {
    pub fn new(conn: Conn) -> Self {
        Self { conn, widget: None }
    }

    /// HTTP requests sent so far, on all its connections.
    fn requests(&self) -> u64 {
        self.conn.requests + self.widget.as_ref().map_or(0, |w| w.conn.requests)
    }

    /// TCP connections opened so far.
    fn connects(&self) -> u64 {
        self.conn.connects + self.widget.as_ref().map_or(0, |w| w.conn.connects)
    }
}

impl Op {
    async fn run(&self, worker: &mut Worker) -> Result<(), Failure> {
        match self {
            Op::Request { label, method, path, body } => {
                let reply = worker
                    .conn
                    .request(method.clone(), path, body.clone())
                    .await
                    .map_err(|e| Failure::new(format!("{label}: transport error"), format!("{e:#}")))?;
                if reply.status.is_success() {
                    Ok(())
                } else {
                    Err(Failure::new(format!("{label} → {}", reply.status.as_u16()), reply.text(DETAIL_CHARS)))
                }
            }
            Op::Flow(plan) => flow::run(plan, &mut worker.conn).await.map(|_| ()),
            Op::Iav(plan) => iav::run(plan, worker).await,
        }
    }
}

/// Everything one scenario run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latencies (µs) of the operations that succeeded inside the measured window, sorted.
    pub latencies_us: Vec<u64>,
    /// Failed operations over the whole run, warm-up included.
    pub errors: u64,
    pub failures: Failures,
    /// The measured window.
    pub window: Duration,
    /// HTTP requests sent by the operations that finished inside the window.
    pub requests_in_window: u64,
    /// Operations (failed or not) that finished inside the window.
    pub ops_in_window: u64,
    /// TCP connections opened by all workers together.
    pub connects: u64,
}

impl Outcome {
    /// Successful operations per second of the measured window.
    pub fn throughput(&self) -> f64 {
        self.latencies_us.len() as f64 / self.window.as_secs_f64()
    }

    /// The `p`th percentile latency in milliseconds (nearest rank), if anything succeeded.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        percentile(&self.latencies_us, p).map(|us| us as f64 / 1000.0)
    }

    /// Mean HTTP requests per operation (flows poll, so more than their 7 fixed requests).
    pub fn requests_per_op(&self) -> f64 {
        if self.ops_in_window == 0 {
            0.0
        } else {
            self.requests_in_window as f64 / self.ops_in_window as f64
        }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Runs `op` on `connections` workers for `warmup` and then `window`; operations finishing inside
/// the window are measured. Workers start nothing new after the window and finish what they began.
pub async fn run(target: &Target, connections: usize, op: Arc<Op>, warmup: Duration, window: Duration) -> Outcome {
    let start = Instant::now();
    let measure_from = start + warmup;
    let measure_to = measure_from + window;
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(Worker::new(Conn::new(target.clone())), op.clone(), measure_from, measure_to)))
        .collect();
    let mut total = Outcome { window, ..Outcome::default() };
    for w in workers {
        match w.await {
            Ok(o) => {
                total.latencies_us.extend(o.latencies_us);
                total.errors += o.errors;
                total.failures.merge(o.failures);
                total.requests_in_window += o.requests_in_window;
                total.ops_in_window += o.ops_in_window;
                total.connects += o.connects;
            }
            Err(e) => {
                total.errors += 1;
                total.failures.add(Failure::new("worker panicked", e.to_string()));
            }
        }
    }
    total.latencies_us.sort_unstable();
    total
}

async fn worker(mut w: Worker, op: Arc<Op>, measure_from: Instant, measure_to: Instant) -> Outcome {
    let mut out = Outcome::default();
    while Instant::now() < measure_to {
        let requests_before = w.requests();
        let began = Instant::now();
        let result = op.run(&mut w).await;
        let finished = Instant::now();
        let in_window = finished >= measure_from && finished <= measure_to;
        if in_window {
            out.ops_in_window += 1;
            out.requests_in_window += w.requests() - requests_before;
        }
        match result {
            Ok(()) if in_window => out.latencies_us.push((finished - began).as_micros() as u64),
            Ok(()) => {}
            Err(f) => {
                out.errors += 1;
                let transport = f.kind.ends_with("transport error");
                out.failures.add(f);
                if transport {
                    // Don't spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    out.connects = w.connects();
    out
}

/// The median of some figures (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// `s` cut for a one-line report.
pub fn one_line(s: &str) -> String {
    truncate(&s.replace(['\n', '\r'], " "), DETAIL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn failures_group_by_kind() {
        let mut f = Failures::default();
        f.add(Failure::new("a", "first"));
        f.add(Failure::new("a", "second"));
        let mut g = Failures::default();
        g.add(Failure::new("a", "third"));
        g.add(Failure::new("b", "x"));
        f.merge(g);
        let v: Vec<_> = f.iter().map(|(k, (n, d))| (k.clone(), *n, d.clone())).collect();
        assert_eq!(v, vec![("a".into(), 3, "first".into()), ("b".into(), 1, "x".into())]);
    }
}
