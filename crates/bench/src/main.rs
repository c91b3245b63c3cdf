//! `openiav-bench`: measures an openiav child process against a bare axum baseline running in
//! this process, with one HTTP/1.1 client of keep-alive connections, and prints a markdown table
//! of figures (medians of rounds). It reports what it measured and never judges timings.

mod baseline;
mod client;
mod flow;
mod iav;
mod load;
mod openiav;
mod transfers;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hyper::Method;

use crate::baseline::Baseline;
use crate::client::{Conn, Target};
use crate::load::{one_line, Failures, Op, Outcome};
use crate::openiav::{Database, Openiav, DWOLLA_KEY, DWOLLA_SECRET, MX_API_KEY, MX_CLIENT_ID};

/// Each scenario run starts with this much unmeasured load.
const WARMUP: Duration = Duration::from_secs(1);
/// A pause between scenario runs so one run's leftovers (checkpoints, queued jobs) settle.
const SETTLE: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `GET /users/{u}/members/{m}/status` (baseline: `GET /fixed`).
    Status,
    /// `POST /users` (baseline: `POST /insert`).
    Users,
    /// Complete API-only IAV flows, seed 001 (no baseline).
    Flows,
    /// Complete seed 000 flows: payments API, Connect widget through its own endpoints, verified
    /// funding source (no baseline).
    Iav,
    /// `POST /transfers`, $1.00 from a verified bank to the account's balance (no baseline).
    Transfers,
    /// One `POST /sandbox-simulations` processing 500 pending bank transfers, timed once per
    /// round (no baseline; the rate is bank transfers processed per second).
    Simulation,
}

impl Scenario {
    fn title(self) -> &'static str {
        match self {
            Scenario::Status => "GET /users/{u}/members/{m}/status",
            Scenario::Users => "POST /users",
            Scenario::Flows => "IAV flow (seed 001)",
            Scenario::Iav => "IAV flow (seed 000: payments API + widget)",
            Scenario::Transfers => "POST /transfers (bank → account balance)",
            Scenario::Simulation => "POST /sandbox-simulations, 500 pending bank transfers (bank transfers/s)",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Scenario::Status => "status",
            Scenario::Users => "users",
            Scenario::Flows => "flows",
            Scenario::Iav => "iav",
            Scenario::Transfers => "transfers",
            Scenario::Simulation => "simulation",
        }
    }

    /// Whether one operation is a whole flow (reported in flows/s, with requests per flow).
    fn is_flow(self) -> bool {
        matches!(self, Scenario::Flows | Scenario::Iav)
    }
}

/// Measures openiav against a bare axum baseline on this machine.
#[derive(Debug, Parser)]
#[command(name = "openiav-bench", version)]
struct Args {
    /// The openiav binary to start (`cargo build --release -p openiav-server`).
    #[arg(long, default_value = "target/release/openiav")]
    openiav: PathBuf,
    /// A PostgreSQL server URL (`postgres://…`) on which to create a fresh database for openiav;
    /// without it openiav runs on a fresh SQLite file.
    #[arg(long)]
    database: Option<String>,
    /// Measured seconds per scenario run (after a 1 s warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Rounds; every figure reported is the median over rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent workers, each with its own keep-alive connection (or flow).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "status,users,flows")]
    scenarios: Vec<Scenario>,
    /// Most status polls one flow step may take before the flow counts as failed.
    #[arg(long, default_value_t = 10_000)]
    poll_cap: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Openiav,
    Baseline,
}

/// The figures of one scenario run.
#[derive(Debug, Clone)]
struct Figures {
    throughput: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    errors: u64,
    connects: u64,
    requests_per_op: f64,
    ok: usize,
}

impl Figures {
    /// One timed simulation: bank transfers processed per second, its latency as p50 and p99.
    fn of_simulation(s: &transfers::Simulated) -> Self {
        let secs = s.elapsed.as_secs_f64();
        let ms = secs * 1000.0;
        Self {
            throughput: s.processed as f64 / secs,
            p50_ms: Some(ms),
            p99_ms: Some(ms),
            errors: 0,
            connects: 1,
            requests_per_op: 1.0,
            ok: 1,
        }
    }

