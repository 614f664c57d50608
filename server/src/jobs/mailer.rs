//! Sending the outbox over SMTP with lettre (`TOKENBOARD_SMTP_URL`).

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokenboard::Db;
use tokenboard::notify::mail::{self, OutboxMail};

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the `Message-ID`s: the sender's.
    domain: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("TOKENBOARD_SMTP_URL is not a valid SMTP URL: {0}")]
    Url(String),
    #[error("TOKENBOARD_MAIL_FROM {0:?} is not a mailbox")]
    From(String),
}

impl SmtpMailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<SmtpMailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailerError::Url(e.to_string()))?
            .build();
        let from: Mailbox = from.parse().map_err(|_| MailerError::From(from.to_owned()))?;
        let domain = from.email.domain().to_owned();
        Ok(SmtpMailer { transport, from, domain })
    }

    fn message(&self, mail: &OutboxMail) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(&mail.subject)
            .message_id(Some(mail::message_id(mail.id, mail.created_at, &self.domain)));
        for to in mail.recipients.split(',').filter(|r| !r.is_empty()) {
            builder = builder.to(to.parse::<Mailbox>().map_err(|e| format!("recipient {to:?}: {e}"))?);
        }
        builder.header(ContentType::TEXT_PLAIN).body(Body::new(mail.body.clone())).map_err(|e| e.to_string())
    }

    /// Sends every mail due; a failure is recorded on the mail, which is
    /// tried again later with a growing delay (for `mail::RETRY_FOR`).
    pub async fn deliver_outbox(&self, db: &Db) -> tokenboard::error::Result<usize> {
        let mut sent = 0;
        for mail in mail::unsent(db, Utc::now(), 50).await? {
            let outcome = match self.message(&mail) {
                Ok(message) => self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    metrics::counter!("tokenboard_mail_deliveries_total", "outcome" => "sent").increment(1);
                    mail::mark_sent(db, mail.id, Utc::now()).await?;
                    sent += 1;
                }
                Err(e) => {
                    tracing::warn!(mail = mail.id, error = %e, "mail not sent");
                    metrics::counter!("tokenboard_mail_deliveries_total", "outcome" => "failed").increment(1);
                    mail::mark_failed_attempt(db, &mail, &e, Utc::now()).await?;
                }
            }
        }
        Ok(sent)
    }
}
