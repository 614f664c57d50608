//! Table cells for report rows: numbers carry `data-metric` and the raw
//! `data-value`, so tests and scripts read exact values.

use leptos::prelude::*;
use tokenboard::report::{Direction, Metric, MetricValue, Order, OrderBy};

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
pub fn SortHeader(
    title: &'static str,
    sort: &'static str,
    current: Order,
    /// Builds the link for a (sort, direction) pair.
    href: Callback<(String, Direction), String>,
    #[prop(optional)] numeric: bool,
) -> impl IntoView {
    let active = current.sort_key() == sort;
    let default = if sort == "name" { Direction::Asc } else { Direction::Desc };
    let next = if active { current.direction.flip() } else { default };
    let arrow = match (active, current.direction) {
        (false, _) => "",
        (true, Direction::Asc) => " ▲",
        (true, Direction::Desc) => " ▼",
    };
    let aria = active.then(|| if current.direction == Direction::Asc { "ascending" } else { "descending" });
    view! {
        <th class:num=numeric aria-sort=aria>
            <a href=href.run((sort.to_owned(), next)) data-sort=sort>{title}{arrow}</a>
        </th>
    }
}

/// True when `order` sorts by the row label.
pub fn by_name(order: Order) -> bool {
    matches!(order.by, OrderBy::Dimension(_))
}
