//! Server functions. Each is thin: authorise, then call the core.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::domain::model::{SummaryView, TeamRef};
use tokenboard::domain::range::RangeQuery;

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
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    Ok(Viewer { email: admin.email, teams })
}

#[server(endpoint = "summary", input = leptos::server_fn::codec::Json)]
pub async fn load_summary(request: SummaryRequest) -> Result<SummaryPageData, AppError> {
    use tokenboard::domain::model::Role;
    let (db, admin, access) = crate::session::require_team(&request.team, Role::Secondary).await?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let today = access.team.today();
    let summary = tokenboard::report::summary::summary(&db, &access.team, access.role, today, &request.range).await?;
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
    pub table: tokenboard::report::views::UserTableQuery,
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
    use tokenboard::domain::model::{Role, TeamRef};
    use tokenboard::domain::range::{RangeQuery, ResolvedRange};
    use tokenboard::domain::teams::Team;

    use super::Viewer;
    use crate::error::AppError;

    /// Authorises a report screen of `slug` and resolves its range in the
    /// team's time zone.
    pub async fn open(slug: &str, range: &RangeQuery) -> Result<(Db, Viewer, TeamRef, Team, ResolvedRange), AppError> {
        let (db, _, viewer, team_ref, team) = super::open_team(slug, Role::Secondary).await?;
        let range = range.resolve(team.today()).map_err(|e| AppError::BadRequest(e.to_string()))?;
        Ok((db, viewer, team_ref, team, range))
    }

    /// How the team's users may be shown: every screen with names masks them
    /// here, before anything leaves the server (DESIGN §3.7).
    pub fn privacy(team: &Team) -> Result<tokenboard::access::personal_data::Privacy, AppError> {
        Ok(tokenboard::access::personal_data::Privacy::new(&crate::session::state()?.exports.key, team))
    }
}

#[server(endpoint = "products", input = leptos::server_fn::codec::Json)]
pub async fn load_products(
    request: ReportRequest,
) -> Result<TeamScreen<tokenboard::report::views::ProductsView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::report::screens::products(&db, &t, range, request.order).await? })
}

#[server(endpoint = "product", input = leptos::server_fn::codec::Json)]
pub async fn load_product_detail(
    request: ProductDetailRequest,
) -> Result<TeamScreen<tokenboard::report::views::ProductDetailView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    let mut data = tokenboard::report::screens::product_detail(&db, &t, range, &request.product).await?;
    screen::privacy(&t)?.mask_report(&mut data.top_users);
    Ok(TeamScreen { viewer, team, data })
}

#[server(endpoint = "users", input = leptos::server_fn::codec::Json)]
pub async fn load_users(request: UsersRequest) -> Result<TeamScreen<tokenboard::report::views::UsersView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    let mut table = request.table;
    if !t.personal_data {
        // Searching by name would tell who is in the team: no search while names are hidden.
        table.search.clear();
    }
    let data = tokenboard::report::screens::users(&db, &t, range, table, &screen::privacy(&t)?).await?;
    Ok(TeamScreen { viewer, team, data })
}

