//! Team admins (invite, change role, remove) and the outbox of mails.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::access::team_admins::Invited;
use tokenboard::notify::mail::OutboxMail;

use super::Viewer;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {super::TeamContext, tokenboard::domain::model::Role};

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::BadRequest(format!("unknown role {role:?}: use primary or secondary")))
}

/// Makes `email` an admin of the team with `role`; the invitee is mailed
/// (a set-password link for a new account). The answer is the same whether
/// or not the address already had an account.
#[server(endpoint = "admin_invite")]
pub async fn invite_admin(team: String, email: String, role: String) -> Result<Invited, AppError> {
    let role = parse_role(&role)?;
    let cx = TeamContext::primary(&team).await?;
    let state = crate::session::state()?;
    let (public_url, smtp) = (&state.public_url, state.smtp_configured);
    Ok(tokenboard::access::team_admins::invite(&cx.db, &cx.team, &cx.actor, &email, role, public_url, smtp).await?)
}

/// Changes an admin's role ("primary", "secondary") or removes them ("remove").
#[server(endpoint = "admin_command")]
pub async fn admin_command(team: String, admin_id: i64, command: String) -> Result<(), AppError> {
    use tokenboard::access::team_admins;
    let cx = TeamContext::primary(&team).await?;
    match command.as_str() {
        "remove" => team_admins::remove(&cx.db, &cx.team, &cx.actor, admin_id).await?,
        role => team_admins::set_role(&cx.db, &cx.team, &cx.actor, admin_id, parse_role(role)?).await?,
    }
    Ok(())
}

/// One mail of the outbox, with the team it is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub team: String,
    pub mail: OutboxMail,
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
#[server(endpoint = "outbox", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_outbox() -> Result<OutboxScreen, AppError> {
    let (db, admin) = crate::session::current_admin().await?;
    let state = crate::session::state()?;
    let teams = tokenboard::access::auth::teams_of(&db, admin.id).await?;
    let mut ids = Vec::new();
    let mut names = std::collections::HashMap::new();
    for team in teams.iter().filter(|t| t.role == Role::Primary) {
        let cx = TeamContext::primary(&team.slug).await?;
        ids.push(cx.team.id);
        names.insert(cx.team.id, cx.team.name.clone());
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
