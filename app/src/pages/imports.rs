//! `/teams/{team}/imports`: the import history (DESIGN §5) — every file that
//! came in, by upload, API or command line, with who sent it, its counts and
//! days; rejected files with their bad lines. Primary admins upload a CSV or
//! `.xlsx` here (a plain multipart form; `/upload.js` adds drag-and-drop and
//! progress) and undo an import. `?import=ID` shows one import's result.

use crate::api::screen_resource;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::imports::{ImportRecord, ImportStatus};
use tokenboard::domain::model::Role;

use crate::api::imports::{ImportsData, UndoImport, load_imports};
use crate::api::{TeamRequest, TeamScreen};
use crate::components::confirm::Confirm;
use crate::components::kpi::group_thousands;
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param, use_query_param};

#[component]
pub fn ImportsPage() -> impl IntoView {
    let team = use_param("team");
    let undo = ServerAction::<UndoImport>::new();
    let resource =
        screen_resource(move || (TeamRequest { team: team() }, undo.version().get()), |(r, _)| load_imports(r));
    view! { <LoadScreen resource render=move |screen| view! { <ImportsScreen screen undo/> }/> }
}

fn count(n: u64) -> String {
    group_thousands(n as i64)
}

fn days(record: &ImportRecord) -> String {
    match (record.first_day, record.last_day) {
        (Some(first), Some(last)) if first == last => first.to_string(),
        (Some(first), Some(last)) => format!("{first} – {last}"),
        _ => String::new(),
    }
}

fn status(record: &ImportRecord) -> (&'static str, String) {
    match (&record.undone, record.status) {
        (Some(undone), _) => ("undone", format!("undone {} by {}", undone.at.format("%Y-%m-%d %H:%M"), undone.actor)),
        (None, ImportStatus::Rejected) => ("rejected", format!("rejected: {} bad lines", record.errors.len())),
        (None, ImportStatus::Done) => ("done", "imported".into()),
    }
}

