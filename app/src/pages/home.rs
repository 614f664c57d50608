//! `/`: sends the admin to their first team's Summary.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::reports::load_viewer;
use crate::components::error_view::ErrorView;

#[component]
pub fn HomePage() -> impl IntoView {
    let viewer = screen_resource(|| (), |_| load_viewer());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(me) => match me.teams.first() {
                        Some(team) => view! { <Redirect path=format!("/teams/{}/summary", team.slug)/> }.into_any(),
                        None => view! {
                            <main class="page" id="content">
                                <div class="error-box">
                                    <h1>"No teams yet"</h1>
                                    <p>{format!("{} is not an admin of any team. A primary admin can add you.", me.email)}</p>
                                </div>
                            </main>
                        }.into_any(),
                    },
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
