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

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A migration `migrate` would apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
}

/// How long a SQLite writer waits for the database's one write lock before
/// it fails with "database is locked". A writer waits for the longest write
/// rather than fail: a 64 MB upload holds the lock for about 20 seconds
/// (readers never wait: WAL).
pub const WRITE_LOCK_WAIT: Duration = Duration::from_secs(300);

/// The database: one connection pool per process (shared by all clones).
/// It holds no state of the layers above; what they cache per database they
/// key by [`Db::identity`].
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// Alive while any clone is: the identity above-layer caches key by.
    alive: Arc<()>,
    /// Turns to begin a write transaction ([`Db::write_transaction`]).
    write_turns: Arc<tokio::sync::Semaphore>,
}

/// SQLite connections per process. Writers waiting for the write lock hold
/// at most half of them ([`Db::write_transaction`]); readers keep the rest.
const SQLITE_CONNECTIONS: u32 = 16;
/// PostgreSQL connections per process; writers hold at most a quarter of
/// them, each with at most one more for a read under its lock.
const POSTGRES_CONNECTIONS: u32 = 16;

/// A SQLite bulk write's connection settings ([`Db::bulk_write_connection`]):
/// a year's import inserts millions of keys into the charges' indexes, and with
/// SQLite's default 2 MB page cache most of its time went to reading index
/// pages back from the file; its staging table is kept in memory.
const BULK_WRITE_SETTINGS: [&str; 2] = ["PRAGMA cache_size = -262144", "PRAGMA temp_store = MEMORY"];

