//! The axum application: Leptos pages and server functions, login/logout,
//! the usage API and static files.

mod login;
mod usage_api;

use app::session::AppState;
use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokenboard::Db;

use crate::config::Config;

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tokenboard"))
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build()
}

pub fn router(db: Db, config: &Config) -> Router {
    let state = AppState { db, leptos_options: leptos_options(config), secure_cookies: config.secure_cookies };
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route(
            "/api/v1/teams/{team}/usage",
            post(usage_api::import_usage).layer(DefaultBodyLimit::max(config.max_upload_bytes)),
        )
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests;
