//! 404: unknown pages and teams the admin has no role on look the same.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    crate::components::error_view::set_status(404);
    view! {
        <main class="page" id="content">
            <div class="error-box" data-error-status="404">
                <h1>"Page not found"</h1>
                <p>"There is nothing here, or it is not yours to see."</p>
                <p><a href="/">"Back to your teams"</a></p>
            </div>
        </main>
    }
}
