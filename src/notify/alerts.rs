//! Alerts (issue 5, DESIGN §8): an e-mail, and optionally a webhook event,
//! when a team's available tokens fall to a low-balance threshold, a pack
//! with unused tokens will expire within the team's horizon, or the team's
//! newest usage day is older than its stale-data setting.
//!
//! Each condition alerts once when it starts to hold and is re-armed when it
//! stops holding (a purchase lifts the balance back over the threshold), so
//! one crossing sends one alert however often the check runs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::access::settings::TeamSettings;
use crate::db::{Db, on_db};
use crate::domain::imports::Freshness;
use crate::domain::ledger::PackState;
use crate::domain::model::Balance;
use crate::domain::teams::Team;
use crate::error::Result;

/// One condition and whether it holds today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// Stable name: `low-balance:20`, `expiring:<pack id>`.
    pub key: String,
    pub holds: bool,
    pub event: AlertEvent,
}

/// What an alert says; the webhook receives it as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AlertEvent {
    LowBalance { team: String, threshold_percent: u32, available: i64, total: i64 },
    Expiring { team: String, pack_id: i64, expires_on: NaiveDate, unused_tokens: i64 },
    StaleData { team: String, data_through: NaiveDate, stale_after_days: u32 },
}

impl AlertEvent {
    pub fn subject(&self, team_name: &str) -> String {
        match self {
            AlertEvent::LowBalance { threshold_percent, .. } => {
                format!("Tokenboard: {team_name} is at or below {threshold_percent}% of its tokens")
            }
            AlertEvent::Expiring { expires_on, .. } => {
                format!("Tokenboard: {team_name} has tokens expiring on {expires_on}")
            }
            AlertEvent::StaleData { data_through, .. } => {
                format!("Tokenboard: {team_name} has no usage after {data_through}")
            }
        }
    }

    pub fn body(&self, team_name: &str) -> String {
        match self {
            AlertEvent::LowBalance { threshold_percent, available, total, .. } => format!(
                "{team_name} has {available} of {total} tokens available, at or below the alert threshold of \
                 {threshold_percent}%.\n\nBuy more tokens before they run out."
            ),
            AlertEvent::Expiring { pack_id, expires_on, unused_tokens, .. } => format!(
                "Pack #{pack_id} of {team_name} expires on {expires_on} with {unused_tokens} unused tokens; \
                 unused tokens are lost on that day."
            ),
            AlertEvent::StaleData { data_through, stale_after_days, .. } => format!(
                "The newest usage of {team_name} is from {data_through}, more than {stale_after_days} days ago: \
                 its reports do not show recent use. Import the vendor's latest usage file."
            ),
        }
    }
}

/// Every condition of the team's settings, evaluated on today's balance,
/// packs and data freshness.
pub fn conditions(
    team: &Team,
    settings: &TeamSettings,
    balance: Balance,
    packs: &[PackState],
    freshness: &Freshness,
    today: NaiveDate,
) -> Vec<Condition> {
    let mut conditions: Vec<Condition> = settings
        .low_balance_percents
        .iter()
        .map(|&percent| Condition {
            key: format!("low-balance:{percent}"),
            holds: crate::domain::outlook::at_alert_threshold(balance, percent),
            event: AlertEvent::LowBalance {
                team: team.slug.clone(),
                threshold_percent: percent,
                available: balance.available,
                total: balance.total,
            },
        })
        .collect();
    let horizon = chrono::Days::new(settings.expiry_horizon_days.into());
    conditions.extend(packs.iter().filter(|s| s.pack.is_active_on(today)).map(|state| Condition {
        key: format!("expiring:{}", state.pack.id),
        holds: state.remaining() > 0 && state.pack.expires_on <= today + horizon,
        event: AlertEvent::Expiring {
            team: team.slug.clone(),
            pack_id: state.pack.id,
            expires_on: state.pack.expires_on,
            unused_tokens: state.remaining(),
        },
    }));
    if let Some(data_through) = freshness.data_through {
        conditions.push(Condition {
            key: "stale-data".into(),
            holds: freshness.stale,
            event: AlertEvent::StaleData {
                team: team.slug.clone(),
                data_through,
                stale_after_days: freshness.stale_after_days,
            },
        });
    }
    conditions
}

