//! `/outbox`: every mail Tokenboard sent or will send about the admin's
//! teams. Without SMTP (`TOKENBOARD_SMTP_URL`) this is where mails land.

use crate::api::screen_resource;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin::{OutboxEntry, OutboxScreen, load_outbox};
use crate::components::error_view::ErrorView;
use crate::components::header::Header;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let resource = screen_resource(|| (), |_| load_outbox());
    view! {
        <Title text="Outbox · Tokenboard"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match resource.await {
                    Ok(screen) => view! { <OutboxView screen/> }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OutboxView(screen: OutboxScreen) -> impl IntoView {
    let note = if screen.smtp {
        "Mails are delivered by SMTP; this is what was sent and what is waiting."
    } else {
        "No SMTP server is configured (TOKENBOARD_SMTP_URL), so mails wait here instead of being sent."
    };
    let mails = screen
        .mails
        .into_iter()
        .map(|OutboxEntry { team, mail }| {
            let status = match (&mail.sent_at, &mail.given_up_at, &mail.last_error) {
                (Some(at), _, _) => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
                (None, Some(at), error) => format!(
                    "given up {} after {} attempts: {}",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    mail.attempts,
                    error.as_deref().unwrap_or("")
                ),
                (None, None, Some(error)) => format!("not sent yet ({} attempts, trying again): {error}", mail.attempts),
                (None, None, None) => "waiting".into(),
            };
            view! {
                <article class="mail" data-key=mail.id.to_string()>
                    <header>
                        <strong class="subject">{mail.subject.clone()}</strong>
                        <span class="muted">{format!(" · {team} · {}", mail.created_at.format("%Y-%m-%d %H:%M UTC"))}</span>
                    </header>
                    <p class="muted">"To: "{mail.recipients.replace(',', ", ")}" · "<span class="status">{status}</span></p>
                    <pre class="body">{mail.body.clone()}</pre>
                </article>
            }
        })
        .collect_view();
    view! {
        <Header email=screen.viewer.email teams=screen.viewer.teams current=None query=String::new()/>
        <main class="page" id="content">
            <h1 class="page-title">"Outbox"</h1>
            <p class="muted">{note}</p>
            {mails}
        </main>
    }
}
