//! Rollup tables: aggregates of `usage_charges` that reports read instead of
//! scanning charges. They are refreshed for the days an import touched, in
//! the import's transaction, so they are never out of step with the charges.

use chrono::NaiveDate;

use crate::db::{Db, on_db};
use crate::error::Result;

/// Statements that recompute every rollup of team `$1` for days `$2..=$3`
/// from the charges. Run in order, inside the writer's transaction.
pub const REFRESH_STATEMENTS: [&str; 6] = [
    "DELETE FROM daily_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_usage (team_id, usage_date, tokens, charges)
     SELECT team_id, usage_date, CAST(SUM(tokens) AS BIGINT), COUNT(*) FROM usage_charges
     WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date",
    "DELETE FROM daily_product_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days)
     SELECT team_id, usage_date, product_id, CAST(SUM(tokens) AS BIGINT), COUNT(*), COUNT(DISTINCT user_id)
     FROM usage_charges
     WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date, product_id",
    "DELETE FROM daily_version_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges)
     SELECT team_id, usage_date, product_id, product_version, CAST(SUM(tokens) AS BIGINT), COUNT(*)
     FROM usage_charges
     WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date, product_id, product_version",
];

/// [`REFRESH_STATEMENTS`] for an import: only the products it staged
/// (`import_keys`, the only ones whose charges it changed) are re-aggregated
/// from the charges, over the product index; the team's daily totals then
/// add up the product rollup of those days. A correction of one product over
/// a month reads that product's charges, not the whole team's month.
pub const REFRESH_STAGED_PRODUCTS: [&str; 6] = [
    "DELETE FROM daily_product_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     AND product_id IN (SELECT DISTINCT product_id FROM import_keys)",
    "INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days)
     SELECT team_id, usage_date, product_id, CAST(SUM(tokens) AS BIGINT), COUNT(*), COUNT(DISTINCT user_id)
     FROM usage_charges
     WHERE team_id = $1 AND product_id IN (SELECT DISTINCT product_id FROM import_keys)
       AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date, product_id",
    "DELETE FROM daily_version_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     AND product_id IN (SELECT DISTINCT product_id FROM import_keys)",
    "INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges)
     SELECT team_id, usage_date, product_id, product_version, CAST(SUM(tokens) AS BIGINT), COUNT(*)
     FROM usage_charges
     WHERE team_id = $1 AND product_id IN (SELECT DISTINCT product_id FROM import_keys)
       AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date, product_id, product_version",
    "DELETE FROM daily_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_usage (team_id, usage_date, tokens, charges)
     SELECT team_id, usage_date, CAST(SUM(tokens) AS BIGINT), CAST(SUM(charges) AS BIGINT) FROM daily_product_usage
     WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3
     GROUP BY team_id, usage_date",
];

/// [`REFRESH_STAGED_PRODUCTS`] for an import into days `$2..=$3` that held
/// none of team `$1`'s charges before it, whose keys were all staged (on
/// PostgreSQL): every charge of those days is now a staged key
/// (`import_keys`), so the rollups are the staged keys' sums, with no read
/// of the charges. (The team's days were checked with
/// [`HAD_CHARGES_BETWEEN`] before the merge.) A year's import read its 3.6
/// million charges back twice for the product and version rollups. The
/// version rollup is [`VERSION_ROLLUP_OF_STAGED_DAYS`]. An import that
/// tallied the keys it wrote writes its tallies instead (`ingest::import`'s
/// `keys.rs`) and aggregates only the days the tallies cannot vouch for;
/// when some keys skipped the staging table (SQLite's new days, PostgreSQL's
/// first import) such days are read from the charges.
pub const PRODUCT_ROLLUPS_OF_STAGED_DAYS: [&str; 4] = [
    "DELETE FROM daily_product_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days)
     SELECT CAST($1 AS BIGINT), usage_date, product_id, CAST(SUM(tokens) AS BIGINT), COUNT(*), COUNT(DISTINCT user_id)
     FROM import_keys WHERE usage_date BETWEEN $2 AND $3
     GROUP BY usage_date, product_id",
    REFRESH_STAGED_PRODUCTS[4],
    REFRESH_STAGED_PRODUCTS[5],
];

/// The version rollup of staged days that held no charge before (see
/// [`PRODUCT_ROLLUPS_OF_STAGED_DAYS`]): emptied, then summed from the staged
/// keys — on SQLite a sort of every key, which an import that tallied the
/// keys it wrote skips by writing its tally instead.
pub const VERSION_ROLLUP_OF_STAGED_DAYS: [&str; 2] = [
    "DELETE FROM daily_version_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
    "INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges)
     SELECT CAST($1 AS BIGINT), usage_date, product_id, product_version, CAST(SUM(tokens) AS BIGINT), COUNT(*)
     FROM import_keys WHERE usage_date BETWEEN $2 AND $3
     GROUP BY usage_date, product_id, product_version",
];

