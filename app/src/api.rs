//! Server functions. Each is thin: authorise, then call the core.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::model::{SummaryView, TeamRef};
use tokenboard::range::RangeQuery;

use crate::error::AppError;

/// Who is logged in and which teams they may pick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub teams: Vec<TeamRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRequest {
    pub team: String,
    pub range: RangeQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryPageData {
    pub viewer: Viewer,
    pub summary: SummaryView,
}

#[server(endpoint = "viewer", input = leptos::server_fn::codec::Json)]
pub async fn load_viewer() -> Result<Viewer, AppError> {
    let (db, admin) = crate::session::current_admin().await?;
    let teams = tokenboard::auth::teams_of(&db, admin.id).await?;
    Ok(Viewer { email: admin.email, teams })
}

#[server(endpoint = "summary", input = leptos::server_fn::codec::Json)]
pub async fn load_summary(request: SummaryRequest) -> Result<SummaryPageData, AppError> {
    use tokenboard::model::Role;
    let (db, admin, access) = crate::session::require_team(&request.team, Role::Secondary).await?;
    let teams = tokenboard::auth::teams_of(&db, admin.id).await?;
    let today = access.team.today();
    let summary = tokenboard::summary::summary(&db, &access.team, access.role, today, &request.range).await?;
    Ok(SummaryPageData { viewer: Viewer { email: admin.email, teams }, summary })
}
