//! `/teams/{team}/users` (DESIGN §3.4): the top users as a chart, and every
//! user in a searchable, sortable table paginated on the server. A name opens
//! the user's detail.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use tokenboard::report::params::{Reading, TableOrder, TableSort, UserSort, UserTableQuery};
use tokenboard::report::views::UsersView;
use tokenboard::report::{DimensionValue, Metric};

use crate::api::TeamScreen;
use crate::api::reports::{UsersRequest, load_users};
use crate::components::chart::{BarsChart, ChartBar};
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::layout::{
    LoadScreen, RANGE_KEYS, TABLE_KEYS, Tab, TeamLayout, kept_query, query_string, use_param, use_range_query,
};
use crate::components::range_picker::RangePicker;
use crate::components::table::{MetricCell, SortHeader};
use tokenboard::export::{ExportParams, ExportReport};

#[component]
pub fn UsersPage() -> impl IntoView {
    let team = use_param("team");
    let range = use_range_query();
    let query = use_query_map();
    let resource = screen_resource(
        move || UsersRequest {
            team: team(),
            range: range(),
            table: UserTableQuery::from_query(|key| query.read().get(key), Reading::Lenient).unwrap_or_default(),
        },
        load_users,
    );
    view! { <LoadScreen resource render=|screen| view! { <UsersScreen screen/> }/> }
}

#[component]
fn UsersScreen(screen: TeamScreen<UsersView>) -> impl IntoView {
    let view_data = screen.data.clone();
    let pages = view_data.pages();
    let UsersView { range, table, users, top } = view_data;
    let slug = screen.team.slug.clone();
    // A user's details keep the range and this table's search, order and page, for the way back.
    let detail_query = query_string(&kept_query(&[RANGE_KEYS, TABLE_KEYS, &["page"]]));
    let detail = {
        let slug = slug.clone();
        move |id: &str| format!("/teams/{slug}/users/{id}{detail_query}")
    };
    let range_pairs = kept_query(&[RANGE_KEYS]);
    // A link to this table with some of its state changed.
    let table_href = {
        let (slug, range_pairs, table) = (slug.clone(), range_pairs.clone(), table.clone());
        move |order: TableOrder<UserSort>, page: u32| {
            let mut pairs = range_pairs.clone();
            let state = UserTableQuery { sort: order.sort, direction: order.direction, page, ..table.clone() };
            pairs.extend(state.to_query());
            format!("/teams/{slug}/users{}", query_string(&pairs))
        }
    };
    let sort_href = {
        let table_href = table_href.clone();
        Callback::new(move |order: TableOrder<UserSort>| table_href(order, 1))
    };
    let current = table.order();
    let top_bars = ChartBar::from_rows(&top, |key| Some(detail(key)));
    let rows = users
        .rows
        .iter()
        .map(|r| {
            let DimensionValue::User { id, email, .. } = &r.keys[0] else { return ().into_any() };
            view! {
                <tr data-key=id.to_string()>
                    <td><a href=detail(&id.to_string()) data-user-link=id.to_string()>{r.keys[0].label()}</a></td>
                    <td>{email.clone()}</td>
                    <MetricCell metric=Metric::Tokens value=r.values[0]/>
                    <MetricCell metric=Metric::Products value=r.values[1]/>
                    <MetricCell metric=Metric::UserDays value=r.values[2]/>
                    <MetricCell metric=Metric::LastUsed value=r.values[3]/>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let export_params = ExportParams {
        q: Some(table.search.clone()),
        sort: Some(table.sort.as_str().to_owned()),
        dir: Some(table.direction.as_str().to_owned()),
        ..view_params(&range)
    };
    let page = table.page;
    let prev = (page > 1).then(|| table_href(table.order(), page - 1));
    let next = (page < pages).then(|| table_href(table.order(), page + 1));
    view! {
        <Title text=format!("{} · By user · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Users>
            <section>
                <RangePicker range=range.clone()/>
                <ExportBar team=slug.clone() report=ExportReport::ByUser params=export_params/>
                <h3>"Top users"</h3>
                <BarsChart bars=top_bars name="top-users"/>
                <Form method="GET" action="" attr:class="user-search">
                    // A search keeps the range and the order.
                    {range_pairs.into_iter().chain(kept_query(&[&["sort", "dir"]])).map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                    <label class="visually-hidden" for="user-search">"Search name or e-mail"</label>
                    <input type="search" id="user-search" name="q" placeholder="Search name or e-mail" value=table.search.clone()/>
                    <button type="submit">"Search"</button>
                </Form>
                <p class="muted table-count" data-total-rows=users.total_rows.to_string()>
                    {format!("{} users · page {page} of {pages}", users.total_rows)}
                </p>
                <table class="data users-table">
                    <thead>
                        <tr>
                            <SortHeader title="Name" sort=UserSort::Name current=current href=sort_href/>
                            <th>"E-mail"</th>
                            <SortHeader title="Tokens" sort=UserSort::Tokens current=current href=sort_href numeric=true/>
                            <SortHeader title="Products" sort=UserSort::Products current=current href=sort_href numeric=true/>
                            <SortHeader title="Days used" sort=UserSort::UserDays current=current href=sort_href numeric=true/>
                            <SortHeader title="Last used" sort=UserSort::LastUsed current=current href=sort_href numeric=true/>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <nav class="pager" aria-label="Pages of users">
                    {prev.map(|href| view! { <a class="chip" rel="prev" href=href>"← Previous"</a> })}
                    {next.map(|href| view! { <a class="chip" rel="next" href=href>"Next →"</a> })}
                </nav>
            </section>
        </TeamLayout>
    }
}
