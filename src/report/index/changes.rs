//! What changed in a team's charges since an index was built, read in one
//! snapshot: the days each newer data version rewrote (`usage_changes`,
//! written by imports, undos and erasures in their transactions) and, when
//! every change lists them, the users it touched (`usage_change_users`); the
//! charges of those days (of those users), and the users and products added
//! since.

use chrono::NaiveDate;

use super::patch::Window;
use super::{IndexedUser, UsageIndex, Users, day_number, reachable_part};
use crate::db::{Db, Pool, on_db};
use crate::error::Result;

/// How to bring an index up to date.
pub(super) enum Refresh {
    /// Apply the window; the data is then at this version.
    Patch(i64, Window),
    /// The change log does not cover the gap (too old, or a change of
    /// anything but charges): build the index anew.
    Rebuild,
}

/// A team user as read: id, first name, last name, e-mail.
pub(super) type UserRow = (i64, String, String, String);

/// The snapshot as read, before the users' ids become ordinals.
#[derive(Default)]
struct Read {
    version: i64,
    /// The days of each version after the index's (`None`: anything
    /// changed) and how many users it lists (`None`: not listed).
    changes: Vec<(Option<NaiveDate>, Option<NaiveDate>, Option<i64>)>,
    team_users: i64,
    new_users: Vec<UserRow>,
    /// (user id, product, day number, tokens).
    charges: Vec<(i64, i64, i64, i64)>,
    products: Vec<(i64, String, String)>,
    /// The days to re-read (of `Read::changed_days`).
    window: Option<(NaiveDate, NaiveDate)>,
    /// The users whose charges were re-read, when every change lists them.
    touched: Option<Vec<i64>>,
}

