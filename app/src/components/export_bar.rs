//! Export links of a report view: the view itself as CSV or Excel, and the
//! charge-level token usage and seat usage files for the same range and
//! filters. Plain links: a download starts without JavaScript too.

use leptos::prelude::*;
use tokenboard::domain::model::RangeView;
use tokenboard::export::{ExportFormat, ExportParams, ExportReport, export_path};

use crate::components::layout::query_string;

/// The export query of a view: its range (with granularity) and filters.
pub fn view_params(range: &RangeView) -> ExportParams {
    let mut params =
        ExportParams { granularity: Some(range.granularity.as_str().to_owned()), ..ExportParams::default() };
    for (key, value) in range.url_pairs() {
        match key {
            "range" => params.range = Some(value),
            "from" => params.from = Some(value),
            "to" => params.to = Some(value),
            _ => {}
        }
    }
    params
}

fn href(team: &str, report: ExportReport, format: ExportFormat, params: &ExportParams) -> String {
    format!("{}{}", export_path(team, report, format), query_string(&params.pairs()))
}

#[component]
pub fn ExportBar(team: String, report: ExportReport, params: ExportParams) -> impl IntoView {
    // The charge-level files keep the view's filters but not its table order.
    let filters = ExportParams { sort: None, dir: None, ..params.clone() };
    // rel="external": the router must not treat a file as a page; the browser
    // downloads it (or follows the redirect of a queued background export).
    let link = |report: ExportReport, format: ExportFormat, params: &ExportParams, text: &'static str| {
        view! {
            <a class="chip export" rel="external" href=href(&team, report, format, params)
                data-export=format!("{}.{}", report.as_str(), format.extension())>{text}</a>
        }
    };
    view! {
        <div class="export-bar" data-testid="export-bar">
            {link(report, ExportFormat::Csv, &params, "Export CSV")}
            {link(report, ExportFormat::Xlsx, &params, "Export Excel")}
            <span class="muted">"Token usage:"</span>
            {link(ExportReport::TokenUsage, ExportFormat::Csv, &filters, "CSV")}
            {link(ExportReport::TokenUsage, ExportFormat::Xlsx, &filters, "Excel")}
            <span class="muted">"Seat usage:"</span>
            {link(ExportReport::SeatUsage, ExportFormat::Csv, &filters, "CSV")}
            {link(ExportReport::SeatUsage, ExportFormat::Xlsx, &filters, "Excel")}
            <a class="nav" href=format!("/teams/{team}/exports")>"Export history"</a>
        </div>
    }
}
