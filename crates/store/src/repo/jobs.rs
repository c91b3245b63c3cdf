//! Durable background jobs: enqueued in the transaction that makes them necessary, claimed with
//! a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the single writer serialises SQLite), and
//! deleted when done. A job whose lease runs out is claimed again, so handlers are idempotent.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use sqlx::Row;

use crate::records::{decode, JobRecord};
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
    claim_skipping(conn, queue, now, lease_ms, limit, &[], &[]).await
}

/// Like [`claim`], but leaves the jobs of `skip_tenants` and of `skip_subjects` where they are
/// (a worker's way to keep one tenant or subject from taking all its capacity).
pub async fn claim_skipping(
    conn: &mut Conn,
    queue: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: i64,
    skip_tenants: &[TenantId],
    skip_subjects: &[String],
) -> Result<Vec<JobRecord>, StoreError> {
    let lock = if conn.backend_name() == "PostgreSQL" { " FOR UPDATE SKIP LOCKED" } else { "" };
    let mut skip = String::new();
    let mut next = 5;
    for (column, n) in [("tenant_id", skip_tenants.len()), ("subject", skip_subjects.len())] {
        if n > 0 {
            let list: Vec<String> = (next..next + n).map(|i| format!("${i}")).collect();
            skip.push_str(&format!(" AND {column} NOT IN ({})", list.join(", ")));
            next += n;
        }
    }
    let sql = format!(
        "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE seq IN (\
           SELECT seq FROM jobs WHERE queue = $2 AND run_at <= $3 AND locked_until <= $3{skip} ORDER BY run_at, seq LIMIT $4{lock}) \
         RETURNING *"
    );
    let mut query =
        sqlx::query(&sql).bind(now.plus_millis(lease_ms).millis()).bind(queue).bind(now.millis()).bind(limit);
    for tenant in skip_tenants {
        query = query.bind(tenant.to_string());
    }
    for subject in skip_subjects {
        query = query.bind(subject.as_str());
    }
    let rows = query.fetch_all(conn).await?;
    let mut jobs: Vec<JobRecord> = rows.iter().map(decode::<JobRecord>).collect::<Result<_, _>>()?;
    jobs.sort_by_key(|j| (j.run_at, j.seq));
    Ok(jobs)
}

/// Gives back a claimed job that was not started: its lease ends now and the claim does not
/// count as an attempt.
pub async fn release(conn: &mut Conn, seq: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET locked_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE seq = $1",
    )
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
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
