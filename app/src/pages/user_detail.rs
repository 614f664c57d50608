//! `/teams/{team}/users/{user}` (DESIGN §3.4): for each product the user
//! used, days used per week; charges by product version; the day-by-day log.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::range::Granularity;
use tokenboard::report::DimensionValue;
use tokenboard::report::views::UserDetailView;

use crate::api::TeamScreen;
use crate::api::reports::{EraseUser, UserDetailRequest, load_user_detail};
use crate::components::chart::{BarsChart, ChartBar, SeriesChart, SeriesExtras, bucket_drill};
use crate::components::confirm::Confirm;
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::kpi::group_thousands;
use crate::components::layout::{
    LoadScreen, RANGE_KEYS, TABLE_KEYS, Tab, TeamLayout, kept_query, query_string, use_param, use_range_query,
};
use crate::components::range_picker::RangePicker;
use leptos::form::ActionForm;
use tokenboard::domain::model::Role;
use tokenboard::export::{ExportParams, ExportReport};

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let team = use_param("team");
    let user = use_param("user");
    let range = use_range_query();
    let erase = ServerAction::<EraseUser>::new();
    let resource = screen_resource(
        // A non-numeric id can match no user: -1 answers "not found".
        move || {
            erase.version().get();
            UserDetailRequest { team: team(), user: user().parse().unwrap_or(-1), range: range() }
        },
        load_user_detail,
    );
    view! { <LoadScreen resource render=move |screen| view! { <UserDetailScreen screen erase/> }/> }
}

/// Primary admins erase a person for good: names and e-mail become the pseudonym.
#[component]
fn EraseForm(slug: String, user_id: i64, erase: ServerAction<EraseUser>) -> impl IntoView {
    let answer = move || {
        erase.value().get().map(|answer| match answer {
            Ok(message) => view! { <p class="notice" data-erased="">{message}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        {answer}
        <Confirm label="Erase this person…" class="erase"
            question="Erase this person for good? Their names and e-mail become a pseudonym; their usage and every total stay; stored exports that could show them are deleted. This cannot be undone.">
            <ActionForm action=erase>
                <input type="hidden" name="team" value=slug/>
                <input type="hidden" name="user" value=user_id.to_string()/>
                <button type="submit" class="danger" data-erase=user_id.to_string()>"Erase for good"</button>
            </ActionForm>
        </Confirm>
    }
}

#[component]
fn UserDetailScreen(screen: TeamScreen<UserDetailView>, erase: ServerAction<EraseUser>) -> impl IntoView {
    let UserDetailView { range, user, tokens, products, versions, charges } = screen.data.clone();
    let slug = screen.team.slug.clone();
    let back_query = query_string(&kept_query(&[RANGE_KEYS, TABLE_KEYS, &["page"]]));
    let name = format!("{} {}", user.first_name, user.last_name).trim().to_owned();
    let version_bars: Vec<ChartBar> = versions
        .rows
        .iter()
        .map(|r| {
            let (product, version) = match (&r.keys[0], &r.keys[1]) {
                (DimensionValue::Product { slug, name }, DimensionValue::Version(v)) => {
                    ((slug.clone(), name.clone()), v.clone())
                }
                _ => ((String::new(), String::new()), String::new()),
            };
            ChartBar {
                key: format!("{}@{version}", product.0),
                label: format!("{} {}", product.1, if version.is_empty() { "(no version)" } else { &version }),
                value: r.values[0].count(),
                href: None,
            }
        })
        .collect();
    // A week's bar opens this person's page for that week.
    let week_drill = bucket_drill(&format!("/teams/{slug}/users/{}", user.id));
    let weekly = products
        .into_iter()
        .map(|p| {
            let extras = SeriesExtras { drill: Some(week_drill.clone()), ..SeriesExtras::default() };
            view! {
                <div class="product-weeks" data-product=p.product.slug.clone()>
                    <h4>{p.product.name.clone()}</h4>
                    <SeriesChart points=p.weeks granularity=Granularity::Week unit="days" name="days-per-week" extras/>
                </div>
            }
        })
        .collect_view();
    let log = charges
        .into_iter()
        .map(|c| {
            view! {
                <tr>
                    <td>{c.date.to_string()}</td>
                    <td>{c.product}</td>
                    <td>{c.version}</td>
                    <td>{c.feature}</td>
                    <td class="num" data-metric="tokens" data-value=c.tokens.to_string()>{group_thousands(c.tokens)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Title text=format!("{name} · {} · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Users>
            <section class="user-detail" data-user=user.id.to_string()>
                <p class="breadcrumb"><a href=format!("/teams/{slug}/users{back_query}")>"By user"</a>" / "</p>
                <h2>{name.clone()}</h2>
                <p class="muted">{user.email.clone()}" · "<span data-metric="tokens" data-value=tokens.to_string()>{group_thousands(tokens)}" tokens"</span></p>
                <RangePicker range=range.clone()/>
                <ExportBar team=slug.clone() report=ExportReport::User
                    params=ExportParams { user: Some(user.id), ..view_params(&range) }/>
                <h3>"Days used per week"</h3>
                {weekly}
                <h3>"Charges by product version"</h3>
                <BarsChart bars=version_bars unit="charges" name="versions"/>
                <h3>"Charges, day by day"</h3>
                <table class="data charge-log">
                    <thead><tr><th>"Date"</th><th>"Product"</th><th>"Version"</th><th>"Feature"</th><th class="num">"Tokens"</th></tr></thead>
                    <tbody>{log}</tbody>
                </table>
                {(screen.team.role == Role::Primary).then(|| view! { <EraseForm slug=slug.clone() user_id=user.id erase/> })}
            </section>
        </TeamLayout>
    }
}
