//! The export history: one row per export, one-click or scheduled. Jobs keep
//! their state here (queued → running → done | failed), so any app server
//! can run them and a restart finds what it interrupted.

use crate::access::audit::{self, Actor, AuditAction};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{ExportFormat, ExportParams, ExportRecord, ExportReport, ExportStatus, RETENTION_DAYS};
use crate::db::{Db, on_db};
use crate::domain::range::ResolvedRange;
use crate::error::{Error, Result};

/// Attempts before an interrupted export is given up.
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: i64,
    team_id: i64,
    admin_email: Option<String>,
    schedule_id: Option<i64>,
    report: String,
    format: String,
    query: String,
    range_from: NaiveDate,
    range_to: NaiveDate,
    file_name: String,
    status: String,
    rows_expected: Option<i64>,
    rows_written: i64,
    bytes: Option<i64>,
    sha256: Option<String>,
    error: Option<String>,
    attempts: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<ExportRow> for ExportRecord {
    type Error = Error;

    fn try_from(row: ExportRow) -> Result<ExportRecord> {
        let bad = |what: &str, value: &str| Error::Corrupt(format!("export {}: unknown {what} {value:?}", row.id));
        Ok(ExportRecord {
            id: row.id,
            team_id: row.team_id,
            admin_email: row.admin_email,
            schedule_id: row.schedule_id,
            report: ExportReport::parse(&row.report).ok_or_else(|| bad("report", &row.report))?,
            format: ExportFormat::parse(&row.format).ok_or_else(|| bad("format", &row.format))?,
            query: row.query,
            range_from: row.range_from,
            range_to: row.range_to,
            file_name: row.file_name,
            status: ExportStatus::parse(&row.status).ok_or_else(|| bad("status", &row.status))?,
            rows_expected: row.rows_expected,
            rows_written: row.rows_written,
            bytes: row.bytes,
            sha256: row.sha256,
            error: row.error,
            attempts: row.attempts,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

const SELECT: &str = "SELECT e.id, e.team_id, a.email AS admin_email, e.schedule_id, e.report, e.format, e.query,
        e.range_from, e.range_to, e.file_name, e.status, e.rows_expected, e.rows_written, e.bytes, e.sha256,
        e.error, e.attempts, e.created_at, e.expires_at
    FROM exports e LEFT JOIN admins a ON a.id = e.admin_id";

/// An export to record.
#[derive(Clone, Debug)]
pub struct NewExport<'a> {
    pub team: &'a crate::domain::teams::Team,
    /// Who asked: an admin (one-click), the scheduler, the command line.
    pub actor: &'a Actor,
    pub schedule_id: Option<i64>,
    pub report: ExportReport,
    pub format: ExportFormat,
    pub params: &'a ExportParams,
    pub range: &'a ResolvedRange,
}

/// What the audit log says about an export's view: its query without the
/// user search, whose free text may name a person; only that there was one.
fn audit_detail(file_name: &str, params: &ExportParams) -> String {
    let searched = params.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let unsearched = ExportParams { q: None, ..params.clone() };
    let search = if searched { "; search: yes" } else { "" };
    format!("{file_name} ({}{search})", encode_params(&unsearched))
}

/// The stored form of the view's query (the export's own URL query).
pub fn encode_params(params: &ExportParams) -> String {
    serde_urlencoded::to_string(params.pairs()).unwrap_or_default()
}

pub fn decode_params(query: &str) -> Result<ExportParams> {
    serde_urlencoded::from_str(query).map_err(|source| Error::StoredQuery { query: query.to_owned(), source })
}

/// Queued or running exports one admin may have at a time (all teams).
pub const MAX_ACTIVE_PER_ADMIN: i64 = 2;
/// Queued or running exports one team may have at a time (admins and schedules).
pub const MAX_ACTIVE_PER_TEAM: i64 = 4;
/// Bytes of export files one team may keep (until the 14-day sweep).
pub const TEAM_QUOTA_BYTES: i64 = 2 << 30;

/// Records a new export with `status` (queued for the job runner, or running
/// when the caller writes it at once), and audits it in the same transaction.
/// Refused with [`Error::LimitReached`] (nothing written) when the admin or
/// the team has too many exports under way, or the team's files fill its
/// quota: the caps are checked inside the INSERT itself, under the team's
/// row lock (PostgreSQL) or the database's write lock (SQLite), so parallel
/// requests cannot pass together.
pub async fn create(db: &Db, new: NewExport<'_>, status: ExportStatus, now: DateTime<Utc>) -> Result<ExportRecord> {
    match insert(db, new, status, now, None).await? {
        Some(record) => Ok(record),
        None => unreachable!("only a schedule's run can be claimed by another server"),
    }
}

/// One run of a schedule, claimed with its export: the schedule's next run
/// moves from `due` to `next` and it remembers `today` as run, in the
/// transaction that records the export — a crash cannot leave the run
/// claimed without its export, nor an export whose run is still due.
#[derive(Clone, Copy, Debug)]
pub struct ScheduleRun {
    pub schedule_id: i64,
    pub due: chrono::NaiveDate,
    pub next: chrono::NaiveDate,
    pub today: chrono::NaiveDate,
}

/// Queues the export of a schedule's run (see [`ScheduleRun`]); `None` when
/// another server claimed the run first. Refused like [`create`] over the caps,
/// and then the run stays due.
pub async fn create_scheduled(
    db: &Db,
    new: NewExport<'_>,
    run: ScheduleRun,
    now: DateTime<Utc>,
) -> Result<Option<ExportRecord>> {
    insert(db, new, ExportStatus::Queued, now, Some(run)).await
}

async fn insert(
    db: &Db,
    new: NewExport<'_>,
    status: ExportStatus,
    now: DateTime<Utc>,
    run: Option<ScheduleRun>,
) -> Result<Option<ExportRecord>> {
    let claim = "UPDATE report_schedules SET next_run_on = $3, last_run_on = $4, last_export_id = $5
        WHERE team_id = $1 AND id = $2 AND next_run_on = $6 AND paused = FALSE";
    let file_name = super::file_name(&new.team.slug, new.report, new.params, new.range.from, new.range.to, new.format);
    let attempts = i64::from(status == ExportStatus::Running);
    let sql = "INSERT INTO exports (team_id, admin_id, schedule_id, report, format, query, range_from, range_to,
            file_name, status, attempts, heartbeat_at, created_at, expires_at, personal_data)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14
        WHERE (SELECT COUNT(*) FROM exports WHERE team_id = $1 AND status IN ('queued', 'running')) < $15
          AND (SELECT COUNT(*) FROM exports WHERE admin_id = $2 AND status IN ('queued', 'running')) < $16
          AND (SELECT COALESCE(SUM(bytes), 0) FROM exports WHERE team_id = $1) < $17
        RETURNING id";
    // PostgreSQL checks the caps in a snapshot: lock the team's row (and the
    // admin's, whose cap spans teams) so parallel requests take turns.
    let row_locks = matches!(db.pool(), crate::db::Pool::Postgres(_));
    let detail = audit_detail(&file_name, new.params);
    let id = on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        if row_locks {
            sqlx::query("SELECT id FROM teams WHERE id = $1 FOR UPDATE").bind(new.team.id).execute(&mut *tx).await?;
            if let Some(admin_id) = new.actor.admin_id() {
                sqlx::query("SELECT id FROM admins WHERE id = $1 FOR UPDATE").bind(admin_id).execute(&mut *tx).await?;
            }
        }
        let id = sqlx::query_scalar::<_, i64>(sql)
            .bind(new.team.id)
            .bind(new.actor.admin_id())
            .bind(new.schedule_id)
            .bind(new.report.as_str())
            .bind(new.format.extension())
            .bind(encode_params(new.params))
            .bind(new.range.from)
            .bind(new.range.to)
            .bind(&file_name)
            .bind(status.as_str())
            .bind(attempts)
            .bind(now)
            .bind(now + Duration::days(RETENTION_DAYS))
            .bind(new.team.personal_data)
            .bind(MAX_ACTIVE_PER_TEAM)
            .bind(MAX_ACTIVE_PER_ADMIN)
            .bind(TEAM_QUOTA_BYTES)
            .fetch_optional(&mut *tx)
            .await?;
        if let (Some(id), Some(run)) = (id, run) {
            let claimed = sqlx::query(claim)
                .bind(new.team.id)
                .bind(run.schedule_id)
                .bind(run.next)
                .bind(run.today)
                .bind(id)
                .bind(run.due)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if claimed == 0 {
                return Ok(None); // another server runs it (the transaction rolls back)
            }
        }
        if let Some(id) = id {
            audit::record_in!(
                &mut *tx,
                new.team.id,
                new.actor,
                AuditAction::Exported,
                format!("export #{id}: {detail}"),
                now
            )?;
            tx.commit().await?;
        }
        id
    });
    match id {
        Some(id) => find(db, id).await?.ok_or_else(|| Error::NotFound(format!("export {id}"))).map(Some),
        None => Err(Error::LimitReached(refusal(db, new.team.id, new.actor.admin_id()).await?)),
    }
}

