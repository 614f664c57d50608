//! Delivering alert events to team webhooks (DESIGN §8, issue 10 item 5):
//! never to an internal address the operator did not allow — checked on the
//! addresses the host name resolves to at send time (a DNS answer that
//! changed since the URL was saved is caught here) and on literal-IP URLs —
//! no redirects, no proxies, a short timeout, and every body signed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokenboard::Db;
use tokenboard::notify::alerts::{self, WebhookEvent};
use tokenboard::notify::webhooks::{EVENT_ID_HEADER, SIGNATURE_HEADER, WebhookPolicy, signature};

/// A webhook that does not answer within this is retried later.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves like the system does, then drops every internal address the
/// policy does not allow for that name; nothing left is an error.
struct PublicOnly(WebhookPolicy);

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|a| policy.allows_address(&host, a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The webhook sender: its HTTP client and the policy it enforces.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    policy: WebhookPolicy,
}

impl WebhookSender {
    pub fn new(policy: WebhookPolicy) -> WebhookSender {
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(WEBHOOK_TIMEOUT)
            // A redirect would re-send the body to a host nobody checked.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past our resolver.
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly(policy.clone())))
            .build()
            .expect("the webhook client builds");
        WebhookSender { client, policy }
    }

    /// One attempt at one claimed event.
    async fn deliver(&self, event: &WebhookEvent) -> Result<(), String> {
        // Literal addresses never reach the resolver: check them here.
        let url = self.policy.check_url(&event.url)?;
        let secret = event.secret.as_deref().ok_or("the webhook has no signing secret: save its URL again")?;
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(secret, Utc::now().timestamp(), &event.payload))
            .header(EVENT_ID_HEADER, event.id)
            .body(event.payload.clone())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("the webhook answered {}", r.status())),
            Err(e) => Err(format!("the webhook could not be reached: {}", error_chain(&e))),
        }
    }

    /// Posts every due event once (see [`alerts::claim_webhooks`]); returns
    /// how many were delivered.
    pub async fn send_due(&self, db: &Db) -> tokenboard::error::Result<usize> {
        let mut sent = 0;
        for event in alerts::claim_webhooks(db, Utc::now(), 50).await? {
            let result = self.deliver(&event).await;
            if let Err(e) = &result {
                tracing::warn!(event = event.id, error = %e, "webhook not delivered");
            }
            sent += usize::from(result.is_ok());
            let outcome = if result.is_ok() { "delivered" } else { "failed" };
            metrics::counter!("tokenboard_webhook_deliveries_total", "outcome" => outcome).increment(1);
            alerts::mark_webhook(db, event.id, result, Utc::now()).await?;
        }
        Ok(sent)
    }
}

/// reqwest's own message hides the cause ("error sending request"): add it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
