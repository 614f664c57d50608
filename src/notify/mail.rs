//! The mail outbox: every e-mail Tokenboard sends is first a row here. A
//! sender (server, with SMTP) delivers and marks it; without SMTP the mails
//! stay for `/outbox` to show. The rules for recipients' addresses are
//! here too, shared with the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::db::{Db, on_db};
#[cfg(feature = "ssr")]
use crate::error::Result;

/// How long an undelivered mail is tried again before it is given up: a
/// day of SMTP trouble (a mail server's maintenance, a full disk, a
/// rejected relay being fixed) loses nothing.
pub const RETRY_FOR: chrono::Duration = chrono::Duration::hours(24);

/// The wait after the `attempts`-th failed delivery: 30 seconds, doubling
/// up to an hour (about 30 attempts in [`RETRY_FOR`]).
pub fn retry_delay(attempts: i64) -> chrono::Duration {
    let doublings = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    chrono::Duration::seconds(30 * 2i64.pow(doublings)).min(chrono::Duration::hours(1))
}

/// The `Message-ID` of outbox mail `id`, the same at every attempt, so a mail
/// sent again after a crash (the server accepted it, the process died before
/// marking it) is recognisable as the same message by mail servers and
/// clients.
pub fn message_id(id: i64, created_at: DateTime<Utc>, domain: &str) -> String {
    format!("<tokenboard.{id}.{}@{domain}>", created_at.timestamp_millis())
}

/// Recipients one mail (a schedule's, a team's alerts) may have.
pub const MAX_RECIPIENTS: usize = 20;

/// E-mail addresses separated by commas, semicolons, spaces or new lines,
/// lower-cased; an error names the first one that is not an address.
pub fn parse_recipients(text: &str) -> Result<Vec<String>, String> {
    let recipients: Vec<String> = text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect();
    if recipients.len() > MAX_RECIPIENTS {
        return Err(format!("at most {MAX_RECIPIENTS} recipients"));
    }
    if let Some(bad) = recipients.iter().find(|r| !is_email(r)) {
        return Err(format!("{} is not an e-mail address", crate::domain::values::quote(bad)));
    }
    Ok(recipients)
}

/// An address the mailer can deliver to, checked where it is entered (an
/// address the mailer's parser refuses would fail at every delivery):
/// RFC 5322 dot-atoms as `lettre` reads them — a local part of non-empty
/// atoms joined by dots, a dotted domain whose labels start and end with a
/// letter or digit — with no spaces or control characters and at most
/// [`crate::domain::values::MAX_EMAIL_CHARS`] characters. (Unlike `lettre`,
/// labels are not held to 63 characters.)
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let atext = |c: char| c.is_alphanumeric() || !c.is_ascii() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let atoms = |part: &str| part.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let label = |l: &str| l.starts_with(char::is_alphanumeric) && l.ends_with(char::is_alphanumeric);
    crate::domain::values::check_text("email", s, crate::domain::values::MAX_EMAIL_CHARS).is_ok()
        && !s.contains(char::is_whitespace)
        && atoms(local)
        && domain.contains('.')
        && atoms(domain)
        && domain.split('.').all(label)
}

/// One mail, as the outbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OutboxMail {
    pub id: i64,
    pub team_id: i64,
    /// Comma-separated addresses.
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Set when it was given up after [`RETRY_FOR`].
    pub given_up_at: Option<DateTime<Utc>>,
}

#[cfg(feature = "ssr")]
const SELECT: &str = "SELECT id, team_id, recipients, subject, body, created_at, sent_at, attempts, last_error,
    given_up_at FROM mail_outbox";

/// Binds, in order: team id, recipients (comma-separated), subject, body,
/// time, and the credential inside the body, if any (see [`for_teams`]).
/// Used directly by changes that mail in their own transaction.
#[cfg(feature = "ssr")]
pub(crate) const INSERT: &str =
    "INSERT INTO mail_outbox (team_id, recipients, subject, body, created_at, secret) VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id";

/// Queues a mail without a credential through `$executor` — the transaction
/// of the change the mail tells about, so the two commit together — and
/// answers the `sqlx::Result` of its id. `$recipients` are comma-separated.
#[cfg(feature = "ssr")]
macro_rules! enqueue_in {
    ($executor:expr, $team_id:expr, $recipients:expr, $subject:expr, $body:expr, $now:expr) => {
        sqlx::query_scalar::<_, i64>($crate::notify::mail::INSERT)
            .bind($team_id)
            .bind($recipients)
            .bind($subject)
            .bind($body)
            .bind($now)
            .bind(None::<String>)
            .fetch_one($executor)
            .await
    };
}
#[cfg(feature = "ssr")]
pub(crate) use enqueue_in;

/// What stands in the outbox for a credential that was delivered by SMTP.
#[cfg(feature = "ssr")]
const SENT_SECRET: &str = "[sent by e-mail]";
/// What stands in the outbox for a credential the viewer may not see.
#[cfg(feature = "ssr")]
const HIDDEN_SECRET: &str = "[hidden]";

#[cfg(feature = "ssr")]
pub async fn enqueue(
    db: &Db,
    team_id: i64,
    recipients: &[String],
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let sql = "INSERT INTO mail_outbox (team_id, recipients, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)
        RETURNING id";
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(team_id)
        .bind(recipients.join(","))
        .bind(subject)
        .bind(body)
        .bind(now)
        .fetch_one(pool)
        .await?))
}

