//! SQLite backend: WAL, `synchronous=FULL`, one writer connection that groups concurrent write
//! transactions into a single `BEGIN IMMEDIATE … COMMIT` (one fsync for many requests), and a
//! pool of `query_only` read connections.

use std::panic::AssertUnwindSafe;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, Mutex};

use crate::{Changes, Database, Dialect, Reply, StoreError, WriteOp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How many queued writes may share one commit.
const MAX_BATCH: usize = 512;

enum WriterMsg {
    Op(WriteOp),
    /// Finish what is queued, then stop.
    Close,
}

pub struct SqliteDatabase {
    writes: mpsc::Sender<WriterMsg>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    reads: sqlx::AnyPool,
}

/// Adds `mode=rwc` so a missing database file is created.
fn normalise_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

impl SqliteDatabase {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let url = normalise_url(url);
        let mut writer = AnyConnection::connect(&url).await?;
        writer
            .execute(sqlx::raw_sql(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
            ))
            .await?;
        check_pragmas(&mut writer).await?;
        MIGRATOR.run(&mut writer).await?;

        let reads = AnyPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")).await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;

        let (tx, rx) = mpsc::channel(4096);
        let handle = tokio::spawn(writer_loop(writer, rx));
        Ok(Self { writes: tx, writer: Mutex::new(Some(handle)), reads })
    }
}

/// Refuses to run unless the durability settings took effect.
async fn check_pragmas(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *conn).await?;
    if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 || foreign_keys != 1 {
        return Err(StoreError::Config(format!(
            "SQLite refused durable settings (journal_mode={journal}, synchronous={synchronous}, foreign_keys={foreign_keys})"
        )));
    }
    Ok(())
}

async fn writer_loop(mut conn: AnyConnection, mut rx: mpsc::Receiver<WriterMsg>) {
    let mut batch = Vec::with_capacity(64);
    let mut closing = false;
    while !closing {
        match rx.recv().await {
            Some(WriterMsg::Op(op)) => batch.push(op),
            Some(WriterMsg::Close) | None => closing = true,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(WriterMsg::Op(op)) => batch.push(op),
                Ok(WriterMsg::Close) => closing = true,
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            run_batch(&mut conn, &mut batch).await;
        }
    }
    let _ = conn.close().await;
}

async fn exec(conn: &mut AnyConnection, sql: &'static str) -> Result<(), StoreError> {
    conn.execute(sqlx::raw_sql(sql)).await?;
    Ok(())
}

/// Runs every op of `batch` in one transaction, each inside its own savepoint so a failing op
/// leaves the others intact, then commits once and delivers every reply.
async fn run_batch(conn: &mut AnyConnection, batch: &mut Vec<WriteOp>) {
    let ops = std::mem::take(batch);
    let count = ops.len();
    let single = count == 1;
    // Several ops each run inside the savepoint `op`; after each one a single round trip either
    // keeps its work and opens a fresh savepoint, or discards it (leaving the savepoint open).
    let begin = if single { "BEGIN IMMEDIATE" } else { "BEGIN IMMEDIATE; SAVEPOINT op" };
    if let Err(e) = exec(conn, begin).await {
        let msg = e.to_string();
        tracing::error!(error = %msg, "could not begin a write transaction");
        // The ops never ran; dropping them drops their reply senders, which callers see as an error.
        drop(ops);
        return;
    }
    let mut replies: Vec<Box<dyn Reply>> = Vec::with_capacity(count);
    let mut savepoint_failed = false;
    for (i, op) in ops.into_iter().enumerate() {
        let succeeded = match AssertUnwindSafe(op(conn)).catch_unwind().await {
            Ok(reply) => {
                let ok = reply.succeeded();
                replies.push(reply);
                ok
            }
            Err(_) => {
                tracing::error!("a write operation panicked; its changes were rolled back");
                false
            }
        };
        if single {
            continue;
        }
        let next = match (succeeded, i + 1 == count) {
            (true, true) => None,
            (true, false) => Some("RELEASE op; SAVEPOINT op"),
            (false, _) => Some("ROLLBACK TO op"),
        };
        if let Some(sql) = next {
            if exec(conn, sql).await.is_err() {
                savepoint_failed = true;
                break;
            }
        }
    }
    let all_failed = single && replies.first().is_none_or(|r| !r.succeeded());
    let commit = if savepoint_failed || all_failed {
        let _ = exec(conn, "ROLLBACK").await;
        if savepoint_failed {
            Err(())
        } else {
            Ok(())
        }
    } else {
        match exec(conn, "COMMIT").await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "commit failed; the batch was rolled back");
                let _ = exec(conn, "ROLLBACK").await;
                Err(())
            }
        }
    };
    for reply in replies {
        reply.deliver(commit.map_err(|()| StoreError::Unavailable("the write transaction did not commit".into())));
    }
}

impl Database for SqliteDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn submit_write(&self, op: WriteOp) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A closed channel drops `op`, and with it the reply sender: the caller sees an error.
            let _ = self.writes.send(WriterMsg::Op(op)).await;
        })
    }

    fn read_connection(&self) -> BoxFuture<'_, Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError>> {
        Box::pin(async move { Ok(self.reads.acquire().await?) })
    }

    fn listen_for_changes(&self, _changes: Changes) -> BoxFuture<'_, Result<(), StoreError>> {
        // One process owns a SQLite file; in-process notification is all there is.
        Box::pin(async { Ok(()) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(handle) = self.writer.lock().await.take() {
                let _ = self.writes.send(WriterMsg::Close).await;
                let _ = handle.await;
            }
            self.reads.close().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_url;

    #[test]
    fn sqlite_urls_create_missing_files() {
        assert_eq!(normalise_url("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(normalise_url("sqlite://a.db?x=1"), "sqlite://a.db?x=1&mode=rwc");
        assert_eq!(normalise_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
    }
}
