//! Range presets, a custom from/to form and the granularity switch. All are
//! plain links or a GET form, so the state lives in the URL and works
//! without JavaScript; with it, the router navigates in place. Every link
//! keeps what still applies: a preset keeps the granularity, the table's
//! search and order and the chart's options; a granularity keeps the rest.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_router::components::Form;
use tokenboard::domain::model::RangeView;
use tokenboard::domain::range::{Granularity, RangePreset};

use crate::components::kpi::Help;
use crate::components::layout::{CHART_KEYS, TABLE_KEYS, kept_query, query_string};

/// How every range is counted, for the ⓘ beside it.
const RANGE_HELP: &str = "Ranges end today and include both their first and last day, in the team's time zone. \
                          Month presets start on the same day of the month, N months back.";

#[component]
pub fn RangePicker(range: RangeView) -> impl IntoView {
    let view_state = kept_query(&[TABLE_KEYS, CHART_KEYS]);
    let granularity_kept = kept_query(&[&["granularity"]]);
    let presets = RangePreset::PRESETS
        .into_iter()
        .map(|p| {
            let active = p == range.preset;
            let mut pairs = vec![("range", p.as_str().to_owned())];
            pairs.extend(granularity_kept.iter().cloned());
            pairs.extend(view_state.iter().cloned());
            view! {
                <a class="chip" class:active=active aria-current=active.then_some("true") href=query_string(&pairs) data-range=p.as_str()>
                    {p.title()}
                </a>
            }
        })
        .collect_view();
    let others = kept_query(&[TABLE_KEYS, &["page"], CHART_KEYS]);
    let granularities = range
        .allowed_granularities
        .iter()
        .map(|&g: &Granularity| {
            let active = g == range.granularity;
            let mut pairs = range.url_pairs();
            pairs.push(("granularity", g.as_str().to_owned()));
            pairs.extend(others.iter().cloned());
            view! {
                <a class="chip small" class:active=active aria-current=active.then_some("true") href=query_string(&pairs) data-granularity=g.as_str()>
                    {g.as_str()}
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="range-picker">
            <div class="presets" role="group" aria-label="Range">{presets}</div>
            <CustomRangeForm from=range.from.to_string() to=range.to.to_string() error=None/>
            <div class="range-label" data-from=range.from.to_string() data-to=range.to.to_string()>
                {range.label.clone()}<Help text=RANGE_HELP/>
            </div>
            <div class="granularity" role="group" aria-label="Granularity">"By " {granularities}</div>
        </div>
    }
}

/// The custom from/to form; with `error` it shows what was wrong beside the
/// dates the admin entered.
#[component]
pub fn CustomRangeForm(from: String, to: String, error: Option<String>) -> impl IntoView {
    let kept = kept_query(&[TABLE_KEYS, CHART_KEYS]);
    let invalid = error.is_some().then_some("true");
    view! {
        <Form method="GET" action="" attr:class="custom-range">
            <input type="hidden" name="range" value="custom"/>
            {kept.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
            <label>"From " <input type="date" name="from" value=from required aria-invalid=invalid aria-describedby=error.as_ref().map(|_| "range-error")/></label>
            <label>"To " <input type="date" name="to" value=to required aria-invalid=invalid aria-describedby=error.as_ref().map(|_| "range-error")/></label>
            <button type="submit">"Apply"</button>
            {error.map(|message| view! { <p class="form-error" id="range-error" role="alert">{message}</p> })}
        </Form>
    }
}

/// A report page whose custom range is wrong: the team's layout with the
/// form showing the dates as entered, what is wrong, and a way back. The
/// page still answers 400.
#[component]
pub fn RangeErrorScreen(message: String) -> impl IntoView {
    use crate::components::layout::{Tab, TeamLayout, use_param, use_query_param};
    crate::components::error_view::set_status(400);
    let team = use_param("team");
    let (from, to) = (use_query_param("from")().unwrap_or_default(), use_query_param("to")().unwrap_or_default());
    let tab = leptos_router::hooks::use_location()
        .pathname
        .get_untracked()
        .split('/')
        .nth(3)
        .and_then(Tab::from_path)
        .unwrap_or(Tab::Summary);
    let viewer = screen_resource(|| (), |_| crate::api::reports::load_viewer());
    let message = StoredValue::new(message);
    let dates = StoredValue::new((from, to));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let viewer = match viewer.await {
                    Ok(viewer) => viewer,
                    Err(error) => return view! { <crate::components::error_view::ErrorView error/> }.into_any(),
                };
                let Some(team_ref) = viewer.teams.iter().find(|t| t.slug == team()).cloned() else {
                    return view! { <crate::pages::not_found::NotFound/> }.into_any();
                };
                let (from, to) = dates.get_value();
                let back = format!("/teams/{}/{}", team_ref.slug, tab.path());
                view! {
                    <TeamLayout viewer team=team_ref freshness=None tab drop_range=true>
                        <section class="range-error" data-error-status="400">
                            <div class="range-picker">
                                <CustomRangeForm from to error=Some(message.get_value())/>
                                <a class="chip" href=back>"Back to the past 30 days"</a>
                            </div>
                        </section>
                    </TeamLayout>
                }
                .into_any()
            })}
        </Suspense>
    }
}
