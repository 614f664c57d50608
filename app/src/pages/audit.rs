//! `/teams/{team}/audit` (primary admins only): the append-only audit log —
//! settings, personal data, API keys, exports, logins — newest first, a page
//! at a time (`?before=ID` older, `?after=ID` newer: plain links, so paging
//! works without JavaScript).

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::access::audit::{AuditCursor, AuditPage};

use crate::api::TeamScreen;
use crate::api::settings::{AuditRequest, load_audit};
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param, use_query_param};

/// The page's cursor from its URL; anything unreadable shows the newest rows.
fn cursor(before: Option<String>, after: Option<String>) -> AuditCursor {
    let id = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok());
    match (id(before), id(after)) {
        (Some(id), _) => AuditCursor::Before(id),
        (None, Some(id)) => AuditCursor::After(id),
        (None, None) => AuditCursor::Newest,
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let team = use_param("team");
    let (before, after) = (use_query_param("before"), use_query_param("after"));
    let resource =
        screen_resource(move || AuditRequest { team: team(), cursor: cursor(before(), after()) }, load_audit);
    view! { <LoadScreen resource render=|screen| view! { <AuditScreen screen/> }/> }
}

#[component]
fn AuditScreen(screen: TeamScreen<AuditPage>) -> impl IntoView {
    let page = &screen.data;
    let empty = page.entries.is_empty().then(|| view! { <p class="muted">"Nothing recorded yet."</p> });
    let rows = page
        .entries
        .iter()
        .map(|entry| {
            view! {
                <tr data-action=entry.action.clone()>
                    <td>{entry.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                    <td>{entry.actor.clone()}</td>
                    <td>{entry.action.clone()}</td>
                    <td>{entry.detail.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let base = format!("/teams/{}/audit", screen.team.slug);
    let newer = page.newer.map(|id| format!("{base}?after={id}"));
    let older = page.older.map(|id| format!("{base}?before={id}"));
    view! {
        <Title text=format!("{} · Audit log · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Audit>
            <section>
                <h2>"Audit log"</h2>
                {empty}
                <table class="data audit-table">
                    <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Detail"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <nav class="pager" aria-label="Pages of the audit log">
                    {newer.map(|href| view! { <a class="chip" rel="prev" href=href>"← Previous (newer)"</a> })}
                    {older.map(|href| view! { <a class="chip" rel="next" href=href>"Next (older) →"</a> })}
                </nav>
            </section>
        </TeamLayout>
    }
}
