//! `/teams/{team}/summary` (DESIGN §3.2): today's balance, today's usage and
//! recent token events; for the selected range the totals, the change vs the
//! previous period and the tokens-over-time chart.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use tokenboard::domain::model::SummaryView;
use tokenboard::domain::range::{RangeQuery, short_date};

use crate::api::reports::{SummaryPageData, SummaryRequest, load_summary};
use crate::components::chart::SeriesChart;
use crate::components::error_view::ErrorView;
use crate::components::export_bar::{ExportBar, view_params};
use crate::components::kpi::{Kpi, group_thousands};
use crate::components::layout::{Tab, TeamLayout};
use crate::components::range_picker::RangePicker;
use tokenboard::export::ExportReport;

#[component]
pub fn SummaryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        let q = query.read();
        SummaryRequest {
            team: params.read().get("team").unwrap_or_default(),
            range: RangeQuery {
                range: q.get("range"),
                from: q.get("from"),
                to: q.get("to"),
                granularity: q.get("granularity"),
            },
        }
    };
    let data = Resource::new(request, load_summary);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <SummaryScreen page/> }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SummaryScreen(page: SummaryPageData) -> impl IntoView {
    let SummaryPageData { viewer, freshness, summary: s } = page;
    view! {
        <Title text=format!("{} · Summary · Tokenboard", s.team.name)/>
        <TeamLayout viewer team=s.team.clone() freshness tab=Tab::Summary range_query=s.range.query()>
            <Today s=s.clone()/>
            <RangeSection s/>
        </TeamLayout>
    }
}

#[component]
fn Today(s: SummaryView) -> impl IntoView {
    let b = s.balance;
    let low = b.is_low();
    let events = s.events.clone();
    let has_events = !events.is_empty();
    view! {
        <section class="today">
            <h2>{format!("Today, {} ({})", short_date(s.today, true), s.time_zone)}</h2>
            <div class="kpis">
                <Kpi name="tokens-available" label="Tokens available" value=b.available alert=low
                    note={balance_note(b)}/>
                <Kpi name="tokens-used-active" label="Used from active packs" value=b.used/>
                <Kpi name="tokens-total" label="Total in active packs" value=b.total/>
                <Kpi name="tokens-today" label="Used today" value=s.tokens_today/>
            </div>
            <details class="events" open=has_events>
                <summary>{format!("Token events, last 90 days ({})", events.len())}</summary>
                {if events.is_empty() {
                    view! { <p class="muted">"No purchases, expirations or overdrafts in the last 90 days."</p> }.into_any()
                } else {
                    view! {
                        <table class="data events-table">
                            <thead><tr><th>"Date"</th><th>"Event"</th><th class="num">"Tokens"</th></tr></thead>
                            <tbody>
                                {events.into_iter().map(|e| view! {
                                    <tr data-event=format!("{:?}", e.kind).to_lowercase()>
                                        <td>{e.date.to_string()}</td>
                                        <td>{e.kind.label()}</td>
                                        <td class="num" data-value=e.amount.to_string()>{group_thousands(e.amount)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </details>
        </section>
    }
}

fn balance_note(b: tokenboard::domain::model::Balance) -> String {
    if b.overdraft > 0 {
        format!("{} overdrawn", group_thousands(b.overdraft))
    } else if b.is_low() {
        "below 20% of total".into()
    } else {
        String::new()
    }
}

#[component]
fn RangeSection(s: SummaryView) -> impl IntoView {
    let days = s.range.days_label();
    let change = |now: i64, before: i64| {
        SummaryView::change_percent(now, before)
            .map(|p| format!("{p:+.1}% vs previous {days} days"))
            .unwrap_or_default()
    };
    view! {
        <section class="range">
            <RangePicker range=s.range.clone()/>
            <ExportBar team=s.team.slug.clone() report=ExportReport::Summary params=view_params(&s.range)/>
            <div class="kpis">
                <Kpi name="range-tokens" label="Tokens used" value=s.range_tokens note={change(s.range_tokens, s.previous_range_tokens)}/>
                <Kpi name="range-products" label="Products used" value=s.range_products note={change(s.range_products, s.previous_range_products)}/>
                <Kpi name="range-users" label="Users" value=s.range_users note={change(s.range_users, s.previous_range_users)}/>
            </div>
            <h3>"Tokens over time"</h3>
            <SeriesChart points=s.series.clone() granularity=s.range.granularity/>
        </section>
    }
}
