//! A tenant's data as a whole: which tables hold it and in what role, deleting it (reset),
//! reading every row of it (snapshot), writing rows back (restore), and the tenant's custom
//! sandbox fixtures document.
//!
//! Rows travel as columns and cells, not as records, so a table added by a migration is carried
//! once it is listed in [`TABLES`]; `tests/conformance.rs` fails while a table with a `tenant_id`
//! column is missing from that list, and while the list's order breaks a foreign key.

use std::collections::BTreeMap;

use base64::Engine;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use serde::{Deserialize, Serialize};
use sqlx::{Column as _, Row, ValueRef as _};

use crate::{Conn, StoreError};

/// What a tenant-scoped table holds, which decides what reset and snapshot do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The tenant's data: reset deletes it, a snapshot holds it, restore replaces it.
    Data,
    /// A setting of the tenant (redirect URLs, MX webhook URLs, fixtures): kept by reset and
    /// left out of snapshots.
    Setting,
    /// A credential (access-token hashes): kept, so the caller's token keeps working; never in
    /// a snapshot.
    Credential,
    /// What the server observed of the tenant's requests (the journal): kept by reset, so a
    /// test can still read what led up to it, and never in a snapshot.
    Observed,
}

/// One tenant-scoped table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub role: Role,
}

const fn data(name: &'static str) -> Table {
    Table { name, role: Role::Data }
}

/// Every table with a `tenant_id` column, parents before the tables whose foreign keys point at
/// them: restore inserts in this order, reset deletes in the reverse one.
pub const TABLES: &[Table] = &[
    Table { name: "payment_tokens", role: Role::Credential },
    Table { name: "dashboard_sessions", role: Role::Credential },
    Table { name: "tenant_payment_settings", role: Role::Setting },
    Table { name: "mx_webhook_endpoints", role: Role::Setting },
    Table { name: "sandbox_fixtures", role: Role::Setting },
    data("users"),
    data("members"),
    data("accounts"),
    data("micro_deposits"),
    data("widget_sessions"),
    data("processor_codes"),
    data("processor_tokens"),
    data("statements"),
    data("holdings"),
    data("investment_deactivations"),
    data("rewards"),
    data("mx_webhooks"),
    data("plaid_items"),
    data("plaid_link_tokens"),
    data("plaid_public_tokens"),
    data("plaid_processor_tokens"),
    data("visa_links"),
    data("visa_codes"),
    data("customers"),
    data("exchange_sessions"),
    data("exchange_session_states"),
    data("exchanges"),
    data("on_demand_authorizations"),
    data("funding_sources"),
    data("funding_source_micro_deposits"),
    data("transfers"),
    data("bank_transfers"),
    data("events"),
    data("webhook_subscriptions"),
    data("webhooks"),
    data("webhook_retries"),
    data("idempotency_keys"),
    data("jobs"),
    data("tenant_clocks"),
    data("fault_rules"),
    Table { name: "request_journal", role: Role::Observed },
];

/// The tables reset deletes and snapshots hold, in insert order.
pub fn data_tables() -> impl DoubleEndedIterator<Item = &'static str> {
    TABLES.iter().filter(|t| t.role == Role::Data).map(|t| t.name)
}

/// The column every table orders by and numbers itself with; left out of snapshots and given
/// afresh (in the snapshot's order) on restore, so a snapshot loads into any database.
const SEQ: &str = "seq";

/// One stored value, as a snapshot writes it: JSON null, boolean, integer, float, string, or
/// `{"base64": …}` for bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Blob { base64: String },
}

/// A table's rows: column names, then one cell per column for each row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// How a column's values are bound, from its declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Float,
    Text,
    Blob,
}

impl Kind {
    fn of_declared(declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        if t.contains("bool") {
            Self::Bool
        } else if t.contains("int") || t.contains("serial") {
            Self::Int
        } else if t.contains("blob") || t.contains("bytea") {
            Self::Blob
        } else if t.contains("real") || t.contains("double") || t.contains("float") || t.contains("numeric") {
            Self::Float
        } else {
            Self::Text
        }
    }
}

fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// The tables of the schema that have a `tenant_id` column, by name.
pub async fn tenant_scoped_tables(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    let sql = if is_postgres(conn) {
        "SELECT table_name::text AS name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1"
    } else {
        "SELECT m.name AS name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.name = 'tenant_id' ORDER BY 1"
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("name")?)).collect()
}

/// The tables `table`'s foreign keys point at (itself included when it refers to itself).
pub async fn foreign_key_parents(conn: &mut Conn, table: &str) -> Result<Vec<String>, StoreError> {
    let sql = if is_postgres(conn) {
        "SELECT DISTINCT p.relname::text AS name FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND t.relname = $1 AND n.nspname = current_schema() ORDER BY 1"
    } else {
        "SELECT DISTINCT \"table\" AS name FROM pragma_foreign_key_list($1) ORDER BY 1"
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("name")?)).collect()
}

/// `table`'s columns in their declared order, with how each binds.
async fn columns(conn: &mut Conn, table: &str) -> Result<Vec<(String, Kind)>, StoreError> {
    let sql = if is_postgres(conn) {
        "SELECT column_name::text AS name, data_type::text AS declared FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
    } else {
        "SELECT name, type AS declared FROM pragma_table_info($1) ORDER BY cid"
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("name")?, Kind::of_declared(&r.try_get::<String, _>("declared")?))))
        .collect()
}

/// Holds the tenant's row until the write commits, so resets and restores of one tenant take
/// turns (on SQLite the one writer already runs them one at a time).
async fn lock_tenant(conn: &mut Conn, tenant: TenantId) -> Result<(), StoreError> {
    crate::repo::tenants::get_for_update(conn, tenant).await.map(|_| ())
}

/// Deletes every row of the tenant's data (not its credentials or settings) and says how many
/// rows each table lost, in [`TABLES`] order.
pub async fn reset(conn: &mut Conn, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
    lock_tenant(conn, tenant).await?;
    delete_data(conn, tenant).await
}

async fn delete_data(conn: &mut Conn, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
    // Fault rules are data: whatever is restored after this, caches of them are stale.
    crate::repo::faults::changed(conn).await?;
    let mut deleted = Vec::new();
    for table in data_tables().rev() {
        let n = sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
            .bind(tenant.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected();
        deleted.push((table, n));
    }
    deleted.reverse();
    Ok(deleted)
}

/// Every row of the tenant's data, table by table, in each table's own order (`seq`, else its
/// first column); `seq` itself is left out.
pub async fn dump(conn: &mut Conn, tenant: TenantId) -> Result<BTreeMap<String, Rows>, StoreError> {
    let mut tables = BTreeMap::new();
    for table in data_tables() {
        let all = columns(conn, table).await?;
        let order = if all.iter().any(|(c, _)| c == SEQ) { SEQ } else { all[0].0.as_str() };
        let names: Vec<String> = all.iter().map(|(c, _)| c.clone()).filter(|c| c != SEQ).collect();
        let sql = format!("SELECT {} FROM {table} WHERE tenant_id = $1 ORDER BY {order}", names.join(", "));
        let found = sqlx::query(&sql).bind(tenant.to_string()).fetch_all(&mut *conn).await?;
        let rows = found.iter().map(|row| cells(row, table)).collect::<Result<Vec<_>, _>>()?;
        tables.insert(table.to_owned(), Rows { columns: names, rows });
    }
    Ok(tables)
}

fn cells(row: &sqlx::any::AnyRow, table: &str) -> Result<Vec<Cell>, StoreError> {
    use sqlx::any::AnyTypeInfoKind as K;
    (0..row.columns().len())
        .map(|i| {
            let kind = row.try_get_raw(i)?.type_info().kind();
            let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("{table}.{}: {e}", row.columns()[i].name()));
            Ok(match kind {
                K::Null => Cell::Null,
                K::Bool => Cell::Bool(row.try_get(i).map_err(corrupt)?),
                K::SmallInt | K::Integer | K::BigInt => Cell::Int(row.try_get(i).map_err(corrupt)?),
                K::Real | K::Double => Cell::Float(row.try_get(i).map_err(corrupt)?),
                K::Text => Cell::Text(row.try_get(i).map_err(corrupt)?),
                K::Blob => Cell::Blob {
                    base64: base64::engine::general_purpose::STANDARD
                        .encode(row.try_get::<Vec<u8>, _>(i).map_err(corrupt)?),
                },
            })
        })
        .collect()
}

