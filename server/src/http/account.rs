//! `POST /set-password` (an invited admin chooses their first password
//! through their mailed link) and `POST /account/password` (an admin changes
//! their own password): plain form posts, so they work without JavaScript.
//! Each answers with a redirect to its page, carrying an error code or a
//! notice in the query.

use app::pages::login::login_url;
use app::pages::set_password::set_password_url;
use app::session::{AppState, SESSION_COOKIE};
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use serde::Deserialize;
use tokenboard::access::accounts::{self, PasswordChangeError};
use tokenboard::access::login_limits;
use tokenboard::access::password_links::{self, RedeemError};
use tokenboard::access::sessions;

#[derive(Deserialize)]
pub struct SetPasswordForm {
    token: String,
    password: String,
}

/// Redeems the link and logs its owner in (a fresh session; whatever session
/// the browser had before ends).
pub async fn set_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SetPasswordForm>,
) -> Response {
    let retry = |error: &str| Redirect::to(&set_password_url(Some(&form.token), Some(error))).into_response();
    let admin = match password_links::redeem(&state.db, &form.token, &form.password, Utc::now()).await {
        Ok(admin) => admin,
        Err(RedeemError::TooShort) => return retry("short"),
        Err(RedeemError::InvalidLink) => return Redirect::to(&set_password_url(None, Some("link"))).into_response(),
        Err(RedeemError::Internal(e)) => {
            tracing::error!(error = %e, "could not set a password");
            return retry("server");
        }
    };
    match super::login::start_session(&state, jar, admin.id).await {
        Ok(jar) => {
            tracing::info!(admin_id = admin.id, "password set through an invitation link");
            (jar, Redirect::to("/")).into_response()
        }
        Err(e) => {
            // The password is set: logging in by hand works.
            tracing::error!(error = %e, "could not start a session after setting a password");
            Redirect::to("/login").into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes the logged-in admin's password; their other sessions end, this one stays.
pub async fn change_password(
    State(state): State<AppState>,
    Extension(client): Extension<super::login::ClientAddress>,
    jar: CookieJar,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<ChangePasswordForm>,
) -> Response {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Redirect::to(&login_url("/account", None)).into_response();
    };
    let admin = match sessions::session_admin(&state.db, cookie.value(), &state.sessions, Utc::now()).await {
        Ok(Some(admin)) => admin,
        Ok(None) => return Redirect::to(&login_url("/account", None)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not read a session");
            return Redirect::to("/account?error=server").into_response();
        }
    };
    // The current password is checked under the login's limit: a stolen
    // session cannot guess it faster than the login page could.
    let address = client.of(&headers, &extensions);
    let reservation = match login_limits::reserve(&state.db, &admin.email, &address, Utc::now()).await {
        Ok(Ok(reservation)) => reservation,
        Ok(Err(limited)) => {
            tracing::warn!(?limited, admin_id = admin.id, "password change refused by the rate limit");
            return Redirect::to("/account?error=locked").into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "could not check the login limit");
            return Redirect::to("/account?error=server").into_response();
        }
    };
    let outcome =
        accounts::change_password(&state.db, &admin, &form.current_password, &form.new_password, cookie.value()).await;
    if !matches!(outcome, Err(PasswordChangeError::WrongCurrent))
        && let Err(e) = login_limits::succeeded(&state.db, reservation).await
    {
        tracing::error!(error = %e, "could not clear the login limit");
    }
    let to = match outcome {
        Ok(()) => {
            tracing::info!(admin_id = admin.id, "password changed");
            "/account?done=password"
        }
        Err(PasswordChangeError::WrongCurrent) => "/account?error=current",
        Err(PasswordChangeError::TooShort) => "/account?error=short",
        Err(PasswordChangeError::Internal(e)) => {
            tracing::error!(error = %e, "could not change a password");
            "/account?error=server"
        }
    };
    Redirect::to(to).into_response()
}
