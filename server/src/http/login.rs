//! `POST /login` and `POST /logout`: plain form posts, so they work without
//! JavaScript. Failures say nothing about whether the account exists.

use app::pages::login::{login_url, safe_next};
use app::session::{AppState, SESSION_COOKIE, session_cookie};
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderName};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use chrono::Utc;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use tokenboard::access::audit::{self, Actor, AuditAction};
use tokenboard::{access::accounts, access::login_limits, access::sessions};

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Where the caller's address for the login limit comes from: the TCP peer,
/// or — only when the operator configured it (`TOKENBOARD_TRUSTED_PROXY_HEADER`)
/// — the header the reverse proxy in front sets.
#[derive(Clone, Debug, Default)]
pub struct ClientAddress {
    pub trusted_header: Option<HeaderName>,
}

impl ClientAddress {
    /// The right-most entry of the trusted header is the one our proxy
    /// appended (entries left of it are whatever the client sent); without a
    /// usable entry, or without a configured header, the TCP peer.
    pub fn of(&self, headers: &HeaderMap, extensions: &Extensions) -> String {
        let forwarded = self.trusted_header.as_ref().and_then(|name| {
            let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
            last.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        });
        let peer = || extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        forwarded.or_else(peer).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

pub async fn login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddress>,
    jar: CookieJar,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let address = client.of(&headers, &extensions);
    let now = Utc::now();
    // Reserved before the password check: parallel guesses cannot overtake it.
    let reservation = match login_limits::reserve(&state.db, &form.email, &address, now).await {
        Ok(Ok(reservation)) => reservation,
        Ok(Err(limited)) => {
            tracing::warn!(?limited, "login refused by the rate limit");
            metrics::counter!("tokenboard_login_failures_total", "reason" => "rate_limited").increment(1);
            return Redirect::to(&login_url(&next, Some("locked"))).into_response();
        }
        Err(e) => return server_error(e),
    };
    let admin = match accounts::verify_login(&state.db, &form.email, &form.password).await {
        Ok(admin) => admin,
        Err(e) => return server_error(e),
    };
    let Some(admin) = admin else {
        tracing::info!("failed login");
        metrics::counter!("tokenboard_login_failures_total", "reason" => "credentials").increment(1);
        let failed = async {
            // The reservation stays counted: that is the failure.
            login_limits::forget_old(&state.db, now).await?;
            let admin_id = accounts::admin_id_by_email(&state.db, &form.email).await?;
            let actor = Actor::LoginAttempt { admin_id, email: accounts::normalise_email(&form.email) };
            audit::record(&state.db, None, &actor, AuditAction::LoginFailed, &format!("from {address}")).await
        };
        if let Err(e) = failed.await {
            return server_error(e);
        }
        return Redirect::to(&login_url(&next, Some("credentials"))).into_response();
    };
    if let Err(e) = login_limits::succeeded(&state.db, reservation).await {
        return server_error(e);
    }
    let started = async {
        let jar = start_session(&state, jar, admin.id).await?;
        let actor = Actor::Admin { id: admin.id, email: admin.email.clone() };
        audit::record(&state.db, None, &actor, AuditAction::Login, &format!("from {address}")).await?;
        Ok::<_, tokenboard::Error>(jar)
    };
    match started.await {
        Ok(jar) => {
            tracing::info!(admin_id = admin.id, "login");
            (jar, Redirect::to(&next)).into_response()
        }
        Err(e) => server_error(e),
    }
}

/// Ends the browser's old session, if any, and starts a new one for
/// `admin_id`: a token planted before a login is worthless. Answers the jar
/// carrying the new cookie.
pub(super) async fn start_session(
    state: &AppState,
    jar: CookieJar,
    admin_id: i64,
) -> Result<CookieJar, tokenboard::Error> {
    if let Some(old) = jar.get(SESSION_COOKIE) {
        sessions::end_session(&state.db, old.value()).await?;
    }
    let token = sessions::create_session(&state.db, admin_id, &state.sessions).await?;
    Ok(jar.add(session_cookie(token, state)))
}

fn server_error(e: tokenboard::Error) -> Response {
    tracing::error!(error = %e, "login failed on the server");
    Redirect::to("/login?error=server").into_response()
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Err(e) = sessions::end_session(&state.db, cookie.value()).await
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
            if let Some(admin) = sessions::session_admin(&state.db, cookie.value(), &state.sessions, Utc::now()).await?
            {
                sessions::end_all_sessions(&state.db, admin.id).await?;
            }
            Ok::<_, tokenboard::Error>(())
        };
        if let Err(e) = ended.await {
            tracing::error!(error = %e, "could not end the sessions");
        }
    }
    signed_out(jar)
}