/// Why [`create`] refused: read after the fact, for the message only.
async fn refusal(db: &Db, team_id: i64, admin_id: Option<i64>) -> Result<String> {
    let active = "SELECT COUNT(*) FROM exports WHERE status IN ('queued', 'running') AND ";
    let count = |column: &'static str, id: i64| {
        let sql = format!("{active}{column} = $1");
        async move {
            Ok::<i64, Error>(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(&sql).bind(id).fetch_one(pool).await?))
        }
    };
    if let Some(admin_id) = admin_id {
        let mine = count("admin_id", admin_id).await?;
        if mine >= MAX_ACTIVE_PER_ADMIN {
            return Ok(format!("you have {mine} exports running; wait for one to finish"));
        }
    }
    let team = count("team_id", team_id).await?;
    if team >= MAX_ACTIVE_PER_TEAM {
        return Ok(format!("this team has {team} exports running; wait for one to finish"));
    }
    let sql = "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM exports WHERE team_id = $1";
    let used = on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql).bind(team_id).fetch_one(pool).await?);
    Ok(format!(
        "this team's exports use {} of {}; delete old ones or wait for the {RETENTION_DAYS}-day sweep",
        size(used),
        size(TEAM_QUOTA_BYTES)
    ))
}

/// "1.5 GiB", "300 MiB", "12 KiB".
fn size(bytes: i64) -> String {
    let units = [("GiB", 1i64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    match units.into_iter().find(|(_, unit)| bytes >= *unit) {
        Some((name, unit)) => format!("{:.1} {name}", bytes as f64 / unit as f64),
        None => format!("{bytes} bytes"),
    }
}

/// An export by id, whatever its team (job runner, mailed links).
pub async fn find(db: &Db, id: i64) -> Result<Option<ExportRecord>> {
    let sql = format!("{SELECT} WHERE e.id = $1");
    let row = on_db!(db, |pool| sqlx::query_as::<_, ExportRow>(&sql).bind(id).fetch_optional(pool).await?);
    row.map(ExportRecord::try_from).transpose()
}

/// An export of one team (a team id from a URL is never trusted alone).
pub async fn get(db: &Db, team_id: i64, id: i64) -> Result<Option<ExportRecord>> {
    Ok(find(db, id).await?.filter(|e| e.team_id == team_id))
}

/// The team's exports, newest first.
pub async fn list(db: &Db, team_id: i64) -> Result<Vec<ExportRecord>> {
    let sql = format!("{SELECT} WHERE e.team_id = $1 ORDER BY e.id DESC LIMIT 500");
    let rows = on_db!(db, |pool| sqlx::query_as::<_, ExportRow>(&sql).bind(team_id).fetch_all(pool).await?);
    rows.into_iter().map(ExportRecord::try_from).collect()
}

/// Takes the oldest queued export for this worker (running, one more attempt).
pub async fn claim_next(db: &Db, now: DateTime<Utc>) -> Result<Option<ExportRecord>> {
    let sql = "UPDATE exports SET status = 'running', attempts = attempts + 1, heartbeat_at = $1, rows_written = 0
        WHERE id = (SELECT id FROM exports WHERE status = 'queued' ORDER BY id LIMIT 1) AND status = 'queued'
        RETURNING id";
    let id = on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql).bind(now).fetch_optional(pool).await?);
    match id {
        Some(id) => find(db, id).await,
        None => Ok(None),
    }
}

