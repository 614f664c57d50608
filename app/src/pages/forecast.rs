//! `/teams/{team}/forecast` (DESIGN §3.6): burn rate, projected run-out,
//! tokens forecast to expire unused and the purchase that covers 3, 6 or 12
//! months — all from simulating the consumption order forward.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::range::short_date;
use tokenboard::report::views::ForecastView;

use crate::api::TeamScreen;
use crate::api::reports::{ReportRequest, load_forecast};
use crate::components::kpi::{Kpi, group_thousands};
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param, use_range_query};

#[component]
pub fn ForecastPage() -> impl IntoView {
    let team = use_param("team");
    let range = use_range_query();
    let resource = screen_resource(move || ReportRequest { team: team(), range: range() }, load_forecast);
    view! { <LoadScreen resource render=|screen| view! { <ForecastScreen screen/> }/> }
}

#[component]
fn ForecastScreen(screen: TeamScreen<ForecastView>) -> impl IntoView {
    let ForecastView { forecast: f, outlook } = screen.data.clone();
    let balance = f.balance;
    let run_out = f.run_out.map_or("not within 12 months".to_string(), |d| short_date(d, true));
    let purchases = f
        .purchase_needed
        .iter()
        .map(|(months, tokens)| {
            view! {
                <tr data-key=months.to_string()>
                    <td>{format!("Next {months} months")}</td>
                    <td class="num" data-metric="purchase" data-value=tokens.to_string()>{group_thousands(*tokens)}</td>
                </tr>
            }
        })
        .collect_view();
    let expirations = f
        .expirations
        .iter()
        .map(|(date, tokens)| view! { <li data-date=date.to_string() data-value=tokens.to_string()>{format!("{}: {} tokens", short_date(*date, true), group_thousands(*tokens))}</li> })
        .collect_view();
    view! {
        <Title text=format!("{} · Forecast · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Forecast>
            <section>
                <h2>"Forecast"</h2>
                <p class="muted">"Projects the last 30 days' burn rate forward through the packs' consumption order."</p>
                <div class="kpis">
                    <Kpi name="tokens-available" label="Available today" value=balance.available tone=outlook.urgency.as_str()/>
                    <crate::pages::summary::RunOutKpis outlook/>
                    <Kpi name="burn-30" label="Tokens per day, last 30 days" value=f.burn_30.round() as i64/>
                    <Kpi name="burn-90" label="Tokens per day, last 90 days" value=f.burn_90.round() as i64/>
                    <Kpi name="expiring-unused" label="Forecast to expire unused" value=f.expiring_unused/>
                </div>
                <p class="run-out" data-run-out=f.run_out.map(|d| d.to_string()).unwrap_or_default()>"Projected run-out: "<strong>{run_out}</strong></p>
                <h3>"Recommended purchase"</h3>
                <table class="data purchase-table">
                    <thead><tr><th>"To cover"</th><th class="num">"Tokens to buy"</th></tr></thead>
                    <tbody>{purchases}</tbody>
                </table>
                <h3>"Projected expirations"</h3>
                <ul class="expirations">{expirations}</ul>
            </section>
        </TeamLayout>
    }
}
