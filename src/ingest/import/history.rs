//! The import history (`imports`) and undo. An import owns the charges it
//! last wrote (`usage_charges.import_id`); its corrections keep what they
//! replaced (`import_corrections`). Undo removes what the import added and
//! puts back what it replaced, for the charges it still owns: a later
//! import's overwrite stays, and that import's own undo then restores what
//! was there before the undone one.

use chrono::{DateTime, Utc};

use super::LineError;
use crate::access::audit::{Actor, AuditAction, record_in};
use crate::db::{Db, on_db};
use crate::domain::imports::{Freshness, ImportRecord, ImportSource, ImportStatus, LastImport, UndoOutcome, UndoneBy};
use crate::domain::teams::Team;
use crate::error::{Error, Result};

/// Who and what an import is, before it runs.
#[derive(Clone, Debug)]
pub struct ImportRecordDraft {
    pub created_at: DateTime<Utc>,
    pub source: ImportSource,
    pub actor: String,
    pub file_name: String,
    pub sha256: String,
}

/// Records import `$draft` of `$team_id` through `$executor` (a pool, or the
/// import's own transaction) and answers the `sqlx::Result` of its new id.
macro_rules! insert_import {
    ($executor:expr, $team_id:expr, $draft:expr, $status:expr, $details:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO imports (team_id, created_at, source, actor, file_name, sha256, status, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind($team_id)
        .bind($draft.created_at)
        .bind($draft.source.as_str())
        .bind(&$draft.actor)
        .bind(&$draft.file_name)
        .bind(&$draft.sha256)
        .bind($status.as_str())
        .bind($details)
        .fetch_one($executor)
        .await
    };
}
pub(super) use insert_import;

/// After a merge (in its transaction): the import owns what it wrote, and
/// the imports it overwrote own that much less. Binds: import id.
pub(super) const TAKE_OWNERSHIP: [&str; 2] = [
    "UPDATE imports SET owned = owned - (
        SELECT COUNT(*) FROM import_corrections c WHERE c.import_id = $1 AND c.previous_import_id = imports.id)
     WHERE id IN (SELECT previous_import_id FROM import_corrections WHERE import_id = $1)",
    "UPDATE imports SET owned = inserted + updated WHERE id = $1",
];

/// Records a rejected file (its bad lines), so the history shows it too.
pub(super) async fn record_rejected(
    db: &Db,
    team_id: i64,
    draft: &ImportRecordDraft,
    errors: &[LineError],
) -> Result<i64> {
    let details = serde_json::json!({ "errors": errors }).to_string();
    Ok(on_db!(db, |pool| insert_import!(pool, team_id, draft, ImportStatus::Rejected, details)?))
}

/// One `imports` row as stored.
#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    created_at: DateTime<Utc>,
    source: String,
    actor: String,
    file_name: String,
    sha256: String,
    status: String,
    row_count: i64,
    inserted: i64,
    updated: i64,
    unchanged: i64,
    first_day: Option<chrono::NaiveDate>,
    last_day: Option<chrono::NaiveDate>,
    details: String,
    undone_at: Option<DateTime<Utc>>,
    undone_by: Option<String>,
    undo_kept: Option<i64>,
    owned: i64,
}

const SELECT_IMPORTS: &str = "SELECT id, created_at, source, actor, file_name, sha256, status, row_count,
    inserted, updated, unchanged, first_day, last_day, details, undone_at, undone_by, undo_kept, owned
    FROM imports";