    fn of(o: &Outcome) -> Self {
        Self {
            throughput: o.throughput(),
            p50_ms: o.percentile_ms(50.0),
            p99_ms: o.percentile_ms(99.0),
            errors: o.errors,
            connects: o.connects,
            requests_per_op: o.requests_per_op(),
            ok: o.latencies_us.len(),
        }
    }
}

/// Everything measured for one scenario on one side.
#[derive(Default)]
struct Series {
    rounds: Vec<Figures>,
    failures: Failures,
}

impl Series {
    fn median(&self, f: impl Fn(&Figures) -> Option<f64>) -> Option<f64> {
        let values: Vec<f64> = self.rounds.iter().filter_map(f).collect();
        load::median(&values)
    }
    fn errors(&self) -> u64 {
        self.rounds.iter().map(|r| r.errors).sum()
    }
}

struct ScenarioResult {
    scenario: Scenario,
    openiav: Series,
    baseline: Option<Series>,
}

/// What openiav is measured on: an operation repeated under load, or one timed simulation.
enum Work {
    Load(Arc<Op>),
    Simulation(Arc<transfers::TransferPlan>),
}

/// One scenario, ready to run: openiav's operation on its target, and the baseline's if any.
struct Planned {
    scenario: Scenario,
    target: Target,
    openiav: Work,
    baseline: Option<Arc<Op>>,
}