/// How each backend prepares a connection for [`Db::bulk_write_connection`].
pub(crate) trait BulkWrite: sqlx::Database {
    fn prepare_bulk_write(
        connection: &mut sqlx::pool::PoolConnection<Self>,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

impl BulkWrite for sqlx::Sqlite {
    async fn prepare_bulk_write(connection: &mut sqlx::pool::PoolConnection<Self>) -> Result<()> {
        for setting in BULK_WRITE_SETTINGS {
            sqlx::query(setting).execute(&mut **connection).await?;
        }
        Ok(())
    }
}

impl BulkWrite for sqlx::Postgres {
    async fn prepare_bulk_write(_: &mut sqlx::pool::PoolConnection<Self>) -> Result<()> {
        Ok(())
    }
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
        let turns = match pool {
            Pool::Sqlite(_) => SQLITE_CONNECTIONS as usize / 2,
            // A move or an adjustment reads the ledger on a second connection
            // while its transaction holds the team's lock: writers queued
            // behind one team's import must not hold the whole pool.
            Pool::Postgres(_) => POSTGRES_CONNECTIONS as usize / 4,
        };
        Db { pool, alive: Arc::default(), write_turns: Arc::new(tokio::sync::Semaphore::new(turns)) }
    }

    /// Begins a transaction that writes, on `pool` (this database's, as
    /// [`on_db!`] binds it): first a turn (keep it until the transaction
    /// ends), then [`Db::begin_write`]. On SQLite a writer waits for the one
    /// write lock on its connection: without turns, writers queued behind a
    /// long import would hold every connection and the pages' reads would
    /// time out.
    pub(crate) async fn write_transaction<DB: sqlx::Database>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<(Option<tokio::sync::SemaphorePermit<'_>>, sqlx::Transaction<'static, DB>)> {
        let turn = self.write_turns.acquire().await.ok();
        Ok((turn, pool.begin_with(self.begin_write()).await?))
    }

    /// A connection of its own for one bulk write (an import), with a
    /// writer's turn ([`Db::write_transaction`]). It holds large caches
    /// ([`BULK_WRITE_SETTINGS`]) that no other request may inherit: it is
    /// closed when dropped (an import that failed half-way), and the writer
    /// closes it itself when done ([`sqlx::pool::PoolConnection::close`]), so
    /// that freeing those caches (hundreds of megabytes after a year's import)
    /// does not run beside the first view after the import.
    /// Begin its transaction with [`Db::begin_bulk_write`].
    pub(crate) async fn bulk_write_connection<DB: BulkWrite>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<(Option<tokio::sync::SemaphorePermit<'_>>, sqlx::pool::PoolConnection<DB>)> {
        let turn = self.write_turns.acquire().await.ok();
        let mut connection = pool.acquire().await?;
        connection.close_on_drop();
        DB::prepare_bulk_write(&mut connection).await?;
        Ok((turn, connection))
    }

    /// The write transaction of a [`Db::bulk_write_connection`].
    pub(crate) async fn begin_bulk_write<'c, DB: BulkWrite>(
        &self,
        connection: &'c mut sqlx::pool::PoolConnection<DB>,
    ) -> Result<sqlx::Transaction<'c, DB>> {
        use sqlx::Connection;
        Ok((**connection).begin_with(self.begin_write()).await?)
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
                .busy_timeout(WRITE_LOCK_WAIT);
            create_private_database_file(options.get_filename())?;
            // No ping before each use: the file is in this process, and the ping
            // is one more round trip to the connection's thread per acquire.
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLITE_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Db::new(Pool::Sqlite(pool)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Db::new(Pool::Postgres(pool)))
        } else {
            Err(Error::UnsupportedDatabaseUrl(url.to_owned()))
        }
    }

    /// Applies the migrations this release has and the database lacks, each
    /// in its own transaction (both backends run DDL transactionally), in
    /// order. Migrations are forward-only. A database that a newer release
    /// has migrated is refused, untouched.
    pub async fn migrate(&self) -> Result<()> {
        self.refuse_newer().await?;
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// The versions of the migrations applied to the database (none before
    /// the first `migrate`).
    async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let exists = match &self.pool {
            Pool::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Pool::Postgres(_) => "SELECT COUNT(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'",
        };
        let tables: i64 = on_db!(self, |pool| sqlx::query_scalar(exists).fetch_one(pool).await?);
        if tables == 0 {
            return Ok(Vec::new());
        }
        let sql = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(on_db!(self, |pool| sqlx::query_scalar(sql).fetch_all(pool).await?))
    }

    /// What `migrate` would apply: this release's migrations the database
    /// lacks, in order (`tokenboard migrate --check`, `/readyz`).
    pub async fn pending_migrations(&self) -> Result<Vec<PendingMigration>> {
        let applied = self.applied_migrations().await?;
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| PendingMigration { version: m.version, description: m.description.to_string() })
            .collect())
    }

    /// Fails when the database holds a migration this release does not know:
    /// a newer release migrated it, and this one would misread its data
    /// (`migrate`, `migrate --check`, `/readyz`).
    pub async fn refuse_newer(&self) -> Result<()> {
        let known: Vec<i64> = self.migrator().iter().map(|m| m.version).collect();
        match self.applied_migrations().await?.into_iter().find(|v| !known.contains(v)) {
            Some(version) => Err(Error::NewerDatabase(version)),
            None => Ok(()),
        }
    }

    /// How every transaction that writes begins: SQLite takes its write lock
    /// at once (`BEGIN IMMEDIATE`), waiting up to [`WRITE_LOCK_WAIT`] for it,
    /// so a transaction that reads first never fails on upgrading a stale
    /// snapshot ("database is locked"); PostgreSQL locks rows with
    /// [`Db::for_update`].
    fn begin_write(&self) -> &'static str {
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

    /// Writes a consistent copy of the SQLite database to `path` (which must
    /// not exist) while the server reads and writes: `VACUUM INTO` copies one
    /// snapshot, so a write under way is in the copy whole or not at all.
    /// PostgreSQL has its own tools for this (`pg_dump`).
    pub async fn copy_into(&self, path: &std::path::Path) -> Result<()> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(Error::Invalid(
                "this command backs up SQLite databases; back up PostgreSQL with pg_dump \
                 (pg_dump --format=custom), and the data directory's secret with it"
                    .into(),
            ));
        };
        let target = path.to_str().ok_or_else(|| Error::Invalid(format!("{} is not UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await?;
        Ok(())
    }

    /// The file of this SQLite database (`None` for PostgreSQL or in memory).
    pub fn file(&self) -> Option<std::path::PathBuf> {
        match &self.pool {
            Pool::Sqlite(pool) => on_disk(pool.connect_options().get_filename()),
            Pool::Postgres(_) => None,
        }
    }

    /// Whether the database answers a query (`/readyz`).
    pub async fn ping(&self) -> Result<()> {
        on_db!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(pool).await?);
        Ok(())
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

/// The file of a `sqlite://` URL (`None` for PostgreSQL or in memory).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok().filter(|_| url.starts_with("sqlite:"))?;
    on_disk(options.get_filename())
}

/// `path`, unless it names an in-memory SQLite database.
fn on_disk(path: &std::path::Path) -> Option<std::path::PathBuf> {
    (!path.as_os_str().is_empty() && !path.to_string_lossy().starts_with(':')).then(|| path.to_owned())
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
