//! Schedules in the database, and the run that turns due schedules into
//! queued exports and finished scheduled exports into e-mails. Every change
//! is audited; a schedule whose owner is no longer a primary admin pauses
//! instead of running.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{Cadence, MAX_SCHEDULES, Schedule, ValidSchedule};
use crate::access::audit::{self, Actor, AuditAction};
use crate::access::team_admins::{self, TeamAdmin};
use crate::db::{Db, on_db};
use crate::domain::model::Role;
use crate::domain::range::{RangePreset, RangeQuery};
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::export::history::{self, NewExport};
use crate::export::{ExportFormat, ExportParams, ExportRecord, ExportReport, ExportStatus};

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: i64,
    team_id: i64,
    report: String,
    format: String,
    range_preset: String,
    cadence: String,
    start_on: NaiveDate,
    next_run_on: NaiveDate,
    recipients: String,
    paused: bool,
    last_export_id: Option<i64>,
    created_by: Option<i64>,
}

impl TryFrom<ScheduleRow> for Schedule {
    type Error = Error;

    fn try_from(row: ScheduleRow) -> Result<Schedule> {
        let bad = |what: &str, value: &str| Error::Invalid(format!("schedule {}: unknown {what} {value:?}", row.id));
        Ok(Schedule {
            id: row.id,
            team_id: row.team_id,
            report: ExportReport::parse(&row.report).ok_or_else(|| bad("report", &row.report))?,
            format: ExportFormat::parse(&row.format).ok_or_else(|| bad("format", &row.format))?,
            range: RangePreset::parse(&row.range_preset).ok_or_else(|| bad("range", &row.range_preset))?,
            cadence: Cadence::parse(&row.cadence).ok_or_else(|| bad("cadence", &row.cadence))?,
            start_on: row.start_on,
            next_run_on: row.next_run_on,
            recipients: row.recipients.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
            paused: row.paused,
            last_export_id: row.last_export_id,
            owner: row.created_by,
        })
    }
}

const SELECT: &str = "SELECT id, team_id, report, format, range_preset, cadence, start_on, next_run_on, recipients,
    paused, last_export_id, created_by FROM report_schedules";

pub async fn list(db: &Db, team_id: i64) -> Result<Vec<Schedule>> {
    let sql = format!("{SELECT} WHERE team_id = $1 ORDER BY id");
    let rows = on_db!(db, |pool| sqlx::query_as::<_, ScheduleRow>(&sql).bind(team_id).fetch_all(pool).await?);
    rows.into_iter().map(Schedule::try_from).collect()
}

pub async fn get(db: &Db, team_id: i64, id: i64) -> Result<Schedule> {
    let sql = format!("{SELECT} WHERE team_id = $1 AND id = $2");
    let row =
        on_db!(db, |pool| sqlx::query_as::<_, ScheduleRow>(&sql).bind(team_id).bind(id).fetch_optional(pool).await?);
    row.map(Schedule::try_from).transpose()?.ok_or_else(|| Error::NotFound(format!("schedule {id}")))
}

/// Refuses recipients other than the team's admins and addresses of the
/// domains its settings allow: a schedule cannot mail the team's data out.
async fn check_recipients(db: &Db, team_id: i64, recipients: &[String]) -> Result<()> {
    let admins = team_admins::list(db, team_id).await?;
    let domains = crate::access::settings::load(db, team_id).await?.schedule_recipient_domains;
    for recipient in recipients {
        let admin = admins.iter().any(|a| a.email.eq_ignore_ascii_case(recipient));
        let domain = recipient.rsplit_once('@').is_some_and(|(_, d)| domains.iter().any(|allowed| allowed == d));
        if !admin && !domain {
            return Err(Error::Invalid(format!(
                "{recipient:?} may not receive scheduled reports: recipients are the team's admins or addresses \
                 in the domains a primary admin allows in the team settings"
            )));
        }
    }
    Ok(())
}

/// How the audit log names a schedule.
fn describe(id: i64, schedule: &ValidSchedule) -> String {
    format!(
        "schedule #{id}: {} {} {}, to {}",
        schedule.cadence.as_str(),
        schedule.report.as_str(),
        schedule.format.extension(),
        schedule.recipients.join(", ")
    )
}

