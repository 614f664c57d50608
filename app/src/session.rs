//! Server side of a request: the shared state, the session cookie, and the
//! one place where a server function is authorised for a team.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use leptos::prelude::*;
use tokenboard::Db;
use tokenboard::access::accounts::Admin;
use tokenboard::access::auth::{self, TeamAccess};
use tokenboard::access::sessions;
use tokenboard::domain::model::Role;

use crate::error::AppError;

pub const SESSION_COOKIE: &str = "tokenboard_session";

/// What every request handler can reach: the database and the Leptos options.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub leptos_options: LeptosOptions,
    /// Set the `Secure` attribute on cookies (when served over HTTPS).
    pub secure_cookies: bool,
    /// Export files, and the key for hashed user ids.
    pub exports: tokenboard::export::job::ExportContext,
    /// Mails go out by SMTP (else they wait in the outbox).
    pub smtp_configured: bool,
    /// How users reach this server: the start of links in mails.
    pub public_url: String,
    /// Idle timeout and absolute lifetime of sessions.
    pub sessions: sessions::SessionPolicy,
    /// Where team webhooks may point (checked when the settings are saved).
    pub webhooks: tokenboard::notify::webhooks::WebhookPolicy,
    /// The largest usage file accepted (`TOKENBOARD_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: usize,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("AppState missing from the Leptos context"))
}

/// The session cookie for `token`: HttpOnly, SameSite=Lax, whole site,
/// kept by the browser no longer than the session can live.
pub fn session_cookie(token: String, state: &AppState) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .path("/")
        .max_age(time_from_chrono(state.sessions.max_age))
        .build()
}

fn time_from_chrono(d: chrono::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.num_seconds())
}

/// The admin behind the request's session cookie, if the session is alive.
pub async fn admin_from_jar(state: &AppState, jar: &CookieJar) -> Result<Option<Admin>, AppError> {
    match jar.get(SESSION_COOKIE) {
        Some(cookie) => {
            Ok(sessions::session_admin(&state.db, cookie.value(), &state.sessions, chrono::Utc::now()).await?)
        }
        None => Ok(None),
    }
}

/// The logged-in admin of the current server-function call.
pub async fn current_admin() -> Result<(Db, Admin), AppError> {
    let state = state()?;
    let jar: CookieJar = leptos_axum::extract().await.map_err(AppError::internal)?;
    let admin = admin_from_jar(&state, &jar).await?.ok_or(AppError::Unauthenticated)?;
    Ok((state.db, admin))
}

/// Authorises the current call for `role` on the team named `slug`: every
/// server function that names a team goes through here.
pub async fn require_team(slug: &str, role: Role) -> Result<(Db, Admin, TeamAccess), AppError> {
    let (db, admin) = current_admin().await?;
    let access = auth::authorize(&db, Some(&admin), slug, role).await?;
    Ok((db, admin, access))
}