fn import_record(row: ImportRow) -> Result<ImportRecord> {
    let id = row.id;
    let details: serde_json::Value =
        serde_json::from_str(&row.details).map_err(|e| Error::Corrupt(format!("import {id}: details: {e}")))?;
    let corrupt = |what: &str| Error::Corrupt(format!("import {id}: unknown {what}"));
    Ok(ImportRecord {
        id,
        created_at: row.created_at,
        source: row.source.parse().map_err(|_| corrupt("source"))?,
        actor: row.actor,
        file_name: row.file_name,
        sha256: row.sha256,
        status: row.status.parse().map_err(|_| corrupt("status"))?,
        rows: row.row_count as u64,
        inserted: row.inserted as u64,
        updated: row.updated as u64,
        unchanged: row.unchanged as u64,
        first_day: row.first_day,
        last_day: row.last_day,
        new_products: serde_json::from_value(details["new_products"].clone()).unwrap_or_default(),
        new_users: details["new_users"].as_u64().unwrap_or(0),
        errors: serde_json::from_value(details["errors"].clone()).unwrap_or_default(),
        undone: row.undone_at.map(|at| UndoneBy {
            at,
            actor: row.undone_by.unwrap_or_default(),
            kept: row.undo_kept.unwrap_or(0) as u64,
        }),
        owned: row.owned.max(0) as u64,
    })
}

/// The team's imports, newest first.
pub async fn list_imports(db: &Db, team_id: i64, limit: i64) -> Result<Vec<ImportRecord>> {
    let sql = format!("{SELECT_IMPORTS} WHERE team_id = $1 ORDER BY id DESC LIMIT $2");
    let rows: Vec<ImportRow> =
        on_db!(db, |pool| sqlx::query_as(&sql).bind(team_id).bind(limit).fetch_all(pool).await?);
    rows.into_iter().map(import_record).collect()
}

/// One import of the team.
pub async fn find_import(db: &Db, team_id: i64, import_id: i64) -> Result<Option<ImportRecord>> {
    let sql = format!("{SELECT_IMPORTS} WHERE team_id = $1 AND id = $2");
    let row: Option<ImportRow> =
        on_db!(db, |pool| sqlx::query_as(&sql).bind(team_id).bind(import_id).fetch_optional(pool).await?);
    row.map(import_record).transpose()
}

/// Later imports that took charges from import `$1` now take them from what
/// `$1` had replaced (or from nothing, for charges `$1` added): the undo of
/// `$1` must not come back through theirs.
const SPLICE_OUT: [&str; 2] = [
    "UPDATE import_corrections AS later
     SET previous_tokens = mine.previous_tokens, previous_version = mine.previous_version,
         previous_import_id = mine.previous_import_id
     FROM import_corrections mine
     WHERE later.previous_import_id = $1 AND mine.import_id = $1 AND mine.charge_id = later.charge_id",
    "UPDATE import_corrections
     SET previous_tokens = NULL, previous_version = NULL, previous_import_id = NULL
     WHERE previous_import_id = $1",
];

/// Binds: import id, team, first day, last day.
const RESTORE_CORRECTED: &str = "UPDATE usage_charges AS c
    SET tokens = mine.previous_tokens, product_version = mine.previous_version, import_id = mine.previous_import_id
    FROM import_corrections mine
    WHERE mine.import_id = $1 AND c.id = mine.charge_id AND c.team_id = $2 AND c.import_id = $1
      AND mine.previous_tokens IS NOT NULL";
/// The imports whose charges an undo restored own them again. Binds: import
/// id, team (a bound team: PostgreSQL plans against that team's charges only).
const GIVE_BACK_OWNERSHIP: &str = "UPDATE imports SET owned = owned + (
        SELECT COUNT(*) FROM import_corrections mine
        JOIN usage_charges c ON c.team_id = $2 AND c.id = mine.charge_id AND c.import_id = imports.id
        WHERE mine.import_id = $1 AND mine.previous_import_id = imports.id)
    WHERE id IN (SELECT previous_import_id FROM import_corrections WHERE import_id = $1)";
const REMOVE_ADDED: &str = "DELETE FROM usage_charges
    WHERE team_id = $2 AND usage_date BETWEEN $3 AND $4 AND import_id = $1";

