//! Advancing a tenant's clock: every job and webhook delivery of the tenant that falls due
//! before the target runs, in due order, with the clock stepped to its time, through the same
//! code the background workers run; then the clock lands on the target.
//!
//! The advance holds the tenant's lease (`tenant_clocks.advancing_until`), so background
//! workers in every process leave the tenant's jobs to it and a second advance waits its turn.
//! Each item is claimed with a conditional update (`jobs::claim_one`), so an item a worker
//! claimed before the lease was taken is waited for, never run twice.

use std::time::Duration;

use openiav_core::clock::{ClockSetting, Timestamp};
use openiav_core::ids::TenantId;
use openiav_store::records::JobRecord;
use openiav_store::repo::{jobs, tenant_clocks};
use serde::Serialize;

use super::rules::{self, ADVANCE_LEASE_MS, MAX_ITEMS_PER_ADVANCE};
use crate::{Control, ControlError, WorkKind};

/// How often a waiting advance looks again (at another advance's lease, or at an item a worker
/// is running).
const POLL: Duration = Duration::from_millis(10);
/// How long an advance waits for its turn or for an item a worker holds.
const WAIT_AT_MOST: Duration = Duration::from_secs(30);

/// What an advance ran, by kind: member job steps, and webhook delivery jobs (each an attempt,
/// or the end of a delivery whose subscription was paused or endpoint removed meanwhile).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ran {
    pub member_jobs: usize,
    pub dwolla_webhooks: usize,
    pub mx_webhooks: usize,
}

impl Ran {
    fn count(&mut self, kind: WorkKind) {
        match kind {
            WorkKind::MemberJob => self.member_jobs += 1,
            WorkKind::DwollaWebhook => self.dwolla_webhooks += 1,
            WorkKind::MxWebhook => self.mx_webhooks += 1,
        }
    }

    pub fn total(self) -> usize {
        self.member_jobs + self.dwolla_webhooks + self.mx_webhooks
    }
}

/// How an advance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advanced {
    pub ran: Ran,
    /// False when the advance stopped at [`MAX_ITEMS_PER_ADVANCE`] before its target: the clock
    /// stands at the last item's time and more work is due before the target.
    pub complete: bool,
}

/// Where an advance is going, decided once it holds the lease (so concurrent advances add up).
pub enum Target {
    By(i64),
    At(String),
}

/// Moves the tenant's clock to `target`, running everything that falls due on the way.
pub async fn advance(control: &Control, tenant: TenantId, target: Target) -> Result<Advanced, ControlError> {
    let setting = take_lease(control, tenant).await?;
    let outcome = run(control, tenant, setting, target).await;
    let ended =
        control.store.write(move |c| Box::pin(async move { tenant_clocks::end_advance(c, tenant).await })).await;
    let outcome = outcome?;
    ended?;
    Ok(outcome)
}

async fn run(
    control: &Control,
    tenant: TenantId,
    mut setting: ClockSetting,
    target: Target,
) -> Result<Advanced, ControlError> {
    let real = control.real_now();
    let now = setting.now(real);
    let target = match target {
        Target::By(ms) => now.plus_millis(ms),
        Target::At(text) => rules::set_target(&text, now).map_err(|r| ControlError::bad_request(r.message()))?,
    };
    let queues = control.queues();
    let mut ran = Ran::default();
    loop {
        let queues = queues.clone();
        let next = control
            .store
            .read(|mut c| async move { jobs::next_for_tenant(&mut c, tenant, &queues, target).await })
            .await?;
        let Some(job) = next else { break };
        if ran.total() >= MAX_ITEMS_PER_ADVANCE {
            return Ok(Advanced { ran, complete: false });
        }
        let at = rules::step_to(setting.now(control.real_now()), job.run_at);
        setting = move_clock(control, tenant, setting, at).await?;
        if let Some(kind) = run_item(control, tenant, &job, at).await? {
            ran.count(kind);
        }
    }
    move_clock(control, tenant, setting, target).await?;
    Ok(Advanced { ran, complete: true })
}

/// Takes the tenant's advance lease, waiting for another advance to finish; the setting the
/// clock had when it was taken.
async fn take_lease(control: &Control, tenant: TenantId) -> Result<ClockSetting, ControlError> {
    let started = tokio::time::Instant::now();
    loop {
        let real = control.real_now();
        let taken = control
            .store
            .write(move |c| {
                Box::pin(async move {
                    let setting = rules::advancing_setting(tenant_clocks::get_for_update(c, tenant).await?);
                    let taken = tenant_clocks::begin_advance(c, tenant, setting, real, ADVANCE_LEASE_MS).await?;
                    Ok(taken.then_some(setting))
                })
            })
            .await?;
        if let Some(setting) = taken {
            return Ok(setting);
        }
        if started.elapsed() > WAIT_AT_MOST {
            return Err(ControlError::conflict("Another advance of this tenant's clock is still running."));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn move_clock(
    control: &Control,
    tenant: TenantId,
    setting: ClockSetting,
    at: Timestamp,
) -> Result<ClockSetting, ControlError> {
    let real = control.real_now();
    let moved = setting.moved_to(at, real);
    control.store.write(move |c| Box::pin(async move { tenant_clocks::set(c, tenant, moved, real).await })).await?;
    Ok(moved)
}

/// Claims and runs one due item at the clock's time `at`; `None` when it was not ours to run
/// (a worker holds it: the advance waits for it to finish and looks again).
async fn run_item(
    control: &Control,
    tenant: TenantId,
    job: &JobRecord,
    at: Timestamp,
) -> Result<Option<WorkKind>, ControlError> {
    let (seq, real) = (job.seq, control.real_now());
    if job.queue == openiav_aggregation::engine::QUEUE {
        let agg = control.aggregation.clone();
        let done = control
            .store
            .write(move |c| {
                Box::pin(async move {
                    let Some(job) = jobs::claim_one(c, tenant, seq, at, real, ADVANCE_LEASE_MS).await? else {
                        return Ok(false);
                    };
                    openiav_aggregation::worker::run_claimed(c, &agg, &job).await?;
                    Ok(true)
                })
            })
            .await?;
        if done {
            return Ok(Some(WorkKind::MemberJob));
        }
    } else {
        let claimed = control
            .store
            .write(move |c| Box::pin(async move { jobs::claim_one(c, tenant, seq, at, real, ADVANCE_LEASE_MS).await }))
            .await?;
        if let Some(job) = claimed {
            let Some(delivery) = control.deliveries.iter().find(|d| d.runner.takes(&job)) else {
                tracing::error!(job.seq = job.seq, "dropping a delivery job no kind of delivery takes");
                control.store.write(move |c| Box::pin(async move { jobs::complete(c, seq).await })).await?;
                return Ok(None);
            };
            delivery.runner.deliver(job).await?;
            return Ok(Some(delivery.kind));
        }
    }
    wait_while_held(control, seq).await?;
    Ok(None)
}

/// Waits while another claim holds job `seq` (a worker that took it before the lease).
async fn wait_while_held(control: &Control, seq: i64) -> Result<(), ControlError> {
    let started = tokio::time::Instant::now();
    loop {
        let real = control.real_now();
        let held = control.store.read(|mut c| async move { jobs::is_leased(&mut c, seq, real).await }).await?;
        if !held {
            return Ok(());
        }
        if started.elapsed() > WAIT_AT_MOST {
            return Err(ControlError::conflict("A worker is still running work this advance must wait for."));
        }
        tokio::time::sleep(POLL).await;
    }
}
