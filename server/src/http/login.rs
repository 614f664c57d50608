//! `POST /login` and `POST /logout`: plain form posts, so they work without
//! JavaScript. Failures say nothing about whether the account exists.

use app::pages::login::{login_url, safe_next};
use app::session::{AppState, SESSION_COOKIE, session_cookie};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use serde::Deserialize;
use tokenboard::auth;

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(State(state): State<AppState>, jar: CookieJar, Form(form): Form<LoginForm>) -> Response {
    let next = safe_next(&form.next).to_owned();
    match auth::verify_login(&state.db, &form.email, &form.password).await {
        Ok(Some(admin)) => match auth::create_session(&state.db, admin.id).await {
            Ok(token) => {
                tracing::info!(admin_id = admin.id, "login");
                let jar = jar.add(session_cookie(token, state.secure_cookies));
                (jar, Redirect::to(&next)).into_response()
            }
            Err(e) => {
                tracing::error!(error = %e, "could not create a session");
                Redirect::to("/login?error=server").into_response()
            }
        },
        Ok(None) => {
            tracing::info!("failed login");
            Redirect::to(&login_url(&next, Some("credentials"))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "login check failed");
            Redirect::to("/login?error=server").into_response()
        }
    }
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Err(e) = auth::end_session(&state.db, cookie.value()).await
    {
        tracing::error!(error = %e, "could not end a session");
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}