/// Mails due for a delivery attempt at `now` (not delivered, not given up,
/// past their retry delay), oldest first.
#[cfg(feature = "ssr")]
pub async fn unsent(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxMail>> {
    let sql = format!(
        "{SELECT} WHERE sent_at IS NULL AND given_up_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
         ORDER BY id LIMIT $2"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, OutboxMail>(&sql).bind(now).bind(limit).fetch_all(pool).await?))
}

#[cfg(feature = "ssr")]
pub async fn mark_sent(db: &Db, id: i64, now: DateTime<Utc>) -> Result<()> {
    // A delivered credential leaves the outbox: only the recipient holds it now.
    let sql = "UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL,
               body = CASE WHEN secret IS NULL THEN body ELSE REPLACE(body, secret, $3) END, secret = NULL
               WHERE id = $1";
    on_db!(db, |pool| sqlx::query(sql).bind(id).bind(now).bind(SENT_SECRET).execute(pool).await?.rows_affected());
    Ok(())
}

/// Records a failed delivery of `mail` at `now`: it is tried again after
/// [`retry_delay`], or given up once it has waited [`RETRY_FOR`].
#[cfg(feature = "ssr")]
pub async fn mark_failed_attempt(db: &Db, mail: &OutboxMail, error: &str, now: DateTime<Utc>) -> Result<()> {
    let attempts = mail.attempts + 1;
    let (next_attempt, given_up) =
        if now - mail.created_at >= RETRY_FOR { (None, Some(now)) } else { (Some(now + retry_delay(attempts)), None) };
    let sql =
        "UPDATE mail_outbox SET attempts = $2, last_error = $3, next_attempt_at = $4, given_up_at = $5 WHERE id = $1";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(mail.id)
        .bind(attempts)
        .bind(error)
        .bind(next_attempt)
        .bind(given_up)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// The mails of the given teams, newest first. A credential in a mail (a
/// set-password link) shows only for the teams in `show_secrets` (the
/// viewer's teams as a primary admin, when there is no SMTP to deliver it);
/// a credential shown is marked so (`secret_shown`: its link is not private,
/// see `password_links`).
#[cfg(feature = "ssr")]
pub async fn for_teams(db: &Db, team_ids: &[i64], show_secrets: &[i64]) -> Result<Vec<OutboxMail>> {
    let shown = "UPDATE mail_outbox SET secret_shown = TRUE WHERE team_id = $1 AND secret IS NOT NULL";
    let sql = "SELECT id, team_id, recipients, subject,
                      CASE WHEN secret IS NULL OR $2 THEN body ELSE REPLACE(body, secret, $3) END AS body,
                      created_at, sent_at, attempts, last_error, given_up_at
               FROM mail_outbox WHERE team_id = $1 ORDER BY id DESC LIMIT 200";
    let mut mails = Vec::new();
    for team_id in team_ids {
        let show = show_secrets.contains(team_id);
        if show {
            // Marked before it is read: a credential is never shown unmarked.
            on_db!(db, |pool| sqlx::query(shown).bind(team_id).execute(pool).await?.rows_affected());
        }
        mails.extend(on_db!(db, |pool| sqlx::query_as::<_, OutboxMail>(sql)
            .bind(team_id)
            .bind(show)
            .bind(HIDDEN_SECRET)
            .fetch_all(pool)
            .await?));
    }
    mails.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(mails)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_and_span_the_day() {
        assert_eq!(retry_delay(1), chrono::Duration::seconds(30));
        assert_eq!(retry_delay(2), chrono::Duration::seconds(60));
        assert_eq!(retry_delay(8), chrono::Duration::hours(1));
        assert_eq!(retry_delay(500), chrono::Duration::hours(1));
        // The attempts a day of trouble gets: enough, and not a flood.
        let (mut waited, mut attempts) = (chrono::Duration::zero(), 0);
        while waited < RETRY_FOR {
            attempts += 1;
            waited += retry_delay(attempts);
        }
        assert!((25..=35).contains(&attempts), "{attempts}");
    }

    #[test]
    fn addresses_refuse_control_characters_and_length() {
        assert!(is_email("ann@example.com"));
        assert!(!is_email("ann\0@example.com"));
        assert!(!is_email("ann@example.com\0"));
        assert!(!is_email("ann@exa\u{7}mple.com"));
        let local = "a".repeat(64);
        let long = format!("{local}@{}.com", "b".repeat(254));
        assert!(!is_email(&long));
        assert!(is_email(&format!("{local}@{}.com", "b".repeat(180))));
        let err = parse_recipients(&format!("x{}", "\u{1}".repeat(1000))).unwrap_err();
        assert!(err.len() < 300, "{err}");
    }

    /// These passed the old check, and then failed at every delivery.
    #[test]
    fn addresses_the_mailer_cannot_parse_are_refused() {
        for bad in ["a@example..com", ".a@example.com", "a.@example.com", "a..b@example.com", "a@-x.com", "a@x-.com"] {
            assert!(!is_email(bad), "{bad}");
        }
        for bad in ["\"a\"@example.com", "a(b)@example.com", "a;b@example.com", "a\u{a0}b@example.com"] {
            assert!(!is_email(bad), "{bad}");
        }
        for good in ["ann.lee+tokens@mail.example.com", "o'brien@example.ie", "jürgen@bücher.de", "a_b@x-y.example"] {
            assert!(is_email(good), "{good}");
        }
    }
}
