//! What every team page shares: URL state hooks, the header, the tabs, and
//! the loading/error frame around a server resource.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokenboard::domain::imports::Freshness;
use tokenboard::domain::range::RangeQuery;

use crate::api::{TeamScreen, Viewer};
use crate::components::error_view::ErrorView;
use crate::components::header::Header;
use crate::error::AppError;
use tokenboard::domain::model::{Role, TeamRef};

/// A path parameter of the current route ("" when absent).
pub fn use_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get(name).unwrap_or_default()
}

/// A query parameter of the current URL.
pub fn use_query_param(name: &'static str) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name)
}

/// The range part of the URL: `range`, `from`, `to`, `granularity`.
pub fn use_range_query() -> impl Fn() -> RangeQuery + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || tokenboard::report::params::range_from_query(|key| query.read().get(key))
}

/// `?a=1&b=2` from pairs, values percent-encoded; empty values are left out.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Summary,
    Products,
    Users,
    Forecast,
    Exports,
    Imports,
    Packs,
    Schedules,
    Settings,
    Audit,
}

/// Header, tabs and the page body of a team screen. `range_query` ("?range=3m")
/// is carried over by the tabs and the team picker.
#[component]
pub fn TeamLayout(
    viewer: Viewer,
    team: TeamRef,
    freshness: Freshness,
    tab: Tab,
    range_query: String,
    children: Children,
) -> impl IntoView {
    let slug = team.slug.clone();
    let tabs = [(Tab::Summary, "summary", "Summary"), (Tab::Products, "products", "By product"), (Tab::Users, "users", "By user"), (Tab::Forecast, "forecast", "Forecast"), (Tab::Exports, "exports", "Exports"), (Tab::Imports, "imports", "Imports"), (Tab::Packs, "packs", "Packs"), (Tab::Schedules, "schedules", "Schedules"), (Tab::Settings, "settings", "Settings"), (Tab::Audit, "audit", "Audit log")]
        .into_iter()
        // Schedules, settings and the audit log are for primary admins only.
        .filter(|(t, ..)| team.role == Role::Primary || !matches!(t, Tab::Schedules | Tab::Settings | Tab::Audit))
        .map(|(t, path, title)| {
            view! {
                <a class="tab" class:active=t == tab href=format!("/teams/{slug}/{path}{range_query}") data-tab=path>{title}</a>
            }
        })
        .collect_view();
    view! {
        <Header email=viewer.email teams=viewer.teams current=Some(team) query=range_query.clone()/>
        <main class="page">
            <nav class="tabs">{tabs}</nav>
            <FreshnessLine freshness/>
            {children()}
        </main>
    }
}

/// Waits for a team screen's data and renders it, or the error page.
#[component]
pub fn LoadScreen<T, F, V>(resource: Resource<Result<TeamScreen<T>, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(TeamScreen<T>) -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match resource.await {
                    Ok(screen) => render(screen).into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "Data through Nov 27, 2026 · last import Nov 28, 09:14 UTC by ann@… (upload)",
/// a warning when the newest usage day is older than the team's setting.
#[component]
pub fn FreshnessLine(freshness: Freshness) -> impl IntoView {
    let through = match freshness.data_through {
        Some(day) => format!("Data through {}", tokenboard::domain::range::short_date(day, true)),
        None => "No usage imported yet".to_owned(),
    };
    let import = freshness.last_import.as_ref().map(|last| {
        format!(" · last import {} by {} ({})", last.at.format("%b %-d, %Y %H:%M UTC"), last.actor, last.source.title())
    });
    let warning = freshness
        .stale
        .then(|| format!(" · older than {} days: import the latest usage file", freshness.stale_after_days));
    view! {
        <p class="freshness" class:stale=freshness.stale data-stale=freshness.stale.to_string()
            data-through=freshness.data_through.map(|d| d.to_string()).unwrap_or_default()>
            {through}{import}{warning}
        </p>
    }
}
