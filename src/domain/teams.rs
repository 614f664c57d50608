//! Teams: creation, lookup and the team's local "today".

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;

use crate::db::{Db, on_db};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub personal_data: bool,
}

impl Team {
    pub fn tz(&self) -> Tz {
        // Validated on write; an unparsable zone in the database falls back to UTC.
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    /// The current date in the team's time zone: what "today" means for it.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.tz()).date_naive()
    }
}

/// Takes the team's row lock for the rest of a transaction (on SQLite, the
/// write lock): one writer of a team's charges or ledger at a time, so a
/// check made under it still holds when its write commits.
pub const LOCK_TEAM: &str = "UPDATE teams SET data_version = data_version WHERE id = $1";

/// Marks a change of the team's packs, moves or adjustments (and takes the
/// team's lock, as [`LOCK_TEAM`]): kept ledgers of older versions go unused.
pub const CHANGE_LEDGER: &str = "UPDATE teams SET ledger_version = ledger_version + 1 WHERE id = $1";

/// A new team as the command line or the UI describe it.
#[derive(Clone, Debug)]
pub struct NewTeam {
    pub slug: String,
    pub name: String,
    pub time_zone: String,
}

pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 64
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("team slug {slug:?} must be 1–64 characters of a-z, 0-9 and '-'")))
    }
}

pub fn validate_time_zone(zone: &str) -> Result<Tz> {
    zone.parse::<Tz>()
        .map_err(|_| Error::Invalid(format!("unknown time zone {zone:?}: use an IANA name such as Europe/Berlin")))
}

/// The team's (`data_version`, `ledger_version`): what its charges and its
/// packs, moves and adjustments are at. Both only grow.
pub async fn versions(db: &Db, team_id: i64) -> Result<(i64, i64)> {
    Ok(on_db!(db, |pool| sqlx::query_as("SELECT data_version, ledger_version FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(pool)
        .await?
        .unwrap_or((0, 0))))
}

/// The version of the team's charges (bumped by `rollups::mark_changed!` in
/// every change): what the usage index and the kept report answers follow.
/// 0 for a team that does not exist.
pub async fn data_version(db: &Db, team_id: i64) -> Result<i64> {
    Ok(on_db!(db, |pool| sqlx::query_scalar("SELECT data_version FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(pool)
        .await?
        .unwrap_or(0)))
}

pub async fn create_team(db: &Db, team: &NewTeam) -> Result<Team> {
    validate_slug(&team.slug)?;
    validate_time_zone(&team.time_zone)?;
    if team.name.trim().is_empty() {
        return Err(Error::Invalid("team name must not be empty".into()));
    }
    if find_team(db, &team.slug).await?.is_some() {
        return Err(Error::Invalid(format!("a team with slug {:?} already exists", team.slug)));
    }
    let sql = "INSERT INTO teams (slug, name, time_zone, personal_data, created_at)
               VALUES ($1, $2, $3, $4, $5) RETURNING id, slug, name, time_zone, personal_data";
    let row = on_db!(db, |pool| sqlx::query_as::<_, Team>(sql)
        .bind(&team.slug)
        .bind(team.name.trim())
        .bind(&team.time_zone)
        .bind(true)
        .bind(Utc::now())
        .fetch_one(pool)
        .await?);
    Ok(row)
}

pub async fn find_team(db: &Db, slug: &str) -> Result<Option<Team>> {
    let sql = "SELECT id, slug, name, time_zone, personal_data FROM teams WHERE slug = $1";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Team>(sql).bind(slug).fetch_optional(pool).await?))
}

/// The team named by `slug`, or a `NotFound` error that names it.
pub async fn team(db: &Db, slug: &str) -> Result<Team> {
    find_team(db, slug).await?.ok_or_else(|| Error::NotFound(format!("team {slug:?}")))
}

pub async fn all_teams(db: &Db) -> Result<Vec<Team>> {
    let sql = "SELECT id, slug, name, time_zone, personal_data FROM teams ORDER BY name";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Team>(sql).fetch_all(pool).await?))
}

pub async fn team_by_id(db: &Db, id: i64) -> Result<Team> {
    let sql = "SELECT id, slug, name, time_zone, personal_data FROM teams WHERE id = $1";
    on_db!(db, |pool| sqlx::query_as::<_, Team>(sql).bind(id).fetch_optional(pool).await?)
        .ok_or_else(|| Error::NotFound(format!("team {id}")))
}
