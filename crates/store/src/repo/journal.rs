//! The request journal: the most recent requests of each tenant (route templates, statuses and
//! ids only, never bodies, headers or secrets), written in batches off the request path and
//! trimmed to a bound per tenant.

use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::ops::Listener;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Conn, StoreError};

/// One journalled request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    /// Assigned by the store on insert (ignored there); newest is highest.
    pub seq: i64,
    pub tenant_id: TenantId,
    pub at: Timestamp,
    pub listener: Listener,
    pub method: String,
    /// The route template (`/users/{user_guid}`), never the concrete path.
    pub route: String,
    pub status: i64,
    pub latency_ms: i64,
    pub request_id: String,
    /// Ids of the resources the request named or created.
    pub resource_ids: Vec<String>,
    /// The fault rule that applied to it, if any.
    pub fault_id: Option<String>,
}

/// Which entries a journal read returns, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalFilter {
    pub limit: i64,
    pub status: Option<i64>,
    pub route: Option<String>,
}

fn entry_of(row: &AnyRow) -> Result<JournalRecord, StoreError> {
    let tenant: String = row.try_get("tenant_id")?;
    let listener: String = row.try_get("listener")?;
    let ids: String = row.try_get("resource_ids")?;
    Ok(JournalRecord {
        seq: row.try_get("seq")?,
        tenant_id: TenantId::parse(&tenant).ok_or_else(|| StoreError::Corrupt(format!("bad tenant id {tenant:?}")))?,
        at: Timestamp::from_millis(row.try_get("at")?),
        listener: listener
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("request_journal.listener holds {listener:?}")))?,
        method: row.try_get("method")?,
        route: row.try_get("route")?,
        status: row.try_get("status")?,
        latency_ms: row.try_get("latency_ms")?,
        request_id: row.try_get("request_id")?,
        resource_ids: serde_json::from_str(&ids)
            .map_err(|e| StoreError::Corrupt(format!("request_journal.resource_ids: {e}")))?,
        fault_id: row.try_get("fault_id")?,
    })
}

/// Rows per INSERT statement (ten parameters each, well under both backends' limits).
const ROWS_PER_STATEMENT: usize = 64;

/// Appends entries (their `seq` is assigned here, in order), many rows per statement.
pub async fn insert_batch(conn: &mut Conn, entries: &[JournalRecord]) -> Result<(), StoreError> {
    // SQLite looks a numbered parameter's name up in a list, once per parameter: quadratic in a
    // statement of hundreds. Its anonymous `?` binds in order at no cost.
    let anonymous = conn.backend_name() == "SQLite";
    let mark = |n: usize| if anonymous { "?".to_owned() } else { format!("${n}") };
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO request_journal (tenant_id, at, listener, method, route, status, latency_ms, request_id, \
               resource_ids, fault_id) VALUES ",
        );
        for i in 0..chunk.len() {
            let p = i * 10;
            if i > 0 {
                sql.push_str(", ");
            }
            let row: Vec<String> = (1..=10).map(|k| mark(p + k)).collect();
            sql.push('(');
            sql.push_str(&row.join(", "));
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for e in chunk {
            let ids = serde_json::to_string(&e.resource_ids).expect("a list of strings serialises");
            query = query
                .bind(e.tenant_id.to_string())
                .bind(e.at.millis())
                .bind(e.listener.as_str())
                .bind(e.method.clone())
                .bind(e.route.clone())
                .bind(e.status)
                .bind(e.latency_ms)
                .bind(e.request_id.clone())
                .bind(ids)
                .bind(e.fault_id.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes all but the tenant's `keep` newest entries; returns how many went.
pub async fn trim(conn: &mut Conn, tenant: TenantId, keep: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM request_journal WHERE tenant_id = $1 AND seq <= \
           (SELECT seq FROM request_journal WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
    )
    .bind(tenant.to_string())
    .bind(keep.max(0))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The tenant's entries that pass `filter`, newest first.
pub async fn list(conn: &mut Conn, tenant: TenantId, filter: &JournalFilter) -> Result<Vec<JournalRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM request_journal WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) \
           AND ($3 IS NULL OR route = $3) ORDER BY seq DESC LIMIT $4",
    )
    .bind(tenant.to_string())
    .bind(filter.status)
    .bind(&filter.route)
    .bind(filter.limit.max(0))
    .fetch_all(conn)
    .await?;
    rows.iter().map(entry_of).collect()
}
