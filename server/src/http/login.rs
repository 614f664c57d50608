//! `POST /login` and `POST /logout`: plain form posts, so they work without
//! JavaScript. Failures say nothing about whether the account exists.

use app::pages::login::{login_url, safe_next};
use app::session::{AppState, SESSION_COOKIE, session_cookie};
use axum::Form;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::http::Extensions;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use chrono::Utc;
use serde::Deserialize;
use std::net::SocketAddr;
use tokenboard::audit::{self, Actor, AuditAction};
use tokenboard::{auth, login_limits};

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// The caller's address for the rate limit: the TCP peer (a forwarded-for
/// header is not trusted; run one limit per proxy if behind one).
fn peer_address(extensions: &Extensions) -> String {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    extensions: Extensions,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let address = peer_address(&extensions);
    let now = Utc::now();
    match login_limits::check(&state.db, &form.email, &address, now).await {
        Ok(None) => {}
        Ok(Some(limited)) => {
            tracing::warn!(?limited, "login refused by the rate limit");
            return Redirect::to(&login_url(&next, Some("locked"))).into_response();
        }
        Err(e) => return server_error(e),
    }
    let admin = match auth::verify_login(&state.db, &form.email, &form.password).await {
        Ok(admin) => admin,
        Err(e) => return server_error(e),
    };
    let Some(admin) = admin else {
        tracing::info!("failed login");
        let failed = async {
            login_limits::record_failure(&state.db, &form.email, &address, now).await?;
            let admin_id = auth::admin_id_by_email(&state.db, &form.email).await?;
            let actor = Actor::LoginAttempt { admin_id, email: auth::normalise_email(&form.email) };
            audit::record(&state.db, None, &actor, AuditAction::LoginFailed, &format!("from {address}")).await
        };
        if let Err(e) = failed.await {
            return server_error(e);
        }
        return Redirect::to(&login_url(&next, Some("credentials"))).into_response();
    };
    // A new session for every login: a token planted before login is worthless.
    if let Some(old) = jar.get(SESSION_COOKIE)
        && let Err(e) = auth::end_session(&state.db, old.value()).await
    {
        return server_error(e);
    }
    let started = async {
        let token = auth::create_session(&state.db, admin.id, &state.sessions).await?;
        let actor = Actor::Admin { id: admin.id, email: admin.email.clone() };
        audit::record(&state.db, None, &actor, AuditAction::Login, &format!("from {address}")).await?;
        Ok::<_, tokenboard::Error>(token)
    };
    match started.await {
        Ok(token) => {
            tracing::info!(admin_id = admin.id, "login");
            let jar = jar.add(session_cookie(token, &state));
            (jar, Redirect::to(&next)).into_response()
        }
        Err(e) => server_error(e),
    }
}

fn server_error(e: tokenboard::Error) -> Response {
    tracing::error!(error = %e, "login failed on the server");
    Redirect::to("/login?error=server").into_response()
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Err(e) = auth::end_session(&state.db, cookie.value()).await
    {
        tracing::error!(error = %e, "could not end a session");
    }
    signed_out(jar)
}

/// Drops the session cookie and sends the browser to the login page.
fn signed_out(jar: CookieJar) -> Response {
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

/// `POST /logout/everywhere`: ends every session of this admin, on every device.
pub async fn logout_everywhere(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let ended = async {
            if let Some(admin) = auth::session_admin(&state.db, cookie.value(), &state.sessions, Utc::now()).await? {
                auth::end_all_sessions(&state.db, admin.id).await?;
            }
            Ok::<_, tokenboard::Error>(())
        };
        if let Err(e) = ended.await {
            tracing::error!(error = %e, "could not end the sessions");
        }
    }
    signed_out(jar)
}
