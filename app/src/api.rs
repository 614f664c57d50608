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

/// A report screen of one team: who is looking, the team, and the screen's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamScreen<T> {
    pub viewer: Viewer,
    pub team: TeamRef,
    pub data: T,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRequest {
    pub team: String,
    pub range: RangeQuery,
    pub order: Option<tokenboard::report::Order>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDetailRequest {
    pub team: String,
    pub product: String,
    pub range: RangeQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsersRequest {
    pub team: String,
    pub range: RangeQuery,
    pub table: tokenboard::views::UserTableQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDetailRequest {
    pub team: String,
    pub user: i64,
    pub range: RangeQuery,
}

#[cfg(feature = "ssr")]
mod screen {
    use tokenboard::Db;
    use tokenboard::model::{Role, TeamRef};
    use tokenboard::range::{RangeQuery, ResolvedRange};
    use tokenboard::teams::Team;

    use super::Viewer;
    use crate::error::AppError;

    /// Authorises a report screen of `slug` and resolves its range in the
    /// team's time zone.
    pub async fn open(slug: &str, range: &RangeQuery) -> Result<(Db, Viewer, TeamRef, Team, ResolvedRange), AppError> {
        let (db, admin, access) = crate::session::require_team(slug, Role::Secondary).await?;
        let range = range.resolve(access.team.today()).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let teams = tokenboard::auth::teams_of(&db, admin.id).await?;
        let team_ref = TeamRef { slug: access.team.slug.clone(), name: access.team.name.clone(), role: access.role };
        Ok((db, Viewer { email: admin.email, teams }, team_ref, access.team, range))
    }
}

#[server(endpoint = "products", input = leptos::server_fn::codec::Json)]
pub async fn load_products(request: ReportRequest) -> Result<TeamScreen<tokenboard::views::ProductsView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::screens::products(&db, &t, range, request.order).await? })
}

#[server(endpoint = "product", input = leptos::server_fn::codec::Json)]
pub async fn load_product_detail(
    request: ProductDetailRequest,
) -> Result<TeamScreen<tokenboard::views::ProductDetailView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::screens::product_detail(&db, &t, range, &request.product).await? })
}

#[server(endpoint = "users", input = leptos::server_fn::codec::Json)]
pub async fn load_users(request: UsersRequest) -> Result<TeamScreen<tokenboard::views::UsersView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::screens::users(&db, &t, range, request.table).await? })
}

#[server(endpoint = "user", input = leptos::server_fn::codec::Json)]
pub async fn load_user_detail(
    request: UserDetailRequest,
) -> Result<TeamScreen<tokenboard::views::UserDetailView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::screens::user_detail(&db, &t, range, request.user).await? })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancesScreen {
    pub viewer: Viewer,
    pub teams: Vec<tokenboard::views::TeamBalanceView>,
}

#[server(endpoint = "balances", input = leptos::server_fn::codec::Json)]
pub async fn load_balances() -> Result<BalancesScreen, AppError> {
    use tokenboard::model::Role;
    let (db, admin) = crate::session::current_admin().await?;
    let teams = tokenboard::auth::teams_of(&db, admin.id).await?;
    let mut balances = Vec::with_capacity(teams.len());
    for team in &teams {
        let (_, _, access) = crate::session::require_team(&team.slug, Role::Secondary).await?;
        balances.push(tokenboard::screens::team_balance(&db, &access.team, access.role).await?);
    }
    Ok(BalancesScreen { viewer: Viewer { email: admin.email, teams }, teams: balances })
}

#[server(endpoint = "forecast", input = leptos::server_fn::codec::Json)]
pub async fn load_forecast(request: ReportRequest) -> Result<TeamScreen<tokenboard::views::ForecastView>, AppError> {
    let (db, viewer, team, t, _) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::screens::forecast(&db, &t).await? })
}