/// Checks one team: sends what started to hold (mail to the alert
/// recipients, event to the webhook), re-arms what stopped. Returns the
/// events sent.
pub async fn check_team(db: &Db, team: &Team, now: DateTime<Utc>) -> Result<Vec<AlertEvent>> {
    let settings = crate::access::settings::load(db, team.id).await?;
    let today = team.today();
    let ledger = crate::domain::packs::ledger(db, team.id, today).await?;
    let freshness = crate::ingest::import::freshness(db, team).await?;
    let mut sent = Vec::new();
    for condition in conditions(team, &settings, ledger.balance(), &ledger.packs, &freshness, today) {
        let was_active = was_active(db, team.id, &condition.key).await?;
        if condition.holds == was_active {
            continue;
        }
        // The transition and its notices in one transaction: of two
        // checkers only one sends, and a crash between them loses nothing.
        let mail = (!settings.alert_recipients.is_empty() && condition.holds)
            .then(|| (condition.event.subject(&team.name), condition.event.body(&team.name)));
        let webhook = settings.alert_webhook_url.as_ref().filter(|_| condition.holds).map(|url| {
            let payload = serde_json::to_string(&condition.event).expect("alert events serialise");
            // One row per crossing: the condition and the moment it started to hold.
            (url.clone(), payload, format!("{}@{}", condition.key, now.timestamp_millis()))
        });
        let recipients = settings.alert_recipients.join(",");
        let claimed = on_db!(db, |pool| {
            let (_turn, mut tx) = db.write_transaction(pool).await?;
            let changed = sqlx::query(SET_ACTIVE)
                .bind(team.id)
                .bind(&condition.key)
                .bind(condition.holds)
                .bind(now)
                .bind(was_active)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                if let Some((subject, body)) = &mail {
                    crate::notify::mail::enqueue_in!(&mut *tx, team.id, &recipients, subject, body, now)?;
                }
                if let Some((url, payload, event_key)) = &webhook {
                    let sql = "INSERT INTO webhook_outbox (team_id, url, payload, created_at, event_key)
                               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id, event_key) DO NOTHING";
                    sqlx::query(sql)
                        .bind(team.id)
                        .bind(url)
                        .bind(payload)
                        .bind(now)
                        .bind(event_key)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            changed == 1
        });
        if !claimed || !condition.holds {
            continue;
        }
        sent.push(condition.event);
    }
    Ok(sent)
}

/// Checks every team; a team that fails is logged and does not stop the others.
pub async fn check_all(db: &Db, now: DateTime<Utc>) -> Result<usize> {
    let mut sent = 0;
    for team in crate::domain::teams::all_teams(db).await? {
        match check_team(db, &team, now).await {
            Ok(events) => sent += events.len(),
            Err(e) => tracing::warn!(team_id = team.id, error = %e, "alert check failed"),
        }
    }
    Ok(sent)
}

async fn was_active(db: &Db, team_id: i64, condition: &str) -> Result<bool> {
    let sql = "SELECT active FROM alert_state WHERE team_id = $1 AND condition = $2";
    let active = on_db!(db, |pool| sqlx::query_scalar::<_, bool>(sql)
        .bind(team_id)
        .bind(condition)
        .fetch_optional(pool)
        .await?);
    Ok(active.unwrap_or(false))
}

/// Moves a condition from `$5` to `$3` (team `$1`, condition `$2`, at `$4`);
/// changes no row when another checker did first.
const SET_ACTIVE: &str = "INSERT INTO alert_state (team_id, condition, active, changed_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (team_id, condition) DO UPDATE SET active = excluded.active, changed_at = excluded.changed_at
    WHERE alert_state.active = $5";

/// A webhook event claimed for one delivery attempt: the team's current URL
/// and signing secret.
#[derive(Clone, Debug)]
pub struct WebhookEvent {
    pub id: i64,
    pub url: String,
    pub secret: Option<String>,
    pub payload: String,
}

/// Delivery attempts before an event is left alone (each claimed once, see
/// [`claim_webhooks`]).
pub const WEBHOOK_ATTEMPTS: i64 = 3;

/// When attempt `n` (1-based) fails, the next may start this much later. The
/// shortest wait is far longer than a delivery's timeout, so a claimed event
/// is never picked up by another sender while its attempt runs.
pub fn webhook_backoff(attempt: i64) -> chrono::Duration {
    chrono::Duration::minutes(if attempt <= 1 { 1 } else { 10 })
}

/// Claims up to `limit` due events for one attempt each: the attempt is
/// counted and the next one pushed back *before* sending, by one conditional
/// UPDATE per event, so two senders (two app servers) never post the same
/// event at once and a crash mid-send costs one attempt, not a loop. Events
/// for a URL the team has since changed or removed are never sent.
pub async fn claim_webhooks(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<WebhookEvent>> {
    let due = "SELECT o.id, o.url, t.webhook_secret AS secret, o.payload, o.attempts
               FROM webhook_outbox o JOIN teams t ON t.id = o.team_id
               WHERE o.sent_at IS NULL AND o.attempts < $1 AND o.url = t.alert_webhook_url
                 AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $2)
               ORDER BY o.id LIMIT $3";
    let claim = "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $1
                 WHERE id = $2 AND sent_at IS NULL AND attempts = $3";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, Option<String>, String, i64)>(due)
        .bind(WEBHOOK_ATTEMPTS)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    let mut claimed = Vec::new();
    for (id, url, secret, payload, attempts) in rows {
        let next = now + webhook_backoff(attempts + 1);
        let won = on_db!(db, |pool| sqlx::query(claim)
            .bind(next)
            .bind(id)
            .bind(attempts)
            .execute(pool)
            .await?
            .rows_affected());
        if won == 1 {
            claimed.push(WebhookEvent { id, url, secret, payload });
        }
    }
    Ok(claimed)
}

/// Records the outcome of a claimed attempt.
pub async fn mark_webhook(db: &Db, id: i64, result: std::result::Result<(), String>, now: DateTime<Utc>) -> Result<()> {
    match result {
        Ok(()) => {
            let sql = "UPDATE webhook_outbox SET sent_at = $1 WHERE id = $2";
            on_db!(db, |pool| sqlx::query(sql).bind(now).bind(id).execute(pool).await?.rows_affected());
        }
        Err(error) => {
            let sql = "UPDATE webhook_outbox SET last_error = $1 WHERE id = $2";
            on_db!(db, |pool| sqlx::query(sql).bind(error).bind(id).execute(pool).await?.rows_affected());
        }
    }
    Ok(())
}