/// Progress of a running export; also tells other servers it is alive.
pub async fn heartbeat(db: &Db, id: i64, rows_written: u64, now: DateTime<Utc>) -> Result<()> {
    let sql = "UPDATE exports SET rows_written = $2, heartbeat_at = $3 WHERE id = $1 AND status = 'running'";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(rows_written as i64)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Whether the export's file shows names: set from the privacy the job
/// writes with (the team's switch may have moved since it was queued), so
/// switching personal data off finds every file with names.
pub async fn set_personal_data(db: &Db, id: i64, shown: bool) -> Result<()> {
    let sql = "UPDATE exports SET personal_data = $2 WHERE id = $1";
    on_db!(db, |pool| sqlx::query(sql).bind(id).bind(shown).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn set_expected_rows(db: &Db, id: i64, rows: u64) -> Result<()> {
    let sql = "UPDATE exports SET rows_expected = $2 WHERE id = $1";
    on_db!(db, |pool| sqlx::query(sql).bind(id).bind(rows as i64).execute(pool).await?.rows_affected());
    Ok(())
}

/// Attempt `attempt` of export `id` finished its file. An attempt that was
/// given up meanwhile (a stalled worker) changes nothing.
pub async fn mark_done(
    db: &Db,
    id: i64,
    attempt: i64,
    written: &super::job::Written,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = "UPDATE exports SET status = 'done', rows_written = $2, rows_expected = $2, bytes = $3, sha256 = $4,
            error = NULL, finished_at = $5
        WHERE id = $1 AND attempts = $6 AND status = 'running'";
    let (rows, bytes, sha256) = (written.rows, written.bytes, &written.sha256);
    on_db!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(rows as i64)
        .bind(bytes as i64)
        .bind(sha256)
        .bind(now)
        .bind(attempt)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Attempt `attempt` of export `id` failed (ignored if that attempt was given up).
pub async fn mark_attempt_failed(db: &Db, id: i64, attempt: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
    let sql = "UPDATE exports SET status = 'failed', error = $2, finished_at = $3
        WHERE id = $1 AND attempts = $4 AND status = 'running'";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(error)
        .bind(now)
        .bind(attempt)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// How many exports there are in each status (every status, zeros too).
pub async fn count_by_status(db: &Db) -> Result<Vec<(ExportStatus, i64)>> {
    let sql = "SELECT status, COUNT(*) FROM exports GROUP BY status";
    let counts: Vec<(String, i64)> = on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
    Ok([ExportStatus::Queued, ExportStatus::Running, ExportStatus::Done, ExportStatus::Failed]
        .into_iter()
        .map(|status| (status, counts.iter().find(|(s, _)| s == status.as_str()).map_or(0, |(_, n)| *n)))
        .collect())
}

/// Puts attempt `attempt` of export `id` back in the queue (a shutdown that
/// could not wait for it); the next attempt writes it from the start.
pub async fn requeue(db: &Db, id: i64, attempt: i64) -> Result<()> {
    let sql =
        "UPDATE exports SET status = 'queued', rows_written = 0 WHERE id = $1 AND attempts = $2 AND status = 'running'";
    on_db!(db, |pool| sqlx::query(sql).bind(id).bind(attempt).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn mark_failed(db: &Db, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
    let sql = "UPDATE exports SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1";
    on_db!(db, |pool| sqlx::query(sql).bind(id).bind(error).bind(now).execute(pool).await?.rows_affected());
    Ok(())
}

/// What [`recover_interrupted`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub requeued: Vec<i64>,
    pub failed: Vec<i64>,
}

/// Running exports whose worker stopped beating before `stale_before` (a
/// restart, a crash): queued again to be written from the start, or failed
/// after [`MAX_ATTEMPTS`].
pub async fn recover_interrupted(db: &Db, stale_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Recovery> {
    let sql = "SELECT id, attempts FROM exports WHERE status = 'running' AND heartbeat_at < $1 ORDER BY id";
    let stale = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64)>(sql).bind(stale_before).fetch_all(pool).await?);
    let mut recovery = Recovery::default();
    for (id, attempts) in stale {
        if attempts >= MAX_ATTEMPTS {
            mark_failed(db, id, &format!("interrupted {attempts} times; giving up"), now).await?;
            recovery.failed.push(id);
        } else {
            let sql = "UPDATE exports SET status = 'queued', rows_written = 0 WHERE id = $1 AND status = 'running'";
            on_db!(db, |pool| sqlx::query(sql).bind(id).execute(pool).await?.rows_affected());
            recovery.requeued.push(id);
        }
    }
    Ok(recovery)
}

/// Exports past their expiry, with their files' ids and formats; their rows
/// are deleted by [`delete`] once the files are gone.
pub async fn expired(db: &Db, now: DateTime<Utc>) -> Result<Vec<(i64, ExportFormat)>> {
    let sql = "SELECT id, format FROM exports WHERE expires_at <= $1 ORDER BY id";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String)>(sql).bind(now).fetch_all(pool).await?);
    Ok(rows.into_iter().filter_map(|(id, f)| Some((id, ExportFormat::parse(&f)?))).collect())
}

pub async fn delete(db: &Db, id: i64) -> Result<()> {
    on_db!(db, |pool| sqlx::query("DELETE FROM exports WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Exports made while their team showed names, of teams that now hide them
/// (`team_id`'s, or every team's): what switching personal data off deletes.
/// The team's stored exports made with names whose range overlaps
/// `from..=to`: the files that can show a person used on those days.
pub async fn named_of_team_between(
    db: &Db,
    team_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, ExportFormat)>> {
    let sql = "SELECT id, format FROM exports WHERE team_id = $1 AND personal_data = TRUE
        AND range_from <= $3 AND range_to >= $2 ORDER BY id";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String)>(sql)
        .bind(team_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?);
    Ok(rows.into_iter().filter_map(|(id, f)| Some((id, ExportFormat::parse(&f)?))).collect())
}

pub async fn named_of_hidden_teams(db: &Db, team_id: Option<i64>) -> Result<Vec<(i64, ExportFormat)>> {
    let sql = "SELECT e.id, e.format FROM exports e JOIN teams t ON t.id = e.team_id
        WHERE e.personal_data = TRUE AND t.personal_data = FALSE AND ($1 = -1 OR e.team_id = $1) ORDER BY e.id";
    let rows =
        on_db!(db, |pool| sqlx::query_as::<_, (i64, String)>(sql).bind(team_id.unwrap_or(-1)).fetch_all(pool).await?);
    Ok(rows.into_iter().filter_map(|(id, f)| Some((id, ExportFormat::parse(&f)?))).collect())
}
