//! The openiav under test: a child process (`openiav serve`) on a fresh database — a SQLite
//! file in the run's temporary directory, or a new PostgreSQL database dropped afterwards.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::Method;
use openiav_store::testing;
use rand::RngCore;
use sqlx::postgres::PgConnection;
use sqlx::Connection;
use tokio::process::{Child, Command};

use crate::client::{Conn, Target};

/// The sandbox tenant's fixed credentials (Basic auth is `MX_CLIENT_ID:MX_API_KEY`; the payments
/// API's client-credentials token is granted to `DWOLLA_KEY` and `DWOLLA_SECRET`).
pub const MX_CLIENT_ID: &str = "bench-mx-client";
pub const MX_API_KEY: &str = "bench-mx-api-key-7f3a9c";
pub const DWOLLA_KEY: &str = "bench-dwolla-key";
pub const DWOLLA_SECRET: &str = "bench-dwolla-secret";

/// How long openiav may take to answer `/health` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long openiav may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The database openiav runs on.
pub enum Database {
    Sqlite { url: String },
    Postgres { admin_url: String, url: String },
}

impl Database {
    /// A fresh database: `sqlite://<dir>/bench.db`, or a new scratch database on the
    /// PostgreSQL server `postgres_admin` names.
    pub async fn create(postgres_admin: Option<&str>, dir: &Path) -> anyhow::Result<Self> {
        let Some(admin_url) = postgres_admin else {
            return Ok(Database::Sqlite { url: format!("sqlite://{}", dir.join("bench.db").display()) });
        };
        anyhow::ensure!(
            admin_url.starts_with("postgres://") || admin_url.starts_with("postgresql://"),
            "--database must be a postgres:// URL"
        );
        let url = testing::scratch_postgres_url(admin_url).await.context("creating a scratch database")?;
        Ok(Database::Postgres { admin_url: admin_url.to_owned(), url })
    }

    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite { url } | Database::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }

    /// Durability settings of the server, for the report (`fsync`, `synchronous_commit`).
    pub async fn settings(&self) -> anyhow::Result<Option<String>> {
        let Database::Postgres { admin_url, .. } = self else { return Ok(None) };
        let mut c = PgConnection::connect(admin_url).await?;
        let mut parts = Vec::new();
        for setting in ["server_version", "fsync", "synchronous_commit", "max_connections"] {
            let sql = format!("SHOW {setting}");
            let v: String = sqlx::query_scalar(&sql).fetch_one(&mut c).await?;
            parts.push(format!("{setting}={v}"));
        }
        c.close().await?;
        Ok(Some(parts.join(", ")))
    }

    /// Drops a PostgreSQL database this run created (SQLite files go with the temp directory).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        if let Database::Postgres { admin_url, url } = self {
            testing::drop_scratch_postgres(&admin_url, &url).await?;
        }
        Ok(())
    }
}

/// A free loopback port (the tiny race with other programs is covered by retrying the start).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running openiav child process.
pub struct Openiav {
    /// The aggregation (MX) listener, which also serves the widget.
    pub addr: SocketAddr,
    /// The payments (Dwolla) listener.
    pub payments: SocketAddr,
    child: Child,
    log_path: PathBuf,
}

impl Openiav {
    /// Starts `binary serve` on free loopback ports and waits until `/health` answers 200.
    pub async fn start(binary: &Path, database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        let key = random_hex(32);
        let mut last_error = None;
        for attempt in 1..=3 {
            let log_path = dir.join(format!("openiav-{attempt}.log"));
            match Self::start_once(binary, database_url, &key, &log_path).await {
                Ok(server) => return Ok(server),
                Err(e) => {
                    eprintln!("openiav did not start (attempt {attempt}): {e:#}");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.expect("three attempts"))
    }

    async fn start_once(binary: &Path, database_url: &str, key: &str, log_path: &Path) -> anyhow::Result<Self> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let payments: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let log = std::fs::File::create(log_path)?;
        let mut command = Command::new(binary);
        // Nothing the caller's shell set for openiav may change what is measured.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OPENIAV_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .arg("--aggregation-listen")
            .arg(addr.to_string())
            .arg("--payments-listen")
            .arg(payments.to_string())
            .env("OPENIAV_DATABASE_URL", database_url)
            .env("OPENIAV_ENCRYPTION_KEY", key)
            .env("OPENIAV_SANDBOX_MX_CLIENT_ID", MX_CLIENT_ID)
            .env("OPENIAV_SANDBOX_MX_API_KEY", MX_API_KEY)
            .env("OPENIAV_SANDBOX_DWOLLA_KEY", DWOLLA_KEY)
            .env("OPENIAV_SANDBOX_DWOLLA_SECRET", DWOLLA_SECRET)
            .env("OPENIAV_SANDBOX_DELAY_MS", "0")
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let mut server = Self { addr, payments, child, log_path: log_path.to_owned() };
        let mut conn = Conn::new(Target::new(addr, MX_CLIENT_ID, MX_API_KEY));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("openiav exited with {status} before it was ready:\n{}", server.log_tail(20));
            }
            if let Ok(reply) = conn.request(Method::GET, "/health", None).await {
                if reply.status.is_success() {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                let _ = server.child.kill().await;
                anyhow::bail!("openiav did not answer /health within {START_TIMEOUT:?}:\n{}", server.log_tail(20));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Log lines at WARN or ERROR (openiav runs with `RUST_LOG=warn`).
    pub fn warnings(&self) -> Vec<String> {
        self.log().lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).map(str::to_owned).collect()
    }

    /// SIGTERM, then waits for a graceful exit (SIGKILL after a timeout).
    pub async fn stop(mut self) -> anyhow::Result<(ExitStatus, Vec<String>)> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
        let status = match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                eprintln!("openiav did not stop within {STOP_TIMEOUT:?} of SIGTERM; killing it");
                self.child.kill().await?;
                self.child.wait().await?
            }
        };
        Ok((status, self.warnings()))
    }
}
