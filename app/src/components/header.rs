//! The page header: a skip link, product name, team picker, your account,
//! logout and logout everywhere.

use leptos::prelude::*;
use tokenboard::domain::model::TeamRef;

use crate::components::confirm::Confirm;
use crate::components::layout::Tab;

/// Team picker as a disclosure of links: works without JavaScript (a
/// `<details>`); with it, Escape and a click outside close it and the arrow
/// keys move between teams (`crate::behaviours`). `query` (e.g.
/// "?range=3m") and the tab are kept when switching team, the tab where the
/// admin's role there may open it.
#[component]
pub fn Header(
    email: String,
    teams: Vec<TeamRef>,
    current: Option<TeamRef>,
    query: String,
    #[prop(optional)] tab: Option<Tab>,
) -> impl IntoView {
    let current_name = current.as_ref().map_or("Choose a team".to_string(), |t| t.name.clone());
    let current_slug = current.map(|t| t.slug).unwrap_or_default();
    view! {
        <a class="skip-link" href="#content">"Skip to content"</a>
        <header class="top">
            <a class="brand" href="/">"Tokenboard"</a>
            <details class="team-picker" data-testid="team-picker">
                <summary data-current-team=current_slug.clone() aria-label=format!("Team: {current_name}. Choose a team")>
                    {current_name.clone()}
                </summary>
                <ul aria-label="Teams">
                    {teams
                        .into_iter()
                        .map(|t| {
                            let tab = tab.filter(|tab| tab.shown_to(t.role)).unwrap_or(Tab::Summary);
                            let href = format!("/teams/{}/{}{query}", t.slug, tab.path());
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
            <nav class="top-nav" aria-label="Everywhere">
                <a class="nav" href="/balances">"Balances"</a>
                <a class="nav" href="/outbox">"Outbox"</a>
            </nav>
            <span class="spacer"></span>
            <a class="who" href="/account" title="Your account: change your password">{email}</a>
            <form method="post" action="/logout" class="logout">
                <button type="submit">"Log out"</button>
            </form>
            <Confirm label="Log out everywhere" class="logout-everywhere"
                question="End your sessions on every device, this one included?">
                <form method="post" action="/logout/everywhere">
                    <button type="submit" class="danger">"Log out everywhere"</button>
                </form>
            </Confirm>
        </header>
    }
}
