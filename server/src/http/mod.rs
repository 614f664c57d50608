//! The axum application: Leptos pages and server functions, login/logout,
//! the usage API and static files.

pub mod exports;
mod login;
mod usage_api;

use std::sync::OnceLock;

use app::session::AppState;
use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{MethodRouter, get, post};
use leptos::prelude::LeptosOptions;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tokenboard::Db;
use tokenboard::export::job::{ExportContext, ExportFiles};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tokenboard"))
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build()
}

/// The shared state of every request: database, Leptos options, exports.
pub fn app_state(db: Db, config: &Config) -> anyhow::Result<AppState> {
    use anyhow::Context;
    let files = ExportFiles::new(config.exports_dir())
        .with_context(|| format!("cannot create the export directory {}", config.exports_dir().display()))?;
    let key = config.pseudonym_key().context("cannot read or create the secret in the data directory")?;
    Ok(AppState {
        exports: ExportContext { db: db.clone(), files, key },
        db,
        leptos_options: leptos_options(config),
        secure_cookies: config.secure_cookies,
        smtp_configured: config.smtp_url.is_some(),
    })
}

/// The routes outside Leptos. The authorisation matrix test walks this list,
/// the Leptos route list and the server-function registry, so a route added
/// here or there cannot escape it.
pub(crate) fn plain_routes(config: &Config) -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/login", post(login::login)),
        ("/logout", post(login::logout)),
        ("/logout/everywhere", post(login::logout_everywhere)),
        (
            "/api/v1/teams/{team}/usage",
            post(usage_api::import_usage).layer(DefaultBodyLimit::max(config.max_upload_bytes)),
        ),
        ("/teams/{team}/export/{file}", get(exports::one_click)),
        ("/teams/{team}/exports/{id}/download", get(exports::download)),
    ]
}

/// The Leptos pages, listed once per process. Listing them renders the app
/// with resource loading switched off process-wide (leptos #4773): a page
/// rendered at that moment, say by a second router in the same process,
/// would wait forever on its data.
pub(crate) fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState, config: &Config) -> Router {
    let routes = page_routes();
    let options = state.leptos_options.clone();
    let router =
        plain_routes(config).into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route));
    let router = router
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    with_security_headers(router)
}

/// Headers on every response (DESIGN §8): no framing, no MIME sniffing, no
/// referrer leaving the site, no plugins, forms only to us. Pages replace the
/// CSP with their own, which adds the scripts of that response (`app::shell`).
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

fn with_security_headers(mut router: Router) -> Router {
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    router
}

#[cfg(test)]
mod authz_matrix;
#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
pub(crate) mod tests;
