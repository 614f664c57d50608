//! Authorisation: the one check every server function and route goes through,
//! the teams an admin may pick, granting a role. Imports the database and the domain.

use crate::access::accounts::Admin;
use crate::db::{Db, on_db};
use crate::domain::model::{Role, TeamRef};
use crate::domain::teams::Team;
use crate::error::{Error, Result};

/// Why access to a team was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Not logged in (or the session expired).
    #[error("not logged in")]
    Unauthenticated,
    /// The team does not exist *for this admin*: unknown, or no role on it.
    #[error("no such team")]
    NotFound,
    /// The admin sees the team but lacks the role this action needs.
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    #[error(transparent)]
    Internal(#[from] Error),
}

/// A team the caller may act on, with the role that allowed it.
#[derive(Clone, Debug)]
pub struct TeamAccess {
    pub team: Team,
    pub role: Role,
}

/// Gives the admin the role on the team (the operator's command line and
/// the demo; invitations go through `team_admins::invite`). Like an
/// invitation, it applies `password_links::ON_NEW_ROLE` under the account's
/// lock: links of other teams end, a password another team may know is voided.
pub async fn grant_role(db: &Db, team_id: i64, admin_id: i64, role: Role) -> Result<()> {
    let lock = format!("SELECT id FROM admins WHERE id = $1{}", db.for_update());
    let sql = "INSERT INTO team_admins (team_id, admin_id, role) VALUES ($1, $2, $3)
               ON CONFLICT (team_id, admin_id) DO UPDATE SET role = excluded.role";
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        sqlx::query_scalar::<_, i64>(&lock).bind(admin_id).fetch_one(&mut *tx).await?;
        sqlx::query(sql).bind(team_id).bind(admin_id).bind(role.as_str()).execute(&mut *tx).await?;
        for step in crate::access::password_links::ON_NEW_ROLE {
            sqlx::query(step).bind(admin_id).bind(team_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Teams the admin may see, for the team picker.
pub async fn teams_of(db: &Db, admin_id: i64) -> Result<Vec<TeamRef>> {
    let sql = "SELECT t.slug, t.name, ta.role FROM team_admins ta JOIN teams t ON t.id = ta.team_id
               WHERE ta.admin_id = $1 ORDER BY t.name";
    let rows =
        on_db!(db, |pool| sqlx::query_as::<_, (String, String, String)>(sql).bind(admin_id).fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .filter_map(|(slug, name, role)| Some(TeamRef { slug, name, role: Role::parse(&role)? }))
        .collect())
}

/// The authorisation check every server function and route goes through:
/// may `admin` act with `required` on the team named `slug`? A team the admin
/// holds no role on answers exactly like a team that does not exist.
pub async fn authorize(db: &Db, admin: Option<&Admin>, slug: &str, required: Role) -> Result<TeamAccess, AccessError> {
    let admin = admin.ok_or(AccessError::Unauthenticated)?;
    let sql = "SELECT t.id, t.slug, t.name, t.time_zone, t.personal_data, ta.role
               FROM teams t JOIN team_admins ta ON ta.team_id = t.id
               WHERE t.slug = $1 AND ta.admin_id = $2";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String, bool, String)>(sql)
        .bind(slug)
        .bind(admin.id)
        .fetch_optional(pool)
        .await
        .map_err(Error::from)?);
    let (id, slug, name, time_zone, personal_data, role) = row.ok_or(AccessError::NotFound)?;
    let role = Role::parse(&role).ok_or(AccessError::NotFound)?;
    if !role.satisfies(required) {
        return Err(AccessError::Forbidden(required.as_str()));
    }
    Ok(TeamAccess { team: Team { id, slug, name, time_zone, personal_data }, role })
}
