//! PostgreSQL backend for scale-out: several openiav processes share one database; each write
//! runs in its own transaction, jobs are claimed with `FOR UPDATE SKIP LOCKED`, and workers in
//! every process are woken through `LISTEN`/`NOTIFY`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;
use tokio::sync::Notify;

use crate::{Database, Dialect, StoreError, WriteOp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel `NOTIFY` uses to announce new jobs.
pub const JOBS_CHANNEL: &str = "openiav_jobs";

pub struct PgDatabase {
    url: String,
    pool: sqlx::AnyPool,
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgDatabase {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(32)
            .min_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        let mut conn = pool.acquire().await?;
        MIGRATOR.run(&mut *conn).await?;
        drop(conn);
        Ok(Self { url: url.to_owned(), pool, listener: std::sync::Mutex::new(None) })
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
        let pool = self.pool.clone();
        Box::pin(async move {
            let _ = tokio::spawn(run_write(pool, op)).await;
        })
    }

    fn read_connection(&self) -> BoxFuture<'_, Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError>> {
        Box::pin(async move { Ok(self.pool.acquire().await?) })
    }

    fn listen_for_jobs(&self, notify: Arc<Notify>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
            listener.listen(JOBS_CHANNEL).await?;
            let task = tokio::spawn(async move {
                loop {
                    match listener.recv().await {
                        Ok(_) => notify.notify_one(),
                        Err(e) => {
                            // PgListener reconnects by itself; wake workers so nothing waits on a lost notice.
                            tracing::warn!(error = %e, "job notification listener interrupted");
                            notify.notify_one();
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

/// Runs `op` in its own transaction on a pooled connection and delivers its reply.
async fn run_write(pool: sqlx::AnyPool, op: WriteOp) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for a write");
            return;
        }
    };
    if let Err(e) = conn.execute(sqlx::raw_sql("BEGIN")).await {
        tracing::error!(error = %e, "could not begin a write transaction");
        return;
    }
    let reply = match AssertUnwindSafe(op(&mut conn)).catch_unwind().await {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!("a write operation panicked; its changes were rolled back");
            let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
            return;
        }
    };
    let commit = if reply.succeeded() {
        match conn.execute(sqlx::raw_sql("COMMIT")).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
                Err(StoreError::from(e))
            }
        }
    } else {
        let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
        Ok(())
    };
    reply.deliver(commit);
}
