//! `/set-password?token=…`: an invited admin chooses their first password
//! through the link mailed to them. A plain form posted to the server's
//! `/set-password` route, so it works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use tokenboard::domain::model::MIN_PASSWORD_LEN;

/// Everything but URL-safe characters (a token is base64url) is escaped.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// The page for the link's `token`; `error` adds why the last try failed.
pub fn set_password_url(token: Option<&str>, error: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(error) = error {
        query.push(format!("error={}", utf8_percent_encode(error, ESCAPED)));
    }
    if let Some(token) = token {
        query.push(format!("token={}", utf8_percent_encode(token, ESCAPED)));
    }
    if query.is_empty() { "/set-password".to_owned() } else { format!("/set-password?{}", query.join("&")) }
}

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let failure = move || {
        query.read().get("error").map(|error| match error.as_str() {
            "short" => format!("A password needs at least {MIN_PASSWORD_LEN} characters."),
            "server" => "The server could not set your password. Try again.".to_owned(),
            _ => "This link does not work: it was used, it expired or a newer one replaced it. \
                  Ask a primary admin of your team to invite you again."
                .to_owned(),
        })
    };
    view! {
        <Title text="Set your password · Tokenboard"/>
        <main class="login">
            <form method="post" action="/set-password" class="login-box">
                <h1>"Tokenboard"</h1>
                <p class="muted">"Choose the password you will log in with."</p>
                {move || failure().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                <input type="hidden" name="token" value=token/>
                <label>
                    "New password"
                    <input type="password" name="password" autocomplete="new-password"
                        minlength=MIN_PASSWORD_LEN.to_string() required autofocus/>
                </label>
                <button type="submit">"Set password"</button>
            </form>
        </main>
    }
}
