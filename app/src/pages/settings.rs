//! `/teams/{team}/settings` (primary admins only): time zone, personal data,
//! alert thresholds and recipients, and the team's API keys (created with a
//! label and shown once, revoked, last use). Every change is audited.

use crate::api::screen_resource;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use tokenboard::access::settings::{ApiKeyInfo, TeamSettings};

use tokenboard::access::team_admins::TeamAdmin;
use tokenboard::domain::model::Role;

use crate::api::admin::{AdminCommand, InviteAdmin};
use crate::api::settings::{CreateApiKey, RevokeApiKey, SaveSettings, SettingsData, load_settings};
use crate::api::{TeamRequest, TeamScreen};
use crate::components::confirm::Confirm;
use crate::components::layout::{LoadScreen, Tab, TeamLayout, use_param};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let team = use_param("team");
    let save = ServerAction::<SaveSettings>::new();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let invite = ServerAction::<InviteAdmin>::new();
    let command = ServerAction::<AdminCommand>::new();
    let resource = screen_resource(
        move || {
            let versions = [
                save.version().get(),
                create.version().get(),
                revoke.version().get(),
                invite.version().get(),
                command.version().get(),
            ];
            (TeamRequest { team: team() }, versions)
        },
        |(request, ..)| load_settings(request),
    );
    view! {
        <LoadScreen resource render=move |screen| view! { <SettingsScreen screen save create revoke invite command/> }/>
    }
}

