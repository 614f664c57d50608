//! `/teams/{team}/users` (DESIGN §3.4): the top users as a chart, and every
//! user in a searchable, sortable table paginated on the server. A name opens
//! the user's detail.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use tokenboard::report::views::{UserSort, UserTableQuery, UsersView};
use tokenboard::report::{DimensionValue, Direction, Metric, Order};

use crate::api::{TeamScreen, UsersRequest, load_users};
use crate::components::chart::{BarsChart, ChartBar};
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::layout::{
    LoadScreen, Tab, TeamLayout, query_string, use_param, use_query_param, use_range_query,
};
use crate::components::range_picker::RangePicker;
use crate::components::table::{MetricCell, SortHeader};
use tokenboard::export::{ExportParams, ExportReport};

#[component]
pub fn UsersPage() -> impl IntoView {
    let team = use_param("team");
    let range = use_range_query();
    let (search, sort, dir, page) =
        (use_query_param("q"), use_query_param("sort"), use_query_param("dir"), use_query_param("page"));
    let resource = Resource::new(
        move || {
            let sort = sort().as_deref().and_then(UserSort::parse).unwrap_or_default();
            UsersRequest {
                team: team(),
                range: range(),
                table: UserTableQuery {
                    search: search().unwrap_or_default(),
                    sort,
                    direction: dir().as_deref().and_then(Direction::parse).unwrap_or(sort.default_direction()),
                    page: page().and_then(|p| p.parse().ok()).unwrap_or(1),
                },
            }
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
    let range_query = range.query();
    let detail = {
        let (slug, q) = (slug.clone(), range_query.clone());
        move |id: &str| format!("/teams/{slug}/users/{id}{q}")
    };
    // A link to this table with some of its state changed.
    let table_href = {
        let (slug, range, table) = (slug.clone(), range.clone(), table.clone());
        move |sort: UserSort, direction: Direction, page: u32| {
            let mut pairs = range.url_pairs();
            pairs.push(("q", table.search.clone()));
            pairs.push(("sort", sort.as_str().to_owned()));
            pairs.push(("dir", direction.as_str().to_owned()));
            if page > 1 {
                pairs.push(("page", page.to_string()));
            }
            format!("/teams/{slug}/users{}", query_string(&pairs))
        }
    };
    let sort_href = {
        let table_href = table_href.clone();
        Callback::new(move |(sort, dir): (String, Direction)| {
            table_href(UserSort::parse(&sort).unwrap_or_default(), dir, 1)
        })
    };
    // SortHeader speaks metric names; map the table's sort onto one.
    let current = Order { by: table.sort.order_by(), direction: table.direction };
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
    let prev = (page > 1).then(|| table_href(table.sort, table.direction, page - 1));
    let next = (page < pages).then(|| table_href(table.sort, table.direction, page + 1));
    view! {
        <Title text=format!("{} · By user · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() tab=Tab::Users range_query=range_query.clone()>
            <section>
                <RangePicker range=range.clone()/>
                <ExportBar team=slug.clone() report=ExportReport::ByUser params=export_params/>
                <h3>"Top users"</h3>
                <BarsChart bars=top_bars name="top-users"/>
                <Form method="GET" action="" attr:class="user-search">
                    {range.url_pairs().into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                    <input type="search" name="q" placeholder="Search name or e-mail" value=table.search.clone()/>
                    <button type="submit">"Search"</button>
                </Form>
                <p class="muted table-count" data-total-rows=users.total_rows.to_string()>
                    {format!("{} users · page {page} of {pages}", users.total_rows)}
                </p>
                <table class="data users-table">
                    <thead>
                        <tr>
                            <SortHeader title="Name" sort="name" current=current href=sort_href/>
                            <th>"E-mail"</th>
                            <SortHeader title="Tokens" sort="tokens" current=current href=sort_href numeric=true/>
                            <SortHeader title="Products" sort="products" current=current href=sort_href numeric=true/>
                            <SortHeader title="Days used" sort="user_days" current=current href=sort_href numeric=true/>
                            <SortHeader title="Last used" sort="last_used" current=current href=sort_href numeric=true/>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <nav class="pager">
                    {prev.map(|href| view! { <a class="chip" rel="prev" href=href>"← Previous"</a> })}
                    {next.map(|href| view! { <a class="chip" rel="next" href=href>"Next →"</a> })}
                </nav>
            </section>
        </TeamLayout>
    }
}
