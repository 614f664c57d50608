//! The audit log (DESIGN §8): who changed which setting, toggled personal
//! data, created or revoked a key, exported what, logged in or failed to.
//! Append-only: this module inserts and reads, nothing else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::db::{Db, on_db};
#[cfg(feature = "ssr")]
use crate::error::Result;

/// Who did it.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Admin {
        id: i64,
        email: String,
    },
    ApiKey {
        id: i64,
    },
    CommandLine,
    Scheduler,
    /// A login attempt; `admin_id` when the e-mail is an admin's.
    LoginAttempt {
        admin_id: Option<i64>,
        email: String,
    },
}

#[cfg(feature = "ssr")]
impl Actor {
    pub fn admin_id(&self) -> Option<i64> {
        match self {
            Actor::Admin { id, .. } => Some(*id),
            Actor::LoginAttempt { admin_id, .. } => *admin_id,
            _ => None,
        }
    }

    /// Who the audit log and the import history name.
    pub fn label(&self) -> String {
        match self {
            Actor::Admin { email, .. } | Actor::LoginAttempt { email, .. } => email.clone(),
            Actor::ApiKey { id } => format!("api key #{id}"),
            Actor::CommandLine => "command line".into(),
            Actor::Scheduler => "scheduler".into(),
        }
    }
}

/// What was done; the stored `action` is [`AuditAction::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    Login,
    LoginFailed,
    SettingChanged,
    PersonalDataToggled,
    ApiKeyCreated,
    ApiKeyRevoked,
    Exported,
    AdminChanged,
    /// An admin changed their own password.
    PasswordChanged,
    /// An invited admin set their first password through their link.
    PasswordSet,
    /// An export opened through the link of a scheduled report's mail.
    MailLinkDownload,
    ScheduleCreated,
    ScheduleChanged,
    SchedulePaused,
    ScheduleResumed,
    ScheduleDeleted,
    /// Stored exports with names deleted when personal data was switched off.
    ExportsPurged,
    /// An import taken back (its charges removed or restored).
    ImportUndone,
    PackAdded,
    /// A pack corrected (tokens, dates, order reference).
    PackChanged,
    PackVoided,
    TokensMoved,
    TokensAdjusted,
    /// A team user's names and e-mail replaced by their pseudonym (never who).
    UserErased,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login-failed",
            AuditAction::SettingChanged => "setting-changed",
            AuditAction::PersonalDataToggled => "personal-data",
            AuditAction::ApiKeyCreated => "api-key-created",
            AuditAction::ApiKeyRevoked => "api-key-revoked",
            AuditAction::Exported => "exported",
            AuditAction::AdminChanged => "admin-changed",
            AuditAction::PasswordChanged => "password-changed",
            AuditAction::PasswordSet => "password-set",
            AuditAction::MailLinkDownload => "mail-link-download",
            AuditAction::ScheduleCreated => "schedule-created",
            AuditAction::ScheduleChanged => "schedule-changed",
            AuditAction::SchedulePaused => "schedule-paused",
            AuditAction::ScheduleResumed => "schedule-resumed",
            AuditAction::ScheduleDeleted => "schedule-deleted",
            AuditAction::ExportsPurged => "exports-purged",
            AuditAction::ImportUndone => "import-undone",
            AuditAction::PackAdded => "pack-added",
            AuditAction::PackChanged => "pack-changed",
            AuditAction::PackVoided => "pack-voided",
            AuditAction::TokensMoved => "tokens-moved",
            AuditAction::TokensAdjusted => "tokens-adjusted",
            AuditAction::UserErased => "user-erased",
        }
    }
}

/// One row of the log, as `/teams/{slug}/audit` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

/// Rows on one page of `/teams/{slug}/audit`.
pub const AUDIT_PAGE_ROWS: i64 = 100;

/// Where a page of the log starts, as its URL says (`?before=ID`, `?after=ID`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditCursor {
    /// The newest rows.
    #[default]
    Newest,
    /// The rows just older than this id (the "Next" link).
    Before(i64),
    /// The rows just newer than this id (the "Previous" link).
    After(i64),
}

