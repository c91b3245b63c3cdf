//! The Store: one trait over SQLite and PostgreSQL, the records both hold, and durable jobs.
//!
//! Both backends speak the same SQL through sqlx's `Any` driver (placeholders are `$1`, columns
//! are `BIGINT`, `TEXT`, blobs and flags: `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite), so
//! every query in [`repo`] is written once. What differs
//! lives in [`sqlite`] and [`postgres`]: connection set-up, migrations, how a write transaction
//! is run (SQLite groups concurrent writes into one `BEGIN IMMEDIATE` commit; PostgreSQL runs each
//! in its own transaction) and how jobs are claimed.

pub mod error;
pub mod postgres;
pub mod records;
pub mod repo;
pub mod sqlite;
pub mod testing;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
pub use sqlx::AnyConnection as Conn;
/// A pooled read connection, as `Store::read` hands it out.
pub type ReadConn = sqlx::pool::PoolConnection<sqlx::Any>;
use tokio::sync::Notify;

pub use error::StoreError;

/// Which SQL dialect a backend speaks where the shared SQL is not enough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A unit of work run inside one write transaction. It reports its outcome through `Reply`
/// only after the transaction that holds it has committed (or failed to).
pub type WriteOp = Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Box<dyn Reply>> + Send + 'static>;

/// The pending answer of one [`WriteOp`].
pub trait Reply: Send {
    /// Whether the op itself succeeded; a failed op is rolled back to its savepoint.
    fn succeeded(&self) -> bool;
    /// Delivers the op's result, or `commit`'s error if the transaction did not commit.
    fn deliver(self: Box<Self>, commit: Result<(), StoreError>);
}

/// A storage backend. Implemented by [`sqlite::SqliteDatabase`] and [`postgres::PgDatabase`].
pub trait Database: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;
    /// Runs `op` in a write transaction; the op's reply is delivered after commit.
    fn submit_write(&self, op: WriteOp) -> BoxFuture<'_, ()>;
    /// A pooled connection for reads.
    fn read_connection(&self) -> BoxFuture<'_, Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError>>;
    /// Starts whatever relays other processes' changes into `changes` (PostgreSQL LISTEN).
    fn listen_for_changes(&self, changes: Changes) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Closes connections, finishing queued writes first.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Where a store announces committed changes others may be waiting on or caching.
#[derive(Clone)]
pub struct Changes {
    /// This store among the processes sharing a database: its own notifications, heard back,
    /// were announced already at commit.
    pub origin: u64,
    /// Signalled when jobs may have been enqueued (here, or in another process).
    pub jobs_ready: Arc<Notify>,
    /// Bumped after any change to fault rules (here, or in another process), so a cache of
    /// them knows it is stale.
    pub fault_rules: Arc<AtomicU64>,
}

impl Changes {
    fn new() -> Self {
        Self { origin: uuid::Uuid::new_v4().as_u64_pair().0, jobs_ready: Arc::default(), fault_rules: Arc::default() }
    }
}

/// What a write changed that the store announces once it has committed, and the store
/// writing (for the notifications it sends).
#[derive(Clone, Copy, Default)]
pub(crate) struct Signals {
    pub origin: u64,
    pub jobs_enqueued: bool,
    pub fault_rules_changed: bool,
}

/// The [`Changes::origin`] of the store running the current write (0 outside one).
pub(crate) fn write_origin() -> u64 {
    SIGNALS.try_with(|cell| cell.get().origin).unwrap_or_default()
}

/// How a store is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// PostgreSQL: the server-side `statement_timeout` of pooled connections, and the bound on
    /// one write transaction.
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { statement_timeout: Duration::from_secs(30) }
    }
}

/// The histogram of [`Store::write`] durations, up to the commit (seconds).
pub const WRITE_SECONDS: &str = "openiav_store_commit_duration_seconds";

/// How long [`Store::ping`] waits for its answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A cloneable handle on a backend, with typed helpers for reads and writes.
#[derive(Clone)]
pub struct Store {
    db: Arc<dyn Database>,
    changes: Changes,
    /// One wake-up per worker, fanned out from `jobs_ready`.
    job_workers: Arc<std::sync::Mutex<Vec<Arc<Notify>>>>,
}

tokio::task_local! {
    /// Set by the repo functions of a write ([`repo::jobs::enqueue`], fault rule changes), so
    /// the store announces them once that write has committed.
    static SIGNALS: std::cell::Cell<Signals>;
}

/// Notes, inside a write, what it changed (a no-op outside [`Store::write`]).
pub(crate) fn signal(mark: impl FnOnce(&mut Signals)) {
    let _ = SIGNALS.try_with(|cell| {
        let mut signals = cell.get();
        mark(&mut signals);
        cell.set(signals);
    });
}

struct TypedReply<T> {
    result: Result<T, StoreError>,
    signals: Signals,
    tx: tokio::sync::oneshot::Sender<(Result<T, StoreError>, Signals)>,
}

