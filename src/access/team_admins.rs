//! A team's admins, managed by its primary admins (issue 5): invite by
//! e-mail with a role, change roles, remove. A team always keeps at least one
//! primary admin, checked in the transaction that changes a role. Every
//! change is audited in its own transaction. Invitations hand out no password
//! (issue 10): a new account gets a set-password link by mail
//! (`password_links`), an existing one just a note that it was added.

use serde::{Deserialize, Serialize};

use crate::domain::model::Role;

/// One admin of a team, as the settings page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamAdmin {
    pub admin_id: i64,
    pub email: String,
    pub role: Role,
}

/// What an invitation did: the same answer whether or not the address
/// already had an account (that is nobody's business but its owner's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invited {
    pub email: String,
}

#[cfg(feature = "ssr")]
pub use store::{invite, list, remove, set_role};

#[cfg(feature = "ssr")]
mod store {
    use chrono::Utc;

    use super::*;
    use crate::access::accounts;
    use crate::access::audit::{self, Actor, AuditAction};
    use crate::access::password_links::{self, LINK_LIFETIME, NewLink};
    use crate::db::{Db, on_db};
    use crate::domain::teams::Team;
    use crate::error::{Error, Result};

    pub async fn list(db: &Db, team_id: i64) -> Result<Vec<TeamAdmin>> {
        let sql = "SELECT a.id, a.email, ta.role FROM team_admins ta JOIN admins a ON a.id = ta.admin_id
                   WHERE ta.team_id = $1 ORDER BY ta.role, a.email";
        let rows =
            on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String)>(sql).bind(team_id).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(admin_id, email, role)| TeamAdmin {
                admin_id,
                email,
                role: if role == "primary" { Role::Primary } else { Role::Secondary },
            })
            .collect())
    }

    /// The mail to an invitee: with their set-password link when they get
    /// one, else a note that they were added.
    fn invitation_mail(
        team: &Team,
        inviter: &str,
        role: Role,
        link: Option<&str>,
        public_url: &str,
    ) -> (String, String) {
        let base = public_url.trim_end_matches('/');
        let what = format!("{inviter} made you {} admin of the team {} on Tokenboard.", role.as_str(), team.name);
        match link {
            Some(link) => (
                format!("Set your Tokenboard password ({})", team.name),
                format!(
                    "{what}\n\nChoose your password here (the link works once, for {} hours):\n{link}\n\n\
                     If it expired, ask a primary admin of the team to invite you again.\n",
                    LINK_LIFETIME.num_hours()
                ),
            ),
            None => (
                format!("You were added to {} on Tokenboard", team.name),
                format!(
                    "{what}\n\nLog in with your Tokenboard password: {base}/login\n\
                     If you have no password yet, ask the operator of this Tokenboard to set one.\n"
                ),
            ),
        }
    }

    /// Gives `email` the role on the team. A new address becomes an account
    /// without a password plus a set-password link mailed to it; inviting an
    /// admin of the team who has not set a password yet sends a fresh link
    /// (the role stays). An existing account whose password another team may
    /// know loses it (`password_links::ON_NEW_ROLE`) and, with `smtp` (the
    /// server delivers mail, so only its owner sees the link), gets a link;
    /// without, the operator sets its password. All in one write transaction,
    /// serialised on the account, so concurrent invitations of one address
    /// create one account and at most one usable link (see `password_links`).
    pub async fn invite(
        db: &Db,
        team: &Team,
        actor: &Actor,
        email: &str,
        role: Role,
        public_url: &str,
        smtp: bool,
    ) -> Result<Invited> {
        let email = accounts::normalise_email(email);
        if !crate::notify::mail::is_email(&email) {
            return Err(Error::Invalid(format!("{email:?} is not an e-mail address")));
        }
        let now = Utc::now();
        let create = "INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3)
                      ON CONFLICT (email) DO NOTHING";
        let account = format!("SELECT id, password_hash FROM admins WHERE email = $1{}", db.for_update());
        let password = "SELECT password_hash FROM admins WHERE id = $1";
        let grant = "INSERT INTO team_admins (team_id, admin_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (team_id, admin_id) DO NOTHING";
        let elsewhere = "SELECT COUNT(*) FROM team_admins WHERE admin_id = $1 AND team_id <> $2";
        let already = || Error::Invalid(format!("{email} is already an admin of this team"));
        on_db!(db, |pool| {
            let (_turn, mut tx) = db.write_transaction(pool).await?;
            // The first statement writes (SQLite holds the write lock from here);
            // a concurrent invitation of the same new address waits on the
            // unique e-mail and then finds this account.
            sqlx::query(create).bind(&email).bind(accounts::NO_PASSWORD).bind(now).execute(&mut *tx).await?;
            let (admin_id, hash) =
                sqlx::query_as::<_, (i64, String)>(&account).bind(&email).fetch_one(&mut *tx).await?;
            let has_password = hash != accounts::NO_PASSWORD;
            let granted = sqlx::query(grant)
                .bind(team.id)
                .bind(admin_id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !granted && has_password {
                return Err(already());
            }
            // Links that other teams' admins may have seen must not open this
            // team, nor may a password that another team's admins may know.
            for step in password_links::ON_NEW_ROLE {
                sqlx::query(step).bind(admin_id).bind(team.id).execute(&mut *tx).await?;
            }
            let has_password = sqlx::query_scalar::<_, String>(password).bind(admin_id).fetch_one(&mut *tx).await?
                != accounts::NO_PASSWORD;
            let other_teams =
                sqlx::query_scalar::<_, i64>(elsewhere).bind(admin_id).bind(team.id).fetch_one(&mut *tx).await?;
            // A link only for an account without a password, and only if no
            // other team's admins could see it open that team too.
            let link = (!has_password && (other_teams == 0 || smtp)).then(NewLink::generate);
            if !granted && link.is_none() {
                return Err(already());
            }
            let url = link.as_ref().map(|l| l.url(public_url));
            let (subject, body) = invitation_mail(team, &actor.label(), role, url.as_deref(), public_url);
            let mail_id = sqlx::query_scalar::<_, i64>(crate::notify::mail::INSERT)
                .bind(team.id)
                .bind(&email)
                .bind(&subject)
                .bind(&body)
                .bind(now)
                .bind(link.as_ref().map(|l| l.token.clone()))
                .fetch_one(&mut *tx)
                .await?;
            if let Some(link) = &link {
                sqlx::query(password_links::REVOKE_ALL).bind(admin_id).execute(&mut *tx).await?;
                sqlx::query(password_links::INSERT)
                    .bind(&link.hash)
                    .bind(admin_id)
                    .bind(team.id)
                    .bind(now)
                    .bind(now + LINK_LIFETIME)
                    .bind(mail_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let detail = if granted {
                format!("invited {email} as {}", role.as_str())
            } else {
                format!("sent {email} a new set-password link")
            };
            audit::record_in!(&mut *tx, team.id, actor, AuditAction::AdminChanged, &detail, now)?;
            tx.commit().await?;
        });
        Ok(Invited { email })
    }

    /// Runs `change` on one admin of the team in a write transaction that
    /// first locks the team (PostgreSQL: its row `FOR UPDATE`; SQLite: `BEGIN
    /// IMMEDIATE`), so concurrent changes of the team's admins run one after
    /// the other and each sees the others' result: two primaries demoting or
    /// removing each other at once leave one primary, never none.
    async fn change_admin(db: &Db, team: &Team, actor: &Actor, admin_id: i64, change: Change) -> Result<()> {
        let lock = format!("SELECT id FROM teams WHERE id = $1{}", db.for_update());
        let current = "SELECT a.email, ta.role FROM team_admins ta JOIN admins a ON a.id = ta.admin_id
                       WHERE ta.team_id = $1 AND ta.admin_id = $2";
        let others = "SELECT COUNT(*) FROM team_admins WHERE team_id = $1 AND role = 'primary' AND admin_id <> $2";
        let update = "UPDATE team_admins SET role = $3 WHERE team_id = $1 AND admin_id = $2";
        let delete = "DELETE FROM team_admins WHERE team_id = $1 AND admin_id = $2";
        on_db!(db, |pool| {
            let (_turn, mut tx) = db.write_transaction(pool).await?;
            sqlx::query_scalar::<_, i64>(&lock).bind(team.id).fetch_one(&mut *tx).await?;
            let Some((email, old)) = sqlx::query_as::<_, (String, String)>(current)
                .bind(team.id)
                .bind(admin_id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Err(Error::NotFound(format!("admin {admin_id} of this team")));
            };
            if change == Change::Role(Role::parse(&old).unwrap_or(Role::Secondary)) {
                return Ok(());
            }
            let loses_primary = old == Role::Primary.as_str() && change != Change::Role(Role::Primary);
            if loses_primary
                && sqlx::query_scalar::<_, i64>(others).bind(team.id).bind(admin_id).fetch_one(&mut *tx).await? == 0
            {
                return Err(Error::Invalid(match change {
                    Change::Remove => "the last primary admin cannot be removed".into(),
                    Change::Role(_) => "a team needs at least one primary admin".into(),
                }));
            }
            let detail = match change {
                Change::Role(role) => {
                    sqlx::query(update).bind(team.id).bind(admin_id).bind(role.as_str()).execute(&mut *tx).await?;
                    format!("{email} is now {}", role.as_str())
                }
                Change::Remove => {
                    sqlx::query(delete).bind(team.id).bind(admin_id).execute(&mut *tx).await?;
                    format!("removed {email}")
                }
            };
            audit::record_in!(&mut *tx, team.id, actor, AuditAction::AdminChanged, &detail, Utc::now())?;
            tx.commit().await?;
        });
        Ok(())
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Change {
        Role(Role),
        Remove,
    }

    pub async fn set_role(db: &Db, team: &Team, actor: &Actor, admin_id: i64, role: Role) -> Result<()> {
        change_admin(db, team, actor, admin_id, Change::Role(role)).await
    }

    pub async fn remove(db: &Db, team: &Team, actor: &Actor, admin_id: i64) -> Result<()> {
        change_admin(db, team, actor, admin_id, Change::Remove).await
    }
}