/// One page of the log, newest first, with the cursors of its neighbours.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Newer rows exist: the "Previous" page is `After(newer)`.
    pub newer: Option<i64>,
    /// Older rows exist: the "Next" page is `Before(older)`.
    pub older: Option<i64>,
}

/// Binds, in order: team id, admin id, actor, action, detail, time.
#[cfg(feature = "ssr")]
pub(crate) const INSERT: &str = "INSERT INTO audit_log (team_id, admin_id, actor, action, detail, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)";

/// Appends one audit row through `$executor` — a pool, or the transaction of
/// the change it records, so the change and its record commit together.
/// Answers the `sqlx::Result` of the INSERT.
#[cfg(feature = "ssr")]
macro_rules! record_in {
    ($executor:expr, $team_id:expr, $actor:expr, $action:expr, $detail:expr, $now:expr) => {
        sqlx::query($crate::access::audit::INSERT)
            .bind($team_id)
            .bind($actor.admin_id())
            .bind($actor.label())
            .bind($action.as_str())
            .bind($detail)
            .bind($now)
            .execute($executor)
            .await
    };
}
#[cfg(feature = "ssr")]
pub(crate) use record_in;

/// Appends one row. `team_id` is `None` for events outside a team.
#[cfg(feature = "ssr")]
pub async fn record(db: &Db, team_id: Option<i64>, actor: &Actor, action: AuditAction, detail: &str) -> Result<()> {
    on_db!(db, |pool| record_in!(pool, team_id, actor, action, detail, Utc::now())?.rows_affected());
    Ok(())
}

/// The rows of a team's log: its own, and the logins of its admins.
#[cfg(feature = "ssr")]
const OF_TEAM: &str = "(team_id = $1
    OR (team_id IS NULL AND admin_id IN (SELECT admin_id FROM team_admins WHERE team_id = $1)))";

/// The team's log, newest first, with the logins of its admins.
#[cfg(feature = "ssr")]
pub async fn for_team(db: &Db, team_id: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let sql = format!(
        "SELECT id, actor, action, detail, created_at FROM audit_log WHERE {OF_TEAM} ORDER BY id DESC LIMIT $2"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AuditEntry>(&sql).bind(team_id).bind(limit).fetch_all(pool).await?))
}

/// One page of the team's log (keyset paging on the id: a page stays put
/// while new rows arrive, and every row is reachable however many there are).
#[cfg(feature = "ssr")]
pub async fn page(db: &Db, team_id: i64, cursor: AuditCursor, rows: i64) -> Result<AuditPage> {
    let select = "SELECT id, actor, action, detail, created_at FROM audit_log WHERE";
    let (comparison, order, bound) = match cursor {
        AuditCursor::Newest => ("<", "DESC", i64::MAX),
        AuditCursor::Before(id) => ("<", "DESC", id),
        AuditCursor::After(id) => (">", "ASC", id),
    };
    let sql = format!("{select} {OF_TEAM} AND id {comparison} $3 ORDER BY id {order} LIMIT $2");
    let mut entries = on_db!(db, |pool| sqlx::query_as::<_, AuditEntry>(&sql)
        .bind(team_id)
        .bind(rows)
        .bind(bound)
        .fetch_all(pool)
        .await?);
    if matches!(cursor, AuditCursor::After(_)) {
        entries.reverse();
    }
    let exists = |comparison: &'static str, id: i64| {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT id FROM audit_log WHERE {OF_TEAM} AND id {comparison} $2 LIMIT 1) AS x"
        );
        async move {
            let n: i64 = on_db!(db, |pool| sqlx::query_scalar(&sql).bind(team_id).bind(id).fetch_one(pool).await?);
            Ok::<bool, crate::error::Error>(n > 0)
        }
    };
    let (newer, older) = match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => {
            (exists(">", first.id).await?.then_some(first.id), exists("<", last.id).await?.then_some(last.id))
        }
        _ => (None, None),
    };
    Ok(AuditPage { entries, newer, older })
}