#[server(endpoint = "user", input = leptos::server_fn::codec::Json)]
pub async fn load_user_detail(
    request: UserDetailRequest,
) -> Result<TeamScreen<tokenboard::report::views::UserDetailView>, AppError> {
    let (db, viewer, team, t, range) = screen::open(&request.team, &request.range).await?;
    let mut data = tokenboard::report::screens::user_detail(&db, &t, range, request.user).await?;
    screen::privacy(&t)?.mask_user(&mut data.user);
    Ok(TeamScreen { viewer, team, data })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancesScreen {
    pub viewer: Viewer,
    pub teams: Vec<tokenboard::report::views::TeamBalanceView>,
}

#[server(endpoint = "balances", input = leptos::server_fn::codec::Json)]
pub async fn load_balances() -> Result<BalancesScreen, AppError> {
    use tokenboard::domain::model::Role;
    let (db, admin) = crate::session::current_admin().await?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let mut balances = Vec::with_capacity(teams.len());
    for team in &teams {
        let (_, _, access) = crate::session::require_team(&team.slug, Role::Secondary).await?;
        balances.push(tokenboard::report::screens::team_balance(&db, &access.team, access.role).await?);
    }
    Ok(BalancesScreen { viewer: Viewer { email: admin.email, teams }, teams: balances })
}

#[server(endpoint = "forecast", input = leptos::server_fn::codec::Json)]
pub async fn load_forecast(
    request: ReportRequest,
) -> Result<TeamScreen<tokenboard::report::views::ForecastView>, AppError> {
    let (db, viewer, team, t, _) = screen::open(&request.team, &request.range).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::report::screens::forecast(&db, &t).await? })
}

/// Names a team (screens without a range: exports, schedules).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamRequest {
    pub team: String,
}

/// Opens a team screen for an admin holding at least `role` on it (report
/// screens add their range in [`screen::open`]).
#[cfg(feature = "ssr")]
async fn open_team(
    slug: &str,
    role: tokenboard::domain::model::Role,
) -> Result<
    (tokenboard::Db, tokenboard::access::audit::Actor, Viewer, TeamRef, tokenboard::domain::teams::Team),
    AppError,
> {
    let (db, admin, access) = crate::session::require_team(slug, role).await?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let team = TeamRef { slug: access.team.slug.clone(), name: access.team.name.clone(), role: access.role };
    let actor = tokenboard::access::audit::Actor::Admin { id: admin.id, email: admin.email.clone() };
    Ok((db, actor, Viewer { email: admin.email, teams }, team, access.team))
}

/// Settings and the audit log are for primary admins only.
#[cfg(feature = "ssr")]
async fn open_primary(
    slug: &str,
) -> Result<
    (tokenboard::Db, tokenboard::access::audit::Actor, Viewer, TeamRef, tokenboard::domain::teams::Team),
    AppError,
> {
    open_team(slug, tokenboard::domain::model::Role::Primary).await
}

/// The export history of a team, newest first.
#[server(endpoint = "exports", input = leptos::server_fn::codec::Json)]
pub async fn load_exports(request: TeamRequest) -> Result<TeamScreen<Vec<tokenboard::export::ExportRecord>>, AppError> {
    let (db, _, viewer, team, t) = open_team(&request.team, tokenboard::domain::model::Role::Secondary).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::export::history::list(&db, t.id).await? })
}

/// Schedules are for primary admins only: their recipients and links are
/// the team's data leaving it.
#[server(endpoint = "schedules", input = leptos::server_fn::codec::Json)]
pub async fn load_schedules(
    request: TeamRequest,
) -> Result<TeamScreen<Vec<tokenboard::notify::schedules::Schedule>>, AppError> {
    let (db, _, viewer, team, t) = open_primary(&request.team).await?;
    // Shown as they will run: a schedule whose owner left pauses now, not at its next date.
    tokenboard::notify::schedules::pause_orphans(&db, &t).await?;
    Ok(TeamScreen { viewer, team, data: tokenboard::notify::schedules::list(&db, t.id).await? })
}

/// Creates (no `id`) or replaces a schedule from the schedule form.
#[server(endpoint = "schedule_save")]
pub async fn save_schedule(
    team: String,
    id: Option<i64>,
    schedule: tokenboard::notify::schedules::ScheduleInput,
) -> Result<(), AppError> {
    let (db, actor, _, _, t) = open_primary(&team).await?;
    let valid = schedule.validate().map_err(AppError::BadRequest)?;
    match id {
        Some(id) => tokenboard::notify::schedules::update(&db, &t, &actor, id, &valid).await?,
        None => tokenboard::notify::schedules::create(&db, &t, &actor, &valid).await?,
    };
    tracing::info!(team_id = t.id, admin_id = ?actor.admin_id(), "schedule saved");
    Ok(())
}

