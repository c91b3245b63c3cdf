//! The job worker: claims due member jobs with a lease, runs each step in the same write
//! transaction that completes it, and sleeps until woken by a new job or the next due time.

use std::time::Duration;

use openiav_store::records::JobRecord;
use openiav_store::repo::{jobs, members};
use openiav_store::{execute_raw as exec, Conn, StoreError};

use crate::engine::{self, JobPayload};
use crate::{webhooks, AppState};

/// How long a claimed job is leased to its worker.
const LEASE_MS: i64 = 30_000;
/// How many jobs one transaction takes.
const BATCH: i64 = 64;
/// How soon the worker looks again at a due job another worker holds.
const LEASED_RECHECK_MS: i64 = 20;
/// The longest the worker sleeps without checking the queue (covers lost notifications).
const MAX_IDLE: Duration = Duration::from_secs(1);

/// Runs the worker until `shutdown` resolves.
pub async fn run(state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let wake = state.store.jobs_ready();
    loop {
        let processed = match drain_once(&state).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "job worker could not claim jobs");
                0
            }
        };
        if processed > 0 {
            continue;
        }
        let now = state.clock.now();
        let next =
            state.store.read(|mut c| async move { jobs::next_due(&mut c, engine::QUEUE).await }).await.ok().flatten();
        // A due job that could not be claimed is held by another worker: look again soon,
        // without spinning.
        let wait = next
            .map(|due| due.millis().saturating_sub(now.millis()).clamp(LEASED_RECHECK_MS, MAX_IDLE.as_millis() as i64))
            .map_or(MAX_IDLE, |ms| Duration::from_millis(ms as u64));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Claims and runs one batch of due jobs; returns how many were claimed.
pub async fn drain_once(state: &AppState) -> Result<usize, StoreError> {
    let agg = state.clone();
    state.store.write(move |c| Box::pin(async move { process_batch(c, &agg).await })).await
}

async fn process_batch(c: &mut Conn, agg: &AppState) -> Result<usize, StoreError> {
    let claimed = jobs::claim(c, engine::QUEUE, agg.clock.now(), LEASE_MS, BATCH).await?;
    for job in &claimed {
        run_claimed(c, agg, job).await?;
    }
    Ok(claimed.len())
}

/// Runs one claimed job inside the caller's write and completes it; a job that fails is rolled
/// back to its savepoint and retried later on its tenant's clock. The worker and a clock advance
/// (`openiav_control::clock`) both run jobs through here.
pub async fn run_claimed(c: &mut Conn, agg: &AppState, job: &JobRecord) -> Result<(), StoreError> {
    exec(c, "SAVEPOINT job").await?;
    match run_job(c, agg, job).await {
        Ok(()) => {
            jobs::complete(c, job.seq).await?;
            exec(c, "RELEASE SAVEPOINT job").await
        }
        Err(e) => {
            tracing::error!(job.seq = job.seq, job.subject = %job.subject, error = %e, "member job failed; retrying later");
            exec(c, "ROLLBACK TO SAVEPOINT job").await?;
            exec(c, "RELEASE SAVEPOINT job").await?;
            let now = agg.now_in(c, job.tenant_id).await?;
            jobs::retry_at(c, job.seq, now.plus_millis(5_000 * job.attempts.max(1))).await
        }
    }
}

async fn run_job(c: &mut Conn, agg: &AppState, job: &JobRecord) -> Result<(), StoreError> {
    let payload: JobPayload = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(job.seq = job.seq, error = %e, "dropping a job whose payload cannot be read");
            return Ok(());
        }
    };
    let Some(mut member) = members::find_in_tenant_for_update(c, job.tenant_id, &payload.member).await? else {
        return Ok(());
    };
    let before = webhooks::Before::take(c, &member).await?;
    engine::run_step(c, agg, &mut member, &payload).await?;
    webhooks::save_after_step(c, agg, before, &member).await
}
