//! The readers of raw charges for the token usage export: each reads on a
//! core of its own, in batches, while the export's thread turns the
//! previous batch into rows.

use chrono::NaiveDate;

use super::token_usage::Charge;
use crate::error::{Error, Result};

/// Charges read ahead by a reader, handed over in batches.
struct ChargeBatch {
    charges: Vec<BatchedCharge>,
    /// The version and then the feature of every charge, back to back.
    text: String,
}

impl ChargeBatch {
    /// An empty batch with room for [`BATCH_ROWS`] charges.
    fn new() -> ChargeBatch {
        ChargeBatch { charges: Vec::with_capacity(BATCH_ROWS), text: String::with_capacity(BATCH_ROWS * 16) }
    }

    /// Adds a charge (its texts copied into the batch's `text`); true when
    /// the batch is full.
    fn push(&mut self, charge: Charge<'_>) -> bool {
        self.text.push_str(charge.version);
        let version_end = self.text.len();
        self.text.push_str(charge.feature);
        self.charges.push(BatchedCharge {
            id: charge.id,
            user_id: charge.user_id,
            product_id: charge.product_id,
            date: charge.date,
            tokens: charge.tokens,
            version_end,
            feature_end: self.text.len(),
        });
        self.charges.len() == BATCH_ROWS
    }

    /// Hands each charge of the batch to `each`, in order.
    fn each_charge(&self, each: &mut impl FnMut(Charge<'_>) -> Result<()>) -> Result<()> {
        let mut start = 0;
        for charge in &self.charges {
            each(Charge {
                id: charge.id,
                user_id: charge.user_id,
                product_id: charge.product_id,
                version: &self.text[start..charge.version_end],
                feature: &self.text[charge.version_end..charge.feature_end],
                date: charge.date,
                tokens: charge.tokens,
            })?;
            start = charge.feature_end;
        }
        Ok(())
    }
}

struct BatchedCharge {
    id: i64,
    user_id: i64,
    product_id: i64,
    date: NaiveDate,
    tokens: i64,
    /// Where the charge's version ends and its feature ends in `text`.
    version_end: usize,
    feature_end: usize,
}

/// Charges per batch, and batches read ahead at most (memory stays flat).
const BATCH_ROWS: usize = 4096;
const BATCHES_AHEAD: usize = 8;

/// Reads the charges of an SQLite database with its own read-only
/// connection on a thread of its own, while the calling thread turns the
/// previous batch into rows: sqlx's SQLite stream hands every row across a
/// worker thread (about 190k rows/s), ten times slower than SQLite reads, and
/// reading beside the writing uses the second core. Export writers run on a
/// blocking thread, so blocking here is fine.
pub(super) fn sqlite_charges(
    file: &std::path::Path,
    sql: &str,
    binds: (i64, NaiveDate, NaiveDate, i64, i64),
    mut each: impl FnMut(Charge<'_>) -> Result<()>,
) -> Result<()> {
    let (batches, received) = std::sync::mpsc::sync_channel::<Result<ChargeBatch>>(BATCHES_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // A failed send means the writer stopped: reading stops too.
            if let Err(e) = read_charge_batches(file, sql, binds, |batch| batches.send(Ok(batch)).is_ok()) {
                let _ = batches.send(Err(e));
            }
        });
        for batch in received {
            batch?.each_charge(&mut each)?;
        }
        Ok(())
    })
}

/// Reads the charges of a PostgreSQL database on a task of its own, in
/// batches, while the calling thread turns the previous batch into rows:
/// reading and decoding the rows then runs on a second core instead of
/// between the rows being written (the Excel export spent a third of its
/// time waiting for rows). The export runs in `block_on` on a blocking
/// thread, so the task goes to a runtime worker.
pub(super) async fn postgres_charges(
    pool: &sqlx::PgPool,
    sql: &str,
    binds: (i64, NaiveDate, NaiveDate, i64, i64),
    mut each: impl FnMut(Charge<'_>) -> Result<()>,
) -> Result<()> {
    let (batches, mut received) = tokio::sync::mpsc::channel::<Result<ChargeBatch>>(BATCHES_AHEAD);
    let (pool, sql) = (pool.clone(), sql.to_owned());
    let reader = tokio::spawn(async move {
        if let Err(e) = read_postgres_batches(&pool, &sql, binds, &batches).await {
            let _ = batches.send(Err(e)).await;
        }
    });
    // Dropping `received` on an error (or when the export is cancelled)
    // makes the reader's next send fail, and the reader stops.
    while let Some(batch) = received.recv().await {
        batch?.each_charge(&mut each)?;
    }
    reader.await?;
    Ok(())
}

async fn read_postgres_batches(
    pool: &sqlx::PgPool,
    sql: &str,
    (team, from, to, product, user): (i64, NaiveDate, NaiveDate, i64, i64),
    batches: &tokio::sync::mpsc::Sender<Result<ChargeBatch>>,
) -> Result<()> {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut rows = sqlx::query(sql).bind(team).bind(from).bind(to).bind(product).bind(user).fetch(pool);
    let mut batch = ChargeBatch::new();
    while let Some(row) = rows.try_next().await? {
        let full = batch.push(Charge {
            id: row.try_get(0)?,
            user_id: row.try_get(1)?,
            product_id: row.try_get(2)?,
            version: row.try_get(3)?,
            feature: row.try_get(4)?,
            date: row.try_get(5)?,
            tokens: row.try_get(6)?,
        });
        if full && batches.send(Ok(std::mem::replace(&mut batch, ChargeBatch::new()))).await.is_err() {
            return Ok(());
        }
    }
    if !batch.charges.is_empty() {
        let _ = batches.send(Ok(batch)).await;
    }
    Ok(())
}

/// Steps through the query's rows and hands them to `send` in batches until
/// the rows end or `send` returns false.
fn read_charge_batches(
    file: &std::path::Path,
    sql: &str,
    (team, from, to, product, user): (i64, NaiveDate, NaiveDate, i64, i64),
    mut send: impl FnMut(ChargeBatch) -> bool,
) -> Result<()> {
    use rusqlite::{OpenFlags, params};
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = rusqlite::Connection::open_with_flags(file, flags)?;
    let mut statement = connection.prepare(sql)?;
    let mut rows = statement.query(params![team, from.to_string(), to.to_string(), product, user])?;
    let mut batch = ChargeBatch::new();
    // Charges come in date order: parse each date once.
    let mut last_date: (String, NaiveDate) = (String::new(), NaiveDate::MIN);
    while let Some(row) = rows.next()? {
        let text = |i: usize| row.get_ref(i).and_then(|v| Ok(v.as_str()?));
        let date_text = text(5)?;
        if date_text != last_date.0 {
            let date =
                date_text.parse::<NaiveDate>().map_err(|e| Error::Invalid(format!("usage date {date_text:?}: {e}")))?;
            last_date = (date_text.to_owned(), date);
        }
        let full = batch.push(Charge {
            id: row.get(0)?,
            user_id: row.get(1)?,
            product_id: row.get(2)?,
            version: text(3)?,
            feature: text(4)?,
            date: last_date.1,
            tokens: row.get(6)?,
        });
        if full && !send(std::mem::replace(&mut batch, ChargeBatch::new())) {
            return Ok(());
        }
    }
    if !batch.charges.is_empty() {
        send(batch);
    }
    Ok(())
}