/// Pauses, resumes or deletes a schedule.
#[server(endpoint = "schedule_command")]
pub async fn schedule_command(team: String, id: i64, command: String) -> Result<(), AppError> {
    let (db, actor, _, _, t) = open_primary(&team).await?;
    match command.as_str() {
        "pause" => drop(tokenboard::notify::schedules::set_paused(&db, &t, &actor, id, true).await?),
        "resume" => drop(tokenboard::notify::schedules::set_paused(&db, &t, &actor, id, false).await?),
        "delete" => tokenboard::notify::schedules::delete(&db, &t, &actor, id).await?,
        other => return Err(AppError::BadRequest(format!("unknown command {other:?}"))),
    }
    tracing::info!(team_id = t.id, admin_id = ?actor.admin_id(), schedule = id, command, "schedule changed");
    Ok(())
}

/// One mail of the outbox, with the team it is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub team: String,
    pub mail: tokenboard::notify::mail::OutboxMail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxScreen {
    pub viewer: Viewer,
    /// Mails are delivered by SMTP (else they only wait here).
    pub smtp: bool,
    pub mails: Vec<OutboxEntry>,
}

/// The mails about the teams where the admin is a primary admin. Every mail
/// tells a primary-only setting (alert recipients, schedules and their
/// recipients), so a secondary admin sees none.
#[server(endpoint = "outbox", input = leptos::server_fn::codec::Json)]
pub async fn load_outbox() -> Result<OutboxScreen, AppError> {
    use tokenboard::domain::model::Role;
    let (db, admin) = crate::session::current_admin().await?;
    let state = crate::session::state()?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let mut ids = Vec::new();
    let mut names = std::collections::HashMap::new();
    for team in teams.iter().filter(|t| t.role == Role::Primary) {
        let (_, _, access) = crate::session::require_team(&team.slug, Role::Primary).await?;
        ids.push(access.team.id);
        names.insert(access.team.id, access.team.name.clone());
    }
    // Set-password links show only without SMTP, and only to the primary
    // admins who could invite anyway (password_links).
    let show_links = if state.smtp_configured { &[][..] } else { &ids[..] };
    let mails = tokenboard::notify::mail::for_teams(&db, &ids, show_links)
        .await?
        .into_iter()
        .map(|mail| OutboxEntry { team: names.get(&mail.team_id).cloned().unwrap_or_default(), mail })
        .collect();
    Ok(OutboxScreen { viewer: Viewer { email: admin.email, teams }, smtp: state.smtp_configured, mails })
}

/// The settings page: the team's settings and its API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsData {
    pub settings: tokenboard::access::settings::TeamSettings,
    pub api_keys: Vec<tokenboard::access::settings::ApiKeyInfo>,
    pub admins: Vec<tokenboard::access::team_admins::TeamAdmin>,
}

#[server(endpoint = "settings", input = leptos::server_fn::codec::Json)]
pub async fn load_settings(request: TeamRequest) -> Result<TeamScreen<SettingsData>, AppError> {
    let (db, _, viewer, team, t) = open_primary(&request.team).await?;
    let data = SettingsData {
        settings: tokenboard::access::settings::load(&db, t.id).await?,
        api_keys: tokenboard::access::auth::api_keys(&db, t.id).await?,
        admins: tokenboard::access::team_admins::list(&db, t.id).await?,
    };
    Ok(TeamScreen { viewer, team, data })
}

