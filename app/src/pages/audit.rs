//! `/teams/{team}/audit` (primary admins only): the append-only audit log —
//! settings, personal data, API keys, exports, logins — newest first.

use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::audit::AuditEntry;

use crate::api::{TeamRequest, TeamScreen, load_audit};
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param};

#[component]
pub fn AuditPage() -> impl IntoView {
    let team = use_param("team");
    let resource = Resource::new(move || TeamRequest { team: team() }, load_audit);
    view! { <LoadScreen resource render=|screen| view! { <AuditScreen screen/> }/> }
}

#[component]
fn AuditScreen(screen: TeamScreen<Vec<AuditEntry>>) -> impl IntoView {
    let empty = screen.data.is_empty().then(|| view! { <p class="muted">"Nothing recorded yet."</p> });
    let rows = screen
        .data
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
    view! {
        <Title text=format!("{} · Audit log · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() tab=Tab::Audit range_query=String::new()>
            <section>
                <h2>"Audit log"</h2>
                {empty}
                <table class="data audit-table">
                    <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Detail"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
