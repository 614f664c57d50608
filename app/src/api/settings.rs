//! The settings page (team settings, API keys, admins) and the audit log.
//! Primary admins only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::access::audit::{AuditCursor, AuditPage};
use tokenboard::access::settings::{ApiKeyInfo, SettingsInput, TeamSettings};
use tokenboard::access::team_admins::TeamAdmin;

use super::{TeamRequest, TeamScreen};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {
    super::TeamContext,
    tokenboard::access::audit::{self, AuditAction},
};

/// The settings page: the team's settings and its API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsData {
    pub settings: TeamSettings,
    pub api_keys: Vec<ApiKeyInfo>,
    pub admins: Vec<TeamAdmin>,
    /// Secrets created by a form post without JavaScript, shown this once.
    #[serde(default)]
    pub shown_once: Vec<String>,
}

#[server(endpoint = "settings", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_settings(request: TeamRequest) -> Result<TeamScreen<SettingsData>, AppError> {
    let cx = TeamContext::primary(&request.team).await?;
    let data = SettingsData {
        settings: tokenboard::access::settings::load(&cx.db, cx.team.id).await?,
        api_keys: tokenboard::access::api_keys::api_keys(&cx.db, cx.team.id).await?,
        admins: tokenboard::access::team_admins::list(&cx.db, cx.team.id).await?,
        shown_once: Vec::new(),
    };
    let (admin, team_id) = (cx.actor.admin_id(), cx.team.id);
    let mut screen = cx.screen(data).await?;
    // Taken last: nothing after it can fail and lose the secret.
    screen.data.shown_once = admin.map(|admin| super::shown_once::take(admin, team_id)).unwrap_or_default();
    Ok(screen)
}

/// Saves the settings form; returns what changed.
#[server(endpoint = "settings_save")]
pub async fn save_settings(team: String, settings: SettingsInput) -> Result<Vec<String>, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let valid = settings.validate().map_err(AppError::BadRequest)?;
    let state = crate::session::state()?;
    if let Some(url) = &valid.alert_webhook_url {
        state.webhooks.check_url(url).map_err(AppError::BadRequest)?;
    }
    let saved = tokenboard::access::settings::save(&cx.db, &state.exports.files, &cx.team, &cx.actor, &valid).await?;
    let mut answer = saved.changes;
    // Shown this once, to the primary admin who set the URL; kept server-side for signing.
    if let Some(secret) = saved.webhook_secret {
        let text =
            format!("webhook signing secret (shown once, keep it to verify the Tokenboard-Signature header): {secret}");
        keep_for_form_post(&cx, &text);
        answer.push(text);
    }
    Ok(answer)
}

/// Creates a team API key; the key is in the answer once and never again.
#[server(endpoint = "api_key_create")]
pub async fn create_api_key(team: String, label: String) -> Result<String, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let key = tokenboard::access::api_keys::create_api_key(&cx.db, cx.team.id, &label).await?;
    let detail = format!("key {:?}", label.trim());
    audit::record(&cx.db, Some(cx.team.id), &cx.actor, AuditAction::ApiKeyCreated, &detail).await?;
    keep_for_form_post(&cx, &key);
    Ok(key)
}

/// Without JavaScript the answer is lost in the redirect back: the page's
/// next load shows the secret instead (once).
#[cfg(feature = "ssr")]
fn keep_for_form_post(cx: &TeamContext, secret: &str) {
    if let (true, Some(admin)) = (super::shown_once::is_form_post(), cx.actor.admin_id()) {
        super::shown_once::keep(admin, cx.team.id, secret.to_owned());
    }
}

#[server(endpoint = "api_key_revoke")]
pub async fn revoke_api_key(team: String, id: i64) -> Result<(), AppError> {
    let cx = TeamContext::primary(&team).await?;
    tokenboard::access::api_keys::revoke_api_key(&cx.db, cx.team.id, id).await?;
    audit::record(&cx.db, Some(cx.team.id), &cx.actor, AuditAction::ApiKeyRevoked, &format!("key #{id}")).await?;
    Ok(())
}

/// A page of a team's audit log: the newest, or older/newer than a row id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRequest {
    pub team: String,
    #[serde(default)]
    pub cursor: AuditCursor,
}

#[server(endpoint = "audit", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_audit(request: AuditRequest) -> Result<TeamScreen<AuditPage>, AppError> {
    let cx = TeamContext::primary(&request.team).await?;
    let data = audit::page(&cx.db, cx.team.id, request.cursor, audit::AUDIT_PAGE_ROWS).await?;
    cx.screen(data).await
}