/// Saves the settings form; returns what changed.
#[server(endpoint = "settings_save")]
pub async fn save_settings(
    team: String,
    settings: tokenboard::access::settings::SettingsInput,
) -> Result<Vec<String>, AppError> {
    let (db, actor, _, _, t) = open_primary(&team).await?;
    let valid = settings.validate().map_err(AppError::BadRequest)?;
    if let Some(url) = &valid.alert_webhook_url {
        crate::session::state()?.webhooks.check_url(url).map_err(AppError::BadRequest)?;
    }
    let files = &crate::session::state()?.exports.files;
    let saved = tokenboard::access::settings::save(&db, files, &t, &actor, &valid).await?;
    let mut answer = saved.changes;
    // Shown this once, to the primary admin who set the URL; kept server-side for signing.
    if let Some(secret) = saved.webhook_secret {
        answer.push(format!(
            "webhook signing secret (shown once, keep it to verify the Tokenboard-Signature header): {secret}"
        ));
    }
    Ok(answer)
}

/// Creates a team API key; the key is in the answer once and never again.
#[server(endpoint = "api_key_create")]
pub async fn create_api_key(team: String, label: String) -> Result<String, AppError> {
    use tokenboard::access::audit::{self, AuditAction};
    let (db, actor, _, _, t) = open_primary(&team).await?;
    let key = tokenboard::access::auth::create_api_key(&db, t.id, &label).await?;
    audit::record(&db, Some(t.id), &actor, AuditAction::ApiKeyCreated, &format!("key {:?}", label.trim())).await?;
    Ok(key)
}

#[server(endpoint = "api_key_revoke")]
pub async fn revoke_api_key(team: String, id: i64) -> Result<(), AppError> {
    use tokenboard::access::audit::{self, AuditAction};
    let (db, actor, _, _, t) = open_primary(&team).await?;
    tokenboard::access::auth::revoke_api_key(&db, t.id, id).await?;
    audit::record(&db, Some(t.id), &actor, AuditAction::ApiKeyRevoked, &format!("key #{id}")).await?;
    Ok(())
}

/// A page of a team's audit log: the newest, or older/newer than a row id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRequest {
    pub team: String,
    #[serde(default)]
    pub cursor: tokenboard::access::audit::AuditCursor,
}

#[server(endpoint = "audit", input = leptos::server_fn::codec::Json)]
pub async fn load_audit(request: AuditRequest) -> Result<TeamScreen<tokenboard::access::audit::AuditPage>, AppError> {
    use tokenboard::access::audit::{self, AUDIT_PAGE_ROWS};
    let (db, _, viewer, team, t) = open_primary(&request.team).await?;
    Ok(TeamScreen { viewer, team, data: audit::page(&db, t.id, request.cursor, AUDIT_PAGE_ROWS).await? })
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<tokenboard::domain::model::Role, AppError> {
    match role {
        "primary" => Ok(tokenboard::domain::model::Role::Primary),
        "secondary" => Ok(tokenboard::domain::model::Role::Secondary),
        other => Err(AppError::BadRequest(format!("unknown role {other:?}: use primary or secondary"))),
    }
}

/// Makes `email` an admin of the team with `role`; the invitee is mailed
/// (a set-password link for a new account). The answer is the same whether
/// or not the address already had an account.
#[server(endpoint = "admin_invite")]
pub async fn invite_admin(
    team: String,
    email: String,
    role: String,
) -> Result<tokenboard::access::team_admins::Invited, AppError> {
    let role = parse_role(&role)?;
    let (db, actor, _, _, t) = open_primary(&team).await?;
    let state = crate::session::state()?;
    Ok(tokenboard::access::team_admins::invite(&db, &t, &actor, &email, role, &state.public_url, state.smtp_configured)
        .await?)
}

/// Changes an admin's role ("primary", "secondary") or removes them ("remove").
#[server(endpoint = "admin_command")]
pub async fn admin_command(team: String, admin_id: i64, command: String) -> Result<(), AppError> {
    let (db, actor, _, _, t) = open_primary(&team).await?;
    match command.as_str() {
        "remove" => tokenboard::access::team_admins::remove(&db, &t, &actor, admin_id).await?,
        role => tokenboard::access::team_admins::set_role(&db, &t, &actor, admin_id, parse_role(role)?).await?,
    }
    Ok(())
}
