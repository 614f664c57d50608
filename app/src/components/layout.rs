//! What every team page shares: URL state hooks, the header, the tabs, and
//! the loading/error frame around a server resource.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokenboard::domain::imports::Freshness;
use tokenboard::domain::range::RangeQuery;

use crate::api::wire::PageData;
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

/// The whole query of the current URL. A screen whose links or options
/// read a parameter its server function does not take (a chart option,
/// `?edit=`) adds this to its resource's source, so it renders again.
pub fn use_search() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let location = leptos_router::hooks::use_location();
    move || location.search.get()
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

/// What a query value keeps as it is: letters, digits and RFC 3986's
/// unreserved marks, so dates and sorts read plainly (`2026-06-14`, `user_days`).
pub const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `?a=1&b=2` from pairs, values percent-encoded; empty values are left out.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    use percent_encoding::utf8_percent_encode;
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// URL keys of the range a view shows.
pub const RANGE_KEYS: &[&str] = &["range", "from", "to", "granularity"];
/// URL keys of a table's order and search (By product, By user).
pub const TABLE_KEYS: &[&str] = &["q", "sort", "dir"];
/// URL keys of Summary's chart options.
pub const CHART_KEYS: &[&str] = &["stack", "compare"];

/// The current URL's values of `keys` (in that order): what a link keeps
/// when it changes something else. Read once, as the screen renders.
pub fn kept_query(keys: &[&[&'static str]]) -> Vec<(&'static str, String)> {
    let query = use_query_map();
    let query = query.read_untracked();
    keys.iter().flat_map(|group| group.iter()).filter_map(|&key| query.get(key).map(|value| (key, value))).collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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

impl Tab {
    pub const ALL: [Tab; 10] = [
        Tab::Summary,
        Tab::Products,
        Tab::Users,
        Tab::Forecast,
        Tab::Exports,
        Tab::Imports,
        Tab::Packs,
        Tab::Schedules,
        Tab::Settings,
        Tab::Audit,
    ];

    /// The tab's path segment under `/teams/{team}/`.
    pub fn path(self) -> &'static str {
        match self {
            Tab::Summary => "summary",
            Tab::Products => "products",
            Tab::Users => "users",
            Tab::Forecast => "forecast",
            Tab::Exports => "exports",
            Tab::Imports => "imports",
            Tab::Packs => "packs",
            Tab::Schedules => "schedules",
            Tab::Settings => "settings",
            Tab::Audit => "audit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Summary => "Summary",
            Tab::Products => "By product",
            Tab::Users => "By user",
            Tab::Forecast => "Forecast",
            Tab::Exports => "Exports",
            Tab::Imports => "Imports",
            Tab::Packs => "Packs",
            Tab::Schedules => "Schedules",
            Tab::Settings => "Settings",
            Tab::Audit => "Audit log",
        }
    }

    /// The tab of a path segment ("users" of `/teams/x/users/7`).
    pub fn from_path(segment: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.path() == segment)
    }

    /// Schedules, settings and the audit log are for primary admins only.
    pub fn shown_to(self, role: Role) -> bool {
        role == Role::Primary || !matches!(self, Tab::Schedules | Tab::Settings | Tab::Audit)
    }
}

/// Header, the page's heading, tabs and body of a team screen. The tabs and
/// the team picker keep the range of the current URL (with granularity).
#[component]
pub fn TeamLayout(
    viewer: Viewer,
    team: TeamRef,
    /// "Data through …"; `None` where it could not be read (a bad range).
    #[prop(into)]
    freshness: Option<Freshness>,
    tab: Tab,
    /// The URL's range is wrong: links do not carry it on.
    #[prop(optional)]
    drop_range: bool,
    children: Children,
) -> impl IntoView {
    let range_query = if drop_range { String::new() } else { query_string(&kept_query(&[RANGE_KEYS])) };
    let slug = team.slug.clone();
    let tabs = Tab::ALL
        .into_iter()
        .filter(|t| t.shown_to(team.role))
        .map(|t| {
            let current = (t == tab).then_some("page");
            view! {
                <a class="tab" class:active=t == tab aria-current=current href=format!("/teams/{slug}/{}{range_query}", t.path())
                    data-tab=t.path()>{t.title()}</a>
            }
        })
        .collect_view();
    let heading = format!("{} · {}", team.name, tab.title());
    view! {
        <Header email=viewer.email teams=viewer.teams current=Some(team) query=range_query.clone() tab/>
        <main class="page" id="content" tabindex="-1">
            <h1 class="team-heading">{heading}</h1>
            <nav class="tabs" aria-label="Team pages">{tabs}</nav>
            {freshness.map(|freshness| view! { <FreshnessLine freshness/> })}
            {children()}
        </main>
    }
}

/// Waits for a team screen's data and renders it, or the error page.
#[component]
pub fn LoadScreen<T, F, V>(resource: Resource<Result<TeamScreen<T>, AppError>, PageData>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(TeamScreen<T>) -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    // The last screen shown: a failed reload keeps it, under a message.
    let shown = StoredValue::new(None::<TeamScreen<T>>);
    let retry = Callback::new(move |()| resource.refetch());
    let pending = RwSignal::new(false);
    let team = use_param("team");
    view! {
        <Reloading pending=pending.into()/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> } set_pending=pending.write_only()>
            {move || Suspend::new(async move {
                match resource.await {
                    Ok(screen) => {
                        shown.set_value(Some(screen.clone()));
                        render(screen).into_any()
                    }
                    Err(error @ (AppError::Transport(_) | AppError::Internal(_))) => {
                        // Only this team's last screen: after a team switch it would mislead.
                        match shown.get_value().filter(|last| last.team.slug == team()) {
                            Some(last) => view! { <ReloadFailed error retry/>{render(last)} }.into_any(),
                            None => screen_error(error, Some(retry)),
                        }
                    }
                    Err(error) => screen_error(error, Some(retry)),
                }
            })}
        </Transition>
    }
}

