//! `/teams/{team}/exports`: the export history (DESIGN §4) — every export of
//! the team, one-click or scheduled, with who asked, rows, size, SHA-256 and
//! expiry; running ones show a progress bar that refreshes itself.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::export::{ExportRecord, ExportStatus};

use crate::api::exports::load_exports;
use crate::api::{TeamRequest, TeamScreen};
use crate::components::kpi::group_thousands;
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param, use_query_param};

#[component]
pub fn ExportsPage() -> impl IntoView {
    let team = use_param("team");
    let resource = screen_resource(move || TeamRequest { team: team() }, load_exports);
    // While an export is queued or running, look again every second.
    Effect::new(move |_| {
        let pending = resource
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| s.data.iter().any(|e| matches!(e.status, ExportStatus::Queued | ExportStatus::Running)));
        if pending
            && let Ok(handle) = set_timeout_with_handle(move || resource.refetch(), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! { <LoadScreen resource render=|screen| view! { <ExportsScreen screen/> }/> }
}

fn size(bytes: Option<i64>) -> String {
    match bytes {
        None => String::new(),
        Some(b) if b < 1024 => format!("{b} B"),
        Some(b) if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        Some(b) => format!("{:.1} MB", b as f64 / 1024.0 / 1024.0),
    }
}

#[component]
fn ExportRow(slug: String, export: ExportRecord) -> impl IntoView {
    let who = match (&export.admin_email, export.schedule_id) {
        (_, Some(schedule)) => format!("schedule #{schedule}"),
        (Some(email), None) => email.clone(),
        (None, None) => "(removed admin)".into(),
    };
    let status = match export.status {
        ExportStatus::Done => view! { <span class="ok">"done"</span> }.into_any(),
        ExportStatus::Failed => {
            view! { <span class="bad" title=export.error.clone().unwrap_or_default()>"failed"</span> }.into_any()
        }
        running => view! {
            <progress max="100" value=export.percent().to_string()></progress>
            <span class="muted">{format!(" {} {}%", running.as_str(), export.percent())}</span>
        }
        .into_any(),
    };
    let file = if export.status == ExportStatus::Done {
        let href = format!("/teams/{slug}/exports/{}/download", export.id);
        view! { <a href=href data-download=export.id.to_string()>{export.file_name.clone()}</a> }.into_any()
    } else {
        view! { <span>{export.file_name.clone()}</span> }.into_any()
    };
    let sha = export.sha256.clone().unwrap_or_default();
    view! {
        <tr data-key=export.id.to_string() data-status=export.status.as_str()>
            <td>{export.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
            <td>{file}</td>
            <td>{export.report.title()}</td>
            <td>{export.format.label()}</td>
            <td>{who}</td>
            <td class="num" data-metric="rows" data-value=export.rows_written.to_string()>{group_thousands(export.rows_written)}</td>
            <td class="num">{size(export.bytes)}</td>
            <td><code title=sha.clone()>{sha.chars().take(12).collect::<String>()}</code></td>
            <td>{status}</td>
            <td>{export.expires_at.format("%Y-%m-%d").to_string()}</td>
        </tr>
    }
}

#[component]
fn ExportsScreen(screen: TeamScreen<Vec<ExportRecord>>) -> impl IntoView {
    let slug = screen.team.slug.clone();
    let started = use_query_param("started");
    let notice = move || {
        started().map(|id| {
            view! {
                <p class="notice" data-started=id.clone()>
                    "Your export is large, so it is being written in the background. It appears below when it is ready."
                </p>
            }
        })
    };
    let rows =
        screen.data.iter().map(|export| view! { <ExportRow slug=slug.clone() export=export.clone()/> }).collect_view();
    let empty = screen.data.is_empty().then(|| view! { <p class="muted">"No exports in the last 14 days."</p> });
    view! {
        <Title text=format!("{} · Exports · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Exports>
            <section>
                <h2>"Export history"</h2>
                <p class="muted">"Every export of this team, kept for 14 days, then deleted with its file."</p>
                {notice}
                {empty}
                <table class="data exports-table">
                    <thead>
                        <tr>
                            <th>"Created"</th><th>"File"</th><th>"Report"</th><th>"Format"</th><th>"By"</th>
                            <th class="num">"Rows"</th><th class="num">"Size"</th><th>"SHA-256"</th><th>"Status"</th>
                            <th>"Expires"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
