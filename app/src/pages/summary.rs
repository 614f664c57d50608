//! `/teams/{team}/summary` (DESIGN §3.2): today's balance with its run-out
//! and colour, today's usage and recent token events; for the selected range
//! the totals, the change vs the previous period and the tokens-over-time
//! chart (compared with the previous period, or stacked by product).

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::model::SummaryView;
use tokenboard::domain::outlook::Outlook;
use tokenboard::domain::range::short_date;

use crate::api::TeamScreen;
use crate::api::reports::{SummaryRequest, load_summary};
use crate::components::chart::{ChartToggle, Donut, SeriesChart, SeriesExtras, bucket_drill, chart_option};
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::kpi::{Help, Kpi, group_thousands};
use crate::components::layout::{
    LoadScreen, RANGE_KEYS, Tab, TeamLayout, kept_query, query_string, use_param, use_query_param, use_range_query,
};
use crate::components::range_picker::RangePicker;
use tokenboard::export::ExportReport;

/// What the balance tiles count, for their (i); Summary and Balances say the same.
pub const AVAILABLE_HELP: &str = "Unused tokens of the active packs, minus any overdraft. Amber below 20% of the total, \
                                  red at an alert threshold or within 30 days of run-out.";
pub const USED_HELP: &str = "Tokens the active packs have paid for so far, plus any overdraft.";

#[component]
pub fn SummaryPage() -> impl IntoView {
    let team = use_param("team");
    let range = use_range_query();
    let (stack, compare) = (use_query_param("stack"), use_query_param("compare"));
    let resource = screen_resource(
        move || SummaryRequest {
            team: team(),
            range: range(),
            stacked: stack().as_deref() == Some("product"),
            compare: compare().as_deref() == Some("previous"),
        },
        load_summary,
    );
    view! { <LoadScreen resource render=|screen| view! { <SummaryScreen screen/> }/> }
}

#[component]
fn SummaryScreen(screen: TeamScreen<SummaryView>) -> impl IntoView {
    let s = screen.data.clone();
    view! {
        <Title text=format!("{} · Summary · Tokenboard", s.team.name)/>
        <TeamLayout viewer=screen.viewer team=screen.team freshness=screen.freshness tab=Tab::Summary>
            <Today s=s.clone()/>
            <RangeSection s/>
        </TeamLayout>
    }
}

/// The run-out tiles of Summary and Balances: the date and the days left,
/// coloured like the balance (`data-value` empty when the packs outlast the
/// forecast's year).
#[component]
pub fn RunOutKpis(outlook: Outlook) -> impl IntoView {
    let tone = outlook.urgency.as_str();
    let date = outlook.run_out.map(|d| short_date(d, true)).unwrap_or_else(|| "Not within 12 months".into());
    let days = outlook.days_left.map(group_thousands).unwrap_or_else(|| "365+".into());
    view! {
        <Kpi name="run-out-date" label="Projected run-out" value=0 tone text=date
            raw=outlook.run_out.map(|d| d.to_string()).unwrap_or_default()
            help="The first day the active packs no longer cover use at the last 30 days' rate."/>
        <Kpi name="days-left" label="Days left" value=0 tone text=days
            raw=outlook.days_left.map(|d| d.to_string()).unwrap_or_default()
            help="Whole days from today until the projected run-out."/>
    }
}