struct Measured {
    results: Vec<ScenarioResult>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("openiav-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The openiav binary: as given, else beside this program (both are built into one target dir).
fn resolve_binary(given: &Path) -> anyhow::Result<PathBuf> {
    if given.is_file() {
        return Ok(given.to_owned());
    }
    if let Some(beside) = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("openiav"))) {
        if given == Path::new("target/release/openiav") && beside.is_file() {
            return Ok(beside);
        }
    }
    anyhow::bail!("no openiav binary at {} (build it: cargo build --release -p openiav-server)", given.display())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn git_commit() -> String {
    match command_output("git", &["rev-parse", "--short", "HEAD"]) {
        Some(c) => {
            let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} (with uncommitted changes)")
            } else {
                c
            }
        }
        None => "unknown".to_owned(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn command_line() -> String {
    std::env::args()
        .map(|a| if a.is_empty() || a.contains(char::is_whitespace) { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}

async fn run(args: Args) -> anyhow::Result<String> {
    anyhow::ensure!(args.seconds >= 1, "--seconds must be at least 1");
    anyhow::ensure!(args.rounds >= 1, "--rounds must be at least 1");
    anyhow::ensure!(args.connections >= 1, "--connections must be at least 1");
    anyhow::ensure!(args.poll_cap >= 1, "--poll-cap must be at least 1");
    anyhow::ensure!(!args.scenarios.is_empty(), "--scenarios names no scenario");
    let mut scenarios = args.scenarios.clone();
    scenarios.dedup();

    let started = Instant::now();
    let started_at = now_utc();
    let load_before = load_average();
    let binary = resolve_binary(&args.openiav)?;
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::Builder::new().prefix("openiav-bench-").tempdir().context("creating a temporary directory")?;

    let baseline = Baseline::start(&dir.path().join("baseline.db"), nproc).context("starting the baseline")?;
    let database = match Database::create(args.database.as_deref(), dir.path()).await {
        Ok(d) => d,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || baseline.stop()).await;
            return Err(e.context("creating openiav's database"));
        }
    };
    let db_settings = database.settings().await.unwrap_or_else(|e| Some(format!("(settings unreadable: {e})")));
    let server = match Openiav::start(&binary, database.url(), dir.path()).await {
        Ok(s) => s,
        Err(e) => {
            let _ = database.drop_database().await;
            let _ = tokio::task::spawn_blocking(move || baseline.stop()).await;
            return Err(e);
        }
    };
    eprintln!(
        "openiav {} on http://{} (payments http://{}); baseline on http://{}",
        binary.display(),
        server.addr,
        server.payments,
        baseline.addr
    );

    let measured = measure(&args, &scenarios, &server, &baseline).await;

    let mut notes = String::new();
    match server.stop().await {
        Ok((status, warnings)) => {
            let _ = writeln!(notes, "- openiav exited with {status} after SIGTERM.");
            if warnings.is_empty() {
                let _ = writeln!(notes, "- openiav logged no WARN or ERROR lines.");
            } else {
                let _ = writeln!(notes, "- openiav logged {} WARN/ERROR lines; the first ones:", warnings.len());
                for w in warnings.iter().take(10) {
                    let _ = writeln!(notes, "  - `{}`", one_line(w));
                }
            }
        }
        Err(e) => {
            let _ = writeln!(notes, "- stopping openiav failed: {e:#}");
        }
    }
    let backend = database.backend();
    if let Err(e) = database.drop_database().await {
        let _ = writeln!(notes, "- dropping the benchmark database failed: {e:#}");
    }
    if let Err(e) = tokio::task::spawn_blocking(move || baseline.stop()).await? {
        let _ = writeln!(notes, "- the baseline stopped with an error: {e:#}");
    }
    let measured = measured?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "openiav-bench · {started_at} · commit {} · nproc {nproc} · load average before the run {load_before} · \
         command: `{}`",
        git_commit(),
        command_line()
    );
    let _ = writeln!(out);
    out.push_str(&table(backend, &measured));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "- Medians of {} round(s); each run: {} s measured after a {} s warm-up, {} concurrent keep-alive \
         connections (one per worker). Errors are totals over all rounds, warm-ups included (openiav / baseline).",
        args.rounds,
        args.seconds,
        WARMUP.as_secs(),
        args.connections
    );
    let _ = writeln!(
        out,
        "- openiav: `{}` on {backend}{}; baseline: in-process axum on its own {nproc}-thread runtime, `GET /fixed` \
         ({} B body) and `POST /insert` (one autocommit INSERT per request, SQLite WAL + synchronous=FULL, \
         one connection). The load generator shares the same {nproc} cores.",
        binary.display(),
        db_settings.map(|s| format!(" ({s})")).unwrap_or_default(),
        baseline::FIXED_BODY.len()
    );
    out.push_str(&details(&measured));
    out.push_str(&notes);
    let _ = writeln!(out, "- Total run time: {:.1} s.", started.elapsed().as_secs_f64());
    Ok(out)
}

