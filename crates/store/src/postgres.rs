//! PostgreSQL backend for scale-out: several openiav processes share one database; each write
//! runs in its own transaction, jobs are claimed with `FOR UPDATE SKIP LOCKED`, and workers (and
//! fault rule caches) in every process hear of changes through `LISTEN`/`NOTIFY`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

use crate::{Changes, Database, Dialect, StoreError, StoreOptions, WriteOp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel `NOTIFY` uses to announce new jobs.
pub const JOBS_CHANNEL: &str = "openiav_jobs";

/// The channel `NOTIFY` uses to announce a change to fault rules.
pub const FAULT_RULES_CHANNEL: &str = "openiav_fault_rules";

/// How long a request waits for a pooled connection before it is told the database is
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct PgDatabase {
    url: String,
    pool: sqlx::AnyPool,
    /// Bounds one write transaction end to end; past it the connection is closed, not pooled.
    write_timeout: Duration,
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgDatabase {
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        // sqlx 0.8 has no TCP keepalive setting; a statement timeout on the server side and the
        // write timeout here bound what a dead or stalled connection can hold up.
        let pool_url = with_statement_timeout(url, options.statement_timeout);
        let pool = AnyPoolOptions::new()
            .max_connections(32)
            .min_connections(2)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(&pool_url)
            .await?;
        let mut conn = pool.acquire().await?;
        // A migration may legitimately outlast a request's statement timeout.
        conn.execute(sqlx::raw_sql("SET statement_timeout = 0")).await?;
        MIGRATOR.run(&mut *conn).await?;
        conn.execute(sqlx::raw_sql("RESET statement_timeout")).await?;
        drop(conn);
        Ok(Self {
            url: url.to_owned(),
            pool,
            write_timeout: options.statement_timeout,
            listener: std::sync::Mutex::new(None),
        })
    }
}

impl Database for PgDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn submit_write(&self, op: WriteOp) -> BoxFuture<'_, ()> {
        // The transaction runs in a task of its own, so a caller that stops waiting (a dropped
        // request future) cannot abandon it half-way: a connection must never go back to the
        // pool inside an open transaction, where the next write on it would commit the leftovers.
        let (pool, limit) = (self.pool.clone(), self.write_timeout);
        Box::pin(async move {
            let _ = tokio::spawn(run_write(pool, op, limit)).await;
        })
    }

    fn read_connection(&self) -> BoxFuture<'_, Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError>> {
        Box::pin(async move { Ok(self.pool.acquire().await?) })
    }

    fn listen_for_changes(&self, changes: Changes) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
            listener.listen_all([JOBS_CHANNEL, FAULT_RULES_CHANNEL]).await?;
            let own = changes.origin.to_string();
            let task = tokio::spawn(async move {
                loop {
                    match listener.recv().await {
                        Ok(notice) if notice.channel() == FAULT_RULES_CHANNEL => {
                            if notice.payload() != own {
                                changes.fault_rules.fetch_add(1, Ordering::Release);
                            }
                        }
                        Ok(_) => changes.jobs_ready.notify_one(),
                        Err(e) => {
                            // PgListener reconnects by itself; a notice may have been lost
                            // meanwhile, so wake the workers and make rule caches reload.
                            tracing::warn!(error = %e, "change notification listener interrupted");
                            changes.jobs_ready.notify_one();
                            changes.fault_rules.fetch_add(1, Ordering::Release);
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            });
            if let Some(previous) = self.listener.lock().ok().and_then(|mut l| l.replace(task)) {
                previous.abort();
            }
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(task) = self.listener.lock().ok().and_then(|mut l| l.take()) {
                task.abort();
            }
            self.pool.close().await
        })
    }
}

/// `url` with a `statement_timeout` connection option (milliseconds) added to its query.
fn with_statement_timeout(url: &str, timeout: Duration) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[statement_timeout]={}", timeout.as_millis().max(1))
}

/// Runs `op` in its own transaction on a pooled connection and delivers its reply. A
/// transaction that fails to finish cleanly (or within `limit`) closes its connection, which
/// never goes back to the pool inside an open transaction; the dropped reply tells the caller
/// the database is unavailable.
async fn run_write(pool: sqlx::AnyPool, op: WriteOp, limit: Duration) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no database connection for a write");
            return;
        }
    };
    match tokio::time::timeout(limit, transact(&mut conn, op)).await {
        Ok(true) => {}
        Ok(false) => conn.close_on_drop(),
        Err(_) => {
            tracing::warn!(
                timeout_ms = limit.as_millis() as u64,
                "a write transaction timed out; closing its connection"
            );
            conn.close_on_drop();
        }
    }
}

/// `BEGIN`, the op, `COMMIT` or `ROLLBACK`; false when the connection's state is unknown.
async fn transact(conn: &mut sqlx::pool::PoolConnection<sqlx::Any>, op: WriteOp) -> bool {
    if let Err(e) = conn.execute(sqlx::raw_sql("BEGIN")).await {
        tracing::warn!(error = %e, "could not begin a write transaction");
        return false;
    }
    let reply = match AssertUnwindSafe(op(conn)).catch_unwind().await {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!("a write operation panicked; its changes were rolled back");
            return conn.execute(sqlx::raw_sql("ROLLBACK")).await.is_ok();
        }
    };
    let (commit, clean) = if reply.succeeded() {
        match conn.execute(sqlx::raw_sql("COMMIT")).await {
            Ok(_) => (Ok(()), true),
            Err(e) => {
                let clean = conn.execute(sqlx::raw_sql("ROLLBACK")).await.is_ok();
                (Err(StoreError::from(e)), clean)
            }
        }
    } else {
        (Ok(()), conn.execute(sqlx::raw_sql("ROLLBACK")).await.is_ok())
    };
    reply.deliver(commit);
    clean
}