impl Read {
    /// The days to re-read, when the log has one entry with days for every
    /// version since `since`; `Err(())` when the index must be rebuilt.
    fn changed_days(&self, since: i64) -> std::result::Result<Option<(NaiveDate, NaiveDate)>, ()> {
        if self.changes.len() as i64 != self.version - since {
            return Err(());
        }
        let mut window: Option<(NaiveDate, NaiveDate)> = None;
        for change in &self.changes {
            let (Some(first), Some(last), _) = *change else { return Err(()) };
            window = Some(window.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
        }
        // Only days a range can reach are indexed (as at a build).
        Ok(window.and_then(|(f, l)| reachable_part(f, l)))
    }

    /// Whose charges to re-read: the listed users when every change lists them.
    fn users(&self, since: i64) -> Users {
        match self.changes.iter().all(|c| c.2.is_some()) {
            true => Users::ListedSince(since),
            false => Users::All,
        }
    }
}

/// The users the changes after a version list.
const LISTED_USERS: &str =
    "SELECT DISTINCT user_id FROM usage_change_users WHERE team_id = $1 AND data_version > $2 ORDER BY user_id";

/// How to bring `index` of `team_id` up to the team's current data.
pub(super) async fn since(db: &Db, team_id: i64, index: &UsageIndex) -> Result<Refresh> {
    let last_user = index.users.last().map_or(0, |u| u.id);
    let read = match db.file() {
        Some(file) => {
            let since = index.version;
            tokio::task::spawn_blocking(move || read_sqlite_file(&file, team_id, since, last_user)).await??
        }
        None => read_with_sqlx(db, team_id, index.version, last_user).await?,
    };
    let Some(read) = read else { return Ok(Refresh::Rebuild) };
    // Users are only ever added, with growing ids; anything else (a user
    // whose id came late from a sequence) is rebuilt.
    if read.team_users != (index.users.len() + read.new_users.len()) as i64 {
        return Ok(Refresh::Rebuild);
    }
    let new_users: Vec<IndexedUser> = read.new_users.into_iter().map(IndexedUser::from).collect();
    let ordinal = |id: i64| -> Option<u32> {
        let known = index.users.binary_search_by_key(&id, |u| u.id).ok();
        let added = || new_users.binary_search_by_key(&id, |u| u.id).ok().map(|i| index.users.len() + i);
        known.or_else(added).map(|i| i as u32)
    };
    let mut charges = Vec::with_capacity(read.charges.len());
    // A charge of no team user is left out, as a build leaves it out.
    for (user, product, day, tokens) in read.charges {
        if let Some(user) = ordinal(user) {
            charges.push((user, product, day, tokens));
        }
    }
    // Versions without reachable days: nothing to re-read.
    let (first, last) = Window::day_numbers(read.window);
    let products = read.products.into_iter().map(|(id, slug, name)| (id, (slug, name))).collect();
    let touched = read.touched.map(|ids| ids.into_iter().filter_map(ordinal).collect());
    Ok(Refresh::Patch(read.version, Window { first, last, charges, new_users, products, touched }))
}

/// One read transaction of its own on the SQLite file (as the build reads it).
fn read_sqlite_file(file: &std::path::Path, team_id: i64, since: i64, last_user: i64) -> Result<Option<Read>> {
    use rusqlite::params;
    let mut connection = super::open_read_only(file)?;
    let tx = connection.transaction()?;
    let mut read = Read {
        version: tx.query_row("SELECT data_version FROM teams WHERE id = ?1", [team_id], |r| r.get(0))?,
        ..Read::default()
    };
    let mut statement = tx.prepare(
        "SELECT first_day, last_day, touched_users FROM usage_changes WHERE team_id = ?1 AND data_version > ?2
         ORDER BY data_version",
    )?;
    let date = |text: Option<String>| -> rusqlite::Result<Option<NaiveDate>> {
        text.map(|t| {
            t.parse()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
        })
        .transpose()
    };
    read.changes = statement
        .query_map(params![team_id, since], |r| Ok((date(r.get(0)?)?, date(r.get(1)?)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(statement);
    let Ok(window) = read.changed_days(since) else { return Ok(None) };
    read.window = window;
    read.team_users = tx.query_row("SELECT COUNT(*) FROM team_users WHERE team_id = ?1", [team_id], |r| r.get(0))?;
    let mut statement = tx.prepare(
        "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = ?1 AND id > ?2 ORDER BY id",
    )?;
    read.new_users = statement
        .query_map(params![team_id, last_user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(statement);
    let users = read.users(since);
    if let Users::ListedSince(_) = users {
        let mut statement = tx.prepare(LISTED_USERS)?;
        read.touched =
            Some(statement.query_map(params![team_id, since], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?);
    }
    if let Some((first, last)) = window {
        super::charges_between(&tx, team_id, first, last, users, |user, product, day, tokens| {
            read.charges.push((user, product, day, tokens))
        })?;
    }
    let mut statement = tx.prepare("SELECT id, slug, name FROM products")?;
    read.products =
        statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
    drop(statement);
    tx.commit()?;
    Ok(Some(read))
}

/// The same read through the pool (PostgreSQL; SQLite in memory), in one
/// repeatable-read transaction.
async fn read_with_sqlx(db: &Db, team_id: i64, since: i64, last_user: i64) -> Result<Option<Read>> {
    let snapshot = match db.pool() {
        Pool::Postgres(_) => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        Pool::Sqlite(_) => None,
    };
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        if let Some(sql) = snapshot {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let mut read = Read {
            version: sqlx::query_scalar("SELECT data_version FROM teams WHERE id = $1")
                .bind(team_id)
                .fetch_one(&mut *tx)
                .await?,
            ..Read::default()
        };
        read.changes = sqlx::query_as(
            "SELECT first_day, last_day, touched_users FROM usage_changes WHERE team_id = $1 AND data_version > $2
             ORDER BY data_version",
        )
        .bind(team_id)
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        let Ok(window) = read.changed_days(since) else { return Ok(None) };
        read.window = window;
        read.team_users = sqlx::query_scalar("SELECT COUNT(*) FROM team_users WHERE team_id = $1")
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
        read.new_users = sqlx::query_as(
            "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(team_id)
        .bind(last_user)
        .fetch_all(&mut *tx)
        .await?;
        let users = read.users(since);
        if let Users::ListedSince(_) = users {
            read.touched = Some(sqlx::query_scalar(LISTED_USERS).bind(team_id).bind(since).fetch_all(&mut *tx).await?);
        }
        if let Some((first, last)) = window {
            let (sql, since) = users.charges_query();
            let query = sqlx::query_as(sql).bind(team_id).bind(first).bind(last);
            let query = match since {
                None => query,
                Some(since) => query.bind(since),
            };
            let rows: Vec<(i64, i64, NaiveDate, i64)> = query.fetch_all(&mut *tx).await?;
            read.charges = rows.into_iter().map(|(u, p, date, t)| (u, p, day_number(date), t)).collect();
        }
        read.products = sqlx::query_as("SELECT id, slug, name FROM products").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(read))
    })
}