/// Replaces the tenant's data with `tables` (as [`dump`] wrote them): deletes what is there,
/// then inserts every row, tables in [`TABLES`] order. Every row must be the tenant's own.
/// Answers how many rows each table received.
pub async fn restore(
    conn: &mut Conn,
    tenant: TenantId,
    tables: &BTreeMap<String, Rows>,
) -> Result<Vec<(&'static str, u64)>, StoreError> {
    if let Some(unknown) = tables.keys().find(|t| !data_tables().any(|d| d == t.as_str())) {
        return Err(StoreError::InvalidInput(format!("`{unknown}` is not a table of tenant data")));
    }
    lock_tenant(conn, tenant).await?;
    delete_data(conn, tenant).await?;
    let mut inserted = Vec::new();
    for table in data_tables() {
        let Some(rows) = tables.get(table) else {
            inserted.push((table, 0));
            continue;
        };
        inserted.push((table, insert_rows(conn, tenant, table, rows).await?));
    }
    Ok(inserted)
}

async fn insert_rows(conn: &mut Conn, tenant: TenantId, table: &str, rows: &Rows) -> Result<u64, StoreError> {
    let schema = columns(conn, table).await?;
    let mut kinds = Vec::with_capacity(rows.columns.len());
    for name in &rows.columns {
        match schema.iter().find(|(c, _)| c == name && c != SEQ) {
            Some((_, kind)) => kinds.push(*kind),
            None => return Err(StoreError::InvalidInput(format!("`{table}` has no column `{name}`"))),
        }
    }
    let tenant_at = rows
        .columns
        .iter()
        .position(|c| c == "tenant_id")
        .ok_or_else(|| StoreError::InvalidInput(format!("`{table}` rows need their `tenant_id`")))?;
    let placeholders: Vec<String> = (1..=rows.columns.len()).map(|i| format!("${i}")).collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES ({})", rows.columns.join(", "), placeholders.join(", "));
    let own = Cell::Text(tenant.to_string());
    for (n, row) in rows.rows.iter().enumerate() {
        if row.len() != kinds.len() {
            return Err(StoreError::InvalidInput(format!(
                "`{table}` row {n} has {} cells for {} columns",
                row.len(),
                kinds.len()
            )));
        }
        if row[tenant_at] != own {
            return Err(StoreError::InvalidInput(format!("`{table}` row {n} belongs to another tenant")));
        }
        let mut query = sqlx::query(&sql);
        for (i, (cell, kind)) in row.iter().zip(&kinds).enumerate() {
            query = bind(query, cell, *kind)
                .map_err(|why| StoreError::InvalidInput(format!("`{table}` row {n}, `{}`: {why}", rows.columns[i])))?;
        }
        query.execute(&mut *conn).await?;
    }
    Ok(rows.rows.len() as u64)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `cell` as the column's own type: a typed NULL, and booleans and 0/1 integers each as
/// the other where the backends store flags differently.
fn bind<'q>(query: Query<'q>, cell: &Cell, kind: Kind) -> Result<Query<'q>, String> {
    Ok(match (kind, cell) {
        (Kind::Int, Cell::Null) => query.bind(None::<i64>),
        (Kind::Bool, Cell::Null) => query.bind(None::<bool>),
        (Kind::Float, Cell::Null) => query.bind(None::<f64>),
        (Kind::Text, Cell::Null) => query.bind(None::<String>),
        (Kind::Blob, Cell::Null) => query.bind(None::<Vec<u8>>),
        (Kind::Int, Cell::Int(v)) => query.bind(*v),
        (Kind::Int, Cell::Bool(v)) => query.bind(i64::from(*v)),
        (Kind::Bool, Cell::Bool(v)) => query.bind(*v),
        (Kind::Bool, Cell::Int(v)) => query.bind(*v != 0),
        (Kind::Float, Cell::Float(v)) => query.bind(*v),
        (Kind::Float, Cell::Int(v)) => query.bind(*v as f64),
        (Kind::Text, Cell::Text(v)) => query.bind(v.clone()),
        (Kind::Blob, Cell::Blob { base64 }) => query
            .bind(base64::engine::general_purpose::STANDARD.decode(base64).map_err(|e| format!("not base64: {e}"))?),
        (kind, cell) => return Err(format!("{cell:?} does not fit a {kind:?} column")),
    })
}