/// Whether team `$1` has any charge on days `$2..=$3` (one seek of the charges' key, which leads with the day).
pub const HAD_CHARGES_BETWEEN: &str =
    "SELECT EXISTS (SELECT 1 FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3)";

/// How many versions of a team's changes `usage_changes` keeps: an index
/// further behind is rebuilt whole.
pub const KEPT_CHANGES: i64 = 64;

/// The most users one change lists in `usage_change_users`: beyond that a
/// patch re-reads every user of the changed days anyway.
pub const MAX_LISTED_USERS: usize = 1000;

/// The users whose charges a write touched, while they are few enough to list.
#[derive(Debug, Default)]
pub struct TouchedUsers {
    ids: std::collections::BTreeSet<i64>,
    too_many: bool,
}

impl TouchedUsers {
    pub fn note(&mut self, user_id: i64) {
        if !self.too_many && self.ids.insert(user_id) && self.ids.len() > MAX_LISTED_USERS {
            self.too_many = true;
            self.ids.clear();
        }
    }

    /// The users, ordered; `None` when there were too many to list.
    pub fn listed(&self) -> Option<Vec<i64>> {
        (!self.too_many).then(|| self.ids.iter().copied().collect())
    }
}

/// Marks the team's charges as changed, in the writer's transaction: bumps
/// its `data_version` and records which days changed (`usage_changes`) and,
/// when known, which users (`usage_change_users`), so a usage index held in
/// memory re-reads only those on next use. `None` days: anything may have
/// changed (names, a rebuild) and indexes are rebuilt whole; no users: every
/// user of the days is re-read.
/// `mark_changed!(&mut *tx, team_id, first_day, last_day[, users])`, days as
/// `Option<NaiveDate>`, users as `Option<Vec<i64>>`; evaluates to the new
/// data version.
macro_rules! mark_changed {
    ($tx:expr, $team_id:expr, $first_day:expr, $last_day:expr) => {
        $crate::report::rollups::mark_changed!($tx, $team_id, $first_day, $last_day, None)
    };
    ($tx:expr, $team_id:expr, $first_day:expr, $last_day:expr, $users:expr) => {{
        let (team_id, first_day, last_day): (i64, Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
            ($team_id, $first_day, $last_day);
        let users: Option<Vec<i64>> = $users;
        let version: i64 =
            sqlx::query_scalar("UPDATE teams SET data_version = data_version + 1 WHERE id = $1 RETURNING data_version")
                .bind(team_id)
                .fetch_one(&mut *$tx)
                .await?;
        sqlx::query(
            "INSERT INTO usage_changes (team_id, data_version, first_day, last_day, touched_users)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(team_id)
        .bind(version)
        .bind(first_day)
        .bind(last_day)
        .bind(users.as_ref().map(|u| u.len() as i64))
        .execute(&mut *$tx)
        .await?;
        for chunk in users.as_deref().unwrap_or_default().chunks(500) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO usage_change_users (team_id, data_version, user_id) ");
            q.push_values(chunk, |mut b, user_id| {
                b.push_bind(team_id).push_bind(version).push_bind(*user_id);
            });
            q.build().execute(&mut *$tx).await?;
        }
        for sql in [
            "DELETE FROM usage_change_users WHERE team_id = $1 AND data_version <= $2",
            "DELETE FROM usage_changes WHERE team_id = $1 AND data_version <= $2",
        ] {
            sqlx::query(sql)
                .bind(team_id)
                .bind(version - $crate::report::rollups::KEPT_CHANGES)
                .execute(&mut *$tx)
                .await?;
        }
        version
    }};
}
pub(crate) use mark_changed;

/// Recomputes all rollups of every team from the charges; returns the teams rebuilt.
pub async fn rebuild_all(db: &Db) -> Result<usize> {
    let teams = crate::domain::teams::all_teams(db).await?;
    for team in &teams {
        rebuild(db, team.id).await?;
    }
    Ok(teams.len())
}

/// Recomputes all rollups of one team from its charges, in one transaction.
pub async fn rebuild(db: &Db, team_id: i64) -> Result<()> {
    // Whole-history bounds that also compare correctly as SQLite text.
    let from = NaiveDate::from_ymd_opt(1, 1, 1).expect("valid date");
    let to = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date");
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        for sql in REFRESH_STATEMENTS {
            sqlx::query(sql).bind(team_id).bind(from).bind(to).execute(&mut *tx).await?;
        }
        mark_changed!(&mut *tx, team_id, None, None);
        tx.commit().await?;
    });
    Ok(())
}
