//! Days that held none of the team's charges before an import, on SQLite:
//! nothing stored there can be corrected or left alone, so their keys go
//! straight into the charges as each chunk arrives (a key a later chunk
//! repeats is summed into its charge), instead of into the staging table
//! first and then a second time into the charges. Keys of days that held
//! charges are staged and merged as before. PostgreSQL stages keys (but for
//! a team's first import, which copies them into a table of its own:
//! `FirstCharges`).

use chrono::NaiveDate;
use foldhash::{HashMap, HashMapExt};

use super::ImportError;
use super::keys::StagedKey;
use super::raw_sqlite::{InsertOrAdd, on_raw_handle};
use crate::error::Error;

/// Lets the import's code, written once for both backends, reach SQLite's
/// connection where only SQLite does something.
pub(super) trait OnSqlite {
    fn on_sqlite(&mut self) -> Option<&mut sqlx::SqliteConnection>;
}

impl OnSqlite for sqlx::SqliteConnection {
    fn on_sqlite(&mut self) -> Option<&mut sqlx::SqliteConnection> {
        Some(self)
    }
}

impl OnSqlite for sqlx::PgConnection {
    fn on_sqlite(&mut self) -> Option<&mut sqlx::SqliteConnection> {
        None
    }
}

/// A new day's key as a charge: ?7 team, ?8 import (NULL without history).
const INSERT_CHARGE: &str = "INSERT INTO usage_charges
    (usage_date, product_id, user_id, feature, product_version, tokens, team_id, import_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING";
/// A new day's key that an earlier chunk wrote: summed into its charge.
const ADD_TO_CHARGE: &str = "UPDATE usage_charges SET product_version = ?5, tokens = tokens + ?6, import_id = ?8
    WHERE team_id = ?7 AND usage_date = ?1 AND user_id = ?3 AND product_id = ?2 AND feature = ?4";
/// The team's first day with a charge in `$2..=$3` (one seek of the charges' key).
const FIRST_DAY_WITH_CHARGES: &str = "SELECT usage_date FROM usage_charges
    WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3 ORDER BY usage_date LIMIT 1";

/// The new days of one import and what it wrote into them.
pub(super) struct NewDays {
    team_id: i64,
    import_id: Option<i64>,
    /// Each day the import has met: whether it held none of the team's
    /// charges before the import (asked before any key of it was written).
    held_none: HashMap<NaiveDate, bool>,
    /// Charges written into new days (each a key new to the charges).
    pub(super) inserted: u64,
    /// Keys summed into a charge an earlier chunk of the import wrote.
    pub(super) added: u64,
}

impl NewDays {
    pub(super) fn new(team_id: i64, import_id: Option<i64>) -> NewDays {
        NewDays { team_id, import_id, held_none: HashMap::new(), inserted: 0, added: 0 }
    }

    /// Splits a chunk's keys (in key order) into those of new days and the
    /// rest, keeping their order.
    pub(super) async fn split<'a>(
        &mut self,
        connection: &mut sqlx::SqliteConnection,
        keys: Vec<StagedKey<'a>>,
    ) -> Result<(Vec<StagedKey<'a>>, Vec<StagedKey<'a>>), Error> {
        let mut previous = None;
        for &((day, ..), _) in &keys {
            if previous == Some(day) {
                continue;
            }
            previous = Some(day);
            if !self.held_none.contains_key(&day) {
                let held: bool = sqlx::query_scalar(crate::report::rollups::HAD_CHARGES_BETWEEN)
                    .bind(self.team_id)
                    .bind(day)
                    .bind(day)
                    .fetch_one(&mut *connection)
                    .await?;
                self.held_none.insert(day, !held);
            }
        }
        Ok(keys.into_iter().partition(|((day, ..), _)| self.held_none[day]))
    }

    /// Writes keys of new days (from [`NewDays::split`]) into the charges;
    /// answers the day of each key summed into a charge an earlier chunk wrote.
    pub(super) async fn write(
        &mut self,
        connection: &mut sqlx::SqliteConnection,
        keys: &[StagedKey<'_>],
    ) -> Result<Vec<NaiveDate>, ImportError> {
        let (team_id, import_id) = (self.team_id, self.import_id);
        let stored = on_raw_handle(connection, |direct| {
            InsertOrAdd { insert: INSERT_CHARGE, add: ADD_TO_CHARGE, fixed: &[(7, &team_id), (8, &import_id)] }
                .run(direct, keys)
        })
        .await?;
        self.inserted += stored.inserted as u64;
        self.added += stored.added_to.len() as u64;
        Ok(stored.added_to)
    }

    /// Whether the team held charges on days `first..=last` before the
    /// import: on a day the import met that held some, or on a day it did
    /// not meet (the days with charges are stepped through, one seek each,
    /// and only the import's own new days are passed over).
    pub(super) async fn held_charges_between(
        &self,
        connection: &mut sqlx::SqliteConnection,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<bool, Error> {
        if self.held_none.values().any(|&none| !none) {
            return Ok(true);
        }
        let mut from = first;
        loop {
            let next: Option<NaiveDate> = sqlx::query_scalar(FIRST_DAY_WITH_CHARGES)
                .bind(self.team_id)
                .bind(from)
                .bind(last)
                .fetch_optional(&mut *connection)
                .await?;
            match next {
                None => return Ok(false),
                Some(day) if !self.held_none.contains_key(&day) => return Ok(true),
                Some(day) => match day.succ_opt() {
                    Some(after) => from = after,
                    None => return Ok(false),
                },
            }
        }
    }
}
