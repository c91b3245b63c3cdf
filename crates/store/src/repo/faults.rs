//! Fault rules: what a tenant asked to go wrong with its own requests. A rule's count is spent
//! with a conditional update inside the write that decides on it, so concurrent requests never
//! spend more than the count.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::ops::{FaultEffectKind, Listener};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{for_update, Conn, StoreError};

/// One fault rule as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRuleRecord {
    pub id: String,
    pub tenant_id: TenantId,
    /// `None`: either listener.
    pub listener: Option<Listener>,
    /// Upper-case HTTP method; `None`: any.
    pub method: Option<String>,
    /// The path pattern (`*` one segment, `**` any number).
    pub path: String,
    pub effect: FaultEffectKind,
    pub status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub retry_after_secs: Option<i64>,
    /// Probability in parts per million.
    pub probability_ppm: i64,
    pub seed: i64,
    /// Requests it may still apply to; `None`: unlimited.
    pub remaining: Option<i64>,
    /// Requests it matched so far (the index of the next draw).
    pub matched: i64,
    /// Requests it applied to so far.
    pub applied: i64,
    pub created_at: Timestamp,
}

impl FaultRuleRecord {
    /// Whether the rule can still apply (its count is not spent).
    pub fn is_live(&self) -> bool {
        self.remaining.is_none_or(|n| n > 0)
    }
}

fn word<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("fault_rules.{column} holds {text:?}")))
}

fn rule_of(row: &AnyRow) -> Result<FaultRuleRecord, StoreError> {
    let tenant: String = row.try_get("tenant_id")?;
    let listener: Option<String> = row.try_get("listener")?;
    Ok(FaultRuleRecord {
        id: row.try_get("id")?,
        tenant_id: TenantId::parse(&tenant).ok_or_else(|| StoreError::Corrupt(format!("bad tenant id {tenant:?}")))?,
        listener: listener
            .map(|l| l.parse().map_err(|_| StoreError::Corrupt(format!("fault_rules.listener holds {l:?}"))))
            .transpose()?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        effect: word(row, "effect")?,
        status: row.try_get("status")?,
        latency_ms: row.try_get("latency_ms")?,
        retry_after_secs: row.try_get("retry_after_secs")?,
        probability_ppm: row.try_get("probability_ppm")?,
        seed: row.try_get("seed")?,
        remaining: row.try_get("remaining")?,
        matched: row.try_get("matched")?,
        applied: row.try_get("applied")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

/// Stores a new rule.
pub async fn insert(conn: &mut Conn, r: &FaultRuleRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO fault_rules (id, tenant_id, listener, method, path, effect, status, latency_ms, \
           retry_after_secs, probability_ppm, seed, remaining, matched, applied, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&r.id)
    .bind(r.tenant_id.to_string())
    .bind(r.listener.map(Listener::as_str))
    .bind(&r.method)
    .bind(&r.path)
    .bind(r.effect.as_str())
    .bind(r.status)
    .bind(r.latency_ms)
    .bind(r.retry_after_secs)
    .bind(r.probability_ppm)
    .bind(r.seed)
    .bind(r.remaining)
    .bind(r.matched)
    .bind(r.applied)
    .bind(r.created_at.millis())
    .execute(&mut *conn)
    .await?;
    changed(conn).await
}

/// Announces, at the write's commit, that the rules changed: to this process through the
/// store, to the others through PostgreSQL's `NOTIFY` (delivered at the same commit, naming
/// the store that wrote so it does not count its own change twice).
pub(crate) async fn changed(conn: &mut Conn) -> Result<(), StoreError> {
    crate::signal(|s| s.fault_rules_changed = true);
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::postgres::FAULT_RULES_CHANNEL)
            .bind(crate::write_origin().to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Every rule of the tenant, spent ones too, oldest first.
pub async fn list(conn: &mut Conn, tenant: TenantId) -> Result<Vec<FaultRuleRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM fault_rules WHERE tenant_id = $1 ORDER BY seq")
        .bind(tenant.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(rule_of).collect()
}

/// The tenant's rules that can still apply, oldest first (a request's cheap first look).
pub async fn live(conn: &mut Conn, tenant: TenantId) -> Result<Vec<FaultRuleRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM fault_rules WHERE tenant_id = $1 AND (remaining IS NULL OR remaining > 0) ORDER BY seq",
    )
    .bind(tenant.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(rule_of).collect()
}

/// Like [`live`], holding the rows (PostgreSQL) until the caller's write commits, so the
/// decision on them and the update that records it see the same counts.
pub async fn lock_live(conn: &mut Conn, tenant: TenantId) -> Result<Vec<FaultRuleRecord>, StoreError> {
    let sql = format!(
        "SELECT * FROM fault_rules WHERE tenant_id = $1 AND (remaining IS NULL OR remaining > 0) ORDER BY seq{}",
        for_update(conn)
    );
    let rows = sqlx::query(&sql).bind(tenant.to_string()).fetch_all(&mut *conn).await?;
    rows.iter().map(rule_of).collect()
}

/// Counts one matching request against the rule; when `applied`, also spends one of its count,
/// only if any is left. Returns whether the rule applied (false when its count ran out).
pub async fn record_match(conn: &mut Conn, tenant: TenantId, id: &str, applied: bool) -> Result<bool, StoreError> {
    if !applied {
        sqlx::query("UPDATE fault_rules SET matched = matched + 1 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        return Ok(false);
    }
    let spent = sqlx::query(
        "UPDATE fault_rules SET matched = matched + 1, applied = applied + 1, \
           remaining = CASE WHEN remaining IS NULL THEN NULL ELSE remaining - 1 END \
         WHERE tenant_id = $1 AND id = $2 AND (remaining IS NULL OR remaining > 0) RETURNING remaining",
    )
    .bind(tenant.to_string())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = spent else { return Ok(false) };
    if row.try_get::<Option<i64>, _>("remaining")? == Some(0) {
        // The count ran out: caches must stop offering the rule.
        changed(conn).await?;
    }
    Ok(true)
}

/// Removes one rule; false when the tenant has none by that id.
pub async fn delete(conn: &mut Conn, tenant: TenantId, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM fault_rules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    changed(conn).await?;
    Ok(done.rows_affected() == 1)
}

/// Removes every rule of the tenant; returns how many went.
pub async fn clear(conn: &mut Conn, tenant: TenantId) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM fault_rules WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .execute(&mut *conn)
        .await?;
    changed(conn).await?;
    Ok(done.rows_affected())
}
