//! Range presets, a custom from/to form and the granularity switch. All are
//! plain links or a GET form, so the state lives in the URL and works
//! without JavaScript; with it, the router navigates in place.

use leptos::prelude::*;
use leptos_router::components::Form;
use tokenboard::domain::model::RangeView;
use tokenboard::domain::range::{Granularity, RangePreset};

#[component]
pub fn RangePicker(range: RangeView) -> impl IntoView {
    let base = range.query();
    let presets = RangePreset::PRESETS
        .into_iter()
        .map(|p| {
            let active = p == range.preset;
            view! {
                <a class="chip" class:active=active href=format!("?range={}", p.as_str()) data-range=p.as_str()>
                    {p.title()}
                </a>
            }
        })
        .collect_view();
    let granularities = range
        .allowed_granularities
        .iter()
        .map(|&g: &Granularity| {
            let active = g == range.granularity;
            view! {
                <a class="chip small" class:active=active href=format!("{base}&granularity={}", g.as_str()) data-granularity=g.as_str()>
                    {g.as_str()}
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="range-picker">
            <div class="presets">{presets}</div>
            <Form method="GET" action="" attr:class="custom-range">
                <input type="hidden" name="range" value="custom"/>
                <label>"From " <input type="date" name="from" value=range.from.to_string() required/></label>
                <label>"To " <input type="date" name="to" value=range.to.to_string() required/></label>
                <button type="submit">"Apply"</button>
            </Form>
            <div class="range-label" data-from=range.from.to_string() data-to=range.to.to_string()>{range.label.clone()}</div>
            <div class="granularity">"By " {granularities}</div>
        </div>
    }
}
