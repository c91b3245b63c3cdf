//! The baseline: a bare axum server on its own runtime in this process, with `GET /fixed` (a
//! fixed status-sized JSON body behind a Basic-auth presence check) and `POST /insert` (one
//! autocommit INSERT into its own SQLite file: WAL, `synchronous=FULL`, no batching).

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::oneshot;

use crate::client::MX_ACCEPT;

/// The body of `GET /fixed`: a CONNECTED member's status, as openiav answers it (388 bytes).
pub const FIXED_BODY: &str = concat!(
    r#"{"member":{"aggregated_at":"2026-11-22T03:06:31Z","challenges":[],"connection_status":"CONNECTED","#,
    r#""connection_status_message":null,"guid":"MBR-868839b9-a0be-43ab-9695-19553212917e","#,
    r#""has_processed_account_numbers":true,"has_processed_accounts":true,"has_processed_transactions":false,"#,
    r#""is_authenticated":true,"is_being_aggregated":false,"successfully_aggregated_at":"2026-11-22T03:06:31Z"}}"#
);

/// A running baseline server.
pub struct Baseline {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

async fn fixed(headers: HeaderMap) -> impl IntoResponse {
    let basic = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Basic "));
    if !basic {
        return (StatusCode::UNAUTHORIZED, [(CONTENT_TYPE, MX_ACCEPT)], r#"{"error":"unauthorized"}"#);
    }
    (StatusCode::OK, [(CONTENT_TYPE, MX_ACCEPT)], FIXED_BODY)
}

async fn insert(State(pool): State<SqlitePool>, body: Bytes) -> impl IntoResponse {
    let result = sqlx::query("INSERT INTO items (body, created_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        .bind(body.to_vec())
        .execute(&pool)
        .await;
    match result {
        Ok(r) => (StatusCode::OK, axum::Json(serde_json::json!({ "item": { "id": r.last_insert_rowid() } }))),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": { "message": e.to_string() } })),
        ),
    }
}

/// Opens the baseline's database. One connection: SQLite has one writer anyway, and more
/// connections would only add `SQLITE_BUSY` back-off sleeps; each INSERT still commits alone.
async fn open_database(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL, created_at TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&pool).await?;
    anyhow::ensure!(
        journal.eq_ignore_ascii_case("wal") && synchronous == 2,
        "baseline SQLite settings did not take: journal_mode={journal}, synchronous={synchronous}"
    );
    Ok(pool)
}

impl Baseline {
    /// Starts the server on 127.0.0.1:0 with its own `threads`-thread runtime (as a separate
    /// server process would have), its database at `db_path`.
    pub fn start(db_path: &Path, threads: usize) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let db_path = db_path.to_owned();
        let thread = std::thread::Builder::new().name("baseline".into()).spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("baseline-worker")
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let setup = async {
                    let pool = open_database(&db_path).await?;
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    anyhow::Ok((pool, listener))
                };
                let (pool, listener) = match setup.await {
                    Ok(v) => v,
                    Err(e) => {
                        let message = format!("{e:#}");
                        let _ = ready_tx.send(Err(e));
                        anyhow::bail!("baseline setup failed: {message}");
                    }
                };
                let _ = ready_tx.send(Ok(listener.local_addr()?));
                let app =
                    Router::new().route("/fixed", get(fixed)).route("/insert", post(insert)).with_state(pool.clone());
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await?;
                pool.close().await;
                Ok(())
            })
        })?;
        let addr = ready_rx.recv().context("the baseline thread ended before it was ready")??;
        Ok(Self { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow::anyhow!("the baseline thread panicked"))?,
            None => Ok(()),
        }
    }
}
