//! MX Platform webhooks: each one written in the transaction of the change that causes it
//! (member saves compare the connection status before and after, and a finished job maps to its
//! webhook), stored with its payload and delivered by the shared durable worker
//! (`openiav_outbound`) to the tenant's endpoint for its type, else its all-types endpoint.

use std::collections::{HashMap, HashSet};

use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_store::records::{AccountRecord, MemberRecord, MxWebhookRecord};
use openiav_store::repo::{accounts, members, mx_webhooks, statements, users};
use openiav_store::{Conn, StoreError};
use serde_json::Value;

use crate::engine::{self, JobKind};
use crate::sandbox::data;
use crate::status::ConnectionStatus;
use crate::Aggregation;

pub mod delivery;
pub mod fired;
pub mod payload;
pub mod schedule;
pub mod settings;
pub mod view;

pub use delivery::delivery_kind;
pub use payload::Action;

/// Writes a webhook of `kind` for the tenant's endpoint (if one takes it) and queues its first
/// delivery at `at`, inside the caller's transaction.
pub async fn emit(
    conn: &mut Conn,
    agg: &Aggregation,
    tenant: TenantId,
    kind: MxWebhookType,
    body: &Value,
    at: Timestamp,
) -> Result<(), StoreError> {
    emit_record(conn, agg, tenant, kind, body, at).await.map(drop)
}

/// [`emit`], answering the webhook written (`None`: no endpoint takes `kind`).
pub async fn emit_record(
    conn: &mut Conn,
    agg: &Aggregation,
    tenant: TenantId,
    kind: MxWebhookType,
    body: &Value,
    at: Timestamp,
) -> Result<Option<MxWebhookRecord>, StoreError> {
    let endpoints = mx_webhooks::list_endpoints(conn, tenant).await?;
    let Some(endpoint) = settings::endpoint_for(&endpoints, kind) else { return Ok(None) };
    let now = agg.now_in(conn, tenant).await?;
    let record = MxWebhookRecord {
        guid: format!("WHK-{}", openiav_core::crypto::random_hex(16)),
        tenant_id: tenant,
        webhook_type: kind,
        endpoint: endpoint.webhook_type,
        url: endpoint.url.clone(),
        body: body.to_string(),
        attempts: "[]".into(),
        created_at: now,
    };
    mx_webhooks::insert_webhook(conn, &record).await?;
    delivery::enqueue(conn, &record, at.max(now), now).await?;
    Ok(Some(record))
}

/// The partner id of a user, for payloads that carry `user_id`.
pub async fn user_id_of(conn: &mut Conn, m: &MemberRecord) -> Result<Option<String>, StoreError> {
    Ok(users::find(conn, m.tenant_id, m.user_guid.as_str(), false).await?.and_then(|u| u.id))
}

/// The member's data before a job step, to count what the step gathered.
pub struct Before {
    member: MemberRecord,
    transactions: HashMap<String, bool>,
    /// Statements the member had, taken only while a statement fetch runs.
    statements: HashSet<String>,
}

impl Before {
    pub async fn take(conn: &mut Conn, m: &MemberRecord) -> Result<Self, StoreError> {
        let transactions = visible_transactions(conn, m).await?;
        let fetching_statements = engine::running_job(m)?.is_some_and(|j| j.kind == JobKind::FetchStatements);
        let statements = if fetching_statements { statement_guids(conn, m).await? } else { HashSet::new() };
        Ok(Self { member: m.clone(), transactions, statements })
    }
}

async fn statement_guids(conn: &mut Conn, m: &MemberRecord) -> Result<HashSet<String>, StoreError> {
    let all = statements::all(conn, m.tenant_id, &m.user_guid, &m.guid).await?;
    Ok(all.into_iter().map(|s| s.guid).collect())
}

