//! `/teams/{team}/packs`: the team's token packs with their use today, and
//! the token events of the last 90 days. Primary admins add a pack, correct
//! or void one entered by mistake, move tokens to another team they
//! administer and record manual adjustments. Plain forms: all of it works
//! without JavaScript.

use crate::api::screen_resource;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::domain::model::Role;
use tokenboard::report::views::PackView;

use crate::api::packs::{AdjustTokens, MoveTokens, PacksData, SavePack, VoidPack, load_packs};
use crate::api::{TeamRequest, TeamScreen};
use crate::components::confirm::Confirm;
use crate::components::kpi::group_thousands;
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param};

/// The page's four changes; the page reloads its data after each.
#[derive(Clone, Copy)]
struct PackActions {
    save: ServerAction<SavePack>,
    void: ServerAction<VoidPack>,
    moves: ServerAction<MoveTokens>,
    adjust: ServerAction<AdjustTokens>,
}

#[component]
pub fn PacksPage() -> impl IntoView {
    let team = use_param("team");
    let actions = PackActions {
        save: ServerAction::new(),
        void: ServerAction::new(),
        moves: ServerAction::new(),
        adjust: ServerAction::new(),
    };
    let resource = screen_resource(
        move || {
            let versions = (
                actions.save.version().get(),
                actions.void.version().get(),
                actions.moves.version().get(),
                actions.adjust.version().get(),
            );
            (TeamRequest { team: team() }, versions)
        },
        |(request, _)| load_packs(request),
    );
    view! { <LoadScreen resource render=move |screen| view! { <PacksScreen screen actions/> }/> }
}

