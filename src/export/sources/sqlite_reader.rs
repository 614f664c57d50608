//! The fast SQLite reader of raw charges for the token usage export.

use chrono::NaiveDate;

use super::token_usage::Charge;
use crate::error::{Error, Result};

/// Charges read ahead on the reader thread, handed over in batches.
#[derive(Default)]
struct ChargeBatch {
    charges: Vec<BatchedCharge>,
    /// The version and then the feature of every charge, back to back.
    text: String,
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
            let batch = batch?;
            let mut start = 0;
            for charge in &batch.charges {
                each(Charge {
                    id: charge.id,
                    user_id: charge.user_id,
                    product_id: charge.product_id,
                    version: &batch.text[start..charge.version_end],
                    feature: &batch.text[charge.version_end..charge.feature_end],
                    date: charge.date,
                    tokens: charge.tokens,
                })?;
                start = charge.feature_end;
            }
        }
        Ok(())
    })
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
    let new_batch =
        || ChargeBatch { charges: Vec::with_capacity(BATCH_ROWS), text: String::with_capacity(BATCH_ROWS * 16) };
    let mut batch = new_batch();
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
        batch.text.push_str(text(3)?);
        let version_end = batch.text.len();
        batch.text.push_str(text(4)?);
        batch.charges.push(BatchedCharge {
            id: row.get(0)?,
            user_id: row.get(1)?,
            product_id: row.get(2)?,
            date: last_date.1,
            tokens: row.get(6)?,
            version_end,
            feature_end: batch.text.len(),
        });
        if batch.charges.len() == BATCH_ROWS && !send(std::mem::replace(&mut batch, new_batch())) {
            return Ok(());
        }
    }
    if !batch.charges.is_empty() {
        send(batch);
    }
    Ok(())
}
