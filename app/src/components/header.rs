//! The page header: product name, team picker, your account, logout and
//! logout everywhere.

use leptos::prelude::*;
use tokenboard::domain::model::TeamRef;

/// Team picker as a disclosure of links: works with and without JavaScript.
/// `query` (e.g. "?range=3m") is kept when switching team.
#[component]
pub fn Header(email: String, teams: Vec<TeamRef>, current: Option<TeamRef>, query: String) -> impl IntoView {
    let current_name = current.as_ref().map_or("Choose a team".to_string(), |t| t.name.clone());
    let current_slug = current.map(|t| t.slug).unwrap_or_default();
    view! {
        <header class="top">
            <a class="brand" href="/">"Tokenboard"</a>
            <details class="team-picker" data-testid="team-picker">
                <summary data-current-team=current_slug.clone()>{current_name}</summary>
                <ul>
                    {teams
                        .into_iter()
                        .map(|t| {
                            let href = format!("/teams/{}/summary{}", t.slug, query);
                            let selected = t.slug == current_slug;
                            view! {
                                <li>
                                    <a href=href data-team=t.slug.clone() aria-current=selected.then_some("page")>
                                        {t.name}
                                        <span class="role">{t.role.as_str()}</span>
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </details>
            <a class="nav" href="/balances">"Balances"</a>
            <a class="nav" href="/outbox">"Outbox"</a>
            <span class="spacer"></span>
            <a class="who" href="/account" title="Your account: change your password">{email}</a>
            <form method="post" action="/logout" class="logout">
                <button type="submit">"Log out"</button>
            </form>
            <form method="post" action="/logout/everywhere" class="logout logout-everywhere">
                <button type="submit" title="End your sessions on every device">"Log out everywhere"</button>
            </form>
        </header>
    }
}
