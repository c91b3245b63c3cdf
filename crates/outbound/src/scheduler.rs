//! The delivery worker's running deliveries, each its own task, within three bounds: in all, per
//! tenant, and per subject (a subscription or endpoint), so that hung endpoints hold up only their own.

use std::collections::HashMap;
use std::future::Future;

use openiav_core::ids::TenantId;
use openiav_store::records::JobRecord;
use tokio::task::{Id, JoinSet};

/// Deliveries in flight at once; each is a task and a socket waiting at most 10 seconds.
const MAX_IN_FLIGHT: usize = 128;
/// A quarter of the pool, so a few tenants with hung endpoints leave room for everyone else.
const PER_TENANT: usize = 32;
/// Dwolla bursts up to 10 concurrent requests per subscription.
const PER_SUBSCRIPTION: usize = 10;

type Key = (TenantId, String);

#[derive(Default)]
pub struct Pool {
    running: JoinSet<()>,
    keys: HashMap<Id, Key>,
    tenants: HashMap<TenantId, usize>,
    subjects: HashMap<Key, usize>,
}

impl Pool {
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// How many more deliveries may start, if any.
    pub fn room(&self) -> Option<i64> {
        let free = MAX_IN_FLIGHT.saturating_sub(self.running.len());
        (free > 0).then_some(free as i64)
    }

    /// The tenants and subjects at their bounds, whose jobs are not to be claimed now.
    pub fn saturated(&self) -> (Vec<TenantId>, Vec<String>) {
        let tenants = self.tenants.iter().filter(|(_, n)| **n >= PER_TENANT).map(|(t, _)| *t).collect();
        let subjects =
            self.subjects.iter().filter(|(_, n)| **n >= PER_SUBSCRIPTION).map(|((_, s), _)| s.clone()).collect();
        (tenants, subjects)
    }

    /// Whether `job` may start now.
    pub fn has_slot(&self, job: &JobRecord) -> bool {
        self.running.len() < MAX_IN_FLIGHT
            && self.tenants.get(&job.tenant_id).copied().unwrap_or(0) < PER_TENANT
            && self.subjects.get(&key(job)).copied().unwrap_or(0) < PER_SUBSCRIPTION
    }

    /// Runs `deliver(job)` as a task of its own.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(
        &mut self,
        job: JobRecord,
        deliver: impl FnOnce(JobRecord) -> F,
    ) {
        let key = key(&job);
        let id = self.running.spawn(deliver(job)).id();
        *self.tenants.entry(key.0).or_default() += 1;
        *self.subjects.entry(key.clone()).or_default() += 1;
        self.keys.insert(id, key);
    }

    /// Frees the slots of every delivery that has ended.
    pub fn reap(&mut self) {
        while let Some(done) = self.running.try_join_next_with_id() {
            self.free(done.map_or_else(|e| e.id(), |(id, ())| id));
        }
    }

    /// Waits for a delivery to end and frees its slot; never resolves while none runs.
    pub async fn finished(&mut self) {
        match self.running.join_next_with_id().await {
            Some(done) => self.free(done.map_or_else(|e| e.id(), |(id, ())| id)),
            None => std::future::pending().await,
        }
    }

    fn free(&mut self, id: Id) {
        let Some(key) = self.keys.remove(&id) else { return };
        decrement(&mut self.tenants, key.0);
        decrement(&mut self.subjects, key);
    }
}

fn key(job: &JobRecord) -> Key {
    (job.tenant_id, job.subject.clone())
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, k: K) {
    if let Some(n) = counts.get_mut(&k) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tenant: TenantId, subject: &str) -> JobRecord {
        JobRecord {
            seq: 0,
            tenant_id: tenant,
            queue: "webhooks".into(),
            subject: subject.into(),
            payload: "{}".into(),
            run_at: openiav_core::clock::Timestamp::from_millis(0),
            attempts: 1,
        }
    }

    #[tokio::test]
    async fn subscriptions_and_tenants_are_bounded_and_slots_free_when_deliveries_end() {
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let mut pool = Pool::default();
        let (release, hold) = tokio::sync::watch::channel(false);
        let hung = |hold: &tokio::sync::watch::Receiver<bool>| {
            let mut hold = hold.clone();
            async move {
                let _ = hold.wait_for(|go| *go).await;
            }
        };
        for _ in 0..PER_SUBSCRIPTION {
            assert!(pool.has_slot(&job(a, "sub-1")));
            pool.spawn(job(a, "sub-1"), |_| hung(&hold));
        }
        assert!(!pool.has_slot(&job(a, "sub-1")), "the subscription is at its bound");
        assert!(pool.has_slot(&job(a, "sub-2")) && pool.has_slot(&job(b, "sub-3")));
        assert_eq!(pool.saturated(), (vec![], vec!["sub-1".to_owned()]));

        let mut n = PER_SUBSCRIPTION;
        while n < PER_TENANT {
            pool.spawn(job(a, &format!("sub-{}", 2 + n / PER_SUBSCRIPTION)), |_| hung(&hold));
            n += 1;
        }
        assert!(!pool.has_slot(&job(a, "another")), "the tenant is at its bound");
        assert!(pool.has_slot(&job(b, "sub-b")), "another tenant is not");
        assert!(pool.saturated().0 == vec![a]);
        assert_eq!(pool.room(), Some((MAX_IN_FLIGHT - PER_TENANT) as i64));

        release.send_replace(true);
        for _ in 0..PER_TENANT {
            pool.finished().await;
        }
        pool.reap();
        assert!(pool.is_empty() && pool.tenants.is_empty() && pool.subjects.is_empty() && pool.keys.is_empty());
        assert!(pool.has_slot(&job(a, "sub-1")));
    }
}
