//! The error of the core layer: database, validation and lookup failures.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the direct SQLite reader of large exports.
    #[error("database error: {0}")]
    SqliteRead(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedDatabaseUrl(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A limit that protects the server (export caps, quotas): try later.
    #[error("{0}")]
    LimitReached(String),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
