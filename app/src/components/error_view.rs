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

/// What a failed load says: a caller's mistake in its own words; a network
/// failure or a server fault without the browser's raw message.
fn explain(error: &AppError) -> (&'static str, String) {
    match error {
        AppError::Transport(_) => (
            "Tokenboard could not be reached",
            "The request did not get through. Check your connection, then retry.".into(),
        ),
        AppError::Internal(_) => ("Something went wrong", error.to_string()),
        AppError::Forbidden(_) => ("Not allowed", error.to_string()),
        other => ("That did not work", other.to_string()),
    }
}

#[component]
pub fn ErrorView(
    error: AppError,
    /// Loads the screen again in place; without it, Retry reloads the page.
    #[prop(optional)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
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
            let (title, message) = explain(&other);
            let retryable = matches!(other, AppError::Transport(_) | AppError::Internal(_));
            let location = use_location();
            let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
            let retry_button = retryable.then(|| match retry {
                Some(retry) => {
                    view! { <button type="button" class="retry" on:click=move |_| retry.run(())>"Retry"</button> }
                        .into_any()
                }
                None => view! { <a class="chip retry" rel="external" href=here>"Retry"</a> }.into_any(),
            });
            view! {
                <main class="page" id="content">
                    <div class="error-box" role="alert" data-error-status=status>
                        <h1>{title}</h1>
                        <p>{message}</p>
                        {retry_button}
                    </div>
                </main>
            }
            .into_any()
        }
    }
}
