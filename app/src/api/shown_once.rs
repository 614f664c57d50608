//! Secrets shown once — a new API key, a webhook signing secret — reaching
//! an admin whose browser posted the form without JavaScript. The server
//! function's answer is lost in the redirect back to the page, so the text
//! waits here, in this process's memory, for that admin's next load of the
//! team's settings: taken once, gone after ten minutes, never written to disk.
//! (One server process: behind several, the redirect may reach another one,
//! and the admin sees the key in the list without its text.)

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

const KEPT_FOR: Duration = Duration::from_secs(600);

type Waiting = HashMap<(i64, i64), (Instant, Vec<String>)>;
static WAITING: LazyLock<Mutex<Waiting>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Keeps `text` for admin `admin_id` on team `team_id`.
pub fn keep(admin_id: i64, team_id: i64, text: String) {
    let mut waiting = WAITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    waiting.retain(|_, (at, _)| at.elapsed() < KEPT_FOR);
    let entry = waiting.entry((admin_id, team_id)).or_insert_with(|| (Instant::now(), Vec::new()));
    entry.0 = Instant::now();
    entry.1.push(text);
}

/// What waits for this admin on this team, removed as it is read.
pub fn take(admin_id: i64, team_id: i64) -> Vec<String> {
    let mut waiting = WAITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    waiting.retain(|_, (at, _)| at.elapsed() < KEPT_FOR);
    match waiting.remove(&(admin_id, team_id)) {
        Some((at, texts)) if at.elapsed() < KEPT_FOR => texts,
        _ => Vec::new(),
    }
}

/// A plain form post (no JavaScript): the browser asked for HTML and will
/// follow the redirect back to its page.
pub fn is_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_taken_once_and_only_by_its_admin_and_team() {
        keep(1, 7, "tb_secret".into());
        assert!(take(2, 7).is_empty(), "another admin");
        assert!(take(1, 8).is_empty(), "another team");
        assert_eq!(take(1, 7), vec!["tb_secret".to_owned()]);
        assert!(take(1, 7).is_empty(), "shown once");
    }
}