/// Creates a schedule owned by `actor` (a primary admin).
pub async fn create(db: &Db, team: &Team, actor: &Actor, schedule: &ValidSchedule) -> Result<Schedule> {
    check_recipients(db, team.id, &schedule.recipients).await?;
    let next = schedule.cadence.first_on_or_after(schedule.start_on, team.today());
    // The count is checked in the insert itself, so a burst of requests
    // cannot slip past the bound between a count and an insert.
    let sql = "INSERT INTO report_schedules (team_id, created_by, report, format, range_preset, cadence, start_on,
            next_run_on, recipients, paused, created_at)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10
        WHERE (SELECT COUNT(*) FROM report_schedules WHERE team_id = $1) < $11 RETURNING id";
    let id = on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(team.id)
        .bind(actor.admin_id())
        .bind(schedule.report.as_str())
        .bind(schedule.format.extension())
        .bind(schedule.range.as_str())
        .bind(schedule.cadence.as_str())
        .bind(schedule.start_on)
        .bind(next)
        .bind(schedule.recipients.join(","))
        .bind(Utc::now())
        .bind(MAX_SCHEDULES as i64)
        .fetch_optional(pool)
        .await?);
    let Some(id) = id else {
        return Err(Error::Invalid(format!(
            "a team has at most {MAX_SCHEDULES} scheduled reports: delete one before adding another"
        )));
    };
    audit::record(db, Some(team.id), actor, AuditAction::ScheduleCreated, &describe(id, schedule)).await?;
    get(db, team.id, id).await
}

/// Replaces a schedule's settings; the next run follows the new dates, and
/// the admin who saved it owns it from now on.
pub async fn update(db: &Db, team: &Team, actor: &Actor, id: i64, schedule: &ValidSchedule) -> Result<Schedule> {
    get(db, team.id, id).await?;
    check_recipients(db, team.id, &schedule.recipients).await?;
    let next = schedule.cadence.first_on_or_after(schedule.start_on, first_free_day(db, team, id).await?);
    let sql = "UPDATE report_schedules SET report = $3, format = $4, range_preset = $5, cadence = $6, start_on = $7,
            next_run_on = $8, recipients = $9, created_by = $10
        WHERE team_id = $1 AND id = $2";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(team.id)
        .bind(id)
        .bind(schedule.report.as_str())
        .bind(schedule.format.extension())
        .bind(schedule.range.as_str())
        .bind(schedule.cadence.as_str())
        .bind(schedule.start_on)
        .bind(next)
        .bind(schedule.recipients.join(","))
        .bind(actor.admin_id())
        .execute(pool)
        .await?
        .rows_affected());
    audit::record(db, Some(team.id), actor, AuditAction::ScheduleChanged, &describe(id, schedule)).await?;
    get(db, team.id, id).await
}

/// The first day schedule `id` may run on from now: today, or the day after
/// its last run when it already ran today — a day's report is sent once,
/// whatever is edited, paused or resumed that day.
async fn first_free_day(db: &Db, team: &Team, id: i64) -> Result<NaiveDate> {
    let sql = "SELECT last_run_on FROM report_schedules WHERE team_id = $1 AND id = $2";
    let last_run_on: Option<NaiveDate> =
        on_db!(db, |pool| sqlx::query_scalar(sql).bind(team.id).bind(id).fetch_one(pool).await?);
    Ok(last_run_on.map_or(team.today(), |last| team.today().max(last + Days::new(1))))
}

/// Pauses or resumes; a resumed schedule runs next on its first date from
/// [`first_free_day`], without catching up on what it missed, for the admin
/// who resumed it.
pub async fn set_paused(db: &Db, team: &Team, actor: &Actor, id: i64, paused: bool) -> Result<Schedule> {
    let current = get(db, team.id, id).await?;
    let next = current.cadence.first_on_or_after(current.start_on, first_free_day(db, team, id).await?);
    let owner = if paused { current.owner } else { actor.admin_id() };
    let sql =
        "UPDATE report_schedules SET paused = $3, next_run_on = $4, created_by = $5 WHERE team_id = $1 AND id = $2";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(team.id)
        .bind(id)
        .bind(paused)
        .bind(next)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
    let action = if paused { AuditAction::SchedulePaused } else { AuditAction::ScheduleResumed };
    audit::record(db, Some(team.id), actor, action, &format!("schedule #{id}")).await?;
    get(db, team.id, id).await
}

pub async fn delete(db: &Db, team: &Team, actor: &Actor, id: i64) -> Result<()> {
    let sql = "DELETE FROM report_schedules WHERE team_id = $1 AND id = $2";
    let done = on_db!(db, |pool| sqlx::query(sql).bind(team.id).bind(id).execute(pool).await?.rows_affected());
    if done == 0 {
        return Err(Error::NotFound(format!("schedule {id}")));
    }
    audit::record(db, Some(team.id), actor, AuditAction::ScheduleDeleted, &format!("schedule #{id}")).await?;
    Ok(())
}

