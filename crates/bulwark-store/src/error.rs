//! The store's one error type. sqlx errors are converted in one place, here: unique and
//! foreign-key violations become `Conflict`, so that callers never look at SQL error codes.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist, or belongs to an organization the caller cannot see.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// The object exists and is visible but may not be changed (a system template).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Config(String),
    #[error("database error: {0}")]
    Backend(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(format!("already exists: {}", db.message()));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Conflict(format!("still referenced: {}", db.message()));
            }
        }
        StoreError::Backend(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
