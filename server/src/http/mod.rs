//! The axum application: Leptos pages and server functions, login/logout,
//! the usage API and static files, behind the layers every request passes
//! (request id, log span, security headers, timeout, cross-origin check).

mod account;
mod assets;
mod charts;
pub mod connections;
mod cross_origin;
mod error;
pub mod exports;
mod headers;
mod login;
pub mod ops;
mod spool;
mod uploads;
mod usage_api;

use std::sync::OnceLock;

use app::session::AppState;
use app::{App, shell};
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use leptos::prelude::LeptosOptions;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tokenboard::Db;
use tokenboard::export::job::{ExportContext, ExportFiles};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tokenboard"))
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        // Set by `cargo leptos build` (hash-files): the names of /pkg's files carry their hash.
        .hash_files(option_env!("LEPTOS_HASH_FILES") == Some("true"))
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
        public_url: config.public_url.clone(),
        sessions: config.sessions,
        webhooks: config.webhook_policy.clone(),
        max_upload_bytes: config.max_upload_bytes,
    })
}

/// The routes outside Leptos. The authorisation matrix test walks this list,
/// the Leptos route list and the server-function registry, so a route added
/// here or there cannot escape it.
pub(crate) fn plain_routes(config: &Config) -> Vec<(&'static str, MethodRouter<AppState>)> {
    // Both routes that check a password count their attempts by client address.
    let client = Extension(login::ClientAddress { trusted_header: config.trusted_proxy_header.clone() });
    vec![
        ("/login", post(login::login).layer(client.clone())),
        ("/logout", post(login::logout)),
        ("/logout/everywhere", post(login::logout_everywhere)),
        ("/set-password", post(account::set_password)),
        ("/account/password", post(account::change_password).layer(client)),
        (
            "/api/v1/teams/{team}/usage",
            post(usage_api::import_usage).layer(Extension(usage_api::UploadLimit(config.max_upload_bytes))),
        ),
        (
            "/teams/{team}/imports/upload",
            // The file is counted while it is spooled; the form's other fields are small.
            post(uploads::upload).layer(DefaultBodyLimit::max(config.max_upload_bytes.saturating_add(64 * 1024))),
        ),
        // A drawing's inputs are small: the largest page sends some tens of KB.
        ("/charts/svg", post(charts::svg).layer(DefaultBodyLimit::max(256 * 1024))),
        ("/teams/{team}/export/{file}", get(exports::one_click)),
        ("/teams/{team}/exports/{id}/download", get(exports::download)),
        ("/healthz", get(ops::healthz)),
        ("/readyz", get(ops::readyz)),
        (
            "/metrics",
            get(ops::metrics).layer(Extension(ops::MetricsAccess {
                token: config.metrics_token.clone(),
                trusted_proxy_header: config.trusted_proxy_header.clone(),
            })),
        ),
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

/// The router of a process whose usage indexes are warm (tests).
#[cfg(test)]
pub fn router(state: AppState, config: &Config) -> Router {
    router_with(state, config, ops::Warmth::warm())
}

/// The router; `/readyz` says ready once `warmth` is set.
pub fn router_with(state: AppState, config: &Config, warmth: ops::Warmth) -> Router {
    ops::prometheus();
    let routes = page_routes();
    let options = state.leptos_options.clone();
    let security_headers = headers::SecurityHeaders { https: config.secure_cookies };
    let router =
        plain_routes(config).into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route));
    // Layers run outside in: the last added sees the request first.
    let pkg = assets::pkg_service(&config.site_root, state.leptos_options.hash_files);
    router
        .nest_service("/pkg", pkg)
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
        .layer(axum::middleware::from_fn(ops::record_request))
        .layer(Extension(warmth))
        .layer(axum::middleware::from_fn_with_state(
            cross_origin::CrossOriginProtection::new(config),
            cross_origin::protect,
        ))
        // Until the answer's head: a long download's body is not cut. 503, not
        // 408, because a slow answer is more often ours than the client's.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout))
        .layer(axum::middleware::from_fn_with_state(security_headers, headers::add))
        .layer(axum::middleware::from_fn(error::with_request_id))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The log span of a request: its id (also in the answer's `x-request-id`
/// and in the message a server fault shows), method and path. Not the query:
/// it may hold a search for a person's name.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id, method = %request.method(), path = request.uri().path())
}

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod authz_matrix;
#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod charts_tests;
#[cfg(test)]
mod edge_tests;
#[cfg(test)]
mod erase_tests;
#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod escaping_tests;
#[cfg(test)]
mod login_limit_tests;
#[cfg(test)]
mod ops_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod upload_tests;
