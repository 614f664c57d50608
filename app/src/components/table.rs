//! Table cells for report rows: numbers carry `data-metric` and the raw
//! `data-value`, so tests and scripts read exact values.

use leptos::prelude::*;
use tokenboard::report::params::{TableOrder, TableSort};
use tokenboard::report::{Direction, Metric, MetricValue};

use crate::components::kpi::group_thousands;

#[component]
pub fn MetricCell(metric: Metric, value: MetricValue) -> impl IntoView {
    let shown = match value {
        MetricValue::Count(n) => group_thousands(n),
        MetricValue::Date(Some(d)) => d.to_string(),
        MetricValue::Date(None) => "—".into(),
    };
    view! { <td class="num" data-metric=metric.as_str() data-value=value.raw()>{shown}</td> }
}

/// A sortable column header: a link that sorts by `sort`, flipping the
/// direction when the table is already sorted by it.
#[component]
pub fn SortHeader<S: TableSort + Send + Sync>(
    title: &'static str,
    sort: S,
    current: TableOrder<S>,
    /// Builds the link for an order of the table.
    href: Callback<TableOrder<S>, String>,
    #[prop(optional)] numeric: bool,
) -> impl IntoView {
    let active = current.sort == sort;
    let arrow = match (active, current.direction) {
        (false, _) => "",
        (true, Direction::Asc) => " ▲",
        (true, Direction::Desc) => " ▼",
    };
    let aria = active.then(|| if current.direction == Direction::Asc { "ascending" } else { "descending" });
    view! {
        <th class:num=numeric aria-sort=aria>
            <a href=href.run(current.clicked(sort)) data-sort=sort.as_str()>{title}{arrow}</a>
        </th>
    }
}