#[component]
fn SettingsScreen(
    screen: TeamScreen<SettingsData>,
    save: ServerAction<SaveSettings>,
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    invite: ServerAction<InviteAdmin>,
    command: ServerAction<AdminCommand>,
) -> impl IntoView {
    let slug = screen.team.slug.clone();
    let error = move || {
        let errors = [
            save.value().get().and_then(Result::err),
            create.value().get().and_then(Result::err),
            revoke.value().get().and_then(Result::err),
            invite.value().get().and_then(Result::err),
            command.value().get().and_then(Result::err),
        ];
        errors.into_iter().flatten().next().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let saved = move || {
        save.value().get().and_then(Result::ok).map(|changes| {
            let text = if changes.is_empty() {
                "Nothing to change.".to_owned()
            } else {
                format!("Saved: {}.", changes.join("; "))
            };
            view! { <p class="notice" role="status" data-testid="settings-saved">{text}</p> }
        })
    };
    let new_key = move || create.value().get().and_then(Result::ok).map(|key| view! { <ShownOnce text=key/> });
    let waiting = screen.data.shown_once.clone().into_iter().map(|text| view! { <ShownOnce text/> }).collect_view();
    view! {
        <Title text=format!("{} · Settings · Tokenboard", screen.team.name)/>
        <TeamLayout viewer=screen.viewer.clone() team=screen.team.clone() freshness=screen.freshness.clone() tab=Tab::Settings>
            <section>
                <h2>"Team settings"</h2>
                {error}
                {saved}
                {waiting}
                <SettingsForm slug=slug.clone() settings=screen.data.settings.clone() save/>
            </section>
            <section>
                <h2>"Admins"</h2>
                <Admins slug=slug.clone() admins=screen.data.admins.clone() invite command/>
            </section>
            <section>
                <h2>"API keys"</h2>
                <p class="muted">"A key lets a script import usage into this team (see the README's API section)."</p>
                {new_key}
                <ApiKeys slug=slug.clone() keys=screen.data.api_keys.clone() revoke/>
                <ActionForm action=create attr:class="api-key-form">
                    <input type="hidden" name="team" value=slug.clone()/>
                    <label for="api-key-label">"Label"</label>
                    <input type="text" id="api-key-label" name="label" placeholder="nightly import" required/>
                    <button type="submit">"Create key"</button>
                </ActionForm>
            </section>
        </TeamLayout>
    }
}

/// A secret shown once, with a copy button (JavaScript only; without it the
/// text is there to select). "label: secret" shows the label as text.
#[component]
fn ShownOnce(text: String) -> impl IntoView {
    let (label, secret) = match text.rsplit_once(": ") {
        Some((label, secret)) => (format!("{label}: "), secret.to_owned()),
        None => ("New key, copy it now (it is not shown again): ".to_owned(), text),
    };
    let copied = RwSignal::new(None::<&'static str>);
    let value = secret.clone();
    let copy = move |_| {
        // The clipboard exists only on HTTPS (and localhost): elsewhere, say what to do.
        #[cfg(feature = "hydrate")]
        let done = leptos::prelude::window().is_secure_context() && {
            let _ = leptos::prelude::window().navigator().clipboard().write_text(&value);
            true
        };
        #[cfg(not(feature = "hydrate"))]
        let done = value.is_empty();
        copied.set(Some(if done { "Copied" } else { "Select the key and copy it" }));
    };
    view! {
        <p class="notice secret" role="status">
            {label}<code data-testid="new-api-key">{secret}</code>
            <button type="button" class="copy-button" on:click=copy>{move || copied.get().unwrap_or("Copy")}</button>
        </p>
    }
}

/// One setting: its label beside the field, its help below it, read with
/// the field by screen readers (the field names `{id}-help`).
#[component]
fn Setting(id: &'static str, label: &'static str, help: &'static str, children: Children) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <div class="field">
            {children()}
            <small class="hint" id=format!("{id}-help")>{help}</small>
        </div>
    }
}

#[component]
fn SettingsForm(slug: String, settings: TeamSettings, save: ServerAction<SaveSettings>) -> impl IntoView {
    let percents = settings.low_balance_percents.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let on = settings.personal_data;
    view! {
        <ActionForm action=save attr:class="settings-groups">
            <input type="hidden" name="team" value=slug/>
            <fieldset class="settings-form">
                <legend>"Time and privacy"</legend>
                <Setting id="settings-time-zone" label="Time zone"
                    help="An IANA name such as Europe/Berlin: it decides when a day starts for every report.">
                    <input type="text" id="settings-time-zone" name="settings[time_zone]" value=settings.time_zone required
                        aria-describedby="settings-time-zone-help"/>
                </Setting>
                <Setting id="settings-personal-data" label="Personal data"
                    help="Off: names and e-mails never leave the server; stored exports with names are deleted.">
                    <select id="settings-personal-data" name="settings[personal_data]" aria-describedby="settings-personal-data-help">
                        <option value="on" selected=on>"On: show names and e-mails"</option>
                        <option value="off" selected=!on>"Off: show hashed user ids"</option>
                    </select>
                </Setting>
            </fieldset>
            <fieldset class="settings-form">
                <legend>"Alerts"</legend>
                <Setting id="settings-thresholds" label="Low balance alerts (% of total)"
                    help="One mail each time the available tokens fall to a threshold. The balance tiles turn red there.">
                    <input type="text" id="settings-thresholds" name="settings[low_balance_percents]" value=percents
                        placeholder="20, 10" aria-describedby="settings-thresholds-help"/>
                </Setting>
                <Setting id="settings-horizon" label="Expiry alert horizon (days)"
                    help="Warn this many days before a pack with unused tokens expires.">
                    <input type="number" id="settings-horizon" name="settings[expiry_horizon_days]" min="1" max="366"
                        value=settings.expiry_horizon_days.to_string() aria-describedby="settings-horizon-help"/>
                </Setting>
                <Setting id="settings-stale" label="Data is stale after (days)"
                    help="Warn when the newest imported usage is older than this.">
                    <input type="number" id="settings-stale" name="settings[stale_after_days]" min="1" max="90"
                        value=settings.stale_after_days.to_string() aria-describedby="settings-stale-help"/>
                </Setting>
                <Setting id="settings-recipients" label="Alert recipients"
                    help="Comma-separated e-mail addresses.">
                    <input type="text" id="settings-recipients" name="settings[alert_recipients]"
                        value=settings.alert_recipients.join(", ") placeholder="finance@example.com" aria-describedby="settings-recipients-help"/>
                </Setting>
                <Setting id="settings-webhook" label="Alert webhook URL"
                    help="Alerts are also posted here, signed; the secret is shown once when you set it.">
                    <input type="url" id="settings-webhook" name="settings[alert_webhook_url]"
                        value=settings.alert_webhook_url.unwrap_or_default() aria-describedby="settings-webhook-help"/>
                </Setting>
            </fieldset>
            <fieldset class="settings-form">
                <legend>"Scheduled reports"</legend>
                <Setting id="settings-schedule-domains" label="Recipients may also be at (domains)"
                    help="Empty: scheduled reports go to the team's admins only.">
                    <input type="text" id="settings-schedule-domains" name="settings[schedule_recipient_domains]"
                        value=settings.schedule_recipient_domains.join(", ") placeholder="example.com"
                        aria-describedby="settings-schedule-domains-help"/>
                </Setting>
            </fieldset>
            <button type="submit" class="primary">"Save settings"</button>
        </ActionForm>
    }
}

fn when(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

#[component]
fn ApiKeys(slug: String, keys: Vec<ApiKeyInfo>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let rows = keys
        .into_iter()
        .map(|key| {
            let live = key.revoked_at.is_none();
            let slug = slug.clone();
            let question = format!("Revoke the key {:?}? Scripts using it stop working at once.", key.label);
            let revoke_button = live.then(move || {
                view! {
                    <Confirm label="Revoke…" question>
                        <ActionForm action=revoke attr:class="inline">
                            <input type="hidden" name="team" value=slug/>
                            <input type="hidden" name="id" value=key.id.to_string()/>
                            <button type="submit" class="danger" data-command="revoke">"Revoke key"</button>
                        </ActionForm>
                    </Confirm>
                }
            });
            view! {
                <tr data-key=key.id.to_string() data-revoked=(!live).to_string()>
                    <td>{key.label}</td>
                    <td>{when(Some(key.created_at))}</td>
                    <td>{when(key.last_used_at)}</td>
                    <td>{if live { "live".to_owned() } else { format!("revoked {}", when(key.revoked_at)) }}</td>
                    <td class="actions">{revoke_button}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data api-keys-table">
            <thead><tr><th>"Label"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn Admins(
    slug: String,
    admins: Vec<TeamAdmin>,
    invite: ServerAction<InviteAdmin>,
    command: ServerAction<AdminCommand>,
) -> impl IntoView {
    let rows = admins
        .into_iter()
        .map(|admin| {
            let button = |name: &'static str, label: &'static str| {
                let team = slug.clone();
                view! {
                    <ActionForm action=command attr:class="inline">
                        <input type="hidden" name="team" value=team/>
                        <input type="hidden" name="admin_id" value=admin.admin_id.to_string()/>
                        <input type="hidden" name="command" value=name/>
                        <button type="submit" data-command=name>{label}</button>
                    </ActionForm>
                }
            };
            let change = match admin.role {
                Role::Primary => button("secondary", "Make secondary"),
                Role::Secondary => button("primary", "Make primary"),
            };
            let question = format!("Remove {} from this team's admins?", admin.email);
            let remove_form = button("remove", "Remove admin");
            let remove = view! { <Confirm label="Remove…" question>{remove_form}</Confirm> };
            view! {
                <tr data-key=admin.admin_id.to_string() data-role=admin.role.as_str()>
                    <td>{admin.email.clone()}</td>
                    <td>{admin.role.as_str()}</td>
                    <td class="actions">{change}{remove}</td>
                </tr>
            }
        })
        .collect_view();
    let invited = move || {
        invite.value().get().and_then(Result::ok).map(|invited| {
            let text = format!("{} is now an admin of this team and has been sent an e-mail.", invited.email);
            view! { <p class="notice" role="status" data-testid="invited">{text}</p> }
        })
    };
    view! {
        {invited}
        <table class="data admins-table">
            <thead><tr><th>"E-mail"</th><th>"Role"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <ActionForm action=invite attr:class="invite-form">
            <input type="hidden" name="team" value=slug.clone()/>
            <label for="invite-email">"E-mail"</label>
            <input type="email" id="invite-email" name="email" required/>
            <label for="invite-role">"Role"</label>
            <select id="invite-role" name="role">
                <option value="secondary">"Secondary: reports and exports"</option>
                <option value="primary">"Primary: everything, incl. settings"</option>
            </select>
            <button type="submit">"Invite admin"</button>
        </ActionForm>
    }
}