/// Sets up every scenario, then runs rounds, alternating baseline and openiav within each.
async fn measure(
    args: &Args,
    scenarios: &[Scenario],
    server: &Openiav,
    baseline: &Baseline,
) -> anyhow::Result<Measured> {
    let openiav_target = Target::new(server.addr, MX_CLIENT_ID, MX_API_KEY);
    let baseline_target = Target::new(baseline.addr, MX_CLIENT_ID, MX_API_KEY);
    let mut setup = Conn::new(openiav_target.clone());
    let plan = flow::plan(&mut setup, args.poll_cap).await.context("reading MX Bank's credential fields")?;
    let payments_target = Target::anonymous(server.payments, iav::HAL_ACCEPT);

    let user_body = Bytes::from_static(br#"{"user":{}}"#);
    let mut ops: Vec<Planned> = Vec::new();
    let mut transfer_plan: Option<Arc<transfers::TransferPlan>> = None;
    for &scenario in scenarios {
        if matches!(scenario, Scenario::Transfers | Scenario::Simulation) {
            let plan = match &transfer_plan {
                Some(p) => p.clone(),
                None => {
                    let form = iav::token_form(DWOLLA_KEY, DWOLLA_SECRET);
                    let p = transfers::plan(server.payments, form).await.context("setting up a verified bank")?;
                    transfer_plan.insert(Arc::new(p)).clone()
                }
            };
            let work = match scenario {
                Scenario::Transfers => Work::Load(Arc::new(Op::Request {
                    label: "POST /transfers",
                    method: Method::POST,
                    path: "/transfers".into(),
                    body: Some(plan.body.clone()),
                })),
                _ => Work::Simulation(plan.clone()),
            };
            ops.push(Planned { scenario, target: plan.target.clone(), openiav: work, baseline: None });
            continue;
        }
        // Seed 000 runs on the payments listener (its widget connection is the plan's business).
        let target = if scenario == Scenario::Iav { payments_target.clone() } else { openiav_target.clone() };
        let (openiav_op, baseline_op) = match scenario {
            Scenario::Status => {
                let (user, member) = flow::run(&plan, &mut setup)
                    .await
                    .map_err(|f| anyhow::anyhow!("setting up a CONNECTED member failed: {}: {}", f.kind, f.detail))?;
                (
                    Op::Request {
                        label: "GET /users/{u}/members/{m}/status",
                        method: Method::GET,
                        path: format!("/users/{user}/members/{member}/status"),
                        body: None,
                    },
                    Some(Op::Request { label: "GET /fixed", method: Method::GET, path: "/fixed".into(), body: None }),
                )
            }
            Scenario::Users => (
                Op::Request {
                    label: "POST /users",
                    method: Method::POST,
                    path: "/users".into(),
                    body: Some(user_body.clone()),
                },
                Some(Op::Request {
                    label: "POST /insert",
                    method: Method::POST,
                    path: "/insert".into(),
                    body: Some(user_body.clone()),
                }),
            ),
            Scenario::Flows => (Op::Flow(plan.clone()), None),
            Scenario::Transfers | Scenario::Simulation => unreachable!("planned above"),
            Scenario::Iav => {
                let widget_target = Target::anonymous(server.addr, iav::WIDGET_ACCEPT);
                let iav_plan =
                    iav::plan(payments_target.clone(), widget_target, DWOLLA_KEY, DWOLLA_SECRET, plan.clone())
                        .await
                        .context("checking the payments API (token, MX exchange partner)")?;
                (Op::Iav(Box::new(iav_plan)), None)
            }
        };
        let openiav = Work::Load(Arc::new(openiav_op));
        ops.push(Planned { scenario, target, openiav, baseline: baseline_op.map(Arc::new) });
    }
    drop(setup);

    let window = Duration::from_secs(args.seconds);
    let mut results: Vec<ScenarioResult> = ops
        .iter()
        .map(|p| ScenarioResult {
            scenario: p.scenario,
            openiav: Series::default(),
            baseline: p.baseline.as_ref().map(|_| Series::default()),
        })
        .collect();
    for round in 0..args.rounds {
        for (planned, result) in ops.iter().zip(results.iter_mut()) {
            let order = if round % 2 == 0 { [Side::Baseline, Side::Openiav] } else { [Side::Openiav, Side::Baseline] };
            for side in order {
                let (target, op, series) = match side {
                    Side::Openiav => match &planned.openiav {
                        Work::Load(op) => (&planned.target, op, &mut result.openiav),
                        Work::Simulation(plan) => {
                            let simulated = transfers::simulate(plan, args.connections)
                                .await
                                .context("timing a sandbox simulation")?;
                            let figures = Figures::of_simulation(&simulated);
                            eprintln!(
                                "round {}/{} simulation openiav {:>9.1}/s  {:>8} ms for {} bank transfers",
                                round + 1,
                                args.rounds,
                                figures.throughput,
                                ms(figures.p50_ms),
                                simulated.processed
                            );
                            result.openiav.rounds.push(figures);
                            tokio::time::sleep(SETTLE).await;
                            continue;
                        }
                    },
                    Side::Baseline => match (&planned.baseline, result.baseline.as_mut()) {
                        (Some(op), Some(series)) => (&baseline_target, op, series),
                        _ => continue,
                    },
                };
                let outcome = load::run(target, args.connections, op.clone(), WARMUP, window).await;
                let figures = Figures::of(&outcome);
                eprintln!(
                    "round {}/{} {:<6} {:<8} {:>9.1}/s  p50 {:>8} ms  p99 {:>8} ms  errors {}  connections {}",
                    round + 1,
                    args.rounds,
                    planned.scenario.name(),
                    format!("{side:?}").to_lowercase(),
                    figures.throughput,
                    ms(figures.p50_ms),
                    ms(figures.p99_ms),
                    figures.errors,
                    figures.connects
                );
                series.rounds.push(figures);
                series.failures.merge(outcome.failures);
                tokio::time::sleep(SETTLE).await;
            }
        }
    }
    Ok(Measured { results })
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))
}

