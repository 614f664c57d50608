//! `/login`: a plain form posted to the server's `/login` route, so logging
//! in works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// `next` when it is a same-site path, else "/": no open redirects after login.
/// A control character, as such or percent-encoded, is refused too: browsers
/// drop tabs and newlines from URLs, so `/\t/evil.example` becomes
/// `//evil.example`, another site (and a raw newline cannot be a header).
pub fn safe_next(next: &str) -> &str {
    let decoded = percent_decode_str(next).decode_utf8_lossy();
    let same_site = |path: &str| path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\");
    if same_site(next) && !decoded.chars().chain(next.chars()).any(char::is_control) { next } else { "/" }
}

/// The login page that returns to `next` (a same-site path) afterwards;
/// `error` adds the reason the last attempt failed.
pub fn login_url(next: &str, error: Option<&str>) -> String {
    let next = utf8_percent_encode(next, NON_ALPHANUMERIC);
    match error {
        Some(error) => format!("/login?error={}&next={next}", utf8_percent_encode(error, NON_ALPHANUMERIC)),
        None => format!("/login?next={next}"),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").map_or_else(|| "/".to_owned(), |n| safe_next(&n).to_owned());
    let failure = move || {
        query.read().get("error").map(|error| match error.as_str() {
            "locked" => "Too many failed attempts. Try again in 15 minutes.",
            "server" => "The server could not log you in. Try again.",
            _ => "Wrong e-mail or password.",
        })
    };
    view! {
        <main class="login">
            <form method="post" action="/login" class="login-box">
                <h1>"Tokenboard"</h1>
                <p class="muted">"Sign in to see your teams' token usage."</p>
                {move || failure().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                <input type="hidden" name="next" value=next/>
                <label>"E-mail" <input type="email" name="email" autocomplete="username" required autofocus/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit">"Log in"</button>
            </form>
        </main>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_same_site_only() {
        assert_eq!(super::safe_next("/teams/x/summary?range=3m"), "/teams/x/summary?range=3m");
        assert_eq!(super::safe_next("//evil.example"), "/");
        assert_eq!(super::safe_next("/\\evil.example"), "/");
        assert_eq!(super::safe_next("https://evil.example"), "/");
        for sneaky in ["/\t/evil.example", "/%09/evil.example", "/\n/evil", "/%0d%0aSet-Cookie:x=y", "/a%00b", "/%7f"] {
            assert_eq!(super::safe_next(sneaky), "/", "{sneaky:?}");
        }
        assert_eq!(super::safe_next("/teams/x/users?q=J%C3%BCrgen%20M"), "/teams/x/users?q=J%C3%BCrgen%20M");
    }
}
