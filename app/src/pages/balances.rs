//! `/balances` (DESIGN §3.5): every team the admin may see — a donut of used
//! and available tokens, the packs with their expiry, what expires within 90
//! days, the last 90 days' use and token events.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::report::views::TeamBalanceView;

use crate::api::reports::load_balances;
use crate::components::chart::Donut;
use crate::components::error_view::ErrorView;
use crate::components::header::Header;
use crate::components::kpi::{Kpi, group_thousands};
use crate::components::layout::FreshnessLine;
use crate::pages::summary::{AVAILABLE_HELP, RunOutKpis, USED_HELP};

#[component]
pub fn BalancesPage() -> impl IntoView {
    let resource = screen_resource(|| (), |_| load_balances());
    view! {
        <Title text="Balances · Tokenboard"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match resource.await {
                    Ok(screen) => view! {
                        <Header email=screen.viewer.email teams=screen.viewer.teams current=None query=String::new()/>
                        <main class="page" id="content">
                            <h1 class="page-title">"Balances"</h1>
                            {screen.teams.into_iter().map(|(t, freshness)| view! { <TeamBalance t freshness/> }).collect_view()}
                        </main>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamBalance(t: TeamBalanceView, freshness: tokenboard::domain::imports::Freshness) -> impl IntoView {
    let b = t.balance;
    let packs = t
        .packs
        .iter()
        .map(|p| {
            let status = p.status();
            view! {
                <tr data-key=p.id.to_string() class:expired=!p.active>
                    <td>{p.purchased_on.to_string()}</td>
                    <td>{p.expires_on.to_string()}</td>
                    <td>{status}</td>
                    <td class="num" data-metric="tokens" data-value=p.tokens.to_string()>{group_thousands(p.tokens)}</td>
                    <td class="num" data-metric="used" data-value=p.used.to_string()>{group_thousands(p.used)}</td>
                    <td class="num" data-metric="remaining" data-value=p.remaining.to_string()>{group_thousands(p.remaining)}</td>
                    <td class="num" data-metric="expired_unused" data-value=p.expired_unused.to_string()>{group_thousands(p.expired_unused)}</td>
                </tr>
            }
        })
        .collect_view();
    let events = t
        .events
        .iter()
        .map(|e| view! { <li>{format!("{} · {} · {}", e.date, e.kind.label(), group_thousands(e.amount))}</li> })
        .collect_view();
    view! {
        <section class="team-balance" data-team=t.team.slug.clone() data-overdraft=b.overdraft.to_string()>
            <h2><a href=format!("/teams/{}/summary", t.team.slug)>{t.team.name.clone()}</a></h2>
            <FreshnessLine freshness/>
            <p><a href=format!("/teams/{}/packs", t.team.slug)>"Packs, moves and adjustments"</a></p>
            <div class="balance-row">
                <Donut used=b.used available=b.available/>
                <div class="kpis">
                    <Kpi name="tokens-available" label="Available" value=b.available tone=t.outlook.urgency.as_str()
                        help=AVAILABLE_HELP/>
                    <RunOutKpis outlook=t.outlook/>
                    <Kpi name="tokens-used-active" label="Used" value=b.used help=USED_HELP/>
                    <Kpi name="tokens-total" label="Purchased (active packs)" value=b.total help="Tokens of the packs that have not expired."/>
                    <Kpi name="expiring-90" label="Expiring within 90 days" value=t.expiring_90 help="Unused tokens of active packs whose expiry is within 90 days: lost unless used."/>
                    <Kpi name="tokens-90" label="Used, past 90 days" value=t.tokens_90 help="Tokens charged in the last 90 days, today included."/>
                    <Kpi name="products-90" label="Products, past 90 days" value=t.products_90 help="Distinct products used in the last 90 days."/>
                    <Kpi name="users-90" label="Users, past 90 days" value=t.users_90 help="Distinct people with any charge in the last 90 days."/>
                </div>
            </div>
            <div class="table-scroll">
                <table class="data packs-table">
                    <thead><tr><th scope="col">"Purchased"</th><th scope="col">"Expires"</th><th scope="col">"Status"</th><th scope="col" class="num">"Tokens"</th><th scope="col" class="num">"Used"</th><th scope="col" class="num">"Remaining"</th><th scope="col" class="num">"Expired unused"</th></tr></thead>
                    <tbody>{packs}</tbody>
                </table>
            </div>
            <ul class="events-list">{events}</ul>
        </section>
    }
}
