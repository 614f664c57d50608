//! The page header: a skip link, product name, team picker, your account,
//! logout and logout everywhere.

use leptos::prelude::*;
use tokenboard::domain::model::TeamRef;

use crate::components::confirm::{Confirm, close_details};
use crate::components::layout::Tab;

/// Team picker as a disclosure of links: works without JavaScript (a
/// `<details>`); with it, Escape and a click outside close it and the arrow
/// keys move between teams. `query` (e.g. "?range=3m") and the tab are kept
/// when switching team, the tab where the admin's role there may open it.
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
    let picker = NodeRef::<leptos::html::Details>::new();
    let close = move |focus_summary: bool| {
        if let Some(details) = picker.get_untracked()
            && details.open()
        {
            close_details(&details, focus_summary);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close(true);
        }
        key @ ("ArrowDown" | "ArrowUp") => {
            ev.prevent_default();
            move_focus(picker, key == "ArrowDown");
        }
        _ => {}
    };
    #[cfg(feature = "hydrate")]
    {
        // A click anywhere outside the open picker closes it.
        let listener = window_event_listener(leptos::ev::click, move |ev| {
            use leptos::wasm_bindgen::JsCast;
            let inside =
                picker.get_untracked().zip(ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Node>().ok()));
            if !inside.is_some_and(|(details, target)| details.contains(Some(&target))) {
                close(false);
            }
        });
        on_cleanup(move || listener.remove());
    }
    view! {
        <a class="skip-link" href="#content">"Skip to content"</a>
        <header class="top">
            <a class="brand" href="/">"Tokenboard"</a>
            <details class="team-picker" data-testid="team-picker" node_ref=picker on:keydown=on_key>
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
                                    <a href=href data-team=t.slug.clone() aria-current=selected.then_some("page")
                                        on:click=move |_| close(false)>
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

/// Moves the keyboard focus to the next (or previous) team of the open
/// picker, wrapping around at either end.
fn move_focus(picker: NodeRef<leptos::html::Details>, forward: bool) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::Element;
    let Some(details) = picker.get_untracked() else { return };
    details.set_open(true);
    let Ok(Some(list)) = details.query_selector("ul") else { return };
    let end = |list: &Element| if forward { list.first_element_child() } else { list.last_element_child() };
    let active = leptos::prelude::document().active_element();
    // The item of the focused team, if the focus is on one.
    let item = active.filter(|a| list.contains(Some(a))).and_then(|a| a.parent_element());
    let next = match item {
        Some(item) => {
            let sibling = if forward { item.next_element_sibling() } else { item.previous_element_sibling() };
            sibling.or_else(|| end(&list))
        }
        None => end(&list),
    };
    if let Some(link) =
        next.and_then(|li| li.first_element_child()).and_then(|a| a.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    {
        let _ = link.focus();
    }
}
