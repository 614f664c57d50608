//! Erasing a person (DESIGN §3.7, issue 12): a team user's names and e-mail
//! are replaced by their keyed pseudonym for good. Their usage stays (every
//! total is unchanged); every page and new export shows only the pseudonym;
//! the team's stored exports made with names that cover the person's usage
//! are deleted with their files; the audit log says that an erasure
//! happened, never whom. The e-mail's keyed hash is kept, so a later import
//! of a file that still names the person adds to the erased user.

use chrono::{NaiveDate, Utc};

use crate::access::audit::{Actor, AuditAction, record_in};
use crate::db::{Db, on_db};
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::export::job::ExportFiles;
use crate::report::privacy::PseudonymKey;

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub user_id: i64,
    /// What the person is shown as from now on.
    pub pseudonym: String,
    /// Stored exports deleted because they could show the person.
    pub exports_deleted: usize,
}

/// Erases team user `user_id` of `team`.
pub async fn erase_user(
    db: &Db,
    files: &ExportFiles,
    key: &PseudonymKey,
    team: &Team,
    user_id: i64,
    actor: &Actor,
) -> Result<Erased> {
    let pseudonym = key.user_id(team.id, user_id);
    let found: Option<(Option<NaiveDate>, Option<NaiveDate>, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT (SELECT MIN(usage_date) FROM usage_charges WHERE team_id = $1 AND user_id = $2),
                (SELECT MAX(usage_date) FROM usage_charges WHERE team_id = $1 AND user_id = $2), email
         FROM team_users WHERE team_id = $1 AND id = $2"
    )
    .bind(team.id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?);
    let Some((first, last, email)) = found else {
        return Err(Error::NotFound(format!("user {user_id} of this team")));
    };
    // Already erased: the e-mail is the pseudonym, and its hash was kept then.
    let email_hash = (email != pseudonym).then(|| key.email_hash(team.id, &email));
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        sqlx::query("UPDATE team_users SET email = $3, first_name = $3, last_name = '' WHERE team_id = $1 AND id = $2")
            .bind(team.id)
            .bind(user_id)
            .bind(&pseudonym)
            .execute(&mut *tx)
            .await?;
        if let Some(hash) = &email_hash {
            sqlx::query(
                "INSERT INTO erased_users (team_id, email_hash, user_id) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id, email_hash) DO NOTHING",
            )
            .bind(team.id)
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        // A rejected file's bad lines in the import history may quote the e-mail.
        if email_hash.is_some() {
            sqlx::query("UPDATE imports SET details = REPLACE(details, $2, $3) WHERE team_id = $1")
                .bind(team.id)
                .bind(&email)
                .bind(&pseudonym)
                .execute(&mut *tx)
                .await?;
        }
        // Usage indexes held in memory carry names: they are rebuilt.
        crate::report::rollups::mark_changed!(&mut *tx, team.id, None, None);
        let detail = format!("a team user was erased (now shown as {pseudonym})");
        record_in!(&mut *tx, Some(team.id), actor, AuditAction::UserErased, detail, now)?;
        tx.commit().await?;
    });
    // Files written with names that cover the person's days.
    let mut exports_deleted = 0;
    if let (Some(first), Some(last)) = (first, last) {
        for (id, format) in crate::export::history::named_of_team_between(db, team.id, first, last).await? {
            files.remove(id, format)?;
            crate::export::history::delete(db, id).await?;
            exports_deleted += 1;
        }
    }
    Ok(Erased { user_id, pseudonym, exports_deleted })
}

/// The team user with this e-mail (case ignored), for the command line.
pub async fn user_by_email(db: &Db, team: &Team, email: &str) -> Result<i64> {
    let id: Option<i64> =
        on_db!(db, |pool| sqlx::query_scalar("SELECT id FROM team_users WHERE team_id = $1 AND email = $2")
            .bind(team.id)
            .bind(email.trim().to_lowercase())
            .fetch_optional(pool)
            .await?);
    id.ok_or_else(|| Error::NotFound("a team user with that e-mail".into()))
}
