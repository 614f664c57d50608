//! What `tokenboard bench --import` (DESIGN §7) imports and compares with:
//! a team's charges written as a vendor usage file, and the baseline — the
//! same file loaded into a bare table with the same natural key by the
//! database's own fastest path (SQLite: one prepared INSERT in one
//! transaction; PostgreSQL: `COPY`).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::postgres::PgPoolCopyExt;

use crate::db::{Db, Pool, on_db};
use crate::error::{Error, Result};

/// The usage file's columns, as the vendor names them.
const HEADER: [&str; 8] =
    ["First name", "Last name", "Email", "Product", "Product version", "Feature", "Usage date", "Tokens used"];

/// The bare table of the baseline: the file's columns, the charges' natural
/// key in the charges' order (day first, as the file comes).
const BASELINE_TABLE: &str = "CREATE TABLE bench_baseline (
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL, product TEXT NOT NULL,
    product_version TEXT NOT NULL, feature TEXT NOT NULL, usage_date TEXT NOT NULL, tokens BIGINT NOT NULL,
    UNIQUE (usage_date, email, product, feature))";

/// Which charges of a team a usage file holds, and how they are changed on
/// the way (for the bench's one-day import).
#[derive(Clone, Copy, Debug)]
pub struct UsageSelection {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Days added to every usage date.
    pub shift_days: u64,
    /// Tokens added to every charge.
    pub extra_tokens: i64,
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::Io(e),
        kind => Error::Invalid(format!("usage file: {kind:?}")),
    }
}

/// Writes the charges `selection` names of `team_id` to `path` as a vendor
/// usage file, in day order; answers the rows written.
pub async fn write_usage_file(db: &Db, team_id: i64, selection: UsageSelection, path: &Path) -> Result<u64> {
    type Row = (String, String, String, String, String, String, NaiveDate, i64);
    let sql = "SELECT u.first_name, u.last_name, u.email, p.name, c.product_version, c.feature, c.usage_date, c.tokens
        FROM usage_charges c JOIN team_users u ON u.id = c.user_id JOIN products p ON p.id = c.product_id
        WHERE c.team_id = $1 AND c.usage_date BETWEEN $2 AND $3
        ORDER BY c.usage_date, c.user_id, c.product_id, c.feature";
    let mut writer = csv::Writer::from_path(path).map_err(csv_error)?;
    writer.write_record(HEADER).map_err(csv_error)?;
    let shift = chrono::Days::new(selection.shift_days);
    let mut rows = 0u64;
    on_db!(db, |pool| {
        let mut charges =
            sqlx::query_as::<_, Row>(sql).bind(team_id).bind(selection.from).bind(selection.to).fetch(pool);
        while let Some((first, last, email, product, version, feature, day, tokens)) = charges.try_next().await? {
            let day = (day + shift).to_string();
            let tokens = (tokens + selection.extra_tokens).to_string();
            writer
                .write_record([&first, &last, &email, &product, &version, &feature, &day, &tokens])
                .map_err(csv_error)?;
            rows += 1;
        }
    });
    writer.flush()?;
    Ok(rows)
}

/// The baseline: loads the usage file at `path` into a fresh bare table of
/// `db` and drops it again; answers the rows and the time the load took.
pub async fn baseline_load(db: &Db, path: &Path) -> Result<(u64, Duration)> {
    match db.pool() {
        Pool::Sqlite(_) => {
            let file = db.file().ok_or_else(|| Error::Invalid("the SQLite database has no file".into()))?;
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || sqlite_baseline(&file, &path)).await?
        }
        Pool::Postgres(pool) => {
            sqlx::query("DROP TABLE IF EXISTS bench_baseline").execute(pool).await?;
            sqlx::query(BASELINE_TABLE).execute(pool).await?;
            let started = Instant::now();
            let mut copy = pool.copy_in_raw("COPY bench_baseline FROM STDIN (FORMAT csv, HEADER true, FORCE_NOT_NULL (first_name, last_name, product_version, feature))").await?;
            let mut file = std::fs::File::open(path)?;
            let mut buffer = vec![0; 1 << 20];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                copy.send(&buffer[..n]).await?;
            }
            let rows = copy.finish().await?;
            let elapsed = started.elapsed();
            sqlx::query("DROP TABLE bench_baseline").execute(pool).await?;
            Ok((rows, elapsed))
        }
    }
}

/// SQLite's fastest load: one prepared INSERT, one transaction, the file
/// read with the csv crate as it goes, and a page cache of 256 MB (with
/// SQLite's default of 2 MB the same load ran at 88,000 rows/s instead of
/// 190,000: most of its time went to reading index pages back).
fn sqlite_baseline(file: &Path, path: &Path) -> Result<(u64, Duration)> {
    let mut connection = rusqlite::Connection::open(file)?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "cache_size", -262144)?;
    connection.execute_batch("DROP TABLE IF EXISTS bench_baseline")?;
    connection.execute_batch(BASELINE_TABLE)?;
    let started = Instant::now();
    let transaction = connection.transaction()?;
    let mut rows = 0u64;
    {
        let mut insert = transaction.prepare("INSERT INTO bench_baseline VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(csv_error)? {
            insert.execute(rusqlite::params_from_iter(record.iter()))?;
            rows += 1;
        }
    }
    transaction.commit()?;
    let elapsed = started.elapsed();
    connection.execute_batch("DROP TABLE bench_baseline")?;
    Ok((rows, elapsed))
}

/// A new, empty, migrated PostgreSQL database on the server of `url`, named
/// after `url`'s database with `suffix` (dropped first if it exists).
pub async fn fresh_postgres_database(url: &str, suffix: &str) -> Result<(Db, String)> {
    let mut fresh = url::Url::parse(url).map_err(|e| Error::Invalid(format!("{url:?} is not a URL: {e}")))?;
    let name = format!("{}{suffix}", fresh.path().trim_start_matches('/'));
    if name == suffix || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Invalid(format!("name a database of letters, digits and underscores: {url}")));
    }
    let admin = Db::connect(url).await?;
    if let Pool::Postgres(pool) = admin.pool() {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(pool).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(pool).await?;
    }
    admin.close().await;
    fresh.set_path(&name);
    Ok((Db::open(fresh.as_str()).await?, name))
}
