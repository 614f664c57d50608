//! `/teams/{team}/schedules`: scheduled reports (DESIGN §4). Primary admins
//! create, edit (`?edit=<id>`), pause, resume and delete them; each run's
//! file is mailed as a download link that opens after logging in. Forms post to server
//! functions, so they work without JavaScript too.

use crate::api::screen_resource;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::range::RangePreset;
use tokenboard::export::{ExportFormat, ExportReport};
use tokenboard::notify::schedules::{Cadence, Schedule};

use crate::api::schedules::{SaveSchedule, ScheduleCommand, load_schedules};
use crate::api::{TeamRequest, TeamScreen};
use crate::components::confirm::Confirm;
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param, use_query_param, use_search};

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let team = use_param("team");
    let save = ServerAction::<SaveSchedule>::new();
    let command = ServerAction::<ScheduleCommand>::new();
    // The edited schedule (`?edit=`) and the "saved" notice live in the URL:
    // the screen renders again when they change.
    let search = use_search();
    let resource = screen_resource(
        move || (TeamRequest { team: team() }, save.version().get(), command.version().get(), search()),
        |(request, ..)| load_schedules(request),
    );
    view! {
        <LoadScreen resource render=move |screen| view! { <SchedulesScreen screen save command/> }/>
    }
}

#[component]
fn SchedulesScreen(
    screen: TeamScreen<Vec<Schedule>>,
    save: ServerAction<SaveSchedule>,
    command: ServerAction<ScheduleCommand>,
) -> impl IntoView {
    let slug = screen.team.slug.clone();
    let editing_id = use_query_param("edit")().and_then(|id| id.parse::<i64>().ok());
    let editing = editing_id.and_then(|id| screen.data.iter().find(|s| s.id == id).cloned());
    let rows = screen
        .data
        .iter()
        .map(|s| view! { <ScheduleRow slug=slug.clone() schedule=s.clone() command/> })
        .collect_view();
    let error = move || {
        [save.value().get(), command.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let empty = screen.data.is_empty().then(|| view! { <p class="muted">"No scheduled reports yet."</p> });
    // After a save the server sends the browser here with `?saved=created|updated`: the form is empty again.
    let saved = use_query_param("saved")().map(|what| {
        let text =
            if what == "updated" { "Schedule saved." } else { "Schedule created. The form is ready for another." };
        view! { <p class="notice" role="status" data-testid="schedule-saved">{text}</p> }
    });
    view! {
        <Title text=format!("{} · Schedules · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Schedules>
            <section>
                <h2>"Scheduled reports"</h2>
                {error}
                {saved}
                {empty}
                <table class="data schedules-table">
                    <thead>
                        <tr>
                            <th>"Report"</th><th>"Format"</th><th>"Range"</th><th>"Frequency"</th>
                            <th>"Next run"</th><th>"Recipients"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <ScheduleForm slug=slug.clone() editing save/>
            </section>
        </TeamLayout>
    }
}

#[component]
fn ScheduleRow(slug: String, schedule: Schedule, command: ServerAction<ScheduleCommand>) -> impl IntoView {
    let id = schedule.id;
    let team = slug.clone();
    let button = move |name: &'static str, label: &'static str| {
        let team = team.clone();
        view! {
            <ActionForm action=command attr:class="inline">
                <input type="hidden" name="team" value=team/>
                <input type="hidden" name="id" value=id.to_string()/>
                <input type="hidden" name="command" value=name/>
                <button type="submit" data-command=name>{label}</button>
            </ActionForm>
        }
    };
    let toggle = if schedule.paused { button("resume", "Resume") } else { button("pause", "Pause") };
    let question =
        format!("Delete the {} schedule for good? Its past exports stay in the history.", schedule.report.title());
    let delete_form = button("delete", "Delete schedule");
    let delete = view! { <Confirm label="Delete…" question>{delete_form}</Confirm> };
    view! {
        <tr data-key=schedule.id.to_string() data-paused=schedule.paused.to_string()>
            <td>{schedule.report.title()}</td>
            <td>{schedule.format.label()}</td>
            <td>{schedule.range.title()}</td>
            <td>{schedule.cadence.label()}</td>
            <td>{if schedule.paused { "—".to_owned() } else { schedule.next_run_on.to_string() }}</td>
            <td>{schedule.recipients.join(", ")}</td>
            <td>{if schedule.paused { "paused" } else { "active" }}</td>
            <td class="actions">
                <a class="chip" href=format!("/teams/{slug}/schedules?edit={}", schedule.id)>"Edit"</a>
                {toggle}
                {delete}
            </td>
        </tr>
    }
}

#[component]
fn ScheduleForm(slug: String, editing: Option<Schedule>, save: ServerAction<SaveSchedule>) -> impl IntoView {
    let title = if editing.is_some() { "Edit schedule" } else { "New schedule" };
    let current = editing.clone();
    let select = move |name: &'static str, options: Vec<(String, String)>, selected: Option<String>| {
        view! {
            <select name=format!("schedule[{name}]") id=format!("schedule-{name}")>
                {options
                    .into_iter()
                    .map(|(value, label)| {
                        let is = selected.as_deref() == Some(value.as_str());
                        // prop: as well, so a form rendered again over a used one shows these values.
                        view! { <option value=value selected=is prop:selected=is>{label}</option> }
                    })
                    .collect_view()}
            </select>
        }
    };
    let reports = ExportReport::SCHEDULABLE.iter().map(|r| (r.as_str().to_owned(), r.title().to_owned())).collect();
    let formats = ExportFormat::ALL.iter().map(|f| (f.extension().to_owned(), f.label().to_owned())).collect();
    let ranges = RangePreset::PRESETS.iter().map(|p| (p.as_str().to_owned(), p.title().to_owned())).collect();
    let cadences = Cadence::ALL.iter().map(|c| (c.as_str().to_owned(), c.label().to_owned())).collect();
    let start = current.as_ref().map(|s| s.start_on.to_string()).unwrap_or_default();
    let recipients = current.as_ref().map(|s| s.recipients.join(", ")).unwrap_or_default();
    view! {
        <h3>{title}</h3>
        <ActionForm action=save attr:class="schedule-form">
            <input type="hidden" name="team" value=slug.clone()/>
            {current.as_ref().map(|s| view! { <input type="hidden" name="id" value=s.id.to_string()/> })}
            <label for="schedule-report">"Report"</label>
            {select("report", reports, current.as_ref().map(|s| s.report.as_str().to_owned()))}
            <label for="schedule-format">"Format"</label>
            {select("format", formats, current.as_ref().map(|s| s.format.extension().to_owned()))}
            <label for="schedule-range">"Range"</label>
            {select("range", ranges, current.as_ref().map(|s| s.range.as_str().to_owned()))}
            <label for="schedule-cadence">"Frequency"</label>
            {select("cadence", cadences, current.as_ref().map(|s| s.cadence.as_str().to_owned()))}
            <label for="schedule-start">"Starting on"</label>
            <input type="date" id="schedule-start" name="schedule[start_on]" value=start.clone() prop:value=start required/>
            <label for="schedule-recipients">"Recipients"</label>
            <input type="text" id="schedule-recipients" name="schedule[recipients]" value=recipients.clone() prop:value=recipients
                placeholder="finance@example.com, cfo@example.com" required/>
            <button type="submit">{if editing.is_some() { "Save changes" } else { "Create schedule" }}</button>
            {editing.is_some().then(|| view! { <a href=format!("/teams/{slug}/schedules")>"Cancel"</a> })}
        </ActionForm>
    }
}