/// The page of a screen that could not be loaded: a wrong custom range
/// keeps the team's layout and shows the form with what is wrong; anything
/// else is the error page (log in, 404, a message with Retry).
pub fn screen_error(error: AppError, retry: Option<Callback<()>>) -> AnyView {
    let custom_range = use_query_map().read_untracked().get("range").as_deref() == Some("custom");
    match error {
        AppError::BadRequest(message) if custom_range => {
            view! { <crate::components::range_picker::RangeErrorScreen message/> }.into_any()
        }
        error => match retry {
            Some(retry) => view! { <ErrorView error retry/> }.into_any(),
            None => view! { <ErrorView error/> }.into_any(),
        },
    }
}

/// A reload that failed over a screen still shown: what happened and Retry.
#[component]
pub fn ReloadFailed(error: AppError, retry: Callback<()>) -> impl IntoView {
    let message = match error {
        AppError::Transport(_) => "Tokenboard could not be reached; this page shows what was loaded before.".to_owned(),
        other => format!("{other}; this page shows what was loaded before."),
    };
    view! {
        <div class="inline-error" role="alert" data-reload-failed="true">
            <span>{message}</span>
            <button type="button" class="retry" on:click=move |_| retry.run(())>"Retry"</button>
        </div>
    }
}

/// While a screen reloads (a new range, a sort), the previous content stays
/// and is dimmed (CSS `body:has(.reloading)`), with a progress bar on top.
#[component]
pub fn Reloading(pending: Signal<bool>) -> impl IntoView {
    view! {
        <Show when=move || pending.get()>
            <div class="reloading" role="progressbar" aria-label="Loading"><span></span></div>
        </Show>
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
        format!(
            " · last import {} by {} ({})",
            tokenboard::domain::range::short_time(last.at),
            last.actor,
            last.source.title()
        )
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
