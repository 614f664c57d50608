//! `/account`: the logged-in admin changes their own password (the current
//! one required). A plain form posted to the server's `/account/password`
//! route, so it works without JavaScript; a change ends the admin's other
//! sessions.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use tokenboard::domain::model::MIN_PASSWORD_LEN;

use crate::api::reports::load_viewer;
use crate::components::error_view::ErrorView;
use crate::components::header::Header;

#[component]
pub fn AccountPage() -> impl IntoView {
    let viewer = screen_resource(|| (), |_| load_viewer());
    let query = use_query_map();
    let message = move || {
        let query = query.read();
        if let Some(error) = query.get("error") {
            let text = match error.as_str() {
                "current" => "The current password is wrong; nothing changed.".to_owned(),
                "locked" => "Too many wrong passwords; wait a quarter of an hour and try again.".to_owned(),
                "short" => format!("A password needs at least {MIN_PASSWORD_LEN} characters; nothing changed."),
                _ => "The server could not change your password. Try again.".to_owned(),
            };
            Some(view! { <p class="error" role="alert">{text}</p> }.into_any())
        } else {
            query.get("done").map(|_| {
                view! {
                    <p class="notice" role="status" data-testid="password-changed">
                        "Password changed. Your other sessions have ended."
                    </p>
                }
                .into_any()
            })
        }
    };
    view! {
        <Title text="Your account · Tokenboard"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(me) => view! {
                        <Header email=me.email.clone() teams=me.teams current=None query=String::new()/>
                        <main class="page" id="content">
                            <h1 class="page-title">"Your account"</h1>
                            <p class="muted">{me.email}</p>
                            {message}
                            <form method="post" action="/account/password" class="settings-form password-form">
                                <label for="current-password">"Current password"</label>
                                <input type="password" id="current-password" name="current_password"
                                    autocomplete="current-password" required/>
                                <label for="new-password">"New password"</label>
                                <input type="password" id="new-password" name="new_password" autocomplete="new-password"
                                    minlength=MIN_PASSWORD_LEN.to_string() required/>
                                <button type="submit">"Change password"</button>
                            </form>
                        </main>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