/// One import's result: the counts and what was new, or the bad lines.
#[component]
fn ImportResult(record: ImportRecord) -> impl IntoView {
    let (state, text) = status(&record);
    let body = if record.status == ImportStatus::Rejected {
        let rows = record
            .errors
            .iter()
            .map(|e| view! { <tr><td class="num">{e.line}</td><td>{e.message.clone()}</td></tr> })
            .collect_view();
        view! {
            <p>"Nothing was imported. Correct these lines and upload the file again:"</p>
            <table class="data bad-lines">
                <thead><tr><th class="num">"Line"</th><th>"Problem"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    } else {
        let products = (!record.new_products.is_empty())
            .then(|| view! { <p>"New products: " {record.new_products.join(", ")}</p> });
        view! {
            <dl class="import-counts">
                <dt>"Rows"</dt><dd data-count="rows">{count(record.rows)}</dd>
                <dt>"Inserted"</dt><dd data-count="inserted">{count(record.inserted)}</dd>
                <dt>"Updated (corrections)"</dt><dd data-count="updated">{count(record.updated)}</dd>
                <dt>"Unchanged"</dt><dd data-count="unchanged">{count(record.unchanged)}</dd>
                <dt>"New users"</dt><dd data-count="new-users">{count(record.new_users)}</dd>
            </dl>
            {products}
        }
        .into_any()
    };
    view! {
        <div class="import-result notice" data-import=record.id.to_string() data-state=state>
            <h3>{format!("{} · {text}", record.file_name)}</h3>
            {body}
        </div>
    }
}

/// The upload form: works as a plain form post; `/upload.js` adds
/// drag-and-drop and the progress bar.
#[component]
fn UploadForm(slug: String, max_upload_bytes: u64) -> impl IntoView {
    let limit = format!("{:.0} MB", max_upload_bytes as f64 / 1e6);
    view! {
        <form class="upload-form" method="post" enctype="multipart/form-data"
            action=format!("/teams/{slug}/imports/upload") data-upload="">
            <div class="drop-zone" data-drop-zone="">
                <label for="upload-file">{format!("Usage file: CSV or Excel (.xlsx), up to {limit}")}</label>
                <input type="file" id="upload-file" name="file" required
                    accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"/>
                <span class="muted">"or drop the file here"</span>
            </div>
            <label for="upload-date-format">"Slash dates (3/4/2026)"</label>
            <select id="upload-date-format" name="date_format">
                <option value="">"as the file shows them (a day above 12)"</option>
                <option value="M/D/YYYY">"M/D/YYYY (month first)"</option>
                <option value="D/M/YYYY">"D/M/YYYY (day first)"</option>
            </select>
            <button type="submit">"Import"</button>
            <div class="upload-progress" data-upload-progress="" hidden>
                <progress max="100"></progress>
                <span data-upload-status=""></span>
            </div>
        </form>
    }
}

#[component]
fn ImportRow(slug: String, record: ImportRecord, primary: bool, undo: ServerAction<UndoImport>) -> impl IntoView {
    let (state, text) = status(&record);
    let overwritten = record.overwritten();
    let note = (record.undone.is_none() && overwritten > 0).then(|| {
        view! { <div class="muted">{format!("{} rows overwritten by a later import", count(overwritten))}</div> }
    });
    let kept = record.undone.as_ref().filter(|u| u.kept > 0).map(|u| {
        view! { <div class="muted">{format!("{} rows kept: a later import had overwritten them", count(u.kept))}</div> }
    });
    let link = format!("/teams/{slug}/imports?import={}", record.id);
    let action = (primary && record.can_undo()).then(|| {
        let what = if overwritten > 0 {
            format!(
                "Removes what this import added and restores what it corrected, for the {} rows it still owns; \
                 the {} rows a later import overwrote stay as they are.",
                count(record.owned),
                count(overwritten)
            )
        } else {
            format!(
                "Removes the {} charges this import added and restores the {} it corrected.",
                count(record.inserted),
                count(record.updated)
            )
        };
        view! {
            <Confirm label="Undo…" question=format!("Undo this import? {what}")>
                <ActionForm action=undo>
                    <input type="hidden" name="team" value=slug.clone()/>
                    <input type="hidden" name="id" value=record.id.to_string()/>
                    <button type="submit" class="danger" data-undo=record.id.to_string()>"Undo this import"</button>
                </ActionForm>
            </Confirm>
        }
    });
    view! {
        <tr data-key=record.id.to_string() data-state=state>
            <td>{record.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
            <td><a href=link>{record.file_name.clone()}</a></td>
            <td>{format!("{} · {}", record.source.title(), record.actor)}</td>
            <td>{text}{note}{kept}</td>
            <td class="num" data-metric="rows">{count(record.rows)}</td>
            <td class="num" data-metric="inserted">{count(record.inserted)}</td>
            <td class="num" data-metric="updated">{count(record.updated)}</td>
            <td class="num" data-metric="unchanged">{count(record.unchanged)}</td>
            <td>{days(&record)}</td>
            <td>{action}</td>
        </tr>
    }
}

#[component]
fn ImportsScreen(screen: TeamScreen<ImportsData>, undo: ServerAction<UndoImport>) -> impl IntoView {
    let slug = screen.team.slug.clone();
    let primary = screen.team.role == Role::Primary;
    let shown = use_query_param("import");
    let data = screen.data.clone();
    let result = move || {
        let id: i64 = shown()?.parse().ok()?;
        let record = data.imports.iter().find(|r| r.id == id)?.clone();
        Some(view! { <ImportResult record/> })
    };
    let undone = move || {
        undo.value().get().map(|answer| match answer {
            Ok(outcome) => view! {
                <p class="notice" data-undone="">
                    {format!(
                        "Import undone: {} charges removed, {} restored to their previous tokens, {} kept.",
                        count(outcome.removed),
                        count(outcome.restored),
                        count(outcome.kept)
                    )}
                </p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let upload =
        primary.then(|| view! { <UploadForm slug=slug.clone() max_upload_bytes=screen.data.max_upload_bytes/> });
    let rows = screen
        .data
        .imports
        .iter()
        .map(|record| view! { <ImportRow slug=slug.clone() record=record.clone() primary undo/> })
        .collect_view();
    let empty = screen.data.imports.is_empty().then(|| view! { <p class="muted">"No imports yet."</p> });
    view! {
        <Title text=format!("{} · Imports · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Imports>
            <section>
                <h2>"Imports"</h2>
                <p class="muted">
                    "Usage files as the vendor hands them out. A row whose day, user, product and feature are "
                    "already stored with other tokens is a correction: it replaces them. Every import can be undone."
                </p>
                {result}
                {undone}
                {upload}
                {empty}
                <table class="data imports-table">
                    <thead>
                        <tr>
                            <th>"When"</th><th>"File"</th><th>"Source · by"</th><th>"Status"</th>
                            <th class="num">"Rows"</th><th class="num">"Inserted"</th><th class="num">"Updated"</th>
                            <th class="num">"Unchanged"</th><th>"Usage days"</th><th><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
