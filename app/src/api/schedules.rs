//! Scheduled exports: list, save, pause/resume/delete. Primary admins only:
//! their recipients and links are the team's data leaving it.

use leptos::prelude::*;
use tokenboard::notify::schedules::{Schedule, ScheduleInput};

#[cfg(feature = "ssr")]
use super::TeamContext;
use super::{TeamRequest, TeamScreen};
use crate::error::AppError;

#[server(endpoint = "schedules", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_schedules(request: TeamRequest) -> Result<TeamScreen<Vec<Schedule>>, AppError> {
    let cx = TeamContext::primary(&request.team).await?;
    // Shown as they will run: a schedule whose owner left pauses now, not at its next date.
    tokenboard::notify::schedules::pause_orphans(&cx.db, &cx.team).await?;
    let data = tokenboard::notify::schedules::list(&cx.db, cx.team.id).await?;
    cx.screen(data).await
}

/// Creates (no `id`) or replaces a schedule from the schedule form.
#[server(endpoint = "schedule_save")]
pub async fn save_schedule(team: String, id: Option<i64>, schedule: ScheduleInput) -> Result<(), AppError> {
    use tokenboard::notify::schedules;
    let cx = TeamContext::primary(&team).await?;
    let valid = schedule.validate().map_err(AppError::BadRequest)?;
    let saved = match id {
        Some(id) => {
            schedules::update(&cx.db, &cx.team, &cx.actor, id, &valid).await?;
            "updated"
        }
        None => {
            schedules::create(&cx.db, &cx.team, &cx.actor, &valid).await?;
            "created"
        }
    };
    tracing::info!(team_id = cx.team.id, admin_id = ?cx.actor.admin_id(), "schedule saved");
    // Back to the list with an empty form and a notice; a second click cannot duplicate.
    leptos_axum::redirect(&format!("/teams/{}/schedules?saved={saved}", cx.team.slug));
    Ok(())
}

/// Pauses, resumes or deletes a schedule.
#[server(endpoint = "schedule_command")]
pub async fn schedule_command(team: String, id: i64, command: String) -> Result<(), AppError> {
    use tokenboard::notify::schedules;
    let cx = TeamContext::primary(&team).await?;
    let (db, t, actor) = (&cx.db, &cx.team, &cx.actor);
    match command.as_str() {
        "pause" => drop(schedules::set_paused(db, t, actor, id, true).await?),
        "resume" => drop(schedules::set_paused(db, t, actor, id, false).await?),
        "delete" => schedules::delete(db, t, actor, id).await?,
        other => return Err(AppError::BadRequest(format!("unknown command {other:?}"))),
    }
    tracing::info!(team_id = t.id, admin_id = ?actor.admin_id(), schedule = id, command, "schedule changed");
    Ok(())
}
