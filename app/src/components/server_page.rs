//! A page the server renders whole, which has no views of its own in the
//! browser: Summary, the first page after logging in, whose wasm counts
//! against DESIGN §7's first-load budget (a page that renders itself in the
//! browser carries the build, hydrate and rebuild code of every view it has).
//!
//! On the server the route renders the page inside `<div class="server-page">`.
//! The browser keeps that HTML as it came (hydrating an element without
//! children leaves its content alone) and, when the URL changes (a link, a
//! range, a chart option), fetches the page anew from the server and puts
//! its `.server-page` in place, dimmed meanwhile as every reloading screen
//! is; a page built after a link is fetched at once. Its charts (drawn as
//! they arrive), team picker and confirmations work through
//! `crate::behaviours`, its links through the router. An answer without a
//! `.server-page` (the login page after a session ended) is loaded as a
//! whole page instead.

use leptos::prelude::*;

use crate::components::layout::{ReloadFailed, Reloading};
use crate::error::AppError;

#[component]
pub fn ServerPage(
    /// The page, rendered on the server only.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    // The last fetch could not reach the server.
    let failed = RwSignal::new(false);
    let page = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    let retry = client::follow_the_url(page, pending, failed);
    #[cfg(not(feature = "hydrate"))]
    let retry = move || ();
    let retry = Callback::new(move |()| retry());
    // In the browser the element has no children, so hydrating it keeps the server's.
    #[cfg(feature = "ssr")]
    let content = view! { <div class="server-page" node_ref=page>{children.map(|page| page())}</div> }.into_any();
    #[cfg(not(feature = "ssr"))]
    let content = {
        let _ = children;
        view! { <div class="server-page" node_ref=page></div> }.into_any()
    };
    view! {
        <Reloading pending=pending.into()/>
        {move || failed.get().then(|| view! { <ReloadFailed error=AppError::Transport(String::new()) retry/> })}
        {content}
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys;
    use wasm_bindgen_futures::JsFuture;

    /// What the server answered for a URL.
    enum Answer {
        /// The page's `.server-page` content and its title.
        Page { html: String, title: String },
        /// Something else (the login page): the browser loads this URL.
        Elsewhere(String),
    }

    /// Shows the server's page of every URL the router goes to while this
    /// page is mounted; returns the retry of the last one.
    pub fn follow_the_url(
        page: NodeRef<leptos::html::Div>,
        pending: RwSignal<bool>,
        failed: RwSignal<bool>,
    ) -> impl Fn() + Copy + 'static {
        // The route's own URL: it stops changing when the router leaves this
        // route (the router's location changes first, and this page must not
        // fetch the next one).
        let route_url = leptos_router::hooks::use_url();
        // The URL whose page is shown or on its way.
        let wanted = StoredValue::new(None::<String>);
        let load = move |url: String| {
            wanted.set_value(Some(url.clone()));
            pending.set(true);
            leptos::task::spawn_local(async move {
                let answer = fetch_page(&url).await;
                // Gone (another route) or overtaken by a later URL: nothing to show.
                if wanted.try_get_value().flatten().as_deref() != Some(url.as_str()) {
                    return;
                }
                pending.set(false);
                match answer {
                    Some(Answer::Page { html, title }) => {
                        failed.set(false);
                        if let Some(page) = page.get_untracked() {
                            let focused = focused_control(&page);
                            page.set_inner_html(&html);
                            refocus(&page, focused);
                        }
                        document().set_title(&title);
                    }
                    Some(Answer::Elsewhere(url)) => _ = window().location().assign(&url),
                    None => failed.set(true),
                }
            });
        };
        Effect::new(move |_| {
            let url = route_url.with(|url| match url.search() {
                "" => url.path().to_owned(),
                search => format!("{}?{search}", url.path()),
            });
            let Some(element) = page.get() else { return };
            if wanted.get_value().is_none() && element.child_element_count() > 0 {
                // Hydrated: the server's page of this very URL is here. The
                // app's own <title> replaced the page's as it hydrated.
                wanted.set_value(Some(url));
                if let Some(title) = crate::first_title() {
                    document().set_title(&title);
                }
            } else if wanted.get_value().as_deref() != Some(url.as_str()) {
                load(url);
            }
        });
        move || {
            if let Some(url) = wanted.get_value() {
                load(url);
            }
        }
    }

    /// What identifies the focused link of the page (a range, a chart
    /// option, a granularity), so the same one has the focus in the new page.
    fn focused_control(page: &web_sys::HtmlDivElement) -> Option<String> {
        let active = document().active_element().filter(|a| page.contains(Some(a)))?;
        ["data-range", "data-toggle", "data-granularity", "data-tab"].into_iter().find_map(|name| {
            active.get_attribute(name).map(|value| format!("[{name}=\"{}\"]", value.replace(['"', '\\'], "")))
        })
    }

    /// Gives the focus to the control `selector` names in the new page, or to
    /// the page's content, so it does not fall back to the document.
    fn refocus(page: &web_sys::HtmlDivElement, selector: Option<String>) {
        let Some(selector) = selector else { return };
        let target = page
            .query_selector(&selector)
            .ok()
            .flatten()
            .or_else(|| document().get_element_by_id("content"))
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(target) = target {
            let _ = target.focus();
        }
    }

    /// The server's page at `url`; `None` when it could not be reached.
    async fn fetch_page(url: &str) -> Option<Answer> {
        // As a browser loading the page asks: the server then redirects (to
        // the login page) with a real 302, which fetch follows and reports.
        let init = web_sys::RequestInit::new();
        let headers = web_sys::Headers::new().ok()?;
        headers.set("accept", "text/html").ok()?;
        init.set_headers(&headers);
        let response = JsFuture::from(window().fetch_with_str_and_init(url, &init)).await.ok()?;
        let response = response.dyn_into::<web_sys::Response>().ok()?;
        if response.redirected() {
            return Some(Answer::Elsewhere(response.url()));
        }
        let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
        let parsed = web_sys::DomParser::new().ok()?.parse_from_string(&text, web_sys::SupportedType::TextHtml).ok()?;
        Some(match parsed.query_selector(".server-page").ok().flatten() {
            Some(content) => Answer::Page { html: content.inner_html(), title: parsed.title() },
            None => Answer::Elsewhere(url.to_owned()),
        })
    }
}
