//! The delivery worker: claims due jobs of the one delivery queue under a lease, runs each as a
//! task of its own within the pool's bounds, and hands it to the [`Kind`] that takes it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use openiav_core::clock::Clock;
use openiav_store::records::JobRecord;
use openiav_store::repo::jobs;
use openiav_store::{Store, StoreError};

use crate::scheduler::Pool;
use crate::QUEUE;

/// How long a claim is leased (well over the 10-second timeout).
pub const LEASE_MS: i64 = 60_000;

/// One surface's deliveries (Dwolla's webhooks, MX's webhooks).
pub trait Kind: Send + Sync + 'static {
    /// The vendor label of this kind's deliveries in metrics.
    fn vendor(&self) -> &'static str {
        "unknown"
    }
    /// Whether `job` is one of this kind's deliveries (read from its payload).
    fn takes(&self, job: &JobRecord) -> bool;
    /// Delivers `job`, records the attempt, and completes or reschedules the job.
    fn deliver(&self, job: JobRecord) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Runs the delivery worker for `kinds` until `shutdown` resolves.
pub async fn run(store: Store, clock: Arc<dyn Clock>, kinds: Vec<Arc<dyn Kind>>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let wake = store.jobs_ready();
    let mut pool = Pool::default();
    loop {
        pool.reap();
        let now = clock.now();
        let mut started = 0;
        if let Some(room) = pool.room() {
            let (tenants, subjects) = pool.saturated();
            let claimed = store
                .write(move |c| {
                    Box::pin(
                        async move { jobs::claim_skipping(c, QUEUE, now, LEASE_MS, room, &tenants, &subjects).await },
                    )
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "webhook worker could not claim deliveries");
                    Vec::new()
                });
            let mut put_back = Vec::new();
            let mut dropped = Vec::new();
            for job in claimed {
                if !pool.has_slot(&job) {
                    put_back.push(job.seq);
                    continue;
                }
                let Some(kind) = kinds.iter().find(|k| k.takes(&job)).cloned() else {
                    tracing::error!(job.seq = job.seq, "dropping a delivery job no kind of delivery takes");
                    dropped.push(job.seq);
                    continue;
                };
                pool.spawn(job, |job| async move {
                    let seq = job.seq;
                    let vendor = kind.vendor();
                    if let Err(e) = crate::VENDOR.scope(vendor, kind.deliver(job)).await {
                        tracing::error!(job.seq = seq, error = %e, "recording a webhook delivery failed");
                    }
                });
                started += 1;
            }
            if !put_back.is_empty() || !dropped.is_empty() {
                let released = store
                    .write(move |c| {
                        Box::pin(async move {
                            for seq in put_back {
                                jobs::release(c, seq).await?;
                            }
                            for seq in dropped {
                                jobs::complete(c, seq).await?;
                            }
                            Ok(())
                        })
                    })
                    .await;
                if let Err(e) = released {
                    tracing::error!(error = %e, "webhook worker could not give back deliveries; their leases will run out");
                }
            }
        }
        if started > 0 {
            continue;
        }
        let next = store.read(|mut c| async move { jobs::next_due(&mut c, QUEUE).await }).await.ok().flatten();
        let wait = match next {
            Some(due) if due.millis() > now.millis() => {
                Duration::from_millis(due.millis().saturating_sub(now.millis()).clamp(20, 1000) as u64)
            }
            // Due but not claimable: running here (a finishing delivery wakes the loop) or leased elsewhere.
            Some(_) if !pool.is_empty() => Duration::from_secs(1),
            Some(_) => Duration::from_millis(20),
            None => Duration::from_secs(1),
        };
        tokio::select! {
            _ = &mut shutdown => break,
            _ = wake.notified() => {}
            _ = pool.finished() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Deliveries under way finish (within their timeout) and are recorded before the store closes.
    while !pool.is_empty() {
        pool.finished().await;
    }
}

/// Completes a job (a delivery with nothing left to do).
pub async fn complete(store: &Store, seq: i64) -> Result<(), StoreError> {
    store.write(move |c| Box::pin(async move { jobs::complete(c, seq).await })).await
}
