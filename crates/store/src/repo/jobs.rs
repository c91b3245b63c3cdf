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
    crate::signal(|s| s.jobs_enqueued = true);
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
///
/// `now` is the real now: a job is due when its `run_at` has come on its tenant's own clock
/// ([`tenant_clocks`](crate::repo::tenant_clocks)), and the jobs of a tenant whose clock is being
/// advanced are left to that advance. Leases run on real time.
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
           SELECT seq FROM jobs WHERE queue = $2 AND run_at <= {latest} AND run_at <= {due} AND locked_until <= $3 \
           AND NOT EXISTS (SELECT 1 FROM tenant_clocks a WHERE a.tenant_id = jobs.tenant_id AND a.advancing_until > $3)\
           {skip} ORDER BY run_at, seq LIMIT $4{lock}) \
         RETURNING *",
        latest = crate::repo::tenant_clocks::latest_now_sql("$3"),
        due = crate::repo::tenant_clocks::now_sql("jobs.tenant_id", "$3"),
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

/// When, on the real clock, the earliest job of `queue` is due, if any job is queued: a job of
/// a tenant whose clock runs at an offset is due that much earlier, one on a frozen clock is
/// due at once (0) if the clock stands at or past it and never otherwise.
pub async fn next_due(conn: &mut Conn, queue: &str) -> Result<Option<Timestamp>, StoreError> {
    let row = sqlx::query(
        "SELECT MIN(CASE WHEN k.tenant_id IS NULL THEN j.run_at \
                         WHEN k.frozen_at IS NULL THEN j.run_at - k.offset_ms \
                         WHEN j.run_at <= k.frozen_at THEN 0 END) AS due \
         FROM jobs j LEFT JOIN tenant_clocks k ON k.tenant_id = j.tenant_id WHERE j.queue = $1",
    )
    .bind(queue)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<Option<i64>, _>("due")?.map(Timestamp::from_millis))
}

/// The tenant's earliest job in `queues` whose `run_at` is at or before `until` (leased or
/// not): what an advance of the tenant's clock runs next.
pub async fn next_for_tenant(
    conn: &mut Conn,
    tenant: TenantId,
    queues: &[&str],
    until: Timestamp,
) -> Result<Option<JobRecord>, StoreError> {
    let list: Vec<String> = (3..3 + queues.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT * FROM jobs WHERE tenant_id = $1 AND run_at <= $2 AND queue IN ({}) ORDER BY run_at, seq LIMIT 1",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(tenant.to_string()).bind(until.millis());
    for queue in queues {
        query = query.bind(*queue);
    }
    let row = query.fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode::<JobRecord>).transpose()?)
}

/// Claims the tenant's job `seq` if it is not leased (on the real clock `real`) and due at
/// `tenant_now`, leasing it until `real + lease_ms`: a conditional update, so of an advance
/// and any number of workers exactly one runs it.
pub async fn claim_one(
    conn: &mut Conn,
    tenant: TenantId,
    seq: i64,
    tenant_now: Timestamp,
    real: Timestamp,
    lease_ms: i64,
) -> Result<Option<JobRecord>, StoreError> {
    let row = sqlx::query(
        "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
         WHERE seq = $2 AND tenant_id = $3 AND run_at <= $4 AND locked_until <= $5 RETURNING *",
    )
    .bind(real.plus_millis(lease_ms).millis())
    .bind(seq)
    .bind(tenant.to_string())
    .bind(tenant_now.millis())
    .bind(real.millis())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(decode::<JobRecord>).transpose()?)
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

/// Removes the queued jobs of `queue` whose payload is exactly `payload`, unless a worker holds
/// one past the real now `now`; answers how many it removed.
pub async fn cancel_payload(
    conn: &mut Conn,
    tenant: TenantId,
    queue: &str,
    payload: &str,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND queue = $2 AND payload = $3 AND locked_until <= $4")
            .bind(tenant.to_string())
            .bind(queue)
            .bind(payload)
            .bind(now.millis())
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}

/// Whether job `seq` is queued and leased past the real now `now` (a worker is running it).
pub async fn is_leased(conn: &mut Conn, seq: i64, now: Timestamp) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE seq = $1 AND locked_until > $2")
        .bind(seq)
        .bind(now.millis())
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Jobs queued about `subject` (for tests and diagnostics).
pub async fn count_for_subject(conn: &mut Conn, subject: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE subject = $1")
        .bind(subject)
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}
