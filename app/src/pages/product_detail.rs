//! `/teams/{team}/products/{product}`: one product's tokens over time, its
//! version breakdown and its top users (each a link to the user's detail).

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::report::views::ProductDetailView;
use tokenboard::report::{DimensionValue, Metric};

use crate::api::TeamScreen;
use crate::api::reports::{ProductDetailRequest, load_product_detail};
use crate::components::chart::{
    BarsChart, ChartBar, ChartToggle, SeriesChart, SeriesExtras, bucket_drill, chart_option,
};
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::layout::{
    LoadScreen, RANGE_KEYS, TABLE_KEYS, Tab, TeamLayout, kept_query, query_string, use_param, use_query_param,
    use_range_query,
};
use crate::components::range_picker::RangePicker;
use crate::components::table::MetricCell;
use tokenboard::export::{ExportParams, ExportReport};

#[component]
pub fn ProductDetailPage() -> impl IntoView {
    let team = use_param("team");
    let product = use_param("product");
    let range = use_range_query();
    let compare = use_query_param("compare");
    let resource = screen_resource(
        move || ProductDetailRequest {
            team: team(),
            product: product(),
            range: range(),
            compare: compare().as_deref() == Some("previous"),
        },
        load_product_detail,
    );
    view! { <LoadScreen resource render=|screen| view! { <ProductDetailScreen screen/> }/> }
}

#[component]
fn ProductDetailScreen(screen: TeamScreen<ProductDetailView>) -> impl IntoView {
    let ProductDetailView { range, product, over_time, previous_over_time, versions, top_users } = screen.data.clone();
    let slug = screen.team.slug.clone();
    let range_query = query_string(&kept_query(&[RANGE_KEYS]));
    let back_query = query_string(&kept_query(&[RANGE_KEYS, TABLE_KEYS]));
    let user_href = {
        let (slug, q) = (slug.clone(), range_query.clone());
        move |id: &str| format!("/teams/{slug}/users/{id}{q}")
    };
    let extras = SeriesExtras {
        previous: chart_option("compare", "previous").0.then_some(previous_over_time),
        drill: Some(bucket_drill(&format!("/teams/{slug}/products/{}", product.slug))),
        ..SeriesExtras::default()
    };
    let version_bars = ChartBar::from_rows(&versions, |_| None);
    let top_bars = ChartBar::from_rows(&top_users, |key| Some(user_href(key)));
    let version_rows = versions
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr data-key=r.keys[0].key()>
                    <td>{r.keys[0].label()}</td>
                    <MetricCell metric=Metric::Tokens value=r.values[0]/>
                    <MetricCell metric=Metric::Charges value=r.values[1]/>
                </tr>
            }
        })
        .collect_view();
    let user_rows = top_users
        .rows
        .iter()
        .map(|r| {
            let email = match &r.keys[0] {
                DimensionValue::User { email, .. } => email.clone(),
                _ => String::new(),
            };
            view! {
                <tr data-key=r.keys[0].key()>
                    <td><a href=user_href(&r.keys[0].key()) data-user-link=r.keys[0].key()>{r.keys[0].label()}</a></td>
                    <td>{email}</td>
                    <MetricCell metric=Metric::Tokens value=r.values[0]/>
                    <MetricCell metric=Metric::UserDays value=r.values[1]/>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Title text=format!("{} · {} · Tokenboard", product.name, screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Products>
            <section class="product-detail" data-product=product.slug.clone()>
                <p class="breadcrumb"><a href=format!("/teams/{slug}/products{back_query}")>"By product"</a>" / "</p>
                <h2>{product.name.clone()}</h2>
                <RangePicker range=range.clone()/>
                <ExportBar team=slug.clone() report=ExportReport::Product
                    params=ExportParams { product: Some(product.slug.clone()), ..view_params(&range) }/>
                <div class="chart-head">
                    <h3>"Tokens over time"</h3>
                    <div class="chart-options" role="group" aria-label="Chart options">
                        <ChartToggle key="compare" value="previous" label="Compare with previous period"/>
                    </div>
                </div>
                <SeriesChart points=over_time granularity=range.granularity extras/>
                <h3>"Versions"</h3>
                <BarsChart bars=version_bars name="versions"/>
                <table class="data versions-table">
                    <thead><tr><th>"Version"</th><th class="num">"Tokens"</th><th class="num">"Charges"</th></tr></thead>
                    <tbody>{version_rows}</tbody>
                </table>
                <h3>"Top users"</h3>
                <BarsChart bars=top_bars name="top-users"/>
                <table class="data top-users-table">
                    <thead><tr><th>"Name"</th><th>"E-mail"</th><th class="num">"Tokens"</th><th class="num">"Days used"</th></tr></thead>
                    <tbody>{user_rows}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
