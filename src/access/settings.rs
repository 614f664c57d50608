//! Team settings (DESIGN §1, §3.7): time zone, personal data, and when to
//! alert (low balance thresholds, expiry horizon, recipients, webhook).
//! Primary admins change them in the UI, anyone with shell access by
//! `tokenboard team set`; every change is audited in the same transaction.

use serde::{Deserialize, Serialize};

use crate::domain::outlook::parse_percents;
use crate::notify::mail::parse_recipients;

pub const MAX_EXPIRY_HORIZON_DAYS: u32 = 366;

/// A team's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSettings {
    pub time_zone: String,
    pub personal_data: bool,
    /// Percentages of the total balance, highest first, e.g. `[20, 10]`.
    pub low_balance_percents: Vec<u32>,
    pub expiry_horizon_days: u32,
    pub alert_recipients: Vec<String>,
    pub alert_webhook_url: Option<String>,
    /// Domains whose addresses may receive scheduled reports besides the
    /// team's admins (empty: admins only).
    pub schedule_recipient_domains: Vec<String>,
    /// The newest usage day older than this many days is stale (a warning
    /// on every page, and an alert).
    pub stale_after_days: u32,
}

/// The longest a team may let its data age before it is called stale.
pub const MAX_STALE_AFTER_DAYS: u32 = 90;
/// Days without new usage before the data is called stale, unless a team says otherwise.
pub const DEFAULT_STALE_AFTER_DAYS: u32 = 3;