/// The answer of the last change: what it did, or why it was refused.
fn outcome(actions: PackActions) -> impl IntoView {
    move || {
        let answers = [
            actions.save.value().get(),
            actions.void.value().get(),
            actions.moves.value().get(),
            actions.adjust.value().get(),
        ];
        answers.into_iter().flatten().last().map(|answer| match answer {
            Ok(message) => view! { <p class="notice" data-done="">{message}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
fn PackForm(slug: String, pack: Option<PackView>, save: ServerAction<SavePack>, today: String) -> impl IntoView {
    let id = pack.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
    let prefix = if id.is_empty() { "new-pack".to_owned() } else { format!("pack-{id}") };
    let field = move |name: &str| format!("{prefix}-{name}");
    let tokens = pack.as_ref().map(|p| p.bought.to_string()).unwrap_or_default();
    let purchased = pack.as_ref().map_or(today, |p| p.purchased_on.to_string());
    let expires = pack.as_ref().map(|p| p.expires_on.to_string()).unwrap_or_default();
    let order_ref = pack.as_ref().map(|p| p.order_ref.clone()).unwrap_or_default();
    let button = if pack.is_some() { "Save correction" } else { "Add pack" };
    view! {
        <ActionForm action=save attr:class="pack-form">
            <input type="hidden" name="team" value=slug/>
            <input type="hidden" name="pack" value=id/>
            <label for=field("tokens")>"Tokens"</label>
            <input type="number" id=field("tokens") name="tokens" min="1" required value=tokens/>
            <label for=field("purchased")>"Purchased on"</label>
            <input type="date" id=field("purchased") name="purchased_on" required value=purchased/>
            <label for=field("expires")>"Expires on"</label>
            <input type="date" id=field("expires") name="expires_on" value=expires/>
            <span class="hint muted">"Empty: one year after the purchase."</span>
            <label for=field("order")>"Order reference"</label>
            <input type="text" id=field("order") name="order_ref" maxlength="200" value=order_ref/>
            <button type="submit">{button}</button>
        </ActionForm>
    }
}

#[component]
fn PackRow(slug: String, pack: PackView, primary: bool, actions: PackActions, today: String) -> impl IntoView {
    let status = pack.status();
    let origin = if pack.moved_in { pack.note.clone() } else { pack.order_ref.clone() };
    let changes = (primary && !pack.moved_in).then(|| {
        let void = actions.void;
        view! {
            <details class="disclosure">
                <summary>"Correct…"</summary>
                <PackForm slug=slug.clone() pack=Some(pack.clone()) save=actions.save today=today.clone()/>
            </details>
            <Confirm label="Void…" question="Void this pack? A pack entered by mistake leaves the ledger; the audit log keeps it.">
                <ActionForm action=void>
                    <input type="hidden" name="team" value=slug.clone()/>
                    <input type="hidden" name="pack" value=pack.id.to_string()/>
                    <button type="submit" class="danger">{format!("Void pack #{}", pack.id)}</button>
                </ActionForm>
            </Confirm>
        }
    });
    view! {
        <tr data-key=pack.id.to_string() class:expired=!pack.active>
            <td>{format!("#{}", pack.id)}</td>
            <td>{pack.purchased_on.to_string()}</td>
            <td>{pack.expires_on.to_string()}</td>
            <td>{status}</td>
            <td class="num" data-metric="tokens" data-value=pack.tokens.to_string()>{group_thousands(pack.tokens)}</td>
            <td class="num" data-metric="used" data-value=pack.used.to_string()>{group_thousands(pack.used)}</td>
            <td class="num" data-metric="remaining" data-value=pack.remaining.to_string()>{group_thousands(pack.remaining)}</td>
            <td>{origin}</td>
            <td>{changes}</td>
        </tr>
    }
}

#[component]
fn PacksScreen(screen: TeamScreen<PacksData>, actions: PackActions) -> impl IntoView {
    let slug = screen.team.slug.clone();
    let primary = screen.team.role == Role::Primary;
    let data = screen.data.clone();
    let today = data.balance.today.to_string();
    let b = data.balance.balance;
    let rows = data
        .balance
        .packs
        .iter()
        .map(|p| view! { <PackRow slug=slug.clone() pack=p.clone() primary actions today=today.clone()/> })
        .collect_view();
    let active: Vec<PackView> = data.balance.packs.iter().filter(|p| p.active).cloned().collect();
    let pack_options = |packs: &[PackView]| {
        packs
            .iter()
            .map(|p| {
                let label = format!("#{} · {} left · expires {}", p.id, group_thousands(p.remaining), p.expires_on);
                view! { <option value=p.id.to_string()>{label}</option> }
            })
            .collect_view()
    };
    let manage = primary.then(|| {
        let targets = data
            .move_targets
            .iter()
            .map(|t| view! { <option value=t.slug.clone()>{t.name.clone()}</option> })
            .collect_view();
        let move_form = (!data.move_targets.is_empty()).then(|| {
            let (slug, options) = (slug.clone(), pack_options(&active));
            view! {
                    <h3>"Move tokens to another team"</h3>
                    <ActionForm action=actions.moves attr:class="pack-form">
                        <input type="hidden" name="team" value=slug.clone()/>
                        <label for="move-to">"To team"</label>
                        <select id="move-to" name="to" required>{targets}</select>
                        <label for="move-pack">"From pack"</label>
                        <select id="move-pack" name="pack" required>{options}</select>
                        <label for="move-tokens">"Tokens"</label>
                        <input type="number" id="move-tokens" name="tokens" min="1" required/>
                        <span class="hint muted">"The other team gets them with this pack's expiry."</span>
                        <button type="submit">"Move tokens"</button>
                    </ActionForm>
            }
        });
        let adjust_options = pack_options(&active);
        view! {
            <section class="pack-changes">
                <h3>"Add a pack"</h3>
                <PackForm slug=slug.clone() pack=None save=actions.save today=today.clone()/>
                {move_form}
                <h3>"Manual adjustment"</h3>
                <ActionForm action=actions.adjust attr:class="pack-form">
                    <input type="hidden" name="team" value=slug.clone()/>
                    <label for="adjust-tokens">"Tokens (+ or −)"</label>
                    <input type="number" id="adjust-tokens" name="tokens" required/>
                    <label for="adjust-pack">"Added to pack"</label>
                    <select id="adjust-pack" name="pack">
                        <option value="">"the active pack that expires last"</option>
                        {adjust_options}
                    </select>
                    <span class="hint muted">"Removed tokens come out in the consumption order."</span>
                    <label for="adjust-reason">"Reason"</label>
                    <input type="text" id="adjust-reason" name="reason" maxlength="200" required/>
                    <button type="submit">"Record adjustment"</button>
                </ActionForm>
            </section>
        }
    });
    let events = data
        .balance
        .events
        .iter()
        .map(|e| {
            let pack = e.pack_id.map(|id| format!("#{id}")).unwrap_or_default();
            view! {
                <tr data-kind=format!("{:?}", e.kind)>
                    <td>{e.date.to_string()}</td>
                    <td>{e.kind.label()}</td>
                    <td>{pack}</td>
                    <td class="num" data-value=e.amount.to_string()>{group_thousands(e.amount)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Title text=format!("{} · Packs · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Packs>
            <section>
                <h2>"Token packs"</h2>
                <p class="balance-line" data-available=b.available.to_string() data-total=b.total.to_string()>
                    {format!(
                        "{} tokens available of {} ({} used)",
                        group_thousands(b.available),
                        group_thousands(b.total),
                        group_thousands(b.used)
                    )}
                </p>
                {outcome(actions)}
                <table class="data packs-table">
                    <thead>
                        <tr>
                            <th>"Pack"</th><th>"Purchased"</th><th>"Expires"</th><th>"Status"</th>
                            <th class="num">"Tokens"</th><th class="num">"Used"</th><th class="num">"Remaining"</th>
                            <th>"Order / origin"</th><th><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
            {manage}
            <section>
                <h3>"Token events, last 90 days"</h3>
                <table class="data events-table">
                    <thead><tr><th>"Date"</th><th>"Event"</th><th>"Pack"</th><th class="num">"Tokens"</th></tr></thead>
                    <tbody>{events}</tbody>
                </table>
            </section>
        </TeamLayout>
    }
}
