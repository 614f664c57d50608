//! The error of the core layer. Your fault or ours: the caller's mistakes
//! (`NotFound`, `Invalid`, `LimitReached`) carry a message meant for them;
//! every other variant is a server fault, whose text belongs in the log only.
//! [`Error::status`] is the one place that tells the two apart.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The caller's mistakes: the message is for them.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A limit that protects the server (export caps, quotas): try later.
    #[error("{0}")]
    LimitReached(String),

    // Server faults: the detail is for the log.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the direct SQLite reader of large exports.
    #[error("database error: {0}")]
    SqliteRead(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedDatabaseUrl(String),
    #[error(
        "the database was upgraded by a newer Tokenboard (it holds migration {0}, unknown to this release); \
         run that release or a newer one, or restore a backup made before the upgrade"
    )]
    NewerDatabase(i64),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("excel writer: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// A stored value this version cannot read: a row no caller can fix.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error("stored export query {query:?}: {source}")]
    StoredQuery { query: String, source: serde_urlencoded::de::Error },
    /// A blocking task that panicked or was cancelled.
    #[error("a background task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// One error handed to every caller that waited for the same work.
    #[error(transparent)]
    Shared(std::sync::Arc<Error>),
}

impl Error {
    /// The HTTP status this error answers with: 4xx for the caller's mistake
    /// (its message is shown), 500 for a server fault (its text is not).
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid(_) => 400,
            Error::NotFound(_) => 404,
            Error::LimitReached(_) => 429,
            Error::Shared(error) => error.status(),
            _ => 500,
        }
    }

    /// The caller's mistake, whose message may be shown to them.
    pub fn is_user_error(&self) -> bool {
        self.status() < 500
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_callers_mistakes_are_user_errors() {
        assert!(Error::Invalid("bad range".into()).is_user_error());
        assert!(Error::NotFound("team".into()).is_user_error());
        assert!(Error::LimitReached("too many".into()).is_user_error());
        assert!(!Error::Io(std::io::Error::other("disk")).is_user_error());
        assert!(!Error::Corrupt("export 1: unknown status".into()).is_user_error());
        assert!(!Error::Database(sqlx::Error::RowNotFound).is_user_error());
    }
}
