//! A team's admins, managed by its primary admins (issue 5): invite by
//! e-mail with a role, change roles, remove. A team always keeps at least one
//! primary admin. Every change is audited.

use serde::{Deserialize, Serialize};

use crate::model::Role;

/// One admin of a team, as the settings page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamAdmin {
    pub admin_id: i64,
    pub email: String,
    pub role: Role,
}

/// What an invitation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invited {
    pub email: String,
    /// For a new account: its first password, shown once to the inviter to
    /// pass on (the account's owner changes it with `tokenboard admin`).
    pub first_password: Option<String>,
}

#[cfg(feature = "ssr")]
pub use store::{invite, list, remove, set_role};

#[cfg(feature = "ssr")]
mod store {
    use super::*;
    use crate::audit::{self, Actor, AuditAction};
    use crate::auth;
    use crate::db::{Db, on_db};
    use crate::error::{Error, Result};
    use crate::teams::Team;

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

    /// Gives `email` the role on the team, creating the account when new.
    pub async fn invite(db: &Db, team: &Team, actor: &Actor, email: &str, role: Role) -> Result<Invited> {
        let email = auth::normalise_email(email);
        if !crate::mail::is_email(&email) {
            return Err(Error::Invalid(format!("{email:?} is not an e-mail address")));
        }
        let (admin_id, first_password) = match auth::admin_id_by_email(db, &email).await? {
            Some(id) => (id, None),
            None => {
                let password = auth::random_password();
                (auth::upsert_admin(db, &email, &password).await?.id, Some(password))
            }
        };
        if list(db, team.id).await?.iter().any(|a| a.admin_id == admin_id) {
            return Err(Error::Invalid(format!("{email} is already an admin of this team")));
        }
        auth::grant_role(db, team.id, admin_id, role).await?;
        let detail = format!("invited {email} as {}", role.as_str());
        audit::record(db, Some(team.id), actor, AuditAction::AdminChanged, &detail).await?;
        Ok(Invited { email, first_password })
    }

    /// The other primary admins of the team than `admin_id`.
    async fn other_primaries(db: &Db, team_id: i64, admin_id: i64) -> Result<usize> {
        Ok(list(db, team_id).await?.iter().filter(|a| a.role == Role::Primary && a.admin_id != admin_id).count())
    }

    async fn admin_of(db: &Db, team_id: i64, admin_id: i64) -> Result<TeamAdmin> {
        list(db, team_id)
            .await?
            .into_iter()
            .find(|a| a.admin_id == admin_id)
            .ok_or_else(|| Error::NotFound(format!("admin {admin_id} of this team")))
    }

    pub async fn set_role(db: &Db, team: &Team, actor: &Actor, admin_id: i64, role: Role) -> Result<()> {
        let admin = admin_of(db, team.id, admin_id).await?;
        if admin.role == role {
            return Ok(());
        }
        if role == Role::Secondary && other_primaries(db, team.id, admin_id).await? == 0 {
            return Err(Error::Invalid("a team needs at least one primary admin".into()));
        }
        auth::grant_role(db, team.id, admin_id, role).await?;
        let detail = format!("{} is now {}", admin.email, role.as_str());
        audit::record(db, Some(team.id), actor, AuditAction::AdminChanged, &detail).await
    }

    pub async fn remove(db: &Db, team: &Team, actor: &Actor, admin_id: i64) -> Result<()> {
        let admin = admin_of(db, team.id, admin_id).await?;
        if admin.role == Role::Primary && other_primaries(db, team.id, admin_id).await? == 0 {
            return Err(Error::Invalid("the last primary admin cannot be removed".into()));
        }
        let sql = "DELETE FROM team_admins WHERE team_id = $1 AND admin_id = $2";
        on_db!(db, |pool| sqlx::query(sql).bind(team.id).bind(admin_id).execute(pool).await?.rows_affected());
        audit::record(db, Some(team.id), actor, AuditAction::AdminChanged, &format!("removed {}", admin.email)).await
    }
}
