//! One place that turns an [`AppError`] into a page: log in, 404, or a message.
//! During server rendering it also sets the HTTP status.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::error::AppError;
use crate::pages::login::login_url;
use crate::pages::not_found::NotFound;

/// Sets the HTTP status of the page being rendered on the server.
#[cfg(feature = "ssr")]
pub fn set_status(status: u16) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
    }
}

#[cfg(not(feature = "ssr"))]
pub fn set_status(_status: u16) {}

#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    match error {
        AppError::Unauthenticated => {
            let location = use_location();
            // `search` comes without its leading '?'.
            let search = location.search.get_untracked();
            let path = location.pathname.get_untracked();
            let next = if search.is_empty() { path } else { format!("{path}?{}", search.trim_start_matches('?')) };
            view! { <Redirect path=login_url(&next, None)/> }.into_any()
        }
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        other => {
            let status = other.status();
            set_status(status);
            view! {
                <main class="page">
                    <div class="error-box" data-error-status=status>
                        <h1>{if status == 400 { "That did not work" } else if status == 403 { "Not allowed" } else { "Something went wrong" }}</h1>
                        <p>{other.to_string()}</p>
                    </div>
                </main>
            }
            .into_any()
        }
    }
}
