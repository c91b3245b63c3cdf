//! Helpers for tests that need a real database: scratch PostgreSQL databases and SQLite files.

use std::path::Path;

use openiav_core::ids::TenantId;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use crate::StoreError;

/// The environment variable naming a PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "OPENIAV_TEST_POSTGRES_URL";

/// The PostgreSQL server tests should use (`OPENIAV_TEST_POSTGRES_URL`), if one is configured.
pub fn postgres_test_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().filter(|s| !s.trim().is_empty())
}

/// Creates a fresh, empty database `openiav_test_<random hex>` on the server `admin_url`
/// points at and returns a URL for it (same credentials, host and query, new path).
pub async fn scratch_postgres_url(admin_url: &str) -> Result<String, StoreError> {
    let name = format!("openiav_test_{}", TenantId::generate().to_string().replace('-', ""));
    let url = with_database(admin_url, &name)?;
    let mut admin = PgConnection::connect(admin_url).await?;
    admin.execute(sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))).await?;
    admin.close().await?;
    Ok(url)
}

/// Drops a database made by [`scratch_postgres_url`], disconnecting whoever still uses it.
/// Refuses URLs that do not name a scratch database.
pub async fn drop_scratch_postgres(admin_url: &str, scratch_url: &str) -> Result<(), StoreError> {
    let name = database_name(scratch_url)
        .filter(|n| n.starts_with("openiav_test_") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or_else(|| StoreError::Config(format!("not a scratch database URL: {scratch_url}")))?;
    let mut admin = PgConnection::connect(admin_url).await?;
    admin.execute(sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))).await?;
    admin.close().await?;
    Ok(())
}

/// A SQLite database URL for a file in `dir` (the file is created when the store opens).
pub async fn scratch_sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/openiav.db", dir.display())
}

/// Splits `scheme://authority/path?query` into (`scheme://authority`, `path`, `?query`).
fn split_url(url: &str) -> Result<(&str, &str, &str), StoreError> {
    let authority_start =
        url.find("://").map(|i| i + 3).ok_or_else(|| StoreError::Config(format!("not a URL: {url:?}")))?;
    let query_start = url[authority_start..].find(['?', '#']).map_or(url.len(), |i| authority_start + i);
    let path_start = url[authority_start..query_start].find('/').map_or(query_start, |i| authority_start + i);
    Ok((&url[..path_start], &url[path_start..query_start], &url[query_start..]))
}

/// `url` with its path replaced by `/<database>`.
fn with_database(url: &str, database: &str) -> Result<String, StoreError> {
    let (base, _, query) = split_url(url)?;
    Ok(format!("{base}/{database}{query}"))
}

fn database_name(url: &str) -> Option<&str> {
    let (_, path, _) = split_url(url).ok()?;
    Some(path.trim_start_matches('/')).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_database_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5432", "x").unwrap(), "postgres://h:5432/x");
        assert_eq!(
            with_database("postgresql://h?application_name=t", "x").unwrap(),
            "postgresql://h/x?application_name=t"
        );
        assert!(with_database("no-scheme", "x").is_err());
        assert_eq!(database_name("postgres://h/openiav_test_ab?x=1"), Some("openiav_test_ab"));
        assert_eq!(database_name("postgres://h"), None);
    }
}
