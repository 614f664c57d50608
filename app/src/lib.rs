//! The Tokenboard web UI: Leptos pages (one route per file under `pages/`),
//! components, and server functions that authorise and then call the
//! `tokenboard` core. Built twice: `ssr` for the server, `hydrate` for wasm.

// The hydrate build's async view types nest deeper than the default allows.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod html;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::{
    account::AccountPage, audit::AuditPage, balances::BalancesPage, exports::ExportsPage, forecast::ForecastPage,
    home::HomePage, imports::ImportsPage, login::LoginPage, not_found::NotFound, outbox::OutboxPage, packs::PacksPage,
    product_detail::ProductDetailPage, products::ProductsPage, schedules::SchedulesPage, set_password::SetPasswordPage,
    settings::SettingsPage, summary::SummaryPage, user_detail::UserDetailPage, users::UsersPage,
};

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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" href="/favicon.ico"/>
        // Every page's title passes through this formatter: escaped on the server.
        <Title text="Tokenboard" formatter=html::title_text/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/set-password") view=SetPasswordPage/>
                <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/balances") view=BalancesPage ssr=SsrMode::Async/>
                <Route path=path!("/outbox") view=OutboxPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/exports") view=ExportsPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/imports") view=ImportsPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/packs") view=PacksPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/schedules") view=SchedulesPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/settings") view=SettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/audit") view=AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/forecast") view=ForecastPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/summary") view=SummaryPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/products") view=ProductsPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/products/:product") view=ProductDetailPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/users") view=UsersPage ssr=SsrMode::Async/>
                <Route path=path!("/teams/:team/users/:user") view=UserDetailPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // A marker for end-to-end tests and scripts: the page is now interactive.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
