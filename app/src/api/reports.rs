//! The report screens' server functions: Summary, By product, product
//! details, By user, user details, Balances and Forecast.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::domain::model::SummaryView;
use tokenboard::domain::range::RangeQuery;
use tokenboard::report::params::{ProductSort, TableOrder, UserTableQuery};
use tokenboard::report::views::{
    ForecastView, ProductDetailView, ProductsView, TeamBalanceView, UserDetailView, UsersView,
};

use super::{TeamScreen, Viewer};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {
    super::TeamContext, tokenboard::domain::model::Role, tokenboard::report::memo::at_one_version,
    tokenboard::report::screens, tokenboard::report::summary::summary,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRequest {
    pub team: String,
    pub range: RangeQuery,
    /// The chart split by product (`?stack=product`).
    #[serde(default)]
    pub stacked: bool,
    /// The chart compared with the previous period (`?compare=previous`).
    #[serde(default)]
    pub compare: bool,
}

/// A report screen with a range only (Forecast ignores the range).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRequest {
    pub team: String,
    pub range: RangeQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductsRequest {
    pub team: String,
    pub range: RangeQuery,
    /// Absent: the table's default order, as a URL without `sort`.
    #[serde(default)]
    pub order: TableOrder<ProductSort>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDetailRequest {
    pub team: String,
    pub product: String,
    pub range: RangeQuery,
    /// The chart compared with the previous period (`?compare=previous`).
    #[serde(default)]
    pub compare: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsersRequest {
    pub team: String,
    pub range: RangeQuery,
    /// Absent: the first page of everyone, most tokens first.
    #[serde(default)]
    pub table: UserTableQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDetailRequest {
    pub team: String,
    pub user: i64,
    pub range: RangeQuery,
}

#[server(endpoint = "viewer", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_viewer() -> Result<Viewer, AppError> {
    let (db, admin) = crate::session::current_admin().await?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    Ok(Viewer { email: admin.email, teams })
}

#[server(endpoint = "summary", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_summary(request: SummaryRequest) -> Result<TeamScreen<SummaryView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let today = cx.team.today();
    let chart = tokenboard::report::summary::ChartOptions { stacked: request.stacked, compare: request.compare };
    let summary =
        at_one_version(&cx.db, cx.team.id, summary(&cx.db, &cx.team, cx.role, today, &request.range, chart)).await?;
    cx.screen(summary).await
}

#[server(endpoint = "products", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_products(request: ProductsRequest) -> Result<TeamScreen<ProductsView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let data = at_one_version(
        &cx.db,
        cx.team.id,
        screens::products(&cx.db, &cx.team, cx.range(&request.range)?, request.order),
    )
    .await?;
    cx.screen(data).await
}

#[server(endpoint = "product", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_product_detail(request: ProductDetailRequest) -> Result<TeamScreen<ProductDetailView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let range = cx.range(&request.range)?;
    let data = at_one_version(
        &cx.db,
        cx.team.id,
        screens::product_detail(&cx.db, &cx.team, range, &request.product, &cx.privacy()?, request.compare),
    )
    .await?;
    cx.screen(data).await
}

#[server(endpoint = "users", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_users(request: UsersRequest) -> Result<TeamScreen<UsersView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let range = cx.range(&request.range)?;
    let data =
        at_one_version(&cx.db, cx.team.id, screens::users(&cx.db, &cx.team, range, request.table, &cx.privacy()?))
            .await?;
    cx.screen(data).await
}

#[server(endpoint = "user", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_user_detail(request: UserDetailRequest) -> Result<TeamScreen<UserDetailView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let range = cx.range(&request.range)?;
    let data =
        at_one_version(&cx.db, cx.team.id, screens::user_detail(&cx.db, &cx.team, range, request.user, &cx.privacy()?))
            .await?;
    cx.screen(data).await
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancesScreen {
    pub viewer: Viewer,
    /// Each team's balance and how fresh its numbers are.
    pub teams: Vec<(TeamBalanceView, tokenboard::domain::imports::Freshness)>,
}

#[server(endpoint = "balances", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_balances() -> Result<BalancesScreen, AppError> {
    let (db, admin) = crate::session::current_admin().await?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let mut balances = Vec::with_capacity(teams.len());
    for team in &teams {
        let (_, _, access) = crate::session::require_team(&team.slug, Role::Secondary).await?;
        let freshness = tokenboard::ingest::import::freshness(&db, &access.team).await?;
        balances.push((
            at_one_version(&db, access.team.id, screens::team_balance(&db, &access.team, access.role)).await?,
            freshness,
        ));
    }
    Ok(BalancesScreen { viewer: Viewer { email: admin.email, teams }, teams: balances })
}

#[server(endpoint = "forecast", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_forecast(request: ReportRequest) -> Result<TeamScreen<ForecastView>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    // The range is checked like every report screen's, though the forecast does not use it.
    cx.range(&request.range)?;
    let data = at_one_version(&cx.db, cx.team.id, screens::forecast(&cx.db, &cx.team)).await?;
    cx.screen(data).await
}

/// Erases a team user for good (primary admins): names and e-mail become
/// their pseudonym; audited without either.
#[server(endpoint = "user_erase")]
pub async fn erase_user(team: String, user: i64) -> Result<String, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let state = crate::session::state()?;
    let erased = tokenboard::access::erasure::erase_user(
        &cx.db,
        &state.exports.files,
        &state.exports.key,
        &cx.team,
        user,
        &cx.actor,
    )
    .await?;
    Ok(format!(
        "Erased: this person is shown as {} from now on; {} stored exports deleted.",
        erased.pseudonym, erased.exports_deleted
    ))
}
