//! Durable background jobs: enqueued in the transaction that makes them necessary, claimed with
//! a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the single writer serialises SQLite), and
//! deleted when done. A job whose lease runs out is claimed again, so handlers are idempotent.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use sqlx::Row;

use crate::records::JobRecord;
use crate::{Conn, StoreError};

/// Adds a job; once the transaction commits the store wakes this process's workers, and on
/// PostgreSQL a notification wakes every other process's.
pub async fn enqueue(
    conn: &mut Conn,
    tenant: TenantId,
    queue: &str,
    subject: &str,
    payload: &str,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query(
        "INSERT INTO jobs (tenant_id, queue, subject, payload, run_at, locked_until, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, 0, $6) RETURNING seq",
    )
    .bind(tenant.to_string())
    .bind(queue)
    .bind(subject)
    .bind(payload)
    .bind(run_at.millis())
    .bind(now.millis())
    .fetch_one(&mut *conn)
    .await?
    .try_get("seq")?;
    let _ = crate::JOBS_ENQUEUED.try_with(|queued| queued.set(true));
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify($1, $2)").bind(crate::postgres::JOBS_CHANNEL).bind(queue).execute(conn).await?;
    }
    Ok(seq)
}

/// Claims up to `limit` due jobs of `queue`, leasing them until `now + lease_ms`.
pub async fn claim(
    conn: &mut Conn,
    queue: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<JobRecord>, StoreError> {
    let lock = if conn.backend_name() == "PostgreSQL" { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE seq IN (\
           SELECT seq FROM jobs WHERE queue = $2 AND run_at <= $3 AND locked_until <= $3 ORDER BY run_at, seq LIMIT $4{lock}) \
         RETURNING *"
    );
    let rows = sqlx::query(&sql)
        .bind(now.plus_millis(lease_ms).millis())
        .bind(queue)
        .bind(now.millis())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let mut jobs: Vec<JobRecord> = rows.iter().map(JobRecord::from_row).collect::<Result<_, _>>()?;
    jobs.sort_by_key(|j| (j.run_at, j.seq));
    Ok(jobs)
}

/// Removes a finished job.
pub async fn complete(conn: &mut Conn, seq: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE seq = $1").bind(seq).execute(conn).await?;
    Ok(())
}

/// Puts a claimed job back to run again at `run_at`.
pub async fn retry_at(conn: &mut Conn, seq: i64, run_at: Timestamp) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET run_at = $2, locked_until = 0 WHERE seq = $1")
        .bind(seq)
        .bind(run_at.millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// When the earliest job of `queue` is due, if any job is queued (one index probe).
pub async fn next_due(conn: &mut Conn, queue: &str) -> Result<Option<Timestamp>, StoreError> {
    let row = sqlx::query("SELECT MIN(run_at) AS due FROM jobs WHERE queue = $1").bind(queue).fetch_one(conn).await?;
    Ok(row.try_get::<Option<i64>, _>("due")?.map(Timestamp::from_millis))
}

/// Removes every queued job about `subject` in `queue`.
pub async fn cancel(conn: &mut Conn, tenant: TenantId, queue: &str, subject: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND queue = $2 AND subject = $3")
        .bind(tenant.to_string())
        .bind(queue)
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Jobs queued about `subject` (for tests and diagnostics).
pub async fn count_for_subject(conn: &mut Conn, subject: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE subject = $1")
        .bind(subject)
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}