/// A team API key as the settings page lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ApiKeyInfo {
    pub id: i64,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The settings form as submitted: text fields, checked by [`SettingsInput::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsInput {
    pub time_zone: String,
    /// "on" or "off".
    pub personal_data: String,
    /// Comma-separated percentages, e.g. "20, 10".
    pub low_balance_percents: String,
    pub expiry_horizon_days: String,
    pub alert_recipients: String,
    pub alert_webhook_url: String,
    /// Domains separated by commas or spaces, e.g. "example.com".
    #[serde(default)]
    pub schedule_recipient_domains: String,
    /// Days; empty keeps the default.
    #[serde(default)]
    pub stale_after_days: String,
}

/// Domains a team may allow for scheduled reports' recipients.
pub const MAX_RECIPIENT_DOMAINS: usize = 20;

/// "Example.com, partner.org" → `["example.com", "partner.org"]`; a domain is
/// what follows the `@` of an address, matched exactly (no subdomains).
pub fn parse_domains(text: &str) -> Result<Vec<String>, String> {
    let mut domains: Vec<String> = text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start_matches('@').to_lowercase())
        .collect();
    domains.dedup();
    if domains.len() > MAX_RECIPIENT_DOMAINS {
        return Err(format!("at most {MAX_RECIPIENT_DOMAINS} recipient domains"));
    }
    if let Some(bad) = domains.iter().find(|d| !crate::notify::mail::is_email(&format!("x@{d}"))) {
        return Err(format!("{bad:?} is not a domain (e.g. example.com)"));
    }
    Ok(domains)
}

impl SettingsInput {
    /// Everything but the time zone, which the server checks against its
    /// zone database ([`crate::domain::teams::validate_time_zone`]).
    pub fn validate(&self) -> Result<TeamSettings, String> {
        let personal_data = parse_on_off(&self.personal_data)?;
        let low_balance_percents = parse_percents(&self.low_balance_percents)?;
        let expiry_horizon_days = self
            .expiry_horizon_days
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_EXPIRY_HORIZON_DAYS).contains(d))
            .ok_or_else(|| {
                format!("expiry horizon {:?} must be 1 to {MAX_EXPIRY_HORIZON_DAYS} days", self.expiry_horizon_days)
            })?;
        let alert_recipients = parse_recipients(&self.alert_recipients)?;
        let webhook = self.alert_webhook_url.trim();
        let alert_webhook_url = match webhook {
            "" => None,
            url if (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(char::is_whitespace) =>
            {
                Some(url.to_owned())
            }
            url => return Err(format!("webhook {url:?} must be an http:// or https:// URL")),
        };
        let schedule_recipient_domains = parse_domains(&self.schedule_recipient_domains)?;
        let stale_after_days = match self.stale_after_days.trim() {
            "" => DEFAULT_STALE_AFTER_DAYS,
            days => days
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_STALE_AFTER_DAYS).contains(d))
                .ok_or_else(|| format!("stale data after {days:?} must be 1 to {MAX_STALE_AFTER_DAYS} days"))?,
        };
        Ok(TeamSettings {
            time_zone: self.time_zone.trim().to_owned(),
            personal_data,
            low_balance_percents,
            expiry_horizon_days,
            alert_recipients,
            alert_webhook_url,
            schedule_recipient_domains,
            stale_after_days,
        })
    }
}

pub fn parse_on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("{other:?} is not on or off")),
    }
}

#[cfg(feature = "ssr")]
fn join_percents(percents: &[u32]) -> String {
    percents.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(feature = "ssr")]
pub use store::{Saved, load, save, update};

#[cfg(feature = "ssr")]
mod store {
    use super::*;
    use crate::access::audit::{self, Actor, AuditAction};
    use crate::db::{Db, on_db};
    use crate::domain::teams::{Team, validate_time_zone};
    use crate::error::{Error, Result};
    use crate::export::job::{ExportFiles, purge_named};

    type Row = (String, bool, String, i64, String, Option<String>, String, i64);

    fn split(list: &str) -> Vec<String> {
        list.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect()
    }

    pub async fn load(db: &Db, team_id: i64) -> Result<TeamSettings> {
        let sql = "SELECT time_zone, personal_data, low_balance_percents, expiry_horizon_days, alert_recipients,
                          alert_webhook_url, schedule_recipient_domains, stale_after_days FROM teams WHERE id = $1";
        let row = on_db!(db, |pool| sqlx::query_as::<_, Row>(sql).bind(team_id).fetch_optional(pool).await?);
        let (time_zone, personal_data, percents, horizon, recipients, alert_webhook_url, domains, stale) =
            row.ok_or_else(|| Error::NotFound(format!("team {team_id}")))?;
        Ok(TeamSettings {
            time_zone,
            personal_data,
            low_balance_percents: parse_percents(&percents).unwrap_or_default(),
            expiry_horizon_days: horizon.clamp(1, MAX_EXPIRY_HORIZON_DAYS.into()) as u32,
            alert_recipients: split(&recipients),
            alert_webhook_url,
            schedule_recipient_domains: split(&domains),
            stale_after_days: stale.clamp(1, MAX_STALE_AFTER_DAYS.into()) as u32,
        })
    }

    /// What changed, as (action, audit detail) pairs.
    fn changes(old: &TeamSettings, new: &TeamSettings) -> Vec<(AuditAction, String)> {
        let mut changes = Vec::new();
        let mut setting = |name: &str, from: String, to: String| {
            if from != to {
                changes.push((AuditAction::SettingChanged, format!("{name}: {from} → {to}")));
            }
        };
        setting("time zone", old.time_zone.clone(), new.time_zone.clone());
        setting(
            "low balance alerts",
            join_percents(&old.low_balance_percents),
            join_percents(&new.low_balance_percents),
        );
        setting("expiry horizon days", old.expiry_horizon_days.to_string(), new.expiry_horizon_days.to_string());
        setting("stale data after days", old.stale_after_days.to_string(), new.stale_after_days.to_string());
        setting("alert recipients", old.alert_recipients.join(","), new.alert_recipients.join(","));
        setting(
            "schedule recipient domains",
            old.schedule_recipient_domains.join(","),
            new.schedule_recipient_domains.join(","),
        );
        // The webhook may hold a secret in its URL: audit that it changed, not the URL.
        if old.alert_webhook_url != new.alert_webhook_url {
            let what = if new.alert_webhook_url.is_some() { "set" } else { "removed" };
            changes.push((AuditAction::SettingChanged, format!("alert webhook {what}")));
        }
        if old.personal_data != new.personal_data {
            let state = if new.personal_data { "on" } else { "off" };
            changes.push((AuditAction::PersonalDataToggled, format!("personal data {state}")));
        }
        changes
    }

    /// What a save did: the audit details (empty when nothing changed) and,
    /// when the webhook URL was set or changed, its new signing secret — to
    /// be shown once to the admin who saved, never stored in the audit log.
    #[derive(Debug, Default)]
    pub struct Saved {
        pub changes: Vec<String>,
        pub webhook_secret: Option<String>,
    }

    /// Saves `new` and audits each change; returns the audit details (empty
    /// when nothing changed). A bad time zone changes nothing. Switching
    /// personal data off deletes the team's stored exports made with names
    /// (`files` is where they are), so no file or mailed link still shows them.
    pub async fn update(
        db: &Db,
        files: &ExportFiles,
        team: &Team,
        actor: &Actor,
        new: &TeamSettings,
    ) -> Result<Vec<String>> {
        Ok(save(db, files, team, actor, new).await?.changes)
    }

    /// [`update`], also answering the webhook secret made for a new URL.
    pub async fn save(db: &Db, files: &ExportFiles, team: &Team, actor: &Actor, new: &TeamSettings) -> Result<Saved> {
        validate_time_zone(&new.time_zone)?;
        let old = load(db, team.id).await?;
        let changes = changes(&old, new);
        if changes.is_empty() {
            return Ok(Saved::default());
        }
        // A new URL gets a new secret (a receiver never shares one with the
        // old); no URL keeps no secret.
        let webhook_secret = match &new.alert_webhook_url {
            Some(_) if old.alert_webhook_url != new.alert_webhook_url => Some(crate::notify::webhooks::new_secret()),
            _ => None,
        };
        let sql = "UPDATE teams SET time_zone = $1, personal_data = $2, low_balance_percents = $3,
                   expiry_horizon_days = $4, alert_recipients = $5, alert_webhook_url = $6,
                   schedule_recipient_domains = $8, stale_after_days = $9 WHERE id = $7";
        let secret_sql = "UPDATE teams SET webhook_secret = $1 WHERE id = $2";
        let now = chrono::Utc::now();
        on_db!(db, |pool| {
            let (_turn, mut tx) = db.write_transaction(pool).await?;
            sqlx::query(sql)
                .bind(&new.time_zone)
                .bind(new.personal_data)
                .bind(join_percents(&new.low_balance_percents))
                .bind(i64::from(new.expiry_horizon_days))
                .bind(new.alert_recipients.join(","))
                .bind(&new.alert_webhook_url)
                .bind(team.id)
                .bind(new.schedule_recipient_domains.join(","))
                .bind(i64::from(new.stale_after_days))
                .execute(&mut *tx)
                .await?;
            if webhook_secret.is_some() || new.alert_webhook_url.is_none() {
                sqlx::query(secret_sql).bind(&webhook_secret).bind(team.id).execute(&mut *tx).await?;
            }
            for (action, detail) in &changes {
                audit::record_in!(&mut *tx, team.id, actor, action, detail, now)?;
            }
            tx.commit().await?;
        });
        let mut changes: Vec<String> = changes.into_iter().map(|(_, detail)| detail).collect();
        if old.personal_data && !new.personal_data {
            let purged = purge_named(db, files, Some(team.id)).await?;
            if !purged.is_empty() {
                let detail = format!("{} stored exports with names deleted", purged.len());
                audit::record(db, Some(team.id), actor, AuditAction::ExportsPurged, &detail).await?;
                changes.push(detail);
            }
        }
        Ok(Saved { changes, webhook_secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SettingsInput {
        SettingsInput {
            time_zone: "Europe/Berlin".into(),
            personal_data: "off".into(),
            low_balance_percents: "10, 20%, 10".into(),
            expiry_horizon_days: "30".into(),
            alert_recipients: "Ops@Example.com".into(),
            alert_webhook_url: String::new(),
            schedule_recipient_domains: "Example.com, @partner.org".into(),
            stale_after_days: String::new(),
        }
    }

    #[test]
    fn a_valid_form_is_normalised() {
        let settings = input().validate().unwrap();
        assert_eq!(settings.low_balance_percents, vec![20, 10]);
        assert!(!settings.personal_data);
        assert_eq!(settings.alert_recipients, vec!["ops@example.com"]);
        assert_eq!(settings.alert_webhook_url, None);
        assert_eq!(settings.schedule_recipient_domains, vec!["example.com", "partner.org"]);
    }

    #[test]
    fn bad_fields_are_explained() {
        let bad = |f: fn(&mut SettingsInput)| {
            let mut i = input();
            f(&mut i);
            i.validate().unwrap_err()
        };
        assert!(bad(|i| i.low_balance_percents = "120".into()).contains("1 to 99"));
        assert!(bad(|i| i.expiry_horizon_days = "0".into()).contains("1 to 366"));
        assert!(bad(|i| i.stale_after_days = "0".into()).contains("1 to 90"));
        assert!(bad(|i| i.personal_data = "maybe".into()).contains("on or off"));
        assert!(bad(|i| i.alert_recipients = "nobody".into()).contains("not an e-mail"));
        assert!(bad(|i| i.alert_webhook_url = "ftp://x".into()).contains("http"));
        assert!(bad(|i| i.schedule_recipient_domains = "a@b.org".into()).contains("not a domain"));
        assert!(bad(|i| i.schedule_recipient_domains = "localhost".into()).contains("not a domain"));
    }
}