/// Whether `schedule`'s owner is no longer a primary admin of the team
/// (demoted, removed, account deleted): then it is paused, if it was not
/// yet, and the team's primary admins are told. The one rule of the runner,
/// the mailer and the schedules page.
async fn pause_if_orphaned(db: &Db, team: &Team, primaries: &[TeamAdmin], schedule: &Schedule) -> Result<bool> {
    if schedule.owner.is_some_and(|owner| primaries.iter().any(|p| p.admin_id == owner)) {
        return Ok(false);
    }
    let why =
        format!("schedule #{}: paused, the admin it ran for is no longer a primary admin of the team", schedule.id);
    let to = primaries.iter().map(|p| p.email.as_str()).collect::<Vec<_>>().join(",");
    let subject = format!("Tokenboard: a scheduled report of {} was paused", team.name);
    let body = format!(
        "The scheduled report \"{}\" ({}) of {} was paused: the admin it ran for is no longer a primary \
         admin of the team, so it was not sent.\n\nA primary admin can review and resume it on the team's \
         Schedules page.\n",
        schedule.report.title(),
        schedule.cadence.label(),
        team.name,
    );
    // Conditional, so of several servers one pauses, audits and mails; and
    // in one transaction, so a crash cannot pause without the notice.
    let pause = "UPDATE report_schedules SET paused = TRUE WHERE team_id = $1 AND id = $2 AND paused = FALSE";
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        if sqlx::query(pause).bind(team.id).bind(schedule.id).execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(true); // paused already, or by another server just now
        }
        audit::record_in!(&mut *tx, Some(team.id), &Actor::Scheduler, AuditAction::SchedulePaused, &why, now)?;
        if !to.is_empty() {
            crate::notify::mail::enqueue_in!(&mut *tx, team.id, &to, &subject, &body, now)?;
        }
        tx.commit().await?;
    });
    Ok(true)
}

async fn primaries(db: &Db, team_id: i64) -> Result<Vec<TeamAdmin>> {
    Ok(team_admins::list(db, team_id).await?.into_iter().filter(|a| a.role == Role::Primary).collect())
}

/// Pauses the team's schedules whose owner is no longer a primary admin
/// (the schedules page shows them as they will run); returns how many.
pub async fn pause_orphans(db: &Db, team: &Team) -> Result<usize> {
    let primaries = primaries(db, team.id).await?;
    let mut paused = 0;
    for schedule in list(db, team.id).await?.iter().filter(|s| !s.paused) {
        paused += usize::from(pause_if_orphaned(db, team, &primaries, schedule).await?);
    }
    Ok(paused)
}

/// Queues an export for every schedule due by its team's today and moves the
/// schedule to its next date, in one transaction (`history::create_scheduled`):
/// two app servers never queue the same run twice, and a crash never loses one.
pub async fn queue_due(db: &Db, now: DateTime<Utc>) -> Result<Vec<ExportRecord>> {
    // Team days differ from UTC by at most a day; the exact check is per team below.
    let horizon = now.date_naive() + Days::new(1);
    let sql = format!("{SELECT} WHERE paused = FALSE AND next_run_on <= $1 ORDER BY id");
    let rows = on_db!(db, |pool| sqlx::query_as::<_, ScheduleRow>(&sql).bind(horizon).fetch_all(pool).await?);
    let mut queued = Vec::new();
    for schedule in rows.into_iter().map(Schedule::try_from) {
        let schedule = schedule?;
        let team = crate::domain::teams::team_by_id(db, schedule.team_id).await?;
        let today = now.with_timezone(&team.tz()).date_naive();
        if schedule.next_run_on > today {
            continue;
        }
        if pause_if_orphaned(db, &team, &primaries(db, team.id).await?, &schedule).await? {
            continue;
        }
        let next = schedule.cadence.first_on_or_after(schedule.start_on, today + Days::new(1));
        let range = RangeQuery::preset(schedule.range).resolve(today).map_err(|e| Error::Invalid(e.to_string()))?;
        let params = ExportParams { range: Some(schedule.range.as_str().to_owned()), ..ExportParams::default() };
        let new = NewExport {
            team: &team,
            actor: &crate::access::audit::Actor::Scheduler,
            schedule_id: Some(schedule.id),
            report: schedule.report,
            format: schedule.format,
            params: &params,
            range: &range,
        };
        // Claimed with its export in one transaction: of two servers, one wins.
        let run = history::ScheduleRun { schedule_id: schedule.id, due: schedule.next_run_on, next, today };
        let record = match history::create_scheduled(db, new, run, now).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(Error::LimitReached(why)) => {
                // The team's export cap holds for schedules too: the run stays
                // due, and a later tick queues it once a slot is free.
                tracing::info!(team_id = team.id, schedule = schedule.id, why = %why, "scheduled export waits");
                continue;
            }
            Err(e) => return Err(e),
        };
        queued.push(record);
    }
    Ok(queued)
}