/// A tenant's stored fixtures document. `version` grows with every store of a document, so a
/// process can tell whether the document it installed is still the stored one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFixtures {
    pub tenant: TenantId,
    pub version: i64,
    pub document: String,
}

/// Stores the tenant's fixtures document, replacing any before it, and answers its version:
/// `at` in milliseconds, or one more than the version it replaces when that is not earlier.
pub async fn set_fixtures(conn: &mut Conn, tenant: TenantId, document: &str, at: Timestamp) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sandbox_fixtures (tenant_id, document, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document, \
           updated_at = CASE WHEN excluded.updated_at > sandbox_fixtures.updated_at THEN excluded.updated_at \
                             ELSE sandbox_fixtures.updated_at + 1 END \
         RETURNING updated_at",
    )
    .bind(tenant.to_string())
    .bind(document)
    .bind(at.millis())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("updated_at")?)
}

fn tenant_of(row: &sqlx::any::AnyRow) -> Result<TenantId, StoreError> {
    let id: String = row.try_get("tenant_id")?;
    TenantId::parse(&id)
        .ok_or_else(|| StoreError::Corrupt(format!("sandbox_fixtures.tenant_id {id:?} is not a tenant id")))
}

fn stored_of(row: &sqlx::any::AnyRow) -> Result<StoredFixtures, StoreError> {
    Ok(StoredFixtures {
        tenant: tenant_of(row)?,
        version: row.try_get("updated_at")?,
        document: row.try_get("document")?,
    })
}

/// The tenant's fixtures document, if it loaded one.
pub async fn fixtures(conn: &mut Conn, tenant: TenantId) -> Result<Option<StoredFixtures>, StoreError> {
    let row = sqlx::query("SELECT tenant_id, document, updated_at FROM sandbox_fixtures WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(stored_of).transpose()
}

/// Every tenant that stored fixtures, with the version stored (what a process compares with
/// the versions it installed).
pub async fn fixture_versions(conn: &mut Conn) -> Result<Vec<(TenantId, i64)>, StoreError> {
    let rows =
        sqlx::query("SELECT tenant_id, updated_at FROM sandbox_fixtures ORDER BY tenant_id").fetch_all(conn).await?;
    rows.iter().map(|r| Ok((tenant_of(r)?, r.try_get("updated_at")?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_they_were_written() {
        let cells = vec![
            Cell::Null,
            Cell::Bool(true),
            Cell::Int(-7),
            Cell::Float(1.5),
            Cell::Text("x".into()),
            Cell::Blob { base64: "AAE=".into() },
        ];
        let json = serde_json::to_string(&cells).unwrap();
        assert_eq!(json, r#"[null,true,-7,1.5,"x",{"base64":"AAE="}]"#);
        assert_eq!(serde_json::from_str::<Vec<Cell>>(&json).unwrap(), cells);
    }

    #[test]
    fn declared_types_decide_how_cells_bind() {
        assert_eq!(Kind::of_declared("BIGINT"), Kind::Int);
        assert_eq!(Kind::of_declared("integer"), Kind::Int);
        assert_eq!(Kind::of_declared("boolean"), Kind::Bool);
        assert_eq!(Kind::of_declared("BLOB"), Kind::Blob);
        assert_eq!(Kind::of_declared("bytea"), Kind::Blob);
        assert_eq!(Kind::of_declared("TEXT"), Kind::Text);
        assert_eq!(Kind::of_declared("double precision"), Kind::Float);
    }

    #[test]
    fn every_table_is_listed_once() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
    }
}
