//! The database handle: SQLite (embedded default) or PostgreSQL, one pool per
//! process, migrations per backend.
//!
//! Queries are written once with `$n` placeholders, which both backends
//! accept, and run through [`on_db!`], which expands the same code for each
//! pool type — sqlx's types stay concrete and no `Any` driver is needed.
//!
//! The bottom layer: it imports nothing of the crate but `error`, and holds
//! no state of the layers above (they key their caches by [`Db::identity`]).

pub mod files;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Error, Result};

/// The database: one connection pool per process (shared by all clones).
/// It holds no state of the layers above; what they cache per database they
/// key by [`Db::identity`].
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// Alive while any clone is: the identity above-layer caches key by.
    alive: Arc<()>,
}

/// Which open database a cached value belongs to. Holding it keeps the key
/// unique (the allocation behind it is not reused), not the database open.
#[derive(Clone, Debug)]
pub struct DbIdentity(Weak<()>);

impl DbIdentity {
    /// Equal for clones of one [`Db`], different for every other.
    pub fn key(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// False once every clone of the database is dropped.
    pub fn is_open(&self) -> bool {
        self.0.strong_count() > 0
    }
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db` (tests use
/// it too, as `tokenboard::on_db!`).
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub use crate::on_db;

impl Db {
    fn new(pool: Pool) -> Db {
        Db { pool, alive: Arc::default() }
    }

    pub fn identity(&self) -> DbIdentity {
        DbIdentity(Arc::downgrade(&self.alive))
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Opens `url` (`sqlite://path` — the file and its directory are created —
    /// or `postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Db> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            create_private_database_file(options.get_filename())?;
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
            Ok(Db::new(Pool::Sqlite(pool)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            Ok(Db::new(Pool::Postgres(pool)))
        } else {
            Err(Error::UnsupportedDatabaseUrl(url.to_owned()))
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Opens a transaction that writes and must not interleave with another
    /// writer: SQLite takes its write lock at once (`BEGIN IMMEDIATE`: no
    /// read-then-upgrade deadlock); PostgreSQL locks rows with [`Db::for_update`].
    pub(crate) fn begin_write(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transaction
    /// ([`Db::begin_write`]) already excludes every other writer.
    pub(crate) fn for_update(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => " FOR UPDATE",
        }
    }

    pub fn backend(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

/// Creates a missing SQLite file (and directory) owner-only before SQLite
/// opens it: SQLite gives its -wal and -shm files the database file's mode.
fn create_private_database_file(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str().is_empty() || path.to_string_lossy().starts_with(':') {
        return Ok(()); // in memory
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::db::files::create_private_dir(dir)
            .map_err(|e| Error::Invalid(format!("cannot create database directory {}: {e}", dir.display())))?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(Error::Invalid(format!("cannot create database file {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}
