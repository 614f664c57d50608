//! The Tokenboard web UI: Leptos pages (one route per file under `pages/`),
//! components, and server functions that authorise and then call the
//! `tokenboard` core. Built twice: `ssr` for the server, `hydrate` for wasm.

// The hydrate build's async view types nest deeper than the default allows.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "hydrate")]
pub mod behaviours;
pub mod components;
pub mod error;
pub mod html;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::pages::{
    account::AccountPage, audit::AuditPage, balances::BalancesPage, exports::ExportsPage, forecast::ForecastPage,
    home::HomePage, imports::ImportsPage, login::LoginPage, not_found::NotFound, outbox::OutboxPage, packs::PacksPage,
    product_detail::ProductDetailPage, products::ProductsPage, schedules::SchedulesPage, set_password::SetPasswordPage,
    settings::SettingsPage, user_detail::UserDetailPage, users::UsersPage,
};

// Rendered by the server only (a `#[server_rendered]` page of `lazy_page!`).
#[cfg(feature = "ssr")]
use crate::pages::summary::SummaryPage;

/// The HTML document around the app (server-side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // The build's names carry a content hash (hash-files): cached for a year.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                // Drag-and-drop and progress for the Imports page's upload form (delegated: any page).
                <script src="/upload.js" defer="" nonce=leptos::nonce::use_nonce()></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy (DESIGN §8): scripts only from our
/// origin or carrying this response's nonce (the hydration script and the
/// serialised resources), wasm may compile, nothing may frame the page.
/// Inline style attributes stay allowed: bars and progress widths use them.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    leptos::nonce::provide_nonce();
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// A route whose page the browser loads the first time it is shown: its code
/// is a wasm chunk of its own (wasm-split at the `#[lazy]` point this makes),
/// so a first visit downloads the shared runtime and one page, not all of them.
/// `#[server_rendered]` marks a page the server renders whole (`components::server_page`):
/// the browser's chunk holds none of its views.
macro_rules! lazy_page {
    ($($route:ident => $(#[$server_rendered:ident])? $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                lazy_page!(@view $($server_rendered)? $page)
            }
        }
    )*};
    (@view $page:ident) => { view! { <$page/> }.into_any() };
    (@view server_rendered $page:ident) => {{
        use crate::components::server_page::ServerPage;
        #[cfg(feature = "ssr")]
        let page = view! { <ServerPage><$page/></ServerPage> }.into_any();
        #[cfg(not(feature = "ssr"))]
        let page = view! { <ServerPage/> }.into_any();
        page
    }};
}

lazy_page! {
    HomeRoute => HomePage,
    LoginRoute => LoginPage,
    SetPasswordRoute => SetPasswordPage,
    AccountRoute => AccountPage,
    BalancesRoute => BalancesPage,
    OutboxRoute => OutboxPage,
    ExportsRoute => ExportsPage,
    ImportsRoute => ImportsPage,
    PacksRoute => PacksPage,
    SchedulesRoute => SchedulesPage,
    SettingsRoute => SettingsPage,
    AuditRoute => AuditPage,
    ForecastRoute => ForecastPage,
    SummaryRoute => #[server_rendered] SummaryPage,
    ProductsRoute => ProductsPage,
    ProductDetailRoute => ProductDetailPage,
    UsersRoute => UsersPage,
    UserDetailRoute => UserDetailPage,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" href="/favicon.ico"/>
        // Every page's title passes through this formatter: escaped on the server.
        <Title text="Tokenboard" formatter=html::title_text/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                <Route path=path!("/set-password") view={Lazy::<SetPasswordRoute>::new()}/>
                <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/balances") view={Lazy::<BalancesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/exports") view={Lazy::<ExportsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/imports") view={Lazy::<ImportsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/packs") view={Lazy::<PacksRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/schedules") view={Lazy::<SchedulesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/forecast") view={Lazy::<ForecastRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/summary") view={Lazy::<SummaryRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/products") view={Lazy::<ProductsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/products/:product") view={Lazy::<ProductDetailRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/users/:user") view={Lazy::<UserDetailRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        reload_when_a_chunk_is_gone(message.unwrap_or_default());
    }));
    remember_links_followed();
    behaviours::install();
    // The app's own <title> replaces the page's as it hydrates; a page the
    // server rendered whole puts it back (components::server_page).
    FIRST_TITLE.with(|title| *title.borrow_mut() = Some(document().title()));
    // As leptos::mount::hydrate_lazy, which lazy routes need: the page's
    // route hydrates once its chunks have arrived. Then the marker for
    // end-to-end tests and scripts, `<body data-hydrated>`: the page is
    // interactive now.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// A tab opened before a deploy asks for the old build's chunks when it
/// first shows another page; once they are gone (or the network dropped the
/// request), leptos's lazy route panics with "load callback should succeed"
/// and the app stops. The page the admin was going to is then loaded anew
/// from the server, with the new build. At most once in 30 s per tab, so a
/// chunk that cannot load at all does not reload the page for ever.
#[cfg(feature = "hydrate")]
fn reload_when_a_chunk_is_gone(panic: &str) {
    if panic.contains("load callback should succeed") {
        reload_into_new_build();
    }
}

/// Loads the page the admin was going to (or this one) anew from the
/// server, with its build: after a deploy, when this tab's build can no
/// longer go on (a chunk gone, an answer of another build: `api::wire`).
#[cfg(feature = "hydrate")]
pub(crate) fn reload_into_new_build() {
    const LAST_RELOAD: &str = "tokenboard-chunk-reload";
    let window = leptos::prelude::window();
    // Whole milliseconds: parsing and printing floats would add their code to the first load.
    let now = window.performance().map_or(0, |p| (p.time_origin() + p.now()) as i64);
    let storage = window.session_storage().ok().flatten();
    let last =
        storage.as_ref().and_then(|s| s.get_item(LAST_RELOAD).ok().flatten()).and_then(|t| t.parse::<i64>().ok());
    if last.is_some_and(|last| now - last < 30_000) {
        return;
    }
    if let Some(storage) = storage {
        let _ = storage.set_item(LAST_RELOAD, &now.to_string());
    }
    // The router changes the address only once the page is in place: a
    // followed link's target is where the admin was going.
    match LINK_FOLLOWED.with(|link| link.borrow_mut().take()) {
        Some(href) => _ = window.location().assign(&href),
        None => _ = window.location().reload(),
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static LINK_FOLLOWED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    static FIRST_TITLE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The title of the page the server sent, once: a later page has its own.
#[cfg(feature = "hydrate")]
pub(crate) fn first_title() -> Option<String> {
    FIRST_TITLE.with(|title| title.borrow_mut().take())
}

/// Notes the target of every link clicked, for [`reload_into_new_build`]
/// (a plain DOM listener, for the page's lifetime).
#[cfg(feature = "hydrate")]
fn remember_links_followed() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let listener = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
        let link = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("a[href]").ok().flatten())
            .and_then(|link| link.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        if let Some(link) = link {
            LINK_FOLLOWED.with(|followed| *followed.borrow_mut() = Some(link.href()));
        }
    });
    let _ = document().add_event_listener_with_callback_and_bool("click", listener.as_ref().unchecked_ref(), true);
    listener.forget();
}
