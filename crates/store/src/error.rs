//! Storage errors, sorted by what a caller can do about them.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row matched (scoped to the caller's tenant).
    #[error("record not found")]
    NotFound,
    /// A uniqueness constraint refused the write; carries the constraint or column hint.
    #[error("conflicts with an existing record ({0})")]
    Conflict(String),
    /// The database cannot be reached or is shutting down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused a value it cannot hold (PostgreSQL: a NUL character in text).
    #[error("the database cannot store this value: {0}")]
    InvalidInput(String),
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// A stored value could not be decoded (for example a ciphertext under an unknown key).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_owned())
            }
            sqlx::Error::Database(db) => match db.code().as_deref().map(classify_sqlstate) {
                Some(Some(kind)) => kind(e.to_string()),
                _ => StoreError::Database(e),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Database(e),
        }
    }
}

/// The kind of failure a SQLSTATE names, when it is not a plain database error.
fn classify_sqlstate(code: &str) -> Option<fn(String) -> StoreError> {
    match code {
        // character_not_in_repertoire and untranslatable_character: text with NUL, or bytes
        // the encoding cannot hold.
        "22021" | "22P05" => Some(StoreError::InvalidInput),
        // Class 08 is a broken connection; 57P01..03 are admin shutdown, crash shutdown and
        // "cannot connect now" (starting up or in recovery); 57014 is a statement timeout.
        c if c.starts_with("08") => Some(StoreError::Unavailable),
        "57P01" | "57P02" | "57P03" | "57014" => Some(StoreError::Unavailable),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_sort_into_kinds() {
        for code in ["08000", "08003", "08006", "08P01", "57P01", "57P02", "57P03", "57014"] {
            assert!(
                matches!(classify_sqlstate(code).map(|k| k(String::new())), Some(StoreError::Unavailable(_))),
                "{code}"
            );
        }
        for code in ["22021", "22P05"] {
            assert!(
                matches!(classify_sqlstate(code).map(|k| k(String::new())), Some(StoreError::InvalidInput(_))),
                "{code}"
            );
        }
        assert!(classify_sqlstate("23503").is_none());
        assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::WorkerCrashed), StoreError::Unavailable(_)));
    }
}