/// The member's transactions as the API shows them (guid → pending).
async fn visible_transactions(conn: &mut Conn, m: &MemberRecord) -> Result<HashMap<String, bool>, StoreError> {
    if !m.has_processed_transactions {
        return Ok(HashMap::new());
    }
    let accts = accounts::all(conn, m.tenant_id, &m.user_guid, Some(&m.guid)).await?;
    Ok(transactions_of(&accts))
}

fn transactions_of(accts: &[AccountRecord]) -> HashMap<String, bool> {
    accts
        .iter()
        .flat_map(|a| {
            data::transactions_of(a.tenant_id, a.guid.as_str(), a.seed, a.kind, a.updated_at.unix_day(), a.history_days)
        })
        .map(|t| (t.guid, t.pending))
        .collect()
}

/// Saves a member changed outside a job step: a changed connection status writes
/// CONNECTION_STATUS in the same transaction.
pub async fn save_member(conn: &mut Conn, agg: &Aggregation, m: &MemberRecord) -> Result<(), StoreError> {
    let stored = members::find_in_tenant(conn, m.tenant_id, m.guid.as_str()).await?;
    members::save(conn, m).await?;
    let before = stored.map_or(ConnectionStatus::Created, |s| s.connection_status);
    changed(conn, agg, before, m, None).await
}

/// Saves a member after a job step: a changed connection status writes CONNECTION_STATUS, and a
/// job that finished connected writes its webhook with what it gathered.
pub async fn save_after_step(
    conn: &mut Conn,
    agg: &Aggregation,
    before: Before,
    m: &MemberRecord,
) -> Result<(), StoreError> {
    members::save(conn, m).await?;
    changed(conn, agg, before.member.connection_status, m, Some(before)).await
}

async fn changed(
    conn: &mut Conn,
    agg: &Aggregation,
    before: ConnectionStatus,
    m: &MemberRecord,
    step: Option<Before>,
) -> Result<(), StoreError> {
    let status_changed = payload::sends_connection_status(before, m.connection_status);
    let finished = match &step {
        Some(b) if m.job.is_none() && m.connection_status == ConnectionStatus::Connected => {
            engine::running_job(&b.member)?
        }
        _ => None,
    };
    if !status_changed && finished.is_none() {
        return Ok(());
    }
    let now = agg.now_in(conn, m.tenant_id).await?;
    let user_id = user_id_of(conn, m).await?;
    if status_changed {
        let body = payload::connection_status(m, user_id.as_deref(), now);
        emit(conn, agg, m.tenant_id, MxWebhookType::ConnectionStatus, &body, now).await?;
    }
    if let (Some(job), Some(before)) = (finished, step) {
        let data = job_data(conn, job.kind, &before, m).await?;
        if let Some((kind, body)) = payload::job_finished(job.kind, m, user_id.as_deref(), &job.guid, &data, now) {
            emit(conn, agg, m.tenant_id, kind, &body, now).await?;
        }
    }
    Ok(())
}

/// Transactions new since before the job, or posted since (pending then, not now); the accounts
/// whose numbers a verification made available.
async fn job_data(
    conn: &mut Conn,
    kind: JobKind,
    before: &Before,
    m: &MemberRecord,
) -> Result<payload::JobData, StoreError> {
    let accts = accounts::all(conn, m.tenant_id, &m.user_guid, Some(&m.guid)).await?;
    let mut out = payload::JobData::default();
    if kind == JobKind::FetchStatements {
        out.statements_created = statement_guids(conn, m).await?.difference(&before.statements).count();
    }
    if kind == JobKind::Verify {
        out.verified_accounts = accts.iter().filter(|a| a.numbers_verified).map(|a| a.guid.to_string()).collect();
    }
    if m.has_processed_transactions {
        for (guid, pending) in transactions_of(&accts) {
            match before.transactions.get(&guid) {
                None => out.transactions_created += 1,
                Some(was) if *was != pending => out.transactions_updated += 1,
                Some(_) => {}
            }
        }
    }
    Ok(out)
}
