//! `/teams/{team}/products` (DESIGN §3.3): tokens by product as a chart and a
//! sortable table; each product drills down to its details.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use tokenboard::report::params::{ProductSort, Reading, TableOrder, TableSort};
use tokenboard::report::views::ProductsView;
use tokenboard::report::{DimensionValue, Metric};

use crate::api::TeamScreen;
use crate::api::reports::{ProductsRequest, load_products};
use crate::components::chart::{BarsChart, ChartBar};
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::layout::{
    LoadScreen, RANGE_KEYS, TABLE_KEYS, Tab, TeamLayout, kept_query, query_string, use_param, use_range_query,
};
use crate::components::range_picker::RangePicker;
use crate::components::table::{MetricCell, SortHeader};
use tokenboard::export::{ExportParams, ExportReport};

#[component]
pub fn ProductsPage() -> impl IntoView {
    let team = use_param("team");
    let range = use_range_query();
    let query = use_query_map();
    let resource = screen_resource(
        move || ProductsRequest {
            team: team(),
            range: range(),
            order: TableOrder::from_query(|key| query.read().get(key), Reading::Lenient).unwrap_or_default(),
        },
        load_products,
    );
    view! { <LoadScreen resource render=|screen| view! { <ProductsScreen screen/> }/> }
}

#[component]
fn ProductsScreen(screen: TeamScreen<ProductsView>) -> impl IntoView {
    let ProductsView { range, order, products } = screen.data.clone();
    let slug = screen.team.slug.clone();
    // A product's details keep the range and this table's order, for the way back.
    let detail_query = query_string(&kept_query(&[RANGE_KEYS, TABLE_KEYS]));
    let detail = {
        let slug = slug.clone();
        move |product: &str| format!("/teams/{slug}/products/{product}{detail_query}")
    };
    let total = products.total(Metric::Tokens).count();
    // The chart shows the 15 biggest products with any tokens.
    let mut bars = ChartBar::from_rows(&products, |key| Some(detail(key)));
    bars.retain(|b| b.value > 0);
    bars.sort_by_key(|b| std::cmp::Reverse(b.value));
    bars.truncate(15);
    let sort_href = {
        let (slug, range_pairs) = (slug.clone(), kept_query(&[RANGE_KEYS]));
        Callback::new(move |order: TableOrder<ProductSort>| {
            let mut pairs = range_pairs.clone();
            pairs.extend(order.to_query());
            format!("/teams/{slug}/products{}", query_string(&pairs))
        })
    };
    let rows = products
        .rows
        .iter()
        .map(|row| {
            let DimensionValue::Product { slug: product, name } = &row.keys[0] else { return ().into_any() };
            let [tokens, users, user_days, last_used] = [row.values[0], row.values[1], row.values[2], row.values[3]];
            let share = if total > 0 { tokens.count() as f64 * 100.0 / total as f64 } else { 0.0 };
            let average = if users.count() > 0 { tokens.count() as f64 / users.count() as f64 } else { 0.0 };
            view! {
                <tr data-key=product.clone()>
                    <td><a href=detail(product) data-product-link=product.clone()>{name.clone()}</a></td>
                    <MetricCell metric=Metric::Tokens value=tokens/>
                    <td class="num" data-metric="share" data-value=format!("{share:.4}")>{format!("{share:.1}%")}</td>
                    <MetricCell metric=Metric::Users value=users/>
                    <MetricCell metric=Metric::UserDays value=user_days/>
                    <td class="num" data-metric="tokens_per_user" data-value=format!("{average:.4}")>{format!("{average:.1}")}</td>
                    <MetricCell metric=Metric::LastUsed value=last_used/>
                    <td><a href=detail(product) class="details">"View details"</a></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let export_params = ExportParams {
        sort: Some(order.sort.as_str().to_owned()),
        dir: Some(order.direction.as_str().to_owned()),
        ..view_params(&range)
    };
    view! {
        <Title text=format!("{} · By product · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Products>
            <section>
                <RangePicker range=range.clone()/>
                <ExportBar team=screen.team.slug.clone() report=ExportReport::ByProduct params=export_params/>
                <h3>"Tokens by product"</h3>
                <BarsChart bars name="tokens-by-product"/>
                <table class="data products-table" data-total-tokens=total.to_string()>
                    <thead>
                        <tr>
                            <SortHeader title="Product" sort=ProductSort::Name current=order href=sort_href/>
                            <SortHeader title="Tokens" sort=ProductSort::Tokens current=order href=sort_href numeric=true/>
                            <th class="num">"% of total"</th>
                            <SortHeader title="Users" sort=ProductSort::Users current=order href=sort_href numeric=true/>
                            <SortHeader title="User-days" sort=ProductSort::UserDays current=order href=sort_href numeric=true/>
                            <th class="num">"Avg tokens / user"</th>
                            <SortHeader title="Last used" sort=ProductSort::LastUsed current=order href=sort_href numeric=true/>
                            <th><span class="visually-hidden">"Details"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
