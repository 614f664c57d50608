//! Server functions, one file per resource. Each is thin: [`TeamContext`]
//! authorises the caller on the team it names, then one core call does the
//! work. Policy (masking, search rules) lives in the core builders, SQL in
//! the core only.

pub mod admin;
pub mod exports;
pub mod imports;
pub mod packs;
pub mod reports;
pub mod schedules;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod shown_once;
pub mod wire;

use serde::{Deserialize, Serialize};
use tokenboard::domain::imports::Freshness;
use tokenboard::domain::model::TeamRef;

#[cfg(feature = "ssr")]
pub use context::TeamContext;

pub use wire::screen_resource;

/// Who is logged in and which teams they may pick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub teams: Vec<TeamRef>,
}

/// A screen of one team: who is looking, the team, and the screen's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamScreen<T> {
    pub viewer: Viewer,
    pub team: TeamRef,
    /// "Data through … · last import …", shown on every team page.
    pub freshness: Freshness,
    pub data: T,
}

/// Names a team (screens without a range: exports, schedules, settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamRequest {
    pub team: String,
}

#[cfg(feature = "ssr")]
mod context {
    use tokenboard::Db;
    use tokenboard::access::audit::Actor;
    use tokenboard::domain::imports::Freshness;
    use tokenboard::domain::model::{Role, TeamRef};
    use tokenboard::domain::range::{RangeQuery, ResolvedRange};
    use tokenboard::domain::teams::Team;
    use tokenboard::report::privacy::Privacy;

    use super::{TeamScreen, Viewer};
    use crate::error::AppError;

    /// A server function's caller on the team it names, authorised for a role.
    pub struct TeamContext {
        pub db: Db,
        /// Who the audit log names.
        pub actor: Actor,
        pub viewer: Viewer,
        pub team: Team,
        pub role: Role,
    }

    impl TeamContext {
        /// Opens `slug` for an admin holding at least `role` on it.
        pub async fn open(slug: &str, role: Role) -> Result<TeamContext, AppError> {
            let (db, admin, access) = crate::session::require_team(slug, role).await?;
            let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
            let actor = Actor::Admin { id: admin.id, email: admin.email.clone() };
            let viewer = Viewer { email: admin.email, teams };
            Ok(TeamContext { db, actor, viewer, team: access.team, role: access.role })
        }

        /// Settings, schedules and the audit log are for primary admins only.
        pub async fn primary(slug: &str) -> Result<TeamContext, AppError> {
            TeamContext::open(slug, Role::Primary).await
        }

        /// `range` resolved in the team's time zone; a bad range is the caller's mistake.
        pub fn range(&self, range: &RangeQuery) -> Result<ResolvedRange, AppError> {
            range.resolve(self.team.today()).map_err(|e| AppError::BadRequest(e.to_string()))
        }

        /// How the team's users may be shown (DESIGN §3.7).
        pub fn privacy(&self) -> Result<Privacy, AppError> {
            Ok(Privacy::new(&crate::session::state()?.exports.key, &self.team))
        }

        pub fn team_ref(&self) -> TeamRef {
            TeamRef { slug: self.team.slug.clone(), name: self.team.name.clone(), role: self.role }
        }

        /// How fresh the team's numbers are: read for a screen only, not
        /// for the changes server functions make.
        pub async fn freshness(&self) -> Result<Freshness, AppError> {
            Ok(tokenboard::ingest::import::freshness(&self.db, &self.team).await?)
        }

        /// The screen answer: `data` with who is looking, the team and its freshness.
        pub async fn screen<T>(self, data: T) -> Result<TeamScreen<T>, AppError> {
            let freshness = self.freshness().await?;
            Ok(TeamScreen { team: self.team_ref(), viewer: self.viewer, freshness, data })
        }
    }
}
