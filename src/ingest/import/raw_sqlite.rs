//! An import's per-key statements on SQLite, stepped on the import
//! connection's own handle through rusqlite: sqlx bound six parameters a
//! key through its worker thread, which cost a year's import more time than
//! SQLite's inserts did.

use super::ImportError;
use super::keys::{DayText, StagedKey};
use crate::error::Error;

/// Runs `work` on the raw SQLite handle of `connection` (an import's
/// transaction), with no sqlx statement running on it meanwhile.
pub(super) async fn on_raw_handle<T>(
    connection: &mut sqlx::SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, Error> + Send,
) -> Result<T, ImportError> {
    let mut handle = connection.lock_handle().await?;
    // The closure borrows the locked handle: it cannot outlive the lock.
    let run = || -> Result<T, Error> {
        let raw = handle.as_raw_handle().as_ptr();
        // SAFETY: `handle` keeps the connection locked, so no sqlx
        // statement runs on it meanwhile, and open, until `direct` is
        // dropped at the end of this closure. `from_handle` never closes
        // it; dropping it would clear the connection's hooks only with
        // rusqlite's `hooks` features, which this crate does not enable
        // (and sqlx sets no hooks on it).
        let direct = unsafe { rusqlite::Connection::from_handle(raw.cast()) }?;
        work(&direct)
    };
    // A chunk takes tens of milliseconds: tell a multi-threaded runtime
    // to move other tasks off this thread meanwhile.
    let multi_threaded =
        tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
    Ok(if multi_threaded { tokio::task::block_in_place(run) } else { run() }?)
}

/// A pair of statements that store keys: `insert` (`ON CONFLICT DO
/// NOTHING`) and, for a key already stored, `add`, which sums its tokens
/// into it (the version of the later row wins). Both take the key as ?1
/// day, ?2 product, ?3 user, ?4 feature, ?5 version, ?6 tokens; `fixed`
/// binds their other parameters, the same for every key.
pub(super) struct InsertOrAdd<'a> {
    pub insert: &'a str,
    pub add: &'a str,
    pub fixed: &'a [(usize, &'a (dyn rusqlite::ToSql + Sync))],
}

impl InsertOrAdd<'_> {
    /// Stores `keys` on `direct`.
    pub(super) fn run(&self, direct: &rusqlite::Connection, keys: &[StagedKey<'_>]) -> Result<Stored, Error> {
        let mut insert = direct.prepare(self.insert)?;
        let mut add = direct.prepare(self.add)?;
        for statement in [&mut insert, &mut add] {
            for &(index, value) in self.fixed {
                statement.raw_bind_parameter(index, value)?;
            }
        }
        let (mut stored, mut day_text) = (Stored::default(), DayText::default());
        for &((usage_date, product_id, user_id, feature), (version, tokens)) in keys {
            let day = day_text.of(usage_date);
            let bind_key = |statement: &mut rusqlite::Statement<'_>| -> rusqlite::Result<()> {
                statement.raw_bind_parameter(1, day)?;
                statement.raw_bind_parameter(2, product_id)?;
                statement.raw_bind_parameter(3, user_id)?;
                statement.raw_bind_parameter(4, feature)?;
                statement.raw_bind_parameter(5, version)?;
                statement.raw_bind_parameter(6, tokens)
            };
            bind_key(&mut insert)?;
            if insert.raw_execute()? > 0 {
                stored.inserted += 1;
            } else {
                bind_key(&mut add)?;
                add.raw_execute()?;
                stored.added_to.push(usage_date);
            }
        }
        Ok(stored)
    }
}

/// What [`InsertOrAdd::run`] did: keys inserted, and the day of each key
/// summed into one stored before.
#[derive(Default)]
pub(super) struct Stored {
    pub inserted: usize,
    pub added_to: Vec<chrono::NaiveDate>,
}