impl<T: Send> Reply for TypedReply<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn deliver(self: Box<Self>, commit: Result<(), StoreError>) {
        let me = *self;
        let out = match commit {
            Ok(()) => me.result,
            Err(e) => me.result.and(Err(e)),
        };
        let _ = me.tx.send((out, me.signals));
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://…` or `postgres://…`); each backend applies its
    /// migrations as it opens.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &StoreOptions::default()).await
    }

    /// Like [`Store::open`], with explicit options.
    pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let db: Arc<dyn Database> = if url.starts_with("sqlite:") {
            Arc::new(sqlite::SqliteDatabase::open(url).await?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Arc::new(postgres::PgDatabase::open(url, options).await?)
        } else {
            return Err(StoreError::Config(format!(
                "database URL must start with sqlite: or postgres:, got {:?}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let changes = Changes::new();
        db.listen_for_changes(changes.clone()).await?;
        let job_workers: Arc<std::sync::Mutex<Vec<Arc<Notify>>>> = Arc::default();
        // Every worker (one per queue) hears every wake-up.
        let (source, workers) = (changes.jobs_ready.clone(), job_workers.clone());
        tokio::spawn(async move {
            loop {
                source.notified().await;
                let workers = workers.lock().expect("worker list lock").clone();
                for worker in workers {
                    worker.notify_one();
                }
            }
        });
        Ok(Self { db, changes, job_workers })
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// Runs `op` in one write transaction and returns its result once it is durable; job
    /// workers are woken if `op` enqueued jobs, and fault rule caches learn of a rule change.
    pub async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let origin = Signals { origin: self.changes.origin, ..Signals::default() };
        let boxed: WriteOp = Box::new(move |conn| {
            Box::pin(SIGNALS.scope(std::cell::Cell::new(origin), async move {
                let result = op(conn).await;
                let signals = SIGNALS.with(std::cell::Cell::get);
                Box::new(TypedReply { result, signals, tx }) as Box<dyn Reply>
            }))
        });
        let started = std::time::Instant::now();
        self.db.submit_write(boxed).await;
        let answered = rx.await;
        // From submission to durable (queueing for the writer included): what a caller waits.
        metrics::histogram!(WRITE_SECONDS).record(started.elapsed().as_secs_f64());
        let (result, signals) = answered.map_err(|_| {
            StoreError::Unavailable(
                "the write was not run: the database refused the transaction or is shutting down".into(),
            )
        })?;
        // Whatever the write changed is durable now: announce it here (other processes hear
        // PostgreSQL's NOTIFY, sent at the same commit).
        if result.is_ok() {
            if signals.jobs_enqueued {
                self.changes.jobs_ready.notify_one();
            }
            if signals.fault_rules_changed {
                self.changes.fault_rules.fetch_add(1, Ordering::Release);
            }
        }
        result
    }

    /// Runs `op` on a read connection.
    pub async fn read<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(sqlx::pool::PoolConnection<sqlx::Any>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let conn = self.db.read_connection().await?;
        op(conn).await
    }

    /// The now of `tenant`'s test clock, `real` being the process's own clock: one primary-key
    /// read, so a clock changed by any process sharing the database is seen at once.
    pub async fn now_for(
        &self,
        real: &dyn openiav_core::clock::Clock,
        tenant: openiav_core::ids::TenantId,
    ) -> Result<openiav_core::clock::Timestamp, StoreError> {
        let real = real.now();
        self.read(|mut c| async move { repo::tenant_clocks::now(&mut c, tenant, real).await }).await
    }

    /// A number that changes whenever any process's committed write changes fault rules: a
    /// cache of rules loaded at one version is current while the version stays. Another
    /// process's change is seen once PostgreSQL delivers its notification (milliseconds).
    pub fn fault_rules_version(&self) -> u64 {
        self.changes.fault_rules.load(Ordering::Acquire)
    }

    /// Whether the database answers a trivial query on a read connection, within a short bound.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let probe = async {
            let mut conn = self.db.read_connection().await?;
            sqlx::Executor::execute(&mut *conn, sqlx::raw_sql("SELECT 1")).await?;
            Ok(())
        };
        tokio::time::timeout(PING_TIMEOUT, probe)
            .await
            .map_err(|_| StoreError::Unavailable("the database did not answer in time".into()))?
    }

    /// A wake-up of its own for one job worker: notified when jobs may have been enqueued since
    /// it last looked.
    pub fn jobs_ready(&self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.job_workers.lock().expect("worker list lock").push(notify.clone());
        notify
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// ` FOR UPDATE` on PostgreSQL, so a write that reads rows before deciding holds them until it
/// commits; nothing on SQLite, whose one writer already runs write transactions one at a time.
pub(crate) fn for_update(conn: &Conn) -> &'static str {
    if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Runs a fixed statement without preparing it (savepoints and other transaction control).
pub async fn execute_raw(conn: &mut Conn, sql: &'static str) -> Result<(), StoreError> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(sql)).await?;
    Ok(())
}