fn rate(v: Option<f64>, scenario: Scenario) -> String {
    match (v, scenario) {
        (None, _) => "—".to_owned(),
        (Some(v), s) if s.is_flow() => format!("{v:.1}"),
        (Some(v), _) => format!("{v:.0}"),
    }
}

fn table(backend: &str, m: &Measured) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| backend | scenario | openiav req/s (or flows/s) | p50 ms | p99 ms | baseline req/s | baseline p50 ms | \
         baseline p99 ms | errors |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &m.results {
        let o = &r.openiav;
        let (b_rate, b_p50, b_p99, errors) = match &r.baseline {
            Some(b) => (
                rate(b.median(|f| Some(f.throughput)), r.scenario),
                ms(b.median(|f| f.p50_ms)),
                ms(b.median(|f| f.p99_ms)),
                format!("{} / {}", o.errors(), b.errors()),
            ),
            None => ("—".into(), "—".into(), "—".into(), format!("{} / —", o.errors())),
        };
        let _ = writeln!(
            t,
            "| {backend} | {} | {} | {} | {} | {b_rate} | {b_p50} | {b_p99} | {errors} |",
            r.scenario.title(),
            rate(o.median(|f| Some(f.throughput)), r.scenario),
            ms(o.median(|f| f.p50_ms)),
            ms(o.median(|f| f.p99_ms)),
        );
    }
    t
}

/// Per-round figures, connection reuse, flow request counts and failure samples.
fn details(m: &Measured) -> String {
    let mut d = String::new();
    for r in &m.results {
        let mut sides = vec![("openiav", &r.openiav)];
        if let Some(b) = &r.baseline {
            sides.push(("baseline", b));
        }
        for (name, series) in sides {
            let per_round: Vec<String> = series
                .rounds
                .iter()
                .map(|f| {
                    format!(
                        "{} /s, p50 {} ms, p99 {} ms",
                        rate(Some(f.throughput), r.scenario),
                        ms(f.p50_ms),
                        ms(f.p99_ms)
                    )
                })
                .collect();
            let connects: Vec<String> = series.rounds.iter().map(|f| f.connects.to_string()).collect();
            let _ = write!(
                d,
                "- {} / {name}: rounds [{}]; TCP connections opened per run [{}]{}",
                r.scenario.name(),
                per_round.join("; "),
                connects.join(", "),
                if r.scenario == Scenario::Iav { " (two per worker: payments and aggregation listeners)" } else { "" }
            );
            if r.scenario.is_flow() {
                let per_flow: Vec<String> = series.rounds.iter().map(|f| format!("{:.1}", f.requests_per_op)).collect();
                let flows: Vec<String> = series.rounds.iter().map(|f| f.ok.to_string()).collect();
                let _ = write!(
                    d,
                    "; completed flows per run [{}]; HTTP requests per flow (incl. polls) [{}]",
                    flows.join(", "),
                    per_flow.join(", ")
                );
            }
            let _ = writeln!(d, ".");
            for (kind, (n, detail)) in series.failures.iter() {
                let _ = writeln!(d, "  - {n}× {kind}: `{}`", one_line(detail));
            }
        }
    }
    d
}