/// Takes import `import_id` of `team_id` back in one transaction, audited.
/// Refuses an import that is unknown, rejected or already undone.
pub async fn undo_import(db: &Db, team_id: i64, import_id: i64, actor: &Actor) -> Result<UndoOutcome> {
    let record =
        find_import(db, team_id, import_id).await?.ok_or_else(|| Error::NotFound(format!("import {import_id}")))?;
    if record.status == ImportStatus::Rejected {
        return Err(Error::Invalid(format!("import {import_id} was rejected: it wrote nothing to undo")));
    }
    if record.undone.is_some() {
        return Err(Error::Invalid(format!("import {import_id} is already undone")));
    }
    let mut outcome = UndoOutcome::default();
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        sqlx::query(crate::domain::teams::LOCK_TEAM).bind(team_id).execute(&mut *tx).await?;
        // Under the transaction: a second undo of the same import finds it undone.
        let claimed =
            sqlx::query("UPDATE imports SET undone_at = $2, undone_by = $3 WHERE id = $1 AND undone_at IS NULL")
                .bind(import_id)
                .bind(now)
                .bind(actor.label())
                .execute(&mut *tx)
                .await?;
        if claimed.rows_affected() == 0 {
            return Err(Error::Invalid(format!("import {import_id} is already undone")));
        }
        if let (Some(first), Some(last)) = (record.first_day, record.last_day) {
            outcome.restored =
                sqlx::query(RESTORE_CORRECTED).bind(import_id).bind(team_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query(GIVE_BACK_OWNERSHIP).bind(import_id).bind(team_id).execute(&mut *tx).await?;
            outcome.removed = sqlx::query(REMOVE_ADDED)
                .bind(import_id)
                .bind(team_id)
                .bind(first)
                .bind(last)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for sql in SPLICE_OUT {
                sqlx::query(sql).bind(import_id).execute(&mut *tx).await?;
            }
            outcome.kept = (record.inserted + record.updated).saturating_sub(outcome.restored + outcome.removed);
            if outcome.restored + outcome.removed > 0 {
                for sql in crate::report::rollups::REFRESH_STATEMENTS {
                    sqlx::query(sql).bind(team_id).bind(first).bind(last).execute(&mut *tx).await?;
                }
                crate::report::rollups::mark_changed!(&mut *tx, team_id, Some(first), Some(last));
            }
        }
        sqlx::query("UPDATE imports SET undo_kept = $2, owned = 0 WHERE id = $1")
            .bind(import_id)
            .bind(outcome.kept as i64)
            .execute(&mut *tx)
            .await?;
        let detail = format!(
            "import {import_id} ({}) undone: {} removed, {} restored, {} kept (overwritten later)",
            record.file_name, outcome.removed, outcome.restored, outcome.kept
        );
        record_in!(&mut *tx, Some(team_id), actor, AuditAction::ImportUndone, detail, now)?;
        tx.commit().await?;
    });
    Ok(outcome)
}

/// How fresh the team's numbers are: its newest usage day and its newest
/// import that stands (DESIGN §5).
pub async fn freshness(db: &Db, team: &Team) -> Result<Freshness> {
    // One query: it is read for every team page.
    type Row = (Option<chrono::NaiveDate>, i64, Option<DateTime<Utc>>, Option<String>, Option<String>);
    let (data_through, stale_after_days, at, actor, source): Row = on_db!(db, |pool| sqlx::query_as(
        "SELECT (SELECT MAX(usage_date) FROM daily_usage WHERE team_id = t.id), t.stale_after_days,
                i.created_at, i.actor, i.source
         FROM teams t LEFT JOIN (
             SELECT team_id, created_at, actor, source FROM imports
             WHERE team_id = $1 AND status = 'done' AND undone_at IS NULL ORDER BY id DESC LIMIT 1
         ) i ON i.team_id = t.id
         WHERE t.id = $1"
    )
    .bind(team.id)
    .fetch_one(pool)
    .await?);
    let stale_after_days = stale_after_days.clamp(1, i64::from(u32::MAX)) as u32;
    let last = at.zip(actor).zip(source).map(|((at, actor), source)| (at, actor, source));
    let last_import = last.and_then(|(at, actor, source)| Some(LastImport { at, actor, source: source.parse().ok()? }));
    Ok(Freshness::new(data_through, last_import, stale_after_days, team.today()))
}