#[component]
fn Today(s: SummaryView) -> impl IntoView {
    let b = s.balance;
    let events = s.events.clone();
    let has_events = !events.is_empty();
    let tone = s.outlook.urgency.as_str();
    view! {
        <section class="today" aria-labelledby="today-heading">
            <h2 id="today-heading">{format!("Today, {} ({})", short_date(s.today, true), s.time_zone)}</h2>
            <div class="balance-row">
                <Donut used=b.used available=b.available/>
                <div class="kpis">
                    <Kpi name="tokens-available" label="Tokens available" value=b.available tone
                        note={balance_note(b, s.outlook)}
                        help=AVAILABLE_HELP/>
                    <RunOutKpis outlook=s.outlook/>
                    <Kpi name="tokens-used-active" label="Used from active packs" value=b.used help=USED_HELP/>
                    <Kpi name="tokens-total" label="Total in active packs" value=b.total
                        help="Tokens of the packs that have not expired: available plus used."/>
                    <Kpi name="tokens-today" label="Used today" value=s.tokens_today
                        help="Tokens charged for today, in the team's time zone."/>
                </div>
            </div>
            <details class="events" open=has_events>
                <summary>{format!("Token events, last 90 days ({})", events.len())}</summary>
                {if events.is_empty() {
                    view! { <p class="muted">"No purchases, expirations or overdrafts in the last 90 days."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-scroll">
                            <table class="data events-table">
                                <thead><tr><th scope="col">"Date"</th><th scope="col">"Event"</th><th scope="col" class="num">"Tokens"</th></tr></thead>
                                <tbody>
                                    {events.into_iter().map(|e| view! {
                                        <tr data-event={<&'static str>::from(e.kind)}>
                                            <td>{e.date.to_string()}</td>
                                            <td>{e.kind.label()}</td>
                                            <td class="num" data-value=e.amount.to_string()>{group_thousands(e.amount)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </details>
        </section>
    }
}

/// Why the tile has its colour, in words (the colour alone says nothing to
/// a screen reader or a colour-blind admin).
fn balance_note(b: tokenboard::domain::model::Balance, outlook: Outlook) -> String {
    use tokenboard::domain::outlook::{RUN_OUT_WARNING_DAYS, Urgency};
    if b.overdraft > 0 {
        format!("{} overdrawn", group_thousands(b.overdraft))
    } else if b.total <= 0 {
        "no active pack".into()
    } else {
        match outlook.urgency {
            Urgency::Critical if outlook.days_left.is_some_and(|d| d <= RUN_OUT_WARNING_DAYS) => {
                "runs out within 30 days".into()
            }
            Urgency::Critical => "at an alert threshold".into(),
            Urgency::Low => "below 20% of total".into(),
            Urgency::Healthy => String::new(),
        }
    }
}

/// "+12.5% vs previous 30 days", or "n/a" when the data does not reach back
/// over the whole previous period (a comparison with missing days misleads).
fn change_note(s: &SummaryView, now: i64, before: i64) -> String {
    let days = s.range.days_label();
    if !s.previous_covered {
        return format!("n/a: no data for all of the previous {days} days");
    }
    SummaryView::change_percent(now, before).map(|p| format!("{p:+.1}% vs previous {days} days")).unwrap_or_default()
}

#[component]
fn RangeSection(s: SummaryView) -> impl IntoView {
    let slug = s.team.slug.clone();
    let (comparing, _) = chart_option("compare", "previous");
    let extras = SeriesExtras {
        previous: comparing.then(|| s.previous_series.clone()),
        stacked: s.stacked.clone(),
        drill: Some(bucket_drill(&format!("/teams/{slug}/summary"))),
        // A product's segment opens that product for the same range.
        segment_href: Some(format!("/teams/{slug}/products/{{product}}{}", query_string(&kept_query(&[RANGE_KEYS])))),
    };
    view! {
        <section class="range" aria-label="Selected range">
            <RangePicker range=s.range.clone()/>
            <ExportBar team=slug.clone() report=ExportReport::Summary params=view_params(&s.range)/>
            <div class="kpis">
                <Kpi name="range-tokens" label="Tokens used" value=s.range_tokens note={change_note(&s, s.range_tokens, s.previous_range_tokens)}
                    help="Tokens charged in the range, both ends included."/>
                <Kpi name="range-products" label="Products used" value=s.range_products note={change_note(&s, s.range_products, s.previous_range_products)}
                    help="Distinct products with any charge in the range."/>
                <Kpi name="range-users" label="Users" value=s.range_users note={change_note(&s, s.range_users, s.previous_range_users)}
                    help="Distinct people with any charge in the range."/>
            </div>
            <div class="chart-head">
                <h3>"Tokens over time"<Help text="Each bar is one bucket of the range; lighter bars are cut by the range's ends. Click a bar for its days."/></h3>
                <div class="chart-options" role="group" aria-label="Chart options">
                    <ChartToggle key="compare" value="previous" label="Compare with previous period"/>
                    <ChartToggle key="stack" value="product" label="Stack by product"/>
                </div>
            </div>
            <SeriesChart points=s.series.clone() granularity=s.range.granularity extras/>
        </section>
    }
}