/// Puts the e-mail for each finished scheduled export not yet mailed in the
/// outbox (see [`mail_export`]): after the exports of a tick, and after a
/// restart for exports that finished just before a crash. Returns how many
/// mails were queued.
pub async fn mail_finished_exports(db: &Db, base_url: &str) -> Result<usize> {
    let sql = "SELECT id FROM exports WHERE schedule_id IS NOT NULL AND status IN ('done', 'failed')
               AND mailed_at IS NULL ORDER BY id";
    let ids: Vec<i64> = on_db!(db, |pool| sqlx::query_scalar(sql).fetch_all(pool).await?);
    let mut mailed = 0;
    for id in ids {
        if let Some(record) = history::find(db, id).await? {
            mailed += usize::from(mail_export(db, &record, base_url).await?.is_some());
        }
    }
    Ok(mailed)
}

/// Puts the e-mail for a finished scheduled export in the outbox, once: the
/// export's download link when done (it asks the reader to log in as an
/// admin of the team; it holds no secret), a generic notice when it failed
/// for good (the reason, for admins, is in the export history, never in a
/// mail). An attempt that failed and will be tried again mails nothing. A
/// schedule that was deleted, or whose owner is no longer a primary admin
/// meanwhile, mails nothing. The mail is queued in the transaction that
/// marks the export mailed, so it is queued exactly once.
pub async fn mail_export(db: &Db, record: &ExportRecord, base_url: &str) -> Result<Option<i64>> {
    let Some(schedule_id) = record.schedule_id else { return Ok(None) };
    if !matches!(record.status, ExportStatus::Done | ExportStatus::Failed) {
        return Ok(None);
    }
    let now = Utc::now();
    let claim = "UPDATE exports SET mailed_at = $2 WHERE id = $1 AND mailed_at IS NULL";
    let mail = match get(db, record.team_id, schedule_id).await {
        Ok(schedule) => {
            let team = crate::domain::teams::team_by_id(db, record.team_id).await?;
            if pause_if_orphaned(db, &team, &primaries(db, team.id).await?, &schedule).await? {
                None
            } else {
                let (subject, body) = export_mail(&team, record, base_url);
                Some((team.id, schedule.recipients.join(","), subject, body))
            }
        }
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let id = on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        if sqlx::query(claim).bind(record.id).bind(now).execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(None); // mailed already
        }
        let id = match &mail {
            Some((team_id, recipients, subject, body)) => {
                Some(crate::notify::mail::enqueue_in!(&mut *tx, team_id, recipients, subject, body, now)?)
            }
            None => None,
        };
        tx.commit().await?;
        id
    });
    Ok(id)
}

/// The subject and body of a scheduled export's mail.
fn export_mail(team: &Team, record: &ExportRecord, base_url: &str) -> (String, String) {
    let what = format!("{} for {} ({} to {})", record.report.title(), team.name, record.range_from, record.range_to);
    match record.status {
        ExportStatus::Done => {
            let link = format!(
                "{}/teams/{}/exports/{}/download?via=mail",
                base_url.trim_end_matches('/'),
                team.slug,
                record.id
            );
            (
                format!("Tokenboard: {what}"),
                format!(
                    "Your scheduled Tokenboard report is ready.\n\n{what}\nFile: {} ({} rows)\n\nDownload: {link}\n\n\
                     The link asks you to log in as an admin of {}; it works until {}.\n",
                    record.file_name,
                    record.rows_written,
                    team.name,
                    record.expires_at.format("%Y-%m-%d"),
                ),
            )
        }
        _ => (
            format!("Tokenboard: {what} failed"),
            format!(
                "Your scheduled Tokenboard report could not be made; the administrators can see details in the \
                 export history.\n\n{what}\n"
            ),
        ),
    }
}
